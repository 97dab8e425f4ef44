//! Example capsule for the world `example-ephemeral-no-bindings`: `fibonacci(n)`, computed with
//! the naive recursion on purpose, so that benchmarks compare the same work natively and in the VM.
#![no_std]

// Panic handler and (always-failing) allocator.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-ephemeral-no-bindings",
    path: "../../wit",
    generate_all,
});

struct Capsule;

impl Guest for Capsule {
    fn fibonacci(n: u32) -> u32 {
        fib(n)
    }
}

export!(Capsule);

/// `fib(0) = 0`, `fib(1) = 1`, `fib(n) = fib(n - 1) + fib(n - 2)` (wrapping on overflow).
fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}
