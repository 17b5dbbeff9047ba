//! `S3SinkTask`: records are written to their Kafka partition's writer; `pre_commit` reports,
//! per partition, only the offset after the last file whose upload has completed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use runtime::{OffsetMap, SinkRecord, SinkTask, TaskError, TopicPartition};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::config::{NullValues, S3SinkConfig};
use crate::format::{at, FormatSettings};
use crate::storage::Storage;
use crate::upload::UPLOADS_IN_FLIGHT;
use crate::writer::{TopicPartitionWriter, MIN_PART};

/// How often, in records, the memory budget is checked within a batch.
const BUDGET_CHECK_EVERY: usize = 512;

pub struct S3SinkTask {
    config: S3SinkConfig,
    settings: FormatSettings,
    storage: Option<Storage>,
    writers: BTreeMap<TopicPartition, TopicPartitionWriter>,
    /// Uploads under way at once, over all partitions.
    slots: Arc<Semaphore>,
}

fn wall_clock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl S3SinkTask {
    pub fn new(config: S3SinkConfig) -> S3SinkTask {
        S3SinkTask {
            settings: FormatSettings::of(&config),
            config,
            storage: None,
            writers: BTreeMap::new(),
            slots: Arc::new(Semaphore::new(UPLOADS_IN_FLIGHT)),
        }
    }

    fn storage(&self) -> &Storage {
        self.storage.as_ref().expect("started")
    }

    /// Starts the uploads due in every partition, then waits for those under way: all with
    /// `wait`, else those of partitions whose last upload failed (an outage stalls `put`). The
    /// first error is returned once all partitions were served.
    async fn upload_all(&mut self, wait: bool) -> Result<(), TaskError> {
        let storage = self.storage.clone().expect("started");
        let (slots, part_size) = (&self.slots, self.config.part_size);
        let mut first_error = None;
        // one partition after the other: nothing here waits for S3 but a due part
        for w in self.writers.values_mut() {
            if let Err(e) = w.upload(&storage, slots, part_size, false).await {
                first_error.get_or_insert(e);
            }
        }
        // side by side, and only the partitions that have something to wait for (a future per
        // partition is large: 200 of them per `put` cost more than the records)
        let waiting = self
            .writers
            .values_mut()
            .filter(|w| w.uploading() && (wait || w.upload_failed()))
            .map(|w| w.upload(&storage, slots, part_size, true));
        for result in join_all(waiting).await {
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Keeps the bytes of all open files under `s3.memory.budget.bytes`: the largest file
    /// uploads a part when it has one (≥ 5 MiB, file boundaries unchanged), else it is cut
    /// early, synchronously (its offset is committed before that partition uploads again).
    async fn enforce_budget(&mut self) -> Result<(), TaskError> {
        let budget = self.config.memory_budget;
        let mut total: usize = self.writers.values().map(TopicPartitionWriter::buffered_bytes).sum();
        if total > budget {
            // cut files on their way out free their bytes first
            self.upload_all(true).await?;
            total = self.writers.values().map(TopicPartitionWriter::buffered_bytes).sum();
        }
        let mut rounds = 0;
        while total > budget && rounds < 64 {
            rounds += 1;
            let Some((tp, (encoded, encoded_bytes, all))) = self
                .writers
                .iter()
                .filter_map(|(tp, w)| w.largest_open().map(|l| (tp.clone(), l)))
                .max_by_key(|(_, (_, _, all))| *all)
            else {
                break;
            };
            let storage = self.storage.clone().expect("started");
            let w = self.writers.get_mut(&tp).expect("a writer");
            if encoded_bytes >= MIN_PART {
                w.stage_part(&encoded);
            } else {
                warn!(
                    partition = %tp,
                    bytes = all,
                    budget,
                    "memory budget reached: the largest open files are cut early (s3.memory.budget.bytes)"
                );
                w.rotate_all(true)?;
            }
            w.upload(&storage, &self.slots, self.config.part_size, true).await?;
            total = self.writers.values().map(TopicPartitionWriter::buffered_bytes).sum();
        }
        Ok(())
    }

    async fn abort_stale_uploads(&self, partitions: &[TopicPartition]) {
        let storage = self.storage();
        let d = &self.config.layout.directory_delim;
        let f = &self.config.layout.file_delim;
        let mut topics: Vec<&str> = partitions.iter().map(|tp| &*tp.topic).collect();
        topics.dedup();
        for topic in topics {
            let prefix = if self.config.layout.topics_dir.trim().is_empty() {
                format!("{topic}{d}")
            } else {
                format!("{}{d}{topic}{d}", self.config.layout.topics_dir)
            };
            let found = match storage.unfinished(&prefix).await {
                Ok(found) => found,
                Err(e) => {
                    warn!(prefix, error = %e, "cannot list unfinished multipart uploads");
                    continue;
                }
            };
            for mpu in found {
                let name = mpu.key.rsplit(d.as_str()).next().unwrap_or("");
                let ours = partitions
                    .iter()
                    .any(|tp| &*tp.topic == topic && name.starts_with(&format!("{topic}{f}{}{f}", tp.partition)));
                if ours {
                    match storage.abort(&mpu).await {
                        Ok(()) => info!(key = %mpu.key, "aborted a stale multipart upload"),
                        Err(e) => warn!(key = %mpu.key, error = %e, "cannot abort a stale multipart upload"),
                    }
                }
            }
        }
    }
}

impl SinkTask for S3SinkTask {
    async fn start(&mut self) -> Result<(), TaskError> {
        let storage = Storage::connect(&self.config).await;
        // a missing bucket or refused credentials are fatal; an S3 outage is retried by the runtime
        storage.check().await.map_err(|e| match e.is_retriable() {
            true => TaskError::retriable(format!("the bucket cannot be checked yet: {e}")),
            false => TaskError::fatal(format!("the bucket is not usable: {e}")),
        })?;
        let c = &self.config;
        info!(
            bucket = %c.bucket,
            endpoint = c.endpoint.as_deref().unwrap_or("AWS"),
            delivery = if c.exactly_once().is_ok() { "exactly-once" } else { "at-least-once" },
            reason = c.exactly_once().err().unwrap_or("deterministic partitioner and rotation"),
            "s3 sink started"
        );
        self.storage = Some(storage);
        Ok(())
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), TaskError> {
        for tp in partitions {
            self.writers.entry(tp.clone()).or_insert_with(|| TopicPartitionWriter::new(tp.clone(), &self.config));
        }
        self.abort_stale_uploads(partitions).await;
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), TaskError> {
        for tp in partitions {
            if let Some(mut w) = self.writers.remove(tp) {
                w.discard(self.storage.as_ref()).await;
            }
        }
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), TaskError> {
        // files cut before a failed upload go first (a retried put hands the same records)
        self.upload_all(false).await?;
        let now = wall_clock_ms();
        let mut since_check = 0;
        for record in records {
            let (config, settings) = (&self.config, &self.settings);
            let w = self
                .writers
                .entry(record.topic_partition())
                .or_insert_with(|| TopicPartitionWriter::new(record.topic_partition(), config));
            if w.seen(record.kafka_offset) {
                continue;
            }
            if record.value.is_null() {
                match config.null_values {
                    NullValues::Fail => {
                        return Err(TaskError::fatal(format!(
                            "record {} has a null value; set behavior.on.null.values=ignore to skip such records",
                            at(record)
                        )))
                    }
                    NullValues::Ignore => {
                        w.skip(record.kafka_offset);
                        continue;
                    }
                    // written by its key (and headers) to the tombstone partition
                    NullValues::Write => {}
                }
            }
            if w.write(record, now, config, settings)? {
                w.upload(self.storage.as_ref().expect("started"), &self.slots, config.part_size, false).await?;
            }
            since_check += 1;
            if since_check >= BUDGET_CHECK_EVERY {
                since_check = 0;
                self.enforce_budget().await?;
            }
        }
        for w in self.writers.values_mut() {
            w.on_idle(now, &self.config)?;
            if let Some(idle_ms) = self.config.rotate_idle_ms {
                if w.has_open_files() && now - w.last_record_ms >= idle_ms {
                    info!(partition = %w.tp, "idle flush (rotate.idle.ms)");
                    w.rotate_all(true)?;
                }
            }
        }
        self.upload_all(false).await?;
        self.enforce_budget().await
    }

    /// Nothing to do: "the connector is managing the offsets" (`pre_commit`).
    async fn flush(&mut self, _offsets: &OffsetMap) -> Result<(), TaskError> {
        Ok(())
    }

    /// The offsets after the files complete in S3, once the uploads under way have finished.
    async fn pre_commit(&mut self, _offsets: &OffsetMap) -> Result<OffsetMap, TaskError> {
        if let Some(storage) = self.storage.clone() {
            let slots = &self.slots;
            join_all(self.writers.values_mut().filter(|w| w.uploading()).map(|w| w.settle(&storage, slots))).await;
        }
        Ok(self.writers.iter().filter_map(|(tp, w)| w.offset_to_commit().map(|o| (tp.clone(), o))).collect())
    }

    fn commit_requested(&mut self) -> bool {
        self.writers.values().any(TopicPartitionWriter::wants_commit)
    }

    fn committed(&mut self, offsets: &OffsetMap) {
        for (tp, offset) in offsets {
            if let Some(w) = self.writers.get_mut(tp) {
                w.committed(*offset);
            }
        }
    }

    async fn stop(&mut self) {
        let storage = self.storage.clone();
        for w in self.writers.values_mut() {
            w.discard(storage.as_ref()).await;
        }
    }
}
