//! Wasmtime glue of `sensors-api`: the generated `Host` calls the provider-neutral logic
//! (`super::super::sensors`), with conversions of the records and the variant to the generated
//! types (the enums convert in `super::super::sensor_types`).

use alloc::vec::Vec;

use super::super::HostState;
use super::super::sensors::{Category, Channel, Label, Sample, SampleMetadata};
use super::sensors_wit as wit;

impl From<SampleMetadata> for wit::SampleMetadata {
    fn from(m: SampleMetadata) -> Self {
        match m {
            SampleMetadata::UnknownAccuracy => wit::SampleMetadata::UnknownAccuracy,
            SampleMetadata::NoMeasurementError => wit::SampleMetadata::NoMeasurementError,
            SampleMetadata::SymmetricalError {
                deviation,
                bias,
                scaling,
            } => wit::SampleMetadata::SymmetricalError((deviation, bias, scaling)),
            SampleMetadata::ChannelTemporarilyUnavailable => {
                wit::SampleMetadata::ChannelTemporarilyUnavailable
            }
            SampleMetadata::ChannelDisabled => wit::SampleMetadata::ChannelDisabled,
        }
    }
}

impl From<Sample> for wit::Sample {
    fn from(s: Sample) -> Self {
        wit::Sample {
            value: s.value,
            metadata: s.metadata.into(),
        }
    }
}

impl From<Channel> for wit::Channel {
    fn from(c: Channel) -> Self {
        wit::Channel {
            label: c.label.into(),
            scaling: c.scaling,
            unit: c.unit.into(),
        }
    }
}

impl wit::Host for HostState {
    fn trigger_measurements(&mut self, category: Option<wit::Category>) -> Result<(), ()> {
        HostState::trigger_measurements(self, category.map(Category::from))
    }

    async fn wait_for_reading(
        &mut self,
        label: Option<wit::Label>,
    ) -> Result<Vec<(wit::Sample, wit::Channel)>, ()> {
        let readings = HostState::wait_for_reading(self, label.map(Label::from)).await?;
        Ok(readings
            .into_iter()
            .map(|(sample, channel)| (sample.into(), channel.into()))
            .collect())
    }
}
