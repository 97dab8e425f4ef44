//! A profile's Wasmtime configuration, and precompiling with it (feature `compiler`).

use super::wasmtime_settings;
use super::{EngineProfile, Preemption, Target};
use crate::error::Error;

impl EngineProfile {
    /// A Wasmtime configuration with exactly the settings of this profile
    /// (`wasmtime_settings.rs`).
    ///
    /// Used by both the precompiler and the runtime: do not set code-affecting options anywhere
    /// else. Runtime-only settings (stack sizes) are applied by
    /// [`RuntimeOptions`](crate::RuntimeOptions) afterwards.
    pub(crate) fn wasmtime_config(&self) -> Result<wasmtime::Config, Error> {
        let mut c = wasmtime::Config::new();
        if let Some(triple) = self.target.triple() {
            c.target(triple)
                .map_err(|e| Error::Engine(alloc::format!("{e}")))?;
        }
        wasmtime_settings::apply(
            &mut c,
            self.target != Target::Host,
            self.preemption == Preemption::Fuel,
            self.preemption == Preemption::Epoch,
        );
        Ok(c)
    }

    /// Precompiles a component (the bytes of a `.wasm` component) for this profile: the
    /// payload of a capsule. `address_map`: keep Wasmtime's map from compiled code back to Wasm
    /// offsets (for debugging; capsules load and run the same without it). Host tools only
    /// (feature `compiler`, which brings Cranelift).
    #[cfg(feature = "compiler")]
    pub fn precompile(
        &self,
        component: &[u8],
        address_map: bool,
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut config = self.wasmtime_config()?;
        wasmtime_settings::apply_compile_only(&mut config, address_map);
        let engine =
            wasmtime::Engine::new(&config).map_err(|e| Error::Engine(alloc::format!("{e:#}")))?;
        engine
            .precompile_component(component)
            .map_err(|e| Error::Engine(alloc::format!("{e:#}")))
    }
}

#[cfg(feature = "compiler")]
impl EngineProfile {
    /// Precompiles a *core* module (not a component) with this profile's settings, without the
    /// address map. trevm runs components only; this exists so the firmware's footprint report
    /// can build a variant like for like with Wasmtime setups that run core modules.
    pub fn precompile_core_module(&self, module: &[u8]) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut config = self.wasmtime_config()?;
        wasmtime_settings::apply_compile_only(&mut config, false);
        // A runtime without the component model refuses modules compiled with it enabled.
        config.wasm_component_model(false);
        let engine =
            wasmtime::Engine::new(&config).map_err(|e| Error::Engine(alloc::format!("{e:#}")))?;
        engine
            .precompile_module(module)
            .map_err(|e| Error::Engine(alloc::format!("{e:#}")))
    }
}
