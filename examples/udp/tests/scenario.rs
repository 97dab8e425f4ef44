//! As a user: start the echo on a free port, send datagrams from separate IPv4 and IPv6 clients,
//! get them back upper-cased from the board's port.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use trevm_testkit::Running;

fn echo(bind: &str, to: SocketAddr, msg: &str) -> Option<(String, SocketAddr)> {
    let sock = UdpSocket::bind(bind).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    sock.send_to(msg.as_bytes(), to).ok()?;
    let mut buf = [0u8; 2048];
    let (n, from) = sock.recv_from(&mut buf).ok()?;
    Some((String::from_utf8_lossy(&buf[..n]).into_owned(), from))
}

#[test]
fn datagrams_come_back_upper_cased() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let arg = port.to_string();
    let mut board = Running::start(env!("CARGO_BIN_EXE_example-udp"), &[&arg]).expect("start");
    board
        .wait_for(
            &format!("udp: Listening on UDP port {port}"),
            Duration::from_secs(20),
        )
        .unwrap();
    let v4: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(
        echo("127.0.0.1:0", v4, "hello from ipv4"),
        Some(("HELLO FROM IPV4".into(), v4))
    );
    assert_eq!(echo("127.0.0.1:0", v4, "again"), Some(("AGAIN".into(), v4)));
    let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    if UdpSocket::bind("[::1]:0").is_ok() {
        assert_eq!(
            echo("[::1]:0", v6, "and ipv6"),
            Some(("AND IPV6".into(), v6))
        );
    }
    board
        .wait_for("udp: Echoing 5 bytes, upper-cased", Duration::from_secs(10))
        .unwrap();
}
