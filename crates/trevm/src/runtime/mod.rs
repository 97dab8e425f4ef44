//! Loading capsules and running them under limits, on one of two VM providers.
//!
//! - this file: [`RuntimeOptions`] and [`Runtime`] (load, instantiate, which provider);
//! - `loaded.rs`: [`LoadedCapsule`]: what a capsule imports and exports;
//! - `instance.rs`: [`Instance`]: calls under limits, timeouts, typed errors;
//! - `typed.rs`: the sealed traits behind [`Instance::call_typed`];
//! - `coap.rs`: typed calls into `coap-server-guest` capsules;
//! - `host_fn.rs`: the embedder's own host functions ([`Runtime::define_func`]);
//! - `wasmtime/` (feature `wasmtime`): precompiled Pulley components on Wasmtime;
//! - `wasmi/` (feature `wasmi`): plain core wasm, validated and translated on the device by wasmi,
//!   with the canonical ABI of the interfaces lowered by trevm (`crate::cabi`).
//!
//! The public API speaks [`crate::value`], capsules and limits; which provider runs a capsule
//! follows from its kind ([`Target`]), stamped in its header and signed in its manifest. One
//! [`Runtime`] holds every provider the crate was built with, so one slot takes both kinds.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::capsule::{Capsule, CapsuleError};
use crate::error::Error;
use crate::host::{HostState, HostView};
use crate::limits::Limits;
use crate::profile::{EngineProfile, Target};
use crate::trust::VerifiedCapsule;
use crate::value::ExportedFunc;

mod coap;
mod host_error;
mod host_fn;
mod instance;
mod loaded;
mod options;
mod typed;
#[cfg(feature = "wasmi")]
pub(crate) mod wasmi;
#[cfg(feature = "wasmtime")]
pub(crate) mod wasmtime;

pub use coap::{COAP_SERVER_GUEST, CoapGuestError};
pub use host_error::HostFnError;
pub(crate) use instance::Inner;
pub use instance::Instance;
pub(crate) use loaded::Kind;
pub use loaded::LoadedCapsule;
pub use options::RuntimeOptions;
pub use typed::{WasmParams, WasmResults, WasmType};
#[cfg(all(feature = "wasmtime", target_has_atomic = "64"))]
pub use wasmtime::EpochTicker;

#[cfg(not(any(feature = "wasmtime", feature = "wasmi")))]
compile_error!("trevm needs a VM provider: enable the `wasmtime` feature, `wasmi`, or both");

/// The VM providers, each with the profile it runs capsules of, and the host interfaces linked
/// for them.
///
/// `T` is what each capsule's store holds: trevm's [`HostState`] (the default), or an
/// embedder's own type that contains one ([`HostView`]), so an application can keep its own data
/// next to trevm's and link its own host functions ([`Runtime::define_func`]) beside the
/// `ariel:wasm-bindings` interfaces.
///
/// A runtime made for a Wasmtime profile (`pulley32`, `pulley64`, `host`) also runs plain-wasm
/// capsules when trevm is built with the `wasmi` feature too (with the same preemption, fuel
/// where the profile has epochs); one made for [`EngineProfile::wasmi`] runs plain wasm only.
///
/// Cheap to share: clone it (the engines are reference counted).
pub struct Runtime<T: HostView = HostState> {
    profile: EngineProfile,
    #[cfg(feature = "wasmtime")]
    pub(crate) wasmtime: Option<wasmtime::WtEngine<T>>,
    #[cfg(feature = "wasmi")]
    wasmi: Option<wasmi::WiEngine<T>>,
}

impl<T: HostView> Clone for Runtime<T> {
    fn clone(&self) -> Self {
        Runtime {
            profile: self.profile,
            #[cfg(feature = "wasmtime")]
            wasmtime: self.wasmtime.clone(),
            #[cfg(feature = "wasmi")]
            wasmi: self.wasmi.clone(),
        }
    }
}

impl<T: HostView> core::fmt::Debug for Runtime<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime")
            .field("profile", &self.profile)
            .field("wasmi", &self.wasmi_profile())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates the engine for `profile`, for capsules whose store holds a [`HostState`]. Fails if
    /// the profile cannot run on this machine.
    pub fn new(profile: EngineProfile, options: RuntimeOptions) -> Result<Self, Error> {
        Runtime::with_store_data(profile, options)
    }
}

impl<T: HostView> Runtime<T> {
    /// Like [`Runtime::new`], for capsules whose store holds the embedder's `T` (see
    /// [`HostView`]).
    pub fn with_store_data(profile: EngineProfile, options: RuntimeOptions) -> Result<Self, Error> {
        if !profile.runs_here() {
            return Err(Error::Engine(alloc::format!(
                "a runtime for {profile} cannot run on this machine{}",
                match profile.target {
                    Target::Wasm if !cfg!(feature = "wasmi") =>
                        ": trevm was built without its `wasmi` feature",
                    Target::Wasm => ": wasmi has no epochs, use fuel or none",
                    _ if !cfg!(feature = "wasmtime") =>
                        ": trevm was built without its `wasmtime` feature",
                    _ => "",
                }
            )));
        }
        #[cfg(feature = "wasmi")]
        let wasmi = {
            use crate::profile::Preemption;
            let preemption = match profile.preemption {
                Preemption::None => Preemption::None,
                _ => Preemption::Fuel,
            };
            Some(wasmi::WiEngine::new(preemption, options)?)
        };
        Ok(Runtime {
            profile,
            #[cfg(feature = "wasmtime")]
            wasmtime: match profile.target {
                Target::Wasm => None,
                _ => Some(wasmtime::WtEngine::new(profile, options)?),
            },
            #[cfg(feature = "wasmi")]
            wasmi,
        })
    }

    /// The profile the runtime was made for (capsules of the other provider may run too: see
    /// [`Runtime::check_capsule`]).
    pub fn profile(&self) -> EngineProfile {
        self.profile
    }

    /// The profile plain-wasm capsules must have to run here, if this runtime has the wasmi
    /// provider.
    pub fn wasmi_profile(&self) -> Option<EngineProfile> {
        #[cfg(feature = "wasmi")]
        if let Some(w) = &self.wasmi {
            return Some(EngineProfile::wasmi(w.preemption()));
        }
        None
    }

    /// Refuses a capsule this runtime cannot run: its provider is missing
    /// ([`CapsuleError::ProviderMissing`]) or it was built with other settings or versions
    /// ([`CapsuleError::ProfileMismatch`]).
    pub fn check_capsule(&self, capsule: &Capsule<'_>) -> Result<(), CapsuleError> {
        let stamp = capsule.stamp();
        let wanted = match stamp.profile.target {
            Target::Wasm => match self.wasmi_profile() {
                Some(p) => p,
                None if cfg!(feature = "wasmi") => self.profile,
                None => return Err(CapsuleError::ProviderMissing { capsule: stamp }),
            },
            _ if self.profile.target == Target::Wasm && cfg!(feature = "wasmtime") => self.profile,
            _ if !cfg!(feature = "wasmtime") => {
                return Err(CapsuleError::ProviderMissing { capsule: stamp });
            }
            _ => self.profile,
        };
        capsule.check_profile(wanted)
    }

    /// Loads a verified capsule: one signed by a trusted key
    /// ([`TrustPolicy::verify`](crate::TrustPolicy::verify)) or built into the firmware
    /// ([`EmbeddedCapsule::check`](crate::EmbeddedCapsule::check)). Checks its profile first and,
    /// for a signed capsule, that its code imports nothing outside its signed grants
    /// ([`TrustError::ImportNotGranted`](crate::TrustError::ImportNotGranted)).
    ///
    /// On Wasmtime, the code is used in place, without a copy, when the payload is aligned to
    /// [`CODE_ALIGN`](crate::capsule::CODE_ALIGN) and either `&'static` (from flash on a device:
    /// [`include_capsule!`](crate::include_capsule), [`Capsule::from_static`]) or in a buffer the
    /// capsule owns ([`Capsule::from_vec`], [`Capsule::from_vec_at`]: e.g. an upload, which then
    /// becomes the capsule's code memory and lives as long as the loaded capsule and its
    /// instances; Pulley code only: native code must be made executable, so it is copied).
    /// Otherwise Wasmtime copies the code into a heap buffer of its own.
    ///
    /// On wasmi, the module is validated and translated to wasmi's bytecode in the heap (the
    /// capsule's bytes are not kept); a module that is malformed, uses a refused feature (start
    /// function, SIMD, tail calls) or exceeds wasmi's strict limits is refused with
    /// [`Error::Invalid`].
    pub fn load(&self, capsule: &VerifiedCapsule<'_>) -> Result<LoadedCapsule, Error> {
        let loaded = self.load_checked(capsule.capsule(), true)?;
        if let Some(signed) = capsule.signed()
            && let Some(import) = self.ungranted_import(&loaded, |n| signed.manifest.grants(n))
        {
            return Err(Error::Refused(crate::TrustError::ImportNotGranted {
                import,
            }));
        }
        Ok(loaded)
    }

    /// Checks the capsule's profile and loads its code, trusting it blindly.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is: forged or corrupted code can read and write any
    /// host memory, crash the device or keep it from ever running another task. The caller
    /// guarantees that `capsule` is the unaltered output of `trevm build` from code it trusts
    /// (which is what [`Runtime::load`] checks with a signature). (Plain wasm for wasmi is
    /// validated whatever its origin; the contract is the same so that callers need not care.)
    pub unsafe fn load_unverified(&self, capsule: &Capsule<'_>) -> Result<LoadedCapsule, Error> {
        self.load_checked(capsule, false)
    }

    /// `verified`: the caller holds a [`VerifiedCapsule`] (or took on its contract unsafely).
    fn load_checked(&self, capsule: &Capsule<'_>, _verified: bool) -> Result<LoadedCapsule, Error> {
        self.check_capsule(capsule)?;
        let kind = match capsule.profile().target {
            #[cfg(feature = "wasmi")]
            Target::Wasm => {
                let engine = self.wasmi.as_ref().ok_or(Error::Engine(
                    "this runtime has no wasmi provider".to_string(),
                ))?;
                Kind::Wasmi(engine.load(capsule)?)
            }
            #[cfg(feature = "wasmtime")]
            _ => {
                let engine = self.wasmtime.as_ref().ok_or(Error::Engine(
                    "this runtime has no Wasmtime provider".to_string(),
                ))?;
                // SAFETY: `load` passes only verified capsules (a `VerifiedCapsule` is made only
                // by `TrustPolicy::verify`, `EmbeddedCapsule::check` or the `unsafe`
                // constructors whose callers took on this very contract), and
                // `load_unverified`'s caller guarantees the same.
                Kind::Wasmtime(unsafe { engine.load_unverified(capsule) }?)
            }
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::Capsule(CapsuleError::ProviderMissing {
                    capsule: capsule.stamp(),
                }));
            }
        };
        Ok(LoadedCapsule {
            name: capsule.name().to_string(),
            kind,
        })
    }

    fn ungranted_import(
        &self,
        loaded: &LoadedCapsule,
        granted: impl Fn(&str) -> bool,
    ) -> Option<alloc::string::String> {
        match &loaded.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => self.wasmtime.as_ref()?.ungranted_import(l, granted),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(l) => l.ungranted_import(granted),
        }
    }

    /// Instantiates a loaded capsule with its own store, host state and limits.
    ///
    /// Async because instantiation may run the capsule's start code under the same preemption
    /// as a call.
    pub async fn instantiate(
        &self,
        capsule: &LoadedCapsule,
        data: T,
        limits: Limits,
    ) -> Result<Instance<T>, Error> {
        let inner = match &capsule.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => Inner::Wasmtime(self.wt()?.instantiate(l, data, limits).await?),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(l) => Inner::Wasmi(alloc::boxed::Box::new(
                self.wi()?.instantiate(l, data, limits).await?,
            )),
        };
        Ok(Instance { inner })
    }

    /// Whether `capsule` links against this runtime: every import it has is provided (the
    /// interfaces granted, the functions defined) with the type it expects. Type-checking only:
    /// no store, no linear memory, nothing of the capsule runs (what [`instantiate`]
    /// (Self::instantiate) does first).
    pub fn check_links(&self, capsule: &LoadedCapsule) -> Result<(), Error> {
        match &capsule.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => self.wt()?.check_links(l),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(l) => self.wi()?.check_links(l),
        }
    }

    #[cfg(feature = "wasmtime")]
    pub(crate) fn wt(&self) -> Result<&wasmtime::WtEngine<T>, Error> {
        self.wasmtime
            .as_ref()
            .ok_or_else(|| Error::Engine("this runtime has no Wasmtime provider".to_string()))
    }

    #[cfg(feature = "wasmi")]
    pub(crate) fn wi(&self) -> Result<&wasmi::WiEngine<T>, Error> {
        self.wasmi
            .as_ref()
            .ok_or_else(|| Error::Engine("this runtime has no wasmi provider".to_string()))
    }

    /// Advances the epoch every `period`, forever. With [`Preemption::Epoch`], spawn this as a
    /// task: each tick lets running capsules reach their next yield point.
    ///
    /// Only on targets with 64-bit atomics (not Cortex-M, where Wasmtime has no epochs), with
    /// the Wasmtime provider. A runtime without Wasmtime never returns either.
    #[cfg(target_has_atomic = "64")]
    pub async fn tick_epochs(&self, period: embassy_time::Duration) -> ! {
        #[cfg(feature = "wasmtime")]
        if let Some(w) = &self.wasmtime {
            let mut ticker = embassy_time::Ticker::every(period);
            loop {
                ticker.next().await;
                w.engine.increment_epoch();
            }
        }
        let _ = period;
        core::future::pending().await
    }

    /// A handle that advances this runtime's epoch from anywhere (e.g. a host thread), for
    /// [`Preemption::Epoch`] where an async ticker ([`Runtime::tick_epochs`]) does not fit.
    /// Its ticks do nothing on a runtime for plain wasm only (wasmi has no epochs).
    #[cfg(all(feature = "wasmtime", target_has_atomic = "64"))]
    pub fn epoch_ticker(&self) -> EpochTicker {
        EpochTicker(self.wasmtime.as_ref().map(|w| w.engine.clone()))
    }
}

/// What a loaded capsule imports and exports: here, beside the runtime whose engines describe it
/// (`loaded.rs` knows nothing of the runtime).
impl LoadedCapsule {
    /// The interfaces and functions the capsule imports, by name (e.g.
    /// `ariel:wasm-bindings/log-api@0.0.1`).
    pub fn imports<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<String> {
        match &self.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => runtime
                .wt()
                .map(|e| l.imports(&e.engine))
                .unwrap_or_default(),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(l) => {
                let _ = runtime;
                l.imports()
            }
        }
    }

    /// Every function the capsule exports, with its signature (for a plain-wasm capsule: the
    /// types its manifest states, checked against its code when it was loaded).
    pub fn exported_funcs<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<ExportedFunc> {
        match &self.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => runtime
                .wt()
                .map(|e| l.exported_funcs(&e.engine))
                .unwrap_or_default(),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(l) => {
                let _ = runtime;
                l.exports().to_vec()
            }
        }
    }
}
