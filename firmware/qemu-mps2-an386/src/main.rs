//! trevm on a bare-metal Cortex-M4 (QEMU `mps2-an386`): the same `trevm` runtime crate and host
//! bindings as the native board, Pulley32 capsules built from `payloads/` by `trevm-build` and
//! embedded in flash, plain-wasm capsules that trevm's wasmi provider validates and translates on
//! the device (feature `wasmi`, on by default; the same runtime runs both kinds), an embassy
//! executor with a SysTick time driver, output and exit status over semihosting.
//!
//! Run: `cargo run --release` in this directory (needs `qemu-system-arm`). Exit status 0 means
//! every capsule behaved as expected. `report.sh` builds the footprint variants (features
//! `bare-sync`, `bare-async`, `wasmi` alone, none) and writes docs/footprint.md. With feature `net`, it is the
//! CoAP device on QEMU's emulated Ethernet instead (src/net.rs; `serve.sh` starts it, and
//! crates/trevm-cli/tests/lifecycle.rs drives it with `TREVM_DUT=qemu`).
#![no_std]
#![no_main]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[cfg(all(
    any(feature = "bare-sync", feature = "bare-core"),
    not(feature = "trevm-bindings")
))]
mod bare;
#[cfg(all(feature = "runtime", not(feature = "net")))]
mod capsules;
#[cfg(all(feature = "coap", not(feature = "net")))]
mod coap_device;
mod console;
#[cfg(all(feature = "trevm-bindings", not(feature = "net")))]
mod figures;
#[cfg(all(feature = "runtime", not(feature = "net")))]
mod fp_probe;
#[cfg(all(feature = "runtime", not(feature = "net")))]
mod fpga_led;
#[cfg(feature = "net")]
mod host_file;
#[cfg(feature = "coap-oscore")]
mod identity;
mod measure;
#[cfg(feature = "net")]
mod net;
#[cfg(feature = "net")]
mod net_device;
#[cfg(feature = "net")]
mod net_measure;
#[cfg(feature = "net")]
mod net_rd;
#[cfg(feature = "net")]
mod net_udp;
#[cfg(feature = "net")]
mod net_vectors;
#[cfg(feature = "coap")]
mod retained;
#[cfg(all(feature = "signed", not(feature = "net")))]
mod signed;
mod time_driver;
#[cfg(all(feature = "wasmi", not(feature = "net")))]
mod wasmi_capsules;
#[cfg(all(feature = "trevm-bindings", not(feature = "net")))]
mod workloads;
#[cfg(all(feature = "runtime", not(feature = "net")))]
mod xorshift;

// The network device is linked for an nRF52840's 1 MiB of flash (memory-net.x), which its image
// already nearly fills with Wasmtime alone (docs/footprint.md): wasmi does not fit beside it.
#[cfg(all(feature = "net", feature = "wasmi"))]
compile_error!(
    "the `net` firmware does not fit its 832 KiB image budget with both VM providers: build it \
     with `--no-default-features --features net` (the default features include `wasmi`)"
);

use core::mem::MaybeUninit;

use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;

use console::board;
use measure::{HEAP, HEAP_SIZE};

fn fail(msg: &str) -> ! {
    board(msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    {
        static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        // SAFETY: called once, before anything allocates; `HEAP_MEM` is used by nothing else.
        unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_SIZE) }
    }
    measure::paint_stack();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("peripherals already taken")
    };
    time_driver::init(peripherals.SYST);

    // The network variant serves the CoAP device until it fails.
    #[cfg(feature = "net")]
    fail(&alloc::format!("network: {}", net::run(spawner).await));
    #[cfg(not(feature = "net"))]
    demos(spawner).await;
}

/// Everything but the network variant: the demos, then exit.
#[cfg(not(feature = "net"))]
async fn demos(spawner: Spawner) {
    let _ = &spawner;
    // The second boot of the CoAP firmware: the capsule uploaded before the reset is back.
    #[cfg(feature = "coap")]
    if coap_device::is_restart() {
        let profile = trevm::EngineProfile::pulley32(trevm::Preemption::Fuel);
        match coap_device::after_restart(profile, trevm::RuntimeOptions::mcu()).await {
            Ok(()) => {
                board("all capsules behaved as expected");
                debug::exit(debug::EXIT_SUCCESS);
            }
            Err(e) => fail(&alloc::format!("error after the reset: {e}")),
        }
    }

    #[cfg(feature = "runtime")]
    let outcome = capsules::run(spawner).await;
    // wasmi alone, without Wasmtime: its capsules only.
    #[cfg(all(feature = "wasmi", not(feature = "runtime")))]
    let outcome = wasmi_capsules::run(
        spawner,
        trevm::EngineProfile::wasmi(trevm::Preemption::Fuel),
        trevm::RuntimeOptions::mcu(),
    )
    .await;
    #[cfg(all(
        any(feature = "bare-sync", feature = "bare-core"),
        not(feature = "trevm-bindings")
    ))]
    let outcome = bare::run().await;
    #[cfg(not(any(
        feature = "trevm-bindings",
        feature = "bare-sync",
        feature = "bare-core"
    )))]
    let outcome: Result<(), alloc::string::String> = {
        board("baseline firmware: executor, time driver, heap and semihosting, no WebAssembly");
        Ok(())
    };

    board(&alloc::format!(
        "measure: main stack high-water {} B, heap peak {} B",
        measure::stack_high_water(),
        HEAP.peak()
    ));
    match outcome {
        Ok(()) => {
            // The CoAP firmware checks its store across a reset before it says so.
            #[cfg(feature = "coap")]
            coap_device::restart();
            #[cfg(not(feature = "coap"))]
            {
                board("all capsules behaved as expected");
                debug::exit(debug::EXIT_SUCCESS);
            }
        }
        Err(e) => fail(&alloc::format!("error: {e}")),
    }
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    hprintln!("HardFault at pc={:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
