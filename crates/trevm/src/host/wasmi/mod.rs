//! The host interfaces on wasmi: a capsule for the wasmi provider is a core module, so each
//! `ariel:wasm-bindings` import is a core function taking and returning what the canonical ABI
//! flattens its parameters and results to ([`add_to_linker`]); strings and lists cross through
//! the guest's `memory` and `cabi_realloc` (`guest`), in the fixed layouts of `layout`. The
//! behaviour is the provider-neutral code in `super` that Wasmtime's glue calls too. Async
//! imports suspend the call with a [`Pending`] the driver completes.

mod guest;
mod layout;
mod linker;
mod pending;

// For the wasmi driver (runtime/wasmi): it links with `add_to_linker`, completes a `Pending` it
// finds in a `ResumableCall::HostTrap` and reports a `GuestFault` as a trap.
#[allow(unused_imports)]
pub(crate) use guest::GuestFault;
#[allow(unused_imports)]
pub(crate) use linker::add_to_linker;
#[allow(unused_imports)]
pub(crate) use pending::Pending;

#[cfg(test)]
mod tests;
