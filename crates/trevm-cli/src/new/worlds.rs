//! The worlds `trevm new` starts a capsule from: each a world of the repository's `wit/`, the
//! template of its `src/lib.rs`, its memory, and how to run and deploy it.

use super::wit;

/// One world `trevm new --world` offers.
#[derive(Debug)]
pub(crate) struct World {
    /// The short name given to `--world`.
    pub(crate) name: &'static str,
    /// Other names `--world` accepts for it.
    pub(crate) aliases: &'static [&'static str],
    /// The WIT world it implements (in the package `example:example`).
    pub(crate) wit_world: &'static str,
    /// The text of the WIT file that defines it.
    pub(crate) wit: &'static str,
    /// One line for `trevm new --list`.
    pub(crate) summary: &'static str,
    /// The template of `src/lib.rs`.
    pub(crate) lib_rs: &'static str,
    /// `trevm-guest` features beyond its defaults (e.g. a smaller heap), as TOML, e.g.
    /// `, features = ["heap-4k"]`.
    pub(crate) guest_features: &'static str,
    /// `[package.metadata.trevm] initial-memory`: heap arena + data + stack, in bytes.
    pub(crate) initial_memory: u32,
    /// `[package.metadata.trevm] stack-size`, in bytes.
    pub(crate) stack_size: u32,
    /// The template uses `trevm-coap`'s request decoding (a path dependency beside trevm-guest).
    pub(crate) needs_trevm_coap: bool,
    /// What follows `trevm run NAME` to run it (empty: its default call does).
    pub(crate) run_args: &'static str,
    /// What that run prints (for the README and `trevm new`'s output).
    pub(crate) run_says: &'static str,
    /// The `trevm serve` arguments of a device on this machine that takes it.
    pub(crate) serve_args: &'static str,
    /// The resource a capsule of this world is pushed to, below the device's URL.
    pub(crate) push_to: &'static str,
    /// What to do after pushing it (a command line), or "".
    pub(crate) after_push: &'static str,
    /// A paragraph of the README on what the device does with it.
    pub(crate) on_a_device: &'static str,
}

/// The heap arena (4 KiB) + data + a 4 KiB shadow stack, with room to spare.
const SMALL: u32 = 12 * 1024;
const STACK: u32 = 4 * 1024;

/// Every world `trevm new` offers, in `--list` order.
pub(crate) const WORLDS: &[World] = &[
    World {
        name: "sandbox",
        aliases: &[],
        wit_world: "example-sandbox-no-bindings",
        wit: wit::SANDBOX,
        summary: "no imports; run() returns a string (a device answers GET /sandbox/NAME with it)",
        lib_rs: include_str!("../../templates/lib/sandbox.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: 10 * 1024,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: "",
        run_says: "prints \"Hello from {{name}}!\"",
        serve_args: " --policy open.yml",
        push_to: "sandbox/{{name}}",
        after_push: "trevm call coap://127.0.0.1/sandbox/{{name}}   # Hello from {{name}}!",
        on_a_device: "A device runs `run()` on each `GET /sandbox/{{name}}` and answers with the \
            string it returns; the sandbox grants no host interfaces.",
    },
    World {
        name: "persistent",
        aliases: &["coap-server"],
        wit_world: "example-coap-server",
        wit: wit::COAP_SERVER,
        summary: "a persistent capsule serving CoAP resources under /vm (imports log)",
        lib_rs: include_str!("../../templates/lib/persistent.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: true,
        run_args: " --invoke initialize-handler --invoke report",
        run_says: "logs \"{{name}}: Hello from {{name}}! Serving GET /vm/hello\", prints ok and ok([\"hello\"])",
        serve_args: " --policy open.yml",
        push_to: "vm-control",
        after_push: "trevm call coap://127.0.0.1/vm/hello   # Hello from {{name}}!",
        on_a_device: "A device calls `initialize-handler()` once, lists `report()`'s resources \
            under `/vm` in its `/.well-known/core`, and hands each request to one of them to \
            `coap-run` (the request's options and payload; the capsule answers with a code, \
            options and payload, decoded and encoded with `trevm-coap`'s `message` module). \
            The world also imports `uppercase(input: string) -> string`, which `trevm serve` \
            provides: only what the capsule calls becomes an import.",
    },
    World {
        name: "ephemeral",
        aliases: &[],
        wit_world: "example-ephemeral-with-bindings",
        wit: wit::EPHEMERAL,
        summary: "started once in the background: reads the temperature, adds noise (imports sensors, log, rng)",
        lib_rs: include_str!("../../templates/lib/ephemeral.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: "",
        run_says: "logs \"{{name}}: Hello from {{name}}!\" and the temperature",
        serve_args: " --policy open.yml --grant ephemeral=log,sensors,rng",
        push_to: "ephemeral",
        after_push: "trevm call coap://127.0.0.1/ephemeral   # how the call ended",
        on_a_device: "A device's ephemeral slot starts `mess-with-temperature()` once in the \
            background when the capsule is uploaded (the answer does not wait for it); \
            `DELETE /ephemeral` stops it.",
    },
    World {
        name: "async",
        aliases: &[],
        wit_world: "example-async",
        wit: wit::ASYNC,
        summary: "run() logs, draws random numbers and sleeps (imports log, time, rng)",
        lib_rs: include_str!("../../templates/lib/async.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: "",
        run_says: "logs \"{{name}}: Hello from {{name}}!\", a random number and the uptime",
        serve_args: " --policy open.yml --grant ephemeral=log,time,rng",
        push_to: "ephemeral",
        after_push: "trevm call coap://127.0.0.1/ephemeral   # how the call ended",
        on_a_device: "A device's ephemeral slot starts `run()` once in the background when the \
            capsule is uploaded; while it sleeps, the device runs its other tasks.",
    },
    World {
        name: "gpio",
        aliases: &["blinky"],
        wit_world: "example-gpio",
        wit: wit::GPIO,
        summary: "blinky(): the board's LED and button (imports log, gpio, time)",
        lib_rs: include_str!("../../templates/lib/gpio.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: "",
        run_says: "logs \"{{name}}: Hello from {{name}}! Blinking the LED 3 times\"",
        serve_args: " --policy open.yml --grant ephemeral=log,gpio,time",
        push_to: "ephemeral",
        after_push: "trevm call coap://127.0.0.1/ephemeral   # how the call ended",
        on_a_device: "A device's ephemeral slot starts `blinky()` once in the background when \
            the capsule is uploaded. On the native board (`trevm run`), Enter presses the \
            button and the LED is simulated.",
    },
    World {
        name: "sensors",
        aliases: &[],
        wit_world: "example-sensors",
        wit: wit::SENSORS,
        summary: "monitor-temperature(): reads the temperature sensor periodically (imports sensors, log, time)",
        lib_rs: include_str!("../../templates/lib/sensors.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: "",
        run_says: "logs \"{{name}}: Hello from {{name}}!\" and three temperatures",
        serve_args: " --policy open.yml --grant ephemeral=log,sensors,time",
        push_to: "ephemeral",
        after_push: "trevm call coap://127.0.0.1/ephemeral   # how the call ended",
        on_a_device: "A device's ephemeral slot starts `monitor-temperature()` once in the \
            background when the capsule is uploaded. The native board simulates a temperature \
            sensor (a slow wave from 20 °C).",
    },
    World {
        name: "udp",
        aliases: &[],
        wit_world: "example-udp",
        wit: wit::UDP,
        summary: "bind-socket(port), then run() again and again: a UDP echo (imports log, udp)",
        lib_rs: include_str!("../../templates/lib/udp.rs"),
        // A datagram is up to 1472 bytes: the default 16 KiB arena.
        guest_features: "",
        initial_memory: 24 * 1024,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: " --invoke 'bind-socket(4242)' --invoke run --every 10ms --times 300",
        run_says: "logs \"{{name}}: Hello from {{name}}! Listening on UDP port 4242\" and echoes \
            datagrams upper-cased for about 5 s (try: echo hi | nc -u -w1 127.0.0.1 4242)",
        serve_args: " --policy open.yml --grant ephemeral=log,udp",
        push_to: "ephemeral",
        after_push: "",
        on_a_device: "A device calls `bind-socket(port)` once, then `run()` from its main loop, \
            as `trevm run --every` does. `trevm serve`'s slots do not drive that loop yet: its \
            ephemeral slot starts `run()` once, which logs that the socket is not bound and \
            returns.",
    },
    World {
        name: "ble",
        aliases: &["ble-scanner"],
        wit_world: "example-ble-scanner",
        wit: wit::BLE,
        summary: "on-single-report(addr) for each BLE advertisement seen, return-stats() (imports log)",
        lib_rs: include_str!("../../templates/lib/ble.rs"),
        guest_features: r#", features = ["heap-4k"]"#,
        initial_memory: SMALL,
        stack_size: STACK,
        needs_trevm_coap: false,
        run_args: " --invoke 'on-single-report({a: 1, b: 2, c: 3, d: 4, e: 5, f: 6})' --invoke return-stats",
        run_says: "logs \"{{name}}: Hello from {{name}}! New device 01:02:03:04:05:06\" and \
            prints ok and the counts",
        serve_args: " --policy open.yml",
        push_to: "ephemeral",
        after_push: "",
        on_a_device: "A device with a BLE radio hands the capsule each advertising report it \
            scans (`on-single-report`) and asks it for `return-stats()`. `trevm serve` has no \
            BLE radio: its ephemeral slot starts `return-stats()` once (an empty list).",
    },
];

/// The world named `name`: its short name, an alias, or its WIT world's name.
pub(crate) fn find(name: &str) -> Option<&'static World> {
    WORLDS
        .iter()
        .find(|w| w.name == name || w.aliases.contains(&name) || w.wit_world == name)
}

/// The short names, for error messages: `sandbox, persistent, …`.
pub(crate) fn names() -> String {
    WORLDS.iter().map(|w| w.name).collect::<Vec<_>>().join(", ")
}

/// `trevm new --list`: one line per world: its name, its WIT world, what it is.
pub(crate) fn list() -> String {
    let width = WORLDS.iter().map(|w| w.name.len()).max().unwrap_or(0);
    let wit_width = WORLDS.iter().map(|w| w.wit_world.len()).max().unwrap_or(0);
    let mut out = String::new();
    for w in WORLDS {
        out.push_str(&format!(
            "{:width$}  {:wit_width$}  {}\n",
            w.name, w.wit_world, w.summary
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_are_found_by_short_name_alias_or_wit_name_and_names_are_unique() {
        assert_eq!(find("persistent").map(|w| w.name), Some("persistent"));
        assert_eq!(find("coap-server").map(|w| w.name), Some("persistent"));
        assert_eq!(find("example-udp").map(|w| w.name), Some("udp"));
        assert!(find("example").is_none() && find("").is_none());
        let mut all: Vec<&str> = WORLDS
            .iter()
            .flat_map(|w| {
                [w.name, w.wit_world]
                    .into_iter()
                    .chain(w.aliases.iter().copied())
            })
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "a name is used twice");
    }
}
