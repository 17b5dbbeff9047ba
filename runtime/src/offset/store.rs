//! The offset store of one worker: every source connector's offsets in one file.
//!
//! Differences from Kafka's `FileOffsetBackingStore` (documented): the file is replaced
//! atomically (temp file, fsync, rename, fsync of the folder) instead of rewritten in place, and
//! a corrupt file stops the worker with a recovery hint instead of silently loading as empty.
//! After each flush a readable sidecar `<file>.json` is written too.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use super::java::{self, CodecError};
use super::json_text::{canonical, write_json};

#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    #[error("offset file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("offset file {path} is corrupt ({source}); the readable copy {path}.json (if present) can rebuild it with `sluice offsets import {path} {path}.json`, or move the file away to start from no offsets")]
    Corrupt { path: PathBuf, source: CodecError },
    #[error("offset file {path}: entry {entry} is not valid JSON ({message}); the offsets were not loaded, so nothing is read twice. The readable copy {path}.json (if present) can rebuild the file with `sluice offsets import {path} {path}.json`, or `sluice offsets set` can replace the entry")]
    Damaged { path: PathBuf, entry: String, message: String },
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

struct Inner {
    /// Key bytes → value bytes, exactly as they are (or will be) in the file.
    raw: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// (connector, canonical partition) → key bytes, so lookups ignore key order.
    index: HashMap<(String, String), Vec<u8>>,
    dirty: bool,
}

/// The worker's offset file.
pub struct OffsetStore {
    path: PathBuf,
    inner: Mutex<Inner>,
    write_lock: Mutex<()>,
    _lock: Option<File>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OffsetStoreError + '_ {
    move |source| OffsetStoreError::Io { path: path.to_owned(), source }
}

impl OffsetStore {
    /// Opens (and locks) the file; a missing or empty file is an empty store.
    pub fn open(path: &Path) -> Result<OffsetStore, OffsetStoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(path))?;
        }
        let lock = lock(path)?;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(path)(e)),
        };
        let entries =
            java::decode(&bytes).map_err(|source| OffsetStoreError::Corrupt { path: path.to_owned(), source })?;
        let mut inner = Inner { raw: BTreeMap::new(), index: HashMap::new(), dirty: false };
        for (key, value) in entries {
            let damaged = |what: &[u8], message: String| OffsetStoreError::Damaged {
                path: path.to_owned(),
                entry: crate::error::excerpt(what, 120),
                message,
            };
            let id = parse_key(&key).map_err(|m| damaged(&key, m))?;
            if let Some(v) = &value {
                serde_json::from_slice::<Value>(v).map_err(|e| damaged(v, format!("offset of {}: {e}", id.0)))?;
            }
            inner.index.insert(id, key.clone());
            inner.raw.insert(key, value);
        }
        Ok(OffsetStore {
            path: path.to_owned(),
            inner: Mutex::new(inner),
            write_lock: Mutex::new(()),
            _lock: Some(lock),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
                inner.raw.insert(key, value);
                inner.dirty = true;
            }
        }
    }

    /// Writes the file (and its sidecar) atomically if anything changed.
    pub fn flush(&self) -> Result<(), OffsetStoreError> {
        let _writing = self.write_lock.lock().unwrap();
        let (bytes, sidecar) = {
            let mut inner = self.inner.lock().unwrap();
            if !inner.dirty {
                return Ok(());
            }
            inner.dirty = false;
            let entries: Vec<java::RawEntry> = inner.raw.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            (java::encode(&entries), sidecar_json(&entries))
        };
        let result = write_atomically(&self.path, &bytes)
            .and_then(|()| write_atomically(&PathBuf::from(format!("{}.json", self.path.display())), &sidecar));
        if result.is_err() {
            self.inner.lock().unwrap().dirty = true;
        }
        result
    }

    /// Every entry, parsed (for REST and `sluice offsets dump`).
    pub fn entries(&self) -> Vec<OffsetEntry> {
        let inner = self.inner.lock().unwrap();
        inner.raw.iter().filter_map(|(k, v)| parse_entry(k, v.as_deref())).collect()
    }
}

/// Locks `<file>.lock` for as long as the returned handle lives: one writer at a time (a running
/// worker, or an `sluice offsets` command).
pub fn lock(path: &Path) -> Result<File, OffsetStoreError> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io(path))?;
    if lock.try_lock().is_err() {
        return Err(OffsetStoreError::Locked { path: path.to_owned() });
    }
    Ok(lock)
}

/// Reads an offset file without locking it (for `sluice offsets dump`).
pub fn read_entries(path: &Path) -> Result<Vec<OffsetEntry>, OffsetStoreError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let entries = java::decode(&bytes).map_err(|source| OffsetStoreError::Corrupt { path: path.to_owned(), source })?;
    Ok(entries.iter().filter_map(|(k, v)| parse_entry(k, v.as_deref())).collect())
}

/// `["<connector>",{partition}]` → (connector, canonical partition).
fn parse_key(key: &[u8]) -> Result<(String, String), String> {
    let v: Value = serde_json::from_slice(key).map_err(|e| format!("key: {e}"))?;
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(connector), partition]) => Ok((connector.clone(), canonical(partition))),
        _ => Err("key: expected [\"<connector>\", {partition}]".into()),
    }
}

fn parse_entry(key: &[u8], value: Option<&[u8]>) -> Option<OffsetEntry> {
    let k: Value = serde_json::from_slice(key).ok()?;
    let arr = k.as_array()?;
    Some(OffsetEntry {
        connector: arr.first()?.as_str()?.to_owned(),
        partition: arr.get(1)?.clone(),
        offset: value.and_then(|v| serde_json::from_slice(v).ok()),
    })
}

fn sidecar_json(entries: &[java::RawEntry]) -> Vec<u8> {
    let parsed: Vec<Value> = entries
        .iter()
        .filter_map(|(k, v)| parse_entry(k, v.as_deref()))
        .map(|e| serde_json::json!({"connector": e.connector, "partition": e.partition, "offset": e.offset}))
        .collect();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let doc = serde_json::json!({
        "format": "sluice-offsets/1",
        "written_at": crate::convert::time::iso_timestamp(now.as_millis() as i64),
        "entries": parsed,
    });
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Temp file, fsync, rename over the target, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OffsetStoreError> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut f = File::create(&tmp).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Builds a Java offset file from a sidecar (`sluice offsets import`).
pub fn import_sidecar(sidecar: &Path, target: &Path) -> Result<usize, OffsetStoreError> {
    let _lock = lock(target)?;
    let text = std::fs::read(sidecar).map_err(io(sidecar))?;
    let doc: Value = serde_json::from_slice(&text).map_err(|e| OffsetStoreError::Json {
        connector: "-".into(),
        message: format!("{}: {e}", sidecar.display()),
    })?;
    let mut entries = Vec::new();
    for e in doc["entries"].as_array().into_iter().flatten() {
        let (Some(connector), Some(partition)) = (e["connector"].as_str(), e.get("partition")) else { continue };
        let mut key = Vec::new();
        write_json(&Value::Array(vec![Value::String(connector.to_owned()), partition.clone()]), &mut key);
        let value = e.get("offset").filter(|v| !v.is_null()).map(|o| {
            let mut v = Vec::new();
            write_json(o, &mut v);
            v
        });
        entries.push((key, value));
    }
    write_atomically(target, &java::encode(&entries))?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_flush_reopen_and_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets");
        {
            let store = OffsetStore::open(&path).unwrap();
            assert!(OffsetStore::open(&path).is_err(), "second open must fail on the lock");
            store.put("jdbc", [(json!({"protocol":"1","table":"shop.orders"}), Some(json!({"incrementing":42})))]);
            store.put("f", [(json!({"filename":"/a"}), None)]);
            store.flush().unwrap();
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
        store.flush().unwrap();
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
            store.flush().unwrap();
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
