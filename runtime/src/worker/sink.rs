//! The sink task loop (`WorkerSinkTask`): consume → convert → `put`; every
//! `offset.flush.interval.ms` and at shutdown, `pre_commit` says which offsets are durable and
//! only those are committed to the group `connect-<name>`.
//!
//! As Kafka Connect's, one task's loop polls its consumer itself: each message is converted
//! where librdkafka holds it (no copy) and `put` gets what the consumer holds, up to
//! `max.poll.records`. When the consumer runs dry the loop sleeps until librdkafka says its
//! queue has something again, the next commit is due, or an idle `put` is.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::Notify;
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

enum Event {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
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

/// How often an idle task gets an empty `put`, so time-based sinks can act.
const IDLE_PUT: Duration = Duration::from_millis(500);

/// What one pass over the consumer found.
struct Polled {
    records: Vec<SinkRecord>,
    /// Rebalances, handled after `records` are put.
    events: Vec<Event>,
    /// The consumer held nothing more.
    dry: bool,
}

struct Loop<'a, T: SinkTask> {
    ctx: &'a TaskContext,
    task: &'a mut T,
    consumer: Arc<SinkConsumer>,
    /// Woken by librdkafka when the consumer's queue gets something.
    ready: Arc<Notify>,
    max_batch: usize,
    key_converter: Converter,
    value_converter: Converter,
    /// Next offset per assigned partition, for what was handed to `put`.
    current: OffsetMap,
    dead_letters: Option<DeadLetterQueue>,
    transforms: Transforms,
    reported_topics: ReportedTopics,
    /// The last message's topic, shared by the records of that topic.
    topic: Arc<str>,
}

/// Runs one sink task until shutdown or failure.
pub async fn run<T: SinkTask>(ctx: TaskContext, mut task: T) -> Result<(), TaskError> {
    let mut consumer: SinkConsumer = clients::consumer_config(&ctx.worker, &ctx.connector, ctx.task_id)
        .map_err(TaskError::fatal)?
        .create_with_context(RebalanceContext {
            events: Mutex::default(),
            owner: clients::ClientOwner::of(&ctx),
            end_offsets: Mutex::default(),
        })
        .map_err(|e| TaskError::fatal(format!("cannot create the consumer: {}", clients::redacted(e))))?;
    let ready = Arc::new(Notify::new());
    let wake = ready.clone();
    consumer.set_nonempty_callback(move || wake.notify_one());
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
    let max_batch = ctx.worker.consumer.get("max.poll.records").and_then(|v| v.parse().ok()).unwrap_or(500);
    let mut l = Loop {
        key_converter: ctx.connector.key_converter.clone().unwrap_or_else(|| ctx.worker.key_converter.clone()),
        value_converter: ctx.connector.value_converter.clone().unwrap_or_else(|| ctx.worker.value_converter.clone()),
        ctx: &ctx,
        task: &mut task,
        consumer: consumer.clone(),
        ready,
        max_batch: max_batch.max(1),
        current: OffsetMap::new(),
        dead_letters,
        transforms: ctx.connector.transforms_for_task(&ctx.worker),
        reported_topics: ReportedTopics::default(),
        topic: Arc::from(""),
    };
    let result = l.event_loop(&mut subscription).await;
    let final_commit = if result.is_ok() { l.commit().await } else { Ok(()) };
    let assigned: Vec<TopicPartition> = l.current.keys().cloned().collect();
    let _ = l.task.close(&assigned).await;
    task.stop().await;
    result.and(final_commit)
}

impl<T: SinkTask> Loop<'_, T> {
    async fn event_loop(&mut self, subscription: &mut Subscription) -> Result<(), TaskError> {
        let interval = self.ctx.worker.offset_flush_interval;
        let mut next_commit = Instant::now() + interval;
        let mut last_put = Instant::now();
        let mut progress = Progress::new();
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            let polled = self.poll().await?;
            if !polled.records.is_empty() || last_put.elapsed() >= IDLE_PUT {
                let some = !polled.records.is_empty();
                self.put(polled.records).await?;
                last_put = Instant::now();
                if some {
                    progress.tick(&self.ctx.status);
                }
            }
            for event in polled.events {
                self.rebalanced(event).await?;
            }
            if Instant::now() >= next_commit {
                self.commit().await?;
                next_commit = Instant::now() + interval;
            }
            if subscription.due() {
                subscription.refresh(&self.consumer).await?;
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            if !polled.dry {
                // other tasks on this thread get their turn between batches
                tokio::task::yield_now().await;
                continue;
            }
            let wake_at = next_commit.min(last_put + IDLE_PUT).min(subscription.next());
            tokio::select! {
                _ = wait_shutdown(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep_until(wake_at.into()) => {}
                _ = self.ready.notified() => {}
            }
        }
    }

    async fn rebalanced(&mut self, event: Event) -> Result<(), TaskError> {
        match event {
            Event::Assigned(tps) => {
                info!(partitions = ?tps.iter().map(ToString::to_string).collect::<Vec<_>>(), "partitions assigned");
                self.task.open(&tps).await
            }
            Event::Revoked(tps) => {
                self.commit().await?;
                self.task.close(&tps).await?;
                for tp in &tps {
                    self.current.remove(tp);
                }
                Ok(())
            }
        }
    }

    /// Takes what the consumer holds without waiting, up to `max.poll.records` records,
    /// converted; stops at a rebalance (its records are put before it is handled).
    async fn poll(&mut self) -> Result<Polled, TaskError> {
        let consumer = self.consumer.clone();
        let mut records = Vec::new();
        let mut bytes = 0;
        let mut last: Option<(i32, i64)> = None;
        let mut topic_recorded = false;
        let mut empty_polls = 0;
        let (events, dry) = loop {
            if records.len() >= self.max_batch {
                break (Vec::new(), false);
            }
            let polled = consumer.poll(Duration::ZERO);
            let got = polled.is_some();
            match polled {
                Some(Ok(m)) => {
                    bytes += m.key_len() + m.payload_len();
                    if &*self.topic != m.topic() {
                        self.flush_offset(last.take());
                        self.topic = Arc::from(m.topic());
                        topic_recorded = false;
                    }
                    if !topic_recorded {
                        self.ctx.topics.record(&self.topic, &mut self.reported_topics);
                        topic_recorded = true;
                    }
                    match last {
                        Some((p, _)) if p == m.partition() => {}
                        other => self.flush_offset(other),
                    }
                    last = Some((m.partition(), m.offset() + 1));
                    self.convert(&m, &mut records).await?;
                }
                Some(Err(rdkafka::error::KafkaError::MessageConsumptionFatal(e))) => {
                    return Err(TaskError::fatal(format!("consumer failed: {e}")));
                }
                Some(Err(e)) => debug!(error = %e, "consumer error (librdkafka retries)"),
                None => {}
            }
            if got {
                empty_polls = 0;
                continue;
            }
            // nothing, or an event served: a rebalance (its callbacks queued it), or an offset
            // commit's answer with more behind it; librdkafka wakes the loop only when its queue
            // turns non-empty, so it must be empty, and a second empty poll says so
            let events: Vec<Event> = std::mem::take(&mut *consumer.context().events.lock().unwrap());
            if !events.is_empty() {
                break (events, false);
            }
            if empty_polls == 1 {
                break (events, true);
            }
            empty_polls += 1;
        };
        self.flush_offset(last);
        self.ctx.status.add_bytes(bytes as u64);
        Ok(Polled { records, events, dry })
    }

    /// The next offset of the current topic's `partition`, once per run of its records.
    fn flush_offset(&mut self, next: Option<(i32, i64)>) {
        if let Some((partition, offset)) = next {
            self.current.insert(TopicPartition { topic: self.topic.clone(), partition }, offset);
        }
    }

    /// Converts and transforms one message into `records` (or skips it, `errors.tolerance`).
    async fn convert(&mut self, m: &BorrowedMessage<'_>, records: &mut Vec<SinkRecord>) -> Result<(), TaskError> {
        let headers: Vec<Header> = m
            .headers()
            .map(|hs| hs.iter().map(|h| Header { key: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec) }).collect())
            .unwrap_or_default();
        let mut failed = FailedRecord {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
            value: m.payload(),
            timestamp: m.timestamp().to_millis(),
            headers: &[],
        };
        let key = self.key_converter.decode_resolving(&self.topic, failed.key).await;
        let converted = match key.map_err(|e| (Stage::KeyConverter, e)) {
            Ok(k) => {
                let value = self.value_converter.decode_resolving(&self.topic, failed.value).await;
                value.map(|v| (k, v)).map_err(|e| (Stage::ValueConverter, e))
            }
            Err(e) => Err(e),
        };
        let ((key_schema, key), (value_schema, value)) = match converted {
            Ok(kv) => kv,
            Err((stage, e)) => {
                let class = if stage == Stage::KeyConverter { &self.key_converter } else { &self.value_converter };
                let class = class.java_class();
                failed.headers = &headers;
                return self.tolerate(&failed, stage, class, &e.to_string());
            }
        };
        let mut record = SinkRecord {
            topic: self.topic.clone(),
            kafka_partition: failed.partition,
            kafka_offset: failed.offset,
            key_schema,
            key,
            value_schema,
            value,
            timestamp: failed.timestamp,
            headers,
        };
        match self.transforms.apply(&mut record) {
            Ok(true) => records.push(record),
            Ok(false) => {}
            Err(e) => {
                failed.headers = &record.headers;
                self.tolerate(&failed, Stage::Transformation, &e.class, &e.to_string())?;
            }
        }
        Ok(())
    }

    /// `errors.tolerance`: fail the task, or skip the record (logged, and sent to the dead letter
    /// queue when there is one).
    fn tolerate(&self, m: &FailedRecord<'_>, stage: Stage, class_name: &str, message: &str) -> Result<(), TaskError> {
        let errors = &self.ctx.connector.errors;
        let at = format!("{}-{}@{}", m.topic, m.partition, m.offset);
        if !errors.tolerate_all {
            return Err(TaskError::record(format!(
                "cannot convert record {at} ({}): {message} (errors.tolerance=all skips such records)",
                stage.as_str()
            )));
        }
        if errors.log_enable && errors.log_include_messages {
            let shown = |b: Option<&[u8]>| b.map(|b| crate::error::excerpt(b, 200)).unwrap_or_default();
            warn!(record = %at, stage = stage.as_str(), error = %message, key = %shown(m.key), value = %shown(m.value), "record skipped (errors.tolerance=all)");
        } else if errors.log_enable {
            warn!(record = %at, stage = stage.as_str(), error = %message, "record skipped (errors.tolerance=all)");
        }
        self.ctx.status.record_skipped();
        if let Some(dlq) = &self.dead_letters {
            dlq.report(m, &Failure { stage, class_name, message })?;
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
    /// When a regex subscription is looked up again.
    next_lookup: Option<Instant>,
}

const TOPIC_REFRESH: Duration = Duration::from_secs(5);

impl Subscription {
    fn new(ctx: &TaskContext) -> Self {
        Subscription {
            fixed: ctx.connector.topics.clone(),
            regex: ctx.connector.topics_regex.clone(),
            current: Vec::new(),
            next_lookup: None,
        }
    }

    /// Whether a regex subscription should be looked up again (never for a fixed list).
    fn due(&self) -> bool {
        self.next_lookup.is_some_and(|at| Instant::now() >= at)
    }

    /// When [`Self::due`] turns true (far ahead for a fixed list).
    fn next(&self) -> Instant {
        self.next_lookup.unwrap_or_else(|| Instant::now() + TOPIC_REFRESH)
    }

    async fn refresh(&mut self, consumer: &Arc<SinkConsumer>) -> Result<(), TaskError> {
        if self.regex.is_some() {
            self.next_lookup = Some(Instant::now() + TOPIC_REFRESH);
        }
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
