//! Keeps the callee-saved floating-point registers intact across a capsule's fiber switches on
//! hard-float Arm (`target_abi = "eabihf"`).
//!
//! An async capsule call runs on a fiber (its own stack). Wasmtime's no_std fiber switch for Arm
//! (`wasmtime-internal-fiber` 48, `stackswitch/arm.rs`) saves `r4–r11` and `lr` but not `d8–d15`
//! (= `s16–s31`), which the AAPCS-VFP calling convention also makes callee-saved. So when a capsule
//! suspends in an async host call, whatever the fiber side left in `d8–d15` comes back to the
//! executor as if the fiber switch were an ordinary call that preserved them, and the other way
//! round on resume. [`FpGuarded`] wraps every Wasmtime future the runtime polls: around each poll
//! (and the drop, which may resume the fiber to unwind it) it saves the executor's `d8–d15`, loads
//! the fiber's own values from the last suspension, and swaps them back afterwards. On every other
//! target it is a plain pass-through.
//!
//! `--cfg trevm_unguarded_fp` turns the guard off; the firmware's FP probe uses it to measure what
//! the guard prevents (docs/bare-metal.md).

use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Whether [`FpGuarded`] does anything in this build (hard-float Arm, guard not switched off).
#[cfg(all(target_arch = "arm", target_abi = "eabihf", not(trevm_unguarded_fp)))]
pub const GUARD: bool = true;
/// Whether [`FpGuarded`] does anything in this build (hard-float Arm, guard not switched off).
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf", not(trevm_unguarded_fp))))]
pub const GUARD: bool = false;

/// A future whose polls and drop run with the fiber's own `d8–d15`.
///
/// The runtime wraps every capsule call and instantiation in it; it is public for embedders that
/// poll Wasmtime's fiber-based futures themselves. On hard-float Arm each poll saves the caller's
/// callee-saved FP registers `d8–d15`, loads the values the wrapped future's fiber left in them at
/// its last suspension, polls, and swaps them back; elsewhere it only forwards the poll. (Wasmtime
/// 48's Arm fiber switch saves `r4–r11` and `lr` but not `d8–d15`.)
pub struct FpGuarded<F> {
    inner: ManuallyDrop<F>,
    /// The fiber side's `d8–d15` as they were when it last suspended.
    #[cfg_attr(not(all(target_arch = "arm", target_abi = "eabihf")), allow(dead_code))]
    fiber_regs: [u64; 8],
}

impl<F> core::fmt::Debug for FpGuarded<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FpGuarded")
            .field("active", &GUARD)
            .finish_non_exhaustive()
    }
}

impl<F> FpGuarded<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Self {
        FpGuarded {
            inner: ManuallyDrop::new(inner),
            fiber_regs: [0; 8],
        }
    }
}

impl<F: Future> Future for FpGuarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self` (it is only
        // dropped in place, in `Drop`), and `FpGuarded` is `!Unpin` whenever `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `inner` stays where it is for as long as `self` is pinned.
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        if !GUARD {
            return inner.poll(cx);
        }
        let mut call = PollCall {
            fut: inner,
            cx,
            out: None,
        };
        // SAFETY: `poll_thunk::<F>` takes exactly the `PollCall<F>` we pass, which outlives the
        // call; `fiber_regs` is 8-byte aligned and 64 bytes long.
        unsafe {
            with_fiber_fp_regs(
                &mut this.fiber_regs,
                poll_thunk::<F>,
                (&raw mut call).cast(),
            )
        };
        call.out.unwrap_or(Poll::Pending)
    }
}

impl<F> Drop for FpGuarded<F> {
    fn drop(&mut self) {
        if !GUARD {
            // SAFETY: `inner` is dropped exactly once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
            return;
        }
        let inner: *mut ManuallyDrop<F> = &raw mut self.inner;
        // SAFETY: `drop_thunk::<F>` drops the `ManuallyDrop<F>` we pass, exactly once (we are in
        // `drop`, nothing touches `inner` afterwards).
        unsafe { with_fiber_fp_regs(&mut self.fiber_regs, drop_thunk::<F>, inner.cast()) };
    }
}

struct PollCall<'a, 'b, F: Future> {
    fut: Pin<&'a mut F>,
    cx: &'a mut Context<'b>,
    out: Option<Poll<F::Output>>,
}

/// # Safety
/// `data` points to a live `PollCall<F>`.
#[cfg_attr(not(all(target_arch = "arm", target_abi = "eabihf")), allow(dead_code))]
unsafe extern "C" fn poll_thunk<F: Future>(data: *mut u8) {
    // SAFETY: the caller passes a `PollCall<F>` it owns for the duration of this call.
    let call = unsafe { &mut *data.cast::<PollCall<'_, '_, F>>() };
    call.out = Some(call.fut.as_mut().poll(call.cx));
}

/// # Safety
/// `data` points to a `ManuallyDrop<F>` that is dropped here and never used again.
#[cfg_attr(not(all(target_arch = "arm", target_abi = "eabihf")), allow(dead_code))]
unsafe extern "C" fn drop_thunk<F>(data: *mut u8) {
    // SAFETY: guaranteed by the caller.
    unsafe { ManuallyDrop::drop(&mut *data.cast::<ManuallyDrop<F>>()) }
}

/// Calls `f(data)` with `d8–d15` loaded from `fiber_regs`, stores the values `f` leaves in them
/// back into `fiber_regs`, and restores the caller's own `d8–d15`.
///
/// # Safety
/// `f` must be safe to call with `data`.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe fn with_fiber_fp_regs(
    fiber_regs: &mut [u64; 8],
    f: unsafe extern "C" fn(*mut u8),
    data: *mut u8,
) {
    // SAFETY: the block saves the caller's d8–d15 on the stack (64 bytes, keeping 8-byte
    // alignment) and restores them before it ends; `r4` holds `fiber_regs` across the call
    // (AAPCS keeps r4 for us, and Wasmtime's fiber switch saves r4–r11); `clobber_abi("C")`
    // and the outputs below tell the compiler what else a call may clobber. `f` is a Thumb function pointer
    // (bit 0 set), so `blx` stays in Thumb state.
    unsafe {
        core::arch::asm!(
            "vpush {{d8-d15}}",
            "vldmia r4, {{d8-d15}}",
            "blx {f}",
            "vstmia r4, {{d8-d15}}",
            "vpop {{d8-d15}}",
            f = in(reg) f,
            in("r4") fiber_regs.as_mut_ptr(),
            inlateout("r0") data => _,
            // What an AAPCS-VFP call may clobber, spelt out: `clobber_abi("C")` would also
            // name d16–d31, which Cortex-M FPUs do not have.
            lateout("r1") _, lateout("r2") _, lateout("r3") _, lateout("r12") _, lateout("lr") _,
            lateout("d0") _, lateout("d1") _, lateout("d2") _, lateout("d3") _,
            lateout("d4") _, lateout("d5") _, lateout("d6") _, lateout("d7") _,
        );
    }
}

#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
unsafe fn with_fiber_fp_regs(_: &mut [u64; 8], f: unsafe extern "C" fn(*mut u8), data: *mut u8) {
    // SAFETY: forwarded from our caller.
    unsafe { f(data) }
}
