//! The distributed worker's own keys (`DistributedConfig`; distributed-mode.md §1), each
//! declared once in [`KEYS`] (name, default, doc) and read from that declaration, with Kafka's
//! defaults. `group.id` and the three topic names have no default: each missing one is reported,
//! all together, as `file: key: missing required key`. Keys sluice cannot honour yet are refused
//! with the reason, never ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use runtime::config::ConfigReader;
use runtime::KeyDoc;
use tracing::warn;

use crate::protocol::ConnectProtocol;

macro_rules! key {
    ($id:ident, $name:literal, $default:expr, $doc:literal) => {
        pub const $id: KeyDoc = KeyDoc { name: $name, default: $default, doc: $doc };
    };
}

key!(GROUP_ID, "group.id", None, "The Connect cluster's group; required (the example file uses connect-cluster).");
key!(CONFIG_TOPIC, "config.storage.topic", None, "The topic of connector and task configs; required.");
key!(OFFSET_TOPIC, "offset.storage.topic", None, "The topic of source offsets; required.");
key!(STATUS_TOPIC, "status.storage.topic", None, "The topic of connector and task statuses; required.");
key!(
    STATE_TOPIC,
    "state.storage.topic",
    None,
    "sluice's own: the topic of connectors' state logs (the binlog schema history); one partition, never compacted, created with the offsets topic's replication factor when first used; default <offset.storage.topic>-sluice-state."
);
key!(
    CONFIG_RF,
    "config.storage.replication.factor",
    Some("3"),
    "Replication factor of the config topic when created; -1: the broker's default."
);
key!(
    OFFSET_RF,
    "offset.storage.replication.factor",
    Some("3"),
    "Replication factor of the offsets topic when created; -1: the broker's default."
);
key!(
    STATUS_RF,
    "status.storage.replication.factor",
    Some("3"),
    "Replication factor of the status topic when created; -1: the broker's default."
);
key!(
    OFFSET_PARTITIONS,
    "offset.storage.partitions",
    Some("25"),
    "Partitions of the offsets topic when created; -1: the broker's default."
);
key!(
    STATUS_PARTITIONS,
    "status.storage.partitions",
    Some("5"),
    "Partitions of the status topic when created; -1: the broker's default."
);
key!(SESSION_TIMEOUT, "session.timeout.ms", Some("10000"), "A worker silent this long leaves the group.");
key!(HEARTBEAT_INTERVAL, "heartbeat.interval.ms", Some("3000"), "Time between heartbeats to the group coordinator.");
key!(REBALANCE_TIMEOUT, "rebalance.timeout.ms", Some("60000"), "How long a rebalance may take each worker.");
key!(
    SYNC_TIMEOUT,
    "worker.sync.timeout.ms",
    Some("3000"),
    "How long to catch up on the config topic before giving up for this round."
);
key!(
    UNSYNC_BACKOFF,
    "worker.unsync.backoff.ms",
    Some("300000"),
    "Backoff after leaving the group when catching up failed (eager protocol)."
);
key!(
    MAX_DELAY,
    "scheduled.rebalance.max.delay.ms",
    Some("300000"),
    "How long a departed worker's connectors and tasks wait for it before moving; 0: move at once."
);
key!(PROTOCOL, "connect.protocol", Some("sessioned"), "eager, compatible or sessioned.");
key!(
    KEY_ALGORITHM,
    "inter.worker.key.generation.algorithm",
    Some("HmacSHA256"),
    "Algorithm of the session key that signs internal requests."
);
key!(KEY_SIZE, "inter.worker.key.size", None, "Session key size in bits; unset: the algorithm's default (256).");
key!(KEY_TTL, "inter.worker.key.ttl.ms", Some("3600000"), "The leader rotates the session key after this long.");
key!(SIGNATURE_ALGORITHM, "inter.worker.signature.algorithm", Some("HmacSHA256"), "MAC that signs internal requests.");
key!(
    VERIFICATION_ALGORITHMS,
    "inter.worker.verification.algorithms",
    Some("HmacSHA256"),
    "MACs accepted on internal requests."
);
key!(
    EXACTLY_ONCE,
    "exactly.once.source.support",
    Some("disabled"),
    "Exactly-once source support; sluice supports disabled only."
);
key!(REQUEST_TIMEOUT, "request.timeout.ms", Some("40000"), "Timeout of one request to the broker.");
key!(METADATA_MAX_AGE, "metadata.max.age.ms", Some("300000"), "How often broker metadata is refreshed.");
key!(ADVERTISED_HOST, "rest.advertised.host.name", None, "Host name other workers use to reach this one's REST API.");
key!(ADVERTISED_PORT, "rest.advertised.port", None, "Port other workers use to reach this one's REST API.");
key!(ADVERTISED_LISTENER, "rest.advertised.listener", None, "http or https: the scheme of the advertised URL.");
key!(CLIENT_ID, "client.id", Some(""), "Added to internal clients' ids; the group member's id is connect-<host:port>.");

/// Every distributed key, in the order `sluice plugins` lists them.
pub const KEYS: &[KeyDoc] = &[
    GROUP_ID,
    CONFIG_TOPIC,
    OFFSET_TOPIC,
    STATUS_TOPIC,
    STATE_TOPIC,
    CONFIG_RF,
    OFFSET_RF,
    STATUS_RF,
    OFFSET_PARTITIONS,
    STATUS_PARTITIONS,
    SESSION_TIMEOUT,
    HEARTBEAT_INTERVAL,
    REBALANCE_TIMEOUT,
    SYNC_TIMEOUT,
    UNSYNC_BACKOFF,
    MAX_DELAY,
    PROTOCOL,
    KEY_ALGORITHM,
    KEY_SIZE,
    KEY_TTL,
    SIGNATURE_ALGORITHM,
    VERIFICATION_ALGORITHMS,
    EXACTLY_ONCE,
    REQUEST_TIMEOUT,
    METADATA_MAX_AGE,
    ADVERTISED_HOST,
    ADVERTISED_PORT,
    ADVERTISED_LISTENER,
    CLIENT_ID,
];

/// The MACs sluice computes.
const MACS: &[&str] = &["HmacSHA256"];

/// How one internal topic is created when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    pub name: String,
    /// −1: the broker's default.
    pub partitions: i32,
    pub replication_factor: i16,
    /// Extra topic configs from `<prefix>.<topic config>` keys (`cleanup.policy` is always
    /// `compact`).
    pub configs: BTreeMap<String, String>,
}

/// The distributed worker's settings.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    pub group_id: String,
    pub config_topic: TopicSettings,
    pub offset_topic: TopicSettings,
    pub status_topic: TopicSettings,
    /// Connectors' state logs (sluice's own; see [`crate::state_topic`]).
    pub state_topic: TopicSettings,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    pub sync_timeout: Duration,
    pub unsync_backoff: Duration,
    pub max_delay: Duration,
    pub protocol: ConnectProtocol,
    pub key_ttl: Duration,
    pub request_timeout: Duration,
    pub metadata_max_age: Duration,
    pub advertised_host: Option<String>,
    pub advertised_port: Option<u16>,
    /// `rest.advertised.listener`; unset: the listener's own scheme.
    pub advertised_scheme: Option<String>,
    pub client_id: String,
}

/// A key's declared default.
fn declared(key: &KeyDoc) -> &'static str {
    key.default.expect("a declared default")
}

fn default_of(key: &KeyDoc) -> i64 {
    key.default.and_then(|d| d.parse().ok()).expect("a numeric default")
}

fn ms(reader: &mut ConfigReader<'_>, key: &KeyDoc) -> Duration {
    reader.millis(key.name, default_of(key) as u64)
}

/// A replication factor or partition count: −1 (the broker's default) or at least 1.
fn count(reader: &mut ConfigReader<'_>, key: &KeyDoc, max: i64) -> i64 {
    let v = reader.int_in(key.name, default_of(key), -1, max);
    if v == 0 {
        reader.invalid(key.name, "-1 (the broker's default) or at least 1", "0");
    }
    v
}

impl DistributedConfig {
    /// Reads the distributed keys from the worker file; problems go into `reader`.
    pub fn parse(reader: &mut ConfigReader<'_>) -> Option<DistributedConfig> {
        let expected_topic = "a topic name";
        let group_id = reader.required(GROUP_ID.name, "the Connect cluster's group, e.g. connect-cluster");
        let config_name = reader.required(CONFIG_TOPIC.name, expected_topic);
        let offset_name = reader.required(OFFSET_TOPIC.name, expected_topic);
        let status_name = reader.required(STATUS_TOPIC.name, expected_topic);
        let topic =
            |reader: &mut ConfigReader<'_>, name: Option<String>, prefix: &str, rf: &KeyDoc, partitions: i64| {
                let replication_factor = count(reader, rf, i16::MAX.into()) as i16;
                let configs = topic_configs(reader, prefix);
                name.map(|name| TopicSettings { name, partitions: partitions as i32, replication_factor, configs })
            };
        if reader.string("config.storage.partitions").is_some() {
            warn!("config.storage.partitions is ignored: the config topic always has 1 partition");
        }
        let config_topic = topic(reader, config_name, "config.storage.", &CONFIG_RF, 1);
        let offset_partitions = count(reader, &OFFSET_PARTITIONS, i32::MAX.into());
        let offset_topic = topic(reader, offset_name, "offset.storage.", &OFFSET_RF, offset_partitions);
        let status_partitions = count(reader, &STATUS_PARTITIONS, i32::MAX.into());
        let status_topic = topic(reader, status_name, "status.storage.", &STATUS_RF, status_partitions);
        let state_topic = offset_topic.as_ref().map(|offsets| TopicSettings {
            name: reader.non_empty(STATE_TOPIC.name).unwrap_or_else(|| format!("{}-sluice-state", offsets.name)),
            partitions: 1,
            replication_factor: offsets.replication_factor,
            configs: topic_configs(reader, "state.storage."),
        });
        let protocol = reader.one_of(PROTOCOL.name, declared(&PROTOCOL), &["eager", "compatible", "sessioned"]);
        for key in [KEY_ALGORITHM, SIGNATURE_ALGORITHM] {
            reader.one_of(key.name, declared(&key), MACS);
        }
        for algorithm in reader.list(VERIFICATION_ALGORITHMS.name) {
            if !MACS.contains(&algorithm.as_str()) {
                reader.invalid(VERIFICATION_ALGORITHMS.name, "HmacSHA256 (the MAC sluice computes)", algorithm);
            }
        }
        if let Some(size) = reader.non_empty(KEY_SIZE.name) {
            if size.trim() != "256" {
                reader.invalid(KEY_SIZE.name, "256 (HmacSHA256's key size) or unset", size);
            }
        }
        reader.one_of(EXACTLY_ONCE.name, declared(&EXACTLY_ONCE), &["disabled"]);
        let advertised_port = reader.non_empty(ADVERTISED_PORT.name).and_then(|p| match p.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => {
                reader.invalid(ADVERTISED_PORT.name, "a port number", p);
                None
            }
        });
        let advertised_scheme = match reader.non_empty(ADVERTISED_LISTENER.name) {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("http") || v.eq_ignore_ascii_case("https") => {
                Some(v.to_ascii_lowercase())
            }
            Some(v) => {
                reader.invalid(ADVERTISED_LISTENER.name, "http or https", v.as_str());
                None
            }
        };
        let config = DistributedConfig {
            group_id: group_id?,
            config_topic: config_topic?,
            offset_topic: offset_topic?,
            status_topic: status_topic?,
            state_topic: state_topic?,
            session_timeout: ms(reader, &SESSION_TIMEOUT),
            heartbeat_interval: ms(reader, &HEARTBEAT_INTERVAL),
            rebalance_timeout: ms(reader, &REBALANCE_TIMEOUT),
            sync_timeout: ms(reader, &SYNC_TIMEOUT),
            unsync_backoff: ms(reader, &UNSYNC_BACKOFF),
            max_delay: ms(reader, &MAX_DELAY),
            protocol: ConnectProtocol::from_config(protocol).expect("one of the three"),
            key_ttl: ms(reader, &KEY_TTL),
            request_timeout: ms(reader, &REQUEST_TIMEOUT),
            metadata_max_age: ms(reader, &METADATA_MAX_AGE),
            advertised_host: reader.non_empty(ADVERTISED_HOST.name),
            advertised_port,
            advertised_scheme,
            client_id: reader.string_or(CLIENT_ID.name, ""),
        };
        if reader.has_errors() {
            return None;
        }
        Some(config)
    }

    /// The REST URL other workers use, always with a trailing slash (`http://w1:8083/`): the
    /// listener's, with the `rest.advertised.*` keys applied; an unspecified listener host
    /// becomes `local_host`.
    pub fn advertised_url(&self, listener: std::net::SocketAddr, local_host: &str, https: bool) -> String {
        let host = match (&self.advertised_host, listener.ip()) {
            (Some(h), _) => h.clone(),
            (None, ip) if ip.is_unspecified() => local_host.to_owned(),
            (None, std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
            (None, ip) => ip.to_string(),
        };
        let port = self.advertised_port.unwrap_or(listener.port());
        let scheme = self.advertised_scheme.as_deref().unwrap_or(if https { "https" } else { "http" });
        format!("{scheme}://{host}:{port}/")
    }

    /// The worker id of status records: `host:port` of the advertised URL.
    pub fn worker_id(advertised_url: &str) -> String {
        let rest = advertised_url.split_once("://").map_or(advertised_url, |(_, r)| r);
        rest.trim_end_matches('/').to_owned()
    }

    /// The client id base of internal clients: `<group.id>[-<client.id>]-`.
    pub fn client_id_base(&self) -> String {
        match self.client_id.as_str() {
            "" => format!("{}-", self.group_id),
            id => format!("{}-{id}-", self.group_id),
        }
    }
}

/// `<prefix><topic config>` keys of an internal topic, without `cleanup.policy` (always compact)
/// and without the keys the worker itself reads under the same prefix.
fn topic_configs(reader: &mut ConfigReader<'_>, prefix: &str) -> BTreeMap<String, String> {
    let own = ["topic", "replication.factor", "partitions", "file.filename"];
    let mut configs = BTreeMap::new();
    let keys: Vec<String> = reader.raw().entries.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
    for key in keys {
        let rest = &key[prefix.len()..];
        if own.contains(&rest) {
            continue;
        }
        let value = reader.string(&key).unwrap_or_default();
        if rest == "cleanup.policy" {
            warn!(key = %key, "ignored: internal topics are always compacted");
            continue;
        }
        configs.insert(rest.to_owned(), value);
    }
    configs
}

#[cfg(test)]
mod tests {
    use runtime::config::RawConfig;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DistributedConfig, String> {
        let mut raw = RawConfig::new("connect-distributed.properties");
        for (i, (k, v)) in pairs.iter().enumerate() {
            raw.insert(*k, *v, Some(i + 1));
        }
        let mut reader = ConfigReader::new(&raw);
        let parsed = DistributedConfig::parse(&mut reader);
        let (errors, _) = reader.finish();
        parsed.ok_or_else(|| runtime::config::ConfigErrors(errors).to_string())
    }

    const SHIPPED: &[(&str, &str)] = &[
        ("group.id", "connect-cluster"),
        ("offset.storage.topic", "connect-offsets"),
        ("config.storage.topic", "connect-configs"),
        ("status.storage.topic", "connect-status"),
        ("offset.storage.replication.factor", "1"),
        ("config.storage.replication.factor", "1"),
        ("status.storage.replication.factor", "1"),
    ];

    #[test]
    fn the_shipped_file_reads_with_kafkas_defaults() {
        let c = parse(SHIPPED).unwrap();
        assert_eq!(c.group_id, "connect-cluster");
        assert_eq!(c.config_topic.partitions, 1);
        assert_eq!(c.offset_topic.partitions, 25);
        assert_eq!(c.status_topic.partitions, 5);
        assert_eq!(c.offset_topic.replication_factor, 1);
        assert_eq!(c.session_timeout, Duration::from_secs(10));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(c.rebalance_timeout, Duration::from_secs(60));
        assert_eq!(c.max_delay, Duration::from_secs(300));
        assert_eq!(c.protocol, ConnectProtocol::Sessioned);
        assert_eq!(c.client_id_base(), "connect-cluster-");
        let url = c.advertised_url("0.0.0.0:8083".parse().unwrap(), "w1", false);
        assert_eq!(url, "http://w1:8083/");
        assert_eq!(DistributedConfig::worker_id(&url), "w1:8083");
    }

    #[test]
    fn every_missing_required_key_is_reported_at_once() {
        let errors = parse(&[("status.storage.topic", "s")]).unwrap_err();
        for key in ["group.id", "config.storage.topic", "offset.storage.topic"] {
            assert!(
                errors.contains(&format!("connect-distributed.properties: {key}: missing required key")),
                "{errors}"
            );
        }
        assert!(!errors.contains("status.storage.topic"), "{errors}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let mut pairs = SHIPPED.to_vec();
        pairs.extend([
            ("offset.storage.partitions", "0"),
            ("connect.protocol", "cooperative"),
            ("exactly.once.source.support", "enabled"),
            ("inter.worker.verification.algorithms", "HmacSHA256,HmacSHA1"),
        ]);
        let errors = parse(&pairs).unwrap_err();
        assert!(
            errors.contains("connect-distributed.properties:8: offset.storage.partitions: expected -1"),
            "{errors}"
        );
        assert!(errors.contains(":9: connect.protocol: expected one of"), "{errors}");
        assert!(errors.contains(":10: exactly.once.source.support"), "{errors}");
        assert!(errors.contains(":11: inter.worker.verification.algorithms"), "{errors}");
    }

    #[test]
    fn prefixed_topic_settings_are_kept_and_cleanup_policy_forced() {
        let mut pairs = SHIPPED.to_vec();
        pairs.extend([("offset.storage.min.insync.replicas", "2"), ("status.storage.cleanup.policy", "delete")]);
        let c = parse(&pairs).unwrap();
        assert_eq!(c.offset_topic.configs, BTreeMap::from([("min.insync.replicas".into(), "2".into())]));
        assert!(c.status_topic.configs.is_empty());
    }

    #[test]
    fn every_numeric_default_parses() {
        for k in
            KEYS.iter().filter(|k| k.default.is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()) && !d.is_empty()))
        {
            default_of(k);
        }
    }
}
