//! The manifest's `exports` (key 6): the name and WIT type of each function a plain-wasm capsule
//! exports, which the device cannot learn from a core module. Encoded and read here.
//!
//! ```text
//! exports  = [+ export]                     ; 1 to MAX_EXPORTS (an empty list is no key 6)
//! export   = [name, functype]               ; name: the core export's name, 1 to 128 bytes
//! functype = [params, results]
//! params   = [* label, type]                ; names and types, flat: at most MAX_CASES pairs
//! results  = [? type]                       ; WIT functions have at most one result
//! type     = 0 bool / 1 s8 / 2 u8 / 3 s16 / 4 u16 / 5 s32 / 6 u32 / 7 s64 / 8 u64
//!          / 9 f32 / 10 f64 / 11 char / 12 string
//!          / [13, type]                     ; list
//!          / [14, + label, type]            ; record
//!          / [15, + type]                   ; tuple
//!          / [16, + label, type / null]     ; variant
//!          / [17, + label]                  ; enum
//!          / [18, type]                     ; option
//!          / [19, type / null, type / null] ; result
//!          / [20, + label]                  ; flags
//!          / [21, text]                     ; a type without values (resource, future, …)
//! label    = text                           ; 1 to MAX_LABEL_LEN bytes
//! ```
//!
//! For `fib(n: u32) -> u32`: `[["fib", [["n", 6], [6]]]]`, 14 bytes. Every count, length and
//! nesting is bounded (the `MAX_*` constants) and checked before anything is read or
//! allocated, so hostile bytes cost at most the bounded work of reading them.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use minicbor::data::Type;
use minicbor::encode::{Error as EncodeError, Write};
use minicbor::{Decoder, Encoder};

use super::error::{ManifestError, definite};
use crate::value::{ExportedFunc, FuncType, ValType};

/// Most functions `exports` may list.
pub const MAX_EXPORTS: usize = 64;
/// Longest export name, in bytes (`ariel:wasm-bindings/coap-server-guest@0.0.1#coap-run` is 52).
pub const MAX_EXPORT_NAME_LEN: usize = 128;
/// Longest parameter, field, case or flag name (and name of a type without values), in bytes.
pub const MAX_LABEL_LEN: usize = 64;
/// Deepest nesting of types: a parameter's or result's own type is at depth 1.
pub const MAX_TYPE_DEPTH: usize = 16;
/// Most types in all of `exports` together (each primitive and each compound counts one).
pub const MAX_TYPE_NODES: usize = 1024;
/// Most parameters of a function, and fields, cases, items or flags of one type.
pub const MAX_CASES: usize = 64;

const LIST: u8 = 13;
const RECORD: u8 = 14;
const TUPLE: u8 = 15;
const VARIANT: u8 = 16;
const ENUM: u8 = 17;
const OPTION: u8 = 18;
const RESULT: u8 = 19;
const FLAGS: u8 = 20;
const UNSUPPORTED: u8 = 21;

const PRIMITIVES: [ValType; 13] = [
    ValType::Bool,
    ValType::S8,
    ValType::U8,
    ValType::S16,
    ValType::U16,
    ValType::S32,
    ValType::U32,
    ValType::S64,
    ValType::U64,
    ValType::Float32,
    ValType::Float64,
    ValType::Char,
    ValType::String,
];

type EncResult<W> = Result<(), EncodeError<<W as Write>::Error>>;

/// Writes `exports` (non-empty: the caller leaves key 6 out otherwise) as the module docs say.
pub(super) fn encode<W: Write>(e: &mut Encoder<W>, exports: &[ExportedFunc]) -> EncResult<W> {
    e.array(exports.len() as u64)?;
    for f in exports {
        e.array(2)?.str(&f.name)?.array(2)?;
        e.array(2 * f.ty.params.len() as u64)?;
        for (name, ty) in &f.ty.params {
            e.str(name)?;
            encode_type(e, ty)?;
        }
        e.array(f.ty.results.len() as u64)?;
        for ty in &f.ty.results {
            encode_type(e, ty)?;
        }
    }
    Ok(())
}

fn encode_type<W: Write>(e: &mut Encoder<W>, ty: &ValType) -> EncResult<W> {
    if let Some(i) = PRIMITIVES.iter().position(|p| p == ty) {
        e.u8(i as u8)?;
        return Ok(());
    }
    let opt = |e: &mut Encoder<W>, t: Option<&ValType>| match t {
        Some(t) => encode_type(e, t),
        None => e.null().map(|_| ()),
    };
    match ty {
        ValType::List(t) | ValType::Option(t) => {
            let tag = if matches!(ty, ValType::List(_)) {
                LIST
            } else {
                OPTION
            };
            e.array(2)?.u8(tag)?;
            encode_type(e, t)?;
        }
        ValType::Record(fields) => {
            e.array(1 + 2 * fields.len() as u64)?.u8(RECORD)?;
            for (name, t) in fields {
                e.str(name)?;
                encode_type(e, t)?;
            }
        }
        ValType::Tuple(items) => {
            e.array(1 + items.len() as u64)?.u8(TUPLE)?;
            for t in items {
                encode_type(e, t)?;
            }
        }
        ValType::Variant(cases) => {
            e.array(1 + 2 * cases.len() as u64)?.u8(VARIANT)?;
            for (name, t) in cases {
                e.str(name)?;
                opt(e, t.as_ref())?;
            }
        }
        ValType::Enum(names) | ValType::Flags(names) => {
            let tag = if matches!(ty, ValType::Enum(_)) {
                ENUM
            } else {
                FLAGS
            };
            e.array(1 + names.len() as u64)?.u8(tag)?;
            for name in names {
                e.str(name)?;
            }
        }
        ValType::Result { ok, err } => {
            e.array(3)?.u8(RESULT)?;
            opt(e, ok.as_deref())?;
            opt(e, err.as_deref())?;
        }
        ValType::Unsupported(name) => {
            e.array(2)?.u8(UNSUPPORTED)?.str(name)?;
        }
        // The primitives were written above.
        _ => {}
    }
    Ok(())
}

/// Reads `exports` at the decoder's position. With `build` false it only checks (no
/// allocation: the result is empty); with `build` true it also makes the [`ExportedFunc`]s.
pub(super) fn decode(d: &mut Decoder<'_>, build: bool) -> Result<Vec<ExportedFunc>, ManifestError> {
    let len = definite(d.array(), ManifestError("exports are not an array"))?;
    let len = bounded(len, MAX_EXPORTS, ManifestError("more than 64 exports"))?;
    if len == 0 {
        return Err(ManifestError(
            "empty exports (a manifest without them has no key 6)",
        ));
    }
    let mut reader = Reader { nodes: 0, build };
    // The names read so far, to refuse a repeated one without allocating (a device's stack:
    // MAX_EXPORTS references).
    let mut names = [""; MAX_EXPORTS];
    let mut out = Vec::new();
    for i in 0..len {
        const BAD: ManifestError = ManifestError("an export is not [name, functype]");
        if definite(d.array(), BAD)? != 2 {
            return Err(BAD);
        }
        let name = text(d, MAX_EXPORT_NAME_LEN)
            .ok_or(ManifestError("an export name is not text of 1–128 bytes"))?;
        if names[..i].contains(&name) {
            return Err(ManifestError("repeated export name"));
        }
        names[i] = name;
        let ty = reader.func_type(d)?;
        if build {
            out.push(ExportedFunc {
                name: String::from(name),
                ty,
            });
        }
    }
    Ok(out)
}

/// `len` as a `usize` if it is at most `max`.
fn bounded(len: u64, max: usize, too_many: ManifestError) -> Result<usize, ManifestError> {
    usize::try_from(len)
        .ok()
        .filter(|&n| n <= max)
        .ok_or(too_many)
}

/// A text string of 1 to `max` bytes.
fn text<'a>(d: &mut Decoder<'a>, max: usize) -> Option<&'a str> {
    d.str().ok().filter(|s| !s.is_empty() && s.len() <= max)
}

fn label<'a>(d: &mut Decoder<'a>) -> Result<&'a str, ManifestError> {
    text(d, MAX_LABEL_LEN).ok_or(ManifestError("a name in a type is not text of 1–64 bytes"))
}

const TOO_MANY_CASES: ManifestError =
    ManifestError("more than 64 parameters, fields, cases or items");
const WRONG_LENGTH: ManifestError = ManifestError("a type array has the wrong length for its tag");

/// What reading the types of one manifest has used of [`MAX_TYPE_NODES`], and whether it makes
/// values (else it only checks, and every type it returns is a placeholder).
struct Reader {
    nodes: usize,
    build: bool,
}

impl Reader {
    fn func_type(&mut self, d: &mut Decoder<'_>) -> Result<FuncType, ManifestError> {
        const BAD: ManifestError = ManifestError("a function type is not [params, results]");
        if definite(d.array(), BAD)? != 2 {
            return Err(BAD);
        }
        const PARAMS: ManifestError = ManifestError("params are not an array of name, type pairs");
        let len = definite(d.array(), PARAMS)?;
        if len % 2 != 0 {
            return Err(PARAMS);
        }
        let mut ty = FuncType::default();
        for _ in 0..bounded(len / 2, MAX_CASES, TOO_MANY_CASES)? {
            let name = label(d)?;
            let t = self.val_type(d, 1)?;
            if self.build {
                ty.params.push((String::from(name), t));
            }
        }
        let len = definite(d.array(), ManifestError("results are not an array"))?;
        for _ in 0..bounded(len, 1, ManifestError("more than one result"))? {
            let t = self.val_type(d, 1)?;
            if self.build {
                ty.results.push(t);
            }
        }
        Ok(ty)
    }

    /// A type at nesting `depth` (1 for a parameter's or result's own type).
    fn val_type(&mut self, d: &mut Decoder<'_>, depth: usize) -> Result<ValType, ManifestError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(ManifestError("types nest deeper than 16"));
        }
        self.nodes += 1;
        if self.nodes > MAX_TYPE_NODES {
            return Err(ManifestError("more than 1024 types in the exports"));
        }
        const NOT_A_TYPE: ManifestError = ManifestError("a type is not a number or an array");
        match d.datatype().map_err(|_| NOT_A_TYPE)? {
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
                let n = d.u8().map_err(|_| ManifestError("unknown type"))?;
                return PRIMITIVES
                    .get(usize::from(n))
                    .cloned()
                    .ok_or(ManifestError("unknown type"));
            }
            Type::Array | Type::ArrayIndef => {}
            _ => return Err(NOT_A_TYPE),
        }
        let len = definite(d.array(), NOT_A_TYPE)?;
        // The tag, then `items` items.
        let items = len.checked_sub(1).ok_or(WRONG_LENGTH)?;
        let tag = d.u8().map_err(|_| ManifestError("unknown type"))?;
        let exactly = |n: u64| {
            if items == n {
                Ok(())
            } else {
                Err(WRONG_LENGTH)
            }
        };
        // Pairs (name, type) or single items, 1 to MAX_CASES of them.
        let cases = |per: u64| {
            if items == 0 || items % per != 0 {
                return Err(WRONG_LENGTH);
            }
            bounded(items / per, MAX_CASES, TOO_MANY_CASES)
        };
        let inner = depth + 1;
        let build = self.build;
        let placeholder = ValType::Bool;
        Ok(match tag {
            LIST | OPTION => {
                exactly(1)?;
                let t = self.val_type(d, inner)?;
                match (build, tag) {
                    (false, _) => placeholder,
                    (true, LIST) => ValType::List(Box::new(t)),
                    (true, _) => ValType::Option(Box::new(t)),
                }
            }
            RECORD => {
                let mut fields = Vec::new();
                for _ in 0..cases(2)? {
                    let name = label(d)?;
                    let t = self.val_type(d, inner)?;
                    if build {
                        fields.push((String::from(name), t));
                    }
                }
                if build {
                    ValType::Record(fields)
                } else {
                    placeholder
                }
            }
            TUPLE => {
                let mut items = Vec::new();
                for _ in 0..cases(1)? {
                    let t = self.val_type(d, inner)?;
                    if build {
                        items.push(t);
                    }
                }
                if build {
                    ValType::Tuple(items)
                } else {
                    placeholder
                }
            }
            VARIANT => {
                let mut out = Vec::new();
                for _ in 0..cases(2)? {
                    let name = label(d)?;
                    let t = self.optional(d, inner)?;
                    if build {
                        out.push((String::from(name), t));
                    }
                }
                if build {
                    ValType::Variant(out)
                } else {
                    placeholder
                }
            }
            ENUM | FLAGS => {
                let mut names = Vec::new();
                for _ in 0..cases(1)? {
                    let name = label(d)?;
                    if build {
                        names.push(String::from(name));
                    }
                }
                match (build, tag) {
                    (false, _) => placeholder,
                    (true, ENUM) => ValType::Enum(names),
                    (true, _) => ValType::Flags(names),
                }
            }
            RESULT => {
                exactly(2)?;
                let ok = self.optional(d, inner)?;
                let err = self.optional(d, inner)?;
                match build {
                    false => placeholder,
                    true => ValType::Result {
                        ok: ok.map(Box::new),
                        err: err.map(Box::new),
                    },
                }
            }
            UNSUPPORTED => {
                exactly(1)?;
                let name = label(d)?;
                if build {
                    ValType::Unsupported(String::from(name))
                } else {
                    placeholder
                }
            }
            _ => return Err(ManifestError("unknown type")),
        })
    }

    /// A type or `null` (a variant case or a result side without a payload).
    fn optional(
        &mut self,
        d: &mut Decoder<'_>,
        depth: usize,
    ) -> Result<Option<ValType>, ManifestError> {
        if d.datatype().ok() == Some(Type::Null) {
            // Cannot fail: the next item is a null.
            let _ = d.null();
            return Ok(None);
        }
        self.val_type(d, depth).map(Some)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    fn func(name: &str, params: &[(&str, ValType)], results: &[ValType]) -> ExportedFunc {
        ExportedFunc {
            name: name.into(),
            ty: FuncType {
                params: params
                    .iter()
                    .map(|(n, t)| ((*n).into(), t.clone()))
                    .collect(),
                results: results.to_vec(),
            },
        }
    }

    fn list(t: ValType) -> ValType {
        ValType::List(Box::new(t))
    }

    fn coap_err() -> ValType {
        ValType::Enum(vec![
            "not-found".into(),
            "internal-server-error".into(),
            "handler-not-built".into(),
        ])
    }

    /// What `trevm build --vm wasmi` lists for a payload of the `coap-server` world.
    pub(crate) fn coap_server() -> Vec<ExportedFunc> {
        let iface = "ariel:wasm-bindings/coap-server-guest@0.0.1";
        let result = |ok: Option<ValType>| ValType::Result {
            ok: ok.map(Box::new),
            err: Some(Box::new(coap_err())),
        };
        vec![
            func(
                &format!("{iface}#coap-run"),
                &[
                    ("code", ValType::U8),
                    ("observed-len", ValType::U32),
                    ("message", list(ValType::U8)),
                ],
                &[result(Some(ValType::Tuple(vec![
                    ValType::U8,
                    list(ValType::U8),
                ])))],
            ),
            func(
                &format!("{iface}#report"),
                &[],
                &[result(Some(list(ValType::String)))],
            ),
            func(
                &format!("{iface}#initialize-handler"),
                &[],
                &[ValType::Result {
                    ok: None,
                    err: None,
                }],
            ),
        ]
    }

    /// One of every kind of type.
    fn every_kind() -> Vec<ExportedFunc> {
        let mut params: Vec<(String, ValType)> = PRIMITIVES
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("p{i}"), t.clone()))
            .collect();
        params.extend([
            (
                "r".into(),
                ValType::Record(vec![
                    ("a".into(), ValType::U8),
                    ("b".into(), list(ValType::S64)),
                ]),
            ),
            (
                "v".into(),
                ValType::Variant(vec![
                    ("none".into(), None),
                    ("some".into(), Some(ValType::Char)),
                ]),
            ),
            ("o".into(), ValType::Option(Box::new(ValType::Float32))),
            ("f".into(), ValType::Flags(vec!["x".into(), "y".into()])),
            ("h".into(), ValType::Unsupported("resource".into())),
            (
                "e".into(),
                ValType::Result {
                    ok: None,
                    err: Some(Box::new(ValType::String)),
                },
            ),
        ]);
        vec![
            ExportedFunc {
                name: "every".into(),
                ty: FuncType {
                    params,
                    results: vec![ValType::Tuple(vec![coap_err(), ValType::Bool])],
                },
            },
            func("run", &[], &[ValType::String]),
            func("nothing", &[], &[]),
        ]
    }

    struct Out(Vec<u8>);

    impl Write for Out {
        type Error = core::convert::Infallible;

        fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
            self.0.extend_from_slice(buf);
            Ok(())
        }
    }

    fn to_cbor(exports: &[ExportedFunc]) -> Vec<u8> {
        let mut e = Encoder::new(Out(Vec::new()));
        encode(&mut e, exports).unwrap();
        e.into_writer().0
    }

    fn read(bytes: &[u8]) -> Result<Vec<ExportedFunc>, &'static str> {
        let mut d = Decoder::new(bytes);
        // The checking pass accepts and refuses exactly what the building pass does.
        let checked = decode(&mut d, false).map(|v| (v.is_empty(), d.position()));
        let mut d = Decoder::new(bytes);
        let built = decode(&mut d, true).map(|v| (v, d.position()));
        match (checked, built) {
            (Ok((true, a)), Ok((v, b))) if a == b && b == bytes.len() => Ok(v),
            (Err(a), Err(b)) if a == b => Err(a.0),
            other => panic!("the passes disagree or bytes are left: {other:?}"),
        }
    }

    #[test]
    fn every_kind_of_type_round_trips() {
        for exports in [every_kind(), coap_server()] {
            assert_eq!(read(&to_cbor(&exports)), Ok(exports));
        }
    }

    #[test]
    fn fib_is_compact() {
        let bytes = to_cbor(&[func("fib", &[("n", ValType::U32)], &[ValType::U32])]);
        // [["fib", [["n", 6], [6]]]]
        assert_eq!(
            bytes,
            [
                0x81, 0x82, 0x63, b'f', b'i', b'b', 0x82, 0x82, 0x61, b'n', 6, 0x81, 6
            ]
        );
    }

    /// `[[name, [params, results]]]` for one export whose only result has the CBOR `ty`.
    fn returning(ty: &[u8]) -> Vec<u8> {
        let mut out = vec![0x81, 0x82, 0x61, b'f', 0x82, 0x80, 0x81];
        out.extend_from_slice(ty);
        out
    }

    /// A type nested `depth` deep: `list<list<…<u8>>>`.
    fn nested(depth: usize) -> Vec<u8> {
        let mut out = [0x82, LIST].repeat(depth - 1);
        out.push(2);
        out
    }

    #[test]
    fn each_refusal_says_why() {
        assert_eq!(read(&[0xa0]), Err("exports are not an array"));
        assert_eq!(read(&[0x9f, 0xff]), Err("indefinite-length CBOR"));
        assert_eq!(
            read(&[0x80]),
            Err("empty exports (a manifest without them has no key 6)")
        );
        let f = |i: usize| func(&format!("f{i}"), &[], &[]);
        let many: Vec<_> = (0..=MAX_EXPORTS).map(f).collect();
        assert_eq!(read(&to_cbor(&many)), Err("more than 64 exports"));
        assert_eq!(read(&to_cbor(&many[..MAX_EXPORTS])).unwrap().len(), 64);
        // A huge declared count is refused before anything is read.
        assert_eq!(
            read(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err("more than 64 exports")
        );
        assert_eq!(
            read(&[0x81, 0x81, 0x61, b'f']),
            Err("an export is not [name, functype]")
        );
        let named = |name: &str| to_cbor(&[func(name, &[], &[])]);
        let bad_name = Err("an export name is not text of 1–128 bytes");
        assert_eq!(read(&named("")), bad_name);
        assert_eq!(read(&named(&"n".repeat(129))), bad_name);
        assert!(read(&named(&"n".repeat(128))).is_ok());
        assert_eq!(read(&[0x81, 0x82, 0x41, b'f', 0x82, 0x80, 0x80]), bad_name);
        assert_eq!(
            read(&to_cbor(&[f(1), f(2), f(1)])),
            Err("repeated export name")
        );
        assert_eq!(
            read(&[0x81, 0x82, 0x61, b'f', 0x81, 0x80]),
            Err("a function type is not [params, results]")
        );
        let params = Err("params are not an array of name, type pairs");
        assert_eq!(
            read(&[0x81, 0x82, 0x61, b'f', 0x82, 0x81, 0x61, b'n', 0x80]),
            params
        );
        assert_eq!(read(&[0x81, 0x82, 0x61, b'f', 0x82, 0xa0, 0x80]), params);
        let too_many = Err("more than 64 parameters, fields, cases or items");
        let wide: Vec<(String, ValType)> = (0..=MAX_CASES)
            .map(|i| (format!("p{i}"), ValType::U8))
            .collect();
        let mut wide_fn = f(0);
        wide_fn.ty.params = wide.clone();
        assert_eq!(read(&to_cbor(&[wide_fn.clone()])), too_many);
        wide_fn.ty.params.pop();
        assert!(read(&to_cbor(&[wide_fn])).is_ok());
        for wide_type in [
            ValType::Record(wide.clone()),
            ValType::Tuple(wide.iter().map(|(_, t)| t.clone()).collect()),
            ValType::Variant(wide.iter().map(|(n, _)| (n.clone(), None)).collect()),
            ValType::Enum(wide.iter().map(|(n, _)| n.clone()).collect()),
            ValType::Flags(wide.iter().map(|(n, _)| n.clone()).collect()),
        ] {
            assert_eq!(read(&to_cbor(&[func("f", &[], &[wide_type])])), too_many);
        }
        assert_eq!(
            read(&[0x81, 0x82, 0x61, b'f', 0x82, 0x80, 0xa0]),
            Err("results are not an array")
        );
        assert_eq!(
            read(&[0x81, 0x82, 0x61, b'f', 0x82, 0x80, 0x82, 2, 2]),
            Err("more than one result")
        );
        let bad_label = Err("a name in a type is not text of 1–64 bytes");
        let long = "l".repeat(65);
        assert_eq!(
            read(&to_cbor(&[func("f", &[("", ValType::U8)], &[])])),
            bad_label
        );
        assert_eq!(
            read(&to_cbor(&[func("f", &[(&long, ValType::U8)], &[])])),
            bad_label
        );
        assert_eq!(
            read(&to_cbor(&[func(
                "f",
                &[],
                &[ValType::Enum(vec![long.clone()])]
            )])),
            bad_label
        );
        assert_eq!(
            read(&to_cbor(&[func("f", &[], &[ValType::Unsupported(long)])])),
            bad_label
        );
        let not_a_type = Err("a type is not a number or an array");
        assert_eq!(read(&returning(&[0x61, b'u'])), not_a_type);
        assert_eq!(read(&returning(&[0x20])), not_a_type);
        assert_eq!(read(&returning(&[0xf6])), not_a_type);
        assert_eq!(
            read(&returning(&[0x9f, LIST, 2, 0xff])),
            Err("indefinite-length CBOR")
        );
        assert_eq!(read(&returning(&[13])), Err("unknown type"));
        assert_eq!(read(&returning(&[0x19, 0x01, 0x00])), Err("unknown type"));
        assert_eq!(read(&returning(&[0x82, 22, 2])), Err("unknown type"));
        assert_eq!(
            read(&returning(&[0x82, 0x61, b't', 2])),
            Err("unknown type")
        );
        let wrong_length = Err("a type array has the wrong length for its tag");
        for ty in [
            &[0x80][..],
            &[0x81, LIST],
            &[0x83, OPTION, 2, 2],
            &[0x81, RECORD],
            &[0x82, RECORD, 0x61, b'a'],
            &[0x81, TUPLE],
            &[0x81, VARIANT],
            &[0x81, ENUM],
            &[0x81, FLAGS],
            &[0x82, RESULT, 0xf6],
            &[0x83, UNSUPPORTED, 0x61, b'r', 0x61, b'r'],
        ] {
            assert_eq!(read(&returning(ty)), wrong_length, "{ty:x?}");
        }
        assert!(read(&returning(&nested(MAX_TYPE_DEPTH))).is_ok());
        assert_eq!(
            read(&returning(&nested(MAX_TYPE_DEPTH + 1))),
            Err("types nest deeper than 16")
        );
        // 16 exports of 64 parameters each: 1024 types, then one more.
        let full: Vec<(String, ValType)> = (0..MAX_CASES)
            .map(|i| (format!("p{i}"), ValType::U8))
            .collect();
        let mut fs: Vec<ExportedFunc> = (0..16)
            .map(|i| {
                let mut g = f(i);
                g.ty.params = full.clone();
                g
            })
            .collect();
        assert!(read(&to_cbor(&fs)).is_ok());
        fs.push(func("last", &[], &[ValType::U8]));
        assert_eq!(
            read(&to_cbor(&fs)),
            Err("more than 1024 types in the exports")
        );
        // Every truncation is refused without a panic.
        let bytes = to_cbor(&every_kind());
        for cut in 0..bytes.len() {
            let mut d = Decoder::new(&bytes[..cut]);
            assert!(decode(&mut d, true).is_err());
        }
    }
}
