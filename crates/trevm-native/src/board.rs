//! The board itself: its simulated LED and button, and the host state that grants a capsule
//! everything the board has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use trevm::HostState;
use trevm::host::{Button, SensorRegistry, SharedLed};

use crate::{ConsoleLog, NativeUdp, SimSensor};

/// The native board's LED pin: an embedded-hal output pin that prints each change and records it
/// (time since boot in ms, new level).
#[derive(Debug, Clone)]
pub struct SimPin {
    high: bool,
    log: Arc<ConsoleLog>,
    history: Arc<Mutex<Vec<(u64, bool)>>>,
}

impl SimPin {
    fn set(&mut self, high: bool) {
        if high != self.high {
            self.high = high;
            self.log.board(if high {
                "LED on  (●)"
            } else {
                "LED off (○)"
            });
            if let Ok(mut h) = self.history.lock() {
                h.push((embassy_time::Instant::now().as_millis(), high));
            }
        }
    }
}

impl embedded_hal::digital::ErrorType for SimPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for SimPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.set(true);
        Ok(())
    }
}

impl embedded_hal::digital::StatefulOutputPin for SimPin {
    fn is_set_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.high)
    }
    fn is_set_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.high)
    }
}

/// How long a simulated press holds the button low.
pub const PRESS_MS: u64 = 100;

/// The native board's peripherals as capsule host state.
#[derive(Debug, Clone)]
pub struct NativeBoard {
    log: Arc<ConsoleLog>,
    led: Arc<SharedLed<SimPin>>,
    led_history: Arc<Mutex<Vec<(u64, bool)>>>,
    button: Arc<Button>,
    sensors: Arc<SensorRegistry>,
    udp: Arc<NativeUdp>,
}

impl Default for NativeBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeBoard {
    /// A board whose log prints to stdout.
    pub fn new() -> Self {
        Self::with_log(Arc::new(ConsoleLog::new()))
    }

    /// A board with the given log sink (capsule lines and LED changes go there).
    pub fn with_log(log: Arc<ConsoleLog>) -> Self {
        let led_history = Arc::new(Mutex::new(Vec::new()));
        let pin = SimPin {
            high: false,
            log: log.clone(),
            history: led_history.clone(),
        };
        NativeBoard {
            log,
            led: Arc::new(SharedLed::new(pin)),
            led_history,
            button: Arc::new(Button::new()),
            sensors: Arc::new(
                SensorRegistry::new()
                    .with(Arc::new(SimSensor::temperature_wave()))
                    .with(Arc::new(SimSensor::humidity_walk(0x5eed))),
            ),
            udp: Arc::new(NativeUdp::default()),
        }
    }

    /// The same board with other sensors.
    pub fn with_sensors(mut self, sensors: SensorRegistry) -> Self {
        self.sensors = Arc::new(sensors);
        self
    }

    /// The same board with capsule sockets bound on another address.
    pub fn with_udp(mut self, udp: NativeUdp) -> Self {
        self.udp = Arc::new(udp);
        self
    }

    /// The board's log.
    pub fn log(&self) -> &Arc<ConsoleLog> {
        &self.log
    }

    /// Host state for a capsule called `name`: console log, OS randomness, the LED, the button,
    /// the sensors and UDP.
    pub fn host_state(&self, name: &str) -> HostState {
        HostState::new(name)
            .with_log(self.log.clone())
            .with_rng(rand_core::UnwrapErr(rand_core::OsRng))
            .with_led(self.led.clone())
            .with_button(self.button.clone())
            .with_sensors(self.sensors.clone())
            .with_udp(self.udp.clone())
    }

    /// The LED as capsules see it.
    pub fn led(&self) -> &Arc<SharedLed<SimPin>> {
        &self.led
    }

    /// Whether the LED is on now.
    pub fn led_is_on(&self) -> bool {
        self.led.with_pin(|p| p.high)
    }

    /// Every LED change so far: (ms since boot, on).
    pub fn led_history(&self) -> Vec<(u64, bool)> {
        self.led_history
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    /// The simulated button.
    pub fn button(&self) -> &Arc<Button> {
        &self.button
    }

    /// Presses the button: low for [`PRESS_MS`], then released. Does not block the executor.
    pub async fn press_button(&self) {
        self.button.set_low(true);
        embassy_time::Timer::after_millis(PRESS_MS).await;
        self.button.set_low(false);
    }

    /// Lets a person press the button: each Enter on stdin is one press. Runs on a thread of its
    /// own; the flag it returns is set once stdin closes (Ctrl-D, or no stdin at all under CI).
    pub fn press_button_on_enter(&self) -> Arc<AtomicBool> {
        let closed = Arc::new(AtomicBool::new(false));
        let button = self.button.clone();
        let log = self.log.clone();
        let flag = closed.clone();
        let spawned = std::thread::Builder::new()
            .name("button".into())
            .spawn(move || {
                let mut line = String::new();
                while matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0) {
                    line.clear();
                    log.board("button pressed");
                    button.set_low(true);
                    std::thread::sleep(std::time::Duration::from_millis(PRESS_MS));
                    button.set_low(false);
                }
                flag.store(true, Ordering::Relaxed);
            });
        if spawned.is_err() {
            self.log
                .board("cannot read stdin: the button cannot be pressed");
            closed.store(true, Ordering::Relaxed);
        }
        closed
    }
}
