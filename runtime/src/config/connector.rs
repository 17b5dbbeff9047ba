//! Connector keys the runtime owns (`ConnectorConfig`, `SourceConnectorConfig`,
//! `SinkConnectorConfig`; kafka-connect-runtime.md §3, §7). Connectors see only their own keys.

use std::collections::BTreeMap;
use std::time::Duration;

use super::reader::ConfigReader;
use crate::connector::KeyDoc;
use crate::convert::{Converter, HeaderConverter};
use crate::record::topic_name_problem;
use crate::transform::Transforms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    Source,
    Sink,
}

impl ConnectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Source => "source",
            ConnectorKind::Sink => "sink",
        }
    }
}

/// `errors.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorsConfig {
    /// `errors.tolerance=all`.
    pub tolerate_all: bool,
    pub log_enable: bool,
    pub log_include_messages: bool,
    /// `errors.retry.timeout`; `None` = forever (-1).
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub dlq_topic: Option<String>,
    pub dlq_replication_factor: i16,
    pub dlq_context_headers: bool,
}

/// `topic.creation.default.*`: topics are created before the first write when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCreation {
    pub partitions: i32,
    /// -1 = the broker's default.
    pub replication_factor: i32,
    /// Other `topic.creation.default.*` keys, passed as topic configs (e.g. `cleanup.policy`).
    pub configs: BTreeMap<String, String>,
}

/// The framework part of a connector file.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub name: String,
    pub class: String,
    pub kind: ConnectorKind,
    pub tasks_max: usize,
    pub tasks_max_enforce: bool,
    pub key_converter: Option<Converter>,
    pub value_converter: Option<Converter>,
    /// `header.converter`, overriding the worker's.
    pub header_converter: Option<HeaderConverter>,
    pub errors: ErrorsConfig,
    /// `transforms`: applied in order to every record.
    pub transforms: Transforms,
    /// Sinks: `topics`, or `topics.regex`.
    pub topics: Vec<String>,
    /// `topics.regex`, anchored as Java's `matches()`.
    pub topics_regex: Option<regex::Regex>,
    /// Sources: set when `topic.creation.default.{partitions,replication.factor}` are both present.
    pub topic_creation: Option<TopicCreation>,
    pub producer_overrides: BTreeMap<String, String>,
    pub consumer_overrides: BTreeMap<String, String>,
    pub admin_overrides: BTreeMap<String, String>,
}

/// The framework's keys every connector has (Kafka's `ConnectorConfig` common group), for
/// `GET /connector-plugins/{class}/config` and validation. Sinks add `topics` / `topics.regex`
/// and the dead letter queue keys, sources `topic.creation.*`.
pub const FRAMEWORK_KEYS: &[KeyDoc] = &[
    KeyDoc { name: "name", default: None, doc: "globally unique name of the connector" },
    KeyDoc { name: "connector.class", default: None, doc: "the connector's class name or alias" },
    KeyDoc { name: "tasks.max", default: Some("1"), doc: "maximum number of tasks" },
    KeyDoc { name: "key.converter", default: None, doc: "converter for keys (the worker's when unset)" },
    KeyDoc { name: "value.converter", default: None, doc: "converter for values (the worker's when unset)" },
    KeyDoc { name: "transforms", default: Some(""), doc: "aliases of the transforms, in order" },
    KeyDoc { name: "predicates", default: Some(""), doc: "aliases of the predicates" },
    KeyDoc {
        name: "errors.retry.timeout",
        default: Some("0"),
        doc: "how long a failed operation is retried (-1: for ever)",
    },
    KeyDoc { name: "errors.retry.delay.max.ms", default: Some("60000"), doc: "cap of the retry backoff" },
    KeyDoc { name: "errors.tolerance", default: Some("none"), doc: "none: fail on a bad record; all: skip it" },
    KeyDoc { name: "errors.log.enable", default: Some("false"), doc: "log each tolerated failure" },
    KeyDoc { name: "errors.log.include.messages", default: Some("false"), doc: "include the record in that log" },
];

/// Sinks' own framework keys.
pub const SINK_FRAMEWORK_KEYS: &[KeyDoc] = &[
    KeyDoc { name: "topics", default: Some(""), doc: "topics to consume (or topics.regex)" },
    KeyDoc { name: "topics.regex", default: Some(""), doc: "a regex of topics to consume" },
    KeyDoc { name: "errors.deadletterqueue.topic.name", default: Some(""), doc: "the dead letter queue topic" },
    KeyDoc {
        name: "errors.deadletterqueue.context.headers.enable",
        default: Some("false"),
        doc: "add __connect.errors.* headers to dead letters",
    },
];

/// Sources' own framework keys.
pub const SOURCE_FRAMEWORK_KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "topic.creation.default.partitions",
        default: None,
        doc: "partitions of topics the connector creates",
    },
    KeyDoc {
        name: "topic.creation.default.replication.factor",
        default: None,
        doc: "replication factor of topics the connector creates",
    },
];

impl ConnectorConfig {
    /// A task's own copy of the transform chain, writing headers with the connector's
    /// `header.converter` or else the worker's.
    pub fn transforms_for_task(&self, worker: &super::WorkerConfig) -> Transforms {
        let mut transforms = self.transforms.clone();
        transforms.set_header_converter(self.header_converter.unwrap_or(worker.header_converter));
        transforms
    }

    /// `name` and `connector.class` alone, before the class (and so the kind) is known.
    pub fn identity(reader: &mut ConfigReader<'_>) -> (Option<String>, Option<String>) {
        let name = reader.required("name", "a connector name");
        let class = reader.required("connector.class", "a connector class name");
        (name, class)
    }

    pub fn parse(reader: &mut ConfigReader<'_>, kind: ConnectorKind) -> Option<ConnectorConfig> {
        let (name, class) = Self::identity(reader);
        let tasks_max = reader.int_in("tasks.max", 1, 1, i32::MAX as i64) as usize;
        let tasks_max_enforce = reader.bool("tasks.max.enforce", true);
        let key_converter = Converter::from_config(reader, "key.converter");
        let value_converter = Converter::from_config(reader, "value.converter");
        let header_converter = HeaderConverter::from_config(reader);
        reader.accept(&[
            "config.action.reload",
            "exactly.once.support",
            "transaction.boundary",
            "transaction.boundary.interval.ms",
            "offsets.storage.topic",
        ]);
        let transforms = Transforms::parse(reader, kind);

        let errors = parse_errors(reader, kind);
        let (mut topics, mut topics_regex, mut topic_creation) = (Vec::new(), None, None);
        match kind {
            ConnectorKind::Sink => {
                topics = reader.list("topics");
                if let Some(problem) = topics.iter().find_map(|t| topic_name_problem(t).map(|p| format!("{t:?}: {p}")))
                {
                    reader.invalid("topics", "legal topic names", problem);
                }
                let pattern = reader.non_empty("topics.regex");
                match (topics.is_empty(), &pattern) {
                    (true, None) => reader.missing("topics", "a comma-separated topic list, or topics.regex"),
                    (false, Some(p)) => {
                        reader.invalid("topics.regex", "only one of topics and topics.regex", p.as_str())
                    }
                    (true, Some(p)) => topics_regex = reader.whole_match_regex("topics.regex", p),
                    _ => {}
                }
            }
            ConnectorKind::Source => topic_creation = parse_topic_creation(reader),
        }
        let producer_overrides = reader.prefixed("producer.override.");
        let consumer_overrides = reader.prefixed("consumer.override.");
        let admin_overrides = reader.prefixed("admin.override.");
        // checked here when the override sets its own protocol; otherwise with the worker's
        // keys it completes, when the task's client is made
        for (prefix, settings) in [
            ("producer.override.", &producer_overrides),
            ("consumer.override.", &consumer_overrides),
            ("admin.override.", &admin_overrides),
        ] {
            if settings.contains_key("security.protocol") {
                super::client_security::check(reader, prefix, settings);
            }
        }
        if reader.has_errors() {
            return None;
        }
        Some(ConnectorConfig {
            name: name?,
            class: class?,
            kind,
            tasks_max,
            tasks_max_enforce,
            key_converter: key_converter.flatten(),
            value_converter: value_converter.flatten(),
            header_converter: header_converter?,
            errors,
            transforms: transforms?,
            topics,
            topics_regex,
            topic_creation,
            producer_overrides,
            consumer_overrides,
            admin_overrides,
        })
    }
}

fn parse_errors(reader: &mut ConfigReader<'_>, kind: ConnectorKind) -> ErrorsConfig {
    let retry = reader.int_in("errors.retry.timeout", 0, -1, i64::MAX);
    let dlq_topic = reader.non_empty("errors.deadletterqueue.topic.name");
    if let Some(problem) = dlq_topic.as_deref().and_then(topic_name_problem) {
        let shown = dlq_topic.clone().unwrap_or_default();
        reader.invalid("errors.deadletterqueue.topic.name", format!("a legal topic name ({problem})"), shown);
    }
    if kind == ConnectorKind::Source {
        if let Some(t) = &dlq_topic {
            reader.invalid(
                "errors.deadletterqueue.topic.name",
                "no dead letter queue (sink connectors only)",
                t.as_str(),
            );
        }
    }
    ErrorsConfig {
        tolerate_all: reader.one_of("errors.tolerance", "none", &["none", "all"]) == "all",
        log_enable: reader.bool("errors.log.enable", false),
        log_include_messages: reader.bool("errors.log.include.messages", false),
        retry_timeout: (retry >= 0).then(|| Duration::from_millis(retry as u64)),
        retry_delay_max: reader.millis("errors.retry.delay.max.ms", 60_000),
        dlq_topic,
        dlq_replication_factor: reader.int_in("errors.deadletterqueue.topic.replication.factor", 3, -1, i16::MAX as i64)
            as i16,
        dlq_context_headers: reader.bool("errors.deadletterqueue.context.headers.enable", false),
    }
}

fn parse_topic_creation(reader: &mut ConfigReader<'_>) -> Option<TopicCreation> {
    reader.list("topic.creation.groups");
    let mut configs = reader.prefixed("topic.creation.default.");
    reader.prefixed("topic.creation.");
    let has_partitions = configs.contains_key("partitions");
    let has_rf = configs.contains_key("replication.factor");
    let partitions = reader.int_in("topic.creation.default.partitions", 1, -1, i32::MAX as i64) as i32;
    let replication_factor = reader.int_in("topic.creation.default.replication.factor", 1, -1, i16::MAX as i64) as i32;
    if partitions == 0 {
        reader.invalid("topic.creation.default.partitions", "a positive number or -1", "0");
    }
    if replication_factor == 0 {
        reader.invalid("topic.creation.default.replication.factor", "a positive number or -1", "0");
    }
    configs.remove("partitions");
    configs.remove("replication.factor");
    configs.retain(|k, _| !k.starts_with("include") && !k.starts_with("exclude"));
    (has_partitions && has_rf).then_some(TopicCreation { partitions, replication_factor, configs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn parse(pairs: &[(&str, &str)], kind: ConnectorKind) -> Result<ConnectorConfig, Vec<String>> {
        let mut raw = RawConfig::new("c.properties");
        for (i, (k, v)) in pairs.iter().enumerate() {
            raw.insert(*k, *v, Some(i + 1));
        }
        let mut r = ConfigReader::new(&raw);
        let c = ConnectorConfig::parse(&mut r, kind);
        let (errors, _) = r.finish();
        c.ok_or_else(|| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn sink_needs_exactly_one_topic_setting() {
        let errors =
            parse(&[("name", "s"), ("connector.class", "FileStreamSink"), ("tasks.max", "x")], ConnectorKind::Sink)
                .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "c.properties:3: tasks.max: expected an integer in [1, 2147483647], got \"x\"",
                "c.properties: topics: missing required key (a comma-separated topic list, or topics.regex)",
            ]
        );
        let ok =
            parse(&[("name", "s"), ("connector.class", "FileStreamSink"), ("topics", "a, b")], ConnectorKind::Sink)
                .unwrap();
        assert_eq!(ok.topics, vec!["a", "b"]);
    }

    #[test]
    fn topic_creation_needs_both_defaults() {
        let base = [("name", "f"), ("connector.class", "FileStreamSource")];
        let none =
            parse(&[base[0], base[1], ("topic.creation.default.partitions", "3")], ConnectorKind::Source).unwrap();
        assert_eq!(none.topic_creation, None);
        let both = parse(
            &[
                base[0],
                base[1],
                ("topic.creation.default.partitions", "3"),
                ("topic.creation.default.replication.factor", "1"),
                ("topic.creation.default.cleanup.policy", "delete"),
            ],
            ConnectorKind::Source,
        )
        .unwrap();
        let tc = both.topic_creation.unwrap();
        assert_eq!((tc.partitions, tc.replication_factor), (3, 1));
        assert_eq!(tc.configs.get("cleanup.policy").map(String::as_str), Some("delete"));
    }

    #[test]
    fn transform_problems_are_located() {
        let errors = parse(
            &[
                ("name", "f"),
                ("connector.class", "X"),
                ("transforms", "a,b,c"),
                ("transforms.a.type", "org.apache.kafka.connect.transforms.Unknown$Value"),
                ("transforms.b.type", "RegexRouter"),
                ("transforms.b.regex", "(?<=x)y"),
                ("transforms.b.replacement", "z"),
            ],
            ConnectorKind::Source,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with("c.properties:4: transforms.a.type: expected one of InsertField, ReplaceField"));
        assert!(errors[1]
            .starts_with("c.properties:6: transforms.b.regex: expected a regular expression without look-around"));
        assert_eq!(
            errors[2],
            "c.properties: transforms.c.type: missing required key (a transform class, e.g. org.apache.kafka.connect.transforms.InsertField$Value)"
        );
    }
}
