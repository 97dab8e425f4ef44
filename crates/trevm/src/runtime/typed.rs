//! Typed calls: exports whose types the application knows at compile time, called without the
//! dynamic [`Val`](crate::Val) representation (no per-value allocation, no run-time type walk;
//! the signature is checked once per call against the capsule's).
//!
//! The traits are sealed: they are implemented for the Rust types that have a WIT counterpart
//! (`bool`, integers, floats, `char`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`, tuples),
//! so that which VM does the lowering stays trevm's business.

use alloc::string::String;
use alloc::vec::Vec;

/// A Rust type that stands for a WIT type in a typed call: `u32` for `u32`, `String` for
/// `string`, `Vec<u8>` for `list<u8>`, `Option<T>` for `option<T>`, `Result<T, E>` for
/// `result<T, E>` (`()` for a missing side), tuples for `tuple<…>`.
pub trait WasmType: sealed::Type {}

/// The parameters of a typed call: a tuple of [`WasmType`]s, `()` for none.
pub trait WasmParams: sealed::Params {}

/// The results of a typed call: a tuple of [`WasmType`]s, `()` for none, `(T,)` for one.
pub trait WasmResults: sealed::Results {}

pub(crate) mod sealed {
    use wasmtime::component::{ComponentNamedList, ComponentType, Lift, Lower};

    /// The VM's requirements on a [`super::WasmType`].
    pub trait Type: ComponentType + Lift + Lower + Send + Sync + 'static {}
    /// The VM's requirements on [`super::WasmParams`].
    pub trait Params: ComponentNamedList + Lower + Send + Sync {}
    /// The VM's requirements on [`super::WasmResults`].
    pub trait Results: ComponentNamedList + Lift + Send + Sync + 'static {}
}

macro_rules! wasm_types {
    ($($t:ty),*) => {$(
        impl sealed::Type for $t {}
        impl WasmType for $t {}
    )*};
}
wasm_types!(
    bool, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, char, String
);

impl<T: WasmType> sealed::Type for Vec<T> {}
impl<T: WasmType> WasmType for Vec<T> {}
impl<T: WasmType> sealed::Type for Option<T> {}
impl<T: WasmType> WasmType for Option<T> {}
impl<T: WasmType, E: WasmType> sealed::Type for Result<T, E> {}
impl<T: WasmType, E: WasmType> WasmType for Result<T, E> {}
impl sealed::Type for () {}
impl WasmType for () {}

macro_rules! tuples {
    ($(($($t:ident),*)),*) => {$(
        impl<$($t: WasmType),*> sealed::Params for ($($t,)*) {}
        impl<$($t: WasmType),*> WasmParams for ($($t,)*) {}
        impl<$($t: WasmType),*> sealed::Results for ($($t,)*) {}
        impl<$($t: WasmType),*> WasmResults for ($($t,)*) {}
    )*};
}
tuples!((), (A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E));

macro_rules! tuple_types {
    ($(($($t:ident),*)),*) => {$(
        impl<$($t: WasmType),*> sealed::Type for ($($t,)*) {}
        impl<$($t: WasmType),*> WasmType for ($($t,)*) {}
    )*};
}
tuple_types!((A, B), (A, B, C), (A, B, C, D));
