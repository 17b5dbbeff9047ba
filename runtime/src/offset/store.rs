//! The offset store of one worker: every source connector's offsets, in memory with their exact
//! key bytes, made durable by an [`OffsetBackend`] (the offset file, or a cluster's topic).
//!
//! Differences from Kafka's `FileOffsetBackingStore` (documented): the file is replaced
//! atomically (temp file, fsync, rename, fsync of the folder) instead of rewritten in place, and
//! a corrupt file stops the worker with a recovery hint instead of silently loading as empty.
//! After each flush a readable sidecar `<file>.json` is written too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use super::backend::{OffsetBackend, RawEntry};
use super::file::FileBackend;
use super::java::CodecError;
use super::json_text::{canonical, write_json};
use crate::state_log::StateLog;

#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    #[error("offset file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("offset file {path} is corrupt ({source}); the readable copy {path}.json (if present) can rebuild it with `sluice offsets import {path} {path}.json`, or move the file away to start from no offsets")]
    Corrupt { path: PathBuf, source: CodecError },
    #[error("{origin}: entry {entry} is not valid JSON ({message}); the offsets were not loaded, so nothing is read twice. {hint}")]
    Damaged { origin: String, entry: String, message: String, hint: String },
    #[error("cannot read or write the stored offsets: {0}")]
    Backend(String),
    #[error("offset file {path} is in use by another process (lock {path}.lock)")]
    Locked { path: PathBuf },
    #[error("the stored offset of {connector} does not suit the connector: {message}; correct it with `PATCH /connectors/{connector}/offsets` while the connector is STOPPED, or with the worker stopped `sluice offsets set <offset file> --connector {connector} --partition … --offset …` (`sluice offsets dump` shows it)")]
    Json { connector: String, message: String },
}

/// One offset, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetEntry {
    pub connector: String,
    pub partition: Value,
    /// `None` for a reset (null) offset.
    pub offset: Option<Value>,
}

#[derive(Default)]
struct Inner {
    /// Key bytes → value bytes, exactly as they are (or will be) stored.
    raw: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// (connector, canonical partition) → key bytes, so lookups ignore key order.
    index: HashMap<(String, String), Vec<u8>>,
    /// Keys written since the last successful flush.
    changed: BTreeSet<Vec<u8>>,
}

impl Inner {
    /// Adds stored entries, checking that each is readable.
    fn load(&mut self, entries: Vec<RawEntry>, backend: &dyn OffsetBackend) -> Result<(), OffsetStoreError> {
        for (key, value) in entries {
            let damaged = |what: &[u8], message: String| OffsetStoreError::Damaged {
                origin: backend.describe(),
                entry: crate::error::excerpt(what, 120),
                message,
                hint: backend.repair_hint(),
            };
            let id = parse_key(&key).map_err(|m| damaged(&key, m))?;
            if let Some(v) = &value {
                serde_json::from_slice::<Value>(v).map_err(|e| damaged(v, format!("offset of {}: {e}", id.0)))?;
            }
            self.index.insert(id, key.clone());
            self.raw.insert(key, value);
        }
        Ok(())
    }
}

/// The worker's source offsets.
pub struct OffsetStore {
    inner: Mutex<Inner>,
    write_lock: tokio::sync::Mutex<()>,
    backend: Box<dyn OffsetBackend>,
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OffsetStoreError + '_ {
    move |source| OffsetStoreError::Io { path: path.to_owned(), source }
}

impl OffsetStore {
    /// Opens (and locks) the offset file; a missing or empty file is an empty store.
    pub fn open(path: &Path) -> Result<OffsetStore, OffsetStoreError> {
        let (backend, entries) = FileBackend::open(path)?;
        OffsetStore::new(Box::new(backend), entries)
    }

    /// A store over `backend`, holding `entries` (what the backend has stored).
    pub fn new(backend: Box<dyn OffsetBackend>, entries: Vec<RawEntry>) -> Result<OffsetStore, OffsetStoreError> {
        let mut inner = Inner::default();
        inner.load(entries, backend.as_ref())?;
        Ok(OffsetStore { inner: Mutex::new(inner), write_lock: tokio::sync::Mutex::new(()), backend })
    }

    /// Where the offsets are kept, for messages.
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Reads what other writers stored (a cluster's other workers), keeping this worker's own
    /// writes not yet flushed; called before a task reads its offsets.
    pub async fn refresh(&self) -> Result<(), OffsetStoreError> {
        let Some(entries) = self.backend.load().await? else { return Ok(()) };
        let mut inner = self.inner.lock().unwrap();
        let theirs: Vec<RawEntry> = entries.into_iter().filter(|(k, _)| !inner.changed.contains(k)).collect();
        inner.load(theirs, self.backend.as_ref())
    }

    /// See [`OffsetBackend::state_log`].
    pub fn state_log(&self, connector: &str, name: &str) -> Option<Arc<dyn StateLog>> {
        self.backend.state_log(connector, name)
    }

    /// The stored offset of a partition, `None` when absent or reset.
    pub fn get(&self, connector: &str, partition: &Value) -> Option<Value> {
        let inner = self.inner.lock().unwrap();
        let key = inner.index.get(&(connector.to_owned(), canonical(partition)))?;
        let value = inner.raw.get(key)?.as_ref()?;
        serde_json::from_slice(value).ok()
    }

    /// Typed read: the connector's offset type from the stored JSON.
    pub fn get_typed<P: Serialize, O: serde::de::DeserializeOwned>(
        &self,
        connector: &str,
        partition: &P,
    ) -> Result<Option<O>, OffsetStoreError> {
        let json_err =
            |e: serde_json::Error| OffsetStoreError::Json { connector: connector.to_owned(), message: e.to_string() };
        let partition = serde_json::to_value(partition).map_err(json_err)?;
        match self.get(connector, &partition) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v).map(Some).map_err(json_err),
        }
    }

    /// Records offsets in memory; [`OffsetStore::flush`] makes them durable.
    pub fn put(&self, connector: &str, offsets: impl IntoIterator<Item = (Value, Option<Value>)>) {
        let mut inner = self.inner.lock().unwrap();
        for (partition, offset) in offsets {
            let id = (connector.to_owned(), canonical(&partition));
            let key = match inner.index.get(&id) {
                Some(k) => k.clone(),
                None => {
                    let mut k = Vec::new();
                    write_json(&Value::Array(vec![Value::String(connector.to_owned()), partition]), &mut k);
                    inner.index.insert(id, k.clone());
                    k
                }
            };
            let value = offset.map(|o| {
                let mut v = Vec::new();
                write_json(&o, &mut v);
                v
            });
            if inner.raw.get(&key) != Some(&value) {
                inner.raw.insert(key.clone(), value);
                inner.changed.insert(key);
            }
        }
    }

    /// Makes what changed durable (the offset file is rewritten atomically with its sidecar);
    /// on failure the changes stay pending for the next flush.
    pub async fn flush(&self) -> Result<(), OffsetStoreError> {
        let _writing = self.write_lock.lock().await;
        let (all, changed) = {
            let inner = self.inner.lock().unwrap();
            if inner.changed.is_empty() {
                return Ok(());
            }
            let all: Vec<RawEntry> = inner.raw.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let changed: Vec<RawEntry> =
                inner.changed.iter().map(|k| (k.clone(), inner.raw.get(k).cloned().flatten())).collect();
            (all, changed)
        };
        self.backend.persist(all, changed.clone()).await?;
        let mut inner = self.inner.lock().unwrap();
        for (key, value) in changed {
            // a key written again meanwhile stays pending
            if inner.raw.get(&key) == Some(&value) {
                inner.changed.remove(&key);
            }
        }
        Ok(())
    }

    /// Every entry, parsed (for REST and `sluice offsets dump`).
    pub fn entries(&self) -> Vec<OffsetEntry> {
        let inner = self.inner.lock().unwrap();
        inner.raw.iter().filter_map(|(k, v)| parse_entry(k, v.as_deref())).collect()
    }
}

/// `["<connector>",{partition}]` → (connector, canonical partition).
fn parse_key(key: &[u8]) -> Result<(String, String), String> {
    let v: Value = serde_json::from_slice(key).map_err(|e| format!("key: {e}"))?;
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(connector), partition]) => Ok((connector.clone(), canonical(partition))),
        _ => Err("key: expected [\"<connector>\", {partition}]".into()),
    }
}

/// A stored entry's key and value bytes, parsed (`None` for a key that is not
/// `["<connector>",{partition}]`).
pub fn parse_entry(key: &[u8], value: Option<&[u8]>) -> Option<OffsetEntry> {
    let k: Value = serde_json::from_slice(key).ok()?;
    let arr = k.as_array()?;
    Some(OffsetEntry {
        connector: arr.first()?.as_str()?.to_owned(),
        partition: arr.get(1)?.clone(),
        offset: value.and_then(|v| serde_json::from_slice(v).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{import_sidecar, java};
    use super::*;
    use serde_json::json;

    fn flush(store: &OffsetStore) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(store.flush()).unwrap();
    }

    #[test]
    fn put_flush_reopen_and_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets");
        {
            let store = OffsetStore::open(&path).unwrap();
            assert!(OffsetStore::open(&path).is_err(), "second open must fail on the lock");
            store.put("jdbc", [(json!({"protocol":"1","table":"shop.orders"}), Some(json!({"incrementing":42})))]);
            store.put("f", [(json!({"filename":"/a"}), None)]);
            flush(&store);
        }
        let raw = java::decode(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw[1].0, br#"["jdbc",{"protocol":"1","table":"shop.orders"}]"#.to_vec());
        assert_eq!(raw[1].1.as_deref(), Some(&br#"{"incrementing":42}"#[..]));
        let store = OffsetStore::open(&path).unwrap();
        // lookups ignore key order
        assert_eq!(store.get("jdbc", &json!({"table":"shop.orders","protocol":"1"})), Some(json!({"incrementing":42})));
        assert_eq!(store.get("f", &json!({"filename":"/a"})), None);
        // an update keeps the loaded key bytes
        store.put("jdbc", [(json!({"table":"shop.orders","protocol":"1"}), Some(json!({"incrementing":43})))]);
        flush(&store);
        let raw = java::decode(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw.len(), 2);
        assert_eq!(raw[1].0, br#"["jdbc",{"protocol":"1","table":"shop.orders"}]"#.to_vec());
        let sidecar: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("connect.offsets.json")).unwrap()).unwrap();
        assert_eq!(sidecar["format"], "sluice-offsets/1");
        assert_eq!(sidecar["entries"][1]["offset"]["incrementing"], 43);
        // the sidecar rebuilds the file
        let rebuilt = dir.path().join("rebuilt.offsets");
        assert_eq!(import_sidecar(&dir.path().join("connect.offsets.json"), &rebuilt).unwrap(), 2);
        assert_eq!(std::fs::read(&rebuilt).unwrap(), std::fs::read(&path).unwrap());
    }

    #[test]
    fn damaged_json_inside_the_file_stops_the_load_and_keeps_the_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        {
            let store = OffsetStore::open(&path).unwrap();
            store.put("f", [(json!({"filename":"/a"}), Some(json!({"position":1234})))]);
            flush(&store);
        }
        let sidecar = std::fs::read(dir.path().join("o.json")).unwrap();
        // same length, so the Java framing stays valid: only the JSON inside is damaged
        let bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(11).position(|w| w == br#"{"position""#).unwrap();
        let mut damaged = bytes.clone();
        damaged[at] = b'[';
        std::fs::write(&path, &damaged).unwrap();
        let e = OffsetStore::open(&path).err().expect("damaged JSON must not load as no offset").to_string();
        assert!(
            e.contains("not valid JSON") && e.contains("sluice offsets import") && e.contains("offset of f"),
            "{e}"
        );
        assert_eq!(std::fs::read(dir.path().join("o.json")).unwrap(), sidecar, "the readable copy is untouched");
        // a damaged key too
        let at = bytes.windows(4).position(|w| w == br#"["f""#).unwrap();
        let mut damaged = bytes;
        damaged[at] = b'{';
        std::fs::write(&path, &damaged).unwrap();
        let e = OffsetStore::open(&path).err().unwrap().to_string();
        assert!(e.contains("key:"), "{e}");
    }

    #[test]
    fn corrupt_file_is_an_error_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        std::fs::write(&path, [0xac, 0xed, 0x00, 0x05, 0x73]).unwrap();
        let e = OffsetStore::open(&path).err().unwrap().to_string();
        assert!(e.contains("is corrupt") && e.contains("sluice offsets import"), "{e}");
    }
}
