//! `trevm logs coap://DEVICE`: the device's capsule log lines as they come, from its `/logs`
//! observed (RFC 7641), until Ctrl-C.
//!
//! Each representation of `/logs` is lines `#<seq> <secs>.<millis> <capsule>: <message>`
//! (`seq` counts from 1 per boot). [`Lines`] prints each line once, like the device's console
//! (`[  12.045] hello: message`), and says when lines were missed (a gap in `seq`) and when the
//! device restarted (the newest `seq` went down). [`stream`] registers, takes notifications
//! (acknowledging them), and registers again — `?after=<last seq>`, so nothing is missed that
//! the device still has — when nothing came for Max-Age (and a margin: a quiet device sends
//! nothing), when the server ended the observation, or when the device was unreachable (with
//! backoff, saying "reconnecting…" on stderr). A device's refusal (4.01/4.03: its policy does
//! not let this client read `/logs`; 4.04: no `/logs`, an older firmware) ends it with an error.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use trevm_cli::coap_client::{Client, Heard, Unreachable, Url};
use trevm_coap::message::code;

use crate::args::SecurityArgs;
use crate::outln;

#[derive(Args)]
pub(crate) struct LogsArgs {
    /// The device, e.g. coap://127.0.0.1:5683 (its /logs is observed).
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) security: SecurityArgs,
    /// Only this capsule's lines.
    #[arg(long, value_name = "NAME")]
    pub(crate) capsule: Option<String>,
    /// Start with the oldest lines the device still has since it started (default: the newest).
    #[arg(long)]
    pub(crate) since_start: bool,
}

pub(crate) fn cmd_logs(args: LogsArgs) -> Result<ExitCode> {
    let url = Url::parse(&args.url)?;
    let mut lines = Lines::new(args.capsule, args.since_start);
    stream(&url, args.security.credentials.as_deref(), &mut lines)?;
    Ok(ExitCode::SUCCESS)
}

/// The longest wait between two attempts to reach the device.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a device that keeps no more observers is asked again.
const POLL_EVERY: Duration = Duration::from_secs(5);

/// Observes `/logs` on `device`'s server and prints its lines with `lines` until a refusal (an
/// error) — reconnecting whenever the device is unreachable or the observation lapses.
pub(crate) fn stream(device: &Url, credentials: Option<&Path>, lines: &mut Lines) -> Result<()> {
    let mut url = device.clone();
    url.path = vec!["logs".into()];
    let mut client: Option<Client> = None;
    let mut backoff = Duration::from_secs(1);
    let mut said_full = false;
    loop {
        let fresh = client.is_none();
        let attempt = match client.take() {
            Some(c) => Ok(c),
            None => Client::connect(url.clone(), credentials),
        };
        let mut c = match attempt {
            Ok(c) => c,
            Err(e) => {
                retry_later(&e, &mut backoff)?;
                continue;
            }
        };
        c.set_query(&lines.query());
        let reply = match c.observe() {
            Ok(reply) => reply,
            Err(e) => {
                retry_later(&e, &mut backoff)?;
                continue;
            }
        };
        if matches!(
            reply.code,
            code::UNAUTHORIZED | code::FORBIDDEN | code::NOT_FOUND
        ) && !fresh
        {
            // A session the device forgot (it restarted): a new handshake first.
            continue;
        }
        match reply.code {
            code::UNAUTHORIZED | code::FORBIDDEN => bail!(
                "{}: {} is not allowed to read /logs by the device's policy{}",
                reply.describe(),
                if credentials.is_some() {
                    "this client"
                } else {
                    "an unauthenticated client"
                },
                if credentials.is_some() {
                    ""
                } else {
                    " (try --credentials)"
                }
            ),
            code::NOT_FOUND => bail!(
                "{}: the device has no /logs (an older firmware?)",
                reply.describe()
            ),
            _ if !reply.is_success() => bail!("/logs: {}", reply.describe()),
            _ => {}
        }
        backoff = Duration::from_secs(1);
        lines.take(&reply.payload);
        if !c.is_observing() {
            if !said_full {
                eprintln!(
                    "the device keeps no more observers; asking again every {} s",
                    POLL_EVERY.as_secs()
                );
                said_full = true;
            }
            std::thread::sleep(POLL_EVERY);
            client = Some(c);
            continue;
        }
        loop {
            match c.listen() {
                Ok(Heard::Notification(n)) => {
                    if n.code >> 5 == 2 {
                        lines.take(&n.payload);
                    }
                    if !c.is_observing() {
                        // The server ended it (a final notification): register again.
                        client = Some(c);
                        break;
                    }
                }
                // Quiet for Max-Age: register again, from the same socket with the same token
                // (the device updates its entry instead of adding one; a device that restarted
                // and forgot the OSCORE session answers 4.01, and a new handshake follows).
                Ok(Heard::Lapsed) => {
                    client = Some(c);
                    break;
                }
                Err(e) => {
                    retry_later(&e, &mut backoff)?;
                    break;
                }
            }
        }
    }
}

/// After `e`: wait and try again if the device was only unreachable (saying so), else fail.
fn retry_later(e: &anyhow::Error, backoff: &mut Duration) -> Result<()> {
    if e.downcast_ref::<Unreachable>().is_none() {
        bail!("{e:#}");
    }
    eprintln!("{e:#}; reconnecting… (in {} s)", backoff.as_secs());
    std::thread::sleep(*backoff);
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    Ok(())
}

/// The lines printed so far: which `seq` came last, and which capsule's lines are shown.
pub(crate) struct Lines {
    capsule: Option<String>,
    /// The last `seq` printed (0: from the device's start on).
    last: Option<u64>,
}

/// One line of `/logs`: `#<seq> <secs>.<millis> <capsule>: <message>`.
struct Line<'a> {
    seq: u64,
    time: &'a str,
    capsule: &'a str,
    message: &'a str,
}

fn parse(line: &str) -> Option<Line<'_>> {
    let (seq, rest) = line.strip_prefix('#')?.split_once(' ')?;
    let (time, rest) = rest.split_once(' ')?;
    let (capsule, message) = rest
        .split_once(": ")
        .or_else(|| Some((rest.strip_suffix(':')?, "")))?;
    Some(Line {
        seq: seq.parse().ok()?,
        time,
        capsule,
        message,
    })
}

impl Lines {
    /// Only `capsule`'s lines (all without); from the device's start (`since_start`) or from the
    /// newest lines on.
    pub(crate) fn new(capsule: Option<String>, since_start: bool) -> Lines {
        Lines {
            capsule,
            last: since_start.then_some(0),
        }
    }

    /// The registration's Uri-Query: `after=<last seq>` once something was printed.
    fn query(&self) -> Vec<String> {
        self.last
            .map(|n| format!("after={n}"))
            .into_iter()
            .collect()
    }

    /// Prints what `payload` (a representation of `/logs`) has that was not printed yet.
    pub(crate) fn take(&mut self, payload: &[u8]) {
        for out in self.news(&String::from_utf8_lossy(payload)) {
            outln!("{out}");
        }
    }

    /// The output lines for a representation: its new log lines as the console shows them, and
    /// notes on missed lines and restarts.
    fn news(&mut self, text: &str) -> Vec<String> {
        let parsed: Vec<Line<'_>> = text.lines().filter_map(parse).collect();
        let mut out = Vec::new();
        let newest = parsed.iter().map(|l| l.seq).max();
        if let (Some(last), Some(newest)) = (self.last, newest)
            && newest < last
        {
            out.push("[the device restarted]".to_string());
            self.last = Some(0);
        }
        for line in parsed {
            if let Some(last) = self.last {
                if line.seq <= last {
                    continue;
                }
                if line.seq > last + 1 {
                    let missed = line.seq - last - 1;
                    let s = if missed == 1 { "" } else { "s" };
                    out.push(format!(
                        "[missed {missed} line{s}: #{} to #{}]",
                        last + 1,
                        line.seq - 1
                    ));
                }
            }
            self.last = Some(line.seq);
            if self.capsule.as_deref().is_none_or(|c| c == line.capsule) {
                out.push(format!(
                    "[{:>8}] {}: {}",
                    line.time, line.capsule, line.message
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_print_once_with_gaps_and_restarts_said() {
        let mut l = Lines::new(None, false);
        assert_eq!(
            l.news("#4 1.500 hello: one\n#5 12.045 hello: two\n"),
            ["[   1.500] hello: one", "[  12.045] hello: two"]
        );
        assert_eq!(l.query(), ["after=5"]);
        // Repeated lines are not printed again; a gap is said.
        assert_eq!(
            l.news("#5 12.045 hello: two\n#8 13.000 other: three\n"),
            ["[missed 2 lines: #6 to #7]", "[  13.000] other: three"]
        );
        assert_eq!(
            l.news("#2 0.100 hello: again\n"),
            [
                "[the device restarted]",
                "[missed 1 line: #1 to #1]",
                "[   0.100] hello: again"
            ]
        );
        assert!(l.news("garbage\n#x 1 a: b\n").is_empty());
    }

    #[test]
    fn since_start_and_one_capsule() {
        let mut l = Lines::new(Some("a".into()), true);
        assert_eq!(l.query(), ["after=0"]);
        assert_eq!(
            l.news("#1 0.001 a: x: y\n#2 0.002 b: no\n#3 0.003 a:\n"),
            ["[   0.001] a: x: y", "[   0.003] a: "]
        );
        assert_eq!(l.query(), ["after=3"]);
    }
}
