//! The real payloads' core modules (what `trevm build --vm wasmi` ships), whose wit-bindgen
//! code reads and writes the canonical-ABI layouts the host hand-codes.
