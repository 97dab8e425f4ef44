//! `trevm run`: a capsule on the native board, with its limits and `--invoke` calls.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use trevm::{
    Capsule, EngineProfile, Error, Limits, Preemption, Runtime, RuntimeOptions, VersionLedger,
};
use trevm_native::NativeBoard;

use crate::args::RunArgs;
use crate::{obtain_capsule, outln};

pub(crate) fn cmd_run(args: RunArgs) -> Result<ExitCode> {
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
        let ticker = runtime.epoch_ticker();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(10));
                ticker.tick();
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
    let funcs = loaded.exported_funcs(&runtime);
    let invokes = if args.invoke.is_empty() {
        vec![default_call(&name, &funcs)?]
    } else {
        args.invoke
    };
    let exported: Vec<String> = funcs.into_iter().map(|f| f.name).collect();
    let (every, times) = (args.every, args.times);
    let mut calls = Vec::new();
    for invoke in &invokes {
        calls.push(parse_invoke(invoke, &exported)?);
    }

    let started = std::time::Instant::now();
    let outcome = futures_executor::block_on(async {
        let mut instance = runtime
            .instantiate(&loaded, board.host_state(&name), limits)
            .await?;
        // Each call's results are printed as they come (with --every there is no end).
        let print = |results: &[trevm::Val]| {
            for r in results {
                outln!(
                    "{}",
                    wasm_wave::to_string(r).unwrap_or_else(|_| format!("{r:?}"))
                );
            }
        };
        let mut params_of = Vec::new();
        for (func_name, call) in &calls {
            let sig = instance.signature(func_name)?;
            let types: Vec<_> = sig.params.iter().map(|(_, t)| t).collect();
            let params: Vec<trevm::Val> = call.to_wasm_params(types).map_err(|e| {
                Error::BadArguments(format!(
                    "{e} (`{func_name}` takes {})",
                    describe_params(&sig)
                ))
            })?;
            print(&instance.call(func_name, &params).await?);
            params_of.push(params);
        }
        if let (Some(every), Some((func_name, _)), Some(params)) =
            (every, calls.last(), params_of.last())
        {
            let every = embassy_time::Duration::from_micros(
                u64::try_from(every.as_micros()).unwrap_or(u64::MAX),
            );
            let mut done: u64 = 1;
            while times.is_none_or(|t| done < t) {
                embassy_time::Timer::after(every).await;
                print(&instance.call(func_name, params).await?);
                done += 1;
            }
        }
        Ok::<_, Error>(instance.fuel_consumed())
    });
    let elapsed = started.elapsed();
    match outcome {
        Ok(_fuel) => Ok(ExitCode::SUCCESS),
        Err(e @ Error::Timeout { .. }) => Err(anyhow::Error::new(e).context(format!(
            "`{name}` stopped after {:.3} s",
            elapsed.as_secs_f64()
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("running `{name}`"))),
    }
}

/// What `trevm run` calls without `--invoke`: `run()` when the capsule exports it, else its one
/// exported function without parameters (e.g. `blinky()`), as a device's ephemeral slot starts
/// it; an error listing the exports when that leaves a choice.
fn default_call(capsule: &str, funcs: &[trevm::ExportedFunc]) -> Result<String> {
    if funcs.iter().any(|f| f.name == "run") {
        return Ok("run()".into());
    }
    match trevm::ExportedFunc::sole_without_params(funcs) {
        Some(one) => Ok(format!("{}()", one.name)),
        None => {
            let exports: Vec<String> = funcs.iter().map(ToString::to_string).collect();
            bail!(
                "`{capsule}` exports no `run()`: say what to call with --invoke 'name(args)' \
                 (it exports {})",
                if exports.is_empty() {
                    "no functions".to_string()
                } else {
                    exports.join(", ")
                }
            )
        }
    }
}

fn describe_params(sig: &trevm::FuncType) -> String {
    let params: Vec<String> = sig
        .params
        .iter()
        .map(|(n, t)| format!("{n}: {t}"))
        .collect();
    if params.is_empty() {
        "no arguments".into()
    } else {
        params.join(", ")
    }
}

/// An `--invoke` call: the export's name and its arguments in WAVE. The name may be qualified
/// (`iface#name`, e.g. `ariel:wasm-bindings/coap-server-guest@0.0.1#report()`), which WAVE's
/// own parser does not take, or plain when exactly one export has that name (at the top level or
/// inside one exported interface).
fn parse_invoke(
    invoke: &str,
    exported: &[String],
) -> Result<(String, wasm_wave::untyped::UntypedFuncCall<'static>)> {
    let bad = |why: String| anyhow::anyhow!("cannot parse --invoke '{invoke}': {why}");
    // A bare name calls a function that takes nothing: `--invoke blinky` is `blinky()`.
    let (name, args) = match invoke.find('(') {
        Some(open) => (invoke[..open].trim(), &invoke[open..]),
        None if !invoke.trim().is_empty()
            && !invoke.contains(|c: char| c.is_whitespace() || c == ')') =>
        {
            (invoke.trim(), "()")
        }
        None => return Err(bad("expected name(arguments…)".into())),
    };
    if name.is_empty() {
        return Err(bad("no function name".into()));
    }
    // WAVE parses the arguments under a stand-in name.
    let call = wasm_wave::untyped::UntypedFuncCall::parse(&format!("f{args}"))
        .map_err(|e| bad(e.to_string()))?
        .into_owned();
    Ok((resolve_export(name, exported)?, call))
}

/// `name` as the capsule exports it: itself when it is an export (or qualified), else the one
/// `iface#name` export; an error naming the candidates when there are several.
fn resolve_export(name: &str, exported: &[String]) -> Result<String> {
    if name.contains('#') || exported.iter().any(|e| e == name) {
        return Ok(name.to_string());
    }
    let suffix = format!("#{name}");
    let matches: Vec<&String> = exported.iter().filter(|e| e.ends_with(&suffix)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Ok(name.to_string()), // the runtime says it is missing, with the reason
        many => Err(anyhow::anyhow!(
            "`{name}` is exported by several interfaces: say which, e.g. --invoke '{}(…)'",
            many.iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join("(…)' or '")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports() -> Vec<String> {
        ["run", "a:b/c@1.0.0#on-report", "a:b/d#twice", "a:b/e#twice"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn plain_names_resolve_to_the_one_interface_export_and_qualified_names_parse() {
        let (name, call) = parse_invoke("on-report({a: 1})", &exports()).unwrap();
        assert_eq!(name, "a:b/c@1.0.0#on-report");
        assert!(call.params_node().is_some(), "the argument was parsed");
        let (name, _) = parse_invoke("a:b/c@1.0.0#on-report({a: 1})", &exports()).unwrap();
        assert_eq!(name, "a:b/c@1.0.0#on-report");
        assert_eq!(parse_invoke("run()", &exports()).unwrap().0, "run");
        // Unknown names pass through, for the runtime's own error.
        assert_eq!(parse_invoke("nope()", &exports()).unwrap().0, "nope");
        let twice = match parse_invoke("twice()", &exports()) {
            Err(e) => e.to_string(),
            Ok((name, _)) => panic!("resolved to {name}"),
        };
        assert!(
            twice.contains("a:b/d#twice") && twice.contains("a:b/e#twice"),
            "{twice}"
        );
        // A bare name is a call without arguments.
        let (name, call) = parse_invoke("run", &exports()).unwrap();
        assert_eq!(name, "run");
        assert!(call.params_node().is_none(), "no arguments");
        assert!(
            parse_invoke("no parens", &exports()).is_err_and(|e| e.to_string().contains("name("))
        );
        assert!(
            parse_invoke("(1)", &exports())
                .is_err_and(|e| e.to_string().contains("no function name"))
        );
    }
}
