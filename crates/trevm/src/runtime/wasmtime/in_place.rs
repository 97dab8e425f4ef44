//! Loading `'static` code in place (from flash on a device), without a copy.

use alloc::format;
use alloc::vec::Vec;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::WtEngine;
use crate::error::Error;
use crate::host::HostView;

impl<T: HostView> WtEngine<T> {
    /// Deserializes `'static`, 16-byte-aligned code without copying it (from flash on a device).
    ///
    /// Wasmtime registers code by address and panics if the same bytes are registered twice, so a
    /// process-wide list remembers what was loaded in place: loading the same capsule again with
    /// the same engine reuses that component; with another engine it falls back to a copy.
    ///
    /// # Safety
    ///
    /// `payload` is trusted precompiled code for this profile (see [`Runtime::load_unverified`]).
    pub(super) unsafe fn load_in_place(&self, payload: &'static [u8]) -> Result<Component, Error> {
        let addr = payload.as_ptr() as usize;
        // Claim the address (or find it claimed) in a short critical section; deserialize outside
        // it, so interrupts are not held off for the whole load on a device.
        let claimed = critical_section::with(|cs| {
            let mut loaded = IN_PLACE.borrow_ref_mut(cs);
            match loaded.iter().find(|(a, _)| *a == addr) {
                Some((_, Some(c))) if Engine::same(c.engine(), &self.engine) => {
                    Claim::Loaded(c.clone())
                }
                // Another engine has it, or another load of it is under way: copy.
                Some(_) => Claim::Taken,
                None => {
                    loaded.push((addr, None));
                    Claim::Ours
                }
            }
        });
        match claimed {
            Claim::Loaded(c) => return Ok(c),
            // SAFETY: the caller's guarantee covers these bytes.
            Claim::Taken => return unsafe { self.load_copy(payload) },
            Claim::Ours => {}
        }
        let ptr = core::ptr::NonNull::from(payload);
        // SAFETY: the caller guarantees the payload is trusted output of
        // `Engine::precompile_component` for this profile (stamp checked by `load_unverified`);
        // the memory is `'static` and immutable (a `&'static [u8]`), 16-byte aligned as Pulley code
        // needs, and registered with Wasmtime by nobody else (we claimed its address in
        // `IN_PLACE`, and claims are never released).
        let component = unsafe { Component::deserialize_raw(&self.engine, ptr) }
            .map_err(|e| Error::Engine(format!("{e:#}")));
        critical_section::with(|cs| {
            let mut loaded = IN_PLACE.borrow_ref_mut(cs);
            if let Some(entry) = loaded.iter_mut().find(|(a, _)| *a == addr) {
                // On failure the claim stays empty: the next load copies instead of retrying
                // bytes Wasmtime refused (and that it may have half-registered).
                entry.1 = component.as_ref().ok().cloned();
            }
        });
        component
    }
}

/// Capsules loaded in place, by payload address (see [`Runtime::load_in_place`]): `None` while
/// the load is under way or after it failed. Entries stay for the life of the program: their
/// bytes are `'static` anyway.
static IN_PLACE: critical_section::Mutex<core::cell::RefCell<Vec<InPlace>>> =
    critical_section::Mutex::new(core::cell::RefCell::new(Vec::new()));

/// A payload address and its component (`None` while loading or after a failed load).
type InPlace = (usize, Option<Component>);

/// What [`Runtime::load_in_place`] found for an address.
enum Claim {
    /// Loaded already by this engine.
    Loaded(Component),
    /// Loaded by another engine, or being loaded: make a copy instead.
    Taken,
    /// Claimed by this call: load it in place.
    Ours,
}
