//! The file tasks: a tailing line reader (byte positions, truncation and rotation noticed) and an
//! appending writer that fsyncs before its offsets are committed.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind as IoErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runtime::data::{Schema, Value};
use runtime::{OffsetMap, OffsetReader, SinkRecord, SinkTask, SourceRecord, SourceTask, TaskError};
use tracing::{debug, info, warn};

use crate::config::{SinkConfig, SourceConfig};
use crate::lines::split_line;
use crate::position::{java_chars_to_bytes, FileId, FileOffset, FilePartition};

const READ_CHUNK: usize = 256 * 1024;
const IDLE_WAIT: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("Couldn't find or create file '{path}' for FileStreamSinkTask: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("stored offset for {path} is invalid: {message}")]
    Offset { path: String, message: String },
}

/// Where the reader is.
enum Input {
    /// The file does not exist (yet).
    Waiting,
    File {
        file: File,
        id: FileId,
    },
    Stdin(std::sync::mpsc::Receiver<Vec<u8>>),
}

/// Reads lines from a file (or stdin) into records.
pub struct FileSourceTask {
    config: SourceConfig,
    partition: FilePartition,
    schema: Schema,
    input: Input,
    /// Byte offset of `buf[0]` in the file.
    position: u64,
    buf: Vec<u8>,
    /// An offset from before this run, applied when the file is opened.
    resume: Option<FileOffset>,
    warned_missing: bool,
    /// The emptied buffer of the previous batch (`SourceTask::recycle`).
    spare: Vec<SourceRecord<FilePartition, FileOffset>>,
}

impl FileSourceTask {
    pub fn new(config: SourceConfig) -> Self {
        let partition = FilePartition { filename: config.file.clone() };
        FileSourceTask {
            config,
            partition,
            schema: Schema::string(),
            input: Input::Waiting,
            position: 0,
            buf: Vec::new(),
            resume: None,
            warned_missing: false,
            spare: Vec::new(),
        }
    }

    fn path(&self) -> Option<&str> {
        self.config.file.as_deref()
    }

    fn read_error(&self, source: std::io::Error) -> TaskError {
        let path = self.path().unwrap_or("stdin").to_owned();
        let e = FileError::Read { path, source };
        match e {
            FileError::Read { ref source, .. } if source.kind() == IoErrorKind::Interrupted => TaskError::retriable(e),
            _ => TaskError::fatal(e),
        }
    }

    /// Opens the file and seeks to where the stored offset says (converting a Kafka char offset).
    fn open(&mut self) -> Result<bool, TaskError> {
        let Some(path) = self.config.file.clone() else { return Ok(true) };
        let mut file = match File::open(&*path) {
            Ok(f) => f,
            Err(e) if e.kind() == IoErrorKind::NotFound => {
                if !self.warned_missing {
                    warn!(file = %path, "Couldn't find file; waiting for it to be created");
                    self.warned_missing = true;
                }
                return Ok(false);
            }
            Err(e) => return Err(self.read_error(e)),
        };
        let meta = file.metadata().map_err(|e| self.read_error(e))?;
        let id = FileId::of(&meta);
        let mut start = 0;
        if let Some(offset) = self.resume.take() {
            let stored = offset.position.unwrap_or(0);
            start = match (offset.unit, offset.file) {
                (Some(_), Some(old)) if old != id => {
                    warn!(file = %path, old = %old, new = %id, "the file was replaced while sluice was stopped; reading the new file from the start (the end of the old file may be missing)");
                    0
                }
                (Some(_), _) => stored,
                (None, _) => {
                    let converted = java_chars_to_bytes(&mut file, stored).map_err(|e| self.read_error(e))?;
                    match converted {
                        Some(bytes) => {
                            info!(file = %path, chars = stored, bytes, "converted a Kafka Connect offset (chars) to bytes");
                            bytes
                        }
                        None => u64::MAX,
                    }
                }
            };
            if start > meta.len() {
                warn!(file = %path, position = start, size = meta.len(), "the file is shorter than the stored position (truncated); reading from the start");
                start = 0;
            }
        }
        file.seek(SeekFrom::Start(start)).map_err(|e| self.read_error(e))?;
        self.position = start;
        self.buf.clear();
        self.input = Input::File { file, id };
        if self.warned_missing {
            info!(file = %path, "file found");
            self.warned_missing = false;
        }
        Ok(true)
    }

    /// Called at EOF: a truncated or replaced file is reopened from the start.
    fn check_rotation(&mut self) -> Result<(), TaskError> {
        let (Some(path), Input::File { id, .. }) = (self.config.file.clone(), &self.input) else { return Ok(()) };
        let id = *id;
        let read_to = self.position + self.buf.len() as u64;
        match std::fs::metadata(&*path) {
            Ok(meta) if FileId::of(&meta) != id => {
                // finish the old file first: lines written to it just before the rename
                if self.fill()? > 0 {
                    return Ok(());
                }
                warn!(file = %path, "file rotated; reading the new file from the start");
                if !self.buf.is_empty() {
                    warn!(file = %path, bytes = self.buf.len(), "the rotated file ended without a line terminator; its last partial line is dropped");
                }
                self.input = Input::Waiting;
                self.open()?;
            }
            Ok(meta) if meta.len() < read_to => {
                warn!(file = %path, position = read_to, size = meta.len(), "file truncated; reading from the start");
                if let Input::File { file, .. } = &mut self.input {
                    file.seek(SeekFrom::Start(0)).map_err(|e| self.read_error(e))?;
                }
                self.position = 0;
                self.buf.clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads more bytes; `Ok(0)` at EOF.
    fn fill(&mut self) -> Result<usize, TaskError> {
        match &mut self.input {
            Input::Waiting => Ok(0),
            Input::File { file, .. } => {
                let len = self.buf.len();
                self.buf.resize(len + READ_CHUNK, 0);
                let n = file.read(&mut self.buf[len..]);
                let n = match n {
                    Ok(n) => n,
                    Err(e) => {
                        self.buf.truncate(len);
                        return Err(self.read_error(e));
                    }
                };
                self.buf.truncate(len + n);
                Ok(n)
            }
            Input::Stdin(rx) => match rx.try_recv() {
                Ok(chunk) => {
                    self.buf.extend_from_slice(&chunk);
                    Ok(chunk.len())
                }
                Err(_) => Ok(0),
            },
        }
    }

    fn offset(&self, position: u64) -> FileOffset {
        match &self.input {
            Input::File { id, .. } => FileOffset::bytes(position, Some(*id)),
            _ if self.config.file.is_none() => FileOffset { position: None, unit: None, file: None },
            _ => FileOffset::bytes(position, None),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl SourceTask for FileSourceTask {
    type Partition = FilePartition;
    type Offset = FileOffset;

    async fn start(&mut self, offsets: &impl OffsetReader) -> Result<(), TaskError> {
        match &self.config.file {
            None => {
                let (tx, rx) = std::sync::mpsc::sync_channel(16);
                std::thread::spawn(move || {
                    let mut stdin = std::io::stdin().lock();
                    let mut chunk = vec![0u8; 64 * 1024];
                    while let Ok(n) = stdin.read(&mut chunk) {
                        if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                });
                self.input = Input::Stdin(rx);
            }
            Some(path) => {
                self.resume = offsets.offset(&self.partition).map_err(|e| {
                    TaskError::fatal(FileError::Offset { path: path.to_string(), message: e.to_string() })
                })?;
                debug!(file = %path, offset = ?self.resume, "stored offset");
                self.open()?;
            }
        }
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord<FilePartition, FileOffset>>, TaskError> {
        if matches!(self.input, Input::Waiting) && !self.open()? {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Ok(Vec::new());
        }
        let mut records = std::mem::take(&mut self.spare);
        records.reserve(self.config.batch_size);
        let timestamp = now_ms();
        let mut consumed = 0;
        loop {
            match split_line(&self.buf[consumed..]) {
                Some((end, next)) => {
                    let line = &self.buf[consumed..consumed + end];
                    let text = match std::str::from_utf8(line) {
                        Ok(s) => s.to_owned(),
                        Err(_) => String::from_utf8_lossy(line).into_owned(),
                    };
                    let value = Value::String(text);
                    consumed += next;
                    let offset = self.offset(self.position + consumed as u64);
                    let mut record = SourceRecord::new(
                        self.partition.clone(),
                        offset,
                        self.config.topic.clone(),
                        Some(self.schema.clone()),
                        value,
                    );
                    record.timestamp = Some(timestamp);
                    records.push(record);
                    if records.len() >= self.config.batch_size {
                        break;
                    }
                }
                None => {
                    self.buf.drain(..consumed);
                    self.position += consumed as u64;
                    consumed = 0;
                    if self.fill()? == 0 {
                        break;
                    }
                }
            }
        }
        self.buf.drain(..consumed);
        self.position += consumed as u64;
        if records.is_empty() {
            self.check_rotation()?;
            tokio::time::sleep(IDLE_WAIT).await;
        }
        Ok(records)
    }

    fn recycle(&mut self, emptied: Vec<SourceRecord<FilePartition, FileOffset>>) {
        self.spare = emptied;
    }
}

/// Where the sink writes.
enum Output {
    File { file: File, path: PathBuf },
    Stdout,
}

/// Appends each record's value as a line.
pub struct FileSinkTask {
    config: SinkConfig,
    output: Option<Output>,
    buf: Vec<u8>,
}

impl FileSinkTask {
    pub fn new(config: SinkConfig) -> Self {
        FileSinkTask { config, output: None, buf: Vec::new() }
    }
}

fn open_append(path: &Path) -> Result<File, TaskError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| TaskError::fatal(FileError::Create { path: path.display().to_string(), source }))
}

impl SinkTask for FileSinkTask {
    async fn start(&mut self) -> Result<(), TaskError> {
        self.output = Some(match &self.config.file {
            Some(path) => Output::File { file: open_append(path)?, path: path.clone() },
            None => Output::Stdout,
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), TaskError> {
        if records.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        for r in records {
            r.value.write_text(&mut self.buf);
            self.buf.push(b'\n');
        }
        match self.output.as_mut() {
            Some(Output::File { file, path }) => file
                .write_all(&self.buf)
                .map_err(|source| TaskError::retriable(FileError::Write { path: path.display().to_string(), source })),
            Some(Output::Stdout) => std::io::stdout()
                .write_all(&self.buf)
                .map_err(|source| TaskError::fatal(FileError::Write { path: "stdout".into(), source })),
            None => Err(TaskError::fatal("put before start")),
        }
    }

    async fn flush(&mut self, _offsets: &OffsetMap) -> Result<(), TaskError> {
        match self.output.as_mut() {
            Some(Output::File { file, path }) => {
                let f = file.try_clone().map_err(|source| {
                    TaskError::retriable(FileError::Write { path: path.display().to_string(), source })
                })?;
                let path = path.display().to_string();
                tokio::task::spawn_blocking(move || f.sync_data())
                    .await
                    .map_err(|e| TaskError::fatal(e.to_string()))?
                    .map_err(|source| TaskError::retriable(FileError::Write { path, source }))
            }
            Some(Output::Stdout) => std::io::stdout().flush().map_err(|e| TaskError::fatal(e.to_string())),
            None => Ok(()),
        }
    }
}
