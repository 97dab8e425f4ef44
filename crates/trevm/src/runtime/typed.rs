//! Typed calls: exports whose types the application knows at compile time.
//!
//! On Wasmtime they skip the dynamic [`Val`] representation (no per-value allocation, no run-time
//! type walk; the signature is checked once per call against the capsule's). On wasmi they are
//! converted to and from [`Val`]s and go through the canonical ABI like a dynamic call.
//!
//! The traits are sealed: they are implemented for the Rust types that have a WIT counterpart
//! (`bool`, integers, floats, `char`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`, tuples),
//! so that which VM does the lowering stays trevm's business.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::value::{Val, ValType};

/// A Rust type that stands for a WIT type in a typed call: `u32` for `u32`, `String` for
/// `string`, `Vec<u8>` for `list<u8>`, `Option<T>` for `option<T>`, `Result<T, E>` for
/// `result<T, E>` (`()` for a missing side), tuples for `tuple<…>`.
pub trait WasmType: sealed::Type {}

/// The parameters of a typed call: a tuple of [`WasmType`]s, `()` for none.
pub trait WasmParams: sealed::Params {}

/// The results of a typed call: a tuple of [`WasmType`]s, `()` for none, `(T,)` for one.
pub trait WasmResults: sealed::Results {}

pub(crate) mod sealed {
    use alloc::vec::Vec;

    use crate::value::{Val, ValType};

    #[cfg(feature = "wasmtime")]
    /// Wasmtime's requirements on a type.
    pub trait WtType:
        wasmtime::component::ComponentType + wasmtime::component::Lift + wasmtime::component::Lower
    {
    }
    #[cfg(feature = "wasmtime")]
    impl<
        T: wasmtime::component::ComponentType + wasmtime::component::Lift + wasmtime::component::Lower,
    > WtType for T
    {
    }
    #[cfg(not(feature = "wasmtime"))]
    /// Nothing without Wasmtime.
    pub trait WtType {}
    #[cfg(not(feature = "wasmtime"))]
    impl<T> WtType for T {}

    #[cfg(feature = "wasmtime")]
    /// Wasmtime's requirements on parameters.
    pub trait WtParams:
        wasmtime::component::ComponentNamedList + wasmtime::component::Lower
    {
    }
    #[cfg(feature = "wasmtime")]
    impl<T: wasmtime::component::ComponentNamedList + wasmtime::component::Lower> WtParams for T {}
    #[cfg(not(feature = "wasmtime"))]
    /// Nothing without Wasmtime.
    pub trait WtParams {}
    #[cfg(not(feature = "wasmtime"))]
    impl<T> WtParams for T {}

    #[cfg(feature = "wasmtime")]
    /// Wasmtime's requirements on results.
    pub trait WtResults:
        wasmtime::component::ComponentNamedList + wasmtime::component::Lift
    {
    }
    #[cfg(feature = "wasmtime")]
    impl<T: wasmtime::component::ComponentNamedList + wasmtime::component::Lift> WtResults for T {}
    #[cfg(not(feature = "wasmtime"))]
    /// Nothing without Wasmtime.
    pub trait WtResults {}
    #[cfg(not(feature = "wasmtime"))]
    impl<T> WtResults for T {}

    /// The VMs' requirements on a [`super::WasmType`]: Wasmtime's traits, and a way to and from
    /// [`Val`] (`None` for `()`, which stands for a missing side of a `result`).
    pub trait Type: WtType + Send + Sync + Sized + 'static {
        /// The WIT type; `None` for `()`.
        fn val_type() -> Option<ValType>;
        /// The value; `None` for `()`.
        fn into_val(self) -> Option<Val>;
        /// Back from a value of [`Type::val_type`].
        fn from_val(v: Option<Val>) -> Option<Self>;
    }
    /// The VMs' requirements on [`super::WasmParams`].
    pub trait Params: WtParams + Send + Sync {
        /// The parameter types.
        fn types() -> Vec<ValType>;
        /// The values.
        fn into_vals(self) -> Vec<Val>;
    }
    /// The VMs' requirements on [`super::WasmResults`].
    pub trait Results: WtResults + Send + Sync + Sized + 'static {
        /// The result types.
        fn types() -> Vec<ValType>;
        /// Back from values of [`Results::types`].
        fn from_vals(v: Vec<Val>) -> Option<Self>;
    }
}

macro_rules! wasm_types {
    ($($t:ty => $v:ident),*) => {$(
        impl sealed::Type for $t {
            fn val_type() -> Option<ValType> {
                Some(ValType::$v)
            }
            fn into_val(self) -> Option<Val> {
                Some(Val::$v(self))
            }
            fn from_val(v: Option<Val>) -> Option<Self> {
                match v {
                    Some(Val::$v(x)) => Some(x),
                    _ => None,
                }
            }
        }
        impl WasmType for $t {}
    )*};
}
wasm_types!(
    bool => Bool, i8 => S8, u8 => U8, i16 => S16, u16 => U16, i32 => S32, u32 => U32,
    i64 => S64, u64 => U64, f32 => Float32, f64 => Float64, char => Char, String => String
);

impl<T: WasmType> sealed::Type for Vec<T> {
    fn val_type() -> Option<ValType> {
        Some(ValType::List(Box::new(T::val_type()?)))
    }
    fn into_val(self) -> Option<Val> {
        Some(Val::List(
            self.into_iter().map(T::into_val).collect::<Option<_>>()?,
        ))
    }
    fn from_val(v: Option<Val>) -> Option<Self> {
        match v {
            Some(Val::List(items)) => items.into_iter().map(|v| T::from_val(Some(v))).collect(),
            _ => None,
        }
    }
}
impl<T: WasmType> WasmType for Vec<T> {}

impl<T: WasmType> sealed::Type for Option<T> {
    fn val_type() -> Option<ValType> {
        Some(ValType::Option(Box::new(T::val_type()?)))
    }
    fn into_val(self) -> Option<Val> {
        Some(Val::Option(match self {
            Some(x) => Some(Box::new(x.into_val()?)),
            None => None,
        }))
    }
    fn from_val(v: Option<Val>) -> Option<Self> {
        match v {
            Some(Val::Option(None)) => Some(None),
            Some(Val::Option(Some(x))) => Some(Some(T::from_val(Some(*x))?)),
            _ => None,
        }
    }
}
impl<T: WasmType> WasmType for Option<T> {}

impl<T: WasmType, E: WasmType> sealed::Type for Result<T, E> {
    fn val_type() -> Option<ValType> {
        Some(ValType::Result {
            ok: T::val_type().map(Box::new),
            err: E::val_type().map(Box::new),
        })
    }
    fn into_val(self) -> Option<Val> {
        Some(Val::Result(match self {
            Ok(x) => Ok(x.into_val().map(Box::new)),
            Err(e) => Err(e.into_val().map(Box::new)),
        }))
    }
    fn from_val(v: Option<Val>) -> Option<Self> {
        match v {
            Some(Val::Result(Ok(x))) => Some(Ok(T::from_val(x.map(|b| *b))?)),
            Some(Val::Result(Err(e))) => Some(Err(E::from_val(e.map(|b| *b))?)),
            _ => None,
        }
    }
}
impl<T: WasmType, E: WasmType> WasmType for Result<T, E> {}

impl sealed::Type for () {
    fn val_type() -> Option<ValType> {
        None
    }
    fn into_val(self) -> Option<Val> {
        None
    }
    fn from_val(v: Option<Val>) -> Option<Self> {
        v.is_none().then_some(())
    }
}
impl WasmType for () {}

macro_rules! tuples {
    ($(($($t:ident),*)),*) => {$(
        impl<$($t: WasmType),*> sealed::Params for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::val_type().unwrap_or(ValType::Tuple(Vec::new()))),*]
            }
            #[allow(non_snake_case)]
            fn into_vals(self) -> Vec<Val> {
                let ($($t,)*) = self;
                vec![$($t.into_val().unwrap_or(Val::Tuple(Vec::new()))),*]
            }
        }
        impl<$($t: WasmType),*> WasmParams for ($($t,)*) {}
        impl<$($t: WasmType),*> sealed::Results for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::val_type().unwrap_or(ValType::Tuple(Vec::new()))),*]
            }
            #[allow(unused_mut, unused_variables)]
            fn from_vals(v: Vec<Val>) -> Option<Self> {
                let mut it = v.into_iter();
                let out = ($($t::from_val(match $t::val_type() {
                    Some(_) => Some(it.next()?),
                    None => None,
                })?,)*);
                it.next().is_none().then_some(out)
            }
        }
        impl<$($t: WasmType),*> WasmResults for ($($t,)*) {}
    )*};
}
tuples!((), (A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E));

macro_rules! tuple_types {
    ($(($($t:ident),*)),*) => {$(
        impl<$($t: WasmType),*> sealed::Type for ($($t,)*) {
            fn val_type() -> Option<ValType> {
                Some(ValType::Tuple(vec![$($t::val_type()?),*]))
            }
            #[allow(non_snake_case)]
            fn into_val(self) -> Option<Val> {
                let ($($t,)*) = self;
                Some(Val::Tuple(vec![$($t.into_val()?),*]))
            }
            fn from_val(v: Option<Val>) -> Option<Self> {
                match v {
                    Some(Val::Tuple(items)) => {
                        let mut it = items.into_iter();
                        let out = ($($t::from_val(Some(it.next()?))?,)*);
                        it.next().is_none().then_some(out)
                    }
                    _ => None,
                }
            }
        }
        impl<$($t: WasmType),*> WasmType for ($($t,)*) {}
    )*};
}
tuple_types!((A, B), (A, B, C), (A, B, C, D));
