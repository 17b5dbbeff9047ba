//! Records as tasks see them: what a source task produces and what a sink task receives.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::data::{Schema, Value};

/// A Kafka header with its raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record from a source task, with the source partition and offset it stands for.
#[derive(Debug, Clone)]
pub struct SourceRecord<P, O> {
    pub partition: P,
    pub offset: O,
    pub topic: Arc<str>,
    /// `None`: the producer's partitioner (murmur2, as Java's) picks.
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<Schema>,
    pub key: Value,
    pub value_schema: Option<Schema>,
    pub value: Value,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub headers: Vec<Header>,
}

impl<P, O> SourceRecord<P, O> {
    /// A keyless record (the FileStreamSource shape).
    pub fn new(partition: P, offset: O, topic: Arc<str>, value_schema: Option<Schema>, value: Value) -> Self {
        SourceRecord {
            partition,
            offset,
            topic,
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }
}

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Next offset to consume per topic partition (Kafka's committed-offset meaning: last + 1).
pub type OffsetMap = BTreeMap<TopicPartition, i64>;

/// A record consumed for a sink task, already converted.
#[derive(Debug, Clone)]
pub struct SinkRecord {
    pub topic: Arc<str>,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
    pub key_schema: Option<Schema>,
    pub key: Value,
    pub value_schema: Option<Schema>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub headers: Vec<Header>,
}

impl SinkRecord {
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition { topic: self.topic.clone(), partition: self.kafka_partition }
    }
}

/// What single message transforms see of a record, source or sink.
pub trait ConnectRecord {
    fn topic(&self) -> &Arc<str>;
    fn set_topic(&mut self, topic: Arc<str>);
    fn kafka_partition(&self) -> Option<i32>;
    /// Sink records only.
    fn kafka_offset(&self) -> Option<i64>;
    fn timestamp(&self) -> Option<i64>;
    fn key_mut(&mut self) -> (&mut Option<Schema>, &mut Value);
    fn value_mut(&mut self) -> (&mut Option<Schema>, &mut Value);
    fn headers(&self) -> &[Header];
    fn headers_mut(&mut self) -> &mut Vec<Header>;
    fn has_header(&self, key: &str) -> bool {
        self.headers().iter().any(|h| h.key == key)
    }
}

impl<P, O> ConnectRecord for SourceRecord<P, O> {
    fn topic(&self) -> &Arc<str> {
        &self.topic
    }
    fn set_topic(&mut self, topic: Arc<str>) {
        self.topic = topic;
    }
    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn key_mut(&mut self) -> (&mut Option<Schema>, &mut Value) {
        (&mut self.key_schema, &mut self.key)
    }
    fn value_mut(&mut self) -> (&mut Option<Schema>, &mut Value) {
        (&mut self.value_schema, &mut self.value)
    }
    fn headers(&self) -> &[Header] {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Vec<Header> {
        &mut self.headers
    }
}

impl ConnectRecord for SinkRecord {
    fn topic(&self) -> &Arc<str> {
        &self.topic
    }
    fn set_topic(&mut self, topic: Arc<str>) {
        self.topic = topic;
    }
    fn kafka_partition(&self) -> Option<i32> {
        Some(self.kafka_partition)
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn key_mut(&mut self) -> (&mut Option<Schema>, &mut Value) {
        (&mut self.key_schema, &mut self.key)
    }
    fn value_mut(&mut self) -> (&mut Option<Schema>, &mut Value) {
        (&mut self.value_schema, &mut self.value)
    }
    fn headers(&self) -> &[Header] {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Vec<Header> {
        &mut self.headers
    }
}

/// Kafka's topic name rules (`org.apache.kafka.common.internals.Topic.validate`): what is wrong
/// with `name`, or `None` when a broker will accept it.
pub fn topic_name_problem(name: &str) -> Option<String> {
    const MAX: usize = 249;
    if name.is_empty() {
        return Some("a topic name cannot be empty".into());
    }
    if name == "." || name == ".." {
        return Some("a topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX {
        return Some(format!("a topic name is at most {MAX} characters, this one has {}", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Some(format!("{c:?} is not allowed in a topic name (ASCII letters, digits, '.', '_' and '-' only)"));
    }
    None
}

#[cfg(test)]
mod topic_name_tests {
    use super::topic_name_problem;

    #[test]
    fn kafka_topic_rules() {
        for ok in ["a", "shop.orders", "A_b-9", &"x".repeat(249)] {
            assert_eq!(topic_name_problem(ok), None, "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "é", &"x".repeat(250)] {
            assert!(topic_name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
