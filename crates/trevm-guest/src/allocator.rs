//! The global allocator: talc over a static arena, or one that always fails.

#[cfg(feature = "allocator")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmArenaTalc = {
    use core::mem::MaybeUninit;
    static mut ARENA: [MaybeUninit<u8>; crate::HEAP_SIZE] =
        [MaybeUninit::uninit(); crate::HEAP_SIZE];
    // SAFETY: `ARENA` is private to this constant and handed to the allocator once; nothing
    // else reads or writes it. The target is single-threaded wasm (checked by talc).
    unsafe { talc::wasm::new_wasm_arena_allocator(&raw mut ARENA) }
};

#[cfg(all(feature = "null-allocator", not(feature = "allocator")))]
#[global_allocator]
static ALLOCATOR: NullAllocator = NullAllocator;

/// A global allocator whose every allocation fails (the caller then traps).
#[cfg(all(feature = "null-allocator", not(feature = "allocator")))]
struct NullAllocator;

#[cfg(all(feature = "null-allocator", not(feature = "allocator")))]
// SAFETY: returning null from `alloc` is the documented way to report failure, and `dealloc`
// is never called since nothing was ever allocated.
unsafe impl core::alloc::GlobalAlloc for NullAllocator {
    unsafe fn alloc(&self, _layout: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: core::alloc::Layout) {}
}
