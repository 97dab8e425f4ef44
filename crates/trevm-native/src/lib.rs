//! The native board: what an Ariel OS `native` build provides, for running trevm capsules on Linux.
//!
//! - an embassy executor on std threads (re-exported as [`embassy_executor`]), and the board's
//!   [`clock`], the binary's embassy-time driver: real time for programs, so capsule `sleep`s and
//!   timeouts take real time, and a virtual clock for tests ([`clock::run_virtual`]);
//! - a console [`LogSink`](trevm::LogSink) that prints each capsule line with the time since boot
//!   and the capsule's name, and can also keep the lines for tests ([`ConsoleLog::captured`]);
//! - OS randomness for `rng-api`;
//! - a simulated LED ([`SimPin`], an embedded-hal output pin whose changes are printed and
//!   recorded) and a simulated push button ([`trevm::host::Button`]) that tests press with
//!   [`NativeBoard::press_button`] and a person presses with Enter
//!   ([`NativeBoard::press_button_on_enter`]);
//! - UDP on real sockets ([`NativeUdp`], dual-stack IPv4/IPv6);
//! - simulated sensors ([`SimSensor`]): a temperature sensor on a 20–30 °C wave and a humidity
//!   sensor on a random walk;
//! - [`NativeBoard::host_state`], which grants a capsule everything the board has.
//!
//! Where things are:
//! - `board.rs`: [`NativeBoard`] (LED, button, sensors, UDP, [`NativeBoard::host_state`]) and
//!   its LED pin [`SimPin`];
//! - [`clock`]: the embassy-time driver (wall clock, or a thread's virtual clock);
//! - `log.rs`: [`ConsoleLog`], the console log sink, and [`uptime`];
//! - `sensors.rs`, `udp.rs`: [`SimSensor`] and [`NativeUdp`];
//! - [`access`]: who may talk to the device: `peers.yml` and the device's EDHOC identity;
//! - [`coap`]: the device's CoAP server on a UDP socket; [`trust`]: which capsule signers the
//!   board trusts (the development key, `--trust` files);
//! - `program.rs`: [`first_arg`] and [`exit`], how the example programs take their argument and
//!   end.
#![warn(missing_docs)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "coap")]
pub mod access;
mod board;
pub mod clock;
#[cfg(feature = "coap")]
pub mod coap;
mod log;
mod program;
#[cfg(feature = "coap")]
mod rd;
#[cfg(feature = "coap")]
mod reactor;
mod sensors;
pub mod trust;
mod udp;
pub mod uri;

pub use board::{NativeBoard, PRESS_MS, SimPin};
pub use embassy_executor;
pub use embassy_time;
pub use log::{ConsoleLog, uptime};
pub use program::{exit, first_arg};
pub use sensors::{MEASUREMENT_MS, SimSensor};
pub use trevm;
pub use udp::{MAX_DATAGRAM, NativeUdp};
