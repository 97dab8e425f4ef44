//! `trevm`: build, inspect and run capsules.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use trevm::{
    Capsule, EngineProfile, Error, Limits, Preemption, Runtime, RuntimeOptions, Target,
    VersionLedger,
};
use trevm_build::{BuildOptions, OptLevel, Signing};
use trevm_native::NativeBoard;

mod coap_client;
mod signing;

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
    },
    /// List a device's resources (its /.well-known/core).
    Ls {
        /// The device, e.g. coap://127.0.0.1:5683.
        url: String,
    },
}

#[derive(Args)]
struct PushArgs {
    /// Capsule (.cwasm), or a payload directory / .wasm built on the fly (see --target).
    capsule: PathBuf,
    /// Where to PUT it, e.g. coap://127.0.0.1:5683/sandbox/hello.
    url: String,
    /// Block size for the upload: 16 to 1024 bytes.
    #[arg(long, default_value_t = 1024)]
    block: usize,
    #[command(flatten)]
    compile: CompileArgs,
}

#[derive(Args)]
struct CallArgs {
    /// The resource, e.g. coap://127.0.0.1:5683/sandbox/hello.
    url: String,
    /// Method.
    #[arg(long, short, value_enum, default_value = "get")]
    method: MethodArg,
    /// Request body, as text.
    #[arg(long, conflicts_with = "payload_file")]
    payload: Option<String>,
    /// Request body, from a file.
    #[arg(long)]
    payload_file: Option<PathBuf>,
    /// Block size for long bodies: 16 to 1024 bytes.
    #[arg(long, default_value_t = 1024)]
    block: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetArg {
    Pulley32,
    Pulley64,
    Host,
}

#[derive(Clone, Copy, ValueEnum)]
enum PreemptionArg {
    Fuel,
    Epoch,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptArg {
    S,
    Z,
    #[value(name = "3")]
    Speed,
}

#[derive(Args)]
struct CompileArgs {
    /// Code format: pulley32 for MCUs, pulley64 for 64-bit hosts, host for native code.
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    /// How the capsule is made to yield: fuel (default), epoch, or none.
    #[arg(long, value_enum, default_value = "fuel")]
    preemption: PreemptionArg,
    /// Optimisation of the payload: s (default), z (smallest) or 3 (fastest).
    #[arg(long = "opt-level", value_enum, default_value = "s")]
    opt_level: OptArg,
    /// Build with nightly -Zbuild-std and panic=immediate-abort (smaller).
    #[arg(long)]
    nightly: bool,
    /// Initial linear memory of the capsule (bytes, or with KiB/MiB).
    #[arg(long, default_value = "32KiB", value_parser = parse_size)]
    initial_memory: u64,
    /// Wasm shadow-stack size inside linear memory.
    #[arg(long, default_value = "8KiB", value_parser = parse_size)]
    stack_size: u64,
    /// Don't show cargo's output unless it fails.
    #[arg(long, short)]
    quiet: bool,
    /// Cargo features of the payload crate to enable (comma-separated).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Sign with this private key (PKCS#8 PEM from `trevm keygen`) instead of the development key.
    #[arg(long, value_name = "KEY", conflicts_with = "unsigned")]
    sign: Option<PathBuf>,
    /// Don't sign: the capsule carries an unsigned manifest (sign it later with `trevm sign`).
    #[arg(long)]
    unsigned: bool,
    /// Anti-rollback version to sign (default: now, as YYYYMMDDhhmmss UTC).
    #[arg(long)]
    version: Option<u64>,
}

#[derive(Args)]
struct BuildArgs {
    /// Payload crate (Cargo.toml or directory), core module .wasm, or component .wasm.
    input: PathBuf,
    /// Where to write the capsule (default: <name>.<target>.cwasm in the current directory).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Capsule name (default: the crate or file name).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    compile: CompileArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Capsule (.cwasm), payload crate directory / Cargo.toml, or .wasm (built on the fly).
    input: PathBuf,
    /// Function to call, with WAVE-encoded arguments, e.g. 'fibonacci(20)'. Default: run().
    /// Repeat it to make several calls on the same instance, in order, e.g.
    /// `--invoke 'bind-socket(4242)' --invoke 'run()'`.
    #[arg(long)]
    invoke: Vec<String>,
    /// Fuel budget (fuel preemption only).
    #[arg(long)]
    fuel: Option<u64>,
    /// Stop the call after this long, e.g. 2s, 500ms.
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Linear memory limit (bytes, or with KiB/MiB).
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    max_memory: u64,
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    trust: signing::TrustFlags,
    /// Also run an UNSIGNED capsule. Insecure: only for code you built yourself.
    #[arg(long)]
    insecure_allow_unsigned: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 65536, 64KiB or 1MiB"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" | "KB" | "kB" => 1024,
        "M" | "MiB" | "MB" => 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB or MiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl CompileArgs {
    fn options(&self, default_target: Target, name: Option<String>) -> Result<BuildOptions> {
        let target = match self.target {
            Some(TargetArg::Pulley32) => Target::Pulley32,
            Some(TargetArg::Pulley64) => Target::Pulley64,
            Some(TargetArg::Host) => Target::Host,
            None => default_target,
        };
        let preemption = match self.preemption {
            PreemptionArg::Fuel => Preemption::Fuel,
            PreemptionArg::Epoch => Preemption::Epoch,
            PreemptionArg::None => Preemption::None,
        };
        let opt_level = match self.opt_level {
            OptArg::S => OptLevel::S,
            OptArg::Z => OptLevel::Z,
            OptArg::Speed => OptLevel::Speed,
        };
        Ok(BuildOptions {
            profile: EngineProfile { target, preemption },
            opt_level,
            nightly: self.nightly,
            initial_memory: u32::try_from(self.initial_memory)
                .context("--initial-memory is over 4 GiB")?,
            stack_size: u32::try_from(self.stack_size).context("--stack-size is over 4 GiB")?,
            name,
            quiet: self.quiet,
            target_dir: None,
            features: self.features.clone(),
            signing: match (&self.sign, self.unsigned) {
                (Some(key), _) => Signing::Key(key.clone()),
                (None, true) => Signing::Unsigned,
                (None, false) => Signing::DevKey,
            },
            version: self.version,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => cmd_build(args),
        Command::Run(args) => cmd_run(args),
        Command::Inspect(args) => cmd_inspect(&args),
        Command::Keygen(args) => signing::cmd_keygen(&args),
        Command::Sign(args) => signing::cmd_sign(&args),
        Command::Verify(args) => signing::cmd_verify(&args),
        Command::Push(args) => cmd_push(args),
        Command::Call(args) => cmd_call(args),
        Command::Ls { url } => cmd_ls(&url),
        Command::Serve {
            listen,
            trust,
            insecure_allow_unsigned,
        } => trust
            .args(insecure_allow_unsigned)
            .policy()
            .and_then(|policy| {
                let board = NativeBoard::new();
                futures_executor::block_on(trevm_native::coap::serve_device(
                    listen, &board, None, policy,
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
    outln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads a capsule file, or builds one for this machine from a payload or .wasm.
fn obtain_capsule(input: &Path, compile: &CompileArgs) -> Result<Vec<u8>> {
    if input.is_file() && input.file_name().is_none_or(|n| n != "Cargo.toml") {
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        if bytes.starts_with(&trevm::capsule::MAGIC) || trevm_build::wasm_kind(&bytes).is_none() {
            return Ok(bytes);
        }
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

fn describe_grants(imports: &[String]) -> String {
    if imports.is_empty() {
        "none".into()
    } else {
        imports.join(", ")
    }
}

fn cmd_run(args: RunArgs) -> Result<ExitCode> {
    let bytes = obtain_capsule(&args.input, &args.compile)?;
    let capsule = Capsule::from_vec(bytes).map_err(Error::from)?;
    let policy = args
        .trust
        .args(args.insecure_allow_unsigned)
        .policy()
        .map_err(anyhow::Error::msg)?;
    let capsule = policy
        .verify(capsule, &VersionLedger::new())
        .map_err(Error::from)?;
    // Run with the capsule's own profile when this machine can; otherwise the runtime's own
    // profile refuses it with a message naming the difference.
    let profile = if capsule.profile().runs_here() {
        capsule.profile()
    } else {
        EngineProfile::for_this_machine()
    };
    let runtime = Runtime::new(profile, RuntimeOptions::host())?;
    let loaded = runtime.load(&capsule)?;

    let mut limits =
        Limits::new().with_max_memory(usize::try_from(args.max_memory).unwrap_or(usize::MAX));
    if let Some(fuel) = args.fuel {
        if profile.preemption != Preemption::Fuel {
            bail!(
                "--fuel needs a capsule built with fuel preemption; this one has {} preemption",
                profile.preemption
            );
        }
        limits = limits.with_fuel(fuel);
    }
    if let Some(t) = args.timeout {
        if profile.preemption == Preemption::None {
            eprintln!(
                "warning: capsule has no preemption: --timeout only fires while it is in an async host call"
            );
        }
        limits = limits.with_timeout(trevm::Duration::from_micros(
            t.as_micros().try_into().unwrap_or(u64::MAX),
        ));
    }
    if profile.preemption == Preemption::Epoch {
        let engine = runtime.engine().clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(10));
                engine.increment_epoch();
            }
        });
    }

    let board = NativeBoard::new();
    // The native board's button: Enter presses it (for gpio capsules such as blinky).
    if std::io::stdin().is_terminal() {
        eprintln!("(press Enter to press the board's button)");
    }
    board.press_button_on_enter();
    let name = capsule.name().to_string();
    let invokes = if args.invoke.is_empty() {
        vec!["run()".to_string()]
    } else {
        args.invoke
    };
    let mut calls = Vec::new();
    for invoke in &invokes {
        let call = wasm_wave::untyped::UntypedFuncCall::parse(invoke)
            .map_err(|e| anyhow::anyhow!("cannot parse --invoke '{invoke}': {e}"))?;
        calls.push(call);
    }

    let started = std::time::Instant::now();
    let outcome = futures_executor::block_on(async {
        let mut instance = runtime
            .instantiate(&loaded, board.host_state(&name), limits)
            .await?;
        let mut all_results = Vec::new();
        for call in &calls {
            let func_name = call.name().to_string();
            let sig = instance.signature(&func_name)?;
            let types: Vec<_> = sig.params().map(|(_, t)| t).collect();
            let params: Vec<trevm::Val> = call.to_wasm_params(types.iter()).map_err(|e| {
                Error::BadArguments(format!(
                    "{e} (`{func_name}` takes {})",
                    describe_params(&sig)
                ))
            })?;
            all_results.extend(instance.call(&func_name, &params).await?);
        }
        Ok::<_, Error>((all_results, instance.fuel_consumed()))
    });
    let elapsed = started.elapsed();
    match outcome {
        Ok((results, _fuel)) => {
            for r in &results {
                outln!(
                    "{}",
                    wasm_wave::to_string(r).unwrap_or_else(|_| format!("{r:?}"))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ Error::Timeout { .. }) => Err(anyhow::Error::new(e).context(format!(
            "`{name}` stopped after {:.3} s",
            elapsed.as_secs_f64()
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("running `{name}`"))),
    }
}

fn cmd_push(args: PushArgs) -> Result<ExitCode> {
    let url = coap_client::Url::parse(&args.url)?;
    let bytes = obtain_capsule(&args.capsule, &args.compile)?;
    let mut client = coap_client::Client::new(url.clone())?;
    eprintln!("pushing {} bytes to {}", bytes.len(), args.url);
    let reply = client.request(
        trevm_coap::message::code::PUT,
        &bytes,
        args.block,
        coap_client::print_progress,
    )?;
    finish_reply(&reply)
}

fn cmd_call(args: CallArgs) -> Result<ExitCode> {
    use trevm_coap::message::code;
    let url = coap_client::Url::parse(&args.url)?;
    let payload = match (&args.payload, &args.payload_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, None) => Vec::new(),
    };
    let method = match args.method {
        MethodArg::Get => code::GET,
        MethodArg::Post => code::POST,
        MethodArg::Put => code::PUT,
        MethodArg::Delete => code::DELETE,
    };
    let mut client = coap_client::Client::new(url)?;
    let reply = client.request(method, &payload, args.block, |_, _| {})?;
    finish_reply(&reply)
}

fn cmd_ls(url: &str) -> Result<ExitCode> {
    let mut url = coap_client::Url::parse(url)?;
    url.path = vec![".well-known".into(), "core".into()];
    let mut client = coap_client::Client::new(url)?;
    let reply = client.request(trevm_coap::message::code::GET, &[], 1024, |_, _| {})?;
    if !reply.is_success() {
        bail!("{}", reply.describe());
    }
    let text = String::from_utf8_lossy(&reply.payload);
    for link in text.split(',').filter(|l| !l.trim().is_empty()) {
        let (target, attrs) = link.split_once(';').unwrap_or((link, ""));
        let target = target.trim().trim_start_matches('<').trim_end_matches('>');
        if attrs.is_empty() {
            outln!("{target}");
        } else {
            outln!("{target}  {attrs}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a response: its body on stdout, its code on stderr; exit status 1 unless 2.xx.
fn finish_reply(reply: &coap_client::Reply) -> Result<ExitCode> {
    if !reply.is_success() {
        bail!("{}", reply.describe());
    }
    eprintln!("{}", reply.describe());
    if !reply.payload.is_empty() {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let written = out.write_all(&reply.payload).and_then(|()| {
            if reply.payload.ends_with(b"\n") {
                Ok(())
            } else {
                writeln!(out)
            }
        });
        if let Err(e) = written {
            stdout_failed(e);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_params(sig: &trevm::wasmtime::component::types::ComponentFunc) -> String {
    let params: Vec<String> = sig
        .params()
        .map(|(n, t)| format!("{n}: {}", trevm::typefmt::ty(&t)))
        .collect();
    if params.is_empty() {
        "no arguments".into()
    } else {
        params.join(", ")
    }
}

fn cmd_inspect(args: &signing::InspectArgs) -> Result<ExitCode> {
    let bytes = obtain_capsule(
        &args.input,
        &CompileArgs {
            target: None,
            preemption: PreemptionArg::Fuel,
            opt_level: OptArg::S,
            nightly: false,
            initial_memory: 32 * 1024,
            stack_size: 8 * 1024,
            quiet: true,
            features: Vec::new(),
            sign: None,
            unsigned: false,
            version: None,
        },
    )?;
    signing::cmd_inspect(args, bytes)
}
