//! `ariel:wasm-bindings/gpio-api`: the board's LED and button, on embedded-hal 1.0.
//!
//! Wasmtime requires every future a host function returns to be `Send`, and the future of an
//! embedded-hal-async [`Wait`] pin cannot be shown to be `Send` for an arbitrary pin type. So a
//! capsule does not wait on the pin itself: the application gives the runtime a [`Button`] — a
//! small shared record of the button's level — and keeps the pin in a task of its own that
//! mirrors it with [`Button::follow`]. That also lets the application and several capsules watch
//! the same button at once. The LED is driven directly through [`SharedLed`], which wraps any
//! embedded-hal [`StatefulOutputPin`] (an Ariel OS `gpio::Output`, a HAL pin, a simulated pin).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use critical_section::Mutex;
use embedded_hal::digital::{InputPin, StatefulOutputPin};
use embedded_hal_async::digital::Wait;

use super::HostState;

/// An LED a capsule may toggle with `gpio-api.toggle-led`.
///
/// Implemented by [`SharedLed`] for every embedded-hal [`StatefulOutputPin`]; implement it directly
/// for anything else that can be switched.
pub trait Led: Send + Sync {
    /// Toggles the LED and returns the new output level (`true` = driven high).
    fn toggle(&self) -> Result<bool, LedError>;
}

/// The LED's pin reported an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedError;

impl core::fmt::Display for LedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the LED pin reported an error")
    }
}

impl core::error::Error for LedError {}

/// An embedded-hal output pin shared between capsules (and the application) behind a critical
/// section, usable as a [`Led`].
pub struct SharedLed<P> {
    pin: Mutex<RefCell<P>>,
}

impl<P> core::fmt::Debug for SharedLed<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedLed").finish_non_exhaustive()
    }
}

impl<P: StatefulOutputPin> SharedLed<P> {
    /// Wraps `pin`.
    pub const fn new(pin: P) -> Self {
        SharedLed {
            pin: Mutex::new(RefCell::new(pin)),
        }
    }

    /// Runs `f` with the pin, e.g. to read its state or set it from the application.
    pub fn with_pin<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        critical_section::with(|cs| f(&mut self.pin.borrow_ref_mut(cs)))
    }
}

impl<P: StatefulOutputPin + Send> Led for SharedLed<P> {
    fn toggle(&self) -> Result<bool, LedError> {
        self.with_pin(|pin| {
            pin.toggle().map_err(|_| LedError)?;
            pin.is_set_high().map_err(|_| LedError)
        })
    }
}

/// The level of a push button, shared by everything that waits for it.
///
/// The board (or a task following a real pin, see [`Button::follow`]) sets the level with
/// [`Button::set_low`]; capsules wait for it with `gpio-api.wait-for-button-low`, which returns at
/// once if the button is low already with a press the capsule has not been told about, else at the
/// next press (embedded-hal-async's `wait_for_low`, made one-press-one-return so that a press held
/// longer than the capsule takes to come back is not seen twice). Buttons are usually wired
/// active-low: low means pressed.
#[derive(Debug)]
pub struct Button {
    state: Mutex<RefCell<ButtonState>>,
}

#[derive(Debug)]
struct ButtonState {
    low: bool,
    presses: u64,
    next_id: u64,
    waiters: Vec<(u64, Waker)>,
}

impl Default for Button {
    fn default() -> Self {
        Self::new()
    }
}

impl Button {
    /// A released (high) button that nobody waits for.
    pub const fn new() -> Self {
        Button {
            state: Mutex::new(RefCell::new(ButtonState {
                low: false,
                presses: 0,
                next_id: 0,
                waiters: Vec::new(),
            })),
        }
    }

    /// Sets the level; going low wakes everyone waiting for it.
    pub fn set_low(&self, low: bool) {
        let wake = critical_section::with(|cs| {
            let mut s = self.state.borrow_ref_mut(cs);
            if low && !s.low {
                s.presses += 1;
            }
            s.low = low;
            if low {
                core::mem::take(&mut s.waiters)
            } else {
                Vec::new()
            }
        });
        for (_, waker) in wake {
            waker.wake();
        }
    }

    /// Whether the button is low (pressed) now.
    pub fn is_low(&self) -> bool {
        critical_section::with(|cs| self.state.borrow_ref(cs).low)
    }

    /// How many times the button went from high to low so far.
    pub fn presses(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref(cs).presses)
    }

    /// How many futures are waiting for the button to go low (e.g. to press it in a test only
    /// once a capsule listens).
    pub fn waiters(&self) -> usize {
        critical_section::with(|cs| self.state.borrow_ref(cs).waiters.len())
    }

    /// Resolves once the button is low; at once if it is low already. A press that begins and
    /// ends between two polls of the future (a short press while the executor was busy) counts
    /// too, as an edge-triggered interrupt would have caught it.
    pub fn wait_for_low(&self) -> WaitForLow<'_> {
        self.wait_for_press_after(None)
    }

    /// Like [`Button::wait_for_low`], but a press numbered `seen` (what an earlier wait returned)
    /// does not count again while the button is still held: one press, one return, however long
    /// the finger stays on the button. Resolves to the number of the press it saw.
    pub fn wait_for_press_after(&self, seen: Option<u64>) -> WaitForLow<'_> {
        WaitForLow {
            button: self,
            id: None,
            presses_at_start: None,
            seen,
        }
    }

    /// Mirrors a real input pin into this button for ever, waiting on the pin's interrupt
    /// between changes. Run it in a task of its own; it returns only if the pin reports an error.
    pub async fn follow<P: InputPin + Wait>(&self, mut pin: P) -> P::Error {
        loop {
            let low = match pin.is_low() {
                Ok(low) => low,
                Err(e) => return e,
            };
            self.set_low(low);
            let waited = if low {
                pin.wait_for_high().await
            } else {
                pin.wait_for_low().await
            };
            if let Err(e) = waited {
                return e;
            }
        }
    }
}

/// The future of [`Button::wait_for_low`].
#[derive(Debug)]
pub struct WaitForLow<'a> {
    button: &'a Button,
    id: Option<u64>,
    presses_at_start: Option<u64>,
    /// A press that must not count (already returned to this waiter's owner).
    seen: Option<u64>,
}

impl Future for WaitForLow<'_> {
    /// The number of the press (how many times the button had gone low).
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let button = self.button;
        let id = self.id;
        let start = self.presses_at_start;
        let seen = self.seen;
        let (ready, id, presses) = critical_section::with(|cs| {
            let mut s = button.state.borrow_ref_mut(cs);
            let pressed_meanwhile = start.is_some_and(|p| s.presses > p);
            let new_press = s.low && seen != Some(s.presses);
            if new_press || pressed_meanwhile {
                if let Some(id) = id {
                    s.waiters.retain(|(w, _)| *w != id);
                }
                return (true, None, s.presses);
            }
            let id = id.unwrap_or_else(|| {
                s.next_id += 1;
                s.next_id
            });
            match s.waiters.iter_mut().find(|(w, _)| *w == id) {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => s.waiters.push((id, cx.waker().clone())),
            }
            (false, Some(id), s.presses)
        });
        self.id = id;
        self.presses_at_start.get_or_insert(presses);
        if ready {
            Poll::Ready(presses)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for WaitForLow<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            critical_section::with(|cs| {
                self.button
                    .state
                    .borrow_ref_mut(cs)
                    .waiters
                    .retain(|(w, _)| *w != id)
            });
        }
    }
}

impl HostState {
    /// `gpio-api.wait-for-button-low`: waits without blocking the executor for a press this
    /// capsule has not been told about: at once if the button is low with a new press, else
    /// until the next one. A press held longer than the capsule takes to come back counts once
    /// (a capsule that toggles an LED and sleeps 100 ms toggles once per press, however long the
    /// press). `Err` if the board bound no button for this capsule.
    pub(crate) async fn wait_for_button_low(&mut self) -> Result<(), ()> {
        let button: Arc<Button> = self.button.clone().ok_or(())?;
        let press = button.wait_for_press_after(self.press_seen).await;
        self.press_seen = Some(press);
        Ok(())
    }

    /// `gpio-api.toggle-led`: `Err` if the board bound no LED for this capsule or the pin
    /// failed.
    pub(crate) fn toggle_led(&mut self) -> Result<(), ()> {
        let led = self.led.as_ref().ok_or(())?;
        led.toggle().map(drop).map_err(drop)
    }
}
