//! Kafka clients the way Connect configures them (kafka-connect-runtime.md §4): Java client keys
//! mapped onto librdkafka's, Connect's defaults, the worker's `producer.*`/`consumer.*`/`admin.*`
//! and the connector's `*.override.*`, in that order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{debug, error, info, warn};

use crate::config::{ConnectorConfig, TopicCreation, WorkerConfig};

/// Java client keys with no librdkafka equivalent: logged once and left out.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "interceptor.classes",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "metrics.recording.level",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "enable.metrics.push",
    "auto.include.jmx.reporter",
    "client.dns.lookup",
    "default.api.timeout.ms",
    "max.poll.records",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "exclude.internal.topics",
    "send.buffer.bytes",
    "receive.buffer.bytes",
];

/// Java names librdkafka spells differently.
fn librdkafka_name(java: &str) -> &str {
    match java {
        "max.request.size" => "message.max.bytes",
        "send.buffer.bytes" => "socket.send.buffer.bytes",
        "receive.buffer.bytes" => "socket.receive.buffer.bytes",
        other => other,
    }
}

fn apply(cfg: &mut ClientConfig, settings: &BTreeMap<String, String>, what: &str) {
    for (k, v) in settings {
        if JAVA_ONLY.contains(&k.as_str()) {
            debug!(key = %k, client = what, "java client setting has no librdkafka equivalent; ignored");
            continue;
        }
        if k == "buffer.memory" {
            // bytes in Java, KB in librdkafka
            if let Ok(bytes) = v.trim().parse::<u64>() {
                cfg.set("queue.buffering.max.kbytes", (bytes / 1024).max(1).to_string());
            }
            continue;
        }
        cfg.set(librdkafka_name(k), v);
    }
}

/// The source task producer: acks=all, idempotent (ordering kept with several requests in
/// flight), murmur2 partitioning as Java's, deliveries retried until they succeed.
pub fn producer_config(worker: &WorkerConfig, cc: &ConnectorConfig, task: usize) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", format!("connector-producer-{}-{task}", cc.name))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("message.timeout.ms", "2147483647")
        .set("linger.ms", "5")
        // 8 MB of queued records (librdkafka: 1 GB; Java's buffer.memory: 32 MB of heap) keeps a
        // fast source's memory flat (measured: 1M JDBC rows peak at 38 MB instead of 80 MB with
        // 32 MB) at no cost in throughput; `producer.buffer.memory` changes it
        .set("queue.buffering.max.kbytes", "8192")
        .set("log_level", "4");
    apply(&mut cfg, &worker.producer, "producer");
    apply(&mut cfg, &cc.producer_overrides, "producer");
    cfg
}

/// The sink task consumer: group `connect-<name>`, manual commits, earliest.
pub fn consumer_config(worker: &WorkerConfig, cc: &ConnectorConfig, task: usize) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &worker.bootstrap_servers)
        .set("group.id", format!("connect-{}", cc.name))
        .set("client.id", format!("connector-consumer-{}-{task}", cc.name))
        // A restart after kill -9 must not wait for the killed consumer's session to expire
        // (82 s with librdkafka's 45 s default, e2e sink_resume). A static member id per task
        // lets the restarted consumer take the old one's place, and a session timeout chosen
        // for one worker bounds the rest: 8 s measured with both (26 s with the id alone, 18 s
        // with the timeout alone). `consumer.group.instance.id=` (empty) turns it off, for two
        // workers sharing one sink's partitions.
        .set("group.instance.id", format!("connect-{}-{task}", cc.name))
        .set("session.timeout.ms", "10000")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // notice subscribed topics created after the subscription within seconds, not minutes
        // (the Java consumer retries unknown topics quickly; librdkafka waits for the next refresh)
        .set("topic.metadata.refresh.interval.ms", "5000")
        // librdkafka pauses a partition's fetching for this long once its prefetch queue is full
        // (default 1 s), which cut sink throughput to a sixth; the Java consumer fetches again as
        // soon as its buffer drains
        .set("fetch.queue.backoff.ms", "20")
        .set("log_level", "4");
    apply(&mut cfg, &worker.consumer, "consumer");
    apply(&mut cfg, &cc.consumer_overrides, "consumer");
    cfg
}

pub fn admin_config(worker: &WorkerConfig, cc: Option<&ConnectorConfig>) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &worker.bootstrap_servers).set("log_level", "3");
    apply(&mut cfg, &worker.admin, "admin");
    if let Some(cc) = cc {
        apply(&mut cfg, &cc.admin_overrides, "admin");
    }
    cfg
}

/// Which task a Kafka client works for: librdkafka logs from its own threads, outside the task's
/// span, so its lines carry these fields themselves.
#[derive(Debug, Clone)]
pub(super) struct ClientOwner {
    pub connector: Arc<str>,
    pub task: usize,
}

impl ClientOwner {
    pub fn of(ctx: &super::TaskContext) -> ClientOwner {
        ClientOwner { connector: ctx.connector.name.as_str().into(), task: ctx.task_id }
    }

    /// librdkafka's error callback. Broker connection failures are already in librdkafka's own
    /// log lines and are retried without end, so they are only counted here at debug level.
    pub fn error(&self, error: &KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure};
        let (connector, task) = (&*self.connector, self.task);
        match error.rdkafka_error_code() {
            Some(BrokerTransportFailure | AllBrokersDown) => {
                debug!(connector, task, error = %error, reason, "kafka unreachable; retrying")
            }
            _ => warn!(connector, task, error = %error, reason, "kafka client error"),
        }
    }

    /// librdkafka's log callback, with the task named.
    pub fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        let (connector, task) = (&*self.connector, self.task);
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => error!(connector, task, facility, "librdkafka: {message}"),
            L::Warning => warn!(connector, task, facility, "librdkafka: {message}"),
            L::Notice | L::Info => info!(connector, task, facility, "librdkafka: {message}"),
            L::Debug => debug!(connector, task, facility, "librdkafka: {message}"),
        }
    }
}

/// Fails fast with a clear message when no broker answers within `timeout`.
pub async fn check_brokers(worker: &WorkerConfig, timeout: Duration) -> Result<usize, KafkaError> {
    let cfg = admin_config(worker, None);
    tokio::task::spawn_blocking(move || {
        let producer: BaseProducer = cfg.create()?;
        let md = producer.client().fetch_metadata(None, timeout)?;
        Ok(md.brokers().len())
    })
    .await
    .unwrap_or_else(|e| Err(KafkaError::Canceled).inspect_err(|_| warn!(error = %e, "metadata check panicked")))
}

/// Creates `topic` with the connector's `topic.creation.default.*` settings; an existing topic is fine.
pub async fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    tc: &TopicCreation,
) -> Result<(), KafkaError> {
    let mut new = NewTopic::new(topic, tc.partitions, TopicReplication::Fixed(tc.replication_factor));
    for (k, v) in &tc.configs {
        new = new.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&new], &opts).await?;
    for r in results {
        match r {
            Ok(_) => {
                info!(topic, partitions = tc.partitions, replication_factor = tc.replication_factor, "topic created")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => debug!(topic, "topic exists"),
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(())
}
