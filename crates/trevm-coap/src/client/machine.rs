//! The client's state machine: one request at a time, block by block, each block one
//! [`Exchange`](super::exchange) (and, with a session, protected with OSCORE).

use alloc::string::String;
use alloc::vec::Vec;

use super::error::Error;
use super::exchange::{Due, Exchange, Matched, Timing};
use super::observe::{Observation, reset};
#[cfg(feature = "oscore")]
use super::oscore::Session;
use super::request::{Limits, MAX_BLOCK, MAX_OSCORE_BLOCK, Reply, Request};
use super::transfer::Transfer;
use crate::block::BlockOpt;
use crate::message::{Message, MsgType, code, opt};

/// What the caller does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Send this datagram to the server now.
    Send(&'a [u8]),
    /// So much of the upload is acknowledged (after each Block1 block).
    Progress {
        /// Bytes acknowledged.
        done: usize,
        /// The whole payload.
        total: usize,
    },
    /// Nothing to do until this time (milliseconds) or a datagram from the server
    /// ([`Client::receive`]); then poll again.
    Wait {
        /// When to poll again at the latest.
        until_ms: u64,
    },
    /// The request (or handshake) ended; the client is idle.
    Done(Result<Reply, Error>),
    /// No request was started.
    Idle,
}

enum State {
    Idle,
    Transfer(Transfer),
    #[cfg(feature = "oscore")]
    Handshake(alloc::boxed::Box<super::edhoc::Initiator>, Exchange),
    Done(Result<Reply, Error>),
}

/// What [`Client::poll`] decided, before it borrows the datagram to send.
enum Next {
    Ack,
    Send,
    Progress(usize, usize),
    Wait(u64),
    GiveUp(u32),
    Done,
    Idle,
}

/// A CoAP client, sans I/O: the caller sends what [`Client::poll`] says, hands each datagram
/// from the server to [`Client::receive`], and tells the time in milliseconds. One request at a
/// time ([`Client::start`]); with a session (made by [`Client::connect`], feature `oscore`),
/// each is protected with OSCORE.
pub struct Client {
    timing: Timing,
    limits: Limits,
    mid: u16,
    token: u32,
    #[cfg(feature = "oscore")]
    session: Option<Session>,
    state: State,
    /// The observation the last registration established ([`Client::observe`]).
    pub(super) observation: Option<Observation>,
    /// Acknowledgements of separate responses and notifications, or a Reset of an unknown
    /// one: one waiting to be sent, one being sent.
    pub(super) ack: Option<Vec<u8>>,
    sending_ack: Vec<u8>,
    /// The last [`Step::Send`] was `sending_ack` (else the exchange's datagram).
    sent_ack: bool,
    progress: Option<(usize, usize)>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("timing", &self.timing)
            .field("mid", &self.mid)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client whose message IDs and tokens start after `seed` (pick it at random, or from
    /// the clock, so that a restarted client is not taken for a duplicate).
    pub fn new(seed: u32, timing: Timing, limits: Limits) -> Client {
        Client {
            timing,
            limits,
            mid: seed as u16,
            token: seed,
            #[cfg(feature = "oscore")]
            session: None,
            state: State::Idle,
            observation: None,
            ack: None,
            sending_ack: Vec::new(),
            sent_ack: false,
            progress: None,
        }
    }

    /// Whether requests are protected with OSCORE.
    pub fn is_secured(&self) -> bool {
        #[cfg(feature = "oscore")]
        return self.session.is_some();
        #[cfg(not(feature = "oscore"))]
        false
    }

    /// Starts `request` at `now`: block-wise if its payload is larger than its block size; a
    /// long response to a GET is fetched block by block. Fails with [`Error::Busy`] while
    /// another is in progress.
    pub fn start(&mut self, request: Request, now: u64) -> Result<(), Error> {
        self.begin(request, false, None, now)
    }

    /// [`Client::start`], or with `observe` [`Client::observe`]; the first block with `token`
    /// if given (else a new one).
    pub(super) fn begin(
        &mut self,
        request: Request,
        observe: bool,
        token: Option<Vec<u8>>,
        now: u64,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Idle) {
            return Err(Error::Busy);
        }
        let max = if self.is_secured() {
            MAX_OSCORE_BLOCK
        } else {
            MAX_BLOCK
        };
        let szx = BlockOpt::szx_for(request.block.clamp(16, max));
        let upload = (request.payload.len() > 16 << szx).then_some(0);
        let mut transfer = Transfer {
            method: request.method,
            path: request.path,
            query: request.query,
            content_format: request.content_format,
            payload: request.payload,
            szx,
            upload,
            download: None,
            body: Vec::new(),
            // Replaced by the first block's, below.
            exchange: Exchange::new(Message::default(), 0, Vec::new(), &self.timing, now),
            observe,
            token,
            #[cfg(feature = "oscore")]
            correlation: None,
        };
        self.launch(&mut transfer, now)?;
        self.state = State::Transfer(transfer);
        Ok(())
    }

    /// The next message ID and token.
    fn next_ids(&mut self) -> (u16, Vec<u8>) {
        self.mid = self.mid.wrapping_add(1);
        self.token = self.token.wrapping_add(1);
        (self.mid, self.token.to_be_bytes().to_vec())
    }

    /// Makes `t`'s next message (the block in flight) and its exchange.
    fn launch(&mut self, t: &mut Transfer, now: u64) -> Result<(), Error> {
        let m = t.message()?;
        #[cfg(feature = "oscore")]
        let m = match self.session.as_mut() {
            Some(session) => {
                let (outer, correlation) = session.protect(&m)?;
                t.correlation = Some(correlation);
                outer
            }
            None => m,
        };
        let (mid, token) = self.next_ids();
        let token = t.token.take().unwrap_or(token);
        t.exchange = Exchange::new(m, mid, token, &self.timing, now);
        Ok(())
    }

    /// What to do at `now` (milliseconds, from any fixed origin).
    pub fn poll(&mut self, now: u64) -> Step<'_> {
        let next = self.decide(now);
        match next {
            Next::Ack => {
                self.sending_ack = self.ack.take().unwrap_or_default();
                self.sent_ack = true;
                Step::Send(&self.sending_ack)
            }
            Next::Send => match &self.state {
                State::Transfer(t) => Step::Send(t.exchange.datagram()),
                #[cfg(feature = "oscore")]
                State::Handshake(_, e) => Step::Send(e.datagram()),
                _ => Step::Idle,
            },
            Next::Progress(done, total) => Step::Progress { done, total },
            Next::Wait(until_ms) => Step::Wait { until_ms },
            Next::GiveUp(tries) => {
                self.state = State::Idle;
                Step::Done(Err(Error::NoAnswer { tries }))
            }
            Next::Done => match core::mem::replace(&mut self.state, State::Idle) {
                State::Done(result) => Step::Done(result),
                _ => Step::Idle,
            },
            Next::Idle => Step::Idle,
        }
    }

    /// The datagram the last [`Step::Send`] said to send (empty once the request ended): for
    /// a caller that matched on [`Client::poll`]'s answer and must borrow it again.
    pub fn sent(&self) -> &[u8] {
        if self.sent_ack {
            return &self.sending_ack;
        }
        match &self.state {
            State::Transfer(t) => t.exchange.datagram(),
            #[cfg(feature = "oscore")]
            State::Handshake(_, e) => e.datagram(),
            _ => &[],
        }
    }

    fn decide(&mut self, now: u64) -> Next {
        if self.ack.is_some() {
            return Next::Ack;
        }
        if let Some((done, total)) = self.progress.take() {
            return Next::Progress(done, total);
        }
        let exchange = match &mut self.state {
            State::Idle => return Next::Idle,
            State::Done(_) => return Next::Done,
            State::Transfer(t) => &mut t.exchange,
            #[cfg(feature = "oscore")]
            State::Handshake(_, e) => e,
        };
        match exchange.poll(now, &self.timing) {
            Due::Send(_) => {
                self.sent_ack = false;
                Next::Send
            }
            Due::Wait(until) => Next::Wait(until),
            Due::TimedOut => Next::GiveUp(exchange.tries()),
        }
    }

    /// A datagram from the server, at `now`. Whatever does not answer the request in flight is
    /// ignored (a stray, a duplicate, garbage).
    pub fn receive(&mut self, datagram: &[u8], now: u64) {
        let Ok(reply) = Message::parse(datagram) else {
            return;
        };
        if let Some(o) = self.observation.as_mut().filter(|o| o.owns(&reply)) {
            let can_ack = self.ack.is_none();
            #[cfg(feature = "oscore")]
            let ack = o.receive(reply, self.session.as_mut(), now, can_ack);
            #[cfg(not(feature = "oscore"))]
            let ack = o.receive(reply, now, can_ack);
            self.ack = self.ack.take().or(ack);
            return;
        }
        let exchange = match &mut self.state {
            State::Transfer(t) => &mut t.exchange,
            #[cfg(feature = "oscore")]
            State::Handshake(_, e) => e,
            State::Idle | State::Done(_) => return self.reject(&reply),
        };
        match exchange.matches(&reply, &self.timing, now) {
            Matched::Accepted => {}
            Matched::Stray => self.reject(&reply),
            Matched::Reset => self.state = State::Done(Err(Error::Reset)),
            Matched::Response { ack } => {
                self.ack = ack;
                self.state = match core::mem::replace(&mut self.state, State::Idle) {
                    State::Transfer(t) => self.answered(t, reply, now),
                    #[cfg(feature = "oscore")]
                    State::Handshake(initiator, _) => State::Done(match initiator.finish(&reply) {
                        Ok(session) => {
                            self.session = Some(session);
                            Ok(Reply {
                                code: reply.code,
                                payload: Vec::new(),
                                size1: None,
                                location: Vec::new(),
                                content_format: None,
                            })
                        }
                        Err(e) => Err(e.into()),
                    }),
                    other => other,
                };
            }
        }
    }

    /// A response (or notification) with a token nobody waits for is answered with a Reset
    /// (RFC 7252 §4.2, RFC 7641 §3.6), when one can be sent now.
    fn reject(&mut self, message: &Message) {
        if matches!(message.ty, MsgType::Con | MsgType::Non)
            && message.code >> 5 >= 2
            && self.ack.is_none()
        {
            self.ack = Some(reset(message.mid));
        }
    }

    /// The response to `t`'s message in flight: the next block, or the end.
    fn answered(&mut self, mut t: Transfer, reply: Message, now: u64) -> State {
        let observed = t
            .observe
            .then(|| Observation::from_response(&reply, t.exchange.token(), now))
            .flatten()
            .filter(|_| t.download.is_none());
        #[cfg(feature = "oscore")]
        let reply = match (self.session.as_mut(), t.correlation.as_mut()) {
            (Some(session), Some(correlation)) => match session.unprotect(reply, correlation) {
                Ok(inner) => inner,
                Err(e) => return State::Done(Err(e.into())),
            },
            _ => reply,
        };
        let block1 = reply.uint_option(opt::BLOCK1).and_then(BlockOpt::from_uint);
        if let Some(offset) = t.upload.filter(|_| t.download.is_none()) {
            let size = 16usize << t.szx;
            let end = offset.saturating_add(size).min(t.payload.len());
            if reply.code == code::REQUEST_ENTITY_TOO_LARGE
                && let Some(smaller) = block1.filter(|b| b.szx < t.szx)
            {
                // RFC 7959 §2.9.3: the server wants smaller blocks; start again with them.
                t.szx = smaller.szx;
                t.upload = Some(0);
                return self.relaunch(t, now);
            }
            self.progress = Some((end, t.payload.len()));
            if end < t.payload.len() && reply.code == code::CONTINUE {
                // The server may ask for smaller blocks (RFC 7959 §2.3).
                if let Some(b) = block1 {
                    t.szx = t.szx.min(b.szx);
                }
                t.upload = Some(end);
                return self.relaunch(t, now);
            }
        }
        if t.body.len().saturating_add(reply.payload.len()) > self.limits.max_body {
            return State::Done(Err(Error::TooLarge));
        }
        t.body.extend_from_slice(&reply.payload);
        let block2 = reply.uint_option(opt::BLOCK2).and_then(BlockOpt::from_uint);
        if let Some(b2) = block2 {
            let expected = t.download.map_or(0, |(num, _)| num);
            if b2.num != expected {
                return State::Done(Err(Error::Protocol("a Block2 block out of order")));
            }
            if b2.more && t.method == code::GET {
                t.download = Some((b2.num.saturating_add(1), b2.szx));
                return self.relaunch(t, now);
            }
        }
        let Some(location) = reply
            .options
            .iter()
            .filter(|(n, _)| *n == opt::LOCATION_PATH)
            .map(|(_, v)| core::str::from_utf8(v).ok().map(String::from))
            .collect::<Option<Vec<String>>>()
        else {
            return State::Done(Err(Error::Protocol("a Location-Path that is not UTF-8")));
        };
        self.observation = observed.filter(|_| reply.code >> 5 == 2).map(|o| {
            #[cfg(feature = "oscore")]
            return o.established(&reply, t.correlation.take());
            #[cfg(not(feature = "oscore"))]
            o.established(&reply)
        });
        let content_format = reply
            .option(opt::CONTENT_FORMAT)
            .filter(|v| v.len() <= 2)
            .map(|v| v.iter().fold(0u16, |acc, b| acc << 8 | u16::from(*b)));
        State::Done(Ok(Reply {
            code: reply.code,
            payload: t.body,
            size1: reply.uint_option(opt::SIZE1),
            location,
            content_format,
        }))
    }

    fn relaunch(&mut self, mut t: Transfer, now: u64) -> State {
        match self.launch(&mut t, now) {
            Ok(()) => State::Transfer(t),
            Err(e) => State::Done(Err(e)),
        }
    }
}

#[cfg(feature = "oscore")]
impl Client {
    /// Starts EDHOC with the server (`credentials`; the handshake's randomness from `seed`,
    /// which must be secret and fresh). [`Step::Done`] ends it: on success (the server's
    /// answer to message 1, without its payload) later requests are protected with OSCORE, the
    /// first one carrying message 3.
    pub fn connect(
        &mut self,
        credentials: &super::edhoc::Credentials,
        seed: [u8; 32],
        now: u64,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Idle) {
            return Err(Error::Busy);
        }
        let (initiator, message_1) = super::edhoc::Initiator::start(credentials, seed)?;
        let (mid, token) = self.next_ids();
        let exchange = Exchange::new(message_1, mid, token, &self.timing, now);
        self.state = State::Handshake(alloc::boxed::Box::new(initiator), exchange);
        Ok(())
    }

    /// Uses `session` (or none) for the next requests.
    pub fn set_session(&mut self, session: Option<Session>) {
        self.session = session;
    }
}
