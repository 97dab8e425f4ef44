//! Host side of the `ariel:wasm-bindings@0.0.1` interfaces: the per-capsule [`HostState`] kept in
//! each VM store, and one module per interface, each behind its cargo feature.
//!
//! What each call does lives in provider-neutral code (`HostState` methods and free functions in
//! `log`, `time`, `rng`, `gpio`, `sensors`, `udp_binding`); each VM provider only translates its
//! calling convention to it: `wasmtime` (the component model's generated `Host` traits) and
//! `wasmi` (core functions taking the canonical ABI's flattened arguments).
//!
//! Bindings are written against what an Ariel OS application already has — embassy-time for
//! time, rand_core for randomness, a [`LogSink`] for log lines — so they work unchanged inside an
//! Ariel OS app and on the native board.

#[cfg(feature = "rng")]
use alloc::boxed::Box;
use alloc::string::String;
#[cfg(any(
    feature = "log",
    feature = "gpio",
    feature = "sensors",
    feature = "udp"
))]
use alloc::sync::Arc;
#[cfg(feature = "sensors")]
use alloc::vec::Vec;

#[cfg(feature = "gpio")]
pub mod gpio;
#[cfg(feature = "sensors")]
mod sensor_types;
#[cfg(feature = "sensors")]
pub mod sensors;
#[cfg(feature = "udp")]
pub mod udp;
#[cfg(feature = "udp")]
mod udp_binding;

#[cfg(feature = "log")]
mod log;
// `dead_code` allowed until the wasmi driver (runtime/wasmi) links these imports.
#[cfg(feature = "rng")]
mod rng;
#[cfg(feature = "time")]
mod time;
#[cfg(feature = "wasmi")]
pub(crate) mod wasmi;
#[cfg(feature = "wasmtime")]
pub(crate) mod wasmtime;

/// The Wasmtime linker's imports (what the runtime called before there were two providers).
#[cfg(feature = "wasmtime")]
pub(crate) use self::wasmtime::add_to_linker;
#[cfg(feature = "gpio")]
pub use gpio::{Button, Led, LedError, SharedLed};
#[cfg(feature = "log")]
pub use log::LogSink;
#[cfg(feature = "rng")]
pub use rng::DEFAULT_RANDOM_BYTES_CAP;
#[cfg(feature = "sensors")]
pub use sensors::{Sensor, SensorRegistry};
#[cfg(feature = "udp")]
pub use udp::{UdpSocket, UdpStack};

/// The interfaces a [`Runtime`](crate::Runtime) links for its capsules. A capsule importing an
/// interface that is not granted fails to instantiate with [`Error::Link`](crate::Error::Link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    /// `log-api`.
    pub log: bool,
    /// `time-api`.
    pub time: bool,
    /// `rng-api`.
    pub rng: bool,
    /// `gpio-api`.
    pub gpio: bool,
    /// `sensors-api`.
    pub sensors: bool,
    /// `udp-api`.
    pub udp: bool,
}

impl Grants {
    /// Every interface compiled into this build.
    pub const fn all() -> Self {
        Grants {
            log: cfg!(feature = "log"),
            time: cfg!(feature = "time"),
            rng: cfg!(feature = "rng"),
            gpio: cfg!(feature = "gpio"),
            sensors: cfg!(feature = "sensors"),
            udp: cfg!(feature = "udp"),
        }
    }

    /// No host interface at all (pure computation).
    pub const fn none() -> Self {
        Grants {
            log: false,
            time: false,
            rng: false,
            gpio: false,
            sensors: false,
            udp: false,
        }
    }
}

impl Default for Grants {
    fn default() -> Self {
        Self::all()
    }
}

impl Grants {
    /// The interfaces by short name, in WIT order: `("log", …)`.
    const NAMES: [&'static str; 6] = ["log", "time", "rng", "gpio", "sensors", "udp"];

    fn flags(&mut self) -> [&mut bool; 6] {
        [
            &mut self.log,
            &mut self.time,
            &mut self.rng,
            &mut self.gpio,
            &mut self.sensors,
            &mut self.udp,
        ]
    }

    /// Reads a comma-separated list of short interface names (`log`, `time`, `rng`, `gpio`,
    /// `sensors`, `udp`; `log,sensors,rng` grants `log-api`, `sensors-api` and `rng-api`), or
    /// `none`, or `all` (every interface compiled into this build). An interface this build
    /// lacks (its cargo feature is off) is an error too, so a grant never silently does nothing.
    pub fn parse(list: &str) -> Result<Self, String> {
        match list.trim() {
            "none" | "" => return Ok(Grants::none()),
            "all" => return Ok(Grants::all()),
            _ => {}
        }
        let mut available = Grants::all();
        let mut grants = Grants::none();
        for name in list.split(',').map(str::trim) {
            let Some(i) = Self::NAMES.iter().position(|n| *n == name) else {
                return Err(alloc::format!(
                    "unknown interface `{name}` (known: {}, or none, or all)",
                    Self::NAMES.join(", ")
                ));
            };
            if !*available.flags()[i] {
                return Err(alloc::format!(
                    "`{name}` is not compiled into this build (trevm feature `{name}`)"
                ));
            }
            *grants.flags()[i] = true;
        }
        Ok(grants)
    }
}

impl core::fmt::Display for Grants {
    /// `log, sensors, rng` in [`Grants::parse`]'s names, or `none`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut this = *self;
        let mut first = true;
        for (name, on) in Self::NAMES.iter().zip(this.flags()) {
            if *on {
                f.write_str(if first { "" } else { ", " })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A random number generator a capsule may draw from.
#[cfg(feature = "rng")]
pub type BoxedRng = Box<dyn rand_core::RngCore + Send>;

/// What a capsule's host calls reach: the data kept in its VM store.
///
/// Build one per instantiation with [`HostState::new`] and the `with_*` methods.
pub struct HostState {
    pub(crate) name: String,
    #[cfg(feature = "log")]
    pub(crate) log: Option<Arc<dyn LogSink>>,
    #[cfg(feature = "rng")]
    pub(crate) rng: Option<BoxedRng>,
    #[cfg(feature = "rng")]
    pub(crate) random_bytes_cap: u32,
    #[cfg(feature = "gpio")]
    pub(crate) led: Option<Arc<dyn Led>>,
    #[cfg(feature = "gpio")]
    pub(crate) button: Option<Arc<Button>>,
    /// The press `wait-for-button-low` last returned for (one press, one return).
    #[cfg(feature = "gpio")]
    pub(crate) press_seen: Option<u64>,
    #[cfg(feature = "sensors")]
    pub(crate) sensors: Option<Arc<SensorRegistry>>,
    /// Sensors triggered by the capsule's last `trigger-measurements`, by registry index.
    #[cfg(feature = "sensors")]
    pub(crate) triggered: Vec<usize>,
    #[cfg(feature = "udp")]
    pub(crate) udp: udp::UdpState,
    pub(crate) limiter: crate::limits::MemoryLimiter,
}

impl core::fmt::Debug for HostState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HostState")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// Host state for a capsule called `name` (used in log lines), with no log sink and no RNG.
    pub fn new(name: impl Into<String>) -> Self {
        HostState {
            name: name.into(),
            #[cfg(feature = "log")]
            log: None,
            #[cfg(feature = "rng")]
            rng: None,
            #[cfg(feature = "rng")]
            random_bytes_cap: DEFAULT_RANDOM_BYTES_CAP,
            #[cfg(feature = "gpio")]
            led: None,
            #[cfg(feature = "gpio")]
            button: None,
            #[cfg(feature = "gpio")]
            press_seen: None,
            #[cfg(feature = "sensors")]
            sensors: None,
            #[cfg(feature = "sensors")]
            triggered: Vec::new(),
            #[cfg(feature = "udp")]
            udp: udp::UdpState::default(),
            limiter: crate::limits::MemoryLimiter::new(usize::MAX),
        }
    }

    /// The capsule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where `log-api.info` lines go. Without a sink they are dropped.
    #[cfg(feature = "log")]
    pub fn with_log(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.log = Some(sink);
        self
    }

    /// The generator behind `rng-api`. Without one, `rng-api` calls trap with a clear message.
    #[cfg(feature = "rng")]
    pub fn with_rng(mut self, rng: impl rand_core::RngCore + Send + 'static) -> Self {
        self.rng = Some(Box::new(rng));
        self
    }

    /// The most bytes one `random-bytes` call may ask for (default
    /// [`DEFAULT_RANDOM_BYTES_CAP`]); a larger request traps instead of exhausting host memory.
    #[cfg(feature = "rng")]
    pub fn with_random_bytes_cap(mut self, cap: u32) -> Self {
        self.random_bytes_cap = cap;
        self
    }

    /// The LED behind `gpio-api.toggle-led`. Without one, the call returns its error value.
    #[cfg(feature = "gpio")]
    pub fn with_led(mut self, led: Arc<dyn Led>) -> Self {
        self.led = Some(led);
        self
    }

    /// The button behind `gpio-api.wait-for-button-low`. Without one, the call returns its error
    /// value at once.
    #[cfg(feature = "gpio")]
    pub fn with_button(mut self, button: Arc<Button>) -> Self {
        self.button = Some(button);
        self
    }

    /// The sensors behind `sensors-api`. Without them, its calls return their error value.
    #[cfg(feature = "sensors")]
    pub fn with_sensors(mut self, sensors: Arc<SensorRegistry>) -> Self {
        self.sensors = Some(sensors);
        self
    }

    /// The network stack behind `udp-api`. Without one, `bind` returns its error value.
    #[cfg(feature = "udp")]
    pub fn with_udp(mut self, stack: Arc<dyn UdpStack>) -> Self {
        self.udp.stack = Some(stack);
        self
    }
}

/// What a capsule's store holds: trevm's [`HostState`], inside whatever the embedder keeps beside
/// it (as wasmtime-wasi's `WasiView`). Implement it for your own type to keep application data in
/// each capsule's store and reach it from host functions you link yourself
/// ([`Runtime::define_func`](crate::Runtime::define_func)); [`HostState`] implements it for itself.
pub trait HostView: Send + 'static {
    /// trevm's part of the store data.
    fn host(&self) -> &HostState;
    /// trevm's part of the store data, mutably (what the `ariel:wasm-bindings` calls use).
    fn host_mut(&mut self) -> &mut HostState;
}

impl HostView for HostState {
    fn host(&self) -> &HostState {
        self
    }
    fn host_mut(&mut self) -> &mut HostState {
        self
    }
}

/// A host call refused what the guest asked for; the call traps with this error, and the runtime
/// reports it as [`Error::HostRefused`](crate::Error::HostRefused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRefusal(pub String);

impl core::fmt::Display for HostRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for HostRefusal {}

#[cfg(test)]
mod tests {
    use super::Grants;
    use alloc::string::ToString;

    #[test]
    fn grants_parse_from_short_names_and_print_back() {
        let g = Grants::parse("log, sensors,rng").unwrap();
        assert!(g.log && g.sensors && g.rng && !g.time && !g.gpio && !g.udp);
        assert_eq!(g.to_string(), "log, rng, sensors");
        assert_eq!(Grants::parse("none").unwrap(), Grants::none());
        assert_eq!(Grants::parse("all").unwrap(), Grants::all());
        assert_eq!(Grants::none().to_string(), "none");
        let e = Grants::parse("log,wifi").unwrap_err();
        assert!(e.contains("unknown interface `wifi`"), "{e}");
    }
}
