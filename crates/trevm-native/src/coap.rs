//! A CoAP server for the native board: a real UDP socket in front of a
//! [`trevm_coap::Server`], driven by the embassy executor like everything else on the board.

use std::net::{SocketAddr, UdpSocket};

use trevm_coap::{Resources, Server};

/// Serves `server` on `socket` for ever (or until the socket fails). Each datagram is handled
/// to the end before the next is read; while no datagram is waiting, the task sleeps 1 ms at a
/// time on an embassy timer, so other tasks keep running.
pub async fn serve<R: Resources>(
    socket: UdpSocket,
    server: &mut Server<SocketAddr, R>,
) -> std::io::Error {
    if let Err(e) = socket.set_nonblocking(true) {
        return e;
    }
    let mut buf = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let now = embassy_time::Instant::now().as_millis();
                if let Some(reply) = server.handle(&peer, &buf[..n], now).await {
                    // A peer that went away must not stop the server: drop the reply.
                    let _ = socket.send_to(&reply, peer);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                embassy_time::Timer::after_millis(1).await;
            }
            // ICMP port unreachable from an earlier reply surfaces here on Linux: ignore.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Err(e) => return e,
        }
    }
}

/// Runs a CoAP device with an empty sandbox on `addr` (see [`trevm_coap::Sandbox`]) until its
/// socket fails. Capsules must be built for this machine's default profile.
pub async fn serve_sandbox(addr: SocketAddr, board: &crate::NativeBoard) -> Result<(), String> {
    use trevm::{EngineProfile, Runtime, RuntimeOptions};
    use trevm_coap::{Device, Sandbox, SandboxLimits, ServerLimits};
    let profile = EngineProfile::for_this_machine();
    let runtime = Runtime::new(profile, RuntimeOptions::host().with_grants(Sandbox::GRANTS))
        .map_err(|e| e.to_string())?;
    let sandbox = Sandbox::new(runtime, SandboxLimits::default());
    let mut server = Server::new(
        Device {
            sandbox,
            persistent: None,
        },
        ServerLimits::default(),
    );
    let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    board.log().board(&format!(
        "CoAP sandbox on coap://{addr} — capsules must be built for {profile}; \
         e.g. trevm push hello.cwasm coap://{addr}/sandbox/hello"
    ));
    let error = serve(socket, &mut server).await;
    Err(format!("the CoAP socket failed: {error}"))
}
