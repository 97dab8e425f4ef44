//! The driver against the fake register file: bring-up, every RX refusal, TX framing, and the
//! interrupt protocol (what wakes whom, what is masked and re-armed).

extern crate std;

use std::boxed::Box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};
use std::vec::Vec;

use embassy_net_driver::{Driver, HardwareAddress, LinkState, RxToken as _, TxToken as _};

use crate::counters::Counters;
use crate::driver::{InitError, Lan9118, MAX_DROPS_PER_CALL};
use crate::fake::Fake;
use crate::frame::{BUFFER, MTU};
use crate::map::{int, irq_cfg, mac, mac_cr, phy, rx_status, tx_cfg};
use crate::shared::Shared;

struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

fn woken(count: &Count) -> usize {
    count.0.load(Ordering::SeqCst)
}

fn up(fake: &Fake) -> Lan9118<&Fake> {
    let shared: &'static Shared = Box::leak(Box::new(Shared::new()));
    match Lan9118::new(fake, shared, None) {
        Ok(driver) => driver,
        Err(e) => panic!("bring-up failed: {e}"),
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// What `receive` hands the stack, if anything.
fn received(driver: &mut Lan9118<&Fake>, waker: &Waker) -> Option<Vec<u8>> {
    let mut cx = Context::from_waker(waker);
    let (rx, _tx) = driver.receive(&mut cx)?;
    Some(rx.consume(|frame| frame.to_vec()))
}

#[test]
fn brings_the_chip_up_with_its_own_address() {
    let fake = Fake::new();
    let driver = up(&fake);
    assert_eq!(driver.mac_address(), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    assert_eq!(
        driver.hardware_address(),
        HardwareAddress::Ethernet([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    );
    assert_eq!(driver.capabilities().max_transmission_unit, 1514);
    let s = fake.state();
    assert_eq!(
        s.irq_cfg,
        irq_cfg::ENABLE | irq_cfg::ACTIVE_HIGH | irq_cfg::PUSH_PULL
    );
    assert_eq!(s.int_en, int::RSFL | int::PHY);
    // Filtering (not promiscuous), both directions on, full duplex as negotiated.
    assert_eq!(
        s.mac[mac::CR as usize],
        mac_cr::RX_ENABLE | mac_cr::TX_ENABLE | mac_cr::FULL_DUPLEX
    );
    assert_eq!(s.tx_cfg, tx_cfg::ON | tx_cfg::STATUS_ALLOW_OVERRUN);
    assert_eq!(
        u32::from(s.phy[phy::INTERRUPT_MASK as usize]),
        phy::INT_ENERGY_ON | phy::INT_AUTONEG_COMPLETE | phy::INT_LINK_DOWN
    );
}

#[test]
fn sets_a_given_address() {
    let fake = Fake::new();
    let shared: &'static Shared = Box::leak(Box::new(Shared::new()));
    let mac_address = [0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc];
    let driver = Lan9118::new(&fake, shared, Some(mac_address)).ok();
    assert_eq!(driver.map(|d| d.mac_address()), Some(mac_address));
    assert_eq!(fake.state().mac[mac::ADDRL as usize], 0xaa00_0002);
    assert_eq!(fake.state().mac[mac::ADDRH as usize], 0xccbb);
}

#[test]
fn refuses_a_missing_chip_and_a_stuck_reset() {
    let shared: &'static Shared = Box::leak(Box::new(Shared::new()));
    let fake = Fake::new();
    fake.state().byte_test = 0xffff_ffff;
    assert_eq!(
        Lan9118::new(&fake, shared, None).err(),
        Some(InitError::NotFound {
            byte_test: 0xffff_ffff
        })
    );
    let fake = Fake::new();
    fake.state().reset_stuck = true;
    assert_eq!(
        Lan9118::new(&fake, shared, None).err(),
        Some(InitError::ResetTimeout)
    );
}

#[test]
fn delivers_frames_byte_exact_whatever_their_length() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let waker = Waker::noop();
    let lengths = [14, 60, 61, 62, 63, 64, 1000, MTU];
    for len in lengths {
        fake.push_frame(&pattern(len));
    }
    for len in lengths {
        assert_eq!(
            received(&mut driver, waker),
            Some(pattern(len)),
            "length {len}"
        );
    }
    assert_eq!(received(&mut driver, waker), None);
    assert_eq!(driver.counters().rx_frames, lengths.len() as u32);
    let s = fake.state();
    assert!(s.rx_data.is_empty() && s.rx_status.is_empty());
    assert_eq!(s.rx_underflows, 0);
}

/// Pushes a refused frame and then a good one: the good one arrives intact (the refused one's
/// words were all discarded), and `counter` counted the refusal.
fn refused_then_next(status: u32, data: &[u8], counter: fn(&Counters) -> u32) {
    let fake = Fake::new();
    let mut driver = up(&fake);
    fake.push_raw(status, data);
    fake.push_frame(&pattern(60));
    assert_eq!(received(&mut driver, Waker::noop()), Some(pattern(60)));
    assert_eq!(counter(&driver.counters()), 1);
    assert_eq!(driver.counters().rx_frames, 1);
    let s = fake.state();
    assert!(s.rx_data.is_empty() && s.rx_status.is_empty());
    assert_eq!(s.rx_underflows, 0);
}

fn length(wire: usize) -> u32 {
    (wire as u32) << rx_status::LENGTH_SHIFT
}

#[test]
fn drops_a_frame_the_chip_flagged() {
    refused_then_next(length(64) | rx_status::ERROR, &pattern(64), |c| c.rx_errors);
}

#[test]
fn drops_a_frame_that_failed_the_address_filter() {
    refused_then_next(length(64) | rx_status::FILTER_FAIL, &pattern(64), |c| {
        c.rx_filtered
    });
}

#[test]
fn drops_a_frame_longer_than_the_mtu() {
    refused_then_next(length(MTU + 5), &pattern(MTU + 5), |c| c.rx_too_long);
    // The longest a status can claim.
    refused_then_next(length(0x3fff), &pattern(0x3fff), |c| c.rx_too_long);
}

#[test]
fn drops_a_frame_shorter_than_a_header() {
    refused_then_next(length(13 + 4), &pattern(17), |c| c.rx_too_short);
    refused_then_next(length(0), &[], |c| c.rx_too_short);
    refused_then_next(length(2), &pattern(2), |c| c.rx_too_short);
}

#[test]
fn empties_the_fifos_when_a_status_claims_more_than_they_hold() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    fake.push_raw(length(1000), &pattern(8));
    fake.push_frame(&pattern(60));
    // The frame behind the bad status is lost with it: the FIFOs cannot be trusted.
    assert_eq!(received(&mut driver, Waker::noop()), None);
    assert_eq!(driver.counters().rx_desyncs, 1);
    assert_eq!(fake.state().rx_dumps, 1);
    assert_eq!(fake.state().rx_underflows, 0);
    // Then the driver goes on.
    fake.push_frame(&pattern(70));
    assert_eq!(received(&mut driver, Waker::noop()), Some(pattern(70)));
}

#[test]
fn a_flood_of_bad_frames_is_handled_in_bounded_steps() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let (count, waker) = counting_waker();
    let bad = 2 * MAX_DROPS_PER_CALL + 3;
    for _ in 0..bad {
        fake.push_raw(length(64) | rx_status::ERROR, &pattern(64));
    }
    fake.push_frame(&pattern(99));
    // Each call discards at most MAX_DROPS_PER_CALL and wakes its task to go on.
    assert_eq!(received(&mut driver, &waker), None);
    assert_eq!(woken(&count), 1);
    assert_eq!(received(&mut driver, &waker), None);
    assert_eq!(woken(&count), 2);
    assert_eq!(received(&mut driver, &waker), Some(pattern(99)));
    assert_eq!(driver.counters().rx_errors, bad as u32);
}

#[test]
fn waits_for_a_frame_on_the_interrupt() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let (count, waker) = counting_waker();
    // Nothing there: RSFL armed, nothing woken, line quiet.
    fake.state().int_en &= !int::RSFL;
    assert_eq!(received(&mut driver, &waker), None);
    assert_ne!(fake.state().int_en & int::RSFL, 0);
    assert!(!fake.line());
    // A frame arrives: the line rises; the handler masks and acknowledges RSFL and wakes.
    fake.push_frame(&pattern(42));
    fake.state().int_sts |= int::RSFL;
    assert!(fake.line());
    driver.shared().on_interrupt(&&fake);
    assert_eq!(woken(&count), 1);
    assert_eq!(fake.state().int_en & int::RSFL, 0);
    assert_eq!(fake.state().int_sts & int::RSFL, 0);
    assert!(!fake.line());
    assert_eq!(received(&mut driver, &waker), Some(pattern(42)));
}

#[test]
fn sends_a_frame_as_command_words_and_padded_data() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let mut cx = Context::from_waker(Waker::noop());
    for (tag, len) in [(0u32, 61usize), (1, 60), (2, MTU)] {
        fake.state().tx_fifo.clear();
        let token = driver.transmit(&mut cx);
        let sent = token.map(|t| t.consume(len, |buf| buf.copy_from_slice(&pattern(len))));
        assert_eq!(sent, Some(()));
        let words = fake.state().tx_fifo.clone();
        assert_eq!(words.len(), 2 + len.div_ceil(4));
        assert_eq!(words[0], 0x3000 | len as u32, "command A");
        assert_eq!(words[1], (tag << 16) | len as u32, "command B");
        let mut bytes: Vec<u8> = words[2..].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert!(bytes[len..].iter().all(|&b| b == 0), "padding");
        bytes.truncate(len);
        assert_eq!(bytes, pattern(len));
    }
    assert_eq!(driver.counters().tx_frames, 3);
}

#[test]
fn builds_but_does_not_send_a_frame_longer_than_the_mtu() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let mut cx = Context::from_waker(Waker::noop());
    for (len, offered) in [(MTU + 1, MTU + 1), (5000, BUFFER)] {
        let got = driver
            .transmit(&mut cx)
            .map(|t| t.consume(len, |buf| buf.len()));
        assert_eq!(got, Some(offered));
    }
    assert!(fake.state().tx_fifo.is_empty());
    assert_eq!(driver.counters().tx_too_long, 2);
    assert_eq!(driver.counters().tx_frames, 0);
}

#[test]
fn waits_for_tx_space_on_the_interrupt_and_leaves_frames_in_the_chip() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    fake.state().tx_free = 1000;
    fake.push_frame(&pattern(60));
    assert!(driver.transmit(&mut cx).is_none());
    // No room for a reply: the received frame stays in the chip.
    assert!(driver.receive(&mut cx).is_none());
    assert_eq!(fake.state().rx_status.len(), 1);
    assert_ne!(fake.state().int_en & int::TDFA, 0);
    // Space frees: TDFA fires, the handler masks it and wakes the task.
    fake.state().tx_free = 4608;
    fake.state().int_sts |= int::TDFA;
    driver.shared().on_interrupt(&&fake);
    assert_eq!(woken(&count), 1);
    assert_eq!(fake.state().int_en & int::TDFA, 0);
    assert_eq!(received(&mut driver, &waker), Some(pattern(60)));
}

#[test]
fn reports_the_link_and_its_changes() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(driver.link_state(&mut cx) == LinkState::Up);
    // Asked again without a PHY interrupt: answered without touching the PHY.
    let reads = fake.state().phy_reads;
    assert!(driver.link_state(&mut cx) == LinkState::Up);
    assert_eq!(fake.state().phy_reads, reads);
    // The cable is pulled: the PHY interrupt fires; the handler wakes the link waiter.
    fake.state().phy[phy::BASIC_STATUS as usize] &= !(phy::LINK_UP as u16);
    fake.state().phy[phy::INTERRUPT_SOURCE as usize] = phy::INT_LINK_DOWN as u16;
    fake.state().int_sts |= int::PHY;
    driver.shared().on_interrupt(&&fake);
    assert_eq!(woken(&count), 1);
    assert_eq!(fake.state().int_en & int::PHY, 0);
    assert!(driver.link_state(&mut cx) == LinkState::Down);
    // The PHY's source was read (cleared) and its interrupt re-armed.
    assert_eq!(fake.state().phy[phy::INTERRUPT_SOURCE as usize], 0);
    assert_ne!(fake.state().int_en & int::PHY, 0);
}

#[test]
fn a_spurious_interrupt_changes_nothing_and_wakes_nobody() {
    let fake = Fake::new();
    let mut driver = up(&fake);
    let (count, waker) = counting_waker();
    assert_eq!(received(&mut driver, &waker), None);
    let enabled = fake.state().int_en;
    // A source that is set but not enabled (TDFA) did not fire.
    fake.state().int_sts |= int::TDFA;
    driver.shared().on_interrupt(&&fake);
    assert_eq!(woken(&count), 0);
    assert_eq!(fake.state().int_en, enabled);
    assert_eq!(fake.state().int_sts, int::TDFA);
}
