//! The device's receive loop: a [`Server`] on a datagram [`Transport`], with every run the
//! server starts awaited *alongside* receiving, so a static request or a duplicate is answered
//! while capsules run, and the runs' replies go out as they finish.
//!
//! The transport is what the device has: `std::net` through a reactor on the native board
//! (`trevm_native::coap`), embassy-net's `UdpSocket` on Ariel OS (its `recv_from` and `send_to`
//! have this shape already). Runs are polled by this loop's own future, so one executor task
//! serves everything; how many run at once is bounded by [`ServerLimits`](super::limits::ServerLimits).

use alloc::vec;
use core::future::Future;
use core::pin::pin;

use futures_util::StreamExt as _;
use futures_util::future::{Either, select};
use futures_util::stream::FuturesUnordered;

use super::exchange::{ExchangeId, Received, Server};
use super::layer::Layer;
use super::resource::{Resources, Response};

/// Largest datagram the loop receives: a 1024-byte block with its options and OSCORE's
/// overhead, with room to spare (bigger datagrams are truncated by the transport and fail to
/// parse).
pub const MAX_DATAGRAM: usize = 2048;

/// A datagram socket, as the loop needs it. `Peer` identifies the other end (a socket address).
pub trait Transport {
    /// The other end of a datagram.
    type Peer: PartialEq + Clone;
    /// What the transport reports when it fails.
    type Error;
    /// Waits for one datagram; its length in `buf` and who sent it. Must register a waker
    /// (never poll on a timer): the loop sleeps here while nothing happens.
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = Result<(usize, Self::Peer), Self::Error>>;
    /// Sends one datagram to `peer`.
    fn send_to(
        &self,
        data: &[u8],
        peer: &Self::Peer,
    ) -> impl Future<Output = Result<(), Self::Error>>;
    /// Whether a receive error is only about an earlier datagram (an ICMP port unreachable
    /// reported on the socket, …) and the loop should go on. Default: every error ends it.
    fn is_transient(&self, _error: &Self::Error) -> bool {
        false
    }
}

/// What woke the loop.
enum Event<P, E> {
    Datagram(Result<(usize, P), E>),
    Finished(ExchangeId, Response),
}

/// Serves `server` on `transport` until receiving fails; returns that error. `now_ms` is the
/// device's clock in milliseconds (for duplicate detection and upload expiry). A failed send is
/// dropped (the peer retransmits, or went away).
pub async fn serve<T: Transport, R: Resources, L: Layer<T::Peer>>(
    transport: &T,
    server: &mut Server<T::Peer, R, L>,
    now_ms: impl Fn() -> u64,
) -> T::Error {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut runs = FuturesUnordered::new();
    loop {
        let event = if runs.is_empty() {
            Event::Datagram(transport.recv_from(&mut buf).await)
        } else {
            let datagram = pin!(transport.recv_from(&mut buf));
            match select(datagram, runs.next()).await {
                Either::Left((received, _)) => Event::Datagram(received),
                Either::Right((Some((id, response)), _)) => Event::Finished(id, response),
                Either::Right((None, _)) => continue,
            }
        };
        match event {
            Event::Datagram(Ok((len, peer))) => {
                let datagram = buf.get(..len).unwrap_or(&buf);
                match server.receive(&peer, datagram, now_ms()) {
                    Received::Reply(reply) => {
                        let _ = transport.send_to(&reply, &peer).await;
                    }
                    Received::Nothing => {}
                    Received::Started(id, run) => runs.push(async move { (id, run.await) }),
                }
            }
            Event::Datagram(Err(e)) if transport.is_transient(&e) => {}
            Event::Datagram(Err(e)) => return e,
            Event::Finished(id, response) => {
                if let Some((peer, reply)) = server.complete(id, response, now_ms()) {
                    let _ = transport.send_to(&reply, &peer).await;
                }
            }
        }
    }
}
