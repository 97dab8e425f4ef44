//! sequential-storage's async flash API over a blocking `embedded-storage` flash.

use alloc::format;
use alloc::string::String;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use embedded_storage_async::nor_flash as async_nor;
use sequential_storage::Error as SsError;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::MapStorage;

use super::format::ItemKey;
use crate::StoreError;

/// Adapts a blocking `embedded-storage` flash to the async traits sequential-storage uses.
pub(super) struct Blocking<F>(pub(super) F);

impl<F: ErrorType> ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> async_nor::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> async_nor::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

impl<F: MultiwriteNorFlash> async_nor::MultiwriteNorFlash for Blocking<F> {}

/// Runs a future to completion by polling it. The futures here only await `Blocking` flash
/// operations, which complete on the first poll, so this never actually spins.
pub(super) fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

pub(super) type Map<F> =
    MapStorage<ItemKey, Blocking<F>, Cache<Uncached, Uncached, Uncached, ItemKey>>;

pub(super) fn flash_error<E: core::fmt::Debug>(err: SsError<E>) -> StoreError {
    match err {
        SsError::Storage { value, .. } => StoreError::Flash(format!("{value:?}")),
        SsError::FullStorage => StoreError::Full,
        SsError::Corrupted { .. } => {
            StoreError::Corrupt(String::from("flash region in an unrecoverable state"))
        }
        other => StoreError::Flash(format!("{other:?}")),
    }
}
