//! The user LEDs of the MPS2 FPGA-IO block, which QEMU models: bit 0 of the LED0 register at
//! 0x4002_8000 is LED 0. An embedded-hal output pin, so it plugs into trevm's `SharedLed` like any
//! HAL pin.

use core::convert::Infallible;

const LED0: *mut u32 = 0x4002_8000 as *mut u32;

/// LED 0 of the FPGA-IO block.
pub struct FpgaLed0;

impl FpgaLed0 {
    /// What the LED register reads now.
    pub fn register() -> u32 {
        // SAFETY: LED0 is a device register of the MPS2 FPGA-IO block, always mapped.
        unsafe { LED0.read_volatile() }
    }

    fn write(high: bool) {
        let v = (Self::register() & !1) | u32::from(high);
        // SAFETY: as above; only bit 0 (our LED) changes.
        unsafe { LED0.write_volatile(v) }
    }
}

impl embedded_hal::digital::ErrorType for FpgaLed0 {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for FpgaLed0 {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Self::write(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Self::write(true);
        Ok(())
    }
}

impl embedded_hal::digital::StatefulOutputPin for FpgaLed0 {
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        Ok(Self::register() & 1 == 1)
    }
    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        Ok(Self::register() & 1 == 0)
    }
}
