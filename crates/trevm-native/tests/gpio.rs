//! `gpio-api` on the native board, observed as a user would: the LED's state after button presses,
//! and the error value (not a trap) where the board has no LED or button. Every scenario with
//! time in it runs on the board's virtual clock: presses, holds, debounces and blinks take no
//! wall time, and the LED changes at the same (virtual) times on every machine.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{block_on, capsule, run_virtual, runtime};
use embassy_time::Timer;
use futures_util::future::{Either, select};
use trevm::{HostState, Limits};
use trevm_native::clock::until;
use trevm_native::{ConsoleLog, NativeBoard};

/// How long (of the virtual clock) a scenario waits for the capsule to listen or the LED to toggle.
const FIVE_SECONDS: Duration = Duration::from_secs(5);

/// Runs the capsule's `blinky` (which never returns) until `presses` is done, on the virtual clock.
fn blinky_while(inst: &mut trevm::Instance, presses: impl std::future::Future<Output = ()>) {
    let outcome = run_virtual(async {
        let run = Box::pin(inst.call("blinky", &[]));
        match select(run, Box::pin(presses)).await {
            Either::Left((r, _)) => Some(r),
            Either::Right(((), _)) => None,
        }
    });
    assert!(outcome.is_none(), "blinky returned early: {outcome:?}");
}

#[test]
fn each_button_press_toggles_the_led_once() {
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let rt = runtime();
    let loaded = rt.load(&capsule("gpio")).expect("load");
    let mut inst =
        block_on(rt.instantiate(&loaded, board.host_state("gpio"), Limits::new())).expect("inst");
    let presses = async {
        for n in 1..=5 {
            // Press only once the capsule listens, as a person would after the first toggle.
            assert!(
                until(FIVE_SECONDS, || board.button().waiters() > 0).await,
                "capsule never waited for the button"
            );
            board.press_button().await;
            assert!(
                until(FIVE_SECONDS, || board.led_history().len() == n).await,
                "press {n}: LED history {:?}",
                board.led_history()
            );
        }
    };
    blinky_while(&mut inst, presses);
    let states: Vec<bool> = board.led_history().iter().map(|&(_, on)| on).collect();
    assert_eq!(states, [true, false, true, false, true]);
    assert!(board.led_is_on());
    assert_eq!(board.button().presses(), 5);
    let toggled = board
        .log()
        .messages()
        .iter()
        .filter(|m| *m == "Button pressed: LED toggled")
        .count();
    assert_eq!(toggled, 5, "{:?}", board.log().messages());
}

#[test]
fn a_press_held_longer_than_the_capsule_sleeps_toggles_once() {
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let rt = runtime();
    // Blinky that sleeps 10 ms after a toggle: it is back at `wait-for-button-low` many times
    // while each 300 ms press still holds the button low.
    let bytes = common::capsule_bytes_with(
        "gpio",
        trevm::EngineProfile::for_this_machine(),
        &["short-debounce"],
    );
    let loaded = rt.load(&common::verified(bytes)).expect("load");
    let mut inst =
        block_on(rt.instantiate(&loaded, board.host_state("gpio"), Limits::new())).expect("inst");
    let presses = async {
        for n in 1..=3 {
            assert!(
                until(FIVE_SECONDS, || board.button().waiters() > 0).await,
                "capsule never waited for the button"
            );
            board.button().set_low(true);
            assert!(
                until(FIVE_SECONDS, || board.led_history().len() == n).await,
                "press {n}: LED history {:?}",
                board.led_history()
            );
            // Held: the capsule comes back and waits again, and must not see this press twice.
            assert!(until(FIVE_SECONDS, || board.button().waiters() > 0).await);
            Timer::after_millis(300).await;
            board.button().set_low(false);
            assert_eq!(
                board.led_history().len(),
                n,
                "press {n} toggled more than once"
            );
        }
    };
    blinky_while(&mut inst, presses);
    let states: Vec<bool> = board.led_history().iter().map(|&(_, on)| on).collect();
    assert_eq!(states, [true, false, true]);
}

#[test]
fn without_a_button_blinky_gets_the_error_value_and_blinks_on_a_timer() {
    let log = Arc::new(ConsoleLog::silent());
    let board = NativeBoard::with_log(log.clone());
    // LED only: no `with_button`.
    let host = HostState::new("gpio")
        .with_log(log.clone())
        .with_led(board.led().clone());
    let rt = runtime();
    let loaded = rt.load(&capsule("gpio")).expect("load");
    let mut inst = block_on(rt.instantiate(&loaded, host, Limits::new())).expect("inst");
    // Ten seconds of blinking (stopped a quarter period before the 21st toggle, so no two events
    // share an instant) on the virtual clock.
    let wall = std::time::Instant::now();
    let outcome = run_virtual(async {
        let run = Box::pin(inst.call("blinky", &[]));
        let ten_seconds = Box::pin(Timer::after_millis(9_750));
        match select(run, ten_seconds).await {
            Either::Left((r, _)) => Err(r),
            Either::Right(((), _)) => Ok(()),
        }
    });
    println!(
        "10 s of blinky on the virtual clock took {:?} of wall time",
        wall.elapsed()
    );
    assert_eq!(outcome, Ok(()), "blinky returned");
    // Exactly twenty toggles, at 0, 500, …, 9500 ms: on, off, on, …
    let mut expected = vec![
        "blinky: press the button to toggle the LED",
        "No button on this board: blinking every 500 ms instead",
    ];
    expected.extend((0..20).map(|i| {
        if i % 2 == 0 {
            "LED on  (●)"
        } else {
            "LED off (○)"
        }
    }));
    assert_eq!(log.messages(), expected);
    let times: Vec<(u64, bool)> = (0..20).map(|i| (i * 500, i % 2 == 0)).collect();
    assert_eq!(board.led_history(), times);
    assert!(!board.led_is_on());
}

#[test]
fn without_led_or_button_the_capsule_is_told_and_returns() {
    let (host, log) = common::host("gpio");
    let rt = runtime();
    let loaded = rt.load(&capsule("gpio")).expect("load");
    let r = block_on(async {
        let mut inst = rt.instantiate(&loaded, host, Limits::new()).await?;
        inst.call("blinky", &[]).await
    });
    assert_eq!(r, Ok(vec![]));
    assert_eq!(
        log.messages(),
        [
            "blinky: press the button to toggle the LED",
            "No button on this board: blinking every 500 ms instead",
            "No LED on this board either: nothing to do",
        ]
    );
}

/// An embedded-hal-async input pin whose level flips every 100 ms by itself: a stand-in for an
/// Ariel OS `IntEnabledInput` with a finger on the button.
struct FlippingPin {
    low: bool,
}

impl embedded_hal::digital::ErrorType for FlippingPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::InputPin for FlippingPin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.low)
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(self.low)
    }
}

impl embedded_hal_async::digital::Wait for FlippingPin {
    async fn wait_for_high(&mut self) -> Result<(), Self::Error> {
        Timer::after_millis(100).await;
        self.low = false;
        Ok(())
    }
    async fn wait_for_low(&mut self) -> Result<(), Self::Error> {
        Timer::after_millis(100).await;
        self.low = true;
        Ok(())
    }
    async fn wait_for_rising_edge(&mut self) -> Result<(), Self::Error> {
        self.wait_for_high().await
    }
    async fn wait_for_falling_edge(&mut self) -> Result<(), Self::Error> {
        self.wait_for_low().await
    }
    async fn wait_for_any_edge(&mut self) -> Result<(), Self::Error> {
        if self.low {
            self.wait_for_high().await
        } else {
            self.wait_for_low().await
        }
    }
}

#[test]
fn a_real_input_pin_drives_the_button_through_follow() {
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let rt = runtime();
    let loaded = rt.load(&capsule("gpio")).expect("load");
    let mut inst =
        block_on(rt.instantiate(&loaded, board.host_state("gpio"), Limits::new())).expect("inst");
    let button = board.button().clone();
    let done = run_virtual(async {
        let follow = Box::pin(button.follow(FlippingPin { low: false }));
        let run = Box::pin(inst.call("blinky", &[]));
        let enough = Box::pin(until(FIVE_SECONDS, || board.led_history().len() >= 3));
        match select(select(follow, run), enough).await {
            Either::Right((ok, _)) => ok,
            Either::Left(_) => false,
        }
    });
    assert!(done, "LED history {:?}", board.led_history());
    assert!(button.presses() >= 2, "{} presses", button.presses());
}
