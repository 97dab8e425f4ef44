//! The device's receive loop: a [`Server`] on a datagram [`Transport`], with every run the
//! server starts awaited *alongside* receiving, so a static request or a duplicate is answered
//! while capsules run, and the runs' replies go out as they finish.
//!
//! The transport is what the device has: `std::net` through a reactor on the native board
//! (`trevm_native::coap`), embassy-net's `UdpSocket` on Ariel OS (its `recv_from` and `send_to`
//! have this shape already). Runs are polled by this loop's own future, so one executor task
//! serves everything; how many run at once is bounded by [`ServerLimits`](super::limits::ServerLimits).

use alloc::vec;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use futures_util::StreamExt as _;
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
    /// An observable resource changed, or a notification's retransmission is due.
    Notify,
}

/// Serves `server` on `transport` until receiving fails; returns that error. `now_ms` is the
/// device's clock in milliseconds (for duplicate detection, upload expiry and notifications'
/// retransmissions), `sleep_until(ms)` completes when that clock reaches `ms` (only awaited while
/// a notification waits for its ACK). A failed send is dropped (the peer retransmits, or went
/// away).
///
/// Observers (RFC 7641) are notified when [`Resources::poll_changed`] says their resource
/// changed, after each datagram and run, and when a retransmission is due.
pub async fn serve<T: Transport, R: Resources, L: Layer<T::Peer>, S: Future<Output = ()>>(
    transport: &T,
    server: &mut Server<T::Peer, R, L>,
    now_ms: impl Fn() -> u64,
    sleep_until: impl Fn(u64) -> S,
) -> T::Error {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut runs = FuturesUnordered::new();
    loop {
        // One flat wait on everything that may wake the loop (the socket, a run ending, an
        // observable resource changing, a notification's retransmission falling due), polled
        // in that order.
        let event = {
            let resources = &server.resources;
            let deadline = server.notify_deadline();
            let mut timer = pin!(async {
                match deadline {
                    Some(at) => sleep_until(at).await,
                    None => core::future::pending().await,
                }
            });
            let mut datagram = pin!(transport.recv_from(&mut buf));
            poll_fn(|cx| {
                if let Poll::Ready(received) = datagram.as_mut().poll(cx) {
                    return Poll::Ready(Event::Datagram(received));
                }
                if !runs.is_empty()
                    && let Poll::Ready(Some((id, response))) = runs.poll_next_unpin(cx)
                {
                    return Poll::Ready(Event::Finished(id, response));
                }
                if resources.poll_changed(cx).is_ready() || timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Notify);
                }
                Poll::Pending
            })
            .await
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
            Event::Notify => {}
        }
        send_all(transport, server.notifications(now_ms())).await;
    }
}

/// Sends each datagram to its peer; failures are dropped (a notification is retransmitted).
async fn send_all<T: Transport>(transport: &T, datagrams: Vec<(T::Peer, Vec<u8>)>) {
    for (peer, datagram) in datagrams {
        let _ = transport.send_to(&datagram, &peer).await;
    }
}
