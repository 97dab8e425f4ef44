//! The granted `ariel:wasm-bindings@0.0.1` imports as core functions on a wasmi linker, with
//! the signatures the canonical ABI gives them (checked against the payloads'
//! `wasm32v1-none` core modules):
//!
//! | import | core signature |
//! |---|---|
//! | `log-api` `info(string)` | `(i32 ptr, i32 len)` |
//! | `time-api` `sleep(u64)`, `now-as-millis() -> u64` | `(i64)`, `() -> i64` |
//! | `rng-api` `[static]r-n-g.next-u32`/`next-u64` | `() -> i32` / `() -> i64` |
//! | `rng-api` `[static]r-n-g.random-bytes(u32) -> list<u8>` | `(i32 len, i32 retptr)` |
//! | `gpio-api` `wait-for-button-low`, `toggle-led` `-> result` | `() -> i32` |
//! | `sensors-api` `trigger-measurements(option<category>) -> result` | `(i32, i32) -> i32` |
//! | `sensors-api` `wait-for-reading(option<label>) -> result<list<…>>` | `(i32, i32, i32 retptr)` |
//! | `udp-api` `[static]udp-socket.bind(u16) -> result` | `(i32) -> i32` |
//! | `udp-api` `[static]udp-socket.send(list<u8>, udp-metadata) -> result` | `(i32 argptr) -> i32` |
//! | `udp-api` `[static]udp-socket.try-recv() -> result<option<…>>` | `(i32 retptr)` |
//!
//! Synchronous imports answer at once; async ones suspend the call with a [`Pending`].

#[cfg(any(feature = "log", feature = "rng", feature = "sensors", feature = "udp"))]
use super::guest::GuestMem;
#[cfg(feature = "sensors")]
use super::guest::fault;
#[cfg(any(feature = "rng", feature = "sensors", feature = "udp"))]
use super::layout;
#[cfg(any(
    feature = "time",
    feature = "gpio",
    feature = "sensors",
    feature = "udp"
))]
use super::pending::Pending;
use crate::host::{Grants, HostView};
#[cfg(any(
    feature = "log",
    feature = "time",
    feature = "rng",
    feature = "gpio",
    feature = "sensors",
    feature = "udp"
))]
use wasmi::Caller;
use wasmi::{Error, Linker};

/// Adds every import of every granted interface (each behind its cargo feature) to `linker`.
pub(crate) fn add_to_linker<T: HostView>(
    linker: &mut Linker<T>,
    grants: Grants,
) -> Result<(), Error> {
    #[cfg(feature = "log")]
    if grants.log {
        add_log(linker)?;
    }
    #[cfg(feature = "time")]
    if grants.time {
        add_time(linker)?;
    }
    #[cfg(feature = "rng")]
    if grants.rng {
        add_rng(linker)?;
    }
    #[cfg(feature = "gpio")]
    if grants.gpio {
        add_gpio(linker)?;
    }
    #[cfg(feature = "sensors")]
    if grants.sensors {
        add_sensors(linker)?;
    }
    #[cfg(feature = "udp")]
    if grants.udp {
        add_udp(linker)?;
    }
    let _ = (linker, grants);
    Ok(())
}

/// A `result` without payloads, flattened: 0 for `ok`, 1 for `err`.
#[cfg(any(feature = "gpio", feature = "sensors", feature = "udp"))]
fn result_flat(result: Result<(), ()>) -> i32 {
    i32::from(result.is_err())
}

#[cfg(feature = "log")]
fn add_log<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    const WHAT: &str = "log-api.info";
    linker.func_wrap(
        "ariel:wasm-bindings/log-api@0.0.1",
        "info",
        |caller: Caller<'_, T>, ptr: i32, len: i32| -> Result<(), Error> {
            let guest = GuestMem::of_caller(WHAT, &caller)?;
            let bytes = guest.slice(WHAT, &caller, ptr as u32, len as u32, 1)?;
            let line = core::str::from_utf8(bytes)
                .map_err(|_| super::guest::fault(WHAT, "the string is not UTF-8"))?;
            caller.data().host().log_info(line);
            Ok(())
        },
    )?;
    Ok(())
}

#[cfg(feature = "time")]
fn add_time<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    const MODULE: &str = "ariel:wasm-bindings/time-api@0.0.1";
    linker.func_wrap(
        MODULE,
        "sleep",
        |_: Caller<'_, T>, millis: i64| -> Result<(), Error> {
            Err(Pending::Sleep {
                millis: millis as u64,
            }
            .into())
        },
    )?;
    linker.func_wrap(MODULE, "now-as-millis", |_: Caller<'_, T>| -> i64 {
        crate::host::time::now_as_millis() as i64
    })?;
    Ok(())
}

#[cfg(feature = "rng")]
fn add_rng<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    const MODULE: &str = "ariel:wasm-bindings/rng-api@0.0.1";
    linker.func_wrap(
        MODULE,
        "[static]r-n-g.next-u32",
        |mut caller: Caller<'_, T>| -> Result<i32, Error> {
            Ok(caller.data_mut().host_mut().next_u32()? as i32)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "[static]r-n-g.next-u64",
        |mut caller: Caller<'_, T>| -> Result<i64, Error> {
            Ok(caller.data_mut().host_mut().next_u64()? as i64)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "[static]r-n-g.random-bytes",
        |mut caller: Caller<'_, T>, len: i32, retptr: i32| -> Result<(), Error> {
            const WHAT: &str = "rng-api.r-n-g.random-bytes";
            let (len, retptr) = (len as u32, retptr as u32);
            caller.data_mut().host_mut().check_random_bytes(len)?;
            let guest = GuestMem::of_caller(WHAT, &caller)?;
            let (size, align) = layout::LIST_RESULT;
            guest.slice(WHAT, &caller, retptr, size, align)?;
            // The bytes go straight into the list the guest allocated: no host buffer.
            let list = guest.realloc(WHAT, &mut caller, 1, len)?;
            let (memory, state) = guest.memory().data_and_store_mut(&mut caller);
            let bytes = super::guest::checked_range(WHAT, memory.len(), list, len, 1)?;
            let ret = super::guest::checked_range(WHAT, memory.len(), retptr, size, align)?;
            state.host_mut().fill_random(&mut memory[bytes])?;
            let ret = &mut memory[ret];
            layout::put_u32(ret, 0, list);
            layout::put_u32(ret, 4, len);
            Ok(())
        },
    )?;
    Ok(())
}

#[cfg(feature = "gpio")]
fn add_gpio<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    const MODULE: &str = "ariel:wasm-bindings/gpio-api@0.0.1";
    linker.func_wrap(
        MODULE,
        "wait-for-button-low",
        |_: Caller<'_, T>| -> Result<i32, Error> { Err(Pending::WaitForButtonLow.into()) },
    )?;
    linker.func_wrap(MODULE, "toggle-led", |mut caller: Caller<'_, T>| -> i32 {
        result_flat(caller.data_mut().host_mut().toggle_led())
    })?;
    Ok(())
}

/// An `option<enum>` flattened to `(discriminant, case)`, lifted with `from_index`.
#[cfg(feature = "sensors")]
fn option_enum<E>(
    what: &str,
    disc: i32,
    case: i32,
    from_index: fn(u32) -> Option<E>,
) -> Result<Option<E>, Error> {
    if !layout::option_discriminant(what, disc as u32)? {
        return Ok(None);
    }
    match from_index(case as u32) {
        Some(e) => Ok(Some(e)),
        None => Err(fault(what, "invalid enum discriminant").into()),
    }
}

#[cfg(feature = "sensors")]
fn add_sensors<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    use crate::host::sensors::{Category, Label};
    const MODULE: &str = "ariel:wasm-bindings/sensors-api@0.0.1";
    linker.func_wrap(
        MODULE,
        "trigger-measurements",
        |mut caller: Caller<'_, T>, disc: i32, case: i32| -> Result<i32, Error> {
            const WHAT: &str = "sensors-api.trigger-measurements";
            let category = option_enum(WHAT, disc, case, Category::from_index)?;
            Ok(result_flat(
                caller.data_mut().host_mut().trigger_measurements(category),
            ))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "wait-for-reading",
        |caller: Caller<'_, T>, disc: i32, case: i32, retptr: i32| -> Result<(), Error> {
            const WHAT: &str = "sensors-api.wait-for-reading";
            let label = option_enum(WHAT, disc, case, Label::from_index)?;
            let (size, align) = layout::READING_RESULT;
            let guest = GuestMem::of_caller(WHAT, &caller)?;
            guest.slice(WHAT, &caller, retptr as u32, size, align)?;
            Err(Pending::WaitForReading {
                label,
                retptr: retptr as u32,
            }
            .into())
        },
    )?;
    Ok(())
}

#[cfg(feature = "udp")]
fn add_udp<T: HostView>(linker: &mut Linker<T>) -> Result<(), Error> {
    const MODULE: &str = "ariel:wasm-bindings/udp-api@0.0.1";
    linker.func_wrap(
        MODULE,
        "[static]udp-socket.bind",
        |mut caller: Caller<'_, T>, port: i32| -> i32 {
            result_flat(caller.data_mut().host_mut().udp_bind(port as u16))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "[static]udp-socket.send",
        |caller: Caller<'_, T>, argptr: i32| -> Result<i32, Error> {
            const WHAT: &str = "udp-api.udp-socket.send";
            let guest = GuestMem::of_caller(WHAT, &caller)?;
            let (size, align) = layout::SEND_ARGS;
            let args = guest.slice(WHAT, &caller, argptr as u32, size, align)?;
            let (data, len) = (layout::get_u32(args, 0), layout::get_u32(args, 4));
            let to = layout::get_udp_metadata(WHAT, args, 8)?;
            guest.slice(WHAT, &caller, data, len, 1)?;
            // Not bound, or over the socket's size: the error value at once, as on Wasmtime
            // (whose future is ready at its first poll then).
            if caller.data().host().udp_send_check(len as usize).is_err() {
                return Ok(result_flat(Err(())));
            }
            Err(Pending::UdpSend { data, len, to }.into())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "[static]udp-socket.try-recv",
        |caller: Caller<'_, T>, retptr: i32| -> Result<(), Error> {
            const WHAT: &str = "udp-api.udp-socket.try-recv";
            let guest = GuestMem::of_caller(WHAT, &caller)?;
            let (size, align) = layout::TRY_RECV_RESULT;
            guest.slice(WHAT, &caller, retptr as u32, size, align)?;
            Err(Pending::UdpTryRecv {
                retptr: retptr as u32,
            }
            .into())
        },
    )?;
    Ok(())
}
