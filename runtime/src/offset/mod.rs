//! Source offsets: the store every source task reads and commits through, over a backend: the
//! standalone offset file (Kafka's Java-serialized format, read and written
//! byte for byte), a readable JSON sidecar, and typed access by (connector, source partition).

mod backend;
mod file;
pub mod java;
mod json_text;
mod store;

pub use backend::{BackendFuture, OffsetBackend, RawEntry};
pub use file::{import_sidecar, lock, read_entries, write_atomically, FileBackend};
pub use json_text::{canonical, write_json};
pub use store::{parse_entry, OffsetEntry, OffsetStore, OffsetStoreError};
