//! `ariel:wasm-bindings/sensors-api`: a registry of sensors modelled on `ariel-os-sensors`.
//!
//! A [`Sensor`] has categories, reading channels (label, decimal scaling, unit) and a
//! two-step measurement: trigger, then wait for the reading. The application registers its
//! sensors in a [`SensorRegistry`] and hands it to the capsules that may read them
//! ([`HostState::with_sensors`](super::HostState::with_sensors)).
//!
//! For a capsule:
//! - `trigger-measurements(category)` triggers every registered sensor of that category (every
//!   sensor for `none`) and remembers which it triggered; the error value means no sensor
//!   matched or a sensor refused;
//! - `wait-for-reading(label)` waits (without blocking the executor) for the readings of the
//!   sensors the capsule triggered and returns their samples with their channels, only those
//!   whose channel has `label` if one is given; the error value means nothing was triggered or a
//!   sensor failed.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;

use super::HostState;
pub use super::sensor_types::{Category, Channel, Label, MeasurementUnit, Sample, SampleMetadata};

/// A sensor failed to measure or to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorError(pub String);

impl core::fmt::Display for SensorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for SensorError {}

/// The future [`Sensor::wait_for_reading`] returns. Boxed and `Send`, because Wasmtime needs
/// `Send` futures from host calls.
pub type ReadingFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Sample>, SensorError>> + Send + 'a>>;

/// A sensor capsules may read, after `ariel_os_sensors::Sensor`.
///
/// An Ariel OS sensor driver plugs in with a small adapter: its `trigger_measurement` maps to
/// [`Sensor::trigger_measurement`], and the `ReadingWaiter` future its `wait_for_reading` returns
/// is boxed here.
pub trait Sensor: Send + Sync {
    /// A human-readable name, e.g. for logs.
    fn display_name(&self) -> &str;
    /// The categories this sensor belongs to.
    fn categories(&self) -> &[Category];
    /// The channels of a reading, in the order of its samples.
    fn channels(&self) -> &[Channel];
    /// Starts a measurement.
    fn trigger_measurement(&self) -> Result<(), SensorError>;
    /// Resolves with the last triggered measurement: one sample per channel.
    fn wait_for_reading(&self) -> ReadingFuture<'_>;
}

/// The sensors a device offers capsules.
#[derive(Clone, Default)]
pub struct SensorRegistry {
    sensors: Vec<Arc<dyn Sensor>>,
}

impl core::fmt::Debug for SensorRegistry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.sensors.iter().map(|s| s.display_name()))
            .finish()
    }
}

impl SensorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sensor.
    pub fn with(mut self, sensor: Arc<dyn Sensor>) -> Self {
        self.sensors.push(sensor);
        self
    }

    /// Every registered sensor.
    pub fn sensors(&self) -> &[Arc<dyn Sensor>] {
        &self.sensors
    }
}

impl HostState {
    /// `sensors-api.trigger-measurements`: triggers every registered sensor of `category`
    /// (every sensor for `None`) and remembers which; `Err` if none matched or one refused.
    pub(crate) fn trigger_measurements(&mut self, category: Option<Category>) -> Result<(), ()> {
        let registry = self.sensors.clone().ok_or(())?;
        self.triggered.clear();
        for (i, sensor) in registry.sensors().iter().enumerate() {
            if category.is_none_or(|c| sensor.categories().contains(&c)) {
                sensor.trigger_measurement().map_err(drop)?;
                self.triggered.push(i);
            }
        }
        if self.triggered.is_empty() {
            Err(())
        } else {
            Ok(())
        }
    }

    /// `sensors-api.wait-for-reading`: waits (without blocking the executor) for the readings
    /// of the sensors the last trigger started; only the samples whose channel has `label` if
    /// one is given. `Err` if nothing was triggered or a sensor failed.
    pub(crate) async fn wait_for_reading(
        &mut self,
        label: Option<Label>,
    ) -> Result<Vec<(Sample, Channel)>, ()> {
        let registry = self.sensors.clone().ok_or(())?;
        let triggered = core::mem::take(&mut self.triggered);
        if triggered.is_empty() {
            return Err(());
        }
        let mut out = Vec::new();
        for i in triggered {
            let sensor = registry.sensors().get(i).ok_or(())?;
            let samples = sensor.wait_for_reading().await.map_err(drop)?;
            for (sample, channel) in samples.into_iter().zip(sensor.channels().iter().copied()) {
                if label.is_none_or(|l| channel.label == l) {
                    out.push((sample, channel));
                }
            }
        }
        Ok(out)
    }
}
