//! A UDP echo served by a capsule on the native board: the `udp` capsule binds a real socket (IPv4
//! and IPv6) and sends every datagram back upper-cased. Port 4242, or the first argument. Try:
//! `echo hello | nc -u -w1 127.0.0.1 4242`. Ctrl-C stops it.
#![forbid(unsafe_code)]

use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions, Val};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/udp.cwasm"));

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let port: u16 = trevm_native::first_arg(4242, "a UDP port").map_err(Error::BadArguments)?;
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let loaded = runtime.load(&CAPSULE.check()?)?;
    let mut instance = runtime
        .instantiate(&loaded, board.host_state("udp"), Limits::new())
        .await?;
    instance.call("bind-socket", &[Val::U16(port)]).await?;
    board.log().board(&format!(
        "try: echo hello | nc -u -w1 127.0.0.1 {port}   (Ctrl-C stops the board)"
    ));
    instance.call_run().await?;
    board.log().board("the capsule stopped serving");
    Ok(())
}
