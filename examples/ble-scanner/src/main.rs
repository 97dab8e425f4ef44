//! A BLE scanner capsule on the native board. There is no radio here, so the board plays a scan:
//! advertising reports from five simulated devices, in a fixed pseudo-random order, each handed to
//! the capsule's `on-single-report`. Then it asks the capsule for `return-stats` and prints them
//! beside what it fed.
#![forbid(unsafe_code)]

use embassy_time::Timer;
use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions, Val};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/ble-scanner.cwasm"));

const REPORT: &str = "ariel:wasm-bindings/ble-api@0.0.1#on-single-report";
const STATS: &str = "ariel:wasm-bindings/ble-api@0.0.1#return-stats";
const DEVICES: [[u8; 6]; 5] = [
    [0xd4, 0x2a, 0x01, 0x00, 0x00, 0x01],
    [0xd4, 0x2a, 0x01, 0x00, 0x00, 0x02],
    [0xe8, 0x6f, 0x33, 0x10, 0x20, 0x30],
    [0xc0, 0xff, 0xee, 0xc0, 0xff, 0xee],
    [0x00, 0x1b, 0xdc, 0x07, 0x31, 0x42],
];
const REPORTS: usize = 40;

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

fn addr_val(a: [u8; 6]) -> Val {
    let fields = ["a", "b", "c", "d", "e", "f"];
    Val::Record(
        fields
            .iter()
            .zip(a)
            .map(|(k, v)| (k.to_string(), Val::U8(v)))
            .collect(),
    )
}

fn val_addr(v: &Val) -> Option<[u8; 6]> {
    let Val::Record(fields) = v else { return None };
    let mut a = [0u8; 6];
    for (slot, (_, v)) in a.iter_mut().zip(fields) {
        let Val::U8(b) = v else { return None };
        *slot = *b;
    }
    Some(a)
}

fn show(a: [u8; 6]) -> String {
    a.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let loaded = runtime.load(&CAPSULE.check()?)?;
    let mut instance = runtime
        .instantiate(&loaded, board.host_state("ble-scanner"), Limits::new())
        .await?;
    let mut fed = [0u64; DEVICES.len()];
    let mut seed: u32 = 0x2545_f491;
    board.log().board(&format!(
        "scanning: {REPORTS} simulated advertising reports"
    ));
    for _ in 0..REPORTS {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let i = seed as usize % DEVICES.len();
        fed[i] += 1;
        let r = instance.call(REPORT, &[addr_val(DEVICES[i])]).await?;
        if r != [Val::Result(Ok(None))] {
            board.log().board(&format!(
                "the capsule refused a report from {}",
                show(DEVICES[i])
            ));
        }
        Timer::after_millis(10).await;
    }
    let stats = instance.call(STATS, &[]).await?;
    let Some(Val::List(entries)) = stats.first() else {
        return Err(Error::Engine(format!("unexpected stats: {stats:?}")));
    };
    let mut matches = entries.len() == DEVICES.iter().zip(fed).filter(|(_, n)| *n > 0).count();
    for entry in entries {
        let Val::Tuple(t) = entry else { continue };
        let (Some(addr), Some(Val::U64(n))) = (t.first().and_then(val_addr), t.get(1)) else {
            continue;
        };
        let expected = DEVICES
            .iter()
            .position(|d| *d == addr)
            .map_or(0, |i| fed[i]);
        matches &= expected == *n;
        board.log().board(&format!(
            "{}: capsule counted {n}, board fed {expected}",
            show(addr)
        ));
    }
    board.log().board(if matches {
        "the capsule's stats match the reports fed"
    } else {
        "the capsule's stats DO NOT match the reports fed"
    });
    if matches {
        Ok(())
    } else {
        Err(Error::Engine("stats mismatch".into()))
    }
}
