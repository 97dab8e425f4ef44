//! A file on the host, through semihosting (`SYS_OPEN`, `SYS_SEEK`, `SYS_READ`, `SYS_WRITE`,
//! `SYS_FLEN`): how the network firmware's flash partition outlives QEMU ([`crate::retained`]
//! mirrors every erase and write into it, and reads it back at boot). A real board has no such
//! thing: its flash keeps its contents by itself.

use cortex_m_semihosting::{nr, syscall, syscall1};

/// An open host file.
pub struct HostFile {
    handle: usize,
}

impl HostFile {
    /// Opens `name` (NUL-terminated) for reading and writing; creates it empty when it does not
    /// exist. `None` when the host refuses both (no semihosting, no permission).
    pub fn open_or_create(name: &core::ffi::CStr) -> Option<HostFile> {
        let len = name.to_bytes().len();
        for mode in [nr::open::RW_BINARY, nr::open::RW_TRUNC_BINARY] {
            // SAFETY: SYS_OPEN reads `len` bytes of the NUL-terminated string `name`, which
            // lives across the call; it returns a handle or -1.
            let handle = unsafe { syscall!(OPEN, name.as_ptr(), mode, len) };
            if handle != usize::MAX {
                return Some(HostFile { handle });
            }
        }
        None
    }

    /// Opens `name` (NUL-terminated) for reading only.
    pub fn open_read(name: &core::ffi::CStr) -> Option<HostFile> {
        let len = name.to_bytes().len();
        // SAFETY: as in `open_or_create`.
        let handle = unsafe { syscall!(OPEN, name.as_ptr(), nr::open::R_BINARY, len) };
        (handle != usize::MAX).then_some(HostFile { handle })
    }

    /// The file's length in bytes.
    pub fn len(&self) -> Option<usize> {
        // SAFETY: SYS_FLEN takes a handle SYS_OPEN returned; it returns the length or -1.
        let len = unsafe { syscall!(FLEN, self.handle) };
        (len != usize::MAX).then_some(len)
    }

    /// Reads `buf.len()` bytes at `offset`; whether all arrived.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        self.seek(offset)
            // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`, which is borrowed
            // mutably across the call; it returns how many it did *not* read.
            && unsafe { syscall!(READ, self.handle, buf.as_mut_ptr(), buf.len()) } == 0
    }

    /// Reads `buf.len()` bytes from where the file is (for devices that do not seek, like
    /// `/dev/urandom`); whether all arrived.
    pub fn read(&self, buf: &mut [u8]) -> bool {
        // SAFETY: as in `read_at`.
        unsafe { syscall!(READ, self.handle, buf.as_mut_ptr(), buf.len()) == 0 }
    }

    /// Writes `data` at `offset`; whether all of it was written.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> bool {
        self.seek(offset)
            // SAFETY: SYS_WRITE reads `data.len()` bytes of `data`, borrowed across the call;
            // it returns how many it did *not* write.
            && unsafe { syscall!(WRITE, self.handle, data.as_ptr(), data.len()) } == 0
    }

    fn seek(&self, offset: usize) -> bool {
        // SAFETY: SYS_SEEK takes a handle and an absolute position; it returns 0 on success.
        unsafe { syscall!(SEEK, self.handle, offset) == 0 }
    }
}

/// The longest command line the firmware reads (`serve.sh`'s options fit in it): a longer one
/// is not read at all (semihosting refuses a buffer too small).
pub const MAX_COMMAND_LINE: usize = 256;

/// The command line QEMU was given for the firmware (`-semihosting-config …,arg=A,arg=B` gives
/// "A B"), through `SYS_GET_CMDLINE`; `None` when there is none or it does not fit `buf`.
pub fn command_line(buf: &mut [u8]) -> Option<&str> {
    let mut block: [usize; 2] = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: SYS_GET_CMDLINE takes the address of the block (a buffer pointer and its length, alive
    // across the call), writes at most
    // that many bytes into `buf` (borrowed mutably across the call) and the length it wrote
    // into the block's second word; it returns 0 on success.
    let status = unsafe { syscall1!(GET_CMDLINE, block.as_mut_ptr()) };
    if status != 0 {
        return None;
    }
    let len = block[1].min(buf.len());
    let text = core::str::from_utf8(&buf[..len]).ok()?;
    Some(text.trim_end_matches('\0'))
}
