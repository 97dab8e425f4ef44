//! `trevm`: build, inspect, sign and run capsules, and talk to devices.
//!
//! - `main.rs`: the command table, `build`, `inspect`, and output helpers ([`outln!`]);
//! - [`args`]: the argument types and how they become build options;
//! - [`run`]: `trevm run` on the native board;
//! - [`signing`]: `keygen`, `sign`, `verify`, and what `inspect` shows of signatures;
//! - [`coap_cmds`] on [`coap_client`]: `push`, `call`, `ls`; with `--credentials`, EDHOC + OSCORE
//!   ([`trevm_cli::oscore_client`]) with an aiocoap-style credentials file
//!   ([`trevm_cli::credentials`]); the client modules are the crate's library (`lib.rs`);
//! - [`fleet`]: `trevm fleet ls` and `trevm fleet push` on a CoAP Resource Directory;
//! - [`new`]: `trevm new`, a capsule crate from a template;
//! - [`completions`], [`manpage`]: `trevm completions`, `trevm man`, from the definition below;
//! - [`logs`]: `trevm logs`, a device's `/logs` observed; [`dev`]: `trevm dev`, build, push and
//!   stream logs on every change of a payload's sources.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use trevm::{Error, Target};
use trevm_cli::coap_client;
use trevm_native::NativeBoard;

mod args;
mod coap_cmds;
mod coap_keys;
mod completions;
mod dev;
mod fleet;
mod heap;
mod logs;
mod manpage;
mod new;
mod run;
mod signing;
mod table;

use args::{BuildArgs, CallArgs, CompileArgs, OptArg, PreemptionArg, PushArgs, RunArgs};

/// `println!` that ends the program quietly (exit 0) when stdout is a closed pipe
/// (`trevm inspect x | head -1`), instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            $crate::stdout_failed(e);
        }
    }};
}

/// What `outln!` does when stdout fails: quiet exit on a closed pipe, else a one-line error.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to stdout: {e}");
    std::process::exit(1);
}

/// Writes a file, saying which one failed.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[derive(Parser)]
#[command(
    name = "trevm",
    version,
    about = "Build, inspect and run trevm capsules (WebAssembly for microcontrollers)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a capsule from a payload crate (Cargo.toml or its directory), a core module or a component.
    Build(BuildArgs),
    /// Run a capsule on the native board (a .cwasm capsule, or a payload/.wasm built on the fly).
    Run(RunArgs),
    /// Show a capsule's header, signer, version, digest and grants (and, if it verifies, its
    /// imports and exports).
    Inspect(signing::InspectArgs),
    /// Make an Ed25519 signing key: NAME.pem (private, 0600) and NAME.pub.pem (public).
    Keygen(signing::KeygenArgs),
    /// Sign a capsule with a private key.
    Sign(signing::SignArgs),
    /// Check a capsule's signature against trusted public keys, as a device would.
    Verify(signing::VerifyArgs),
    /// Upload a capsule to a device over CoAP, e.g. to coap://127.0.0.1/sandbox/hello.
    Push(PushArgs),
    /// Send one CoAP request (GET by default) and print the response body.
    Call(CallArgs),
    /// Start a CoAP device on the native board: an empty sandbox (`/sandbox/<name>`) and an empty
    /// persistent-capsule slot (`PUT /vm-control`). It runs capsules signed by the development
    /// key (and --trust keys) only.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:5683")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        trust: signing::TrustFlags,
        /// Also run UNSIGNED capsules. Insecure: anyone who reaches the device can take it over.
        #[arg(long)]
        insecure_allow_unsigned: bool,
        /// Who may talk to the device: a `peers.yml` access policy (Ariel OS's format). Without
        /// one, unauthenticated clients may only GET /.well-known/core.
        #[arg(long)]
        policy: Option<std::path::PathBuf>,
        /// Where the device keeps its identity and the capsules uploaded to it, across restarts
        /// (default: $TREVM_STATE_DIR, else $XDG_STATE_HOME/trevm, else ~/.local/state/trevm).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<std::path::PathBuf>,
        /// Start with this capsule in the sandbox, as if uploaded (checked and verified like an
        /// upload): NAME=CAPSULE, a .cwasm or a payload directory (built for this machine).
        /// Repeatable.
        #[arg(long = "sandbox", value_name = "NAME=CAPSULE")]
        sandbox: Vec<String>,
        /// Start serving this capsule under /vm, as if PUT to /vm-control (a .cwasm or a
        /// payload directory).
        #[arg(long, value_name = "CAPSULE")]
        persistent: Option<std::path::PathBuf>,
        /// The interfaces a slot's capsules may import: SLOT=LIST, SLOT one of sandbox,
        /// persistent, ephemeral; LIST of log, time, rng, gpio, sensors, udp (or none, all), e.g.
        /// persistent=log,sensors,rng. Defaults: sandbox none, persistent log, ephemeral log.
        /// Repeatable. A signed capsule also needs its manifest (its signer) to grant them.
        #[arg(long = "grant", value_name = "SLOT=LIST")]
        grant: Vec<String>,
        /// Register with this CoAP Resource Directory (RFC 9176), coap://HOST[:PORT][/PATH]
        /// (with a path: the registration resource; without: found in its /.well-known/core),
        /// refresh the registration and register again when the RD forgets it. Needs --ep.
        #[arg(long, value_name = "URI", requires = "ep")]
        rd: Option<String>,
        /// The endpoint name to register as (`ep`, 1-63 letters, digits, - . _ ~).
        #[arg(long, value_name = "NAME", requires = "rd")]
        ep: Option<String>,
        /// The device's address as the RD gives it out (default coap://<--listen>; needed
        /// when listening on 0.0.0.0 or [::]).
        #[arg(long, value_name = "URI", requires = "rd")]
        rd_base: Option<String>,
        /// The registration's lifetime in seconds; refreshed at 3/4 of it.
        #[arg(long, value_name = "SECONDS", default_value_t = 600, requires = "rd")]
        rd_lifetime: u32,
    },
    /// List a device's resources (its /.well-known/core).
    Ls {
        /// The device, e.g. coap://127.0.0.1:5683.
        url: String,
        #[command(flatten)]
        security: args::SecurityArgs,
    },
    /// The devices registered in a CoAP Resource Directory: list them, roll capsules out to them.
    #[command(subcommand)]
    Fleet(fleet::args::FleetCommand),
    /// Make a capsule crate for a world, ready to build, run and push: `trevm new hello --world
    /// async` (`trevm new --list` lists the worlds).
    New(new::NewArgs),
    /// Print the shell completion script for `trevm`, e.g. `trevm completions bash >
    /// ~/.local/share/bash-completion/completions/trevm`.
    Completions(completions::CompletionsArgs),
    /// Print the manual page of `trevm` (roff), or write one per subcommand with --out-dir.
    Man(manpage::ManArgs),
    /// Print a device's capsule log lines as they come (its /logs, observed), until Ctrl-C.
    Logs(logs::LogsArgs),
    /// Build, sign and push a payload, stream the device's logs, and build and push again on
    /// every change of its sources (until Ctrl-C); e.g. `trevm dev . coap://127.0.0.1/sandbox/x`.
    Dev(dev::DevArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => cmd_build(args),
        Command::Run(args) => run::cmd_run(args),
        Command::Inspect(args) => cmd_inspect(&args),
        Command::Keygen(args) => signing::cmd_keygen(&args),
        Command::Sign(args) => signing::cmd_sign(&args),
        Command::Verify(args) => signing::cmd_verify(&args),
        Command::Push(args) => coap_cmds::cmd_push(args),
        Command::Call(args) => coap_cmds::cmd_call(args),
        Command::Ls { url, security } => coap_cmds::cmd_ls(&url, &security),
        Command::Fleet(command) => fleet::cmd_fleet(command),
        Command::New(args) => new::cmd_new(args),
        Command::Completions(args) => completions::cmd_completions(&args, Cli::command()),
        Command::Man(args) => manpage::cmd_man(&args, Cli::command()),
        Command::Logs(args) => logs::cmd_logs(args),
        Command::Dev(args) => dev::cmd_dev(args),
        Command::Serve {
            listen,
            trust,
            insecure_allow_unsigned,
            policy: access,
            state_dir,
            sandbox,
            persistent,
            grant,
            rd,
            ep,
            rd_base,
            rd_lifetime,
        } => trust
            .args(insecure_allow_unsigned)
            .policy()
            .and_then(|policy| {
                let access = match access {
                    Some(path) => trevm_native::access::load_policy(&path)?,
                    None => trevm_coap::Policy::default(),
                };
                let board = NativeBoard::new();
                let mut config = trevm_native::coap::DeviceConfig::new(listen, policy, access);
                config.memory = Some(heap::heap);
                if let Some(dir) = state_dir {
                    config.state_dir = dir;
                }
                for entry in &grant {
                    config
                        .grants
                        .set(entry)
                        .map_err(|e| format!("--grant {e}"))?;
                }
                for entry in &sandbox {
                    let (name, path) = entry
                        .split_once('=')
                        .ok_or_else(|| format!("--sandbox {entry}: expected NAME=CAPSULE"))?;
                    let bytes = preload_bytes(Path::new(path)).map_err(|e| format!("{e:#}"))?;
                    config.preload.push((name.to_string(), bytes));
                }
                if let Some(path) = &persistent {
                    config.preload_persistent =
                        Some(preload_bytes(path).map_err(|e| format!("{e:#}"))?);
                }
                if let (Some(rd), Some(ep)) = (&rd, &ep) {
                    config.rd = Some(trevm_native::coap::RdConfig::parse(
                        rd,
                        ep,
                        listen,
                        rd_base.as_deref(),
                        rd_lifetime,
                    )?);
                }
                futures_executor::block_on(trevm_native::coap::serve_device(
                    &board,
                    config,
                    link_example_coap_server,
                ))
            })
            .map_err(|e| anyhow::anyhow!(e))
            .map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // 124 for a timeout, as timeout(1) does, so scripts can tell it apart.
            match e.downcast_ref::<Error>() {
                Some(Error::Timeout { .. }) => ExitCode::from(124),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn cmd_build(args: BuildArgs) -> Result<ExitCode> {
    let opts = args
        .compile
        .options(Target::pulley_for_this_machine(), args.name)?;
    let built = trevm_build::build(&args.input, &opts)?;
    let out = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}.{}.cwasm", built.name, opts.profile.target)));
    write_file(&out, &built.capsule)?;
    outln!("built capsule `{}` for {}:", built.name, built.profile);
    outln!("{}", built.size_report().trim_end());
    match built.signer {
        Some(kid) => outln!("signed with key {kid}, version {}", built.version),
        None => outln!(
            "UNSIGNED (version {}): devices refuse it until `trevm sign` signs it",
            built.version
        ),
    }
    outln!("grants    {}", describe_grants(&built.imports));
    for (i, f) in built.exports.iter().enumerate() {
        outln!("{:<10}{f}", if i == 0 { "exports" } else { "" });
    }
    outln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads a capsule file, or builds one for this machine from a payload or .wasm.
pub(crate) fn obtain_capsule(input: &Path, compile: &CompileArgs) -> Result<Vec<u8>> {
    if let Some(bytes) = capsule_file(input)? {
        return Ok(bytes);
    }
    let opts = compile.options(Target::pulley_for_this_machine(), None)?;
    let built = trevm_build::build(input, &opts)?;
    eprintln!(
        "built capsule `{}` for {} ({} bytes)",
        built.name,
        built.profile,
        built.capsule.len()
    );
    Ok(built.capsule)
}

/// `input`'s bytes when it is a capsule file (anything but a payload's Cargo.toml or a `.wasm`
/// module or component, which are built first); `None` when it must be built.
fn capsule_file(input: &Path) -> Result<Option<Vec<u8>>> {
    if input.is_file() && input.file_name().is_none_or(|n| n != "Cargo.toml") {
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        if bytes.starts_with(&trevm::capsule::MAGIC) || trevm_build::wasm_kind(&bytes).is_none() {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// A capsule to preload into `trevm serve`: a capsule file as it is, or a payload crate built
/// (quietly, signed with the development key) for this machine.
fn preload_bytes(input: &Path) -> Result<Vec<u8>> {
    if let Some(bytes) = capsule_file(input)? {
        return Ok(bytes);
    }
    let opts = trevm_build::BuildOptions {
        profile: trevm::EngineProfile::for_this_machine(),
        quiet: true,
        ..Default::default()
    };
    let built = trevm_build::build(input, &opts)
        .with_context(|| format!("building {}", input.display()))?;
    Ok(built.capsule)
}

fn describe_grants(imports: &[String]) -> String {
    if imports.is_empty() {
        "none".into()
    } else {
        imports.join(", ")
    }
}

fn cmd_inspect(args: &signing::InspectArgs) -> Result<ExitCode> {
    let bytes = obtain_capsule(
        &args.input,
        &CompileArgs {
            vm: None,
            target: None,
            preemption: PreemptionArg::Fuel,
            opt_level: OptArg::S,
            nightly: false,
            initial_memory: None,
            stack_size: None,
            addrmap: false,
            quiet: true,
            features: Vec::new(),
            sign: None,
            unsigned: false,
            version: None,
        },
    )?;
    signing::cmd_inspect(args, bytes)
}

/// `trevm serve` runs upstream's persistent capsules too: their world (`example-coap-server`)
/// imports `uppercase: func(input: string) -> string` next to `log-api`.
fn link_example_coap_server(runtime: &mut trevm::Runtime) -> Result<(), trevm::Error> {
    let ty = trevm::FuncType {
        params: vec![("input".into(), trevm::ValType::String)],
        results: vec![trevm::ValType::String],
    };
    // Typed, so plain-wasm capsules (the wasmi provider) can import it too.
    runtime.define_func_typed("", "uppercase", ty, |_host, args| match args {
        [trevm::Val::String(input)] => Ok(vec![trevm::Val::String(input.to_uppercase())]),
        _ => Err(trevm::HostFnError("uppercase takes one string".into())),
    })
}
