//! Capsules built into the firmware image: [`EmbeddedCapsule`] and [`include_capsule!`](crate::include_capsule).

/// A capsule built into the firmware image: the output of [`include_capsule!`](crate::include_capsule).
///
/// It is trusted because it is part of the image that was built, signed and flashed as a whole,
/// not because of anything in its bytes: [`EmbeddedCapsule::check`] checks its header and CRC and
/// turns it into a [`VerifiedCapsule`](crate::trust::VerifiedCapsule) without a signature. The
/// only way to make one is the macro (or the `unsafe` [`EmbeddedCapsule::new_unchecked`]).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedCapsule {
    bytes: &'static [u8],
}

impl EmbeddedCapsule {
    /// Wraps capsule bytes that are part of the firmware image.
    ///
    /// # Safety
    ///
    /// `bytes` must be a capsule produced by `trevm build` (or `trevm_build`) from code the
    /// firmware's builder trusts, e.g. embedded with `include_bytes!` at build time. Wasmtime
    /// runs precompiled code without checking it: bytes from anywhere else (a network, a
    /// writable flash region, a file) can take over the device. Use
    /// [`TrustPolicy::verify`](crate::trust::TrustPolicy::verify) for those.
    pub const unsafe fn new_unchecked(bytes: &'static [u8]) -> Self {
        EmbeddedCapsule { bytes }
    }

    /// The capsule bytes.
    pub const fn bytes(&self) -> &'static [u8] {
        self.bytes
    }
}

/// Embeds a capsule file in the binary with the alignment that lets the runtime use it in place.
///
/// Expands to an [`EmbeddedCapsule`](crate::capsule::EmbeddedCapsule): code built into the image
/// is trusted without a signature, because the image itself is what the device's owner built and
/// flashed. Give the macro only capsules your build made (e.g. in `build.rs` with
/// `trevm_build::embed_payload`).
///
/// ```ignore
/// static CAPSULE: trevm::EmbeddedCapsule =
///     trevm::include_capsule!(concat!(env!("OUT_DIR"), "/hello.cwasm"));
/// let loaded = runtime.load(&CAPSULE.check()?)?;
/// ```
#[macro_export]
macro_rules! include_capsule {
    ($path:expr) => {{
        #[repr(C, align(16))]
        struct __TrevmAligned<T: ?Sized>(T);
        const __TREVM_CAPSULE: &__TrevmAligned<[u8]> = &__TrevmAligned(*include_bytes!($path));
        // SAFETY: the bytes are a file included into the binary at build time, i.e. part of the
        // firmware image its builder made and flashed (the contract of `new_unchecked`).
        unsafe { $crate::capsule::EmbeddedCapsule::new_unchecked(&__TREVM_CAPSULE.0) }
    }};
}
