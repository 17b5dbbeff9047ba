//! The sink task loop (`WorkerSinkTask`): consume → convert → `put`; every
//! `offset.flush.interval.ms` and at shutdown, `pre_commit` says which offsets are durable and
//! only those are committed to the group `connect-<name>`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::clients;
use super::dead_letter::{DeadLetterQueue, FailedRecord, Failure, Stage};
use super::{Progress, ReportedTopics, State, TaskContext};
use crate::connector::SinkTask;
use crate::convert::Converter;
use crate::error::{ErrorKind, TaskError};
use crate::record::{Header, OffsetMap, SinkRecord, TopicPartition};
use crate::retry::{Backoff, RECONNECT_MAX};
use crate::transform::Transforms;

/// A consumed message, owned.
struct Consumed {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: Option<i64>,
    headers: Vec<Header>,
}

enum Event {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
    Records(Vec<Consumed>),
    Failed(String),
}

struct RebalanceContext {
    events: Mutex<Vec<Event>>,
    owner: clients::ClientOwner,
    /// Each fetched partition's end offset (high watermark), from librdkafka's statistics.
    end_offsets: Mutex<OffsetMap>,
}

fn partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition { topic: e.topic().into(), partition: e.partition() }).collect()
}

impl ClientContext for RebalanceContext {
    super::oauth::answer_token_requests!();
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.owner.error(&error, reason);
    }
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.owner.log(level, facility, message);
    }
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut ends = self.end_offsets.lock().unwrap();
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                // -1 is librdkafka's unassigned partition; a negative offset is not known yet
                if *partition >= 0 && p.hi_offset >= 0 {
                    ends.insert(TopicPartition { topic: topic.as_str().into(), partition: *partition }, p.hi_offset);
                }
            }
        }
    }
}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.events.lock().unwrap().push(Event::Revoked(partitions(tpl)));
        }
    }
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => self.events.lock().unwrap().push(Event::Assigned(partitions(tpl))),
            Rebalance::Error(e) => warn!(error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }
}

type SinkConsumer = BaseConsumer<RebalanceContext>;

/// How long consumed records may wait for their batch to fill.
const BATCH_LINGER: Duration = Duration::from_millis(50);
/// How often an idle task gets an empty `put`.
const IDLE_PUT: Duration = Duration::from_millis(500);

/// Polls the consumer on its own thread and hands batches to the async loop.
fn spawn_poller(
    consumer: Arc<SinkConsumer>,
    tx: mpsc::Sender<Event>,
    stop: Arc<AtomicBool>,
    max_batch: usize,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut batch = Vec::new();
        let mut last_send = Instant::now();
        let mut topic: Arc<str> = Arc::from("");
        while !stop.load(Ordering::Relaxed) {
            // a waiting message first without a timeout (librdkafka then reads no clock), and
            // only when there is none and no rebalance came in, wait for one
            let polled = match consumer.poll(Duration::ZERO) {
                None if consumer.context().events.lock().unwrap().is_empty() => {
                    consumer.poll(Duration::from_millis(100))
                }
                polled => polled,
            };
            let events: Vec<Event> = std::mem::take(&mut *consumer.context().events.lock().unwrap());
            if !events.is_empty()
                && !batch.is_empty()
                && tx.blocking_send(Event::Records(std::mem::take(&mut batch))).is_err()
            {
                return;
            }
            for e in events {
                if tx.blocking_send(e).is_err() {
                    return;
                }
            }
            let idle = polled.is_none();
            match polled {
                Some(Ok(m)) => batch.push(Consumed {
                    topic: {
                        if &*topic != m.topic() {
                            topic = Arc::from(m.topic());
                        }
                        topic.clone()
                    },
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    timestamp: m.timestamp().to_millis(),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| Header { key: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec) })
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
                Some(Err(e)) => {
                    if matches!(e, rdkafka::error::KafkaError::MessageConsumptionFatal(_)) {
                        let _ = tx.blocking_send(Event::Failed(e.to_string()));
                        return;
                    }
                    debug!(error = %e, "consumer error (librdkafka retries)");
                }
                None => {}
            }
            // full, or records waiting a little (a trickle never leaves the consumer idle), or an
            // empty batch now and then so time-based sinks can act
            // (the clock is read only when it can matter: not per record of a filling batch)
            let full = batch.len() >= max_batch;
            let check_clock = idle || batch.len() % 64 == 0;
            if full
                || (check_clock && !batch.is_empty() && (idle || last_send.elapsed() >= BATCH_LINGER))
                || (idle && last_send.elapsed() >= IDLE_PUT)
            {
                if tx.blocking_send(Event::Records(std::mem::take(&mut batch))).is_err() {
                    return;
                }
                last_send = Instant::now();
            }
        }
    })
}

struct Loop<'a, T: SinkTask> {
    ctx: &'a TaskContext,
    task: &'a mut T,
    consumer: Arc<SinkConsumer>,
    key_converter: Converter,
    value_converter: Converter,
    /// Next offset per assigned partition, for what was handed to `put`.
    current: OffsetMap,
    dead_letters: Option<DeadLetterQueue>,
    transforms: Transforms,
    reported_topics: ReportedTopics,
}

/// Runs one sink task until shutdown or failure.
pub async fn run<T: SinkTask>(ctx: TaskContext, mut task: T) -> Result<(), TaskError> {
    let consumer: SinkConsumer = clients::consumer_config(&ctx.worker, &ctx.connector, ctx.task_id)
        .map_err(TaskError::fatal)?
        .create_with_context(RebalanceContext {
            events: Mutex::default(),
            owner: clients::ClientOwner::of(&ctx),
            end_offsets: Mutex::default(),
        })
        .map_err(|e| TaskError::fatal(format!("cannot create the consumer: {}", clients::redacted(e))))?;
    let consumer = Arc::new(consumer);
    let mut subscription = Subscription::new(&ctx);
    subscription.refresh(&consumer).await?;
    let dead_letters = DeadLetterQueue::open(&ctx).await?;
    // as a source's: a retriable start is tried again (an S3 outage at start-up)
    let mut backoff = Backoff::reconnect();
    loop {
        match task.start().await {
            Ok(()) => break ctx.recovered(&mut backoff, "start"),
            Err(e) if e.kind == ErrorKind::Retriable && !ctx.stopping() => ctx.retry(&mut backoff, "start", e).await?,
            Err(e) => return Err(e),
        }
    }
    ctx.status.set(State::Running, None);
    info!("task started");
    let (tx, mut rx) = mpsc::channel(4);
    let stop = Arc::new(AtomicBool::new(false));
    let max_batch = ctx.worker.consumer.get("max.poll.records").and_then(|v| v.parse().ok()).unwrap_or(500);
    let poller = spawn_poller(consumer.clone(), tx, stop.clone(), max_batch);
    let mut l = Loop {
        key_converter: ctx.connector.key_converter.clone().unwrap_or_else(|| ctx.worker.key_converter.clone()),
        value_converter: ctx.connector.value_converter.clone().unwrap_or_else(|| ctx.worker.value_converter.clone()),
        ctx: &ctx,
        task: &mut task,
        consumer: consumer.clone(),
        current: OffsetMap::new(),
        dead_letters,
        transforms: ctx.connector.transforms_for_task(&ctx.worker),
        reported_topics: ReportedTopics::default(),
    };
    let result = l.event_loop(&mut rx, &mut subscription).await;
    stop.store(true, Ordering::Relaxed);
    rx.close();
    let final_commit = if result.is_ok() { l.commit().await } else { Ok(()) };
    let assigned: Vec<TopicPartition> = l.current.keys().cloned().collect();
    let _ = l.task.close(&assigned).await;
    task.stop().await;
    let _ = tokio::task::spawn_blocking(move || poller.join()).await;
    result.and(final_commit)
}

impl<T: SinkTask> Loop<'_, T> {
    async fn event_loop(
        &mut self,
        rx: &mut mpsc::Receiver<Event>,
        subscription: &mut Subscription,
    ) -> Result<(), TaskError> {
        let interval = self.ctx.worker.offset_flush_interval;
        let mut next_commit = Instant::now() + interval;
        let mut progress = Progress::new();
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            tokio::select! {
                _ = wait_shutdown(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep_until(next_commit.into()) => {
                    self.commit().await?;
                    next_commit = Instant::now() + interval;
                }
                _ = subscription.tick() => subscription.refresh(&self.consumer).await?,
                event = rx.recv() => match event {
                    None => return Ok(()),
                    Some(Event::Failed(e)) => return Err(TaskError::fatal(format!("consumer failed: {e}"))),
                    Some(Event::Assigned(tps)) => {
                        info!(partitions = ?tps.iter().map(ToString::to_string).collect::<Vec<_>>(), "partitions assigned");
                        self.task.open(&tps).await?;
                    }
                    Some(Event::Revoked(tps)) => {
                        self.commit().await?;
                        self.task.close(&tps).await?;
                        for tp in &tps {
                            self.current.remove(tp);
                        }
                    }
                    Some(Event::Records(batch)) => {
                        let records = self.convert(batch).await?;
                        self.put(records).await?;
                        progress.tick(&self.ctx.status);
                    }
                }
            }
        }
    }

    async fn convert(&mut self, batch: Vec<Consumed>) -> Result<Vec<SinkRecord>, TaskError> {
        let mut records = Vec::with_capacity(batch.len());
        let bytes: usize =
            batch.iter().map(|m| m.key.as_ref().map_or(0, Vec::len) + m.value.as_ref().map_or(0, Vec::len)).sum();
        self.ctx.status.add_bytes(bytes as u64);
        // each partition's next offset, noted once per run of its messages (a map insert per
        // message compared topic names in the tree)
        let mut run: Option<(TopicPartition, i64)> = None;
        for mut m in batch {
            match &mut run {
                Some((tp, next)) if tp.partition == m.partition && tp.topic == m.topic => *next = m.offset + 1,
                _ => {
                    let tp = TopicPartition { topic: m.topic.clone(), partition: m.partition };
                    if let Some((tp, next)) = run.replace((tp, m.offset + 1)) {
                        self.current.insert(tp, next);
                    }
                }
            }
            self.ctx.topics.record(&m.topic, &mut self.reported_topics);
            let key = self.key_converter.decode_resolving(&m.topic, m.key.as_deref()).await;
            let converted = match key.map_err(|e| (Stage::KeyConverter, e)) {
                Ok(k) => {
                    let value = self.value_converter.decode_resolving(&m.topic, m.value.as_deref()).await;
                    value.map(|v| (k, v)).map_err(|e| (Stage::ValueConverter, e))
                }
                Err(e) => Err(e),
            };
            let ((key_schema, key), (value_schema, value)) = match converted {
                Ok(kv) => kv,
                Err((stage, e)) => {
                    let class = if stage == Stage::KeyConverter { &self.key_converter } else { &self.value_converter };
                    self.tolerate(&m, stage, class.java_class(), &e.to_string())?;
                    continue;
                }
            };
            let mut record = SinkRecord {
                topic: m.topic.clone(),
                kafka_partition: m.partition,
                kafka_offset: m.offset,
                key_schema,
                key,
                value_schema,
                value,
                timestamp: m.timestamp,
                headers: std::mem::take(&mut m.headers),
            };
            match self.transforms.apply(&mut record) {
                Ok(true) => records.push(record),
                Ok(false) => {}
                Err(e) => {
                    m.headers = record.headers;
                    self.tolerate(&m, Stage::Transformation, &e.class, &e.to_string())?;
                }
            }
        }
        if let Some((tp, next)) = run {
            self.current.insert(tp, next);
        }
        Ok(records)
    }

    /// `errors.tolerance`: fail the task, or skip the record (logged, and sent to the dead letter
    /// queue when there is one).
    fn tolerate(&mut self, m: &Consumed, stage: Stage, class_name: &str, message: &str) -> Result<(), TaskError> {
        let errors = &self.ctx.connector.errors;
        let at = format!("{}-{}@{}", m.topic, m.partition, m.offset);
        if !errors.tolerate_all {
            return Err(TaskError::record(format!(
                "cannot convert record {at} ({}): {message} (errors.tolerance=all skips such records)",
                stage.as_str()
            )));
        }
        if errors.log_enable && errors.log_include_messages {
            let shown = |b: &Option<Vec<u8>>| b.as_deref().map(|b| crate::error::excerpt(b, 200)).unwrap_or_default();
            warn!(record = %at, stage = stage.as_str(), error = %message, key = %shown(&m.key), value = %shown(&m.value), "record skipped (errors.tolerance=all)");
        } else if errors.log_enable {
            warn!(record = %at, stage = stage.as_str(), error = %message, "record skipped (errors.tolerance=all)");
        }
        self.ctx.status.record_skipped();
        if let Some(dlq) = &self.dead_letters {
            let record = FailedRecord {
                topic: &m.topic,
                partition: m.partition,
                offset: m.offset,
                key: m.key.as_deref(),
                value: m.value.as_deref(),
                timestamp: m.timestamp,
                headers: &m.headers,
            };
            dlq.report(&record, &Failure { stage, class_name, message })?;
        }
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), TaskError> {
        let n = records.len() as u64;
        let mut backoff = Backoff::new(Duration::from_millis(100), RECONNECT_MAX);
        loop {
            match self.task.put(&records).await {
                Ok(()) => break,
                Err(e) if e.kind == ErrorKind::Retriable && !self.ctx.stopping() => {
                    self.ctx.retry(&mut backoff, "put (the same records again)", e).await?
                }
                Err(e) => return Err(e),
            }
        }
        self.ctx.recovered(&mut backoff, "put");
        self.ctx.status.add_records(n);
        if self.task.commit_requested() {
            self.commit().await?;
        }
        Ok(())
    }

    /// `pre_commit`, then commit only what it returned (for partitions still assigned).
    async fn commit(&mut self) -> Result<(), TaskError> {
        if self.current.is_empty() {
            return Ok(());
        }
        {
            let ends = self.consumer.context().end_offsets.lock().unwrap();
            let mut shown = self.ctx.status.end_offsets.lock().unwrap();
            shown.clear();
            shown.extend(ends.iter().filter(|(tp, _)| self.current.contains_key(tp)).map(|(tp, o)| (tp.clone(), *o)));
        }
        let durable = self.task.pre_commit(&self.current).await?;
        if let Some(dlq) = &self.dead_letters {
            if let Err(e) = dlq.flush(self.ctx.worker.offset_flush_timeout).await {
                warn!(error = %e, "offsets not committed: the dead letter queue is not flushed yet");
                return Ok(());
            }
        }
        let durable: BTreeMap<_, _> = durable.into_iter().filter(|(tp, _)| self.current.contains_key(tp)).collect();
        {
            let committed = self.ctx.status.committed.lock().unwrap();
            if durable.iter().all(|(tp, o)| committed.get(tp) == Some(o)) {
                drop(committed);
                self.task.committed(&durable);
                return Ok(());
            }
        }
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in &durable {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| TaskError::fatal(format!("bad offset for {tp}: {e}")))?;
        }
        let consumer = self.consumer.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync)).await;
        self.ctx.status.record_commit(matches!(result, Ok(Ok(()))).then(|| started.elapsed()));
        match result {
            Ok(Ok(())) => {
                debug!(partitions = durable.len(), "offsets committed");
                self.task.committed(&durable);
                self.ctx.status.committed.lock().unwrap().extend(durable);
            }
            Ok(Err(e)) => warn!(error = %e, "offset commit failed; will retry at the next interval"),
            Err(e) => warn!(error = %e, "offset commit panicked"),
        }
        Ok(())
    }
}

async fn wait_shutdown(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The topics a sink reads: `topics` as given, or every topic whose whole name matches
/// `topics.regex` (Java's `Matcher.matches()`, with Rust's regex syntax), looked up again every
/// few seconds so new topics are picked up. Topics starting with `__` (internal) never match.
struct Subscription {
    fixed: Vec<String>,
    regex: Option<regex::Regex>,
    current: Vec<String>,
    every: tokio::time::Interval,
}

const TOPIC_REFRESH: Duration = Duration::from_secs(5);

impl Subscription {
    fn new(ctx: &TaskContext) -> Self {
        let mut every = tokio::time::interval(TOPIC_REFRESH);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Subscription {
            fixed: ctx.connector.topics.clone(),
            regex: ctx.connector.topics_regex.clone(),
            current: Vec::new(),
            every,
        }
    }

    /// Resolves when a regex subscription should be looked up again (never for a fixed list).
    async fn tick(&mut self) {
        if self.regex.is_none() {
            std::future::pending::<()>().await;
        }
        self.every.tick().await;
    }

    async fn refresh(&mut self, consumer: &Arc<SinkConsumer>) -> Result<(), TaskError> {
        let wanted = match &self.regex {
            None => self.fixed.clone(),
            Some(re) => {
                let c = consumer.clone();
                let md = tokio::task::spawn_blocking(move || c.fetch_metadata(None, Duration::from_secs(10)))
                    .await
                    .map_err(|e| TaskError::fatal(e.to_string()))?;
                let md = match md {
                    Ok(md) => md,
                    Err(e) => {
                        warn!(error = %e, "cannot list topics for topics.regex; will retry");
                        return Ok(());
                    }
                };
                let mut names: Vec<String> = md
                    .topics()
                    .iter()
                    .map(|t| t.name().to_owned())
                    .filter(|n| !n.starts_with("__") && re.is_match(n))
                    .collect();
                names.sort();
                names
            }
        };
        if wanted == self.current {
            return Ok(());
        }
        if wanted.is_empty() {
            consumer.unsubscribe();
        } else {
            info!(topics = ?wanted, "subscribing");
            consumer
                .subscribe(&wanted.iter().map(String::as_str).collect::<Vec<_>>())
                .map_err(|e| TaskError::fatal(format!("cannot subscribe to {wanted:?}: {e}")))?;
        }
        self.current = wanted;
        Ok(())
    }
}
