//! `ariel:wasm-bindings/rng-api` on rand_core 0.9, whichever VM runs the capsule.

use super::{BoxedRng, HostRefusal, HostState};
use alloc::format;
use alloc::vec::Vec;

/// Default most bytes one `random-bytes` call may return (4 KiB).
pub const DEFAULT_RANDOM_BYTES_CAP: u32 = 4096;

impl HostState {
    fn rng(&mut self) -> Result<&mut BoxedRng, HostRefusal> {
        self.rng.as_mut().ok_or_else(|| {
            HostRefusal("rng-api: this device has no random number generator".into())
        })
    }

    /// `r-n-g.next-u32`.
    pub(crate) fn next_u32(&mut self) -> Result<u32, HostRefusal> {
        Ok(self.rng()?.next_u32())
    }

    /// `r-n-g.next-u64`.
    pub(crate) fn next_u64(&mut self) -> Result<u64, HostRefusal> {
        Ok(self.rng()?.next_u64())
    }

    /// Whether `random-bytes(len)` may be answered: `len` within the cap and a generator to
    /// draw from. A provider that writes the bytes straight into guest memory asks this before
    /// it allocates there, then calls [`HostState::fill_random`].
    pub(crate) fn check_random_bytes(&mut self, len: u32) -> Result<(), HostRefusal> {
        if len > self.random_bytes_cap {
            return Err(HostRefusal(format!(
                "rng-api: random-bytes({len}) exceeds this device's cap of {} bytes per call",
                self.random_bytes_cap
            )));
        }
        self.rng().map(drop)
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), HostRefusal> {
        self.rng()?.fill_bytes(buf);
        Ok(())
    }

    /// `r-n-g.random-bytes(len)` as a host buffer of `len` bytes (at most the cap), for a
    /// provider that lowers the list itself (Wasmtime); wasmi's glue fills guest memory directly.
    #[cfg_attr(not(feature = "wasmtime"), allow(dead_code))]
    pub(crate) fn random_bytes(&mut self, len: u32) -> Result<Vec<u8>, HostRefusal> {
        self.check_random_bytes(len)?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(len as usize)
            .map_err(|_| HostRefusal(format!("rng-api: cannot allocate {len} bytes")))?;
        buf.resize(len as usize, 0);
        self.fill_random(&mut buf)?;
        Ok(buf)
    }
}
