//! trevm on a bare-metal Cortex-M4 (QEMU `mps2-an386`): the same `trevm` runtime crate and host
//! bindings as the native board, Pulley32 capsules built from `payloads/` by `trevm-build` and
//! embedded in flash, an embassy executor with a SysTick time driver, output and exit status over
//! semihosting.
//!
//! Run: `cargo run --release` in this directory (needs `qemu-system-arm`). Exit status 0 means
//! every capsule behaved as expected.
#![no_std]
#![no_main]

extern crate alloc;

mod time_driver;

use alloc::format;
use alloc::sync::Arc;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_time::{Duration, Instant, Timer};
use embedded_alloc::LlffHeap as Heap;
use trevm::{
    Capsule, EngineProfile, Error, Grants, HostState, Limits, Preemption, Runtime, RuntimeOptions,
    Val,
};

static FIBONACCI: &[u8] = trevm::include_capsule!(concat!(env!("OUT_DIR"), "/fibonacci.cwasm"));
static ASYNC_BINDINGS: &[u8] =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/async-bindings.cwasm"));

/// Heap for the engine, the deserialized capsules, their stores and linear memories.
const HEAP_SIZE: usize = 1024 * 1024;

#[global_allocator]
static HEAP: Heap = Heap::empty();

static HEARTBEATS: AtomicU32 = AtomicU32::new(0);

/// Prints capsule log lines over semihosting with the time since boot.
struct SemihostingLog;

impl trevm::LogSink for SemihostingLog {
    fn log(&self, capsule: &str, message: &str) {
        let ms = Instant::now().as_millis();
        hprintln!(
            "[{:>5}.{:03}] {}: {}",
            ms / 1000,
            ms % 1000,
            capsule,
            message
        );
    }
}

/// xorshift64*: QEMU's MPS2 has no hardware RNG. Fine for a demo, not for cryptography.
struct XorShift(u64);

impl rand_core::RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

fn board(msg: &str) {
    let ms = Instant::now().as_millis();
    hprintln!("[{:>5}.{:03}] board: {}", ms / 1000, ms % 1000, msg);
}

fn fail(msg: &str) -> ! {
    board(msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[embassy_executor::task]
async fn heartbeat() {
    loop {
        Timer::after_millis(500).await;
        HEARTBEATS.fetch_add(1, Ordering::Relaxed);
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    {
        static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        // SAFETY: called once, before anything allocates; `HEAP_MEM` is used by nothing else.
        unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_SIZE) }
    }
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("peripherals already taken")
    };
    time_driver::init(peripherals.SYST);
    if spawner.spawn(heartbeat()).is_err() {
        fail("cannot spawn the heartbeat task");
    }
    match run().await {
        Ok(()) => {
            board("all capsules behaved as expected");
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(e) => fail(&format!("error: {e}")),
    }
}

async fn run() -> Result<(), Error> {
    let profile = EngineProfile::pulley32(Preemption::Fuel);
    board(&format!("heap {} KiB, profile {profile}", HEAP_SIZE / 1024));

    // 1. A pure function, no host interface granted.
    let pure = Runtime::new(profile, RuntimeOptions::mcu().with_grants(Grants::none()))?;
    let fib = Capsule::from_static(FIBONACCI)?;
    let loaded = pure.load(&fib)?;
    let mut inst = pure
        .instantiate(&loaded, HostState::new("fibonacci"), Limits::new())
        .await?;
    let started = Instant::now();
    let result = inst.call("fibonacci", &[Val::U32(20)]).await?;
    board(&format!(
        "fibonacci(20) = {:?} in {} ms (heap used {} B)",
        result,
        started.elapsed().as_millis(),
        HEAP.used()
    ));
    if result != [Val::U32(6765)] {
        fail("fibonacci(20) is not 6765");
    }
    drop(inst);

    // 2. The async scenario: log, rng, sleep, then an endless loop stopped by the timeout while
    //    the heartbeat task keeps running.
    let runtime = Runtime::new(profile, RuntimeOptions::mcu())?;
    let capsule = Capsule::from_static(ASYNC_BINDINGS)?;
    let loaded = runtime.load(&capsule)?;
    let host = HostState::new(capsule.name())
        .with_log(Arc::new(SemihostingLog))
        .with_rng(XorShift(0x5eed_1234_abcd_0001));
    let timeout = Duration::from_secs(5);
    let mut inst = runtime
        .instantiate(&loaded, host, Limits::new().with_timeout(timeout))
        .await?;
    board(&format!(
        "async-bindings instantiated (heap used {} B)",
        HEAP.used()
    ));
    let beats_before = HEARTBEATS.load(Ordering::Relaxed);
    match inst.call_run().await {
        Err(Error::Timeout { .. }) => {
            let beats = HEARTBEATS.load(Ordering::Relaxed) - beats_before;
            board(&format!(
                "async-bindings stopped by its {} s timeout; heartbeat ticked {beats} times meanwhile",
                timeout.as_secs()
            ));
            if beats < 8 {
                fail("the executor was blocked while the capsule ran");
            }
            Ok(())
        }
        Ok(()) => fail("async-bindings returned; it should loop until the timeout"),
        Err(e) => Err(e),
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
