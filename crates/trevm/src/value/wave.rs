//! WAVE (the WebAssembly Value Encoding, `wasm-wave`) for [`Val`] and [`ValType`]: parse
//! `fibonacci(20)` or `{a: 1, b: [2]}` against an export's types, and print results, without
//! going through a VM's own value type. Feature `wave` (host tools: the CLI's `--invoke`).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::{String, ToString};

use wasm_wave::wasm::{WasmType, WasmTypeKind, WasmValue, WasmValueError};

use super::{Val, ValType};

impl WasmType for ValType {
    fn kind(&self) -> WasmTypeKind {
        match self {
            ValType::Bool => WasmTypeKind::Bool,
            ValType::S8 => WasmTypeKind::S8,
            ValType::U8 => WasmTypeKind::U8,
            ValType::S16 => WasmTypeKind::S16,
            ValType::U16 => WasmTypeKind::U16,
            ValType::S32 => WasmTypeKind::S32,
            ValType::U32 => WasmTypeKind::U32,
            ValType::S64 => WasmTypeKind::S64,
            ValType::U64 => WasmTypeKind::U64,
            ValType::Float32 => WasmTypeKind::F32,
            ValType::Float64 => WasmTypeKind::F64,
            ValType::Char => WasmTypeKind::Char,
            ValType::String => WasmTypeKind::String,
            ValType::List(_) => WasmTypeKind::List,
            ValType::Record(_) => WasmTypeKind::Record,
            ValType::Tuple(_) => WasmTypeKind::Tuple,
            ValType::Variant(_) => WasmTypeKind::Variant,
            ValType::Enum(_) => WasmTypeKind::Enum,
            ValType::Option(_) => WasmTypeKind::Option,
            ValType::Result { .. } => WasmTypeKind::Result,
            ValType::Flags(_) => WasmTypeKind::Flags,
            ValType::Unsupported(_) => WasmTypeKind::Unsupported,
        }
    }

    fn list_element_type(&self) -> Option<Self> {
        match self {
            ValType::List(t) => Some((**t).clone()),
            _ => None,
        }
    }

    fn record_fields(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Self)> + '_> {
        match self {
            ValType::Record(fields) => Box::new(
                fields
                    .iter()
                    .map(|(n, t)| (Cow::Borrowed(n.as_str()), t.clone())),
            ),
            _ => Box::new(core::iter::empty()),
        }
    }

    fn tuple_element_types(&self) -> Box<dyn Iterator<Item = Self> + '_> {
        match self {
            ValType::Tuple(items) => Box::new(items.iter().cloned()),
            _ => Box::new(core::iter::empty()),
        }
    }

    fn variant_cases(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Option<Self>)> + '_> {
        match self {
            ValType::Variant(cases) => Box::new(
                cases
                    .iter()
                    .map(|(n, t)| (Cow::Borrowed(n.as_str()), t.clone())),
            ),
            _ => Box::new(core::iter::empty()),
        }
    }

    fn enum_cases(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            ValType::Enum(cases) => Box::new(cases.iter().map(|c| Cow::Borrowed(c.as_str()))),
            _ => Box::new(core::iter::empty()),
        }
    }

    fn option_some_type(&self) -> Option<Self> {
        match self {
            ValType::Option(t) => Some((**t).clone()),
            _ => None,
        }
    }

    fn result_types(&self) -> Option<(Option<Self>, Option<Self>)> {
        match self {
            ValType::Result { ok, err } => Some((ok.as_deref().cloned(), err.as_deref().cloned())),
            _ => None,
        }
    }

    fn flags_names(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            ValType::Flags(names) => Box::new(names.iter().map(|c| Cow::Borrowed(c.as_str()))),
            _ => Box::new(core::iter::empty()),
        }
    }
}

/// Values are built by WAVE's parser for a type it was given, so only the shapes are converted
/// here; the runtime checks every argument against the export's types before a call.
impl WasmValue for Val {
    type Type = ValType;

    fn kind(&self) -> WasmTypeKind {
        match self {
            Val::Bool(_) => WasmTypeKind::Bool,
            Val::S8(_) => WasmTypeKind::S8,
            Val::U8(_) => WasmTypeKind::U8,
            Val::S16(_) => WasmTypeKind::S16,
            Val::U16(_) => WasmTypeKind::U16,
            Val::S32(_) => WasmTypeKind::S32,
            Val::U32(_) => WasmTypeKind::U32,
            Val::S64(_) => WasmTypeKind::S64,
            Val::U64(_) => WasmTypeKind::U64,
            Val::Float32(_) => WasmTypeKind::F32,
            Val::Float64(_) => WasmTypeKind::F64,
            Val::Char(_) => WasmTypeKind::Char,
            Val::String(_) => WasmTypeKind::String,
            Val::List(_) => WasmTypeKind::List,
            Val::Record(_) => WasmTypeKind::Record,
            Val::Tuple(_) => WasmTypeKind::Tuple,
            Val::Variant(..) => WasmTypeKind::Variant,
            Val::Enum(_) => WasmTypeKind::Enum,
            Val::Option(_) => WasmTypeKind::Option,
            Val::Result(_) => WasmTypeKind::Result,
            Val::Flags(_) => WasmTypeKind::Flags,
        }
    }

    fn make_bool(val: bool) -> Self {
        Val::Bool(val)
    }
    fn make_s8(val: i8) -> Self {
        Val::S8(val)
    }
    fn make_s16(val: i16) -> Self {
        Val::S16(val)
    }
    fn make_s32(val: i32) -> Self {
        Val::S32(val)
    }
    fn make_s64(val: i64) -> Self {
        Val::S64(val)
    }
    fn make_u8(val: u8) -> Self {
        Val::U8(val)
    }
    fn make_u16(val: u16) -> Self {
        Val::U16(val)
    }
    fn make_u32(val: u32) -> Self {
        Val::U32(val)
    }
    fn make_u64(val: u64) -> Self {
        Val::U64(val)
    }
    fn make_f32(val: f32) -> Self {
        Val::Float32(val)
    }
    fn make_f64(val: f64) -> Self {
        Val::Float64(val)
    }
    fn make_char(val: char) -> Self {
        Val::Char(val)
    }
    fn make_string(val: Cow<str>) -> Self {
        Val::String(val.into_owned())
    }
    fn make_list(
        _ty: &Self::Type,
        vals: impl IntoIterator<Item = Self>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::List(vals.into_iter().collect()))
    }
    fn make_record<'a>(
        _ty: &Self::Type,
        fields: impl IntoIterator<Item = (&'a str, Self)>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::Record(
            fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        ))
    }
    fn make_tuple(
        _ty: &Self::Type,
        vals: impl IntoIterator<Item = Self>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::Tuple(vals.into_iter().collect()))
    }
    fn make_variant(
        _ty: &Self::Type,
        case: &str,
        val: Option<Self>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::Variant(case.to_string(), val.map(Box::new)))
    }
    fn make_enum(_ty: &Self::Type, case: &str) -> Result<Self, WasmValueError> {
        Ok(Val::Enum(case.to_string()))
    }
    fn make_option(_ty: &Self::Type, val: Option<Self>) -> Result<Self, WasmValueError> {
        Ok(Val::Option(val.map(Box::new)))
    }
    fn make_result(
        _ty: &Self::Type,
        val: Result<Option<Self>, Option<Self>>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::Result(match val {
            Ok(v) => Ok(v.map(Box::new)),
            Err(v) => Err(v.map(Box::new)),
        }))
    }
    fn make_flags<'a>(
        _ty: &Self::Type,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, WasmValueError> {
        Ok(Val::Flags(names.into_iter().map(String::from).collect()))
    }

    // WAVE calls each `unwrap_*` only for a value of that kind (see `kind`); for any other it
    // gets a neutral value rather than a panic.
    fn unwrap_bool(&self) -> bool {
        matches!(self, Val::Bool(true))
    }
    fn unwrap_s8(&self) -> i8 {
        if let Val::S8(v) = self { *v } else { 0 }
    }
    fn unwrap_s16(&self) -> i16 {
        if let Val::S16(v) = self { *v } else { 0 }
    }
    fn unwrap_s32(&self) -> i32 {
        if let Val::S32(v) = self { *v } else { 0 }
    }
    fn unwrap_s64(&self) -> i64 {
        if let Val::S64(v) = self { *v } else { 0 }
    }
    fn unwrap_u8(&self) -> u8 {
        if let Val::U8(v) = self { *v } else { 0 }
    }
    fn unwrap_u16(&self) -> u16 {
        if let Val::U16(v) = self { *v } else { 0 }
    }
    fn unwrap_u32(&self) -> u32 {
        if let Val::U32(v) = self { *v } else { 0 }
    }
    fn unwrap_u64(&self) -> u64 {
        if let Val::U64(v) = self { *v } else { 0 }
    }
    fn unwrap_f32(&self) -> f32 {
        if let Val::Float32(v) = self { *v } else { 0.0 }
    }
    fn unwrap_f64(&self) -> f64 {
        if let Val::Float64(v) = self { *v } else { 0.0 }
    }
    fn unwrap_char(&self) -> char {
        if let Val::Char(v) = self { *v } else { '\0' }
    }
    fn unwrap_string(&self) -> Cow<'_, str> {
        match self {
            Val::String(s) => Cow::Borrowed(s.as_str()),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_list(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::List(items) => Box::new(items.iter().map(Cow::Borrowed)),
            _ => Box::new(core::iter::empty()),
        }
    }
    fn unwrap_record(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Cow<'_, Self>)> + '_> {
        match self {
            Val::Record(fields) => Box::new(
                fields
                    .iter()
                    .map(|(n, v)| (Cow::Borrowed(n.as_str()), Cow::Borrowed(v))),
            ),
            _ => Box::new(core::iter::empty()),
        }
    }
    fn unwrap_tuple(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::Tuple(items) => Box::new(items.iter().map(Cow::Borrowed)),
            _ => Box::new(core::iter::empty()),
        }
    }
    fn unwrap_variant(&self) -> (Cow<'_, str>, Option<Cow<'_, Self>>) {
        match self {
            Val::Variant(case, payload) => (
                Cow::Borrowed(case.as_str()),
                payload.as_deref().map(Cow::Borrowed),
            ),
            _ => (Cow::Borrowed(""), None),
        }
    }
    fn unwrap_enum(&self) -> Cow<'_, str> {
        match self {
            Val::Enum(case) => Cow::Borrowed(case.as_str()),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_option(&self) -> Option<Cow<'_, Self>> {
        match self {
            Val::Option(v) => v.as_deref().map(Cow::Borrowed),
            _ => None,
        }
    }
    fn unwrap_result(&self) -> Result<Option<Cow<'_, Self>>, Option<Cow<'_, Self>>> {
        match self {
            Val::Result(Ok(v)) => Ok(v.as_deref().map(Cow::Borrowed)),
            Val::Result(Err(v)) => Err(v.as_deref().map(Cow::Borrowed)),
            _ => Ok(None),
        }
    }
    fn unwrap_flags(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Val::Flags(names) => Box::new(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => Box::new(core::iter::empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn wave_parses_and_prints_through_trevm_values() {
        let ty = ValType::Record(vec![
            ("a".into(), ValType::U8),
            ("b".into(), ValType::List(Box::new(ValType::String))),
            (
                "c".into(),
                ValType::Result {
                    ok: None,
                    err: Some(Box::new(ValType::Enum(vec!["not-found".into()]))),
                },
            ),
        ]);
        let v: Val = wasm_wave::from_str(&ty, r#"{a: 7, b: ["x"], c: err(not-found)}"#).unwrap();
        assert_eq!(
            v,
            Val::Record(vec![
                ("a".into(), Val::U8(7)),
                ("b".into(), Val::List(vec![Val::String("x".into())])),
                (
                    "c".into(),
                    Val::Result(Err(Some(Box::new(Val::Enum("not-found".into())))))
                ),
            ])
        );
        assert_eq!(
            wasm_wave::to_string(&v).unwrap(),
            r#"{a: 7, b: ["x"], c: err(not-found)}"#
        );
        assert!(wasm_wave::from_str::<Val>(&ty, "{a: 300}").is_err());
    }
}
