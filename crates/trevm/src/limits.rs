//! Per-capsule limits and the memory limiter that enforces them.

use embassy_time::Duration;

/// Limits applied to one capsule instance (one Wasmtime store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total fuel the instance may burn over its lifetime (`None`: unlimited). Only with
    /// [`Preemption::Fuel`](crate::Preemption::Fuel); running out is
    /// [`Error::OutOfFuel`](crate::Error::OutOfFuel).
    pub fuel: Option<u64>,
    /// With fuel preemption: yield to the executor after this many units of fuel.
    pub yield_interval: u64,
    /// With epoch preemption: yield after this many epoch ticks (default 1: at every tick of
    /// [`Runtime::tick_epochs`](crate::Runtime::tick_epochs), so its period is the time slice).
    pub epoch_ticks: u64,
    /// Most bytes of linear memory the capsule may have (initial size included). A `memory.grow`
    /// beyond it fails (returns -1 to the guest); if the capsule then traps, the error is
    /// [`Error::MemoryLimit`](crate::Error::MemoryLimit).
    pub max_memory: usize,
    /// Most table elements per table.
    pub max_table_elements: usize,
    /// Longest a single call into the capsule may run, including time spent sleeping in async
    /// host calls (`None`: no limit). Needs fuel or epoch preemption to stop busy loops.
    pub timeout: Option<Duration>,
}

impl Limits {
    /// Defaults sized for a microcontroller: 64 KiB of linear memory, yields every 10 000 fuel
    /// units (≈ every few hundred µs of Pulley on a Cortex-M4), no fuel cap, no timeout.
    pub const fn new() -> Self {
        Limits {
            fuel: None,
            yield_interval: 10_000,
            epoch_ticks: 1,
            max_memory: 64 * 1024,
            max_table_elements: 1024,
            timeout: None,
        }
    }

    /// Sets [`Limits::fuel`].
    pub const fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// Sets [`Limits::timeout`].
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets [`Limits::max_memory`].
    pub const fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Sets [`Limits::yield_interval`].
    pub const fn with_yield_interval(mut self, interval: u64) -> Self {
        self.yield_interval = interval;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

/// Enforces [`Limits::max_memory`] and remembers a refused growth, so a trap that follows can be
/// reported as what it really is.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    pub(crate) max_memory: usize,
    pub(crate) max_table_elements: usize,
    /// The largest refused request, in bytes.
    pub(crate) refused: Option<usize>,
    /// The largest size granted to a linear memory, in bytes.
    pub(crate) peak: usize,
}

impl MemoryLimiter {
    pub(crate) fn new(max_memory: usize) -> Self {
        MemoryLimiter {
            max_memory,
            max_table_elements: usize::MAX,
            refused: None,
            peak: 0,
        }
    }
}

impl MemoryLimiter {
    /// Whether a linear memory may grow to `desired` bytes; remembers the largest refused
    /// request and the largest granted size.
    fn allow_memory(&mut self, desired: usize) -> bool {
        if desired > self.max_memory {
            self.refused = Some(self.refused.map_or(desired, |r| r.max(desired)));
            return false;
        }
        self.peak = self.peak.max(desired);
        true
    }

    /// Whether a table may grow to `desired` elements.
    fn allow_table(&self, desired: usize) -> bool {
        desired <= self.max_table_elements
    }
}

/// A component built from one Rust crate has a handful of core instances (module, shims).
const MAX_INSTANCES: usize = 16;
const MAX_TABLES: usize = 16;
const MAX_MEMORIES: usize = 4;

#[cfg(feature = "wasmtime")]
impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.allow_memory(desired))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.allow_table(desired))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// The same accounting on wasmi, which also asks for a module's initial memory (so a capsule
/// whose initial memory is over [`Limits::max_memory`] fails to instantiate, and `peak` counts
/// the initial size).
#[cfg(feature = "wasmi")]
impl wasmi::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(self.allow_memory(desired))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(self.allow_table(desired))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(all(test, feature = "wasmi"))]
mod tests {
    use super::MemoryLimiter;
    use wasmi::{Engine, Linker, Module, Store, Val};

    const PAGE: usize = 65536;

    fn instantiate(
        wat: &str,
        max_memory: usize,
    ) -> (Store<MemoryLimiter>, Option<wasmi::Instance>) {
        let engine = Engine::default();
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut store = Store::new(&engine, MemoryLimiter::new(max_memory));
        store.limiter(|limiter| limiter);
        let instance = Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .ok();
        (store, instance)
    }

    #[test]
    fn wasmi_counts_the_initial_memory_and_refuses_growth_past_the_limit() {
        let (mut store, instance) = instantiate(
            r#"(module (memory 1)
                (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
            2 * PAGE,
        );
        assert_eq!(store.data().peak, PAGE);
        let grow = instance.unwrap().get_func(&store, "grow").unwrap();
        let mut out = [Val::I32(0)];
        grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(1));
        grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(-1));
        assert_eq!(
            (store.data().peak, store.data().refused),
            (2 * PAGE, Some(3 * PAGE))
        );
    }

    #[test]
    fn wasmi_refuses_an_initial_memory_over_the_limit() {
        let (store, instance) = instantiate("(module (memory 2))", PAGE);
        assert!(instance.is_none());
        assert_eq!(
            (store.data().peak, store.data().refused),
            (0, Some(2 * PAGE))
        );
    }

    #[test]
    fn wasmi_refuses_table_growth_past_the_limit() {
        let (mut store, instance) = instantiate(
            r#"(module (table 1 funcref)
                (func (export "grow") (param i32) (result i32)
                    (table.grow (ref.null func) (local.get 0))))"#,
            PAGE,
        );
        store.data_mut().max_table_elements = 4;
        let grow = instance.unwrap().get_func(&store, "grow").unwrap();
        let mut out = [Val::I32(0)];
        grow.call(&mut store, &[Val::I32(3)], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(1));
        grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(-1));
    }
}
