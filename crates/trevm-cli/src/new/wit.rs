//! The WIT files `trevm new` writes into a new crate, embedded from the repository's `wit/` when
//! the CLI is built: a crate made by `trevm new` builds anywhere, not only inside this tree.

/// The `ariel:wasm-bindings@0.0.1` package (`wit/deps/ariel`): every host interface a world may
/// import or export, as (file name, text). A new crate gets all of them in `wit/deps/ariel/`.
pub(crate) const ARIEL_DEPS: &[(&str, &str)] = &[
    (
        "ble.wit",
        include_str!("../../../../wit/deps/ariel/ble.wit"),
    ),
    (
        "coap-server.wit",
        include_str!("../../../../wit/deps/ariel/coap-server.wit"),
    ),
    (
        "gpio.wit",
        include_str!("../../../../wit/deps/ariel/gpio.wit"),
    ),
    (
        "log.wit",
        include_str!("../../../../wit/deps/ariel/log.wit"),
    ),
    (
        "rng.wit",
        include_str!("../../../../wit/deps/ariel/rng.wit"),
    ),
    (
        "sensors.wit",
        include_str!("../../../../wit/deps/ariel/sensors.wit"),
    ),
    (
        "time.wit",
        include_str!("../../../../wit/deps/ariel/time.wit"),
    ),
    (
        "udp.wit",
        include_str!("../../../../wit/deps/ariel/udp.wit"),
    ),
];

/// `wit/example-sandbox-no-bindings.wit`.
pub(crate) const SANDBOX: &str = include_str!("../../../../wit/example-sandbox-no-bindings.wit");
/// `wit/example-coap-server.wit`.
pub(crate) const COAP_SERVER: &str = include_str!("../../../../wit/example-coap-server.wit");
/// `wit/example-ephemeral-with-bindings.wit`.
pub(crate) const EPHEMERAL: &str =
    include_str!("../../../../wit/example-ephemeral-with-bindings.wit");
/// `wit/example-async.wit`.
pub(crate) const ASYNC: &str = include_str!("../../../../wit/example-async.wit");
/// `wit/example-gpio.wit`.
pub(crate) const GPIO: &str = include_str!("../../../../wit/example-gpio.wit");
/// `wit/example-sensors.wit`.
pub(crate) const SENSORS: &str = include_str!("../../../../wit/example-sensors.wit");
/// `wit/example-udp.wit`.
pub(crate) const UDP: &str = include_str!("../../../../wit/example-udp.wit");
/// `wit/example-ble-scanner.wit`.
pub(crate) const BLE: &str = include_str!("../../../../wit/example-ble-scanner.wit");

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_of_the_ariel_package_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/deps/ariel");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("wit/deps/ariel")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = super::ARIEL_DEPS.iter().map(|(f, _)| *f).collect();
        assert_eq!(embedded, on_disk);
    }
}
