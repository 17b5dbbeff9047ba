//! Where a worker's source offsets are kept (the persistence half of Kafka's
//! `OffsetBackingStore`): the standalone offset file ([`super::FileBackend`]) or, in a cluster,
//! the offsets topic. The [`super::OffsetStore`] in front of it keeps the entries in memory with
//! their exact key bytes and hands the backend what to make durable.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::state_log::StateLog;

use super::OffsetStoreError;

/// A stored entry: key bytes (`["<connector>",{partition}]`) and value bytes (`None`: reset).
pub type RawEntry = (Vec<u8>, Option<Vec<u8>>);

pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, OffsetStoreError>> + Send + 'a>>;

/// The persistence of source offsets.
pub trait OffsetBackend: Send + Sync + 'static {
    /// For messages: `offset file /var/lib/…`, `topic connect-offsets`.
    fn describe(&self) -> String;

    /// How to repair a damaged entry, for the error that stops the start.
    fn repair_hint(&self) -> String {
        String::new()
    }

    /// What other writers stored since the last call (`None` when nobody else writes: the
    /// offset file). A topic reads to its end first, as Kafka's `get` does.
    fn load(&self) -> BackendFuture<'_, Option<Vec<RawEntry>>>;

    /// Makes the entries durable: `all` of them (a file is rewritten whole) of which `changed`
    /// were written since the last success (a topic sends those).
    fn persist(&self, all: Vec<RawEntry>, changed: Vec<RawEntry>) -> BackendFuture<'_, ()>;

    /// A log of state that must stay consistent with a connector's offsets (the binlog
    /// connector's schema history), kept with them and named after the connector and `name`;
    /// `None` where this store keeps none.
    fn state_log(&self, _connector: &str, _name: &str) -> Option<Arc<dyn StateLog>> {
        None
    }
}
