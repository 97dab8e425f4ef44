//! The canonical-ABI memory layouts of the `ariel:wasm-bindings` types that cross a wasmi host
//! call through memory, hand-coded because the types are fixed (sizes, alignments and offsets
//! per the component model's `CanonicalABI.md`; the layout each function reads or writes is in
//! its doc). Every access is to a slice already checked to have the type's size, so the indexing
//! here cannot go out of bounds; discriminants from the guest are checked.
//!
//! Each layout serves one interface's imports: with only some interfaces compiled in, the others'
//! go unused.
#![cfg_attr(not(all(feature = "udp", feature = "sensors")), allow(dead_code))]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::guest::{GuestFault, fault};

/// Little-endian `u32` at `at` (the slice is long enough: see the module doc).
pub(crate) fn get_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn get_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Writes a little-endian `u32` at `at`.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// An `option<…>` discriminant from the guest: `false` for none, `true` for some.
pub(crate) fn option_discriminant(what: &str, disc: u32) -> Result<bool, GuestFault> {
    match disc {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(fault(what, "invalid option discriminant")),
    }
}

/// `udp-api.ip-addr`, 18 bytes, align 2: discriminant `u8` at 0 (`v4`, `v6`); payload at 2:
/// `ipv4-addr` (four `u8`) or `ipv6-addr` (eight `u16`).
pub(crate) const IP_ADDR_SIZE: usize = 18;

fn get_ip(what: &str, bytes: &[u8], at: usize) -> Result<IpAddr, GuestFault> {
    let p = at + 2;
    match bytes[at] {
        0 => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[p],
            bytes[p + 1],
            bytes[p + 2],
            bytes[p + 3],
        ))),
        1 => {
            let mut groups = [0u16; 8];
            for (i, g) in groups.iter_mut().enumerate() {
                *g = get_u16(bytes, p + 2 * i);
            }
            Ok(IpAddr::V6(Ipv6Addr::from(groups)))
        }
        _ => Err(fault(what, "invalid ip-addr discriminant")),
    }
}

fn put_ip(bytes: &mut [u8], at: usize, ip: IpAddr) {
    let p = at + 2;
    match ip {
        IpAddr::V4(v4) => {
            bytes[at] = 0;
            bytes[p..p + 4].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            bytes[at] = 1;
            for (i, g) in v6.segments().into_iter().enumerate() {
                put_u16(bytes, p + 2 * i, g);
            }
        }
    }
}

/// `udp-api.udp-metadata`, 40 bytes, align 2: `endpoint` at 0 (`ip-addr` at 0, port `u16` at
/// 18), `local-addr: option<ip-addr>` at 20 (discriminant `u8` at 20, `ip-addr` at 22).
#[allow(
    dead_code,
    reason = "the size the offsets above add up to, kept beside them"
)]
const UDP_METADATA_SIZE: usize = 40;

/// Reads a `udp-metadata` at `at` as the endpoint's socket address; `local-addr` is checked (as
/// lifting it would) and not used.
pub(crate) fn get_udp_metadata(
    what: &str,
    bytes: &[u8],
    at: usize,
) -> Result<SocketAddr, GuestFault> {
    let ip = get_ip(what, bytes, at)?;
    let port = get_u16(bytes, at + IP_ADDR_SIZE);
    if option_discriminant(what, u32::from(bytes[at + 20]))? {
        get_ip(what, bytes, at + 22)?;
    }
    Ok(SocketAddr::new(ip, port))
}

/// Writes a `udp-metadata` at `at`.
pub(crate) fn put_udp_metadata(
    bytes: &mut [u8],
    at: usize,
    from: SocketAddr,
    local: Option<IpAddr>,
) {
    put_ip(bytes, at, from.ip());
    put_u16(bytes, at + IP_ADDR_SIZE, from.port());
    match local {
        None => bytes[at + 20] = 0,
        Some(ip) => {
            bytes[at + 20] = 1;
            put_ip(bytes, at + 22, ip);
        }
    }
}

/// `send`'s spilled parameters `(list<u8>, udp-metadata)`, 48 bytes, align 4: the list's
/// pointer at 0 and length at 4, the `udp-metadata` at 8.
pub(crate) const SEND_ARGS: (u32, u32) = (48, 4);

/// `try-recv`'s result `result<option<tuple<list<u8>, udp-metadata>>>`, 56 bytes, align 4:
/// result discriminant `u8` at 0, option discriminant `u8` at 4, the list's pointer at 8 and
/// length at 12, the `udp-metadata` at 16.
pub(crate) const TRY_RECV_RESULT: (u32, u32) = (56, 4);

/// `wait-for-reading`'s result `result<list<tuple<sample, channel>>>`, 12 bytes, align 4:
/// discriminant `u8` at 0, the list's pointer at 4 and length at 8.
pub(crate) const READING_RESULT: (u32, u32) = (12, 4);

/// `random-bytes`'s result `list<u8>`, 8 bytes, align 4: pointer at 0, length at 4.
pub(crate) const LIST_RESULT: (u32, u32) = (8, 4);

/// One `tuple<sample, channel>` of `wait-for-reading`'s list: 12 bytes, align 4.
#[cfg(feature = "sensors")]
pub(crate) const READING: (u32, u32) = (12, 4);

/// Writes one `tuple<sample, channel>` into `out` (12 bytes): `sample` at 0 (`value: s32` at 0,
/// `metadata: sample-metadata` at 4: discriminant `u8` at 4, `symmetrical-error`'s
/// `tuple<u8, s8, s8>` at 5..8), `channel` at 8 (`label` `u8` at 8, `scaling: s8` at 9, `unit`
/// `u8` at 10). Bytes no case uses are zeroed.
#[cfg(feature = "sensors")]
pub(crate) fn put_reading(
    out: &mut [u8],
    sample: &super::super::sensors::Sample,
    channel: &super::super::sensors::Channel,
) {
    use super::super::sensors::SampleMetadata as M;
    out.fill(0);
    put_u32(out, 0, sample.value as u32);
    out[4] = match sample.metadata {
        M::UnknownAccuracy => 0,
        M::NoMeasurementError => 1,
        M::SymmetricalError {
            deviation,
            bias,
            scaling,
        } => {
            out[5] = deviation;
            out[6] = bias as u8;
            out[7] = scaling as u8;
            2
        }
        M::ChannelTemporarilyUnavailable => 3,
        M::ChannelDisabled => 4,
    };
    out[8] = channel.label as u8;
    out[9] = channel.scaling as u8;
    out[10] = channel.unit as u8;
}
