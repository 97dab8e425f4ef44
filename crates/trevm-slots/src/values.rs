//! WIT values as the ephemeral slot shows them: `fibonacci(40) returned 102334155`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use trevm::Val;

/// `fibonacci(40)`.
pub(crate) fn describe_call(export: &str, args: &[Val]) -> String {
    let args: Vec<String> = args.iter().map(show_value).collect();
    format!("{export}({})", args.join(", "))
}

pub(crate) fn show_values(values: &[Val]) -> String {
    let shown: Vec<String> = values.iter().map(show_value).collect();
    shown.join(", ")
}

/// Numbers, booleans and strings as WIT values read; anything else in Rust's debug form.
fn show_value(v: &Val) -> String {
    match v {
        Val::Bool(b) => b.to_string(),
        Val::S8(n) => n.to_string(),
        Val::U8(n) => n.to_string(),
        Val::S16(n) => n.to_string(),
        Val::U16(n) => n.to_string(),
        Val::S32(n) => n.to_string(),
        Val::U32(n) => n.to_string(),
        Val::S64(n) => n.to_string(),
        Val::U64(n) => n.to_string(),
        Val::Float32(n) => n.to_string(),
        Val::Float64(n) => n.to_string(),
        Val::String(s) => format!("{s:?}"),
        other => format!("{other:?}"),
    }
}
