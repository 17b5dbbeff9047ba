//! Source offsets: the standalone offset file (Kafka's Java-serialized format, read and written
//! byte for byte), a readable JSON sidecar, and typed access by (connector, source partition).

pub mod java;
mod json_text;
mod store;

pub use json_text::{canonical, write_json};
pub use store::{import_sidecar, lock, read_entries, write_atomically, OffsetEntry, OffsetStore, OffsetStoreError};
