//! The dead letter queue of a sink task (`errors.deadletterqueue.*`, kafka-connect-runtime.md §7):
//! records that fail conversion, with `errors.tolerance=all`, go to a topic as the original
//! consumer bytes, with `__connect.errors.*` headers when context headers are enabled. The queue
//! is flushed before the task's offsets are committed, so a skipped record is never lost.

use std::time::Duration;

use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tracing::{info, warn};

use super::clients;
use super::TaskContext;
use crate::config::TopicCreation;
use crate::error::TaskError;
use crate::record::Header;

/// Where in the pipeline a record failed (`__connect.errors.stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    Transformation,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
        }
    }
}

/// A consumed record that could not be processed, as it was read.
pub struct FailedRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub headers: &'a [Header],
}

/// The failure, for the context headers.
pub struct Failure<'a> {
    pub stage: Stage,
    /// The Java class of the failing step, e.g. `org.apache.kafka.connect.json.JsonConverter`.
    pub class_name: &'a str,
    pub message: &'a str,
}

pub struct DeadLetterQueue {
    producer: ThreadedProducer<super::AuthContext>,
    topic: String,
    context_headers: bool,
    connector: String,
    task: String,
}

impl DeadLetterQueue {
    /// The task's queue when `errors.deadletterqueue.topic.name` is set; creates the topic with
    /// one partition and `min(replication factor, brokers)` replicas.
    pub async fn open(ctx: &TaskContext) -> Result<Option<DeadLetterQueue>, TaskError> {
        let errors = &ctx.connector.errors;
        let Some(topic) = errors.dlq_topic.clone() else { return Ok(None) };
        let brokers = clients::check_brokers(&ctx.worker, Duration::from_secs(30))
            .await
            .map_err(|e| TaskError::retriable(format!("cannot reach Kafka for the dead letter queue: {e}")))?;
        let mut rf = errors.dlq_replication_factor as i32;
        if rf > brokers as i32 {
            warn!(topic = %topic, configured = rf, brokers, "errors.deadletterqueue.topic.replication.factor is larger than the cluster; using the number of brokers");
            rf = brokers as i32;
        }
        let admin =
            super::Admin::new(&clients::admin_config(&ctx.worker, Some(&ctx.connector)).map_err(TaskError::fatal)?)
                .map_err(|e| TaskError::fatal(format!("cannot create the admin client: {}", clients::redacted(e))))?;
        let creation = TopicCreation { partitions: 1, replication_factor: rf, configs: Default::default() };
        clients::ensure_topic(&admin, &topic, &creation)
            .await
            .map_err(|e| TaskError::fatal(format!("cannot create the dead letter queue topic {topic}: {e}")))?;
        let mut cfg = clients::producer_config(&ctx.worker, &ctx.connector, ctx.task_id).map_err(TaskError::fatal)?;
        cfg.set("client.id", format!("connector-dlq-producer-{}-{}", ctx.connector.name, ctx.task_id));
        let producer = cfg.create_with_context(super::AuthContext).map_err(|e| {
            TaskError::fatal(format!("cannot create the dead letter queue producer: {}", clients::redacted(e)))
        })?;
        info!(topic = %topic, "dead letter queue ready");
        Ok(Some(DeadLetterQueue {
            producer,
            topic,
            context_headers: errors.dlq_context_headers,
            connector: ctx.connector.name.clone(),
            task: ctx.task_id.to_string(),
        }))
    }

    /// Sends the original record (and its context) to the queue.
    pub fn report(&self, record: &FailedRecord<'_>, failure: &Failure<'_>) -> Result<(), TaskError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 10);
        for h in record.headers {
            headers = headers.insert(KafkaHeader { key: &h.key, value: h.value.as_deref() });
        }
        if self.context_headers {
            let (partition, offset) = (record.partition.to_string(), record.offset.to_string());
            let context: [(&str, &str); 10] = [
                ("__connect.errors.topic", record.topic),
                ("__connect.errors.partition", &partition),
                ("__connect.errors.offset", &offset),
                ("__connect.errors.connector.name", &self.connector),
                ("__connect.errors.task.id", &self.task),
                ("__connect.errors.stage", failure.stage.as_str()),
                ("__connect.errors.class.name", failure.class_name),
                ("__connect.errors.exception.class.name", "org.apache.kafka.connect.errors.DataException"),
                ("__connect.errors.exception.message", failure.message),
                ("__connect.errors.exception.stacktrace", failure.message),
            ];
            for (key, value) in context {
                headers = headers.insert(KafkaHeader { key, value: Some(value.as_bytes()) });
            }
        }
        let mut out = BaseRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(k) = record.key {
            out = out.key(k);
        }
        if let Some(v) = record.value {
            out = out.payload(v);
        }
        if let Some(ts) = record.timestamp {
            out = out.timestamp(ts);
        }
        self.producer
            .send(out)
            .map_err(|(e, _)| TaskError::retriable(format!("cannot send to the dead letter queue {}: {e}", self.topic)))
    }

    /// Waits until everything reported is acknowledged.
    pub async fn flush(&self, timeout: Duration) -> Result<(), TaskError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|e| TaskError::fatal(e.to_string()))?
            .map_err(|e| TaskError::retriable(format!("dead letter queue not flushed: {e}")))
    }
}
