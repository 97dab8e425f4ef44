//! Trap messages: Wasmtime's description plus a short, folded wasm backtrace.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use wasmtime::Trap;

/// `unreachable instruction executed` plus a short backtrace in which runs of the same frame (deep
/// recursion) are folded, so a stack overflow does not print thousands of lines.
pub(super) fn describe_trap(trap: &Trap, backtrace: Option<&wasmtime::WasmBacktrace>) -> String {
    const MAX_LINES: usize = 8;
    let mut out = format!("{trap}");
    let Some(bt) = backtrace else { return out };
    let frame = |f: &wasmtime::FrameInfo| {
        let name = f.func_name().map_or_else(
            || format!("wasm function {}", f.func_index()),
            |n| n.to_string(),
        );
        match f.module_offset() {
            Some(off) => format!("{name} @ {off:#x}"),
            None => name,
        }
    };
    let mut lines = Vec::new();
    let mut frames = bt.frames().iter().map(frame).peekable();
    while let Some(f) = frames.next() {
        let mut repeats = 1usize;
        while frames.peek() == Some(&f) {
            frames.next();
            repeats += 1;
        }
        if lines.len() == MAX_LINES {
            lines.push("…".to_string());
            break;
        }
        lines.push(if repeats > 1 {
            format!("{f} (×{repeats})")
        } else {
            f
        });
    }
    if !lines.is_empty() {
        out.push_str("; backtrace: ");
        out.push_str(&lines.join(" ← "));
    }
    out
}
