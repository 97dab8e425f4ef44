//! The panic handler: trap, optionally logging the message first.

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "panic-log")]
    log_panic(info);
    #[cfg(not(feature = "panic-log"))]
    let _ = info;
    core::arch::wasm32::unreachable()
}

/// Format `info` into a stack buffer (no allocation) and send it to `log-api.info`.
#[cfg(feature = "panic-log")]
fn log_panic(info: &core::panic::PanicInfo<'_>) {
    use core::fmt::Write as _;

    struct Truncating {
        buf: [u8; 128],
        len: usize,
    }

    impl core::fmt::Write for Truncating {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let room = self.buf.len() - self.len;
            let mut n = s.len().min(room);
            // Cut at a character boundary so the buffer stays valid UTF-8.
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }

    let mut out = Truncating {
        buf: [0; 128],
        len: 0,
    };
    let _ = write!(out, "{info}");
    let text = core::str::from_utf8(&out.buf[..out.len]).unwrap_or("panic");
    crate::log::info(text);
}
