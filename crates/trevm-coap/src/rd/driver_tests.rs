//! [`run`] over an in-memory transport with a scripted RD: it registers, drops a datagram from
//! another peer, and registers again when the links change while it waits (woken by the
//! watch, not by a timer).

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use alloc::sync::Arc;

use futures_util::future::{Either, select};

use super::*;
use crate::message::{Message, code, opt};
use crate::server::Transport;

/// Peer 1 is the RD; whatever it is sent, it answers at once (and peer 2 butts in first).
#[derive(Default)]
struct FakeRd {
    inbox: RefCell<VecDeque<(Vec<u8>, u8)>>,
    waker: RefCell<Option<Waker>>,
    registrations: RefCell<Vec<Vec<u8>>>,
}

impl Transport for FakeRd {
    type Peer = u8;
    type Error = ();

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, u8), ()> {
        poll_fn(|cx| match self.inbox.borrow_mut().pop_front() {
            Some((d, peer)) => {
                buf[..d.len()].copy_from_slice(&d);
                Poll::Ready(Ok((d.len(), peer)))
            }
            None => {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    async fn send_to(&self, data: &[u8], peer: &u8) -> Result<(), ()> {
        assert_eq!(*peer, 1, "everything goes to the RD");
        let request = Message::parse(data).unwrap();
        let answer = |code: u8, options: Vec<(u16, Vec<u8>)>, payload: &[u8]| {
            super::tests::answer(&request, code, options, payload)
        };
        let mut inbox = self.inbox.borrow_mut();
        if request.code == code::GET {
            let links = b"</rd>;rt=\"core.rd\"";
            inbox.push_back((answer(code::CONTENT, vec![], links), 1));
        } else {
            self.registrations
                .borrow_mut()
                .push(request.payload.clone());
            // Another peer answers first, with what would be refused: dropped unread.
            inbox.push_back((answer(code::CREATED, vec![], b""), 2));
            let location = vec![(opt::LOCATION_PATH, b"reg".to_vec())];
            inbox.push_back((answer(code::CREATED, location, b""), 1));
        }
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
        Ok(())
    }
}

/// Whether the task was woken since it was last polled.
struct Woken(AtomicBool);

impl alloc::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn run_registers_and_registers_again_when_the_links_change() {
    let rd = FakeRd::default();
    let links = LinksWatch::new();
    links.set(String::from("</a>"));
    let config = Config::new("dev1", 600, "coap://[::1]:5683");
    let mut registrar = Registrar::new(config, String::new()).unwrap();
    let events: Rc<RefCell<Vec<Event>>> = Rc::default();
    let log = events.clone();
    // Virtual time: a wait of up to SETTLE_MS passes at once, a longer one (the refresh) never.
    let clock = Rc::new(core::cell::Cell::new(0u64));
    let now = {
        let clock = clock.clone();
        move || clock.get()
    };
    let sleep = move |ms: u64| {
        let clock = clock.clone();
        poll_fn(move |_| {
            if ms <= clock.get() + crate::rd::SETTLE_MS {
                clock.set(clock.get().max(ms));
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    };
    let driver = pin!(run(&rd, &1, &mut registrar, &links, now, sleep, move |e| {
        log.borrow_mut().push(e.clone())
    },));
    // The device installs something once it is registered, then waits for the new registration.
    let installer = pin!(poll_fn(|_| {
        let registered = events
            .borrow()
            .iter()
            .filter(|e| matches!(e, Event::Registered { .. }))
            .count();
        match registered {
            1 => {
                links.set(String::from("</b>"));
                Poll::Pending
            }
            2 => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }));
    // Polled only when woken: a change nothing wakes the driver for stalls, and fails.
    let woken = Arc::new(Woken(AtomicBool::new(true)));
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    let mut both = pin!(select(driver, installer));
    let mut polls = 0;
    loop {
        assert!(
            woken.0.swap(false, Ordering::SeqCst),
            "stalled: nothing woke the driver"
        );
        polls += 1;
        assert!(polls < 100, "no end in sight");
        match both.as_mut().poll(&mut cx) {
            Poll::Ready(Either::Left(_)) => panic!("the driver ended"),
            Poll::Ready(Either::Right(_)) => break,
            Poll::Pending => {}
        }
    }
    assert_eq!(
        *rd.registrations.borrow(),
        [b"</a>".to_vec(), b"</b>".to_vec()]
    );
    assert_eq!(
        events.borrow()[0],
        Event::Registered {
            location: String::from("/reg")
        }
    );
}
