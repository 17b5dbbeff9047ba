//! The source task loop (`WorkerSourceTask`): poll → convert → produce; offsets become
//! committable only when the broker has acknowledged every earlier record, and are written to the
//! offset file every `offset.flush.interval.ms` and at shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::clients;
use super::submitted::SubmittedRecords;
use super::topic_producer::{Outgoing, TopicProducer};
use super::{Progress, ReportedTopics, State, TaskContext};
use crate::connector::{OffsetReader, SourceTask};
use crate::convert::Converter;
use crate::error::{ErrorKind, TaskError};
use crate::offset::{OffsetStore, OffsetStoreError};
use crate::record::{topic_name_problem, SourceRecord};
use crate::retry::{Backoff, RECONNECT_MAX};
use crate::transform::Transforms;

/// Delivery reports: (sequence, error text).
type Ack = (u64, Option<String>);

struct AckContext {
    tx: mpsc::UnboundedSender<Ack>,
    owner: clients::ClientOwner,
}

impl ClientContext for AckContext {
    super::oauth::answer_token_requests!();
    fn error(&self, error: KafkaError, reason: &str) {
        self.owner.error(&error, reason);
    }
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.owner.log(level, facility, message);
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let err = result.as_ref().err().map(|(e, _)| e.to_string());
        let _ = self.tx.send((seq as u64, err));
    }
}

/// Offsets of one connector, for its tasks.
pub struct ConnectorOffsets {
    pub store: Arc<OffsetStore>,
    pub connector: String,
}

impl OffsetReader for ConnectorOffsets {
    fn offset<P: Serialize, O: DeserializeOwned>(&self, partition: &P) -> Result<Option<O>, OffsetStoreError> {
        self.store.get_typed(&self.connector, partition)
    }

    fn state_log(&self, name: &str) -> Option<Arc<dyn crate::state_log::StateLog>> {
        self.store.state_log(&self.connector, name)
    }
}

struct Loop<T: SourceTask> {
    ctx: TaskContext,
    producer: TopicProducer<AckContext>,
    acks: mpsc::UnboundedReceiver<Ack>,
    submitted: SubmittedRecords<T::Partition, T::Offset>,
    key_converter: Converter,
    value_converter: Converter,
    admin: Option<super::Admin>,
    topics_ready: HashSet<Arc<str>>,
    /// The topic of the previous record, ready: most records share it (a pointer comparison
    /// instead of hashing the name).
    last_topic: Option<Arc<str>>,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    transforms: Transforms,
    /// Offsets put in the store whose flush has not succeeded yet (told to the task once it has).
    unflushed: Vec<(T::Partition, T::Offset)>,
    /// Failed flushes in a row, for the log.
    flush_failures: Backoff,
    reported_topics: ReportedTopics,
}

/// Runs one source task until shutdown or failure.
pub async fn run<T: SourceTask>(ctx: TaskContext, mut task: T) -> Result<(), TaskError> {
    let (tx, acks) = mpsc::unbounded_channel();
    let producer: ThreadedProducer<AckContext> = clients::producer_config(&ctx.worker, &ctx.connector, ctx.task_id)
        .map_err(TaskError::fatal)?
        .create_with_context(AckContext { tx, owner: clients::ClientOwner::of(&ctx) })
        .map_err(|e| TaskError::fatal(format!("cannot create the producer: {}", clients::redacted(e))))?;
    let admin = match (&ctx.connector.topic_creation, ctx.worker.topic_creation_enable) {
        (Some(_), true) => Some(
            super::Admin::new(&clients::admin_config(&ctx.worker, Some(&ctx.connector)).map_err(TaskError::fatal)?)
                .map_err(|e| TaskError::fatal(format!("cannot create the admin client: {}", clients::redacted(e))))?,
        ),
        _ => None,
    };
    let offsets = ConnectorOffsets { store: ctx.offsets.clone(), connector: ctx.connector.name.clone() };
    // a retriable start (a server not reachable yet) is tried again, so a pipeline started during
    // an outage begins when the server is back
    let mut backoff = Backoff::reconnect();
    loop {
        let reading = std::time::Instant::now();
        let started = match ctx.offsets.refresh().await {
            Ok(()) => {
                debug!(elapsed_ms = reading.elapsed().as_millis() as u64, "stored offsets read");
                task.start(&offsets).await
            }
            Err(e) => Err(TaskError::retriable(format!("cannot read the stored offsets: {e}"))),
        };
        match started {
            Ok(()) => break ctx.recovered(&mut backoff, "start"),
            Err(e) if e.kind == ErrorKind::Retriable && !ctx.stopping() => ctx.retry(&mut backoff, "start", e).await?,
            Err(e) => return Err(e),
        }
    }
    ctx.status.set(State::Running, None);
    info!("task started");
    let mut l = Loop::<T> {
        key_converter: ctx.connector.key_converter.clone().unwrap_or_else(|| ctx.worker.key_converter.clone()),
        value_converter: ctx.connector.value_converter.clone().unwrap_or_else(|| ctx.worker.value_converter.clone()),
        producer: TopicProducer::new(producer),
        acks,
        submitted: SubmittedRecords::default(),
        admin,
        topics_ready: HashSet::new(),
        last_topic: None,
        key_buf: Vec::new(),
        value_buf: Vec::new(),
        transforms: ctx.connector.transforms_for_task(&ctx.worker),
        unflushed: Vec::new(),
        flush_failures: Backoff::new(Duration::from_secs(1), Duration::from_secs(1)),
        reported_topics: ReportedTopics::default(),
        ctx,
    };
    let result = l.poll_loop(&mut task).await;
    let drained = l.drain(&mut task).await;
    task.stop().await;
    result.and(drained)
}

impl<T: SourceTask> Loop<T> {
    async fn poll_loop(&mut self, task: &mut T) -> Result<(), TaskError> {
        let interval = self.ctx.worker.offset_flush_interval;
        let mut next_flush = Instant::now() + interval;
        let mut progress = Progress::new();
        let mut backoff = Backoff::new(Duration::from_millis(100), RECONNECT_MAX);
        while !self.ctx.stopping() {
            match task.poll().await {
                Ok(mut batch) => {
                    self.ctx.recovered(&mut backoff, "poll");
                    self.ctx.status.add_records(batch.len() as u64);
                    for record in batch.drain(..) {
                        self.send(record).await?;
                    }
                    task.recycle(batch);
                }
                Err(e) if e.kind == ErrorKind::Retriable => self.ctx.retry(&mut backoff, "poll", e).await?,
                Err(e) => return Err(e),
            }
            self.take_acks()?;
            if Instant::now() >= next_flush {
                self.commit(task, false).await?;
                next_flush = Instant::now() + interval;
            }
            progress.tick(&self.ctx.status);
        }
        Ok(())
    }

    async fn send(&mut self, mut record: SourceRecord<T::Partition, T::Offset>) -> Result<(), TaskError> {
        match self.transforms.apply(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                // filtered out: its offset is done
                let seq = self.submitted.submit(record.partition, record.offset);
                self.submitted.ack(seq);
                return Ok(());
            }
            Err(e) => return self.skip(record, format!("{e}")),
        }
        self.ready_topic(&record.topic).await?;
        self.ctx.topics.record(&record.topic, &mut self.reported_topics);
        self.key_buf.clear();
        self.value_buf.clear();
        let key = self.key_converter.encode_resolving(
            &record.topic,
            record.key_schema.as_ref(),
            &record.key,
            &mut self.key_buf,
        );
        let converted = match key.await {
            Ok(k) => {
                let value = self.value_converter.encode_resolving(
                    &record.topic,
                    record.value_schema.as_ref(),
                    &record.value,
                    &mut self.value_buf,
                );
                value.await.map(|v| (k, v))
            }
            Err(e) => Err(e),
        };
        let (has_key, has_value) = match converted {
            Ok(kv) => kv,
            Err(e) => {
                let message = format!("cannot convert a record for topic {}: {e}", record.topic);
                return self.skip(record, message);
            }
        };
        let seq = self.submitted.submit(record.partition, record.offset);
        let outgoing = Outgoing {
            topic: &record.topic,
            key: has_key.then_some(&self.key_buf[..]),
            value: has_value.then_some(&self.value_buf[..]),
            partition: record.kafka_partition,
            timestamp: record.timestamp,
            headers: &record.headers,
            opaque: seq as usize,
        };
        let bytes = (self.key_buf.len() + self.value_buf.len()) as u64;
        loop {
            match self.producer.send(&outgoing) {
                Ok(()) => {
                    self.ctx.status.add_bytes(bytes);
                    return Ok(());
                }
                Err(RDKafkaErrorCode::MessageSizeTooLarge) => {
                    let message = format!(
                        "a record of {bytes} bytes for topic {} is over the producer's size limit: raise \
                         producer.max.request.size in the worker file (or producer.override.max.request.size) \
                         and the topic's max.message.bytes",
                        record.topic
                    );
                    return self.tolerate_produce(seq, message);
                }
                Err(RDKafkaErrorCode::QueueFull) => {
                    drain_acks(&mut self.acks, &mut self.submitted)?;
                    // nothing left to make room: this record is larger than the whole buffer
                    if self.producer.producer().in_flight_count() == 0 {
                        let message = format!(
                            "a record of {bytes} bytes for topic {} does not fit in the producer's buffer: \
                             raise producer.buffer.memory (8 MB by default for source tasks)",
                            record.topic
                        );
                        return self.tolerate_produce(seq, message);
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err(e) => {
                    let e = KafkaError::MessageProduction(e);
                    return Err(TaskError::fatal(format!("cannot produce to {}: {e}", record.topic)));
                }
            }
        }
    }

    /// Checks a topic's name and creates it (`topic.creation.*`) the first time it is used.
    async fn ready_topic(&mut self, topic: &Arc<str>) -> Result<(), TaskError> {
        if self.last_topic.as_ref().is_some_and(|last| Arc::ptr_eq(last, topic)) {
            return Ok(());
        }
        if !self.topics_ready.contains(topic) {
            if let Some(problem) = topic_name_problem(topic) {
                return Err(TaskError::fatal(format!("cannot produce to topic {topic:?}: {problem}")));
            }
            if let Some(admin) = &self.admin {
                let tc = self.ctx.connector.topic_creation.as_ref().expect("admin exists only with topic creation");
                clients::ensure_topic(admin, topic, tc)
                    .await
                    .map_err(|e| TaskError::fatal(format!("cannot create topic {topic}: {e}")))?;
            }
            self.topics_ready.insert(topic.clone());
        }
        self.last_topic = Some(topic.clone());
        Ok(())
    }

    /// `errors.tolerance`: fail the task, or drop the record (its offset still counts as done).
    fn skip(&mut self, record: SourceRecord<T::Partition, T::Offset>, message: String) -> Result<(), TaskError> {
        let errors = &self.ctx.connector.errors;
        if !errors.tolerate_all {
            return Err(TaskError::record(format!("{message} (errors.tolerance=all skips such records)")));
        }
        if errors.log_enable && errors.log_include_messages {
            let shown = |v: &dyn std::fmt::Debug| crate::error::excerpt(format!("{v:?}").as_bytes(), 200);
            warn!(topic = %record.topic, error = %message, key = %shown(&record.key), value = %shown(&record.value), "record skipped (errors.tolerance=all)");
        } else if errors.log_enable {
            warn!(topic = %record.topic, error = %message, "record skipped (errors.tolerance=all)");
        }
        self.ctx.status.record_skipped();
        let seq = self.submitted.submit(record.partition, record.offset);
        self.submitted.ack(seq);
        Ok(())
    }

    /// A record the producer refused (Kafka's `KAFKA_PRODUCE` stage): with `errors.tolerance=all`
    /// it is skipped and its offset counts as done, as Kafka ≥ 3.2 does (KIP-779).
    fn tolerate_produce(&mut self, seq: u64, message: String) -> Result<(), TaskError> {
        let errors = &self.ctx.connector.errors;
        if !errors.tolerate_all {
            return Err(TaskError::record(format!("{message} (errors.tolerance=all skips such records)")));
        }
        if errors.log_enable {
            warn!(error = %message, "record skipped (errors.tolerance=all)");
        }
        self.ctx.status.record_skipped();
        self.submitted.ack(seq);
        Ok(())
    }

    fn take_acks(&mut self) -> Result<(), TaskError> {
        drain_acks(&mut self.acks, &mut self.submitted)
    }

    /// Writes the committable offsets to the offset file, then tells the task. A failed write is
    /// tried again at the next interval even when nothing new was acknowledged (an idle source);
    /// `last` (at stop) makes a failure the task's error, so the worker does not exit 0 with
    /// offsets unsaved.
    async fn commit(&mut self, task: &mut T, last: bool) -> Result<(), TaskError> {
        let committable = self.submitted.take_committable();
        if committable.is_empty() && self.unflushed.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        // a null offset (JDBC bulk mode) is not stored: there is nothing to resume from
        let json: Result<Vec<_>, serde_json::Error> = committable
            .iter()
            .map(|(p, o)| Ok((serde_json::to_value(p)?, serde_json::to_value(o)?)))
            .filter(|r| !matches!(r, Ok((_, serde_json::Value::Null))))
            .map(|r| r.map(|(p, o)| (p, Some(o))))
            .collect();
        let json = json.map_err(|e| TaskError::fatal(format!("cannot serialize offsets: {e}")))?;
        let store = self.ctx.offsets.clone();
        store.put(&self.ctx.connector.name, json);
        self.unflushed.extend(committable);
        // a flush that outlives the timeout goes on, and is waited for by the next one
        let flush = tokio::spawn(async move { store.flush().await });
        let error = match tokio::time::timeout(self.ctx.worker.offset_flush_timeout, flush).await {
            Ok(Ok(Ok(()))) => {
                self.ctx.status.record_commit(Some(started.elapsed()));
                debug!(
                    partitions = self.unflushed.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "offsets committed"
                );
                if let Some((attempts, _)) = self.flush_failures.succeed() {
                    info!(failed_attempts = attempts, "offsets saved again");
                }
                let done = std::mem::take(&mut self.unflushed);
                return task.commit(&done).await;
            }
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => {
                format!("no answer within offset.flush.timeout.ms={}", self.ctx.worker.offset_flush_timeout.as_millis())
            }
        };
        self.ctx.status.record_commit(None);
        self.flush_failures.fail();
        if last {
            return Err(TaskError::fatal(format!(
                "the last offset save failed: {error}; records since the previous save will be sent again after a restart"
            )));
        }
        if self.flush_failures.should_log() {
            error!(error = %error, attempt = self.flush_failures.attempts(), "cannot save the offsets; retrying every offset.flush.interval.ms");
        }
        Ok(())
    }

    /// Stop: wait for in-flight records within the shutdown budget, then a last commit.
    async fn drain(&mut self, task: &mut T) -> Result<(), TaskError> {
        let budget = self.ctx.remaining_budget();
        let producer = self.producer.producer().clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(budget)).await;
        self.take_acks()?;
        if !matches!(flushed, Ok(Ok(()))) || self.submitted.in_flight() > 0 {
            warn!(
                in_flight = self.submitted.in_flight(),
                "records still in flight at shutdown; they will be re-sent after restart"
            );
        }
        self.commit(task, true).await
    }
}

fn drain_acks<P: Clone + Eq + std::hash::Hash, O: Clone>(
    acks: &mut mpsc::UnboundedReceiver<Ack>,
    submitted: &mut SubmittedRecords<P, O>,
) -> Result<(), TaskError> {
    while let Ok((seq, err)) = acks.try_recv() {
        if let Some(e) = err {
            return Err(TaskError::fatal(format!("the broker did not accept a record: {e}")));
        }
        submitted.ack(seq);
    }
    Ok(())
}
