//! [`run`]: a [`Registrar`] driven over a [`Transport`] (the server's datagram trait), next to
//! [`serve`](crate::server::serve) in the same task: no spawning, no executor of its own.

use alloc::vec;
use core::future::Future;
use core::pin::pin;

use futures_util::future::{Either, select};

use super::outcome::Event;
use super::registrar::{Registrar, Step};
use super::watch::LinksWatch;
use crate::server::Transport;

/// The receive buffer of [`run`], in bytes: the largest RD answer taken (a discovery block of
/// 1024 bytes with its header and options). A datagram that fills it may have been cut and
/// is ignored.
pub const MAX_RD_DATAGRAM: usize = 1280;

/// Registers `registrar` with the RD at `rd` over `transport` (a socket of its own: its
/// answers are told from the server's requests by the socket, not by inspection), forever:
/// sends what the registrar says, hands it the RD's answers (datagrams from other peers are
/// dropped), takes new links from `links` when their generation changes, and reports each
/// [`Event`] to `report` (to log it). Waits on the socket, `sleep_until(ms)` (a timer on the
/// clock `now_ms` reads) and `links` at once: it never polls on a timer.
///
/// Returns only when receiving fails with an error the transport does not call transient; a
/// failed send is taken for a lost datagram (the registrar retransmits, then backs off).
/// Holds one [`MAX_RD_DATAGRAM`] buffer besides the registrar.
pub async fn run<T, S, F>(
    transport: &T,
    rd: &T::Peer,
    registrar: &mut Registrar,
    links: &LinksWatch,
    now_ms: impl Fn() -> u64,
    sleep_until: S,
    mut report: impl FnMut(&Event),
) -> T::Error
where
    T: Transport,
    S: Fn(u64) -> F,
    F: Future<Output = ()>,
{
    let mut buf = vec![0u8; MAX_RD_DATAGRAM];
    let mut seen = 0;
    loop {
        if let Some((generation, current)) = links.newer_than(seen) {
            seen = generation;
            registrar.set_links(current, now_ms());
        }
        let until = match registrar.poll(now_ms()) {
            Step::Send(datagram) => {
                let _ = transport.send_to(datagram, rd).await;
                None
            }
            Step::Wait { until_ms } => Some(until_ms),
        };
        if let Some(event) = registrar.take_event() {
            report(&event);
        }
        let Some(until) = until else {
            continue;
        };
        let received = {
            let datagram = pin!(transport.recv_from(&mut buf));
            let sleep = pin!(sleep_until(until));
            let changed = pin!(links.changed(seen));
            let wake = select(sleep, changed);
            match select(datagram, wake).await {
                Either::Left((received, _)) => Some(received),
                Either::Right(_) => None,
            }
        };
        match received {
            Some(Ok((len, peer))) if peer == *rd && len < buf.len() => {
                registrar.receive(&buf[..len], now_ms());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) if transport.is_transient(&e) => {}
            Some(Err(e)) => return e,
            None => {}
        }
    }
}
