//! Conventions of a board program (the examples): its one optional argument, and its exit status.

use crate::NativeBoard;

/// Ends a board program: exit status 0 for `Ok`, else prints the error as a board line and exits
/// with 1.
pub fn exit(board: &NativeBoard, result: Result<(), impl std::fmt::Display>) -> ! {
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            board.log().board(&format!("error: {e}"));
            1
        }
    };
    std::process::exit(code)
}

/// The program's first command-line argument parsed as `T`, or `default` without one; a value
/// that does not parse is an error naming `what` was expected.
pub fn first_arg<T: std::str::FromStr>(default: T, what: &str) -> Result<T, String> {
    match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|_| format!("`{s}` is not {what}")),
        None => Ok(default),
    }
}
