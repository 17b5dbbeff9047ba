//! Test helpers for connector crates (feature `testkit`): an in-memory offset reader, record
//! builders, and the conformance checks every connector runs once against its own config:
//! [`assert_source_conformance`] and [`assert_sink_conformance`].

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::{ConfigReader, RawConfig};
use crate::connector::{OffsetReader, SinkConnector, SinkTask, SourceConnector, SourceTask, TaskConfig};
use crate::data::{Schema, Value};
use crate::offset::{canonical, OffsetStoreError};
use crate::record::{OffsetMap, SinkRecord, TopicPartition};

/// Offsets held in memory, keyed by the partition's JSON (key order ignored).
#[derive(Debug, Default, Clone)]
pub struct MemoryOffsets(HashMap<String, Json>);

impl MemoryOffsets {
    pub fn with<P: Serialize, O: Serialize>(mut self, partition: &P, offset: &O) -> Self {
        let p = serde_json::to_value(partition).expect("partition serializes");
        self.0.insert(canonical(&p), serde_json::to_value(offset).expect("offset serializes"));
        self
    }
}

impl OffsetReader for MemoryOffsets {
    fn offset<P: Serialize, O: DeserializeOwned>(&self, partition: &P) -> Result<Option<O>, OffsetStoreError> {
        let p = serde_json::to_value(partition)
            .map_err(|e| OffsetStoreError::Json { connector: "testkit".into(), message: e.to_string() })?;
        match self.0.get(&canonical(&p)) {
            None => Ok(None),
            Some(o) => serde_json::from_value(o.clone())
                .map(Some)
                .map_err(|e| OffsetStoreError::Json { connector: "testkit".into(), message: e.to_string() }),
        }
    }
}

/// A config from key/value pairs, as a connector file would give it.
pub fn raw_config(pairs: &[(&str, &str)]) -> RawConfig {
    raw_config_from("testkit.properties", pairs)
}

/// The pairs as the lines of a file named `origin` (line N = pair N).
pub fn raw_config_from(origin: &str, pairs: &[(&str, &str)]) -> RawConfig {
    let mut raw = RawConfig::new(origin);
    for (i, (k, v)) in pairs.iter().enumerate() {
        raw.insert(*k, *v, Some(i + 1));
    }
    raw
}

/// Parses the pairs (as the file `origin`) with a connector's config parser: the config, or
/// every error as `file:line: key: …` text.
pub fn parse_config<T>(
    origin: &str,
    pairs: &[(&str, &str)],
    parse: impl FnOnce(&mut ConfigReader<'_>) -> Option<T>,
) -> Result<T, Vec<String>> {
    let raw = raw_config_from(origin, pairs);
    let mut r = ConfigReader::new(&raw);
    let parsed = parse(&mut r);
    let (errors, _) = r.finish();
    parsed.filter(|_| errors.is_empty()).ok_or_else(|| errors.iter().map(ToString::to_string).collect())
}

/// A sink record with a value (and its schema), as the sink loop hands it over.
pub fn sink_record(topic: &str, partition: i32, offset: i64, schema: Option<Schema>, value: Value) -> SinkRecord {
    SinkRecord {
        topic: topic.into(),
        kafka_partition: partition,
        kafka_offset: offset,
        key_schema: None,
        key: Value::Null,
        value_schema: schema,
        value,
        timestamp: Some(1_700_000_000_000),
        headers: Vec::new(),
    }
}

fn parse<C>(pairs: &[(&str, &str)], parse: impl FnOnce(&mut ConfigReader<'_>) -> Option<C>) -> C {
    let raw = raw_config(pairs);
    let mut reader = ConfigReader::new(&raw);
    let c = parse(&mut reader);
    let (errors, _) = reader.finish();
    assert!(errors.is_empty(), "config errors: {errors:?}");
    c.expect("the connector parses its config")
}

/// At least one task config, and no more than `tasks.max`.
fn within(configs: Vec<TaskConfig>, max_tasks: usize) -> Vec<TaskConfig> {
    assert!(
        !configs.is_empty() && configs.len() <= max_tasks,
        "{} task configs for tasks.max={max_tasks}",
        configs.len()
    );
    configs
}

fn json_object<T: Serialize>(what: &str, v: &T) -> Json {
    let j = serde_json::to_value(v).unwrap_or_else(|e| panic!("{what} does not serialize: {e}"));
    assert!(j.is_object(), "{what} must serialize to a JSON object (Kafka stores maps), got {j}");
    j
}

/// What every source connector must do: parse its config, split it into at most `max_tasks`
/// task configs that each create a task, start on empty offsets, answer `poll` promptly, and
/// produce records whose partition and offset are JSON objects that read back as themselves.
pub async fn assert_source_conformance<C: SourceConnector>(pairs: &[(&str, &str)], max_tasks: usize) {
    let mut connector = parse(pairs, C::from_config);
    connector.start(connector_context()).await.expect("the connector starts");
    let configs = within(connector.task_configs(max_tasks), max_tasks);
    for config in &configs {
        let mut task = connector.create_task(config).expect("each task config creates a task");
        task.start(&MemoryOffsets::default()).await.expect("start on empty offsets");
        let batch = tokio::time::timeout(Duration::from_secs(5), task.poll())
            .await
            .expect("poll returns within seconds")
            .expect("poll succeeds");
        for r in &batch {
            let p = json_object("source partition", &r.partition);
            let o = json_object("source offset", &r.offset);
            let back: <C::Task as SourceTask>::Offset = serde_json::from_value(o.clone()).expect("offset reads back");
            assert_eq!(serde_json::to_value(&back).unwrap(), o, "offset round trip");
            let back: <C::Task as SourceTask>::Partition =
                serde_json::from_value(p.clone()).expect("partition reads back");
            assert_eq!(back, r.partition, "partition round trip");
        }
        task.stop().await;
    }
}

/// What every sink connector must do: parse its config, give at most `max_tasks` task configs,
/// start, accept an empty `put` and `records`, flush, and never report more durable than given.
pub async fn assert_sink_conformance<C: SinkConnector>(
    pairs: &[(&str, &str)],
    max_tasks: usize,
    records: &[SinkRecord],
) {
    let connector = parse(pairs, C::from_config);
    let configs = within(connector.task_configs(max_tasks), max_tasks);
    let mut task = connector.create_task(&configs[0]).expect("the task config creates a task");
    task.start().await.expect("start");
    let partitions: Vec<TopicPartition> = {
        let mut tps: Vec<TopicPartition> = records.iter().map(SinkRecord::topic_partition).collect();
        tps.sort();
        tps.dedup();
        tps
    };
    task.open(&partitions).await.expect("open");
    task.put(&[]).await.expect("an empty put (sinks get them when idle)");
    task.put(records).await.expect("put");
    let mut offsets = OffsetMap::new();
    for r in records {
        offsets.insert(r.topic_partition(), r.kafka_offset + 1);
    }
    let durable = task.pre_commit(&offsets).await.expect("pre_commit");
    for (tp, o) in &durable {
        let given = offsets.get(tp).unwrap_or_else(|| panic!("pre_commit returned {tp}, which it was not given"));
        assert!(o <= given, "pre_commit says {tp}@{o} is durable, beyond the {given} it was given");
    }
    task.close(&partitions).await.expect("close");
    task.stop().await;
}

/// A connector context for tests: reconfiguration requests go nowhere.
pub fn connector_context() -> crate::ConnectorContext {
    let (control, _) = tokio::sync::mpsc::unbounded_channel();
    crate::ConnectorContext::new(control)
}
