//! An embassy-time driver on the Cortex-M SysTick: a 1 kHz tick counter and a timer queue checked
//! on every tick. Simple and exact enough for capsule sleeps and timeouts; a real board would use
//! a low-power RTC with compare interrupts instead.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// SysTick runs from the 25 MHz system clock of the MPS2 AN386.
const SYSCLK_HZ: u32 = 25_000_000;
const TICK_HZ: u32 = 1_000;

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            // Expired entries are woken by the next tick at the latest (≤ 1 ms late).
            self.queue.borrow(cs).borrow_mut().schedule_wake(at, waker);
        });
    }
}

/// Starts the 1 kHz tick.
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSCLK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        DRIVER.queue.borrow(cs).borrow_mut().next_expiration(now);
    });
}

/// System-clock cycles since [`init`] (25 MHz): the tick count and SysTick's current value.
#[cfg_attr(
    not(any(feature = "trevm-bindings", feature = "bare-sync")),
    allow(dead_code)
)]
pub fn cycles() -> u64 {
    let reload = u64::from(SYSCLK_HZ / TICK_HZ);
    loop {
        let before = DRIVER.now();
        let current = u64::from(SYST::get_current());
        // A wrap between the two reads raises the tick interrupt at once, which moves `now()`:
        // then read again.
        if DRIVER.now() == before {
            return before * reload + (reload - 1 - current);
        }
    }
}
