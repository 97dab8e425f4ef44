//! Reading a request liboscore decrypted without trusting its option iterator.
//!
//! liboscore 0.2.7 hands the decrypted request to coapcore, which hands it to our policy and our
//! deferred handler; what they read of it comes from liboscore's option iterator, which on peer
//! input can:
//! - after a malformed option (or an outer option OSCORE does not allow), yield option 65535
//!   forever: a loop over the options never ends, a `collect` grows until memory runs out;
//! - hand out an option whose length runs past the plaintext (its C bounds check compares with
//!   the wrong length), so the value points at memory beyond the decrypted message;
//! - assert in `payload()` that the options parse.
//!
//! [`options`] copies the options while checking both: it stops at option 65535 and at the first
//! option that does not fit in the plaintext's length (known from the outer message: the
//! ciphertext is the plaintext plus an 8-byte tag, so the outer payload is an upper bound). The
//! payload is read only after the options were good.

use alloc::vec::Vec;

use coap_message::{MessageOption as _, ReadableMessage};

/// Options as copied: number and value, in order.
pub type Options = Vec<(u16, Vec<u8>)>;

/// The option number liboscore's iterator yields after an error, forever.
const BROKEN: u16 = u16::MAX;

/// The options of `m` and its payload, or `None` if they do not fit `plaintext` bytes or the
/// iterator broke down.
pub fn read<M: ReadableMessage>(m: &M, plaintext: usize) -> Option<(Options, Vec<u8>)> {
    let options = options(m, plaintext)?;
    let payload = m.payload();
    if payload.len() > plaintext {
        return None;
    }
    Some((options, payload.to_vec()))
}

/// The options of `m`, or `None` (see the module).
pub fn options<M: ReadableMessage>(m: &M, plaintext: usize) -> Option<Options> {
    let mut out = Vec::new();
    visit(m, plaintext, |number, value| {
        out.push((number, value.to_vec()));
        Some(())
    })?;
    Some(out)
}

/// Hands each option of `m` to `f` (number, value) without copying it; `None` if the options
/// do not fit `plaintext` bytes, the iterator broke down, or `f` said `None`.
pub fn visit<M: ReadableMessage>(
    m: &M,
    plaintext: usize,
    mut f: impl FnMut(u16, &[u8]) -> Option<()>,
) -> Option<()> {
    let mut used = 0usize;
    for o in m.options() {
        if o.number() == BROKEN {
            return None;
        }
        // Each option takes at least one header byte and its value; only the length is looked
        // at before the value is known to lie inside the plaintext.
        used = used.checked_add(1 + o.value().len())?;
        if used > plaintext {
            return None;
        }
        f(o.number(), o.value())?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coap_message_implementations::inmemory;

    #[test]
    fn options_within_the_plaintext_are_read() {
        // Uri-Path "ab", payload "hi".
        let tail = [0xb2, b'a', b'b', 0xff, b'h', b'i'];
        let m = inmemory::Message::new(1, &tail);
        let (options, payload) = read(&m, tail.len()).expect("fits");
        assert_eq!(options, [(11, b"ab".to_vec())]);
        assert_eq!(payload, b"hi");
        // The same message claimed to come from a shorter plaintext: refused.
        assert!(read(&m, 2).is_none());
    }

    /// A message whose iterator breaks down as liboscore's does: option 65535 without end.
    struct Broken;

    struct Opt(u16);
    impl coap_message::MessageOption for Opt {
        fn number(&self) -> u16 {
            self.0
        }
        fn value(&self) -> &[u8] {
            &[]
        }
    }

    impl ReadableMessage for Broken {
        type Code = u8;
        type MessageOption<'a> = Opt;
        type OptionsIter<'a> =
            core::iter::Chain<core::iter::Once<Opt>, core::iter::RepeatWith<fn() -> Opt>>;
        fn code(&self) -> u8 {
            1
        }
        fn options(&self) -> Self::OptionsIter<'_> {
            let broken: fn() -> Opt = || Opt(BROKEN);
            core::iter::once(Opt(11)).chain(core::iter::repeat_with(broken))
        }
        fn payload(&self) -> &[u8] {
            panic!("liboscore asserts here when the options are malformed")
        }
    }

    #[test]
    fn an_endless_broken_iterator_is_left_at_once() {
        assert!(read(&Broken, 1_000).is_none());
    }
}
