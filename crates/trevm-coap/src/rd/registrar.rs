//! [`Registrar`]: the sans-I/O state machine of a device's registration with an RD, on one
//! [`Client`]. Discover (once), register, refresh at 3/4 of the lifetime; on 4.04 to a refresh
//! register again; on any failure wait (exponential backoff with jitter) and register again.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::config::{Config, path_fits};
use super::discovery::{MAX_DISCOVERY, registration_path};
use super::outcome::{Event, Reason, State};
use crate::client::{Client, Error, Limits, MAX_DATAGRAM, Reply, Request, Step as ClientStep};
use crate::message::code;

/// Link-format's Content-Format (RFC 6690).
pub const LINK_FORMAT: u16 = 40;

/// What the caller does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Send this datagram to the RD now, then poll again.
    Send(&'a [u8]),
    /// Nothing to do until `until_ms` or a datagram from the RD ([`Registrar::receive`]) or new
    /// links ([`Registrar::set_links`]); then poll again.
    Wait {
        /// When to poll again at the latest (milliseconds, the caller's clock).
        until_ms: u64,
    },
}

/// Which request a phase makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `GET /.well-known/core?rt=core.rd`.
    Discover,
    /// `POST <path>?ep=…&lt=…&base=…&et=trevm.device` with the links.
    Register,
    /// An empty `POST <location>`.
    Refresh,
}

/// What the client's poll said, without its borrow.
enum Polled {
    Send,
    Again,
    Wait(u64),
    Done(Result<Reply, Error>),
}

/// Every this many refreshes, the refresh is a full registration instead of a registration
/// update: an RD that restarted may have handed the device's registration resource (`/reg/1/`)
/// to another endpoint (aiocoap-rd numbers them from 1 again), and an update of it would then
/// be answered 2.04 for someone else's registration, for ever. A full registration with the
/// same `ep` is idempotent (the RD replaces the old one), so it repairs that within
/// `FULL_EVERY` refresh periods, for the bytes of the links once in a while.
pub const FULL_EVERY: u32 = 4;

/// How long after its links change a registered device registers again, in milliseconds: a
/// burst of changes (a fleet rollout's upload, its health check's first run, a deletion) makes
/// one registration with the last links rather than one each.
pub const SETTLE_MS: u64 = 1_000;

/// A device's registration with one RD, sans I/O: the caller sends what [`Registrar::poll`]
/// says to the RD, hands each datagram from the RD to [`Registrar::receive`], and passes the
/// time in milliseconds; [`Registrar::state`] says where it stands and
/// [`Registrar::take_event`] what to log.
///
/// Heap held: the configuration, the links (given by the device), the location (at most
/// [`MAX_PATH`](super::MAX_PATH) bytes) and the client's request in flight (the links again,
/// with its options, while a registration is in flight; a discovery answer of at most
/// [`MAX_DISCOVERY`] bytes while it is reassembled).
#[derive(Debug)]
pub struct Registrar {
    config: Config,
    client: Client,
    /// The registration path, configured or discovered.
    path: Option<Vec<String>>,
    links: String,
    /// The registration resource, when registered.
    location: Vec<String>,
    state: State,
    /// The request in flight.
    in_flight: Option<Phase>,
    /// The next request and when it is due, while none is in flight.
    next: (Phase, u64),
    /// The links changed while a registration or refresh was in flight: register again.
    relink: bool,
    /// Failed attempts in a row.
    failures: u32,
    /// Refreshes since the last full registration ([`FULL_EVERY`]).
    refreshes: u32,
    /// The next registration is the periodic one of [`FULL_EVERY`]: no news if it keeps the
    /// location.
    periodic: bool,
    rng: u32,
    event: Option<Event>,
}

impl Registrar {
    /// A registrar for `config` with the links `links` (see [`capsule_links`]); its first
    /// request is due at once. Fails when [`Config::check`] does.
    ///
    /// [`capsule_links`]: super::capsule_links
    pub fn new(config: Config, links: String) -> Result<Registrar, &'static str> {
        config.check()?;
        let limits = Limits {
            max_body: MAX_DISCOVERY,
        };
        let first = if config.path.is_some() {
            Phase::Register
        } else {
            Phase::Discover
        };
        Ok(Registrar {
            client: Client::new(config.seed, config.timing, limits),
            path: config.path.clone(),
            rng: config.seed | 1,
            config,
            links: {
                let mut held = String::with_capacity(links.len().max(super::LINKS_RESERVE));
                held.push_str(&links);
                held
            },
            location: Vec::new(),
            state: State::Registering,
            in_flight: None,
            next: (first, 0),
            relink: false,
            failures: 0,
            refreshes: 0,
            periodic: false,
            event: None,
        })
    }

    /// Where the registration stands.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The links registered (or to be).
    pub fn links(&self) -> &str {
        &self.links
    }

    /// The last thing to report, once: a (re)registration or a failed attempt.
    pub fn take_event(&mut self) -> Option<Event> {
        self.event.take()
    }

    /// New links at `now`: when they differ, the device registers again with them,
    /// [`SETTLE_MS`] later (after the request in flight; at the next attempt when retrying).
    pub fn set_links(&mut self, links: String, now: u64) {
        if links == self.links {
            return;
        }
        // In place, for the reason `LinksWatch::set` gives.
        self.links.clear();
        self.links.push_str(&links);
        self.periodic = false;
        if self.in_flight.is_some() {
            self.relink = true;
        } else if matches!(self.state, State::Registered { .. }) {
            let at = match self.next {
                (Phase::Register, at) => at.min(now.saturating_add(SETTLE_MS)),
                _ => now.saturating_add(SETTLE_MS),
            };
            self.next = (Phase::Register, at);
        }
    }

    /// A datagram from the RD at `now`. Anything that does not answer the request in flight
    /// (a stray, a wrong token, garbage, a datagram longer than the client's
    /// [`MAX_DATAGRAM`]) is ignored.
    pub fn receive(&mut self, datagram: &[u8], now: u64) {
        if self.in_flight.is_some() && datagram.len() <= MAX_DATAGRAM {
            self.client.receive(datagram, now);
        }
    }

    /// What to do at `now` (milliseconds, from any fixed origin).
    pub fn poll(&mut self, now: u64) -> Step<'_> {
        loop {
            if self.in_flight.is_some() {
                let polled = match self.client.poll(now) {
                    ClientStep::Send(_) => Polled::Send,
                    ClientStep::Progress { .. } => Polled::Again,
                    ClientStep::Wait { until_ms } => Polled::Wait(until_ms),
                    ClientStep::Done(result) => Polled::Done(result),
                    ClientStep::Idle => Polled::Done(Err(Error::Idle)),
                };
                match polled {
                    Polled::Send => return Step::Send(self.client.sent()),
                    Polled::Again => {}
                    Polled::Wait(until_ms) => return Step::Wait { until_ms },
                    Polled::Done(result) => {
                        let phase = self.in_flight.take().unwrap_or(Phase::Register);
                        self.finish(phase, result, now);
                    }
                }
                continue;
            }
            let (phase, at) = self.next;
            if now < at {
                return Step::Wait { until_ms: at };
            }
            self.launch(phase, now);
        }
    }

    fn launch(&mut self, phase: Phase, now: u64) {
        let phase = match (phase, &self.path) {
            (Phase::Register, None) => Phase::Discover,
            (phase, _) => phase,
        };
        let request = match phase {
            Phase::Discover => Request::new(code::GET, &[".well-known", "core"])
                .with_query(vec![String::from("rt=core.rd")]),
            Phase::Register => {
                let c = &self.config;
                let mut r = Request::new(code::POST, &[]);
                r.path = self.path.clone().unwrap_or_default();
                r.query = vec![
                    format!("ep={}", c.endpoint),
                    format!("lt={}", c.lifetime_s),
                    format!("base={}", c.base),
                    String::from("et=trevm.device"),
                ];
                // The request owns its payload; the links stay for the next registration.
                r.with_content_format(LINK_FORMAT)
                    .with_payload(self.links.clone().into_bytes())
            }
            Phase::Refresh => {
                let mut r = Request::new(code::POST, &[]);
                r.path = self.location.clone();
                r
            }
        };
        if phase == Phase::Register {
            self.relink = false;
        }
        match self.client.start(request, now) {
            Ok(()) => self.in_flight = Some(phase),
            Err(e) => self.fail(e.into(), now),
        }
    }

    fn finish(&mut self, phase: Phase, result: Result<Reply, Error>, now: u64) {
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => return self.fail(e.into(), now),
        };
        match phase {
            Phase::Discover if reply.code == code::CONTENT => {
                if reply.content_format.is_some_and(|cf| cf != LINK_FORMAT) {
                    return self.fail(Reason::NotLinkFormat, now);
                }
                match registration_path(&reply.payload) {
                    Ok(path) => {
                        self.path = Some(path);
                        self.next = (Phase::Register, now);
                    }
                    Err(reason) => self.fail(reason, now),
                }
            }
            Phase::Register if reply.code == code::CREATED || reply.code == code::CHANGED => {
                if reply.location.is_empty() {
                    return self.fail(Reason::NoLocation, now);
                }
                if !path_fits(&reply.location) {
                    return self.fail(Reason::BadLocation, now);
                }
                // In place (the segments' strings reused): what a device keeps for as long as it
                // is registered should not be allocated anew at every registration, in
                // whatever hole the heap has then (see `LinksWatch::set`).
                self.location.truncate(reply.location.len());
                self.location.resize_with(reply.location.len(), String::new);
                for (kept, new) in self.location.iter_mut().zip(&reply.location) {
                    kept.clear();
                    kept.push_str(new);
                }
                let location = format!("/{}", self.location.join("/"));
                self.failures = 0;
                self.refreshes = 0;
                // A periodic full registration that kept the location is no news.
                let news = !self.periodic
                    || !matches!(&self.state, State::Registered { location: l, .. } if *l == location);
                self.periodic = false;
                self.registered(location.clone(), now);
                if news {
                    self.event = Some(Event::Registered { location });
                }
            }
            Phase::Refresh if reply.code == code::CHANGED => {
                self.failures = 0;
                self.refreshes = self.refreshes.saturating_add(1);
                let location = format!("/{}", self.location.join("/"));
                self.registered(location, now);
            }
            Phase::Refresh if reply.code == code::NOT_FOUND => {
                // The RD forgot the registration (it expired, or the RD restarted).
                self.state = State::Registering;
                self.next = (Phase::Register, now);
            }
            _ => {
                if phase == Phase::Register
                    && reply.code == code::NOT_FOUND
                    && self.config.path.is_none()
                {
                    // The discovered path is gone: discover it again.
                    self.path = None;
                }
                self.fail(Reason::Refused { code: reply.code }, now);
            }
        }
    }

    /// Registered at `location` at `now`: the next refresh at 3/4 of the lifetime, earlier
    /// when the refresh's retransmissions would not end before the lifetime does (but not
    /// before half of it).
    fn registered(&mut self, location: String, now: u64) {
        let lifetime_ms = u64::from(self.config.lifetime_s) * 1000;
        let delay = (lifetime_ms / 4 * 3)
            .min(lifetime_ms.saturating_sub(self.config.timing.give_up_after_ms()))
            .max(lifetime_ms / 2);
        let refresh_at_ms = now.saturating_add(delay);
        // The state's string stays when the location does (every refresh), for the same reason.
        match &mut self.state {
            State::Registered {
                location: kept,
                refresh_at_ms: at,
            } if *kept == location => *at = refresh_at_ms,
            state => {
                *state = State::Registered {
                    location,
                    refresh_at_ms,
                }
            }
        }
        self.next = if self.relink {
            (Phase::Register, now.saturating_add(SETTLE_MS))
        } else if self.refreshes + 1 >= FULL_EVERY {
            self.periodic = true;
            (Phase::Register, refresh_at_ms)
        } else {
            (Phase::Refresh, refresh_at_ms)
        };
    }

    /// An attempt failed at `now`: wait (backoff) and register again.
    fn fail(&mut self, reason: Reason, now: u64) {
        self.periodic = false;
        self.failures = self.failures.saturating_add(1);
        let doublings = (self.failures - 1).min(20);
        let delay = self
            .config
            .first_backoff_ms
            .saturating_mul(1 << doublings)
            .min(self.config.max_backoff_ms);
        // xorshift32: jitter of up to a quarter of the delay.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let delay = delay + u64::from(self.rng) % (delay / 4 + 1);
        let at_ms = now.saturating_add(delay);
        self.location.clear();
        self.state = State::Retrying {
            at_ms,
            reason: reason.clone(),
        };
        self.next = (Phase::Register, at_ms);
        self.event = Some(Event::Failed {
            reason,
            retry_in_ms: delay,
        });
    }
}
