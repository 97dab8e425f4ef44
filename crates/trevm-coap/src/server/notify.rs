//! Sending notifications to observers ([`Server::notifications`]): asking the resources what
//! changed for each, protecting it through the security layer, and retransmitting the
//! confirmable notifications not acknowledged in time (`observe.rs` keeps the observers).

use alloc::string::String;
use alloc::vec::Vec;

use super::exchange::{ReplyTo, Server};
use super::layer::Layer;
use super::observe::{DEREGISTER, NOTIFY_MAX_AGE, Observer, Outstanding, REGISTER};
use super::resource::Resources;
use crate::message::{Message, MsgType, code, opt};

impl<P: PartialEq + Clone, R: Resources, L: Layer<P>> Server<P, R, L> {
    /// How many observers are registered (at most
    /// [`ServerLimits::observers`](super::ServerLimits::observers)).
    pub fn observers(&self) -> usize {
        self.observers.list.len()
    }

    /// When [`Server::notifications`] has a retransmission to make (or an observer to give up
    /// on): the earliest deadline of the notifications not acknowledged yet.
    pub fn notify_deadline(&self) -> Option<u64> {
        self.observers.next_deadline()
    }

    /// Registers the observer a registration's `response` (to the request `pending` belongs to)
    /// starts, and marks the response with its Observe and Max-Age options; when the response is
    /// not a 2.05, the layer cannot protect notifications, or there are as many observers as the
    /// limits allow, the response goes out as a plain GET's.
    pub(super) fn register(
        &mut self,
        peer: &P,
        to: &ReplyTo,
        pending: &L::Pending,
        response: &mut Message,
        path: Vec<String>,
        cursor: u64,
    ) {
        if response.code != code::CONTENT {
            return;
        }
        let Some(observation) = self.layer.observation(pending) else {
            return;
        };
        let observer = Observer {
            peer: peer.clone(),
            token: to.token.clone(),
            path,
            cursor,
            sequence: 2,
            observation,
            outstanding: None,
        };
        if self.observers.register(observer, self.limits.observers) {
            response.add_uint_option(opt::OBSERVE, 1);
            response.add_uint_option(opt::MAX_AGE, NOTIFY_MAX_AGE);
        }
    }

    /// Whether `request` (with `token`, from `peer`) asks to register an observer: a GET with
    /// Observe: 0. One with Observe: 1 deregisters the observer it names.
    pub(super) fn registers(&mut self, peer: &P, request: &Message, token: &[u8]) -> bool {
        match request.uint_option(opt::OBSERVE) {
            Some(DEREGISTER) => {
                self.observers.cancel(peer, token);
                false
            }
            Some(REGISTER) => request.code == code::GET,
            _ => false,
        }
    }

    /// The datagrams to send to observers at `now_ms`, each with its peer: a notification for
    /// each observer with none on its way whose resource changed, and the retransmissions that
    /// are due. An observer whose notification went unacknowledged through
    /// [`ServerLimits::notify_retransmits`](super::ServerLimits::notify_retransmits) is
    /// dropped, as is one whose notification the security layer can no longer protect.
    pub fn notifications(&mut self, now_ms: u64) -> Vec<(P, Vec<u8>)> {
        let timeout = self.limits.notify_ack_timeout_ms;
        let most = self.limits.notify_retransmits;
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for (i, o) in self.observers.list.iter_mut().enumerate() {
            if let Some(n) = &mut o.outstanding {
                if now_ms < n.deadline {
                    continue;
                }
                if n.retransmits >= most {
                    gone.push(i);
                    continue;
                }
                n.retransmits += 1;
                n.deadline = now_ms.saturating_add(timeout << n.retransmits);
                out.push((o.peer.clone(), n.datagram.clone()));
                continue;
            }
            let Some((response, cursor)) = self.resources.notification(&o.path, o.cursor) else {
                continue;
            };
            let mut message = Message {
                code: response.code,
                payload: response.payload,
                ..Default::default()
            };
            message.add_uint_option(opt::OBSERVE, o.sequence);
            message.add_uint_option(opt::MAX_AGE, NOTIFY_MAX_AGE);
            if let Some(cf) = response.content_format {
                message.add_uint_option(opt::CONTENT_FORMAT, cf);
            }
            let Some(mut message) = self.layer.notify(&mut o.observation, message) else {
                gone.push(i);
                continue;
            };
            self.next_mid = self.next_mid.wrapping_add(1);
            message.ty = MsgType::Con;
            message.mid = self.next_mid;
            message.token = o.token.clone();
            let datagram = message.encode();
            out.push((o.peer.clone(), datagram.clone()));
            o.cursor = cursor;
            o.sequence = (o.sequence + 1) & 0x00ff_ffff;
            o.outstanding = Some(Outstanding {
                mid: message.mid,
                datagram,
                retransmits: 0,
                deadline: now_ms.saturating_add(timeout),
            });
        }
        for i in gone.into_iter().rev() {
            self.observers.list.swap_remove(i);
        }
        out
    }
}
