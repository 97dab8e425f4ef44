//! The board's clock as a test sees it: on the virtual clock, timers fire in deadline order at
//! exactly their times and take no wall time; a wake from another thread still arrives; threads
//! without a virtual clock keep the wall clock.

use std::sync::{Arc, Mutex};

use embassy_time::{Duration, Instant, Timer, with_timeout};
use futures_util::future::join3;
use trevm_native::clock::{is_virtual, run_virtual};

#[test]
fn timers_fire_in_deadline_order_at_their_exact_times() {
    let fired = Arc::new(Mutex::new(Vec::new()));
    let after = |ms: u64, name: &'static str| {
        let fired = fired.clone();
        async move {
            Timer::after_millis(ms).await;
            fired
                .lock()
                .unwrap()
                .push((name, Instant::now().as_millis()));
        }
    };
    let wall = std::time::Instant::now();
    run_virtual(async {
        assert!(is_virtual());
        assert_eq!(Instant::now().as_ticks(), 0);
        join3(after(3_000, "c"), after(1_000, "a"), after(2_000, "b")).await;
        // A chain of sleeps adds up exactly.
        for _ in 0..7 {
            Timer::after_millis(1_000).await;
        }
        assert_eq!(Instant::now().as_millis(), 10_000);
    });
    println!("10 s of virtual timers took {:?}", wall.elapsed());
    assert_eq!(
        *fired.lock().unwrap(),
        [("a", 1_000), ("b", 2_000), ("c", 3_000)]
    );
    assert!(!is_virtual(), "the thread's clock is the wall clock again");
}

#[test]
fn a_timeout_fires_at_its_time_when_nothing_else_is_due() {
    let outcome = run_virtual(async {
        let never = core::future::pending::<()>();
        let r = with_timeout(Duration::from_secs(3_600), never).await;
        (r.is_err(), Instant::now().as_secs())
    });
    assert_eq!(outcome, (true, 3_600));
}

#[test]
fn a_wake_from_another_thread_ends_the_wait() {
    let (tx, rx) = one_shot();
    let sender = std::thread::spawn(move || tx.send());
    let got = run_virtual(rx);
    sender.join().unwrap();
    assert_eq!(got, 42);
}

#[test]
fn threads_without_a_virtual_clock_see_real_time() {
    assert!(!is_virtual());
    let start = Instant::now();
    futures_executor::block_on(Timer::after_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(20));
}

/// A one-shot value sent from another thread (its future waits with no timer pending, so the
/// virtual clock has nothing to jump to and the thread sleeps until the sender wakes it).
fn one_shot() -> (Sender, Receiver) {
    let slot = Arc::new(Mutex::new((None, None::<std::task::Waker>)));
    (Sender(slot.clone()), Receiver(slot))
}

struct Sender(Arc<Mutex<(Option<u32>, Option<std::task::Waker>)>>);
struct Receiver(Arc<Mutex<(Option<u32>, Option<std::task::Waker>)>>);

impl Sender {
    fn send(self) {
        let waker = {
            let mut slot = self.0.lock().unwrap();
            slot.0 = Some(42);
            slot.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl std::future::Future for Receiver {
    type Output = u32;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        let mut slot = self.0.lock().unwrap();
        match slot.0 {
            Some(v) => std::task::Poll::Ready(v),
            None => {
                slot.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}
