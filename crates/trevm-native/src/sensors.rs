//! Simulated sensors for the native board: a temperature sensor and a relative-humidity sensor
//! whose values follow a script (repeated) or a bounded random walk.

use std::sync::Mutex;

use trevm::host::sensors::{
    Category, Channel, Label, MeasurementUnit, ReadingFuture, Sample, SampleMetadata, Sensor,
    SensorError,
};

/// How long a simulated measurement takes.
pub const MEASUREMENT_MS: u64 = 10;

/// Where a simulated sensor's values come from.
#[derive(Debug)]
enum Curve {
    /// These values in turn, then again from the start.
    Script(Vec<i32>, usize),
    /// A walk in `min..=max`, changing by at most `step` per measurement (xorshift-driven).
    Walk {
        value: i32,
        min: i32,
        max: i32,
        step: i32,
        seed: u64,
    },
}

impl Curve {
    fn next(&mut self) -> i32 {
        match self {
            Curve::Script(values, i) => {
                let v = values.get(*i).copied().unwrap_or(0);
                *i = (*i + 1) % values.len().max(1);
                v
            }
            Curve::Walk {
                value,
                min,
                max,
                step,
                seed,
            } => {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let span = (2 * *step + 1) as u64;
                let delta = (*seed % span) as i32 - *step;
                *value = (*value + delta).clamp(*min, *max);
                *value
            }
        }
    }
}

/// A simulated single-channel sensor.
#[derive(Debug)]
pub struct SimSensor {
    name: &'static str,
    categories: [Category; 1],
    channels: [Channel; 1],
    curve: Mutex<Curve>,
    /// The value of the last triggered measurement.
    pending: Mutex<Option<i32>>,
}

impl SimSensor {
    fn new(name: &'static str, category: Category, channel: Channel, curve: Curve) -> Self {
        SimSensor {
            name,
            categories: [category],
            channels: [channel],
            curve: Mutex::new(curve),
            pending: Mutex::new(None),
        }
    }

    const TEMPERATURE: Channel = Channel {
        label: Label::Temperature,
        scaling: -2,
        unit: MeasurementUnit::Celsius,
    };

    /// A temperature sensor reporting hundredths of °C, following `script` (e.g. `2150` = 21.50 °C).
    pub fn temperature_script(script: Vec<i32>) -> Self {
        Self::new(
            "simulated temperature sensor",
            Category::Temperature,
            Self::TEMPERATURE,
            Curve::Script(script, 0),
        )
    }

    /// A temperature sensor that rises from 20 °C to 30 °C and back in 1 °C steps, over and
    /// over: readings 6 and 16 of every 20 cross 25 °C, upwards then downwards.
    pub fn temperature_wave() -> Self {
        let up = (0..=10).map(|i| 2000 + 100 * i);
        let down = (1..10).rev().map(|i| 2000 + 100 * i);
        Self::temperature_script(up.chain(down).collect())
    }

    /// A relative-humidity sensor (tenths of a percent) on a random walk between 30 % and 70 %.
    pub fn humidity_walk(seed: u64) -> Self {
        Self::new(
            "simulated humidity sensor",
            Category::RelativeHumidity,
            Channel {
                label: Label::RelativeHumidity,
                scaling: -1,
                unit: MeasurementUnit::PercentageRelativeHumidity,
            },
            Curve::Walk {
                value: 500,
                min: 300,
                max: 700,
                step: 15,
                seed: seed | 1,
            },
        )
    }
}

impl Sensor for SimSensor {
    fn display_name(&self) -> &str {
        self.name
    }

    fn categories(&self) -> &[Category] {
        &self.categories
    }

    fn channels(&self) -> &[Channel] {
        &self.channels
    }

    fn trigger_measurement(&self) -> Result<(), SensorError> {
        let value = self
            .curve
            .lock()
            .map_err(|_| SensorError("sensor state poisoned".into()))?
            .next();
        *self
            .pending
            .lock()
            .map_err(|_| SensorError("sensor state poisoned".into()))? = Some(value);
        Ok(())
    }

    fn wait_for_reading(&self) -> ReadingFuture<'_> {
        Box::pin(async move {
            embassy_time::Timer::after_millis(MEASUREMENT_MS).await;
            let value = self
                .pending
                .lock()
                .map_err(|_| SensorError("sensor state poisoned".into()))?
                .take()
                .ok_or_else(|| SensorError("no measurement was triggered".into()))?;
            Ok(vec![Sample {
                value,
                metadata: SampleMetadata::UnknownAccuracy,
            }])
        })
    }
}
