//! The board's clock: the one embassy-time driver of every program and test that links the board.
//!
//! embassy-time has one time driver per binary, so the board owns it and chooses the time per
//! thread at run time:
//! - the **wall clock** by default: microseconds since the board booted (first use), alarms fired
//!   by a thread of their own — what `trevm run`, `trevm serve` and the examples use;
//! - a **virtual clock** on a thread that runs a future with [`run_virtual`] (tests): it starts
//!   at 0 and stands still while the future works; whenever the future waits and nothing has
//!   woken it, the clock jumps to the earliest alarm and fires it. A ten-second scenario of
//!   sleeps, button presses and timeouts thus runs in the time its computation takes, and the
//!   same scenario always sees the same times.
//!
//! What the virtual clock cannot do: stop a busy loop (time does not pass while the future
//! works, so a capsule spinning under a timeout spins for ever: run those on the wall clock), or
//! wait for the outside world (a socket, another thread: the clock jumps past its timeouts while
//! it waits).
//!
//! Both clocks keep their alarms in embassy's bounded timer queue (64 wakers each; a 65th wakes
//! the newest early, which re-arms itself: embassy-time's `generic-queue-64` behaviour).

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use embassy_time_queue_utils::queue_generic::ConstGenericQueue;

/// Wakers a clock holds at most.
const ALARMS: usize = 64;

type Queue = ConstGenericQueue<ALARMS>;

/// The board's driver: the thread's virtual clock if it has one, else the wall clock.
struct BoardClock;

static WALL: Wall = Wall::new();

// `time_driver_impl!` exports the driver's two functions under the unmangled names embassy-time
// calls (`#[unsafe(no_mangle)]`).
// SAFETY: `_embassy_time_now` and `_embassy_time_schedule_wake` are defined nowhere else in a
// binary that links the board: no crate of the workspace enables embassy-time's `std` or
// `mock-driver` (a second definition would fail to link, not be chosen silently), and the two
// functions have exactly the signatures embassy-time-driver declares.
#[allow(unsafe_code)]
mod registration {
    embassy_time_driver::time_driver_impl!(static DRIVER: super::BoardClock = super::BoardClock);
}

impl embassy_time_driver::Driver for BoardClock {
    fn now(&self) -> u64 {
        with_virtual(|clock| clock.now).unwrap_or_else(|| WALL.now())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        let scheduled = with_virtual(|clock| {
            clock.queue.schedule_wake(at, waker);
        });
        if scheduled.is_none() {
            WALL.schedule_wake(at, waker);
        }
    }
}

/// Real time since the board booted, and the thread that fires its alarms.
struct Wall {
    boot: OnceLock<Instant>,
    queue: Mutex<Queue>,
    changed: Condvar,
    alarm_thread: Once,
}

impl Wall {
    const fn new() -> Self {
        Wall {
            boot: OnceLock::new(),
            queue: Mutex::new(Queue::new()),
            changed: Condvar::new(),
            alarm_thread: Once::new(),
        }
    }

    fn now(&self) -> u64 {
        let boot = *self.boot.get_or_init(Instant::now);
        u64::try_from(boot.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A waker that panicked while the lock was held leaves the queue consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn schedule_wake(&'static self, at: u64, waker: &Waker) {
        self.alarm_thread.call_once(|| {
            // Without the thread no alarm would ever fire: a board that cannot start it cannot run.
            std::thread::Builder::new()
                .name("board clock".into())
                .spawn(|| self.fire_alarms())
                .expect("the board's clock thread");
        });
        if self.queue().schedule_wake(at, waker) {
            self.changed.notify_one();
        }
    }

    /// Wakes each alarm at its time, for ever.
    fn fire_alarms(&self) -> ! {
        let mut queue = self.queue();
        loop {
            let now = self.now();
            let next = queue.next_expiration(now);
            queue = if next == u64::MAX {
                self.changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner)
            } else {
                self.changed
                    .wait_timeout(queue, Duration::from_micros(next - now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            };
        }
    }
}

/// A thread's virtual clock: its time in microseconds and its alarms.
struct Virtual {
    now: u64,
    queue: Queue,
}

thread_local! {
    static VIRTUAL: RefCell<Option<Virtual>> = const { RefCell::new(None) };
}

/// `f` on this thread's virtual clock; `None` on a thread without one.
fn with_virtual<R>(f: impl FnOnce(&mut Virtual) -> R) -> Option<R> {
    VIRTUAL
        .try_with(|cell| cell.borrow_mut().as_mut().map(f))
        .ok()
        .flatten()
}

/// Puts the thread's previous clock back when [`run_virtual`] ends (or unwinds).
struct Restore(Option<Virtual>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = VIRTUAL.try_with(|cell| *cell.borrow_mut() = previous);
    }
}

/// Whether the future was woken since it was last polled, and the means to sleep until it is.
#[derive(Default)]
struct Woken {
    flag: Mutex<bool>,
    signal: Condvar,
}

impl Woken {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.flag.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether it was woken, clearing the flag.
    fn take(&self) -> bool {
        std::mem::take(&mut *self.lock())
    }

    /// Blocks the thread until something outside wakes the future.
    fn wait(&self) {
        let mut woken = self.lock();
        while !*woken {
            woken = self
                .signal
                .wait(woken)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *woken = false;
    }
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        *self.lock() = true;
        self.signal.notify_one();
    }
}

/// Runs `future` to completion on this thread, on a virtual clock of its own that starts at 0 and
/// moves only when the future waits: then it jumps to the earliest alarm (a `Timer`, a timeout,
/// a capsule's `sleep`) and fires it. Everything on this thread that reads embassy-time (the
/// board's log and LED history, capsules' `now`) sees the virtual time. With no alarm left, the
/// thread sleeps until something outside wakes the future.
///
/// For tests: the outcome of a scenario of timers depends neither on how fast the machine is nor
/// on how long it sleeps. A future that never waits (a busy loop) never lets the clock move.
pub fn run_virtual<F: Future>(future: F) -> F::Output {
    let previous = VIRTUAL.with(|cell| {
        cell.borrow_mut().replace(Virtual {
            now: 0,
            queue: Queue::new(),
        })
    });
    let _restore = Restore(previous);
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        if woken.take() {
            continue;
        }
        // The future waits. Fire what is due now; if that woke nothing, jump to the next alarm.
        let next = with_virtual(|clock| clock.queue.next_expiration(clock.now)).unwrap_or(u64::MAX);
        if woken.take() {
            continue;
        }
        if next == u64::MAX {
            woken.wait();
        } else {
            with_virtual(|clock| {
                clock.now = next;
                clock.queue.next_expiration(next)
            });
        }
    }
}

/// Waits on the board's clock, without blocking the executor, until `cond` holds: checks it every
/// 5 ms for at most `within`, and says whether it came to hold. For tests that observe an event
/// (a log line, an LED change) instead of sleeping; on a virtual clock the wait costs no wall time.
pub async fn until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    const STEP_MS: u64 = 5;
    let steps = u64::try_from(within.as_millis()).unwrap_or(u64::MAX) / STEP_MS;
    for _ in 0..steps {
        if cond() {
            return true;
        }
        embassy_time::Timer::after_millis(STEP_MS).await;
    }
    cond()
}

/// Whether this thread runs on a virtual clock ([`run_virtual`]).
pub fn is_virtual() -> bool {
    with_virtual(|_| ()).is_some()
}
