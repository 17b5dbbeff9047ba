//! Keys of Debezium's MySQL and MariaDB connectors (binlog-cdc.md A1) with Debezium's
//! defaults, parsed into types. Keys whose other values sluice does not implement are refused
//! with the reason, never ignored.

use std::time::Duration;

use regex::Regex;
use runtime::config::{ConfigReader, Password};
use runtime::KeyDoc;

pub const KEYS: &[KeyDoc] = &[
    KeyDoc { name: "topic.prefix", default: None, doc: "logical server name: topics, schema names, offsets" },
    KeyDoc { name: "database.hostname", default: None, doc: "server host" },
    KeyDoc { name: "database.port", default: Some("3306"), doc: "server port" },
    KeyDoc { name: "database.user", default: None, doc: "user with SELECT, REPLICATION SLAVE, BINLOG MONITOR" },
    KeyDoc { name: "database.password", default: None, doc: "password (never logged)" },
    KeyDoc {
        name: "database.ssl.mode",
        default: Some("preferred (MySqlConnector), disable (MariaDbConnector)"),
        doc: "disabled, preferred, required, verify_ca, verify_identity (or disable, trust, verify-ca, verify-full)",
    },
    KeyDoc { name: "database.ssl.truststore", default: None, doc: "JKS or PKCS12 store of the CAs to trust" },
    KeyDoc { name: "database.ssl.truststore.password", default: None, doc: "its password (never logged)" },
    KeyDoc { name: "database.ssl.keystore", default: None, doc: "JKS or PKCS12 store of the client certificate" },
    KeyDoc { name: "database.ssl.keystore.password", default: None, doc: "its password (never logged)" },
    KeyDoc { name: "database.server.id", default: None, doc: "replica id this client registers with; unique" },
    KeyDoc { name: "database.include.list", default: None, doc: "regexes of databases to capture (full match)" },
    KeyDoc { name: "database.exclude.list", default: None, doc: "regexes of databases not to capture" },
    KeyDoc { name: "table.include.list", default: None, doc: "regexes of db.table to capture (full match)" },
    KeyDoc { name: "table.exclude.list", default: None, doc: "regexes of db.table not to capture" },
    KeyDoc { name: "column.include.list", default: None, doc: "regexes of db.table.column to keep" },
    KeyDoc { name: "column.exclude.list", default: None, doc: "regexes of db.table.column to drop" },
    KeyDoc {
        name: "snapshot.mode",
        default: Some("initial"),
        doc: "initial, initial_only, no_data (schema_only), when_needed, always or never",
    },
    KeyDoc {
        name: "snapshot.locking.mode",
        default: Some("minimal"),
        doc: "MySQL: minimal (global read lock while reading the position) or none; MariaDB never locks",
    },
    KeyDoc { name: "include.schema.changes", default: Some("true"), doc: "DDL events to topic <topic.prefix>" },
    KeyDoc { name: "tombstones.on.delete", default: Some("true"), doc: "a null-valued record after each delete" },
    KeyDoc { name: "decimal.handling.mode", default: Some("precise"), doc: "precise, double or string" },
    KeyDoc {
        name: "time.precision.mode",
        default: Some("adaptive_time_microseconds"),
        doc: "adaptive_time_microseconds or connect",
    },
    KeyDoc {
        name: "bigint.unsigned.handling.mode",
        default: Some("long"),
        doc: "long (a value above 2^63-1 is a bad record) or precise",
    },
    KeyDoc { name: "binary.handling.mode", default: Some("bytes"), doc: "bytes, base64, base64-url-safe or hex" },
    KeyDoc { name: "heartbeat.interval.ms", default: Some("0"), doc: "heartbeat records while idle (0: off)" },
    KeyDoc { name: "heartbeat.topics.prefix", default: Some("__debezium-heartbeat"), doc: "heartbeat topic prefix" },
    KeyDoc { name: "max.batch.size", default: Some("2048"), doc: "most records one poll returns" },
    KeyDoc { name: "max.queue.size", default: Some("8192"), doc: "records read ahead of the producer" },
    KeyDoc {
        name: "max.queue.size.in.bytes",
        default: Some("0"),
        doc: "bytes of records read ahead (0: no byte bound)",
    },
    KeyDoc { name: "poll.interval.ms", default: Some("500"), doc: "longest wait of an idle poll" },
    KeyDoc { name: "connect.timeout.ms", default: Some("30000"), doc: "connection timeout" },
    KeyDoc { name: "skipped.operations", default: Some("t"), doc: "operations not emitted: c, u, d, t or none" },
    KeyDoc { name: "message.key.columns", default: None, doc: "db.table:c1,c2;… key columns instead of the PK" },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    MariaDb,
}

impl Flavor {
    /// `source.connector`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    InitialOnly,
    NoData,
    WhenNeeded,
    Always,
    Never,
}

impl SnapshotMode {
    /// Whether this mode reads the tables' rows when it snapshots at all.
    pub fn reads_data(self) -> bool {
        !matches!(self, SnapshotMode::NoData | SnapshotMode::Never)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    AdaptiveMicroseconds,
    Connect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// Which databases, tables and columns are captured.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub database_include: Vec<Regex>,
    pub database_exclude: Vec<Regex>,
    pub table_include: Vec<Regex>,
    pub table_exclude: Vec<Regex>,
    pub column_include: Vec<Regex>,
    pub column_exclude: Vec<Regex>,
    /// `message.key.columns`: `db.table` patterns and the columns that key their records.
    pub key_columns: Vec<(Regex, Vec<String>)>,
}

/// Databases never captured (Debezium's built-in system database filter).
const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

impl Filters {
    pub fn database(&self, db: &str) -> bool {
        if SYSTEM_DATABASES.contains(&db) {
            return false;
        }
        (self.database_include.is_empty() || self.database_include.iter().any(|r| r.is_match(db)))
            && !self.database_exclude.iter().any(|r| r.is_match(db))
    }

    pub fn table(&self, db: &str, table: &str) -> bool {
        if !self.database(db) {
            return false;
        }
        let name = format!("{db}.{table}");
        (self.table_include.is_empty() || self.table_include.iter().any(|r| r.is_match(&name)))
            && !self.table_exclude.iter().any(|r| r.is_match(&name))
    }

    pub fn column(&self, db: &str, table: &str, column: &str) -> bool {
        if self.column_include.is_empty() && self.column_exclude.is_empty() {
            return true;
        }
        let name = format!("{db}.{table}.{column}");
        (self.column_include.is_empty() || self.column_include.iter().any(|r| r.is_match(&name)))
            && !self.column_exclude.iter().any(|r| r.is_match(&name))
    }

    /// The `message.key.columns` of `db.table`, if an entry names it (the first that does).
    pub fn key_columns(&self, db: &str, table: &str) -> Option<&[String]> {
        let name = format!("{db}.{table}");
        self.key_columns.iter().find(|(r, _)| r.is_match(&name)).map(|(_, c)| c.as_slice())
    }
}

/// `message.key.columns`: `<db>.<table regex>:<column>[,<column>…]` entries separated by `;`.
fn key_columns(r: &mut ConfigReader<'_>) -> Vec<(Regex, Vec<String>)> {
    const KEY: &str = "message.key.columns";
    let Some(text) = r.non_empty(KEY) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry.rsplit_once(':').map(|(t, cols)| {
            (t.trim(), cols.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect::<Vec<_>>())
        });
        match parsed {
            Some((table, cols)) if !table.is_empty() && !cols.is_empty() => {
                if let Some(re) = r.whole_match_regex(KEY, table) {
                    out.push((re, cols));
                }
            }
            _ => r.invalid(KEY, "<db>.<table>:<column>[,<column>…] entries separated by ';'", entry),
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct BinlogConfig {
    pub flavor: Flavor,
    pub topic_prefix: String,
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Password>,
    pub server_id: u32,
    pub filters: Filters,
    pub snapshot_mode: SnapshotMode,
    /// MySQL only: take a global read lock while the snapshot reads its binlog position.
    pub snapshot_lock: bool,
    pub include_schema_changes: bool,
    pub tombstones_on_delete: bool,
    pub decimal_mode: DecimalMode,
    pub time_mode: TimeMode,
    pub unsigned_precise: bool,
    pub binary_mode: BinaryMode,
    pub heartbeat_interval: Duration,
    pub heartbeat_topic: String,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    /// The queue's memory bound (`max.queue.size.in.bytes`); `None`: records only.
    pub max_queue_bytes: Option<usize>,
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    pub skip_creates: bool,
    pub skip_truncates: bool,
    pub skip_updates: bool,
    pub skip_deletes: bool,
    /// `database.ssl.*`.
    pub tls: runtime::tls::db::DbTls,
}

fn regex_list(r: &mut ConfigReader<'_>, key: &str) -> Vec<Regex> {
    r.list(key).iter().filter_map(|p| r.whole_match_regex(key, p)).collect()
}

impl BinlogConfig {
    pub fn parse(r: &mut ConfigReader<'_>, flavor: Flavor) -> Option<BinlogConfig> {
        let topic_prefix = topic_prefix(r);
        let hostname = r.required("database.hostname", "the server's host name");
        let port = r.int_in("database.port", 3306, 1, 65535) as u16;
        let user = r.required("database.user", "a user with SELECT, REPLICATION SLAVE and BINLOG MONITOR");
        let password = r.password("database.password");
        let server_id = server_id(r);
        let filters = filters(r);
        let (snapshot_mode, snapshot_lock) = snapshot_settings(r);
        let include_schema_changes = r.bool("include.schema.changes", true);
        let tombstones_on_delete = r.bool("tombstones.on.delete", true);
        let decimal_mode = match r.one_of("decimal.handling.mode", "precise", &["precise", "double", "string"]) {
            "double" => DecimalMode::Double,
            "string" => DecimalMode::String,
            _ => DecimalMode::Precise,
        };
        let time_mode = time_mode(r);
        let unsigned_precise = r.one_of("bigint.unsigned.handling.mode", "long", &["long", "precise"]) == "precise";
        let binary_mode =
            match r.one_of("binary.handling.mode", "bytes", &["bytes", "base64", "base64-url-safe", "hex"]) {
                "base64" => BinaryMode::Base64,
                "base64-url-safe" => BinaryMode::Base64UrlSafe,
                "hex" => BinaryMode::Hex,
                _ => BinaryMode::Bytes,
            };
        let heartbeat_interval = r.millis("heartbeat.interval.ms", 0);
        let heartbeat_prefix = r.string_or("heartbeat.topics.prefix", "__debezium-heartbeat");
        let max_batch_size = r.int_in("max.batch.size", 2048, 1, i32::MAX as i64) as usize;
        let max_queue_size = r.int_in("max.queue.size", 8192, 1, i32::MAX as i64) as usize;
        if max_queue_size <= max_batch_size && !r.has_errors() {
            r.invalid(
                "max.queue.size",
                format!("more than max.batch.size ({max_batch_size})"),
                max_queue_size.to_string(),
            );
        }
        let max_queue_bytes = Some(r.int_in("max.queue.size.in.bytes", 0, 0, i64::MAX) as usize).filter(|n| *n > 0);
        let poll_interval = r.millis("poll.interval.ms", 500);
        let connect_timeout = r.millis("connect.timeout.ms", 30_000);
        let skip = skipped_operations(r);
        refuse_unimplemented(r);
        let tls = crate::tls::parse(r, flavor);
        if r.has_errors() {
            return None;
        }
        let topic_prefix = topic_prefix?;
        Some(BinlogConfig {
            flavor,
            heartbeat_topic: format!("{heartbeat_prefix}.{topic_prefix}"),
            topic_prefix,
            hostname: hostname?,
            port,
            user: user?,
            password,
            server_id: server_id?,
            filters,
            snapshot_mode,
            snapshot_lock: flavor == Flavor::MySql && snapshot_lock,
            include_schema_changes,
            tombstones_on_delete,
            decimal_mode,
            time_mode,
            unsigned_precise,
            binary_mode,
            heartbeat_interval,
            max_batch_size,
            max_queue_size,
            max_queue_bytes,
            poll_interval,
            connect_timeout,
            skip_truncates: skip.3,
            skip_creates: skip.0,
            skip_updates: skip.1,
            skip_deletes: skip.2,
            tls,
        })
    }
}

/// `topic.prefix`, naming `database.server.name`'s rename when only the old key is set.
fn topic_prefix(r: &mut ConfigReader<'_>) -> Option<String> {
    match r.non_empty("topic.prefix") {
        Some(p) if p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) => Some(p),
        Some(p) => {
            r.invalid("topic.prefix", "a name of ASCII letters, digits, '.', '_' or '-'", p.as_str());
            None
        }
        None => {
            let old = r.non_empty("database.server.name");
            let hint = match old {
                Some(_) => "the logical server name; database.server.name was renamed topic.prefix in Debezium 2.0",
                None => "the logical server name used in topic names and offsets",
            };
            r.missing("topic.prefix", hint);
            None
        }
    }
}

fn server_id(r: &mut ConfigReader<'_>) -> Option<u32> {
    match r.non_empty("database.server.id") {
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                r.invalid(
                    "database.server.id",
                    "an integer in [1, 4294967295], unique among the server's replicas",
                    v.as_str(),
                );
                None
            }
        },
        None => {
            r.missing("database.server.id", "a replica id unique among the server's replicas, e.g. 184054");
            None
        }
    }
}

/// The include/exclude lists (one of each pair, as Debezium) and `message.key.columns`.
fn filters(r: &mut ConfigReader<'_>) -> Filters {
    let filters = Filters {
        database_include: regex_list(r, "database.include.list"),
        database_exclude: regex_list(r, "database.exclude.list"),
        table_include: regex_list(r, "table.include.list"),
        table_exclude: regex_list(r, "table.exclude.list"),
        column_include: regex_list(r, "column.include.list"),
        column_exclude: regex_list(r, "column.exclude.list"),
        key_columns: key_columns(r),
    };
    for (a, b) in [
        ("database.include.list", "database.exclude.list"),
        ("table.include.list", "table.exclude.list"),
        ("column.include.list", "column.exclude.list"),
    ] {
        if r.raw().get(a).is_some_and(|v| !v.trim().is_empty()) && r.raw().get(b).is_some_and(|v| !v.trim().is_empty())
        {
            r.invalid(
                b,
                format!("unset when {a} is set (Debezium allows one of the two)"),
                r.raw().get(b).unwrap_or_default(),
            );
        }
    }
    filters
}

/// `snapshot.mode` and whether `snapshot.locking.mode` takes the global read lock.
fn snapshot_settings(r: &mut ConfigReader<'_>) -> (SnapshotMode, bool) {
    let snapshot_mode = match r.string_or("snapshot.mode", "initial").trim() {
        "initial" => SnapshotMode::Initial,
        "initial_only" => SnapshotMode::InitialOnly,
        "no_data" | "schema_only" => SnapshotMode::NoData,
        "when_needed" => SnapshotMode::WhenNeeded,
        "always" => SnapshotMode::Always,
        "never" => SnapshotMode::Never,
        other @ ("recovery" | "schema_only_recovery") => {
            r.invalid("snapshot.mode", "initial, initial_only, no_data, when_needed, always or never (sluice keeps no schema history topic to recover: use no_data to start from now)", other);
            SnapshotMode::Initial
        }
        other => {
            r.invalid("snapshot.mode", "initial, initial_only, no_data, when_needed, always or never", other);
            SnapshotMode::Initial
        }
    };
    let locking = r.string_or("snapshot.locking.mode", "minimal");
    let snapshot_lock = match locking.trim() {
        "minimal" | "extended" | "minimal_percona" | "minimal_at_least_once" => true,
        "none" | "minimal_percona_no_table_locks" => false,
        other => {
            r.invalid(
                "snapshot.locking.mode",
                "minimal, extended, minimal_percona, none (custom lockers are Java classes)",
                other,
            );
            true
        }
    };
    (snapshot_mode, snapshot_lock)
}

fn time_mode(r: &mut ConfigReader<'_>) -> TimeMode {
    match r.string_or("time.precision.mode", "adaptive_time_microseconds").trim() {
        "adaptive_time_microseconds" => TimeMode::AdaptiveMicroseconds,
        "connect" => TimeMode::Connect,
        other => {
            r.invalid(
                "time.precision.mode",
                "adaptive_time_microseconds or connect (sluice does not implement the others yet)",
                other,
            );
            TimeMode::AdaptiveMicroseconds
        }
    }
}

/// `skipped.operations` as (creates, updates, deletes, truncates).
fn skipped_operations(r: &mut ConfigReader<'_>) -> (bool, bool, bool, bool) {
    let skipped = r.string_or("skipped.operations", "t");
    let mut skip = (false, false, false, false);
    for op in skipped.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match op {
            "c" => skip.0 = true,
            "u" => skip.1 = true,
            "d" => skip.2 = true,
            "t" => skip.3 = true,
            "none" => {}
            other => r.invalid("skipped.operations", "a list of c, u, d, t, or none", other),
        }
    }
    skip
}

/// Keys whose other values sluice does not implement are refused; Java-only ones accepted.
fn refuse_unimplemented(r: &mut ConfigReader<'_>) {
    // keys whose other values change the records in ways sluice does not implement
    for (key, default, why) in [
        ("include.query", "false", "the query text needs ANNOTATE_ROWS events, which the binlog client cannot request"),
        ("provide.transaction.metadata", "false", "transaction metadata events are not implemented yet"),
        ("skip.messages.without.change", "false", "not implemented yet"),
    ] {
        if let Some(v) = r.non_empty(key) {
            if v.trim() != default {
                r.invalid(key, format!("{default} ({why})"), v.as_str());
            }
        }
    }
    for key in ["column.mask.hash", "column.truncate.to", "converters"] {
        if let Some(v) = r.non_empty(key) {
            r.invalid(key, "unset (not implemented by sluice yet)", v.as_str());
        }
    }
    // the schema history topic is not needed: every TABLE_MAP carries the columns, and the
    // structures used are kept in a file next to the offsets (history.rs)
    let history = r.prefixed("schema.history.internal.");
    if !history.is_empty() {
        tracing::info!("schema.history.internal.* is not used: sluice reads the table structure from each binlog TABLE_MAP event and the catalogue, and keeps its schema history next to the offset file");
    }
    r.accept(&[
        "connect.keep.alive",
        "connect.keep.alive.interval.ms",
        "enable.time.adjuster",
        "database.server.name",
        "snapshot.fetch.size",
        "event.processing.failure.handling.mode",
        "inconsistent.schema.handling.mode",
        "database.connectionTimeZone",
        "schema.name.adjustment.mode",
        "field.name.adjustment.mode",
        "signal.data.collection",
        "topic.creation.enable",
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<BinlogConfig, Vec<String>> {
        runtime::testkit::parse_config("cdc.properties", pairs, |r| BinlogConfig::parse(r, Flavor::MariaDb))
    }

    const BASE: &[(&str, &str)] = &[
        ("database.hostname", "127.0.0.1"),
        ("database.user", "cdc"),
        ("database.password", "secret"),
        ("database.server.id", "184054"),
        ("topic.prefix", "dbserver1"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Result<BinlogConfig, Vec<String>> {
        let mut pairs = BASE.to_vec();
        pairs.extend_from_slice(extra);
        parse(&pairs)
    }

    #[test]
    fn debezium_defaults() {
        let c = with(&[("table.include.list", "inventory\\.orders,inventory\\.cust.*")]).unwrap();
        assert_eq!((c.port, c.server_id, c.snapshot_mode), (3306, 184054, SnapshotMode::Initial));
        assert!(c.include_schema_changes && c.tombstones_on_delete && !c.unsigned_precise);
        assert_eq!((c.max_batch_size, c.max_queue_size), (2048, 8192));
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat.dbserver1");
        assert!(c.filters.table("inventory", "orders") && c.filters.table("inventory", "customers"));
        assert!(!c.filters.table("inventory", "orders_old") && !c.filters.table("mysql", "user"));
        assert!(!c.snapshot_lock, "MariaDB never locks");
    }

    #[test]
    fn message_key_columns() {
        let c = with(&[("message.key.columns", "inventory.orders:a, b ; inv.*\\.log.*:id")]).unwrap();
        assert_eq!(c.filters.key_columns("inventory", "orders"), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(c.filters.key_columns("inventory", "logbook"), Some(&["id".to_owned()][..]));
        assert_eq!(c.filters.key_columns("inventory", "orders2"), None, "anchored");
        let errors = with(&[("message.key.columns", "inventory.orders;x.y:")]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("message.key.columns: expected <db>.<table>:<column>"), "{errors:#?}");
    }

    #[test]
    fn every_problem_at_once() {
        let errors = parse(&[
            ("database.hostname", "h"),
            ("database.server.id", "0"),
            ("snapshot.mode", "recovery"),
            ("table.include.list", "a.(b"),
            ("include.query", "true"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("topic.prefix: missing required key")));
        assert!(errors.iter().any(|e| e.contains("database.user: missing required key")));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("cdc.properties:2: database.server.id: expected an integer in [1, 4294967295]")));
        assert!(errors.iter().any(|e| e.contains("snapshot.mode: expected initial, initial_only")));
        assert!(errors.iter().any(|e| e.contains("table.include.list: expected a regular expression")));
        assert!(errors.iter().any(|e| e.contains("include.query: expected false (the query text needs ANNOTATE_ROWS")));
    }

    #[test]
    fn old_server_name_gets_a_hint_and_modes_parse() {
        let errors = parse(&[
            ("database.server.name", "x"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.server.id", "1"),
        ])
        .unwrap_err();
        assert!(errors[0].contains("renamed topic.prefix"), "{errors:?}");
        let c = with(&[
            ("snapshot.mode", "schema_only"),
            ("decimal.handling.mode", "string"),
            ("bigint.unsigned.handling.mode", "precise"),
            ("binary.handling.mode", "hex"),
            ("skipped.operations", "t,d"),
        ])
        .unwrap();
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        assert_eq!((c.decimal_mode, c.binary_mode), (DecimalMode::String, BinaryMode::Hex));
        assert!(c.unsigned_precise && c.skip_deletes && !c.skip_creates && c.skip_truncates);
        assert!(with(&[]).unwrap().skip_truncates, "Debezium skips truncates by default");
        let none = with(&[("skipped.operations", "none")]).unwrap();
        assert!(!none.skip_truncates && !none.skip_deletes);
    }
}
