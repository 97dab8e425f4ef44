//! The host interfaces on Wasmtime: `bindgen!`'s generated `Host` traits implemented on
//! [`HostState`] by calling its provider-neutral methods (`super::log`, `super::rng`, …), and
//! [`add_to_linker`] for a component linker.

#[cfg(any(
    feature = "log",
    feature = "time",
    feature = "rng",
    feature = "gpio",
    feature = "sensors",
    feature = "udp"
))]
use super::HostState;
use super::{Grants, HostView};

#[cfg(any(feature = "log", feature = "time", feature = "rng", feature = "gpio"))]
mod basic;
#[cfg(feature = "sensors")]
mod sensors;
#[cfg(feature = "udp")]
mod udp;

/// Generated host bindings for every interface of `ariel:wasm-bindings@0.0.1` a device may grant.
/// Private: applications see trevm's own types ([`super::sensors`], [`super::gpio`], …), not
/// generated ones.
#[allow(missing_docs, clippy::all)]
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "trevm:host/imports",
        imports: {
            "ariel:wasm-bindings/time-api.sleep": async,
            "ariel:wasm-bindings/gpio-api.wait-for-button-low": async,
            "ariel:wasm-bindings/sensors-api.wait-for-reading": async,
            "ariel:wasm-bindings/rng-api": trappable,
            "ariel:wasm-bindings/udp-api.[static]udp-socket.send": async,
            "ariel:wasm-bindings/udp-api.[static]udp-socket.try-recv": async,
        },
        require_store_data_send: true,
    });
}

/// The generated sensors types, which `super::sensor_types` converts from and to.
#[cfg(feature = "sensors")]
pub(crate) use bindings::ariel::wasm_bindings::sensors_api as sensors_wit;

/// Adds the granted interfaces to a component linker.
pub(crate) fn add_to_linker<T: HostView>(
    linker: &mut wasmtime::component::Linker<T>,
    grants: Grants,
) -> wasmtime::Result<()> {
    #[cfg(any(
        feature = "log",
        feature = "time",
        feature = "rng",
        feature = "gpio",
        feature = "sensors",
        feature = "udp"
    ))]
    use wasmtime::component::HasSelf;
    #[cfg(feature = "log")]
    if grants.log {
        bindings::ariel::wasm_bindings::log_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    #[cfg(feature = "time")]
    if grants.time {
        bindings::ariel::wasm_bindings::time_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    #[cfg(feature = "rng")]
    if grants.rng {
        bindings::ariel::wasm_bindings::rng_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    #[cfg(feature = "gpio")]
    if grants.gpio {
        bindings::ariel::wasm_bindings::gpio_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    #[cfg(feature = "sensors")]
    if grants.sensors {
        bindings::ariel::wasm_bindings::sensors_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    #[cfg(feature = "udp")]
    if grants.udp {
        bindings::ariel::wasm_bindings::udp_api::add_to_linker::<T, HasSelf<HostState>>(
            linker,
            T::host_mut,
        )?;
    }
    let _ = (linker, grants);
    Ok(())
}
