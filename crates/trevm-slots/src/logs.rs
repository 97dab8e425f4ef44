//! `/logs`: the capsules' log lines, kept in a bounded ring on the device and served to clients,
//! observably (RFC 7641), so that the developer of a deployed device sees what its capsules log.
//!
//! [`Logs`] is a [`trevm::LogSink`]: give it to the runtime's host state (it hands each line on
//! to the board's own sink, e.g. the console, as well). Each line gets a sequence number
//! (from 1 at boot) and the device's time; a representation is lines of
//! `#<seq> <secs>.<millis> <capsule>: <message>\n` (text/plain), at most [`MAX_PAYLOAD`] bytes,
//! so that it fits one datagram (no Block2, which notifications cannot use). A client that
//! missed lines (the ring forgot them) sees the gap in the sequence numbers; one that sees a
//! number lower than its last knows the device restarted.
//!
//! The ring is written from any task (capsule runs) and read by the CoAP server's task: it sits
//! behind a `critical_section::Mutex`, held only to copy a line in or out.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::Write as _;
use core::task::{Context, Poll, Waker};

use trevm::LogSink;

/// The most bytes of lines in one representation of `/logs`: one datagram's worth, with room
/// for the header, options and OSCORE's overhead in 1280 bytes (IPv6's minimum MTU) to spare.
pub const MAX_PAYLOAD: usize = 512;
/// The longest message kept of a log line, in bytes: longer ones are cut at a character
/// boundary and end with `…`.
pub const MAX_MESSAGE: usize = 160;
/// The longest capsule name written in a line (longer ones are cut).
pub const MAX_NAME: usize = 32;
/// The ring's default size in bytes of lines (as they are served): a few dozen lines.
pub const DEFAULT_CAPACITY: usize = 4096;

/// The device's log lines (see the module). Clones share the ring.
#[derive(Clone)]
pub struct Logs(Arc<critical_section::Mutex<RefCell<Ring>>>);

/// Lines as served, `\n`-terminated, oldest first, in one buffer allocated once (no allocation
/// per line: on a device's heap, small blocks left here and there split the holes an upload
/// needs). Each line starts with `#<seq> `, which is how readers find their place.
struct Ring {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// The sequence number of the next line.
    next: u64,
    /// Whether a line came since [`Logs::poll_changed`] last said so.
    changed: bool,
    waker: Option<Waker>,
    /// Where lines go as well (the board's console).
    forward: Option<Arc<dyn LogSink>>,
    now_ms: fn() -> u64,
}

/// The longest line: `#` and 20 digits, a space, 20 digits, `.mmm `, a name of [`MAX_NAME`]
/// bytes and `…`, `: `, a message of [`MAX_MESSAGE`] bytes and `…`, `\n`.
const MAX_LINE: usize = 1 + 20 + 1 + 20 + 5 + MAX_NAME + 3 + 2 + MAX_MESSAGE + 3 + 1;

impl core::fmt::Debug for Logs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        critical_section::with(|cs| {
            let r = self.0.borrow_ref(cs);
            f.debug_struct("Logs")
                .field("bytes", &r.bytes.len())
                .field("capacity", &r.capacity)
                .field("next", &r.next)
                .finish_non_exhaustive()
        })
    }
}

impl Logs {
    /// A ring keeping up to `capacity` bytes of lines (at least one longest line), stamping them
    /// with `now_ms` (the device's clock), and handing each on to `forward` too. The buffer is
    /// allocated here, once.
    pub fn new(capacity: usize, now_ms: fn() -> u64, forward: Option<Arc<dyn LogSink>>) -> Logs {
        let capacity = capacity.max(MAX_LINE);
        Logs(Arc::new(critical_section::Mutex::new(RefCell::new(Ring {
            bytes: VecDeque::with_capacity(capacity),
            capacity,
            next: 1,
            changed: false,
            waker: None,
            forward,
            now_ms,
        }))))
    }

    /// The sequence number of the newest line (0 before any).
    pub fn newest_seq(&self) -> u64 {
        critical_section::with(|cs| self.0.borrow_ref(cs).next - 1)
    }

    /// The newest lines that fit [`MAX_PAYLOAD`], oldest first, and the newest's number.
    pub fn newest(&self) -> (Vec<u8>, u64) {
        critical_section::with(|cs| {
            let mut r = self.0.borrow_ref_mut(cs);
            let newest = r.next - 1;
            let text = r.bytes.make_contiguous();
            // The newest lines: from the start of the first line within MAX_PAYLOAD of the end.
            let mut from = text.len();
            for (i, _) in text.iter().enumerate().rev().filter(|(_, b)| **b == b'#') {
                let starts_line = i == 0 || text[i - 1] == b'\n';
                if starts_line {
                    if text.len() - i > MAX_PAYLOAD {
                        break;
                    }
                    from = i;
                }
            }
            (text[from..].to_vec(), newest)
        })
    }

    /// The oldest lines after number `cursor` that fit [`MAX_PAYLOAD`], and the last one's
    /// number; `None` when there is none. A `cursor` beyond the newest line (a client that saw
    /// an earlier boot) gets [`Logs::newest`].
    pub fn after(&self, cursor: u64) -> Option<(Vec<u8>, u64)> {
        let newest = self.newest_seq();
        if cursor > newest {
            let (lines, last) = self.newest();
            return (!lines.is_empty()).then_some((lines, last));
        }
        // Nothing new (what the server asks after every datagram it handles): no scan.
        if cursor == newest {
            return None;
        }
        critical_section::with(|cs| {
            let mut r = self.0.borrow_ref_mut(cs);
            let text = r.bytes.make_contiguous();
            let mut out = Vec::new();
            let mut last = cursor;
            for line in text.split_inclusive(|b| *b == b'\n') {
                let seq = seq_of(line);
                if seq <= cursor {
                    continue;
                }
                if out.len() + line.len() > MAX_PAYLOAD {
                    break;
                }
                out.extend_from_slice(line);
                last = seq;
            }
            (!out.is_empty()).then_some((out, last))
        })
    }

    /// Ready once after lines came (since it was last ready); otherwise keeps `cx`'s waker.
    pub fn poll_changed(&self, cx: &mut Context<'_>) -> Poll<()> {
        critical_section::with(|cs| {
            let mut r = self.0.borrow_ref_mut(cs);
            if core::mem::take(&mut r.changed) {
                return Poll::Ready(());
            }
            r.waker = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// The number a line starts with (`#17 …`; 0 for anything else, which never happens).
fn seq_of(line: &[u8]) -> u64 {
    line.iter()
        .skip(1)
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

/// A line being written, on the stack.
struct LineBuf {
    buf: [u8; MAX_LINE],
    len: usize,
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Ring {
    fn push(&mut self, capsule: &str, message: &str) {
        let seq = self.next;
        self.next += 1;
        let at = (self.now_ms)();
        let mut line = LineBuf {
            buf: [0; MAX_LINE],
            len: 0,
        };
        // Within MAX_LINE by construction (see there): nothing is cut here.
        let _ = write!(line, "#{seq} {}.{:03} ", at / 1000, at % 1000);
        let _ = push_clean(&mut line, capsule, MAX_NAME, true);
        let _ = line.write_str(": ");
        let _ = push_clean(&mut line, message, MAX_MESSAGE, false);
        let _ = line.write_str("\n");
        let line = &line.buf[..line.len];
        while self.bytes.len() + line.len() > self.capacity && !self.bytes.is_empty() {
            // Forget the oldest line.
            let first = self.bytes.iter().position(|b| *b == b'\n');
            self.bytes
                .drain(..first.map_or(self.bytes.len(), |i| i + 1));
        }
        self.bytes.extend(line);
        self.changed = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Writes `text` to `line`, at most `max` bytes of it (cut at a character boundary, then `…`),
/// control characters replaced by U+FFFD; in a `name`, spaces and `:` become `_` too (a line
/// is `name: message`).
fn push_clean(line: &mut LineBuf, text: &str, max: usize, name: bool) -> core::fmt::Result {
    let mut used = 0;
    for c in text.chars() {
        let c = match c {
            c if c.is_control() => '\u{fffd}',
            ' ' | ':' if name => '_',
            c => c,
        };
        if used + c.len_utf8() > max {
            return line.write_char('…');
        }
        used += c.len_utf8();
        line.write_char(c)?;
    }
    Ok(())
}

impl LogSink for Logs {
    fn log(&self, capsule: &str, message: &str) {
        let forward = critical_section::with(|cs| {
            let mut r = self.0.borrow_ref_mut(cs);
            r.push(capsule, message);
            r.forward.clone()
        });
        if let Some(sink) = forward {
            sink.log(capsule, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(capacity: usize) -> Logs {
        Logs::new(capacity, || 12_045, None)
    }

    fn text(bytes: &[u8]) -> &str {
        core::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn lines_are_numbered_and_stamped() {
        let l = logs(DEFAULT_CAPACITY);
        l.log("hello", "first");
        l.log("hello", "second");
        let (lines, last) = l.newest();
        assert_eq!(
            text(&lines),
            "#1 12.045 hello: first\n#2 12.045 hello: second\n"
        );
        assert_eq!(last, 2);
        let (lines, last) = l.after(1).unwrap();
        assert_eq!(text(&lines), "#2 12.045 hello: second\n");
        assert_eq!(last, 2);
        assert!(l.after(2).is_none());
    }

    #[test]
    fn hostile_text_stays_one_bounded_line() {
        let l = logs(DEFAULT_CAPACITY);
        l.log("a b:c\n", "line\nbreak\r\u{1b}[2J");
        let long = "é".repeat(200);
        l.log("x", &long);
        let (lines, _) = l.newest();
        let lines = text(&lines);
        let mut it = lines.lines();
        assert_eq!(
            it.next(),
            Some("#1 12.045 a_b_c\u{fffd}: line\u{fffd}break\u{fffd}\u{fffd}[2J")
        );
        let second = it.next().unwrap();
        assert!(second.ends_with('…'));
        assert_eq!(
            second.len(),
            "#2 12.045 x: ".len() + MAX_MESSAGE + '…'.len_utf8()
        );
        assert_eq!(it.next(), None);
    }

    #[test]
    fn the_ring_forgets_the_oldest_and_a_reader_sees_the_gap() {
        let l = logs(MAX_LINE);
        for i in 0..40 {
            l.log("c", &alloc::format!("line {i}"));
        }
        let (lines, last) = l.after(0).unwrap();
        let lines = text(&lines);
        assert_eq!(last, 40);
        assert!(lines.starts_with("#"), "{lines}");
        assert!(!lines.contains("#1 "), "the oldest are gone: {lines}");
        assert!(lines.len() <= MAX_LINE);
    }

    #[test]
    fn a_representation_fits_one_datagram_and_the_rest_follows() {
        let l = logs(16 * 1024);
        for _ in 0..40 {
            l.log("capsule", &"x".repeat(100));
        }
        let (newest, last) = l.newest();
        assert!(newest.len() <= MAX_PAYLOAD);
        assert_eq!(last, 40);
        let mut cursor = 0;
        let mut seen = 0;
        while let Some((lines, last)) = l.after(cursor) {
            assert!(lines.len() <= MAX_PAYLOAD);
            seen += text(&lines).lines().count();
            cursor = last;
        }
        assert_eq!(seen, 40);
    }

    #[test]
    fn a_cursor_from_an_earlier_boot_gets_the_newest() {
        let l = logs(DEFAULT_CAPACITY);
        l.log("c", "after restart");
        let (lines, last) = l.after(500).unwrap();
        assert_eq!(text(&lines), "#1 12.045 c: after restart\n");
        assert_eq!(last, 1);
    }

    #[test]
    fn a_change_is_reported_once() {
        let l = logs(DEFAULT_CAPACITY);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(l.poll_changed(&mut cx).is_pending());
        l.log("c", "x");
        assert!(l.poll_changed(&mut cx).is_ready());
        assert!(l.poll_changed(&mut cx).is_pending());
    }
}
