//! Measures whether the executor's callee-saved FP registers (`d8–d15` = `s16–s31`) survive
//! polling a capsule call, which switches to the capsule's fiber and back. Wasmtime's Arm fiber
//! switch does not save them; trevm's runtime does (src/fpctx.rs in the trevm crate) unless built
//! with `--cfg trevm_unguarded_fp`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Wraps a future: before each poll it loads a fresh pattern into `d8–d15`, after the poll it
/// checks them, and counts the registers that changed.
pub struct FpProbe<F> {
    inner: F,
    pub polls: u32,
    pub clobbered: u32,
}

impl<F> FpProbe<F> {
    pub fn new(inner: F) -> Self {
        FpProbe {
            inner,
            polls: 0,
            clobbered: 0,
        }
    }
}

struct Call<'a, 'b, F: Future> {
    fut: Pin<&'a mut F>,
    cx: &'a mut Context<'b>,
    out: Option<Poll<F::Output>>,
}

unsafe extern "C" fn thunk<F: Future>(data: *mut u8) {
    // SAFETY: `data` is the `Call<F>` passed below, alive for this call.
    let call = unsafe { &mut *data.cast::<Call<'_, '_, F>>() };
    call.out = Some(call.fut.as_mut().poll(call.cx));
}

impl<F: Future> Future for FpProbe<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned; it is never moved out.
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        let mut pattern = [0u64; 8];
        for (i, p) in pattern.iter_mut().enumerate() {
            *p = 0x5eed_0000_0000_0000 | (u64::from(this.polls) << 8) | i as u64;
        }
        let mut after = [0u64; 8];
        let mut call = Call {
            // SAFETY: as above.
            fut: unsafe { Pin::new_unchecked(&mut this.inner) },
            cx,
            out: None,
        };
        // SAFETY: saves the caller's d8–d15 and restores them at the end; r4/r5 are callee-saved,
        // so they still point at `pattern`/`after` after the call; `thunk::<F>` gets its `Call<F>`.
        unsafe {
            core::arch::asm!(
                "vpush {{d8-d15}}",
                "vldmia r4, {{d8-d15}}",
                "blx {f}",
                "vstmia r5, {{d8-d15}}",
                "vpop {{d8-d15}}",
                f = in(reg) thunk::<F> as unsafe extern "C" fn(*mut u8),
                in("r4") pattern.as_ptr(),
                in("r5") after.as_mut_ptr(),
                inlateout("r0") (&raw mut call).cast::<u8>() => _,
                // What an AAPCS-VFP call may clobber, spelt out: `clobber_abi("C")` would also
            // name d16–d31, which Cortex-M FPUs do not have.
            lateout("r1") _, lateout("r2") _, lateout("r3") _, lateout("r12") _, lateout("lr") _,
            lateout("d0") _, lateout("d1") _, lateout("d2") _, lateout("d3") _,
            lateout("d4") _, lateout("d5") _, lateout("d6") _, lateout("d7") _,
            );
        }
        this.clobbered += pattern.iter().zip(&after).filter(|(a, b)| a != b).count() as u32;
        call.out.unwrap_or(Poll::Pending)
    }
}

// A function that breaks the calling convention the way a fiber switch that does not save
// `d8–d15` does: it returns with `d8` changed. Used only to calibrate the probe.
core::arch::global_asm!(
    ".section .text.trevm_fw_leak_d8,\"ax\",%progbits",
    ".global trevm_fw_leak_d8",
    ".type trevm_fw_leak_d8,%function",
    ".thumb_func",
    "trevm_fw_leak_d8:",
    "vmov d8, r0, r1",
    "bx lr",
);

unsafe extern "C" {
    fn trevm_fw_leak_d8(lo: u32, hi: u32);
}

/// A future whose poll leaves `d8` changed, as a capsule call would if its fiber left something
/// in `d8` when it suspended and nothing restored it.
pub struct LeaksD8;

impl Future for LeaksD8 {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        // SAFETY: deliberately breaks the AAPCS rule that d8 is preserved — that is what is
        // being measured. Only the probe's asm block, which saved d8 and restores it, observes
        // the change; no compiled code between here and there keeps a value in d8.
        unsafe { trevm_fw_leak_d8(0xdead_beef, 0x0bad_f00d) };
        Poll::Ready(())
    }
}
