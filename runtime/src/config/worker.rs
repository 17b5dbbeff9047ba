//! Worker keys (`WorkerConfig`, `StandaloneConfig`, `RestServerConfig`; kafka-connect-runtime.md §2).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::reader::{ConfigReader, RawConfig};
use crate::convert::{Converter, HeaderConverter};

/// Keys of distributed mode and Java-only settings: accepted, ignored.
const IGNORED: &[&str] = &[
    "plugin.path",
    "plugin.discovery",
    "group.id",
    "config.storage.topic",
    "config.storage.replication.factor",
    "offset.storage.topic",
    "offset.storage.replication.factor",
    "offset.storage.partitions",
    "status.storage.topic",
    "status.storage.replication.factor",
    "status.storage.partitions",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "connector.client.config.override.policy",
    "internal.key.converter",
    "internal.value.converter",
    "metrics.sample.window.ms",
    "metrics.num.samples",
    "metrics.recording.level",
    "metric.reporters",
    "client.dns.lookup",
    "exactly.once.source.support",
    "scheduled.rebalance.max.delay.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
    "worker.sync.timeout.ms",
    "worker.unsync.backoff.ms",
    "task.shutdown.graceful.timeout.ms.per.task",
    "response.http.headers.config",
    "topic.tracking.enable",
    "topic.tracking.allow.reset",
];

/// Which worker a file configures: the keys differ (`offset.storage.file.filename` is the
/// standalone worker's; a distributed worker's own keys are read by the `cluster` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerMode {
    Standalone,
    Distributed,
}

/// The worker's settings common to both modes, and the standalone offset file.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub origin: String,
    pub bootstrap_servers: String,
    pub key_converter: Converter,
    /// `header.converter` (SimpleHeaderConverter by default).
    pub header_converter: HeaderConverter,
    pub value_converter: Converter,
    /// Standalone: `offset.storage.file.filename` (required there).
    pub offset_file: Option<PathBuf>,
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Where the REST API listens; `None` when `listeners` is empty.
    pub listener: Option<SocketAddr>,
    /// The REST listener's TLS (`https://`) and basic authentication.
    pub rest_security: super::rest_security::RestSecurity,
    pub topic_creation_enable: bool,
    /// The worker's own `security.protocol`, `ssl.*`, `sasl.*` (Java's keys): its internal
    /// clients' security, and the base of the connectors' admin clients' as Kafka's.
    pub client_security: BTreeMap<String, String>,
    /// `producer.*`, `consumer.*`, `admin.*` with the prefix removed (Java's keys; security
    /// keys are turned into librdkafka's when a client is made, after the connector's overrides).
    pub producer: BTreeMap<String, String>,
    pub consumer: BTreeMap<String, String>,
    pub admin: BTreeMap<String, String>,
    /// Set when `plugin.path` is present (accepted, ignored).
    pub plugin_path: Option<String>,
}

impl WorkerConfig {
    /// Parses a standalone worker's keys, recording every problem in `reader`.
    pub fn parse(reader: &mut ConfigReader<'_>) -> Option<WorkerConfig> {
        WorkerConfig::parse_for(reader, WorkerMode::Standalone)
    }

    /// Parses the worker keys of `mode` (a distributed worker's own keys are left to the
    /// `cluster` crate, on the same reader, so every problem is reported together).
    pub fn parse_for(reader: &mut ConfigReader<'_>, mode: WorkerMode) -> Option<WorkerConfig> {
        let bootstrap_servers = reader.string_or("bootstrap.servers", "localhost:9092");
        let key_converter = required_converter(reader, "key.converter");
        let value_converter = required_converter(reader, "value.converter");
        let header_converter = HeaderConverter::from_config(reader);
        let offset_file = match mode {
            WorkerMode::Standalone => Some(
                reader.required("offset.storage.file.filename", "a file path for source offsets").map(PathBuf::from),
            ),
            WorkerMode::Distributed => None,
        };
        let offset_flush_interval = reader.millis("offset.flush.interval.ms", 60_000);
        let offset_flush_timeout = reader.millis("offset.flush.timeout.ms", 5_000);
        let shutdown_timeout = reader.millis("task.shutdown.graceful.timeout.ms", 5_000);
        let listener = parse_listeners(reader);
        let https = matches!(listener, Some(Some((_, true))));
        let rest_security = super::rest_security::parse(reader, https);
        let topic_creation_enable = reader.bool("topic.creation.enable", true);
        let producer = reader.prefixed("producer.");
        let consumer = reader.prefixed("consumer.");
        let mut admin = reader.prefixed("admin.");
        // `admin.listeners` and its `admin.listeners.https.*` belong to the REST server
        admin.retain(|k, _| k != "listeners" && !k.starts_with("listeners."));
        let client_security = super::client_security::top_level(reader);
        for (prefix, settings) in [("producer.", &producer), ("consumer.", &consumer), ("admin.", &admin)] {
            super::client_security::check(reader, prefix, settings);
        }
        reader.prefixed("config.providers");
        let plugin_path = reader.string("plugin.path");
        reader.accept(IGNORED);
        if reader.has_errors() {
            return None;
        }
        Some(WorkerConfig {
            origin: reader.raw().origin.to_string(),
            bootstrap_servers,
            key_converter: key_converter?,
            value_converter: value_converter?,
            header_converter: header_converter?.unwrap_or_default(),
            offset_file: match offset_file {
                Some(file) => Some(file?),
                None => None,
            },
            offset_flush_interval,
            offset_flush_timeout,
            shutdown_timeout,
            listener: listener?.map(|(addr, _)| addr),
            rest_security,
            topic_creation_enable,
            client_security,
            producer,
            consumer,
            admin,
            plugin_path,
        })
    }

    /// A worker config for tests and tools, from key/value pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<WorkerConfig, super::ConfigErrors> {
        let mut raw = RawConfig::new("worker");
        for (k, v) in pairs {
            raw.insert(*k, *v, None);
        }
        let mut reader = ConfigReader::new(&raw);
        let parsed = WorkerConfig::parse(&mut reader);
        let (errors, _) = reader.finish();
        parsed.ok_or(super::ConfigErrors(errors))
    }
}

fn required_converter(reader: &mut ConfigReader<'_>, key: &str) -> Option<Converter> {
    match Converter::from_config(reader, key) {
        Some(Some(c)) => Some(c),
        Some(None) => None,
        None => {
            if reader.raw().get(key).is_none_or(|v| v.trim().is_empty()) {
                reader.missing(key, "a converter class, e.g. org.apache.kafka.connect.json.JsonConverter");
            }
            None
        }
    }
}

/// `listeners`: the first `http://host:port` or `https://host:port`, and whether it is HTTPS.
/// Unset → `127.0.0.1:8083` (loopback; Kafka's default `http://:8083` binds every interface, a
/// documented difference). An empty host → all interfaces.
fn parse_listeners(reader: &mut ConfigReader<'_>) -> Option<Option<(SocketAddr, bool)>> {
    if reader.string("listeners").is_none() {
        return Some(Some((SocketAddr::from(([127, 0, 0, 1], 8083)), false)));
    }
    listener_url(reader, "listeners")
}

/// The first URL of a listener list `key` (`None` when unset or malformed, with the problem
/// recorded; `Some(None)` when blank), and whether it is HTTPS.
pub(super) fn listener_url(reader: &mut ConfigReader<'_>, key: &str) -> Option<Option<(SocketAddr, bool)>> {
    let value = reader.string(key)?;
    let first = value.split(',').map(str::trim).find(|s| !s.is_empty());
    let Some(first) = first else { return Some(None) };
    let expected = "http://HOST:PORT or https://HOST:PORT";
    let (hostport, https) = match (first.strip_prefix("http://"), first.strip_prefix("https://")) {
        (Some(h), _) => (h, false),
        (_, Some(h)) => (h, true),
        _ => {
            reader.invalid(key, expected, value.as_str());
            return None;
        }
    };
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p),
        None => {
            reader.invalid(key, expected, value.as_str());
            return None;
        }
    };
    let host = match host.trim_matches(['[', ']']) {
        "" | "0.0.0.0" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        h => h,
    };
    match (host.parse::<std::net::IpAddr>(), port.parse::<u16>()) {
        (Ok(ip), Ok(port)) => Some(Some((SocketAddr::new(ip, port), https))),
        _ => {
            reader.invalid(key, expected, value.as_str());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_required_keys() {
        let w = WorkerConfig::from_pairs(&[
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
            ("offset.storage.file.filename", "/tmp/o"),
        ])
        .unwrap();
        assert_eq!(w.bootstrap_servers, "localhost:9092");
        assert_eq!(w.offset_flush_interval, Duration::from_secs(60));
        assert_eq!(w.listener, Some(SocketAddr::from(([127, 0, 0, 1], 8083))));
        let errors = WorkerConfig::from_pairs(&[("value.converter", "com.example.Nope"), ("listeners", "ftp://x:1")])
            .unwrap_err()
            .to_string();
        assert!(errors.contains("key.converter: missing required key"), "{errors}");
        assert!(errors.contains("value.converter: expected one of"), "{errors}");
        assert!(errors.contains("offset.storage.file.filename: missing required key"), "{errors}");
        assert!(errors.contains("listeners: expected http://HOST:PORT or https://HOST:PORT"), "{errors}");
    }

    #[test]
    fn admin_listeners_belong_to_the_rest_server_not_the_admin_client() {
        use crate::config::rest_security::AdminListener;
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = vec![
                ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
                ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
                ("offset.storage.file.filename", "/tmp/o"),
                ("admin.request.timeout.ms", "5000"),
            ];
            pairs.extend_from_slice(extra);
            WorkerConfig::from_pairs(&pairs)
        };
        let w = with(&[("admin.listeners", "http://127.0.0.1:9099")]).unwrap();
        assert!(matches!(w.rest_security.admin, AdminListener::Own { addr, tls: None } if addr.port() == 9099));
        assert_eq!(w.admin.keys().collect::<Vec<_>>(), ["request.timeout.ms"]);
        assert!(matches!(with(&[("admin.listeners", " ")]).unwrap().rest_security.admin, AdminListener::Disabled));
        assert!(matches!(with(&[]).unwrap().rest_security.admin, AdminListener::Shared));
        let errors = with(&[("admin.listeners", "ftp://x:1")]).unwrap_err().to_string();
        assert!(errors.contains("admin.listeners: expected http://HOST:PORT or https://HOST:PORT"), "{errors}");
        let errors = with(&[("admin.listeners", "https://127.0.0.1:9099")]).unwrap_err().to_string();
        assert!(errors.contains("ssl.keystore.location: missing"), "{errors}");
    }
}
