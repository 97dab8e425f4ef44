//! What a build produced: the capsule and the size of each stage.

use std::fmt;

use crate::EngineProfile;

/// One step of the pipeline and the size of what it produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The core module from cargo.
    CoreModule,
    /// The component from wit-component.
    Component,
    /// Wasmtime's precompiled code.
    Precompiled,
    /// The core module without its WIT world: the payload of a plain-wasm capsule (wasmi).
    PlainModule,
    /// The capsule (header + payload + manifest).
    Capsule,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::CoreModule => "core module",
            Stage::Component => "component",
            Stage::Precompiled => "precompiled (.cwasm)",
            Stage::PlainModule => "plain module (payload)",
            Stage::Capsule => "capsule",
        })
    }
}

/// The result of [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    /// Capsule name.
    pub name: String,
    /// The capsule bytes, ready for [`trevm::Capsule::from_vec`] or a file.
    pub capsule: Vec<u8>,
    /// The component (useful for inspection).
    pub component: Vec<u8>,
    /// Size of each stage, in order.
    pub stages: Vec<(Stage, usize)>,
    /// Profile used.
    pub profile: EngineProfile,
    /// The component's imports: the grants its manifest lists.
    pub imports: Vec<String>,
    /// The exported functions' types the manifest lists (a plain-wasm capsule's; empty for
    /// precompiled code, whose types are in it).
    pub exports: Vec<trevm::ExportedFunc>,
    /// The manifest's version.
    pub version: u64,
    /// The signer's key id, if signed.
    pub signer: Option<trevm::trust::KeyId>,
}

impl Built {
    /// A one-line-per-stage size report.
    pub fn size_report(&self) -> String {
        let mut s = String::new();
        for (stage, size) in &self.stages {
            s.push_str(&format!("  {:<22} {:>9} bytes\n", stage.to_string(), size));
        }
        s
    }
}
