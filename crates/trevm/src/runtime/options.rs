//! [`RuntimeOptions`]: settings of a runtime that do not affect compiled code.

use crate::host::Grants;

/// Runtime settings that do not affect compiled code (so they may differ from the precompiler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Most bytes of stack wasm code may use before trapping with a stack overflow.
    pub max_wasm_stack: usize,
    /// Size of the stack each running capsule call gets for async suspension (a fiber stack);
    /// must be at least `max_wasm_stack`. Allocated per instance while a call runs.
    pub async_stack_size: usize,
    /// Interfaces linked for capsules.
    pub grants: Grants,
}

impl RuntimeOptions {
    /// Small stacks for microcontrollers: 4 KiB of wasm stack, 6 KiB fiber stack.
    ///
    /// Sized from what the Cortex-M4 firmware measures (`docs/footprint.md`): its capsules use a
    /// fraction of each. Pulley's wasm stack is its own allocation and a deeper capsule traps
    /// cleanly; the fiber stack only holds host frames (Wasmtime's call machinery and the
    /// bindings) but has no guard page, so applications with heavy host bindings should measure
    /// it (`docs/bare-metal.md`). Wasmtime requires the fiber stack to be at least the wasm stack.
    pub const fn mcu() -> Self {
        RuntimeOptions {
            max_wasm_stack: 4 * 1024,
            async_stack_size: 6 * 1024,
            grants: Grants::all(),
        }
    }

    /// Roomier stacks for hosts: 256 KiB of wasm stack, 512 KiB fiber stack.
    pub const fn host() -> Self {
        RuntimeOptions {
            max_wasm_stack: 256 * 1024,
            async_stack_size: 512 * 1024,
            grants: Grants::all(),
        }
    }

    /// Sets [`RuntimeOptions::grants`].
    pub const fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        if cfg!(target_os = "none") {
            Self::mcu()
        } else {
            Self::host()
        }
    }
}
