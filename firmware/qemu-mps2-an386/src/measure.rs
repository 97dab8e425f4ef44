//! Measuring the firmware: a heap that tracks its high-water mark and the stack use of capsule
//! fibers, a painted main stack, and a cycle counter for instruction counts under
//! `qemu-system-arm -icount shift=0`.
#![cfg_attr(any(not(feature = "runtime"), feature = "net"), allow(dead_code))]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The allocator underneath: embedded-alloc's linked-list heap, or for the network firmware its
/// TLSF heap, which fragments less: with 256 KiB of RAM, capsules' code, instances and uploads
/// of 8–30 KiB come and go, and a first-fit list left no 10 KiB hole in 26 KiB free.
#[cfg(not(feature = "net"))]
type Inner = embedded_alloc::LlffHeap;
#[cfg(feature = "net")]
type Inner = embedded_alloc::TlsfHeap;

/// Heap for the engine, the deserialized capsules, their stores and linear memories.
#[cfg(not(feature = "net"))]
pub const HEAP_SIZE: usize = 1024 * 1024;
/// The network firmware's heap, inside an nRF52840's 256 KiB of RAM (memory-net.x): what the
/// static data (28 KiB: network buffers, the driver's frames, the executor) and the main stack
/// (about 46 KiB left, of which EDHOC uses 30–35 KiB: lakers keeps its buffers there) leave.
/// 180 KiB since the device task's poll function got 12 KiB of stack back (see
/// `net_device::Apart`): the stack's high-water is 34 KiB (docs/footprint.md).
#[cfg(feature = "net")]
pub const HEAP_SIZE: usize = 180 * 1024;

/// The firmware's allocator.
#[global_allocator]
pub static HEAP: TrackingHeap = TrackingHeap::empty();

/// The allocator: embedded-alloc's heap ([`Inner`]), plus bookkeeping.
pub struct TrackingHeap {
    inner: Inner,
    /// Bytes allocated now (as requested).
    used: AtomicUsize,
    peak: AtomicUsize,
    /// Fiber stacks (index 0) and Pulley wasm stacks (index 1): size watched, deepest use.
    watched_size: [AtomicUsize; 2],
    watched_peak: [AtomicUsize; 2],
}

impl TrackingHeap {
    pub const fn empty() -> Self {
        TrackingHeap {
            inner: Inner::empty(),
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            watched_size: [AtomicUsize::new(0), AtomicUsize::new(0)],
            watched_peak: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// # Safety
    /// Once, before the first allocation; `start..start + size` is memory used by nothing else.
    pub unsafe fn init(&self, start: usize, size: usize) {
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.init(start, size) }
    }

    /// Bytes allocated now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Most bytes allocated at once since the last [`TrackingHeap::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new high-water measurement from what is allocated now.
    pub fn reset_peak(&self) {
        self.peak.store(self.used(), Ordering::Relaxed);
    }

    /// Treats every allocation of exactly `fiber` or `wasm` bytes with 16-byte alignment as a
    /// stack (that is what Wasmtime's no_std fiber stacks and Pulley's wasm stacks are; the sizes
    /// must differ): it is zeroed when allocated and, when freed, checked for how deep it was
    /// used (`0`: not watched). See [`TrackingHeap::fiber_peak`] and
    /// [`TrackingHeap::wasm_stack_peak`].
    pub fn watch_stacks(&self, fiber: usize, wasm: usize) {
        self.watched_size[0].store(fiber, Ordering::Relaxed);
        self.watched_size[1].store(wasm, Ordering::Relaxed);
    }

    /// Deepest use, in bytes, of any freed fiber stack.
    pub fn fiber_peak(&self) -> usize {
        self.watched_peak[0].load(Ordering::Relaxed)
    }

    /// Deepest use, in bytes, of any freed Pulley wasm stack.
    pub fn wasm_stack_peak(&self) -> usize {
        self.watched_peak[1].load(Ordering::Relaxed)
    }

    /// Which watched kind of stack an allocation is, if any.
    fn watched(&self, layout: Layout) -> Option<usize> {
        if layout.align() != 16 {
            return None;
        }
        (0..2).find(|&i| layout.size() == self.watched_size[i].load(Ordering::Relaxed))
    }
}

// SAFETY: every method forwards to `Inner`, a correct `GlobalAlloc`, with the same layout;
// the bookkeeping only reads and zeroes memory of blocks we own at that moment.
unsafe impl GlobalAlloc for TrackingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            let used = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(used, Ordering::Relaxed);
            if self.watched(layout).is_some() {
                // SAFETY: `p` is a fresh block of `layout.size()` bytes.
                unsafe { core::ptr::write_bytes(p, 0, layout.size()) };
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(kind) = self.watched(layout) {
            // A stack grows down from the top: the first non-zero word from the bottom marks the
            // deepest point reached.
            let words = layout.size() / 4;
            let base = ptr.cast::<u32>();
            // SAFETY: the block is ours until the `dealloc` below, 16-byte aligned, `size` long.
            let untouched = (0..words)
                .take_while(|&i| unsafe { base.add(i).read_volatile() } == 0)
                .count();
            self.watched_peak[kind].fetch_max(layout.size() - untouched * 4, Ordering::Relaxed);
        }
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
}

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

const PAINT: u32 = 0x5afe_57ac;

/// Fills the unused part of the main stack (below the current stack pointer) with a pattern.
pub fn paint_stack() {
    let bottom = (&raw const _stack_end) as usize;
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while p + 256 < sp {
        // SAFETY: between the end of the statics/heap and the live stack: memory nothing uses.
        unsafe { (p as *mut u32).write_volatile(PAINT) };
        p += 4;
    }
}

/// Deepest main-stack use since [`paint_stack`], in bytes.
pub fn stack_high_water() -> usize {
    let top = (&raw const _stack_start) as usize;
    let mut p = (&raw const _stack_end) as usize;
    // SAFETY: reads words of the stack region, which is always mapped RAM.
    while p < top && unsafe { (p as *const u32).read_volatile() } == PAINT {
        p += 4;
    }
    top - p
}

/// Under `-icount shift=0` QEMU advances virtual time by 1 ns per instruction, and SysTick counts
/// the 25 MHz system clock: one cycle is 40 instructions.
pub const INSTRUCTIONS_PER_CYCLE: u64 = 40;

/// Measures `f`'s cost in SysTick cycles.
pub fn cycles<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let start = crate::time_driver::cycles();
    let r = f();
    (r, crate::time_driver::cycles() - start)
}
