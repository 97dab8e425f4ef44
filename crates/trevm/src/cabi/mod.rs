//! The WebAssembly Component Model's canonical ABI over trevm's neutral values: how a [`Val`] of
//! a [`ValType`] travels through core wasm arguments, results and linear memory, so a provider
//! without a component model (wasmi) can call a plain core module's exports and serve its imports
//! with WIT types.
//!
//! Follows `CanonicalABI.md` of the component model (utf-8 strings only, no resources, no async):
//! - *export direction* (the host calls the guest): [`lower_args`] then, after the call,
//!   [`lift_results`] (and the caller then calls `cabi_post_<name>`);
//! - *import direction* (the guest calls the host): [`lift_args`] then [`lower_results`];
//! - [`core_signature`] says which core function type a WIT function becomes.
//!
//! The guest is not trusted: every pointer and length it hands over is checked (alignment, 32-bit
//! overflow, bounds through [`GuestMemory`]), discriminants, `char`s and utf-8 are validated, and
//! what one lift may copy out of guest memory is bounded: at most [`MAX_LIFT_BYTES`] bytes
//! (string bytes and list element areas) and [`MAX_LIFT_VALUES`] [`Val`]s in total per call of
//! [`lift_args`] or [`lift_results`] (the `_within` variants take another [`LiftBudget`]); beyond
//! that it answers [`CabiError::TooLarge`]. So the host memory one lift allocates is at most about
//! `bytes + values × size_of::<Val>()` (16 B per value on 32-bit targets, 32 B on 64-bit ones:
//! the default allows 2 MiB on a device), plus the names of record fields and cases (copied from
//! the types). Types come from
//! the signed manifest but are checked too: nesting is capped at [`MAX_DEPTH`], flags at
//! [`MAX_FLAGS`] names, resources and other types without a [`Val`] are refused.
//!
//! [`Val`]: crate::value::Val
//! [`ValType`]: crate::value::ValType

mod bounds;
mod call;
mod cases;
mod error;
mod flat;
mod layout;
mod lift;
mod load;
mod lower;
mod memory;
mod scalar;
mod shape;
mod store;

pub(crate) use bounds::{MAX_LIFT_BYTES, MAX_LIFT_VALUES};
// The import direction (the guest calls the host) serves the embedder's own functions
// (`Runtime::define_func_typed`); trevm's own host interfaces lower their fixed types by hand
// (`host/wasmi/`).
#[cfg(test)]
pub(crate) use bounds::MAX_DEPTH;
pub(crate) use call::{lift_args, lift_results_within, lower_args, lower_results, split_retptr};
#[cfg(test)]
pub(crate) use call::{lift_args_within, lift_results};
pub(crate) use error::CabiError;
#[cfg(test)]
pub(crate) use flat::flat_types;
pub(crate) use flat::{Flat, FlatType, SigKind, core_signature};
#[cfg(test)]
pub(crate) use layout::size_align;
pub(crate) use memory::{GuestMemory, LiftBudget};

#[cfg(test)]
mod tests;
