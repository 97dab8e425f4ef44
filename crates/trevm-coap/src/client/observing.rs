//! [`Client`]'s observations (RFC 7641): registering, the notifications taken, cancelling, and
//! a blocking wait for the next notification over a [`Transport`].
//!
//! Cancelling is by forgetting ([`Client::cancel_observation`]): the client stops acknowledging
//! and answers the observation's next notification with a Reset, which makes the server drop it
//! (RFC 7641 §3.6). That needs no request of its own, so it works while another request is in
//! flight and when the server is gone.

use alloc::vec;

use super::error::Error;
use super::machine::{Client, Step};
use super::observe::Notification;
use super::request::Request;
use super::run::{MAX_DATAGRAM, RunError, Transport};

impl Client {
    /// Starts `request` (a GET) as a registration (Observe: 0) at `now`; it ends like any request
    /// ([`Step::Done`], its answer the first representation). When that answer carries an Observe
    /// option, the observation is established ([`Client::is_observing`]) and later notifications
    /// are taken ([`Client::next_notification`]); otherwise the server did not register it (it
    /// may be full: RFC 7641 §4.1). The answer must fit one datagram (no Block2).
    ///
    /// While an observation is kept (live, lapsed or ended), this registers again with its
    /// token, so that the server updates its entry instead of adding one (RFC 7641 §3.3.1, §4.1);
    /// after [`Client::cancel_observation`], with a new token.
    pub fn observe(&mut self, request: Request, now: u64) -> Result<(), Error> {
        let token = self.observation.as_ref().map(|o| o.token().to_vec());
        self.begin(request, true, token, now)?;
        self.observation = None;
        Ok(())
    }

    /// Whether an observation is established and no final notification ended it.
    pub fn is_observing(&self) -> bool {
        self.observation.as_ref().is_some_and(|o| o.is_live())
    }

    /// The oldest notification taken and not yet handed out, fresher than the ones before it.
    pub fn next_notification(&mut self) -> Option<Notification> {
        let o = self.observation.as_mut()?;
        let next = o.next();
        if o.is_over() {
            self.observation = None;
        }
        next
    }

    /// When the observation lapses (milliseconds): nothing came for Max-Age plus
    /// [`LAPSE_MARGIN_MS`](super::observe::LAPSE_MARGIN_MS), so the server may have dropped it;
    /// the caller registers again. `None` without an observation.
    pub fn observation_lapses_at(&self) -> Option<u64> {
        self.observation.as_ref().map(|o| o.lapses_at())
    }

    /// Forgets the observation: its next notification is answered with a Reset.
    pub fn cancel_observation(&mut self) {
        self.observation = None;
    }

    /// Waits until `until_ms` at the latest for the observation's next notification, over
    /// `transport`: acknowledges notifications and resets unknown ones as they come. `None` when
    /// the time came first. For a client with no request in flight.
    pub fn listen<T: Transport>(
        &mut self,
        transport: &mut T,
        until_ms: u64,
    ) -> Result<Option<Notification>, RunError<T::Error>> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            while self.ack.is_some() {
                let now = transport.now_ms();
                if let Step::Send(datagram) = self.poll(now) {
                    transport.send(datagram).map_err(RunError::Transport)?;
                }
            }
            if let Some(notification) = self.next_notification() {
                return Ok(Some(notification));
            }
            if transport.now_ms() >= until_ms {
                return Ok(None);
            }
            self.receive_one(transport, &mut buf, until_ms)?;
        }
    }
}
