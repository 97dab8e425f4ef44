//! `trevm build --vm wasmi` (target `wasm`): the capsule carries the payload's core module
//! without its WIT world, and a manifest that lists the exports' types.

use std::path::PathBuf;

use trevm::capsule::TrailerKind;
use trevm::{Capsule, EngineProfile, ExportedFunc, Preemption, Target};
use trevm_build::{BuildError, BuildOptions, Signing, Stage};

fn payload(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../payloads")
        .join(name)
}

fn wasmi(signing: Signing) -> BuildOptions {
    BuildOptions {
        profile: EngineProfile::wasmi(Preemption::Fuel),
        quiet: true,
        signing,
        ..Default::default()
    }
}

/// Checks the payload is a valid core module (custom page sizes on, as the payloads use) with
/// no `component-type` section, and returns its exports' names.
fn plain_module_exports(module: &[u8]) -> Vec<String> {
    let features =
        wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::CUSTOM_PAGE_SIZES;
    wasmparser::Validator::new_with_features(features)
        .validate_all(module)
        .expect("a valid core module");
    let mut exports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.expect("parses") {
            wasmparser::Payload::Version { encoding, .. } => {
                assert_eq!(encoding, wasmparser::Encoding::Module)
            }
            wasmparser::Payload::CustomSection(c) => {
                assert!(!c.name().starts_with("component-type"), "{}", c.name())
            }
            wasmparser::Payload::ExportSection(s) => {
                exports.extend(s.into_iter().map(|e| e.expect("export").name.to_string()))
            }
            _ => {}
        }
    }
    exports
}

fn manifest_exports(capsule: &Capsule<'_>) -> Vec<ExportedFunc> {
    trevm::trust::claimed_manifest(capsule)
        .expect("a readable manifest")
        .expect("a manifest")
        .0
        .exports
}

#[test]
fn fibonacci_becomes_a_plain_wasm_capsule_with_its_export_types() {
    let built = trevm_build::build(&payload("fibonacci"), &wasmi(Signing::Unsigned)).unwrap();
    let capsule = Capsule::from_slice(&built.capsule).unwrap();
    assert_eq!(capsule.profile(), EngineProfile::wasmi(Preemption::Fuel));
    assert_eq!(capsule.header().stamp.wasmtime_major, 0);
    assert_eq!(capsule.header().trailer_kind, TrailerKind::Manifest);
    let stages: Vec<Stage> = built.stages.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        stages,
        [
            Stage::CoreModule,
            Stage::Component,
            Stage::PlainModule,
            Stage::Capsule
        ]
    );
    // The payload is smaller than the core module by the WIT world.
    assert!(built.stages[2].1 < built.stages[0].1, "{:?}", built.stages);
    assert_eq!(capsule.payload().len(), built.stages[2].1);
    let exports = plain_module_exports(capsule.payload());
    assert!(exports.iter().any(|e| e == "fibonacci"), "{exports:?}");
    let listed = manifest_exports(&capsule);
    assert_eq!(built.exports, listed);
    let described: Vec<String> = listed.iter().map(ToString::to_string).collect();
    assert_eq!(described, ["fibonacci(n: u32) -> u32"]);
    // Every export the manifest lists is one of the core module's.
    assert!(listed.iter().all(|f| exports.contains(&f.name)));
    assert!(built.imports.is_empty(), "{:?}", built.imports);
}

#[test]
fn a_coap_server_signs_its_interface_exports_under_their_full_names() {
    let dir = tempfile::tempdir().unwrap();
    let key = trevm_sign::SigningKey::generate();
    let (private, public) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
    key.write_files(&private, &public).unwrap();
    let built =
        trevm_build::build(&payload("coap-persistent"), &wasmi(Signing::Key(private))).unwrap();
    let signed = trevm_sign::verify(&built.capsule, &[key.trusted("test")]).unwrap();
    let iface = "ariel:wasm-bindings/coap-server-guest@0.0.1";
    let names: Vec<&str> = signed
        .manifest
        .exports
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            format!("{iface}#coap-run"),
            format!("{iface}#report"),
            format!("{iface}#initialize-handler")
        ]
    );
    assert_eq!(
        signed.manifest.exports[0].ty.to_string(),
        "func(code: u8, observed-len: u32, message: list<u8>) -> result<tuple<u8, list<u8>>, \
         enum { not-found, internal-server-error, handler-not-built }>"
    );
    assert_eq!(
        signed.manifest.grants,
        ["ariel:wasm-bindings/log-api@0.0.1", "uppercase"]
    );
    let capsule = Capsule::from_slice(&built.capsule).unwrap();
    let core_exports = plain_module_exports(capsule.payload());
    for f in &signed.manifest.exports {
        assert!(
            core_exports.contains(&f.name),
            "{} not in {core_exports:?}",
            f.name
        );
    }
    // Far below the 4096-byte trailer bound.
    assert!(
        capsule.trailer().len() < 1024,
        "{}",
        capsule.trailer().len()
    );
}

#[test]
fn a_component_or_epochs_are_refused_for_the_wasmi_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pulley = BuildOptions {
        profile: EngineProfile::pulley64(Preemption::Fuel),
        ..wasmi(Signing::Unsigned)
    };
    let built = trevm_build::build(&payload("fibonacci"), &pulley).unwrap();
    assert!(built.exports.is_empty());
    let component = dir.path().join("fibonacci.wasm");
    std::fs::write(&component, &built.component).unwrap();
    let err = trevm_build::build(&component, &wasmi(Signing::Unsigned)).unwrap_err();
    assert!(matches!(err, BuildError::ComponentForWasmi(_)), "{err}");
    assert!(
        err.to_string().contains(
            "the wasmi provider runs core modules: give the payload crate or its core module"
        ),
        "{err}"
    );
    let epoch = BuildOptions {
        profile: EngineProfile {
            target: Target::Wasm,
            preemption: Preemption::Epoch,
        },
        ..wasmi(Signing::Unsigned)
    };
    let err = trevm_build::build(&payload("fibonacci"), &epoch).unwrap_err();
    assert!(matches!(err, BuildError::EpochOnWasmi), "{err}");
}
