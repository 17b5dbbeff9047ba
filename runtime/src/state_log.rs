//! A connector's own state that must stay consistent with its source offsets (the binlog
//! connector's schema history): an append-only log of opaque entries, kept where the offsets
//! are. Standalone keeps it in a file next to the offset file (`<offset file>.<connector>.<name>`,
//! one entry per line, as before this interface existed); a distributed worker keeps it in its
//! state topic (`cluster`).
//!
//! An entry is durable when `append` or `replace` returns, so a task writes the entry before it
//! hands over a record that depends on it, and an offset that is committed never covers state
//! the log lacks. A task restarted behind its log ignores the entries past its resume position.

use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;

/// Why a state log could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{log}: {message}")]
pub struct StateLogError {
    /// The log, as [`StateLog::describe`] names it.
    pub log: String,
    pub message: String,
}

pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StateLogError>> + Send + 'a>>;

/// One connector's log of one kind of state.
pub trait StateLog: Send + Sync {
    /// Where the log is, for messages (a path, or a topic and key).
    fn describe(&self) -> String;

    /// Every entry, oldest first; an empty log when it was never written.
    fn read(&self) -> StateFuture<'_, Vec<Vec<u8>>>;

    /// Replaces the whole log with `entries`; durable when it returns.
    fn replace(&self, entries: Vec<Vec<u8>>) -> StateFuture<'_, ()>;

    /// Adds one entry at the end; durable when it returns.
    fn append(&self, entry: Vec<u8>) -> StateFuture<'_, ()>;
}

/// A state log in a file: one entry per line (entries hold no newline), each append synced.
pub struct FileStateLog {
    path: PathBuf,
}

impl FileStateLog {
    pub fn new(path: PathBuf) -> FileStateLog {
        FileStateLog { path }
    }

    fn error(&self, e: impl std::fmt::Display) -> StateLogError {
        StateLogError { log: self.describe(), message: e.to_string() }
    }

    fn line(mut entry: Vec<u8>) -> Vec<u8> {
        debug_assert!(!entry.contains(&b'\n'), "a state log entry holds no newline");
        entry.push(b'\n');
        entry
    }
}

impl StateLog for FileStateLog {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self) -> StateFuture<'_, Vec<Vec<u8>>> {
        Box::pin(async move {
            let path = self.path.clone();
            let bytes = match tokio::task::spawn_blocking(move || std::fs::read(path)).await.expect("state log read") {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(self.error(e)),
            };
            Ok(bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .map(<[u8]>::to_vec)
                .collect())
        })
    }

    fn replace(&self, entries: Vec<Vec<u8>>) -> StateFuture<'_, ()> {
        Box::pin(async move {
            let path = self.path.clone();
            let text: Vec<u8> = entries.into_iter().flat_map(FileStateLog::line).collect();
            let write = move || crate::offset::write_atomically(&path, &text);
            tokio::task::spawn_blocking(write).await.expect("state log write").map_err(|e| self.error(e))
        })
    }

    fn append(&self, entry: Vec<u8>) -> StateFuture<'_, ()> {
        Box::pin(async move {
            let path = self.path.clone();
            let line = FileStateLog::line(entry);
            let write = move || {
                let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
                f.write_all(&line)?;
                f.sync_data()
            };
            tokio::task::spawn_blocking(write).await.expect("state log append").map_err(|e| self.error(e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_log_appends_replaces_and_reads_back_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets.c.schema-history");
        let log = FileStateLog::new(path.clone());
        assert!(log.read().await.unwrap().is_empty(), "a missing file is an empty log");
        log.append(br#"{"a":1}"#.to_vec()).await.unwrap();
        log.append(br#"{"b":2}"#.to_vec()).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(log.read().await.unwrap(), vec![br#"{"a":1}"#.to_vec(), br#"{"b":2}"#.to_vec()]);
        log.replace(vec![br#"{"c":3}"#.to_vec()]).await.unwrap();
        assert_eq!(log.read().await.unwrap(), vec![br#"{"c":3}"#.to_vec()]);
        log.replace(Vec::new()).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
