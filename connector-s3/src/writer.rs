//! One Kafka partition's files (the reference's `TopicPartitionWriter`): records go to the open
//! file of their encoded partition; the rotation rules ([`crate::rotation`]) say when files are
//! cut; a cut file is uploaded (one PutObject, or the last part and CompleteMultipartUpload of
//! a file already streamed in `s3.part.size` parts) and only then does the partition's
//! committable offset move past its records.
//!
//! Files cut by a rule that is not a function of the records (the idle flush, memory pressure)
//! are *synchronous*: once uploaded, no further file of the partition is uploaded until the
//! worker has committed the offset after them (s3-sink.md §9, "Idle flush that keeps
//! exactly-once"). Uploads wait; records keep being written to open files meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;

use aws_sdk_s3::types::CompletedPart;
use bytes::Bytes;
use runtime::{SinkRecord, TaskError, TopicPartition};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::compatibility::{Compatibility, Step};
use crate::config::{Format, NullValues, S3SinkConfig};
use crate::format::{at, FileEncoder, FormatSettings};
use crate::partitioner::Partitioner;
use crate::rotation::{OpenFile, PartitionFiles, RotationPolicy};
use crate::storage::{Multipart, Storage, StorageError};
use crate::upload::{Closing, InFlight, Rotation};
use crate::view::View;

/// S3's smallest part (all parts but the last).
pub const MIN_PART: usize = 5 * 1024 * 1024;

/// An object being written: its encoder and what of it is already uploaded.
struct OpenObject {
    key: String,
    encoder: FileEncoder,
    upload: Option<Multipart>,
    parts: Vec<CompletedPart>,
    /// A drained piece whose upload has not succeeded yet.
    pending_part: Option<Bytes>,
    /// What the file holds of each record: the record itself (`None`), or its key for a file
    /// of the tombstone partition.
    main: Option<View>,
    /// The value schema of the file's first record (`schema.compatibility` compares with it).
    schema: Option<runtime::data::Schema>,
    /// `store.kafka.keys` / `store.kafka.headers`: the files of this file's record keys
    /// (`<name>.keys<ext>`) and headers (`<name>.headers<ext>`), each with what it holds.
    companions: Vec<(View, OpenObject)>,
}

impl OpenObject {
    fn new(key: String, encoder: FileEncoder) -> OpenObject {
        OpenObject {
            key,
            encoder,
            upload: None,
            parts: Vec::new(),
            pending_part: None,
            main: None,
            schema: None,
            companions: Vec::new(),
        }
    }

    fn buffered_bytes(&self) -> usize {
        self.encoder.buffered_bytes()
            + self.pending_part.as_ref().map_or(0, Bytes::len)
            + self.companions.iter().map(|(_, c)| c.buffered_bytes()).sum::<usize>()
    }

    /// Uploads a part when one is due (the encoded bytes reached `part_size`, or one was staged).
    async fn upload_part(&mut self, storage: &Storage, part_size: usize) -> Result<(), StorageError> {
        if self.pending_part.is_none() && self.encoder.encoded_bytes() >= part_size {
            self.pending_part = Some(Bytes::from(self.encoder.drain()));
        }
        if let Some(piece) = self.pending_part.clone() {
            if self.upload.is_none() {
                self.upload = Some(storage.start_multipart(&self.key).await?);
            }
            let mpu = self.upload.as_ref().expect("started");
            let part = storage.upload_part(mpu, self.parts.len() as i32 + 1, piece).await?;
            self.parts.push(part);
            self.pending_part = None;
        }
        Ok(())
    }

    /// The finished file, and its keys and headers files after it.
    fn finish(self) -> Result<Vec<Closing>, TaskError> {
        let mut out = Vec::with_capacity(1 + self.companions.len());
        let OpenObject { key, encoder, upload, parts, pending_part, companions, .. } = self;
        let tail = encoder.finish().map_err(TaskError::fatal)?;
        out.push(Closing { key, upload, parts, pending_part, tail: Bytes::from(tail) });
        for (_, c) in companions {
            out.extend(c.finish()?);
        }
        Ok(out)
    }

    /// Its multipart uploads (its own and its companions').
    fn uploads(self) -> Vec<Multipart> {
        let mut out: Vec<Multipart> = self.upload.into_iter().collect();
        for (_, c) in self.companions {
            out.extend(c.uploads());
        }
        out
    }

    /// Whether this file or a companion holds a part's worth of encoded bytes.
    fn part_due(&self, part_size: usize) -> bool {
        self.encoder.encoded_bytes() >= part_size || self.companions.iter().any(|(_, c)| c.part_due(part_size))
    }
}

/// The companion files `config` asks for: (view, extension, their encoders' settings).
fn companions<'a>(config: &'a S3SinkConfig, settings: &'a FormatSettings) -> Vec<(View, &'a str, &'a FormatSettings)> {
    let mut out = Vec::new();
    if let (Some((_, ext)), Some(keys)) = (&config.keys, &settings.keys) {
        out.push((View::Key, ext.as_str(), &**keys));
    }
    if let (Some((_, ext)), Some(headers)) = (&config.headers, &settings.headers) {
        out.push((View::Headers, ext.as_str(), &**headers));
    }
    out
}

/// A new file of `encoded` starting at `record`, with its keys and headers files; a tombstone
/// partition's file is its keys file, with its headers file beside it.
fn open_object(
    encoded: &str,
    record: &SinkRecord,
    tombstone: bool,
    config: &S3SinkConfig,
    settings: &FormatSettings,
) -> Result<OpenObject, TaskError> {
    let dir = Partitioner::path(&record.topic, encoded, &config.layout.directory_delim);
    let file_key = |ext: &str| config.layout.key(&dir, &record.topic, record.kafka_partition, record.kafka_offset, ext);
    let mut files = companions(config, settings);
    let mut object = if tombstone {
        // config refuses `write` without keys files, so the first companion is the keys file
        let (view, ext, format) = files.remove(0);
        let first = view.of(record, format.format == Format::Parquet).map_err(TaskError::fatal)?;
        let mut object = OpenObject::new(file_key(ext), FileEncoder::open(format, &first).map_err(TaskError::fatal)?);
        object.main = Some(view);
        object
    } else {
        let encoder = FileEncoder::open(settings, record).map_err(TaskError::fatal)?;
        let mut object = OpenObject::new(file_key(&config.extension), encoder);
        object.schema = record.value_schema.clone();
        object
    };
    for (view, ext, format) in files {
        let first = view.of(record, format.format == Format::Parquet).map_err(TaskError::fatal)?;
        let encoder = FileEncoder::open(format, &first).map_err(TaskError::fatal)?;
        object.companions.push((view, OpenObject::new(file_key(ext), encoder)));
    }
    Ok(object)
}

pub struct TopicPartitionWriter {
    pub tp: TopicPartition,
    files: PartitionFiles,
    /// Looked up three times per record: hashed with foldhash rather than SipHash.
    open: foldhash::HashMap<String, OpenObject>,
    closing: VecDeque<Rotation>,
    /// The rotation being uploaded (the front of the partition's queue).
    in_flight: Option<InFlight>,
    /// The last upload failed: the next one is waited for.
    upload_failed: bool,
    /// The last record's encoding key ([`Partitioner::encoding_key`]) and encoded partition.
    last_encoded: Option<(i64, Arc<str>)>,
    /// The next offset `put` accepts (a retried `put` hands the same records again).
    next_offset: Option<i64>,
    last_written: Option<i64>,
    /// After the last uploaded file: what `pre_commit` reports.
    offset_to_commit: Option<i64>,
    /// A synchronous rotation's offset that the worker has not committed yet.
    awaiting_commit: Option<i64>,
    /// Wall-clock time (ms) of the `put` that brought the last record, for the idle flush.
    pub last_record_ms: i64,
    next_scheduled: Option<i64>,
}

impl TopicPartitionWriter {
    pub fn new(tp: TopicPartition, config: &S3SinkConfig) -> TopicPartitionWriter {
        let policy = RotationPolicy {
            flush_size: config.flush_size,
            rotate_interval_ms: config.rotate_interval_ms,
            rotate_on_partition_change: config.rotate_on_partition_change,
            time_based: config.partitioner.is_time_based(),
            max_open_files: config.max_open_files,
        };
        TopicPartitionWriter {
            tp,
            files: PartitionFiles::new(policy),
            open: foldhash::HashMap::default(),
            closing: VecDeque::new(),
            in_flight: None,
            last_encoded: None,
            upload_failed: false,
            next_offset: None,
            last_written: None,
            offset_to_commit: None,
            awaiting_commit: None,
            last_record_ms: 0,
            next_scheduled: None,
        }
    }

    pub fn offset_to_commit(&self) -> Option<i64> {
        self.offset_to_commit
    }

    pub fn has_open_files(&self) -> bool {
        !self.open.is_empty()
    }

    /// Whether this record was handed before (a `put` retried after an error).
    pub fn seen(&self, offset: i64) -> bool {
        self.next_offset.is_some_and(|n| offset < n)
    }

    /// Marks a record as handled without writing it (`behavior.on.null.values=ignore`).
    pub fn skip(&mut self, offset: i64) {
        self.next_offset = Some(offset + 1);
    }

    /// Writes one record (no I/O); cut files are queued for [`Self::upload`]. `now` is the
    /// wall clock of the `put`. Returns whether an upload is due (a file was cut, or this
    /// file holds a part's worth of encoded bytes).
    pub fn write(
        &mut self,
        record: &SinkRecord,
        now: i64,
        config: &S3SinkConfig,
        settings: &FormatSettings,
    ) -> Result<bool, TaskError> {
        let partitioner = &config.partitioner;
        // `behavior.on.null.values=write`: a tombstone goes to the tombstone partition, where a
        // file holds only keys (and headers), as Confluent's TombstoneSupportedPartitioner
        let tombstone = record.value.is_null() && config.null_values == NullValues::Write;
        let (encoded, timestamp) = if tombstone {
            let at_time = partitioner.timestamp(record, now).unwrap_or(Some(record.timestamp.unwrap_or(now)));
            (Arc::from(config.tombstone_partition.as_str()), at_time)
        } else {
            let partition_error = |e| TaskError::fatal(format!("cannot partition record {}: {e}", at(record)));
            let timestamp = partitioner.timestamp(record, now).map_err(partition_error)?;
            let key = partitioner.encoding_key(timestamp);
            let encoded = match (&self.last_encoded, key) {
                (Some((last, encoded)), Some(key)) if *last == key => encoded.clone(),
                _ => {
                    let encoded: Arc<str> = partitioner
                        .encode(record, now, &config.layout.directory_delim)
                        .map_err(partition_error)?
                        .into();
                    self.last_encoded = key.map(|k| (k, encoded.clone()));
                    encoded
                }
            };
            (encoded, timestamp)
        };
        let mut projected = None;
        let new_schema = match self.open.get(&*encoded) {
            Some(o) if o.main.is_some() => {
                let view = o.main.and_then(|v| v.of(record, o.encoder.is_parquet()).ok());
                !o.encoder.accepts(view.and_then(|v| v.value_schema).as_ref())
            }
            Some(o) if config.compatibility != Compatibility::None => {
                let step = config.compatibility.step(record.value_schema.as_ref(), &record.value, o.schema.as_ref());
                match step.map_err(|e| TaskError::fatal(format!("record {}: {e}", at(record))))? {
                    Step::NewFile => true,
                    Step::Write => false,
                    Step::Project(value) => {
                        projected = Some(SinkRecord { value_schema: o.schema.clone(), value, ..record.clone() });
                        false
                    }
                }
            }
            Some(o) => !o.encoder.accepts(record.value_schema.as_ref()),
            None => false,
        };
        let record = projected.as_ref().unwrap_or(record);
        let step = self.files.write(&encoded, record.kafka_offset, timestamp, new_schema);
        let cut = !step.commit_before.is_empty() || !step.commit_after.is_empty();
        if !step.commit_before.is_empty() {
            let after = self.last_written.map_or(record.kafka_offset, |o| o + 1);
            self.cut(step.commit_before, after, false)?;
        }
        if !self.open.contains_key(&*encoded) {
            let object = open_object(&encoded, record, tombstone, config, settings)?;
            self.open.insert(encoded.to_string(), object);
        }
        let object = self.open.get_mut(&*encoded).expect("opened");
        let main = match object.main {
            None => None,
            Some(view) => Some(view.of(record, object.encoder.is_parquet()).map_err(TaskError::fatal)?),
        };
        // Confluent's checks and views, before anything is written: the files stay aligned
        if let Some(view) = object.main {
            view.check(record).map_err(TaskError::fatal)?;
        }
        let mut views = Vec::with_capacity(object.companions.len());
        for (view, c) in &object.companions {
            view.check(record).map_err(TaskError::fatal)?;
            views.push(view.of(record, c.encoder.is_parquet()).map_err(TaskError::fatal)?);
        }
        object.encoder.write(main.as_ref().unwrap_or(record)).map_err(TaskError::fatal)?;
        for ((_, c), view) in object.companions.iter_mut().zip(&views) {
            c.encoder.write(view).map_err(TaskError::fatal)?;
        }
        let part_due = object.part_due(config.part_size);
        self.last_written = Some(record.kafka_offset);
        self.next_offset = Some(record.kafka_offset + 1);
        self.last_record_ms = now;
        if !step.commit_after.is_empty() {
            self.cut(step.commit_after, record.kafka_offset + 1, false)?;
        }
        Ok(cut || part_due)
    }

    /// Finishes the encoders of `files` and queues them for upload as one rotation.
    fn cut(&mut self, files: Vec<OpenFile>, offset_after: i64, synchronous: bool) -> Result<(), TaskError> {
        let mut closing = Vec::with_capacity(files.len());
        for f in files {
            let Some(o) = self.open.remove(&f.encoded) else { continue };
            debug!(key = %o.key, records = f.records, "file cut");
            closing.extend(o.finish()?);
        }
        if !closing.is_empty() {
            self.closing.push_back(Rotation { files: closing, offset_after, synchronous });
        }
        Ok(())
    }

    /// Cuts every open file now: the idle flush, memory pressure, or a scheduled rotation.
    pub fn rotate_all(&mut self, synchronous: bool) -> Result<(), TaskError> {
        let files = self.files.rotate_all();
        match self.last_written {
            Some(last) if !files.is_empty() => self.cut(files, last + 1, synchronous),
            _ => Ok(()),
        }
    }

    /// After a batch: the time rule with no new data, and `rotate.schedule.interval.ms`.
    pub fn on_idle(&mut self, now: i64, config: &S3SinkConfig) -> Result<(), TaskError> {
        let files = self.files.on_idle();
        if let (Some(last), false) = (self.last_written, files.is_empty()) {
            self.cut(files, last + 1, false)?;
        }
        if let (Some(interval), Some(zone)) = (config.rotate_schedule_interval_ms, config.schedule_zone) {
            let next = *self.next_scheduled.get_or_insert_with(|| next_scheduled_rotation(now, interval, zone));
            if now >= next {
                if self.files.record_count() > 0 {
                    info!(partition = %self.tp, "scheduled rotation (rotate.schedule.interval.ms)");
                    self.rotate_all(false)?;
                }
                self.next_scheduled = Some(next_scheduled_rotation(now, interval, zone));
            }
        }
        Ok(())
    }

    /// Bytes held for this partition's files.
    pub fn buffered_bytes(&self) -> usize {
        let open: usize = self.open.values().map(OpenObject::buffered_bytes).sum();
        let closing: usize = self.closing.iter().map(Rotation::held_bytes).sum();
        open + closing + self.in_flight.as_ref().map_or(0, InFlight::held_bytes)
    }

    /// The open file holding the most encoded bytes: (encoded partition, encoded bytes, all bytes).
    pub fn largest_open(&self) -> Option<(String, usize, usize)> {
        self.open
            .iter()
            .map(|(e, o)| (e.clone(), o.encoder.encoded_bytes(), o.encoder.buffered_bytes()))
            .max_by_key(|(_, _, all)| *all)
    }

    /// Takes the encoded bytes of an open file as its next part (uploaded by [`Self::upload`]).
    pub fn stage_part(&mut self, encoded: &str) {
        if let Some(o) = self.open.get_mut(encoded) {
            if o.pending_part.is_none() {
                o.pending_part = Some(Bytes::from(o.encoder.drain()));
            }
        }
    }

    /// Uploads what is due: parts of large open files (here), then cut files in order (in the
    /// background, one rotation at a time). With `wait`, returns once every cut file that may
    /// be uploaded is; without, once the next rotation is under way. An upload's error comes
    /// back from the call that sees it finish, and that rotation is tried again first.
    pub async fn upload(
        &mut self,
        storage: &Storage,
        slots: &Arc<Semaphore>,
        part_size: usize,
        wait: bool,
    ) -> Result<(), StorageError> {
        for o in self.open.values_mut() {
            o.upload_part(storage, part_size).await?;
            for (_, c) in o.companions.iter_mut() {
                c.upload_part(storage, part_size).await?;
            }
        }
        self.upload_rotations(storage, slots, wait).await
    }

    /// Whether cut files wait for or are on their way to S3.
    pub fn uploading(&self) -> bool {
        self.in_flight.is_some() || !self.closing.is_empty()
    }

    /// The last upload failed: its retry should be waited for (an outage stalls the task).
    pub fn upload_failed(&self) -> bool {
        self.upload_failed
    }

    /// Uploads every cut file that may be uploaded now and waits for them (`pre_commit`); an
    /// error is logged, and the next [`Self::upload`] tries that rotation again and reports it.
    pub async fn settle(&mut self, storage: &Storage, slots: &Arc<Semaphore>) {
        if let Err(e) = self.upload_rotations(storage, slots, true).await {
            warn!(partition = %self.tp, error = %e, "upload failed; it is tried again with the next records");
        }
    }

    /// Cut files in order, one rotation at a time, until a synchronous rotation waits for its
    /// commit: with `wait` until none is left, without until one is under way.
    async fn upload_rotations(
        &mut self,
        storage: &Storage,
        slots: &Arc<Semaphore>,
        wait: bool,
    ) -> Result<(), StorageError> {
        loop {
            if let Some(flight) = self.in_flight.take() {
                if !wait && !flight.is_finished() {
                    self.in_flight = Some(flight);
                    return Ok(());
                }
                self.landed(flight.finished().await)?;
            }
            if let Some(waiting) = self.awaiting_commit {
                if !self.closing.is_empty() {
                    debug!(partition = %self.tp, offset = waiting, "uploads wait for the offset commit");
                }
                return Ok(());
            }
            let Some(rotation) = self.closing.pop_front() else { return Ok(()) };
            self.in_flight = Some(InFlight::start(rotation, storage, slots));
        }
    }

    /// A finished upload: the offset moves past a complete rotation; a failed one goes back to
    /// the front of the queue.
    fn landed(&mut self, outcome: (Option<Rotation>, Result<(), StorageError>)) -> Result<(), StorageError> {
        match outcome {
            (Some(done), Ok(())) => {
                self.upload_failed = false;
                self.offset_to_commit = Some(done.offset_after);
                if done.synchronous {
                    self.awaiting_commit = Some(done.offset_after);
                }
                Ok(())
            }
            (rest, Err(e)) => {
                self.upload_failed = true;
                if let Some(rotation) = rest {
                    self.closing.push_front(rotation);
                }
                Err(e)
            }
            (None, Ok(())) => unreachable!("a lost upload is an error"),
        }
    }

    /// Whether a synchronous rotation waits for the worker's offset commit.
    pub fn wants_commit(&self) -> bool {
        self.awaiting_commit.is_some()
    }

    /// The worker committed `offset` for this partition.
    pub fn committed(&mut self, offset: i64) {
        if self.awaiting_commit.is_some_and(|a| offset >= a) {
            self.awaiting_commit = None;
        }
    }

    /// Drops open and unfinished files (partition closed, task stopped), aborting their
    /// multipart uploads; their records are read again from the committed offset.
    pub async fn discard(&mut self, storage: Option<&Storage>) {
        self.files.discard();
        if let Some(flight) = self.in_flight.take() {
            let (rest, _) = flight.finished().await;
            self.closing.extend(rest);
        }
        let uploads: Vec<Multipart> = self
            .open
            .drain()
            .flat_map(|(_, o)| o.uploads())
            .chain(self.closing.drain(..).flat_map(Rotation::uploads))
            .collect();
        if let Some(storage) = storage {
            for mpu in uploads {
                if let Err(e) = storage.abort(&mpu).await {
                    warn!(key = %mpu.key, error = %e, "cannot abort a multipart upload (it is aborted at the next start)");
                }
            }
        }
    }
}

/// `getNextTimeAdjustedByDay` (storage-common): the start of today in `zone` plus the next
/// multiple of `interval`, capped at the start of the next day.
pub fn next_scheduled_rotation(now: i64, interval: i64, zone: chrono_tz::Tz) -> i64 {
    use chrono::{TimeZone, Timelike};
    let local = zone.timestamp_millis_opt(now).single().unwrap_or_else(|| zone.timestamp_millis_opt(0).unwrap());
    let midnight = local
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .map_or(now - (now.rem_euclid(86_400_000)), |t| t.timestamp_millis());
    let next_day = midnight + 86_400_000;
    let next = midnight + ((now - midnight) / interval + 1) * interval;
    next.min(next_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_rotation_is_aligned_to_midnight_in_the_zone() {
        let t = 1_700_000_000_000; // 2023-11-14T22:13:20Z
        let hour = 3_600_000;
        // 23:00Z
        assert_eq!(next_scheduled_rotation(t, hour, chrono_tz::UTC), 1_700_002_800_000);
        // Kolkata (+05:30): local 03:43:20 → next local 04:00 = 22:30Z
        assert_eq!(next_scheduled_rotation(t, hour, chrono_tz::Asia::Kolkata), 1_700_001_000_000);
        // an interval longer than the rest of the day stops at the next midnight
        assert_eq!(next_scheduled_rotation(t, 10 * hour, chrono_tz::UTC), 1_700_006_400_000);
    }
}
