//! `trevm push`, `trevm call`, `trevm ls`: talking to a device over CoAP.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::args::{CallArgs, MethodArg, PushArgs, SecurityArgs};
use crate::{coap_client, obtain_capsule, outln, stdout_failed};

pub(crate) fn cmd_push(args: PushArgs) -> Result<ExitCode> {
    let url = coap_client::Url::parse(&args.url)?;
    let bytes = obtain_capsule(&args.capsule, &args.compile)?;
    eprintln!("pushing {} bytes to {}", bytes.len(), args.url);
    let reply = push(url, args.security.credentials.as_deref(), bytes, args.block)?;
    finish_reply(&reply)
}

/// PUTs `capsule` to `url` (block-wise in `block`-byte blocks, progress on stderr), over
/// EDHOC + OSCORE with `credentials`: `trevm push`'s upload, also `trevm dev`'s.
pub(crate) fn push(
    url: coap_client::Url,
    credentials: Option<&std::path::Path>,
    capsule: Vec<u8>,
    block: usize,
) -> Result<coap_client::Reply> {
    let mut client = coap_client::Client::connect(url, credentials)?;
    client.request(
        trevm_coap::message::code::PUT,
        capsule,
        block,
        coap_client::print_progress,
    )
}

pub(crate) fn cmd_call(args: CallArgs) -> Result<ExitCode> {
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
    let mut client = coap_client::Client::connect(url, args.security.credentials.as_deref())?;
    let reply = client.request(method, payload, args.block, |_, _| {})?;
    finish_reply(&reply)
}

pub(crate) fn cmd_ls(url: &str, security: &SecurityArgs) -> Result<ExitCode> {
    let mut url = coap_client::Url::parse(url)?;
    url.path = vec![".well-known".into(), "core".into()];
    let mut client = coap_client::Client::connect(url, security.credentials.as_deref())?;
    let reply = client.request(trevm_coap::message::code::GET, Vec::new(), 1024, |_, _| {})?;
    if !reply.is_success() {
        bail!("{}", reply.describe());
    }
    let text = String::from_utf8_lossy(&reply.payload);
    let mut has_status = false;
    for link in text.split(',').filter(|l| !l.trim().is_empty()) {
        let (target, attrs) = link.split_once(';').unwrap_or((link, ""));
        let target = target.trim().trim_start_matches('<').trim_end_matches('>');
        has_status |= target == "/status";
        if attrs.is_empty() {
            outln!("{target}");
        } else {
            outln!("{target}  {attrs}");
        }
    }
    if has_status {
        client.set_path(&["status"]);
        let reply = client.request(trevm_coap::message::code::GET, Vec::new(), 1024, |_, _| {})?;
        if reply.is_success() {
            outln!();
            print_status(&reply.payload)?;
        } else {
            // E.g. 4.01: this client may list the device but not read its status.
            eprintln!("/status: {}", reply.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `/status` as a table, one capsule per row.
fn print_status(json: &[u8]) -> Result<()> {
    let status: trevm_coap::status::Status =
        serde_json::from_slice(json).context("the device's /status is not what trevm expects")?;
    if let Some(m) = &status.memory {
        outln!("{}", describe_memory(m));
    }
    if status.capsules.is_empty() {
        outln!("no capsules installed");
        return Ok(());
    }
    let header = [
        "slot",
        "capsule",
        "runs",
        "ok",
        "stopped",
        "trapped",
        "last run",
        "peak memory",
        "installed",
        "last error",
    ];
    let rows: Vec<Vec<String>> = status
        .capsules
        .iter()
        .map(|c| {
            vec![
                c.slot.clone(),
                c.name.clone(),
                c.runs.to_string(),
                c.ok.to_string(),
                c.stopped.to_string(),
                c.trapped.to_string(),
                c.last_run_ms.map_or("-".into(), |ms| format!("{ms} ms")),
                format!("{} KiB", c.peak_memory.div_ceil(1024)),
                c.installed.clone(),
                c.last_error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    // The counters right-aligned.
    let text = crate::table::render_aligned(&header, &rows, &[2, 3, 4, 5]);
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        stdout_failed(e);
    }
    Ok(())
}

/// The heap line of `trevm ls`, e.g. `heap: 40 KiB in use, at most 128 KiB, of 1024 KiB`.
fn describe_memory(m: &trevm_coap::status::Memory) -> String {
    let kib = |b: u64| b.div_ceil(1024);
    let size = m
        .heap_size
        .map_or(String::new(), |s| format!(", of {} KiB", kib(s)));
    format!(
        "heap: {} KiB in use, at most {} KiB{size}",
        kib(m.heap_used),
        kib(m.heap_peak)
    )
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
