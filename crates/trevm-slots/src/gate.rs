//! The one admission pipeline every slot installs capsules through: **check** the bytes (header,
//! CRC, profile), **verify** them against the trust policy and the slot's anti-rollback ledger and
//! load them ([`Gate::check`]); let the slot **prepare** what it needs (an instance, its
//! initialisation) while what is installed keeps serving; then, in one step that nothing else
//! interleaves with, check the **ledger** again (another upload may have installed a newer version
//! meanwhile), **store** the capsule and the ledger, and **install** ([`Gate::admit`]).
//!
//! Order of writes (see [`crate::storage`]): the capsule, then the ledger. A capsule that cannot be
//! stored is refused (5.00) and nothing changes. A ledger that cannot be written leaves the
//! capsule installed only if the capsule itself is in the store, whose restore at the next start
//! records it again; the answer is 5.00 either way, so a 2.xx means durable. A capsule not kept in
//! the store (the ephemeral slot's, one built into the firmware) is refused then: nothing would
//! repair the ledger.

use alloc::string::String;
use core::cell::RefCell;

use trevm::{Error, HostView, LoadedCapsule, Runtime, TrustPolicy, VerifiedCapsule, VersionLedger};

use crate::HostFactory;
use crate::admit::{Admitted, Refusal, admit_owned};
use crate::storage::{self, SharedStore};

/// Where the bytes of a capsule being admitted are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keep<'a> {
    /// Write them under this key (an upload to a slot that keeps its capsules), from the capsule's
    /// own buffer.
    Store(&'a str),
    /// They are in the store already (a restore).
    Stored,
    /// Nowhere (the ephemeral slot, a capsule built into the firmware).
    Nowhere,
}

/// Capsule bytes given up to the pipeline: `buf[start..]` (see [`admit_owned`]).
pub(crate) type Owned = (alloc::vec::Vec<u8>, usize);

/// A slot's runtime, trust policy, host state and anti-rollback ledger, and the pipeline on them.
pub(crate) struct Gate<T: HostView> {
    /// What the slot's capsules run on.
    pub(crate) runtime: Runtime<T>,
    trust: TrustPolicy,
    host: RefCell<HostFactory<T>>,
    ledger: RefCell<VersionLedger>,
    store: RefCell<Option<SharedStore>>,
    /// The store key of this slot's ledger.
    ledger_key: &'static str,
}

impl<T: HostView> core::fmt::Debug for Gate<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gate")
            .field("ledger_key", &self.ledger_key)
            .field("stored", &self.store.borrow().is_some())
            .finish_non_exhaustive()
    }
}

impl<T: HostView> Gate<T> {
    pub(crate) fn new(
        runtime: Runtime<T>,
        trust: TrustPolicy,
        host: HostFactory<T>,
        ledger_key: &'static str,
    ) -> Self {
        Gate {
            runtime,
            trust,
            host: RefCell::new(host),
            ledger: RefCell::new(VersionLedger::new()),
            store: RefCell::new(None),
            ledger_key,
        }
    }

    /// Makes host state with `host` from now on.
    pub(crate) fn set_host(&self, host: HostFactory<T>) {
        *self.host.borrow_mut() = host;
    }

    /// The store data a capsule called `name` runs with.
    pub(crate) fn host_state(&self, name: &str) -> T {
        (self.host.borrow())(name)
    }

    /// The store, if the slot keeps anything.
    pub(crate) fn store(&self) -> Option<SharedStore> {
        self.store.borrow().clone()
    }

    /// Keeps the ledger in `store` from now on, starting from the one stored there. An error
    /// when it is unreadable (starting without it would allow rollbacks).
    pub(crate) fn attach(&self, store: SharedStore) -> Result<(), String> {
        *self.ledger.borrow_mut() = storage::load_ledger(&store, self.ledger_key)?;
        *self.store.borrow_mut() = Some(store);
        Ok(())
    }

    /// Check and verify: the bytes `buf[start..]` are a capsule for this runtime's profile, the
    /// trust policy accepts its signature and the ledger its version; loaded, `buf` becoming its
    /// code memory when it can (see [`admit_owned`]). Nothing installed is touched.
    pub(crate) fn check(&self, (buf, start): Owned) -> Result<Admitted, Refusal> {
        admit_owned(
            &self.runtime,
            &self.trust,
            &self.ledger.borrow(),
            buf,
            start,
        )
    }

    /// Ledger and store: the version checked again and recorded, the capsule and the ledger
    /// written (see the module). `Ok(Some(_))`: install, but answer with that 5.00.
    pub(crate) fn commit(
        &self,
        verified: &VerifiedCapsule<'_>,
        keep: Keep<'_>,
    ) -> Result<Option<Refusal>, Refusal> {
        let mut ledger = self.ledger.borrow_mut();
        ledger.admits(verified).map_err(Error::from)?;
        let store = self.store.borrow().clone();
        let Some(store) = store else {
            ledger.record(verified);
            return Ok(None);
        };
        if let Keep::Store(key) = keep {
            storage::put(&store, key, verified.as_bytes()).map_err(Refusal::internal)?;
        }
        let before = ledger.clone();
        ledger.record(verified);
        if *ledger == before {
            return Ok(None);
        }
        match storage::put(&store, self.ledger_key, &ledger.to_bytes()) {
            Ok(()) => Ok(None),
            Err(e) if matches!(keep, Keep::Nowhere) => {
                *ledger = before;
                Err(Refusal::internal(e))
            }
            Err(e) => Ok(Some(Refusal::internal(e))),
        }
    }

    /// The whole pipeline for uploaded (or stored) `bytes`: [`Gate::check`], then
    /// [`Gate::install`].
    pub(crate) async fn admit<P, O>(
        &self,
        bytes: Owned,
        keep: Keep<'_>,
        prepare: impl AsyncFnOnce(&LoadedCapsule, &VerifiedCapsule<'_>) -> Result<P, Refusal>,
        install: impl FnOnce(LoadedCapsule, &VerifiedCapsule<'_>, P) -> O,
    ) -> Result<(O, Option<Refusal>), Refusal> {
        let Admitted { loaded, verified } = self.check(bytes)?;
        self.install(loaded, &verified, keep, prepare, install)
            .await
    }

    /// Prepare, ledger, store, install, for a capsule checked and verified already: `prepare`
    /// readies it while what is installed keeps serving (a refusal ends it there), then
    /// [`Gate::commit`] and `install` run without an await between them. Returns what `install`
    /// returned, and the 5.00 to answer with if the ledger could not be stored.
    pub(crate) async fn install<P, O>(
        &self,
        loaded: LoadedCapsule,
        verified: &VerifiedCapsule<'_>,
        keep: Keep<'_>,
        prepare: impl AsyncFnOnce(&LoadedCapsule, &VerifiedCapsule<'_>) -> Result<P, Refusal>,
        install: impl FnOnce(LoadedCapsule, &VerifiedCapsule<'_>, P) -> O,
    ) -> Result<(O, Option<Refusal>), Refusal> {
        let prepared = prepare(&loaded, verified).await?;
        let unsaved = self.commit(verified, keep)?;
        Ok((install(loaded, verified, prepared), unsaved))
    }
}
