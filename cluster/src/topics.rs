//! Creating and checking the internal topics at start-up (distributed-mode.md §2): each is
//! created compacted, with the configured partitions, replication factor and extra settings,
//! when missing; an existing one must be compacted (only), and the config topic must have one
//! partition, or the worker does not start, saying what to change. sluice's state topic is the
//! exception: an append log kept whole (`delete` with no retention limit), never compacted.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tracing::info;

use crate::config::TopicSettings;

/// Why an internal topic cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("cannot create or check topic {topic}: {source}")]
    Kafka { topic: String, source: KafkaError },
    #[error("cannot create topic {topic}: {code}")]
    Create { topic: String, code: RDKafkaErrorCode },
    #[error("topic {topic} ({key}) has cleanup.policy={policy}, but an internal topic must be compacted: set it with `kafka-configs.sh --alter --entity-type topics --entity-name {topic} --add-config cleanup.policy=compact`, or name a new topic")]
    NotCompacted { topic: String, key: &'static str, policy: String },
    #[error("topic {topic} (state.storage.topic) has cleanup.policy={policy}, but compaction would drop all but the last entry of each connector's state log: name a new topic and let the worker create it")]
    Compacted { topic: String, policy: String },
    #[error("topic {topic} (config.storage.topic) has {partitions} partitions, but the config topic is required to have a single partition: name a new topic and let the worker create it")]
    ConfigPartitions { topic: String, partitions: usize },
}

/// Which internal topic, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalTopic {
    Config,
    Offsets,
    Status,
    /// sluice's own: connectors' state logs.
    State,
}

impl InternalTopic {
    fn key(self) -> &'static str {
        match self {
            InternalTopic::Config => "config.storage.topic",
            InternalTopic::Offsets => "offset.storage.topic",
            InternalTopic::Status => "status.storage.topic",
            InternalTopic::State => "state.storage.topic",
        }
    }

    /// The topic configs it is created with, before the configured extras.
    fn policy(self) -> &'static [(&'static str, &'static str)] {
        match self {
            InternalTopic::State => &[("cleanup.policy", "delete"), ("retention.ms", "-1"), ("retention.bytes", "-1")],
            _ => &[("cleanup.policy", "compact")],
        }
    }
}

/// Creates the topic when missing, then checks it.
pub async fn ensure(
    base: &ClientConfig,
    which: InternalTopic,
    settings: &TopicSettings,
    timeout: Duration,
) -> Result<(), TopicError> {
    let topic = settings.name.as_str();
    let kafka = |source| TopicError::Kafka { topic: topic.to_owned(), source };
    let admin = runtime::worker::Admin::new(base).map_err(|e| kafka(runtime::worker::redacted(e)))?;
    let admin = admin.client();
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let mut new =
        NewTopic::new(topic, settings.partitions, TopicReplication::Fixed(settings.replication_factor.into()));
    for (k, v) in which.policy().iter().filter(|(k, _)| !settings.configs.contains_key(*k)) {
        new = new.set(k, v);
    }
    for (k, v) in &settings.configs {
        new = new.set(k, v);
    }
    let created = match admin.create_topics([&new], &options).await.map_err(kafka)?.pop() {
        Some(Ok(_)) => true,
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => false,
        Some(Err((_, code))) => return Err(TopicError::Create { topic: topic.to_owned(), code }),
    };
    if created {
        info!(topic, key = which.key(), partitions = settings.partitions, "internal topic created");
    } else {
        check_policy(admin, &options, which, topic).await?;
    }
    if which == InternalTopic::Config {
        let metadata = admin.inner().fetch_metadata(Some(topic), timeout).map_err(kafka)?;
        let partitions = metadata.topics().iter().find(|t| t.name() == topic).map_or(0, |t| t.partitions().len());
        if partitions > 1 {
            return Err(TopicError::ConfigPartitions { topic: topic.to_owned(), partitions });
        }
    }
    Ok(())
}

/// An existing topic's `cleanup.policy` must be exactly `compact`; when it cannot be described
/// (no ACL, an old broker) the worker goes on, as Kafka's does.
async fn check_policy(
    admin: &AdminClient<runtime::worker::AuthContext>,
    options: &AdminOptions,
    which: InternalTopic,
    topic: &str,
) -> Result<(), TopicError> {
    let described = admin.describe_configs([&ResourceSpecifier::Topic(topic)], options).await;
    let policy = match described.ok().and_then(|mut r| r.pop()).and_then(Result::ok) {
        Some(resource) => resource.get("cleanup.policy").and_then(|e| e.value.clone()),
        None => None,
    };
    let Some(policy) = policy else {
        info!(topic, "cannot read cleanup.policy of the internal topic; not checked");
        return Ok(());
    };
    let policies: Vec<&str> = policy.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if which == InternalTopic::State {
        if policies.contains(&"compact") {
            return Err(TopicError::Compacted { topic: topic.to_owned(), policy });
        }
        return Ok(());
    }
    if policies != ["compact"] {
        return Err(TopicError::NotCompacted { topic: topic.to_owned(), key: which.key(), policy });
    }
    Ok(())
}
