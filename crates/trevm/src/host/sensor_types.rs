//! The data of `ariel:wasm-bindings/sensors-api` as plain Rust types owned by trevm, so a sensor
//! driver depends on trevm's API and not on code a VM's binding generator produced. Each type
//! mirrors its WIT type case for case (WIT `accel-g` is `AccelG`), in WIT order, so a case's
//! index is its canonical-ABI discriminant. The conversions to Wasmtime's generated bindings are
//! exhaustive matches, so a WIT change that is not mirrored here does not compile.

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident, [$($case:ident),* $(,)?]) => {
        $(#[$doc])*
        ///
        /// The cases are the WIT cases, in WIT order, in `UpperCamelCase`.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($case),*
        }

        impl $name {
            /// Every case, in WIT order: a case's index is its discriminant.
            #[allow(dead_code)]
            pub(crate) const ALL: &[$name] = &[$($name::$case),*];

            /// The case with canonical-ABI discriminant `index`, if there is one.
            #[allow(dead_code)]
            pub(crate) fn from_index(index: u32) -> Option<Self> {
                Self::ALL.get(usize::try_from(index).ok()?).copied()
            }
        }

        #[cfg(feature = "wasmtime")]
        impl From<$name> for super::wasmtime::sensors_wit::$name {
            fn from(v: $name) -> Self {
                match v {
                    $($name::$case => Self::$case),*
                }
            }
        }

        #[cfg(feature = "wasmtime")]
        impl From<super::wasmtime::sensors_wit::$name> for $name {
            fn from(v: super::wasmtime::sensors_wit::$name) -> Self {
                use super::wasmtime::sensors_wit::$name as Wit;
                match v {
                    $(Wit::$case => $name::$case),*
                }
            }
        }
    };
}

mirror_enum!(
    /// The kind of a sensor (WIT `category`).
    Category,
    [
        Accelerometer,
        AccelerometerTemperature,
        AccelerometerGyroscope,
        AccelerometerGyroscopeTemperature,
        AccelerometerMagnetometerTemperature,
        Ammeter,
        Co2Gas,
        Color,
        Gnss,
        Gyroscope,
        RelativeHumidity,
        RelativeHumidityTemperature,
        Light,
        Magnetometer,
        Ph,
        Pressure,
        PushButton,
        Temperature,
        Tvoc,
        Voltage,
    ]
);

mirror_enum!(
    /// What a channel measures (WIT `label`).
    Label,
    [
        AccelerationX,
        AccelerationY,
        AccelerationZ,
        Altitude,
        AngularVelocityX,
        AngularVelocityY,
        AngularVelocityZ,
        GroundSpeed,
        Latitude,
        Longitude,
        Opaque,
        RelativeHumidity,
        Heading,
        Temperature,
        VerticalSpeed,
        X,
        Y,
        Z,
    ]
);

mirror_enum!(
    /// The unit of a channel (WIT `measurement-unit`).
    MeasurementUnit,
    [
        AccelG,
        Ampere,
        Becquerel,
        Boolean,
        Candela,
        Celsius,
        Coulomb,
        Decibel,
        Decimaldegree,
        Degree,
        DegreePerSecond,
        Farad,
        Gram,
        Gray,
        Henry,
        Hertz,
        Joule,
        Katal,
        Kelvin,
        Lumen,
        Lux,
        Meter,
        MeterPerSecond,
        Mole,
        Newton,
        Ohm,
        Pascal,
        Percent,
        PercentageRelativeHumidity,
        Radian,
        Second,
        Siemens,
        Sievert,
        Steradian,
        Tesla,
        Volt,
        Watt,
        Weber,
    ]
);

/// How accurate a sample is (WIT `sample-metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleMetadata {
    /// Nothing is known about the accuracy.
    UnknownAccuracy,
    /// The sample is exact.
    NoMeasurementError,
    /// A symmetrical measurement error: `(value ± deviation) + bias`, all scaled by
    /// `10^scaling`.
    SymmetricalError {
        /// The deviation.
        deviation: u8,
        /// The bias.
        bias: i8,
        /// The decimal scaling of `deviation` and `bias`.
        scaling: i8,
    },
    /// The channel cannot measure right now.
    ChannelTemporarilyUnavailable,
    /// The channel is switched off.
    ChannelDisabled,
}

/// One value read from a sensor channel (WIT `sample`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sample {
    /// The value, to be scaled by its channel's `scaling`.
    pub value: i32,
    /// How accurate it is.
    pub metadata: SampleMetadata,
}

/// What a sample means (WIT `channel`): its label, its decimal scaling (`value * 10^scaling`)
/// and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Channel {
    /// What the channel measures.
    pub label: Label,
    /// Decimal scaling of its samples.
    pub scaling: i8,
    /// Its unit.
    pub unit: MeasurementUnit,
}

#[cfg(all(test, feature = "wasmtime"))]
mod tests {
    use super::super::wasmtime::sensors_wit as wit;
    use super::{Category, Label, MeasurementUnit};

    /// The wasmi glue writes a case's index as its discriminant: it must be the WIT order, which
    /// Wasmtime's generated enums follow.
    #[test]
    fn case_indices_are_the_wit_discriminants() {
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(wit::Category::from(*c) as usize, i);
            assert_eq!(*c as usize, i);
            assert_eq!(Category::from_index(i as u32), Some(*c));
        }
        for (i, l) in Label::ALL.iter().enumerate() {
            assert_eq!(wit::Label::from(*l) as usize, i);
            assert_eq!(*l as usize, i);
            assert_eq!(Label::from_index(i as u32), Some(*l));
        }
        for (i, u) in MeasurementUnit::ALL.iter().enumerate() {
            assert_eq!(wit::MeasurementUnit::from(*u) as usize, i);
            assert_eq!(*u as usize, i);
        }
        assert_eq!(Category::from_index(Category::ALL.len() as u32), None);
        assert_eq!(Label::from_index(u32::MAX), None);
    }
}
