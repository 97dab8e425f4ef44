//! `coap-server-guest` on wasmi. `coap-run` lowers its message by hand into one `cabi_realloc`ed
//! buffer and reads the response in place: the generic path would make a [`Val`](crate::Val)
//! per message byte, several times the message in heap on a device.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::drive;
use super::instance::{WiInstance, abi_error, from_wasmi};
use super::memory::Guest;
use crate::cabi::GuestMemory;
use crate::error::Error;
use crate::host::HostView;
use crate::runtime::coap::{COAP_SERVER_GUEST, CoapGuestError};
use crate::value::{FuncType, Val, ValType};
use alloc::boxed::Box;

/// Core name of an export of the `coap-server-guest` interface.
fn export(name: &str) -> String {
    format!("{COAP_SERVER_GUEST}#{name}")
}

/// `result<_, coap-err>`'s error, from the enum case's name.
fn guest_error(e: Option<alloc::boxed::Box<Val>>) -> Result<CoapGuestError, Error> {
    match e.as_deref() {
        Some(Val::Enum(name)) => CoapGuestError::from_wit_name(name)
            .ok_or_else(|| Error::Trap(format!("unknown coap-err case `{name}`"))),
        _ => Err(Error::Trap("coap-err is not an enum case".into())),
    }
}

impl<T: HostView> WiInstance<T> {
    pub(crate) async fn coap_initialize_handler(&mut self) -> Result<Result<(), ()>, Error> {
        let (r,) = self
            .call_typed::<(), (Result<(), ()>,)>(&export("initialize-handler"), ())
            .await?;
        Ok(r)
    }

    pub(crate) async fn coap_report(
        &mut self,
    ) -> Result<Result<Vec<String>, CoapGuestError>, Error> {
        let name = export("report");
        let out = self.call(&name, &[]).await?;
        let outcome = match out.into_iter().next() {
            Some(Val::Result(Ok(Some(paths)))) => match *paths {
                Val::List(items) => Ok(items
                    .into_iter()
                    .map(|p| match p {
                        Val::String(s) => Ok(s),
                        _ => Err(Error::Trap(
                            "report returned a path that is not a string".into(),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?),
                _ => return Err(Error::Trap("report returned no list".into())),
            },
            Some(Val::Result(Err(e))) => Err(guest_error(e)?),
            _ => return Err(Error::Trap("report returned no result".into())),
        };
        Ok(outcome)
    }

    pub(crate) async fn coap_run(
        &mut self,
        code: u8,
        observed_len: u32,
        message: &[u8],
    ) -> Result<Result<(u8, Vec<u8>), CoapGuestError>, Error> {
        if self.is_stopped() {
            return Err(Error::Stopped);
        }
        let name = export("coap-run");
        let index = self.export(&name).map_err(|_| Error::MissingExport {
            name: String::from(COAP_SERVER_GUEST),
            reason: "the capsule exports no `coap-run`".into(),
        })?;
        // The layouts below are the WIT type's: the manifest must say the export has it.
        let ty = &self.signature(&name)?;
        if !is_coap_run(ty) {
            return Err(Error::MissingExport {
                name: String::from(COAP_SERVER_GUEST),
                reason: format!("`coap-run` has another type: {ty}"),
            });
        }
        let (func, post) = (self.resolved(index).func, self.resolved(index).post);
        let len = u32::try_from(message.len())
            .map_err(|_| Error::BadArguments("the message is over 4 GiB".into()))?;
        let (store, instance, fuel, limits, handles) = (
            &mut self.store,
            &self.instance,
            &mut self.fuel,
            &self.limits,
            self.handles,
        );
        let outcome = drive::with_timeout(limits, async move {
            fuel.refill(store, 0)?;
            let ptr = {
                let mut guest = Guest::new(store, handles);
                let ptr = guest
                    .realloc(1, len)
                    .map_err(|e| abi_error(e, "its message buffer"))?;
                guest
                    .write(ptr, message)
                    .map_err(|e| abi_error(e, "its message buffer"))?;
                ptr
            };
            let inputs = [
                wasmi::Val::I32(i32::from(code)),
                wasmi::Val::I32(observed_len as i32),
                wasmi::Val::I32(ptr as i32),
                wasmi::Val::I32(len as i32),
            ];
            let mut outputs = [wasmi::Val::I32(0)];
            drive::call(store, instance, fuel, func, &inputs, &mut outputs).await?;
            let Some(crate::cabi::Flat::I32(ret)) = from_wasmi(&outputs[0]) else {
                return Err(Error::Trap("coap-run returned no pointer".into()));
            };
            let answer = read_answer(&mut Guest::new(store, handles), ret as u32)
                .map_err(|e| abi_error(e, "its answer"))?;
            if let Some(post) = post {
                drive::call(store, instance, fuel, post, &outputs, &mut []).await?;
            }
            answer
        })
        .await;
        self.settle(outcome, "coap-run")
    }
}

/// Whether `ty` is `coap-run`'s WIT type: `func(code: u8, observed-len: u32, message: list<u8>)
/// -> result<tuple<u8, list<u8>>, coap-err>`, `coap-err` an enum of the three cases in order.
fn is_coap_run(ty: &FuncType) -> bool {
    let bytes = || ValType::List(Box::new(ValType::U8));
    let params = [ValType::U8, ValType::U32, bytes()];
    let errors = [
        CoapGuestError::NotFound,
        CoapGuestError::InternalServerError,
        CoapGuestError::HandlerNotBuilt,
    ];
    let result = ValType::Result {
        ok: Some(Box::new(ValType::Tuple(alloc::vec![ValType::U8, bytes()]))),
        err: Some(Box::new(ValType::Enum(
            errors.iter().map(|e| String::from(e.wit_name())).collect(),
        ))),
    };
    ty.params.iter().map(|(_, t)| t).eq(params.iter()) && ty.results == [result]
}

/// What `coap-run` answers: a response code and its options and payload, or the capsule's error.
type Answer = Result<(u8, Vec<u8>), CoapGuestError>;

/// `result<tuple<u8, list<u8>>, coap-err>` at `ret`: discriminant byte at 0, the payload at 4
/// (the tuple's alignment): the code byte at 4 and the list's pointer and length at 8 and 12, or
/// the enum byte at 4.
fn read_answer(
    guest: &mut impl GuestMemory,
    ret: u32,
) -> Result<Result<Answer, Error>, crate::cabi::CabiError> {
    let mut head = [0u8; 16];
    guest.read(ret, &mut head)?;
    let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    Ok(match head[0] {
        0 => {
            let (ptr, len) = (word(8), word(12));
            // In bounds before anything is allocated for it: the guest's memory bounds it.
            if let Some(last) = len.checked_sub(1) {
                let end = ptr
                    .checked_add(last)
                    .ok_or(crate::cabi::CabiError::OutOfBounds {
                        ptr,
                        len: u64::from(len),
                    })?;
                guest.read(end, &mut [0u8])?;
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let mut body = Vec::new();
            if body.try_reserve_exact(len).is_err() {
                return Ok(Err(Error::DeviceOutOfMemory(format!(
                    "coap-run answered {len} bytes"
                ))));
            }
            body.resize(len, 0);
            guest.read(ptr, &mut body)?;
            Ok(Ok((head[4], body)))
        }
        1 => match head[4] {
            0 => Ok(Err(CoapGuestError::NotFound)),
            1 => Ok(Err(CoapGuestError::InternalServerError)),
            2 => Ok(Err(CoapGuestError::HandlerNotBuilt)),
            d => Err(Error::Trap(format!("coap-err has no case {d}"))),
        },
        d => Err(Error::Trap(format!("coap-run's result has no case {d}"))),
    })
}
