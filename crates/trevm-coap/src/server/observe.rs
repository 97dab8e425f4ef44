//! Observers (RFC 7641): who registered on which resource, what they have seen, and the
//! confirmable notification each may have on its way.
//!
//! A device keeps at most [`ServerLimits::observers`](super::ServerLimits::observers) of them. Every
//! notification is confirmable, and an observer has at most one on its way: what changes
//! meanwhile goes into the next one, once this one is acknowledged (RFC 7641 §4.5.2). An observer
//! goes away when its client cancels (GET with Observe: 1), answers a notification with a Reset,
//! or leaves one unacknowledged through every retransmission (a client that vanished): nothing
//! of it is kept after that.

use alloc::string::String;
use alloc::vec::Vec;

/// Observe option value of a registration (RFC 7641 §2).
pub const REGISTER: u32 = 0;
/// Observe option value of a deregistration.
pub const DEREGISTER: u32 = 1;
/// Max-Age of notifications, in seconds: a client that heard nothing for this long registers
/// again (nothing is sent while nothing changes).
pub const NOTIFY_MAX_AGE: u32 = 60;

/// One observer: a client's registration on one resource.
pub(crate) struct Observer<P, O> {
    pub(crate) peer: P,
    pub(crate) token: Vec<u8>,
    pub(crate) path: Vec<String>,
    /// What the resource reported to it last (see [`Resources::notification`](super::Resources::notification)).
    pub(crate) cursor: u64,
    /// The Observe option value of the next notification (24 bits, wrapping).
    pub(crate) sequence: u32,
    /// What the security layer needs to protect its notifications.
    pub(crate) observation: O,
    /// The notification on its way, if any.
    pub(crate) outstanding: Option<Outstanding>,
}

/// A confirmable notification not acknowledged yet.
pub(crate) struct Outstanding {
    pub(crate) mid: u16,
    pub(crate) datagram: Vec<u8>,
    /// Retransmissions so far.
    pub(crate) retransmits: u8,
    /// When to retransmit (or give up).
    pub(crate) deadline: u64,
}

/// The observers of a server.
pub(crate) struct Observers<P, O> {
    pub(crate) list: Vec<Observer<P, O>>,
}

impl<P: PartialEq, O> Observers<P, O> {
    pub(crate) fn new() -> Self {
        Observers { list: Vec::new() }
    }

    /// Registers (or registers again: same peer and token) an observer; when `max` are
    /// registered already, it takes the place of one that left a notification unacknowledged
    /// past its first retransmission (likely a client that vanished: a device has few places,
    /// and that one would hold its place for a minute), else `false`: no place.
    pub(crate) fn register(&mut self, observer: Observer<P, O>, max: usize) -> bool {
        self.cancel(&observer.peer, &observer.token);
        if self.list.len() >= max {
            let silent = self
                .list
                .iter()
                .position(|o| o.outstanding.as_ref().is_some_and(|n| n.retransmits > 0));
            match silent {
                Some(at) => drop(self.list.swap_remove(at)),
                None => return false,
            }
        }
        self.list.push(observer);
        true
    }

    /// Removes the observer `token` of `peer` names, if any.
    pub(crate) fn cancel(&mut self, peer: &P, token: &[u8]) {
        self.list.retain(|o| !(o.peer == *peer && o.token == token));
    }

    /// An ACK (`reset` false) or a Reset from `peer` for message `mid`: the notification it answers
    /// arrived, or its observer is gone. Anything else is for nothing this server sent.
    pub(crate) fn answered(&mut self, peer: &P, mid: u16, reset: bool) {
        let Some(at) = self
            .list
            .iter()
            .position(|o| o.peer == *peer && o.outstanding.as_ref().is_some_and(|n| n.mid == mid))
        else {
            return;
        };
        if reset {
            self.list.swap_remove(at);
        } else if let Some(o) = self.list.get_mut(at) {
            o.outstanding = None;
        }
    }

    /// The earliest retransmission deadline.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.list
            .iter()
            .filter_map(|o| o.outstanding.as_ref().map(|n| n.deadline))
            .min()
    }
}
