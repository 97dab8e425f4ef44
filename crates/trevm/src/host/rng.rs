//! `ariel:wasm-bindings/rng-api` on rand_core 0.9.

use super::bindings::ariel::wasm_bindings::rng_api;
use super::{HostRefusal, HostState};
use alloc::format;
use alloc::vec::Vec;
use wasmtime::component::Resource;

/// Default most bytes one `random-bytes` call may return (4 KiB).
pub const DEFAULT_RANDOM_BYTES_CAP: u32 = 4096;

impl HostState {
    fn rng(&mut self) -> wasmtime::Result<&mut super::BoxedRng> {
        self.rng.as_mut().ok_or_else(|| {
            wasmtime::Error::new(HostRefusal(
                "rng-api: this device has no random number generator".into(),
            ))
        })
    }
}

impl rng_api::Host for HostState {}

impl rng_api::HostRNG for HostState {
    fn next_u32(&mut self) -> wasmtime::Result<u32> {
        Ok(self.rng()?.next_u32())
    }

    fn next_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.rng()?.next_u64())
    }

    fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        if len > self.random_bytes_cap {
            return Err(wasmtime::Error::new(HostRefusal(format!(
                "rng-api: random-bytes({len}) exceeds this device's cap of {} bytes per call",
                self.random_bytes_cap
            ))));
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(len as usize).map_err(|_| {
            wasmtime::Error::new(HostRefusal(format!("rng-api: cannot allocate {len} bytes")))
        })?;
        buf.resize(len as usize, 0);
        self.rng()?.fill_bytes(&mut buf);
        Ok(buf)
    }

    fn drop(&mut self, _rep: Resource<rng_api::RNG>) -> wasmtime::Result<()> {
        // `r-n-g` has only static functions: no instance is ever created, nothing to free.
        Ok(())
    }
}
