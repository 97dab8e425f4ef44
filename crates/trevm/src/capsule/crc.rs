//! The capsule checksum.

/// The capsule checksum: CRC-32/ISO-HDLC (IEEE 802.3, as zlib), from the `crc` crate.
pub(super) struct Crc32(crc::Digest<'static, u32>);

static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl Crc32 {
    pub(super) fn new() -> Self {
        Crc32(CRC32.digest())
    }
    pub(super) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub(super) fn finish(self) -> u32 {
        self.0.finalize()
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}
