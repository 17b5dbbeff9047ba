//! Keys of `io.confluent.connect.jdbc.JdbcSourceConnector` (jdbc-source.md §1) with the
//! reference's defaults, parsed into types; cross-field rules become [`Mode`] and [`TableFilter`].

use std::time::Duration;

use runtime::config::{ConfigReader, Password};
use runtime::KeyDoc;

use crate::dialect::Dialect;

pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "connection.url",
        default: None,
        doc: "jdbc:mysql://, jdbc:mariadb://, jdbc:postgresql:// (or mysql://, postgres://) URL",
    },
    KeyDoc { name: "connection.user", default: None, doc: "user (overrides the URL's)" },
    KeyDoc { name: "connection.password", default: None, doc: "password (overrides the URL's; never logged)" },
    KeyDoc { name: "connection.attempts", default: Some("3"), doc: "connection attempts" },
    KeyDoc { name: "connection.backoff.ms", default: Some("10000"), doc: "wait between connection attempts" },
    KeyDoc { name: "mode", default: None, doc: "bulk, incrementing, timestamp or timestamp+incrementing" },
    KeyDoc {
        name: "incrementing.column.name",
        default: Some(""),
        doc: "strictly increasing column (empty: the auto-increment column)",
    },
    KeyDoc { name: "timestamp.column.name", default: Some(""), doc: "timestamp column(s); several are COALESCEd" },
    KeyDoc { name: "timestamp.initial", default: None, doc: "epoch ms to start from without an offset; -1 = now" },
    KeyDoc {
        name: "timestamp.delay.interval.ms",
        default: Some("0"),
        doc: "wait this long after a row's timestamp before reading it",
    },
    KeyDoc {
        name: "validate.non.null",
        default: Some("true"),
        doc: "fail when the id or timestamp column is nullable",
    },
    KeyDoc { name: "query", default: Some(""), doc: "a custom query instead of tables (one task)" },
    KeyDoc { name: "query.suffix", default: Some(""), doc: "appended after the criteria, e.g. LIMIT 1000" },
    KeyDoc { name: "poll.interval.ms", default: Some("5000"), doc: "per table: from the end of one query to the next" },
    KeyDoc { name: "batch.max.rows", default: Some("100"), doc: "most records one poll returns" },
    KeyDoc { name: "table.poll.interval.ms", default: Some("60000"), doc: "how often the table list is read again" },
    KeyDoc { name: "table.whitelist", default: Some(""), doc: "tables to read (exclusive with table.blacklist)" },
    KeyDoc { name: "table.blacklist", default: Some(""), doc: "tables not to read" },
    KeyDoc { name: "table.include.list", default: Some(""), doc: "regexes of tables to read (full match)" },
    KeyDoc { name: "table.exclude.list", default: Some(""), doc: "regexes of tables not to read (full match)" },
    KeyDoc { name: "table.types", default: Some("TABLE"), doc: "table types, e.g. TABLE,VIEW" },
    KeyDoc { name: "catalog.pattern", default: None, doc: "MySQL database to list tables from" },
    KeyDoc { name: "schema.pattern", default: None, doc: "PostgreSQL schema to list tables from" },
    KeyDoc { name: "topic.prefix", default: Some(""), doc: "topic = prefix + table (query mode: the topic)" },
    KeyDoc {
        name: "numeric.mapping",
        default: Some("none"),
        doc: "none, best_fit, best_fit_eager_double, precision_only",
    },
    KeyDoc { name: "db.timezone", default: Some("UTC"), doc: "zone of zone-less time values" },
    KeyDoc { name: "quote.sql.identifiers", default: Some("always"), doc: "always or never" },
    KeyDoc { name: "query.masked", default: Some("false"), doc: "hide the query in logs" },
    KeyDoc {
        name: "timestamp.granularity",
        default: Some("connect_logical"),
        doc: "TIMESTAMP columns as connect_logical, micros_long, nanos_long, micros_string or nanos_string",
    },
    KeyDoc {
        name: "dialect.name",
        default: Some(""),
        doc: "MySqlDatabaseDialect or PostgreSqlDatabaseDialect (checked)",
    },
    KeyDoc {
        name: "numeric.precision.mapping",
        default: Some("false"),
        doc: "deprecated: true is numeric.mapping=precision_only",
    },
    KeyDoc {
        name: "query.retry.attempts",
        default: Some("-1"),
        doc: "retries of a query failing with a transient error (-1: forever)",
    },
    KeyDoc {
        name: "unsigned.bigint.mapping",
        default: Some("int64"),
        doc: "sluice: BIGINT UNSIGNED as int64 (a value above 2^63-1 is a bad record), decimal or string",
    },
];

/// `timestamp.granularity`: how TIMESTAMP columns are emitted (jdbc-source.md §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// The Timestamp logical type, milliseconds.
    ConnectLogical,
    MicrosLong,
    NanosLong,
    MicrosString,
    NanosString,
}

/// The mode with its columns resolved (the incrementing column may be discovered at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing { column: String },
    Timestamp { columns: Vec<String> },
    TimestampIncrementing { timestamp: Vec<String>, incrementing: String },
}

/// `mode` as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeKind {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

/// Which tables: the legacy exact lists or the newer regex lists (mutually exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFilter {
    All,
    Whitelist(Vec<String>),
    Blacklist(Vec<String>),
    Regex { include: Vec<String>, exclude: Vec<String> },
}

/// Where to connect, from `connection.url` (JDBC or sqlx form) and `connection.user/password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<Password>,
    /// URL parameters other than the credentials (`useSSL`, `sslmode`, …).
    pub params: Vec<(String, String)>,
    /// TLS as the URL's driver reads its parameters.
    pub tls: runtime::tls::db::DbTls,
}

#[derive(Debug, Clone)]
pub struct JdbcSourceConfig {
    pub connection: Connection,
    pub attempts: u32,
    pub backoff: Duration,
    pub mode: ModeKind,
    pub incrementing_column: Option<String>,
    pub timestamp_columns: Vec<String>,
    pub timestamp_initial: Option<i64>,
    pub timestamp_delay: Duration,
    pub validate_non_null: bool,
    pub query: Option<String>,
    pub query_suffix: Option<String>,
    pub poll_interval: Duration,
    pub batch_max_rows: usize,
    pub table_poll_interval: Duration,
    pub tables: TableFilter,
    pub table_types: Vec<String>,
    pub catalog_pattern: Option<String>,
    pub schema_pattern: Option<String>,
    pub topic_prefix: String,
    pub numeric_mapping: &'static str,
    pub db_timezone: chrono_tz::Tz,
    pub query_retry_attempts: i64,
    pub quote_identifiers: bool,
    pub query_masked: bool,
    pub timestamp_granularity: Granularity,
    pub unsigned_mapping: crate::row::UnsignedMapping,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `jdbc:mysql://h:3306/db?user=u&password=p`, `jdbc:mariadb://…`,
/// `jdbc:postgresql://…`, or `mysql://u:p@h/db` / `postgres://…`.
pub fn parse_url(url: &str) -> Result<Connection, String> {
    let rest = url.strip_prefix("jdbc:").unwrap_or(url);
    let (scheme, rest) = rest.split_once("://").ok_or("expected <scheme>://host[:port]/database")?;
    let (dialect, default_port, driver) = match scheme {
        "mysql" => (Dialect::MySql, 3306, crate::tls::Driver::MySql),
        "mariadb" => (Dialect::MySql, 3306, crate::tls::Driver::MariaDb),
        "postgresql" | "postgres" => (Dialect::Postgres, 5432, crate::tls::Driver::Postgres),
        other => return Err(format!("unsupported database {other:?} (mysql, mariadb or postgresql)")),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = match rest.split_once('/') {
        Some((a, d)) => (a, (!d.is_empty()).then(|| percent_decode(d))),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (mut user, mut password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((u, p)) => (Some(percent_decode(u)), Some(Password::new(percent_decode(p)))),
            None => (Some(percent_decode(u)), None),
        },
        None => (None, None),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h.to_owned(), p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?)
        }
        _ => (hostport.to_owned(), default_port),
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "user" => user = Some(percent_decode(v)),
            "password" => password = Some(Password::new(percent_decode(v))).filter(|p| !p.expose().is_empty()),
            _ => params.push((k.to_owned(), percent_decode(v))),
        }
    }
    let tls = crate::tls::from_url(driver, &params)?;
    Ok(Connection { dialect, host, port, database, user, password, params, tls })
}

/// `connection.url` with `connection.user` / `connection.password` over it.
fn parse_connection(r: &mut ConfigReader<'_>) -> Option<Connection> {
    let url = r.required("connection.url", "a jdbc:mysql://, jdbc:mariadb:// or jdbc:postgresql:// URL");
    let mut connection = url.and_then(|u| match parse_url(&u) {
        Ok(c) => Some(c),
        Err(e) => {
            r.invalid("connection.url", format!("a JDBC URL ({e})"), u.as_str());
            None
        }
    });
    if let (Some(c), Some(user)) = (connection.as_mut(), r.non_empty("connection.user")) {
        c.user = Some(user);
    }
    // an empty password is none, as Connector/J and pgJDBC treat it (no password is sent)
    if let (Some(c), Some(pw)) = (connection.as_mut(), r.password("connection.password")) {
        c.password = Some(pw).filter(|p| !p.expose().is_empty());
    }
    connection
}

fn parse_mode(r: &mut ConfigReader<'_>) -> Option<ModeKind> {
    match r.string("mode").as_deref().map(str::trim) {
        Some("bulk") => Some(ModeKind::Bulk),
        Some("incrementing") => Some(ModeKind::Incrementing),
        Some("timestamp") => Some(ModeKind::Timestamp),
        Some("timestamp+incrementing") => Some(ModeKind::TimestampIncrementing),
        Some(other) => {
            r.invalid("mode", "one of bulk, incrementing, timestamp, timestamp+incrementing", other);
            None
        }
        None => {
            r.missing("mode", "bulk, incrementing, timestamp or timestamp+incrementing");
            None
        }
    }
}

/// `table.whitelist`/`blacklist` or `table.include.list`/`exclude.list`, never both kinds.
fn parse_tables(r: &mut ConfigReader<'_>) -> TableFilter {
    let whitelist = r.list("table.whitelist");
    let blacklist = r.list("table.blacklist");
    let include = r.list("table.include.list");
    let exclude = r.list("table.exclude.list");
    match (whitelist.is_empty(), blacklist.is_empty(), include.is_empty() && exclude.is_empty()) {
        (false, false, _) => {
            r.invalid("table.blacklist", "only one of table.whitelist and table.blacklist", blacklist.join(","));
            TableFilter::All
        }
        (false, true, false) | (true, false, false) => {
            r.invalid(
                "table.include.list",
                "no table.include.list/exclude.list with table.whitelist/blacklist",
                include.join(","),
            );
            TableFilter::All
        }
        (false, true, true) => TableFilter::Whitelist(whitelist),
        (true, false, true) => TableFilter::Blacklist(blacklist),
        (true, true, false) => TableFilter::Regex { include, exclude },
        (true, true, true) => TableFilter::All,
    }
}

/// `numeric.mapping`, or the deprecated `numeric.precision.mapping=true` as `precision_only`.
fn parse_numeric_mapping(r: &mut ConfigReader<'_>) -> &'static str {
    let precision_mapping = r.bool("numeric.precision.mapping", false);
    if r.raw().entries.contains_key("numeric.mapping") || !precision_mapping {
        r.one_of("numeric.mapping", "none", &["none", "best_fit", "best_fit_eager_double", "precision_only"])
    } else {
        // the deprecated key's `true` is precision_only
        "precision_only"
    }
}

fn parse_granularity(r: &mut ConfigReader<'_>) -> Granularity {
    match r.one_of(
        "timestamp.granularity",
        "connect_logical",
        &["connect_logical", "micros_long", "nanos_long", "micros_string", "nanos_string"],
    ) {
        "micros_long" => Granularity::MicrosLong,
        "nanos_long" => Granularity::NanosLong,
        "micros_string" => Granularity::MicrosString,
        "nanos_string" => Granularity::NanosString,
        _ => Granularity::ConnectLogical,
    }
}

/// `dialect.name` must agree with the URL; keys whose non-default values sluice does not
/// implement are refused, never ignored; Confluent's keys sluice needs not are accepted.
fn check_dialect_and_refused_keys(r: &mut ConfigReader<'_>, url_dialect: Option<Dialect>) {
    let dialect = r.string_or("dialect.name", "");
    match (dialect.trim(), url_dialect) {
        ("", _)
        | ("MySqlDatabaseDialect", Some(Dialect::MySql))
        | ("PostgreSqlDatabaseDialect", Some(Dialect::Postgres)) => {}
        (other, _) => r.invalid(
            "dialect.name",
            "empty, or the dialect of connection.url (MySqlDatabaseDialect, PostgreSqlDatabaseDialect)",
            other,
        ),
    }
    // keys whose non-default values sluice does not implement: refused, never ignored
    for (key, default) in [("transaction.isolation.mode", "DEFAULT")] {
        if let Some(v) = r.non_empty(key).filter(|v| !v.trim().eq_ignore_ascii_case(default)) {
            r.invalid(key, format!("{default} (other isolation modes are not supported by sluice yet)"), v.as_str());
        }
    }
    for key in ["timestamp.columns.mapping", "incrementing.column.mapping"] {
        if let Some(v) = r.non_empty(key) {
            r.invalid(
                key,
                "unset (per-table column mappings are not supported by sluice yet: use one connector per column layout)",
                v.as_str(),
            );
        }
    }
    // accepted as Confluent's: sluice always buffers (bounded) and reads the table list at start
    r.accept(&[
        "date.calendar.system",
        "table.monitoring.startup.polling.limit.ms",
        "max.buffer.size",
        "poll.linger.ms",
    ]);
}

fn parse_zone(r: &mut ConfigReader<'_>) -> chrono_tz::Tz {
    let zone_name = r.string_or("db.timezone", "UTC");
    match zone_name.trim().parse::<chrono_tz::Tz>() {
        Ok(z) => z,
        Err(_) => {
            r.invalid("db.timezone", "a time zone ID such as UTC or Europe/Paris", zone_name.as_str());
            chrono_tz::Tz::UTC
        }
    }
}

impl JdbcSourceConfig {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<JdbcSourceConfig> {
        let connection = parse_connection(r);
        let mode = parse_mode(r);
        let incrementing_column = r.non_empty("incrementing.column.name");
        let timestamp_columns = r.list("timestamp.column.name");
        if matches!(mode, Some(ModeKind::Timestamp | ModeKind::TimestampIncrementing)) && timestamp_columns.is_empty() {
            r.missing("timestamp.column.name", "the timestamp column(s) of a timestamp mode");
        }
        let timestamp_initial = r.non_empty("timestamp.initial").and_then(|v| match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                r.invalid("timestamp.initial", "epoch milliseconds, or -1 for the database's current time", v.as_str());
                None
            }
        });
        let tables = parse_tables(r);
        let numeric_mapping = parse_numeric_mapping(r);
        let quote_identifiers = r.one_of("quote.sql.identifiers", "always", &["always", "never"]) == "always";
        let query_masked = r.bool("query.masked", false);
        let timestamp_granularity = parse_granularity(r);
        check_dialect_and_refused_keys(r, connection.as_ref().map(|c| c.dialect));
        // every key is read before anything returns, so every problem is reported
        let attempts = r.int_in("connection.attempts", 3, 1, i32::MAX as i64) as u32;
        let backoff = r.millis("connection.backoff.ms", 10_000);
        let timestamp_delay = r.millis("timestamp.delay.interval.ms", 0);
        let validate_non_null = r.bool("validate.non.null", true);
        let query = r.non_empty("query");
        let query_suffix = r.non_empty("query.suffix");
        let poll_interval = r.millis("poll.interval.ms", 5_000);
        let batch_max_rows = r.int_in("batch.max.rows", 100, 1, i32::MAX as i64) as usize;
        let table_poll_interval = r.millis("table.poll.interval.ms", 60_000);
        let table_types = Some(r.list("table.types")).filter(|t| !t.is_empty()).unwrap_or_else(|| vec!["TABLE".into()]);
        let catalog_pattern = r.non_empty("catalog.pattern");
        let schema_pattern = r.non_empty("schema.pattern");
        let topic_prefix = r.string_or("topic.prefix", "");
        if let Some(problem) =
            (!topic_prefix.is_empty()).then(|| runtime::record::topic_name_problem(&topic_prefix)).flatten()
        {
            r.invalid("topic.prefix", format!("the start of legal topic names ({problem})"), topic_prefix.as_str());
        }
        let db_timezone = parse_zone(r);
        let query_retry_attempts = r.int_in("query.retry.attempts", -1, -1, i32::MAX as i64);
        let unsigned_mapping = match r.one_of("unsigned.bigint.mapping", "int64", &["int64", "decimal", "string"]) {
            "decimal" => crate::row::UnsignedMapping::Decimal,
            "string" => crate::row::UnsignedMapping::String,
            _ => crate::row::UnsignedMapping::Int64,
        };
        if r.has_errors() {
            return None;
        }
        let config = JdbcSourceConfig {
            connection: connection?,
            attempts,
            backoff,
            mode: mode?,
            incrementing_column,
            timestamp_columns,
            timestamp_initial,
            timestamp_delay,
            validate_non_null,
            query,
            query_suffix,
            poll_interval,
            batch_max_rows,
            table_poll_interval,
            tables,
            table_types,
            catalog_pattern,
            schema_pattern,
            topic_prefix,
            numeric_mapping,
            db_timezone,
            query_retry_attempts,
            unsigned_mapping,
            quote_identifiers,
            query_masked,
            timestamp_granularity,
        };
        Some(config)
    }

    /// The mode with its columns, once the incrementing column is known (configured, or the
    /// table's auto-increment column).
    pub fn mode(&self, discovered_incrementing: Option<&str>) -> Option<Mode> {
        let inc = self.incrementing_column.as_deref().or(discovered_incrementing).map(str::to_owned);
        Some(match self.mode {
            ModeKind::Bulk => Mode::Bulk,
            ModeKind::Incrementing => Mode::Incrementing { column: inc? },
            ModeKind::Timestamp => Mode::Timestamp { columns: self.timestamp_columns.clone() },
            ModeKind::TimestampIncrementing => {
                Mode::TimestampIncrementing { timestamp: self.timestamp_columns.clone(), incrementing: inc? }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<JdbcSourceConfig, Vec<String>> {
        runtime::testkit::parse_config("jdbc.properties", pairs, JdbcSourceConfig::parse)
    }

    #[test]
    fn jdbc_and_sqlx_urls() {
        let c = parse_url("jdbc:mysql://host:3306/kafka?user=kafka&password=s%3Dcret&useSSL=false").unwrap();
        assert_eq!(
            (c.dialect, c.host.as_str(), c.port, c.database.as_deref()),
            (Dialect::MySql, "host", 3306, Some("kafka"))
        );
        assert_eq!(c.user.as_deref(), Some("kafka"));
        assert_eq!(c.password.as_ref().map(Password::expose), Some("s=cret"));
        assert_eq!(c.params, vec![("useSSL".to_owned(), "false".to_owned())]);
        let pg = parse_url("jdbc:postgresql://db.example/shop").unwrap();
        assert_eq!((pg.dialect, pg.port), (Dialect::Postgres, 5432));
        let sqlx = parse_url("mysql://root:pw@127.0.0.1:3307/test").unwrap();
        assert_eq!((sqlx.user.as_deref(), sqlx.port), (Some("root"), 3307));
        assert!(parse_url("jdbc:oracle:thin:@h:1521:x").is_err());
        assert!(format!("{:?}", sqlx.password).contains("[hidden]"));
    }

    #[test]
    fn an_empty_password_is_no_password() {
        let c = parse(&[
            ("connection.url", "jdbc:mysql://host:3306/kafka?user=kafka"),
            ("connection.password", ""),
            ("table.whitelist", "t"),
            ("mode", "bulk"),
        ])
        .unwrap();
        assert!(c.connection.password.is_none(), "Connector/J sends no password for an empty one");
        assert!(parse_url("jdbc:mysql://h/db?user=u&password=").unwrap().password.is_none());
    }

    #[test]
    fn the_users_confluent_file_parses() {
        let c = parse(&[
            ("connection.url", "jdbc:mysql://host:3306/kafka?user=kafka&password=kafka"),
            ("table.whitelist", "test"),
            ("mode", "timestamp"),
            ("timestamp.column.name", "update_ts"),
            ("topic.prefix", "mysql-"),
            ("validate.non.null", "false"),
        ])
        .unwrap();
        assert_eq!(c.mode(None), Some(Mode::Timestamp { columns: vec!["update_ts".into()] }));
        assert_eq!(c.tables, TableFilter::Whitelist(vec!["test".into()]));
        assert_eq!((c.batch_max_rows, c.poll_interval), (100, Duration::from_secs(5)));
        assert!(!c.validate_non_null);
    }

    #[test]
    fn every_problem_at_once() {
        let errors = parse(&[
            ("connection.url", "jdbc:db2://h/x"),
            ("mode", "timestamp"),
            ("table.whitelist", "a"),
            ("table.blacklist", "b"),
            ("batch.max.rows", "0"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].starts_with("jdbc.properties:1: connection.url: expected a JDBC URL (unsupported database"));
        assert_eq!(errors[1], "jdbc.properties: timestamp.column.name: missing required key (the timestamp column(s) of a timestamp mode)");
        assert!(errors[2].starts_with("jdbc.properties:4: table.blacklist: expected only one of"));
        assert!(errors[3].starts_with("jdbc.properties:5: batch.max.rows: expected an integer in [1,"));
    }

    #[test]
    fn reference_keys_are_applied_or_refused_never_ignored() {
        let base = [("connection.url", "jdbc:postgresql://h/db"), ("mode", "bulk")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            parse(&pairs)
        };
        let c = with(&[
            ("numeric.precision.mapping", "true"),
            ("quote.sql.identifiers", "never"),
            ("timestamp.granularity", "nanos_string"),
            ("query.masked", "true"),
            ("dialect.name", "PostgreSqlDatabaseDialect"),
            ("transaction.isolation.mode", "DEFAULT"),
        ])
        .unwrap();
        assert_eq!(c.numeric_mapping, "precision_only");
        assert!(!c.quote_identifiers && c.query_masked);
        assert_eq!(c.timestamp_granularity, Granularity::NanosString);
        let errors = with(&[
            ("dialect.name", "MySqlDatabaseDialect"),
            ("transaction.isolation.mode", "SERIALIZABLE"),
            ("timestamp.columns.mapping", "orders:updated_at"),
            ("timestamp.granularity", "micros_iso_datetime_string"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("dialect.name: expected empty, or the dialect of connection.url")));
        assert!(errors.iter().any(|e| e.contains("transaction.isolation.mode: expected DEFAULT")));
        assert!(errors.iter().any(|e| e.contains("timestamp.columns.mapping: expected unset")));
    }
}
