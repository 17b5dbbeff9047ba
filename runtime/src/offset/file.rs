//! The standalone offset file (Kafka's `FileOffsetBackingStore` format): a Java-serialized
//! `HashMap<byte[],byte[]>`, replaced atomically on each flush, locked against a second writer,
//! with a readable `<file>.json` sidecar.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::backend::{BackendFuture, OffsetBackend, RawEntry};
use super::java;
use super::json_text::write_json;
use super::store::{io, parse_entry, OffsetEntry, OffsetStoreError};
use crate::state_log::{FileStateLog, StateLog};

/// The offset file as an [`OffsetBackend`].
pub struct FileBackend {
    path: PathBuf,
    _lock: File,
}

impl FileBackend {
    /// Locks the file and reads its entries (a missing or empty file has none).
    pub fn open(path: &Path) -> Result<(FileBackend, Vec<RawEntry>), OffsetStoreError> {
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
        Ok((FileBackend { path: path.to_owned(), _lock: lock }, entries))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl OffsetBackend for FileBackend {
    fn describe(&self) -> String {
        format!("offset file {}", self.path.display())
    }

    fn repair_hint(&self) -> String {
        let path = self.path.display();
        format!("The readable copy {path}.json (if present) can rebuild the file with `sluice offsets import {path} {path}.json`, or `sluice offsets set` can replace the entry")
    }

    /// Only this process writes the file: nothing new to read.
    fn load(&self) -> BackendFuture<'_, Option<Vec<RawEntry>>> {
        Box::pin(async { Ok(None) })
    }

    fn persist(&self, all: Vec<RawEntry>, _changed: Vec<RawEntry>) -> BackendFuture<'_, ()> {
        let path = self.path.clone();
        Box::pin(async move {
            let write = move || {
                let (bytes, sidecar) = (java::encode(&all), sidecar_json(&all));
                write_atomically(&path, &bytes)
                    .and_then(|()| write_atomically(&PathBuf::from(format!("{}.json", path.display())), &sidecar))
            };
            tokio::task::spawn_blocking(write).await.expect("offset file writer")
        })
    }

    /// `<offset file>.<connector>.<name>`, the connector's name with characters other than
    /// letters, digits, `-`, `_` and `.` as `_`.
    fn state_log(&self, connector: &str, name: &str) -> Option<Arc<dyn StateLog>> {
        let connector: String =
            connector.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let path = PathBuf::from(format!("{}.{connector}.{name}", self.path.display()));
        Some(Arc::new(FileStateLog::new(path)))
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
