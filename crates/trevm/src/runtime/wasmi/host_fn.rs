//! The embedder's own host functions on wasmi ([`Runtime::define_func_typed`](crate::Runtime)):
//! a core function whose arguments the canonical ABI lifts from the capsule (import direction of
//! `crate::cabi`) with the WIT type the embedder states, and whose results it lowers back.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use wasmi::{Caller, Extern, Memory, TypedFunc};

use super::WiEngine;
use super::instance::{from_wasmi, to_wasmi};
use super::loaded::ROOT_MODULE;
use crate::cabi::{self, CabiError, FlatType, GuestMemory, SigKind};
use crate::error::Error;
use crate::host::{HostRefusal, HostView};
use crate::runtime::host_error::SharedHostFn;
use crate::value::{FuncType, ValType};

impl<T: HostView> WiEngine<T> {
    /// Links `f` as `name` in `interface` (`""`: imported by the world directly) with type `ty`.
    pub(crate) fn define_func(
        &mut self,
        interface: &str,
        name: &str,
        ty: &FuncType,
        f: SharedHostFn<T>,
    ) -> Result<(), Error> {
        let params: Vec<ValType> = ty.params.iter().map(|(_, t)| t.clone()).collect();
        let results = ty.results.clone();
        let (core_params, core_results) = cabi::core_signature(&params, &results, SigKind::Import)
            .map_err(|e| Error::Link(format!("`{name}` cannot cross the canonical ABI: {e}")))?;
        let core = wasmi::FuncType::new(
            core_params.iter().map(|t| core_type(*t)),
            core_results.iter().map(|t| core_type(*t)),
        );
        let module = if interface.is_empty() {
            ROOT_MODULE
        } else {
            interface
        };
        let fname = String::from(name);
        self.linker
            .func_new(module, name, core, move |mut caller, inputs, outputs| {
                let refuse = |m: String| wasmi::Error::host(HostRefusal(m));
                let abi = |e: CabiError| refuse(format!("`{fname}`: {e}"));
                let flat = inputs
                    .iter()
                    .map(from_wasmi)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| refuse(format!("`{fname}` was passed a reference")))?;
                let (args, retptr) = cabi::split_retptr(&results, &flat).map_err(abi)?;
                let args = cabi::lift_args(&mut CallerMemory::of(&mut caller), &params, args)
                    .map_err(abi)?;
                let out = f(caller.data_mut(), &args).map_err(|e| refuse(e.0))?;
                if out.len() != results.len() {
                    return Err(refuse(format!(
                        "host function `{fname}` returned {} value(s) for {} result(s)",
                        out.len(),
                        results.len()
                    )));
                }
                for (v, t) in out.iter().zip(&results) {
                    crate::value::check::check(v, t).map_err(|e| {
                        refuse(format!(
                            "host function `{fname}` returned a wrong result: {e}"
                        ))
                    })?;
                }
                let flat_out =
                    cabi::lower_results(&mut CallerMemory::of(&mut caller), &results, &out, retptr)
                        .map_err(abi)?;
                for (slot, v) in outputs.iter_mut().zip(&flat_out) {
                    *slot = to_wasmi(v);
                }
                Ok(())
            })
            .map_err(|e| Error::Engine(e.to_string()))?;
        self.defined
            .push((String::from(module), String::from(name)));
        Ok(())
    }
}

fn core_type(t: FlatType) -> wasmi::ValType {
    match t {
        FlatType::I32 => wasmi::ValType::I32,
        FlatType::I64 => wasmi::ValType::I64,
        FlatType::F32 => wasmi::ValType::F32,
        FlatType::F64 => wasmi::ValType::F64,
    }
}

/// The calling capsule's memory and allocator, seen from inside one of its host calls.
struct CallerMemory<'c, 'a, T> {
    caller: &'c mut Caller<'a, T>,
    memory: Option<Memory>,
    realloc: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
}

impl<'c, 'a, T> CallerMemory<'c, 'a, T> {
    fn of(caller: &'c mut Caller<'a, T>) -> Self {
        let memory = caller.get_export("memory").and_then(Extern::into_memory);
        let realloc = caller
            .get_export("cabi_realloc")
            .and_then(Extern::into_func)
            .and_then(|f| f.typed(&*caller).ok());
        CallerMemory {
            caller,
            memory,
            realloc,
        }
    }
}

impl<T> GuestMemory for CallerMemory<'_, '_, T> {
    fn read(&mut self, ptr: u32, out: &mut [u8]) -> Result<(), CabiError> {
        let memory = self.memory.ok_or(CabiError::NoMemory)?;
        let bytes = memory.data(&*self.caller);
        let range = super::memory::span(ptr, out.len(), bytes.len())?;
        out.copy_from_slice(&bytes[range]);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), CabiError> {
        let memory = self.memory.ok_or(CabiError::NoMemory)?;
        let bytes = memory.data_mut(&mut *self.caller);
        let range = super::memory::span(ptr, data.len(), bytes.len())?;
        bytes[range].copy_from_slice(data);
        Ok(())
    }

    fn realloc(&mut self, align: u32, size: u32) -> Result<u32, CabiError> {
        let failed = CabiError::Realloc { align, size };
        let realloc = self.realloc.ok_or(failed.clone())?;
        let ptr = realloc
            .call(&mut *self.caller, (0, 0, align as i32, size as i32))
            .map_err(|_| failed)?;
        Ok(ptr as u32)
    }
}
