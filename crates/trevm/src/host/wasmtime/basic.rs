//! Wasmtime glue of `log-api`, `time-api`, `rng-api` and `gpio-api`: each generated `Host`
//! method calls the provider-neutral logic on [`HostState`].

#[cfg(feature = "rng")]
use alloc::vec::Vec;

use super::super::HostState;
#[cfg(feature = "gpio")]
use super::bindings::ariel::wasm_bindings::gpio_api;
#[cfg(feature = "log")]
use super::bindings::ariel::wasm_bindings::log_api;
#[cfg(feature = "rng")]
use super::bindings::ariel::wasm_bindings::rng_api;
#[cfg(feature = "time")]
use super::bindings::ariel::wasm_bindings::time_api;

#[cfg(feature = "log")]
impl log_api::Host for HostState {
    fn info(&mut self, input: alloc::string::String) {
        self.log_info(&input);
    }
}

#[cfg(feature = "time")]
impl time_api::Host for HostState {
    async fn sleep(&mut self, millis: u64) {
        super::super::time::sleep(millis).await;
    }

    fn now_as_millis(&mut self) -> u64 {
        super::super::time::now_as_millis()
    }
}

#[cfg(feature = "rng")]
impl rng_api::Host for HostState {}

#[cfg(feature = "rng")]
impl rng_api::HostRNG for HostState {
    fn next_u32(&mut self) -> wasmtime::Result<u32> {
        HostState::next_u32(self).map_err(wasmtime::Error::new)
    }

    fn next_u64(&mut self) -> wasmtime::Result<u64> {
        HostState::next_u64(self).map_err(wasmtime::Error::new)
    }

    fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        HostState::random_bytes(self, len).map_err(wasmtime::Error::new)
    }

    fn drop(&mut self, _rep: wasmtime::component::Resource<rng_api::RNG>) -> wasmtime::Result<()> {
        // `r-n-g` has only static functions: no instance is ever created, nothing to free.
        Ok(())
    }
}

#[cfg(feature = "gpio")]
impl gpio_api::Host for HostState {
    async fn wait_for_button_low(&mut self) -> Result<(), ()> {
        HostState::wait_for_button_low(self).await
    }

    fn toggle_led(&mut self) -> Result<(), ()> {
        HostState::toggle_led(self)
    }
}
