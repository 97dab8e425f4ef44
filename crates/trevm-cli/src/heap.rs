//! The `trevm` process's heap, counted (the `cap` crate wraps the system allocator: two atomic
//! additions per allocation), so that `trevm serve` reports it in `/status` as a device board
//! reports its heap: bytes allocated now and at most. A host process has no fixed heap size.

use std::alloc::System;

use cap::Cap;
use trevm_coap::status::Memory;

/// No limit: this only counts.
#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The process's heap now (for [`trevm_native::coap::DeviceConfig::memory`]).
pub(crate) fn heap() -> Memory {
    Memory {
        heap_used: HEAP.allocated() as u64,
        heap_peak: HEAP.max_allocated() as u64,
        heap_size: None,
    }
}
