//! The policy's scope as coapcore asks for it: bound to one request's security context.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use coap_message::ReadableMessage;

use crate::policy::Scope;

/// The scope bound to one request's security context, as coapcore checks it. Whether the client
/// authenticated is kept so a refusal can say 4.01 (who are you?) or 4.03 (not you).
#[derive(Debug, Clone)]
pub(crate) struct BoundScope {
    pub(crate) scope: Scope,
    pub(crate) authenticated: bool,
    /// Set when this scope refuses a request of an authenticated client; read when the refusal
    /// is rendered.
    pub(crate) refused_authenticated: Arc<AtomicBool>,
    /// The most bytes the decrypted request can hold (see `inner.rs`).
    pub(crate) plaintext_bound: Arc<AtomicUsize>,
}

impl coapcore::scope::Scope for BoundScope {
    fn request_is_allowed<M: ReadableMessage>(&self, request: &M) -> bool {
        let code: u8 = request.code().into();
        let mut segments: Vec<String> = Vec::new();
        // Through the checked walk: liboscore's iterator can run forever (see `inner.rs`).
        let bound = self.plaintext_bound.load(Ordering::Relaxed);
        let walked = super::inner::visit(request, bound, |number, value| {
            if number == crate::message::opt::URI_PATH {
                segments.push(core::str::from_utf8(value).ok()?.into());
            }
            Some(())
        });
        if walked.is_none() {
            return false;
        }
        let path: Vec<&str> = segments.iter().map(String::as_str).collect();
        let allowed = self.scope.allows(code, &path);
        self.refused_authenticated
            .store(!allowed && self.authenticated, Ordering::Relaxed);
        allowed
    }
}
