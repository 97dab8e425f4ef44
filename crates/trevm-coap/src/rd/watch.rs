//! [`LinksWatch`]: the device's current links, shared between the code that changes what is
//! installed (`trevm-slots`' `Device`) and the registration driver, which awaits a change
//! instead of polling on a timer.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Poll, Waker};

/// Bytes of links a [`LinksWatch`] and a [`Registrar`](super::Registrar) reserve when made
/// (a device's status link and three capsules), so that they keep their place on the heap as
/// the links change: allocated early, at the bottom of the heap, rather than anew in whatever
/// hole the change left.
pub const LINKS_RESERVE: usize = 512;

/// The device's links and a generation counter, behind an `Rc`: clones share them. For one
/// executor thread (as a device's CoAP task is) and one waiting driver: [`LinksWatch::changed`]
/// keeps one waker, the last one given.
#[derive(Clone, Default)]
pub struct LinksWatch(Rc<RefCell<Watched>>);

#[derive(Default)]
struct Watched {
    links: String,
    generation: u64,
    waker: Option<Waker>,
}

impl core::fmt::Debug for LinksWatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let w = self.0.borrow();
        f.debug_struct("LinksWatch")
            .field("generation", &w.generation)
            .field("links", &w.links)
            .finish()
    }
}

impl LinksWatch {
    /// Empty links at generation 0, with room for [`LINKS_RESERVE`] bytes of them.
    pub fn new() -> LinksWatch {
        let watch = LinksWatch::default();
        watch.0.borrow_mut().links.reserve(LINKS_RESERVE);
        watch
    }

    /// Makes `links` current. When they differ from the current ones the generation goes up
    /// and the waiting driver wakes; returns whether they differed.
    pub fn set(&self, links: String) -> bool {
        let mut w = self.0.borrow_mut();
        if w.links == links {
            return false;
        }
        // In place: on a device's heap, a new string for every change would settle in the
        // hole an uploaded capsule just left, and split it (an upload then no longer fits).
        w.links.clear();
        w.links.push_str(&links);
        w.generation += 1;
        if let Some(waker) = w.waker.take() {
            waker.wake();
        }
        true
    }

    /// The generation and a copy of the links, if newer than generation `seen`.
    pub fn newer_than(&self, seen: u64) -> Option<(u64, String)> {
        let w = self.0.borrow();
        (w.generation != seen).then(|| (w.generation, w.links.clone()))
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.0.borrow().generation
    }

    /// Completes once the generation is no longer `seen`.
    pub async fn changed(&self, seen: u64) {
        poll_fn(|cx| {
            let mut w = self.0.borrow_mut();
            if w.generation != seen {
                return Poll::Ready(());
            }
            match &mut w.waker {
                Some(waker) => waker.clone_from(cx.waker()),
                None => w.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}
