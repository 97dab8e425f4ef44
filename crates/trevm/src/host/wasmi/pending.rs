//! [`Pending`]: an async host import a wasmi guest called, suspended until the driver completes
//! it.
//!
//! wasmi has no async host functions. An async import's host function answers
//! `Err(wasmi::Error::host(Pending::…))`, so the guest's resumable call stops with
//! `ResumableCall::HostTrap`; the driver downcasts the error to `Pending`, awaits
//! [`Pending::complete`] (other tasks run meanwhile: sleeping, waiting for a button, a sensor or
//! the network), then resumes the call with the values it returns, which the suspended host
//! function returns to the guest.

#[cfg(any(feature = "sensors", feature = "udp"))]
use super::guest::GuestMem;
#[cfg(any(feature = "sensors", feature = "udp"))]
use super::layout;
use crate::host::HostView;
use alloc::vec::Vec;
#[cfg(feature = "udp")]
use core::net::SocketAddr;
use wasmi::{Instance, Store, Val};

/// An async host call waiting to be completed: what it needs, read from the guest when it was
/// called (arguments checked then, so completing it can only fail on what happens meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    /// `time-api.sleep(millis)`.
    #[cfg(feature = "time")]
    Sleep {
        /// How long.
        millis: u64,
    },
    /// `gpio-api.wait-for-button-low()`; resumes with the `result`'s discriminant.
    #[cfg(feature = "gpio")]
    WaitForButtonLow,
    /// `sensors-api.wait-for-reading(label)`; writes the result at `retptr`.
    #[cfg(feature = "sensors")]
    WaitForReading {
        /// Only the readings with this label.
        label: Option<crate::host::sensors::Label>,
        /// Where the result goes (checked in bounds and aligned when called).
        retptr: u32,
    },
    /// `udp-socket.send(data, endpoint)`; the datagram is read from guest memory when sent, not
    /// copied; resumes with the `result`'s discriminant.
    #[cfg(feature = "udp")]
    UdpSend {
        /// The datagram's pointer in guest memory.
        data: u32,
        /// Its length (at most the socket's `max_datagram`).
        len: u32,
        /// Where to.
        to: SocketAddr,
    },
    /// `udp-socket.try-recv()`; writes the result at `retptr`.
    #[cfg(feature = "udp")]
    UdpTryRecv {
        /// Where the result goes (checked in bounds and aligned when called).
        retptr: u32,
    },
}

impl Pending {
    /// The import's name, `interface.function`.
    pub(crate) fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "time")]
            Pending::Sleep { .. } => "time-api.sleep",
            #[cfg(feature = "gpio")]
            Pending::WaitForButtonLow => "gpio-api.wait-for-button-low",
            #[cfg(feature = "sensors")]
            Pending::WaitForReading { .. } => "sensors-api.wait-for-reading",
            #[cfg(feature = "udp")]
            Pending::UdpSend { .. } => "udp-api.udp-socket.send",
            #[cfg(feature = "udp")]
            Pending::UdpTryRecv { .. } => "udp-api.udp-socket.try-recv",
        }
    }

    /// Performs the call against the store's [`HostState`](crate::HostState), writes its
    /// results into the memory of `instance` (the suspended guest), allocating there with its
    /// `cabi_realloc` where a list is returned, and returns the values to resume the suspended
    /// host function with (its core results).
    ///
    /// Errors: [`Error::Trap`](crate::Error::Trap) if the guest's memory or allocator fails the
    /// canonical ABI (no `memory`, `cabi_realloc` missing, trapping or answering a bad
    /// pointer), [`Error::OutOfFuel`](crate::Error::OutOfFuel) if `cabi_realloc` burns more than
    /// the fuel lent for it.
    pub(crate) async fn complete<T: HostView>(
        self,
        store: &mut Store<T>,
        instance: &Instance,
    ) -> Result<Vec<Val>, crate::Error> {
        let what = self.name();
        // Not every feature set needs them.
        let _ = (&store, instance, what);
        match self {
            #[cfg(feature = "time")]
            Pending::Sleep { millis } => {
                crate::host::time::sleep(millis).await;
                Ok(Vec::new())
            }
            #[cfg(feature = "gpio")]
            Pending::WaitForButtonLow => {
                let done = store.data_mut().host_mut().wait_for_button_low().await;
                Ok(alloc::vec![result_flat(done)])
            }
            #[cfg(feature = "sensors")]
            Pending::WaitForReading { label, retptr } => {
                let readings = store.data_mut().host_mut().wait_for_reading(label).await;
                write_readings(what, store, instance, retptr, readings).map_err(trap)?;
                Ok(Vec::new())
            }
            #[cfg(feature = "udp")]
            Pending::UdpSend { data, len, to } => {
                let guest = GuestMem::of_instance(what, &*store, instance).map_err(fault_trap)?;
                let (memory, state) = guest.memory().data_and_store_mut(&mut *store);
                let range = super::guest::checked_range(what, memory.len(), data, len, 1)
                    .map_err(fault_trap)?;
                let sent = state.host_mut().udp_send(&memory[range], to).await;
                Ok(alloc::vec![result_flat(sent)])
            }
            #[cfg(feature = "udp")]
            Pending::UdpTryRecv { retptr } => {
                let received = store.data_mut().host_mut().udp_try_recv().await;
                write_received(what, store, instance, retptr, received).map_err(trap)?;
                Ok(Vec::new())
            }
        }
    }
}

impl core::fmt::Display for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "async host call `{}` not completed", self.name())
    }
}

impl wasmi::errors::HostError for Pending {}

impl From<Pending> for wasmi::Error {
    fn from(pending: Pending) -> Self {
        wasmi::Error::host(pending)
    }
}

/// A `result` without payloads, flattened: 0 for `ok`, 1 for `err`.
#[cfg(any(feature = "gpio", feature = "udp"))]
pub(crate) fn result_flat(result: Result<(), ()>) -> Val {
    Val::I32(i32::from(result.is_err()))
}

#[cfg(any(feature = "sensors", feature = "udp"))]
fn fault_trap(fault: super::guest::GuestFault) -> crate::Error {
    crate::Error::Trap(fault.0)
}

/// A wasmi error met while writing results into the guest, as the runtime's error.
#[cfg(any(feature = "sensors", feature = "udp"))]
fn trap(e: wasmi::Error) -> crate::Error {
    if let Some(fault) = e.downcast_ref::<super::guest::GuestFault>() {
        return crate::Error::Trap(fault.0.clone());
    }
    if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) {
        return crate::Error::OutOfFuel;
    }
    crate::Error::Trap(alloc::format!("in `cabi_realloc`: {e}"))
}

/// Writes `wait-for-reading`'s result at `retptr` (layout: [`layout::READING_RESULT`]).
#[cfg(feature = "sensors")]
fn write_readings<T>(
    what: &str,
    store: &mut Store<T>,
    instance: &Instance,
    retptr: u32,
    readings: Result<Vec<(crate::host::sensors::Sample, crate::host::sensors::Channel)>, ()>,
) -> Result<(), wasmi::Error> {
    let guest = GuestMem::of_instance(what, &*store, instance)?;
    let (size, align) = layout::READING_RESULT;
    let Ok(readings) = readings else {
        guest.slice_mut(what, &mut *store, retptr, size, align)?[0] = 1;
        return Ok(());
    };
    let (elem_size, elem_align) = layout::READING;
    let len = u32::try_from(readings.len())
        .map_err(|_| super::guest::fault(what, "too many readings"))?;
    let bytes = len
        .checked_mul(elem_size)
        .ok_or_else(|| super::guest::fault(what, "too many readings"))?;
    let list = guest.realloc(what, &mut *store, elem_align, bytes)?;
    let out = guest.slice_mut(what, &mut *store, list, bytes, elem_align)?;
    for (chunk, (sample, channel)) in out.chunks_exact_mut(elem_size as usize).zip(&readings) {
        layout::put_reading(chunk, sample, channel);
    }
    let ret = guest.slice_mut(what, &mut *store, retptr, size, align)?;
    ret[0] = 0;
    layout::put_u32(ret, 4, list);
    layout::put_u32(ret, 8, len);
    Ok(())
}

/// Writes `try-recv`'s result at `retptr` (layout: [`layout::TRY_RECV_RESULT`]).
#[cfg(feature = "udp")]
fn write_received<T>(
    what: &str,
    store: &mut Store<T>,
    instance: &Instance,
    retptr: u32,
    received: Result<Option<(Vec<u8>, crate::host::udp::RecvMeta)>, ()>,
) -> Result<(), wasmi::Error> {
    let guest = GuestMem::of_instance(what, &*store, instance)?;
    let (size, align) = layout::TRY_RECV_RESULT;
    let datagram = match received {
        Err(()) => {
            guest.slice_mut(what, &mut *store, retptr, size, align)?[0] = 1;
            return Ok(());
        }
        Ok(None) => {
            let ret = guest.slice_mut(what, &mut *store, retptr, size, align)?;
            ret[0] = 0;
            ret[4] = 0;
            return Ok(());
        }
        Ok(Some(datagram)) => datagram,
    };
    let (data, meta) = datagram;
    // At most the socket's `max_datagram` bytes, which a stack keeps far below 4 GiB.
    let len =
        u32::try_from(data.len()).map_err(|_| super::guest::fault(what, "datagram too large"))?;
    let list = guest.realloc(what, &mut *store, 1, len)?;
    guest
        .slice_mut(what, &mut *store, list, len, 1)?
        .copy_from_slice(&data);
    let ret = guest.slice_mut(what, &mut *store, retptr, size, align)?;
    ret[0] = 0;
    ret[4] = 1;
    layout::put_u32(ret, 8, list);
    layout::put_u32(ret, 12, len);
    layout::put_udp_metadata(ret, 16, meta.from, meta.local);
    Ok(())
}
