//! The wasmi imports driven as the wasmi driver drives them: `call_resumable`, a [`Pending`]
//! completed on each `HostTrap`, then `resume`. Guests are small WAT modules that use the
//! canonical ABI as wit-bindgen's guests do (`basic`, `io`); `payloads` runs the real payloads'
//! core modules.

mod basic;
mod io;
mod payloads;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex;

use wasmi::{CompilationMode, Config, Engine, Instance, Linker, Module, ResumableCall, Store, Val};

use super::{GuestFault, Pending, add_to_linker};
use crate::host::{Grants, HostRefusal, HostState, LogSink};

/// The one embassy-time driver of this test binary: a virtual clock that jumps to each alarm as
/// it is set, so a sleep ends at once and the clock shows it lasted what it should.
#[allow(unsafe_code)]
mod clock {
    use core::sync::atomic::{AtomicU64, Ordering};
    use core::task::Waker;

    static NOW: AtomicU64 = AtomicU64::new(0);

    struct VirtualClock;

    impl embassy_time_driver::Driver for VirtualClock {
        fn now(&self) -> u64 {
            NOW.load(Ordering::SeqCst)
        }

        fn schedule_wake(&self, at: u64, waker: &Waker) {
            NOW.fetch_max(at, Ordering::SeqCst);
            waker.wake_by_ref();
        }
    }

    // SAFETY: the macro defines `_embassy_time_now`/`_embassy_time_schedule_wake` with the
    // signatures embassy-time-driver declares; this test binary links no other driver (trevm
    // enables neither embassy-time's `std` nor `mock-driver`, and the board's clock is in
    // trevm-native, which trevm's tests do not link).
    embassy_time_driver::time_driver_impl!(static DRIVER: VirtualClock = VirtualClock);
}

/// Log lines, as `(capsule, line)`.
#[derive(Default)]
pub(super) struct Lines(Mutex<Vec<(String, String)>>);

impl LogSink for Lines {
    fn log(&self, capsule: &str, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push((capsule.into(), message.into()));
    }
}

impl Lines {
    pub(super) fn take(&self) -> Vec<String> {
        self.0.lock().unwrap().drain(..).map(|(_, l)| l).collect()
    }
}

/// 7, 14, 21, … as bytes and numbers.
pub(super) struct CountingRng(pub(super) u64);

impl rand_core::RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 += 7;
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u32() as u8;
        }
    }
}

/// How a call ended other than with its results.
#[derive(Debug)]
pub(super) enum Failed {
    /// A host function answered with an error that is not a [`Pending`].
    Host(wasmi::Error),
    /// Completing a [`Pending`] failed.
    Complete(crate::Error),
}

impl Failed {
    pub(super) fn fault(&self) -> &str {
        match self {
            Failed::Host(e) => &e.downcast_ref::<GuestFault>().expect("a guest fault").0,
            Failed::Complete(e) => panic!("expected a guest fault, got {e}"),
        }
    }

    pub(super) fn refusal(&self) -> &str {
        match self {
            Failed::Host(e) => &e.downcast_ref::<HostRefusal>().expect("a refusal").0,
            Failed::Complete(e) => panic!("expected a refusal, got {e}"),
        }
    }
}

/// A guest instantiated with every interface granted.
pub(super) struct Guest {
    pub(super) store: Store<HostState>,
    pub(super) instance: Instance,
}

/// The driver's configuration, fuel off.
pub(super) fn config() -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(false)
        .wasm_custom_page_sizes(true)
        .compilation_mode(CompilationMode::Eager);
    config
}

impl Guest {
    pub(super) fn new(wasm: &[u8], host: HostState) -> Self {
        Self::with_engine(&Engine::new(&config()), wasm, host)
    }

    pub(super) fn with_engine(engine: &Engine, wasm: &[u8], host: HostState) -> Self {
        let engine = engine.clone();
        let module = Module::new(&engine, wasm).expect("valid module");
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, Grants::all()).expect("imports");
        let mut store = Store::new(&engine, host);
        store.limiter(|host| &mut host.limiter);
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .expect("instantiates");
        Guest { store, instance }
    }

    pub(super) fn wat(wat: &str, host: HostState) -> Self {
        Self::new(&wat::parse_str(wat).expect("valid WAT"), host)
    }

    /// Starts `name`; the first point where it stops.
    pub(super) fn start(&mut self, name: &str, args: &[Val], out: &mut [Val]) -> ResumableCall {
        let func = self.instance.get_func(&self.store, name).expect("export");
        func.call_resumable(&mut self.store, args, out)
            .expect("the call starts")
    }

    /// Completes `pending` as the driver does; the values to resume with.
    pub(super) fn complete(&mut self, pending: Pending) -> Result<Vec<Val>, crate::Error> {
        futures_executor::block_on(pending.complete(&mut self.store, &self.instance))
    }

    /// Calls `name` to the end, completing each suspension; its `n` integer results.
    pub(super) fn call(&mut self, name: &str, args: &[Val], n: usize) -> Result<Vec<i64>, Failed> {
        self.call_raw(name, args, n).map(|out| ints(&out))
    }

    /// Calls `name` to the end, completing each suspension; `n` results.
    pub(super) fn call_raw(
        &mut self,
        name: &str,
        args: &[Val],
        n: usize,
    ) -> Result<Vec<Val>, Failed> {
        let mut out = vec![Val::I32(0); n];
        let mut call = self.start(name, args, &mut out);
        loop {
            call = match call {
                ResumableCall::Finished => return Ok(out),
                ResumableCall::HostTrap(trap) => {
                    let Some(pending) = trap.host_error().downcast_ref::<Pending>().cloned() else {
                        return Err(Failed::Host(trap.into_host_error()));
                    };
                    let values = self.complete(pending).map_err(Failed::Complete)?;
                    trap.resume(&mut self.store, &values, &mut out)
                        .map_err(Failed::Host)?
                }
                ResumableCall::OutOfFuel(_) => unreachable!("fuel is off"),
            }
        }
    }

    /// `len` bytes of guest memory at `ptr`.
    pub(super) fn peek(&self, ptr: u32, len: usize) -> Vec<u8> {
        let memory = self.instance.get_memory(&self.store, "memory").unwrap();
        memory.data(&self.store)[ptr as usize..][..len].to_vec()
    }
}

/// Integer values as `i64`s, to compare (wasmi's `Val` has no `PartialEq`).
pub(super) fn ints(values: &[Val]) -> Vec<i64> {
    values
        .iter()
        .map(|v| match v {
            Val::I32(x) => i64::from(*x),
            Val::I64(x) => *x,
            other => panic!("not an integer: {other:?}"),
        })
        .collect()
}

/// A bump allocator as `cabi_realloc` (new allocations only, from 1024 up, aligned), which
/// counts its calls in global `calls`.
pub(super) const REALLOC: &str = r#"
    (global $heap (mut i32) (i32.const 1024))
    (global $calls (export "calls") (mut i32) (i32.const 0))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        ;; p = (heap + align - 1) & -align
        (local.set $p (i32.and
            (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
            (i32.sub (i32.const 0) (local.get 2))))
        (global.set $heap (i32.add (local.get $p) (local.get 3)))
        (local.get $p))
"#;

/// Compiles only if completing a [`Pending`] is a `Send` future for every store data type, so
/// the driver's call futures stay `Send` as Wasmtime's are.
#[allow(dead_code)]
fn complete_is_send<T: crate::host::HostView>(p: Pending, store: &mut Store<T>, i: &Instance) {
    fn send<F: Send>(_: F) {}
    send(p.complete(store, i));
}
