//! A compacted topic read to its end and then followed, with writes that are acknowledged and
//! read back (Kafka's `KafkaBasedLog`; distributed-mode.md §2). The config, offsets and status
//! stores are each a [`KafkaBasedLog`] over their own replay state.
//!
//! The consumer is assigned every partition (no consumer group, no committed offsets) from the
//! beginning, and a thread applies each record to the state in order. "Read to the end" waits
//! until the position of every partition reaches the end the broker reports; a broker whose
//! high watermark is stale (Tansu reports the last batch's base offset + 1) makes that wait
//! shorter, never longer, and the log goes on following. A write waits for its own record to be
//! read back, which is exact whatever the broker reports. Producers use murmur2 partitioning, as
//! Java's do, so a key lands on the partition a Java worker reads it from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use runtime::worker::{seed_token, AuthContext};
use tokio::sync::watch;
use tracing::warn;

/// What a log's records are applied to.
pub trait LogState: Send + 'static {
    fn apply(&mut self, partition: i32, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>);
}

/// Why reading or writing an internal topic failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("topic {topic}: {source}")]
    Kafka { topic: String, source: KafkaError },
    #[error("topic {topic}: {what} took longer than {after:?}")]
    Timeout { topic: String, what: &'static str, after: Duration },
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("topic {0}: the log stopped following it")]
    Stopped(String),
}

/// Next offset to read, per partition.
type Positions = BTreeMap<i32, i64>;

/// A topic replayed into `S` and followed.
pub struct KafkaBasedLog<S> {
    topic: String,
    state: Arc<Mutex<S>>,
    producer: FutureProducer<AuthContext>,
    positions: watch::Receiver<Positions>,
    partitions: Vec<i32>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<S: LogState> KafkaBasedLog<S> {
    /// Reads `topic` from the beginning to its end into `state`, then follows it. `base` holds
    /// the worker's connection settings; `client_id` names the clients (Kafka's
    /// `<group.id>-configs` and so on).
    pub async fn start(
        base: &ClientConfig,
        topic: &str,
        client_id: &str,
        state: S,
        timeout: Duration,
    ) -> Result<KafkaBasedLog<S>, LogError> {
        let kafka = |source| LogError::Kafka { topic: topic.to_owned(), source };
        let consumer_cfg = base
            .clone()
            .set("client.id", client_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("group.id", format!("{client_id}-unused"))
            .clone();
        let consumer: BaseConsumer<AuthContext> =
            consumer_cfg.create_with_context(AuthContext).map_err(|e| kafka(runtime::worker::redacted(e)))?;
        seed_token(consumer.client(), &consumer_cfg);
        let consumer = Arc::new(consumer);
        let partitions = {
            let (consumer, name) = (consumer.clone(), topic.to_owned());
            tokio::task::spawn_blocking(move || partitions_of(&consumer, &name, timeout))
                .await
                .expect("metadata task")?
        };
        let mut assignment = TopicPartitionList::new();
        for p in &partitions {
            assignment.add_partition_offset(topic, *p, Offset::Beginning).map_err(kafka)?;
        }
        consumer.assign(&assignment).map_err(kafka)?;
        let producer_cfg = base
            .clone()
            .set("client.id", client_id)
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .clone();
        let producer: FutureProducer<AuthContext> =
            producer_cfg.create_with_context(AuthContext).map_err(|e| kafka(runtime::worker::redacted(e)))?;
        seed_token(producer.client(), &producer_cfg);
        let state = Arc::new(Mutex::new(state));
        let (tx, positions) = watch::channel(Positions::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop, name) = (state.clone(), stop.clone(), topic.to_owned());
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || follow(&consumer, &state, &tx, &stop, &name))
                .expect("log thread")
        };
        let log = KafkaBasedLog {
            topic: topic.to_owned(),
            state,
            producer,
            positions,
            partitions,
            stop,
            thread: Some(thread),
        };
        log.read_to_end(timeout).await?;
        Ok(log)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The replayed state (held briefly: the log's thread applies records under this lock).
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap()
    }

    /// Waits until every partition has been read up to the end the broker reports now.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), LogError> {
        let asked = std::time::Instant::now();
        let ends = {
            let (producer, topic, partitions) = (self.producer.clone(), self.topic.clone(), self.partitions.clone());
            tokio::task::spawn_blocking(move || end_offsets(producer.client(), &topic, &partitions, timeout))
                .await
                .expect("end offsets task")
                .map_err(|source| LogError::Kafka { topic: self.topic.clone(), source })?
        };
        let waited = self
            .wait(timeout, "reading to the end", |read| {
                ends.iter().all(|(p, end)| read.get(p).copied().unwrap_or(0) >= *end)
            })
            .await;
        tracing::debug!(topic = %self.topic, elapsed_ms = asked.elapsed().as_millis() as u64, "read to the end");
        waited
    }

    /// Writes a record (`None`: a tombstone) and waits until the broker acknowledged it; answers
    /// its partition and offset.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), LogError> {
        let mut record = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        match self.producer.send(record, Timeout::Never).await {
            Ok(delivery) => Ok((delivery.partition, delivery.offset)),
            Err((source, _)) => Err(LogError::Kafka { topic: self.topic.clone(), source }),
        }
    }

    /// Writes a record and waits until this log has read it back (the state includes it).
    pub async fn write(&self, key: &[u8], value: Option<&[u8]>, timeout: Duration) -> Result<(), LogError> {
        let (partition, offset) = self.send(key, value).await?;
        self.wait(timeout, "reading a write back", |read| read.get(&partition).is_some_and(|next| *next > offset)).await
    }

    /// Writes records one after another (one per batch: Tansu serves a batch of several only
    /// once something follows it), then waits until this log has read the last of each
    /// partition back, so the state includes them all.
    pub async fn write_all(&self, records: &[(Vec<u8>, Option<Vec<u8>>)], timeout: Duration) -> Result<(), LogError> {
        let mut last: BTreeMap<i32, i64> = BTreeMap::new();
        for (key, value) in records {
            let (partition, offset) = self.send(key, value.as_deref()).await?;
            last.insert(partition, offset);
        }
        self.wait(timeout, "reading writes back", |read| {
            last.iter().all(|(p, o)| read.get(p).is_some_and(|next| next > o))
        })
        .await
    }

    async fn wait(
        &self,
        timeout: Duration,
        what: &'static str,
        done: impl Fn(&Positions) -> bool,
    ) -> Result<(), LogError> {
        let mut positions = self.positions.clone();
        let waited = tokio::time::timeout(timeout, positions.wait_for(|p| done(p))).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(LogError::Stopped(self.topic.clone())),
            Err(_) => Err(LogError::Timeout { topic: self.topic.clone(), what, after: timeout }),
        }
    }
}

impl<S> Drop for KafkaBasedLog<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every partition's end offset, asked on the producer's connection. The consumer's connection
/// is taken by its long-polling fetch, which holds a ListOffsets sent behind it for up to
/// `fetch.wait.max.ms` (500 ms: half a second added to every task start in a failover); Kafka's
/// `KafkaBasedLog` asks with an admin client for the same reason.
fn end_offsets<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Positions, KafkaError> {
    let mut ends = Positions::new();
    for p in partitions {
        let (_, high) = client.fetch_watermarks(topic, *p, timeout)?;
        ends.insert(*p, high.max(0));
    }
    Ok(ends)
}

fn partitions_of(consumer: &BaseConsumer<AuthContext>, topic: &str, timeout: Duration) -> Result<Vec<i32>, LogError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|source| LogError::Kafka { topic: topic.to_owned(), source })?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(LogError::NoTopic(topic.to_owned()));
    }
    Ok(partitions)
}

/// The log's thread: applies every record in order and publishes the positions.
fn follow<S: LogState>(
    consumer: &BaseConsumer<AuthContext>,
    state: &Mutex<S>,
    positions: &watch::Sender<Positions>,
    stop: &AtomicBool,
    topic: &str,
) {
    let mut failing = false;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                failing = false;
                state.lock().unwrap().apply(m.partition(), m.offset(), m.key(), m.payload());
                positions.send_modify(|p| {
                    p.insert(m.partition(), m.offset() + 1);
                });
            }
            Some(Err(e)) => {
                if !failing {
                    warn!(topic, error = %e, "cannot read the internal topic; retrying");
                }
                failing = true;
            }
        }
    }
}
