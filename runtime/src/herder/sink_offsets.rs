//! KIP-875 for sink connectors, in both modes: a sink's offsets are the commits of its consumer
//! group (`connect-<name>`, or `consumer.override.group.id`), read, altered and reset through
//! the broker, as Kafka's `Worker` does with its admin client. Partitions read
//! `{"kafka_topic":…,"kafka_partition":…}` and offsets `{"kafka_offset":…}`.
//!
//! An alteration commits the given offsets for the group; a null offset removes that
//! partition's commit (the sink then starts it at `auto.offset.reset`, earliest). A reset
//! deletes the group. Both need the group empty. A stopped sink's consumers are static members
//! (`group.instance.id`, so a restarted task takes its place without a rebalance), which do not
//! leave the group when they close: the broker drops them when their session times out
//! (`consumer.session.timeout.ms`, 10 s). Until then the broker refuses, and this retries for
//! [`EMPTY_WAIT`] before answering Kafka's error. Workers with `consumer.group.instance.id=`
//! (empty) use dynamic members, which leave at once, as Java's do.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::worker::{seed_token, Admin, AuthContext};
use rdkafka::admin::AdminOptions;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};

use super::{ConnectorOffset, ConnectorOffsets, HerderError};
use crate::retry::Backoff;

/// How long an alteration or reset waits for the group to empty (the sink consumers' session
/// timeout, 10 s, and a margin).
pub const EMPTY_WAIT: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(10);

/// One sink connector's consumer group, and the topics it reads.
pub struct SinkGroup {
    client: ClientConfig,
    name: String,
    group: String,
    topics: Vec<String>,
    pattern: Option<regex::Regex>,
}

/// One partition's change: `None` removes its commit.
type Change = (String, i32, Option<i64>);

fn failed(e: impl std::fmt::Display) -> HerderError {
    HerderError::Failed(e.to_string())
}

impl SinkGroup {
    /// The group of the sink `name` with `config` (its stored config), through the worker's
    /// client settings `base` (bootstrap servers and security).
    pub fn new(base: &ClientConfig, name: &str, config: &BTreeMap<String, String>) -> Result<SinkGroup, HerderError> {
        let topics = config
            .get("topics")
            .map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let pattern = match config.get("topics.regex").filter(|r| !r.trim().is_empty()) {
            Some(r) => {
                Some(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| HerderError::BadRequest(e.to_string()))?)
            }
            None => None,
        };
        let group = config.get("consumer.override.group.id").cloned().unwrap_or_else(|| format!("connect-{name}"));
        let mut client = base.clone();
        client.set("group.id", &group).set("enable.auto.commit", "false");
        Ok(SinkGroup { client, name: name.to_owned(), group, topics, pattern })
    }

    /// The group's commits on the connector's topics.
    pub async fn offsets(&self) -> Result<ConnectorOffsets, HerderError> {
        let (client, topics, pattern) = (self.client.clone(), self.topics.clone(), self.pattern.clone());
        let committed = tokio::task::spawn_blocking(move || committed(&client, &topics, pattern.as_ref()))
            .await
            .map_err(failed)?
            .map_err(failed)?;
        let offsets = committed
            .into_iter()
            .map(|(topic, partition, offset)| ConnectorOffset {
                partition: json!({"kafka_topic": topic, "kafka_partition": partition}),
                offset: Some(json!({"kafka_offset": offset})),
            })
            .collect();
        Ok(ConnectorOffsets { offsets })
    }

    /// Commits the given offsets and removes the commits of partitions given a null offset.
    pub async fn alter(&self, entries: Vec<(Value, Option<Value>)>) -> Result<(), HerderError> {
        let changes = entries.iter().map(|(p, o)| change(p, o.as_ref())).collect::<Result<Vec<_>, _>>()?;
        let known = match changes.iter().any(|(_, _, o)| o.is_none()) {
            true => self
                .offsets()
                .await?
                .offsets
                .iter()
                .filter_map(|o| change(&o.partition, o.offset.as_ref()).ok())
                .filter_map(|(t, p, o)| Some((t, p, o?)))
                .collect(),
            false => Vec::new(),
        };
        let (client, group) = (self.client.clone(), self.group.clone());
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || when_empty(&name, &group, || apply(&client, &group, &known, &changes)))
            .await
            .map_err(failed)?
    }

    /// Deletes the group (a group that does not exist is already reset).
    pub async fn reset(&self) -> Result<(), HerderError> {
        let (client, group) = (self.client.clone(), self.group.clone());
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || when_empty(&name, &group, || delete_group(&client, &group)))
            .await
            .map_err(failed)?
    }
}

/// A KIP-875 sink partition and offset, checked as Kafka's `SinkUtils` does.
fn change(partition: &Value, offset: Option<&Value>) -> Result<Change, HerderError> {
    let bad = |m: String| HerderError::BadRequest(m);
    let topic = partition
        .get("kafka_topic")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("Kafka topic names must be valid strings and may not be null: {partition}")))?;
    let number = partition
        .get("kafka_partition")
        .and_then(|p| p.as_i64().or_else(|| p.as_str()?.parse().ok()))
        .ok_or_else(|| bad(format!("Kafka partitions must be valid numbers and may not be null: {partition}")))?;
    let number = i32::try_from(number)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| bad(format!("Kafka partitions must be non-negative numbers: {partition}")))?;
    let offset = match offset {
        None => None,
        Some(o) => {
            let v = o
                .get("kafka_offset")
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
                .ok_or_else(|| bad(format!("Kafka offsets must be valid numbers and may not be null: {o}")))?;
            if v < 0 {
                return Err(bad(format!("Kafka offsets must be non-negative numbers: {o}")));
            }
            Some(v)
        }
    };
    Ok((topic.to_owned(), number, offset))
}

/// Whether the broker refused because the group still has members.
fn not_empty(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NonEmptyGroup
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::FencedInstanceId
        )
    )
}

/// Runs `op` until the group is empty enough for it, for up to [`EMPTY_WAIT`].
fn when_empty(name: &str, group: &str, op: impl Fn() -> Result<(), KafkaError>) -> Result<(), HerderError> {
    let deadline = Instant::now() + EMPTY_WAIT;
    let mut backoff = Backoff::reconnect();
    loop {
        match op() {
            Ok(()) => return Ok(()),
            Err(e) if not_empty(&e) && Instant::now() < deadline => std::thread::sleep(backoff.fail()),
            Err(e) if not_empty(&e) => {
                return Err(HerderError::Failed(format!(
                    "Failed to alter or reset offsets for connector {name} since its sink consumer group {group} is non-empty ({e}); the stopped connector's consumers are dropped once their session times out (consumer.session.timeout.ms); try again then, or set consumer.group.instance.id= (empty) in the worker file so that they leave when they stop"
                )))
            }
            Err(e) => return Err(failed(format!("consumer group {group}: {e}"))),
        }
    }
}

fn committed(
    client: &ClientConfig,
    topics: &[String],
    pattern: Option<&regex::Regex>,
) -> Result<Vec<(String, i32, i64)>, KafkaError> {
    let consumer: BaseConsumer<AuthContext> = client.create_with_context(AuthContext)?;
    seed_token(consumer.client(), client);
    let metadata = consumer.fetch_metadata(None, TIMEOUT)?;
    let mut partitions = TopicPartitionList::new();
    for t in metadata.topics() {
        if topics.iter().any(|l| l == t.name()) || pattern.is_some_and(|p| p.is_match(t.name())) {
            for p in t.partitions() {
                partitions.add_partition(t.name(), p.id());
            }
        }
    }
    let answered = consumer.committed_offsets(partitions, TIMEOUT)?;
    Ok(answered
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.topic().to_owned(), e.partition(), o)),
            _ => None,
        })
        .collect())
}

/// Commits the new offsets; a null offset is applied by deleting the group and committing again
/// the partitions of `known` (the group's commits) it kept: the Rust client has no per-partition
/// OffsetDelete, and the group is empty, so nobody reads between the two steps.
fn apply(
    client: &ClientConfig,
    group: &str,
    known: &[(String, i32, i64)],
    changes: &[Change],
) -> Result<(), KafkaError> {
    let consumer: BaseConsumer<AuthContext> = client.create_with_context(AuthContext)?;
    seed_token(consumer.client(), client);
    let mut commit = TopicPartitionList::new();
    if changes.iter().any(|(_, _, o)| o.is_none()) {
        let removed: Vec<(&str, i32)> =
            changes.iter().filter(|(_, _, o)| o.is_none()).map(|(t, p, _)| (t.as_str(), *p)).collect();
        for (topic, partition, offset) in known {
            if !removed.contains(&(topic.as_str(), *partition)) {
                commit.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
            }
        }
        delete_group(client, group)?;
    }
    for (topic, partition, offset) in changes {
        if let Some(o) = offset {
            commit.add_partition_offset(topic, *partition, Offset::Offset(*o))?;
        }
    }
    if commit.count() > 0 {
        consumer.commit(&commit, CommitMode::Sync)?;
    }
    Ok(())
}

fn delete_group(client: &ClientConfig, group: &str) -> Result<(), KafkaError> {
    let admin = Admin::new(client)?;
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT)).operation_timeout(Some(TIMEOUT));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let results = runtime.block_on(admin.client().delete_groups(&[group], &options))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_offsets_read_as_kafkas_sink_utils_reads_them() {
        let p = json!({"kafka_topic": "orders", "kafka_partition": 3});
        assert_eq!(change(&p, Some(&json!({"kafka_offset": 10}))).unwrap(), ("orders".into(), 3, Some(10)));
        assert_eq!(change(&p, None).unwrap(), ("orders".into(), 3, None));
        let quoted = json!({"kafka_topic": "orders", "kafka_partition": "3"});
        assert_eq!(change(&quoted, Some(&json!({"kafka_offset": "7"}))).unwrap().2, Some(7));
        for (partition, offset) in [
            (json!({"kafka_partition": 0}), None),
            (json!({"kafka_topic": "t"}), None),
            (json!({"kafka_topic": "t", "kafka_partition": -1}), None),
            (json!({"kafka_topic": "t", "kafka_partition": 0}), Some(json!({"kafka_offset": -5}))),
            (json!({"kafka_topic": "t", "kafka_partition": 0}), Some(json!({"position": 5}))),
        ] {
            let err = change(&partition, offset.as_ref()).unwrap_err();
            assert!(matches!(err, HerderError::BadRequest(_)), "{partition} {offset:?}: {err:?}");
        }
    }
}
