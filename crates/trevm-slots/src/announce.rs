//! [`Announced`]: a [`Device`] that keeps its Resource Directory links current, so the
//! registration driver ([`trevm_coap::rd::run`]) re-registers when what the device runs
//! changes, without polling: after every request that may have changed what is installed
//! (a `PUT`, `POST` or `DELETE` under `/sandbox`, `/vm-control` or `/ephemeral`, once its
//! response is ready, whatever it says), the links are recomputed from the capsules' status
//! ([`trevm_coap::rd::capsule_links`]) and set in the [`LinksWatch`], which wakes the driver
//! only when they differ.
//!
//! It is the device's [`Resources`] in place of the [`Device`]:
//! `Server::new(Announced::new(device, links.clone()), limits)`, with `links` given to
//! [`trevm_coap::rd::run`] too. A device that does not register serves its [`Device`] alone.

use alloc::string::String;
use alloc::vec::Vec;

use trevm::{HostState, HostView};
use trevm_coap::message::code;
use trevm_coap::rd::{LinksWatch, capsule_links};
use trevm_coap::server::{Handled, Request, Resources, Response, Run};

use crate::device::Device;
use crate::ephemeral::Ephemeral;
use crate::persistent::Persistent;

/// A [`Device`] whose links ([`capsule_links`] of its capsules) are kept in a [`LinksWatch`].
#[derive(Debug)]
pub struct Announced<T: HostView = HostState> {
    device: Device<T>,
    watch: LinksWatch,
}

/// The same slots as `device` (shared handles), for a response that is ready after the request
/// (an upload's admission): they outlive the borrow of the device.
fn shared<T: HostView>(device: &Device<T>) -> Device<T> {
    Device {
        sandbox: device.sandbox.share(),
        persistent: device.persistent.as_ref().map(Persistent::share),
        ephemeral: device.ephemeral.as_ref().map(Ephemeral::share),
        memory: None,
        logs: None,
    }
}

impl<T: HostView> Announced<T> {
    /// `device`, its current links set in `watch` at once.
    pub fn new(device: Device<T>, watch: LinksWatch) -> Self {
        let announced = Announced { device, watch };
        announced.publish();
        announced
    }

    /// Sets the device's current links in the watch (done after every request that may change
    /// them; call it after changing the device otherwise, e.g. restoring capsules).
    pub fn publish(&self) {
        self.watch.set(capsule_links(&self.device.capsules()));
    }

    /// The device.
    pub fn device(&self) -> &Device<T> {
        &self.device
    }

    /// The device, to change (then [`Announced::publish`]).
    pub fn device_mut(&mut self) -> &mut Device<T> {
        &mut self.device
    }

    /// The watch the links are kept in.
    pub fn watch(&self) -> &LinksWatch {
        &self.watch
    }
}

impl<T: HostView + 'static> Resources for Announced<T> {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        let may_change = request.code != code::GET
            && matches!(
                request.path.first(),
                Some(&"sandbox" | &"vm-control" | &"ephemeral")
            );
        let handled = self.device.handle(request);
        if !may_change {
            return handled;
        }
        match handled {
            Handled::Now(response) => {
                self.publish();
                Handled::Now(response)
            }
            Handled::Later(run) => {
                let slots = shared(&self.device);
                let watch = self.watch.clone();
                Handled::Later(Run::new(async move {
                    let response = run.await;
                    watch.set(capsule_links(&slots.capsules()));
                    response
                }))
            }
        }
    }

    fn links(&self) -> Vec<String> {
        self.device.links()
    }

    fn observe(&mut self, request: &Request<'_>) -> Option<(Response, u64)> {
        self.device.observe(request)
    }

    fn notification(&mut self, path: &[String], cursor: u64) -> Option<(Response, u64)> {
        self.device.notification(path, cursor)
    }

    fn poll_changed(&self, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        self.device.poll_changed(cx)
    }
}
