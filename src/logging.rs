//! Log output: tracing's compact lines by default, or Kafka Connect's log4j line shape
//! (`--log-format connect`) for teams whose log pipelines parse it:
//!
//! ```text
//! [2026-12-04 17:39:34,123] INFO [orders-jdbc|task-0] task started (runtime::worker::source:107)
//! ```
//!
//! That is `connect-log4j.properties`' `[%d] %p %X{connector.context}%m (%c:%L)%n`, with the
//! time in UTC, the event's other fields after the message as `key=value`, and the Rust module
//! where Java has the class. Colour codes only for a terminal, never with `NO_COLOR`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use clap::ValueEnum;
use runtime::log_levels::{invalid_level, tracing_level, LogLevels, LoggerLevel};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// tracing's compact lines: time, level, the task's span fields, message and fields.
    #[default]
    Plain,
    /// Kafka Connect's: `[time] LEVEL [connector|task-N] message (module:line)`.
    Connect,
}

/// Installs the global subscriber: `SLUICE_LOG` filters (default `info`), stderr; its levels
/// can be changed at run time over REST (`/admin/loggers`).
pub fn init(format: LogFormat) {
    let spec =
        std::env::var("SLUICE_LOG").ok().filter(|s| EnvFilter::try_new(s).is_ok()).unwrap_or_else(|| "info".into());
    let levels = Levels::parse(&spec);
    let (filter, handle) = reload::Layer::new(EnvFilter::new(levels.directives()));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Plain => registry
            .with(tracing_subscriber::fmt::layer().with_target(false).with_ansi(colour).with_writer(std::io::stderr))
            .init(),
        LogFormat::Connect => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .event_format(ConnectFormat)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
    runtime::log_levels::install(Arc::new(LogControl { levels: Mutex::new(levels), handle }));
}

/// The levels in force: the default (`root`) and each target's, with when REST set it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Levels {
    root: String,
    targets: BTreeMap<String, LoggerLevel>,
}

impl Levels {
    /// `SLUICE_LOG`'s directives: `level` and `target=level`, comma-separated.
    fn parse(spec: &str) -> Levels {
        let mut levels = Levels { root: "INFO".into(), targets: BTreeMap::new() };
        for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            match directive.split_once('=') {
                Some((target, level)) => {
                    let level = LoggerLevel { level: level.to_ascii_uppercase(), last_modified: None };
                    levels.targets.insert(target.to_owned(), level);
                }
                None => levels.root = directive.to_ascii_uppercase(),
            }
        }
        levels
    }

    fn directives(&self) -> String {
        let mut out = vec![self.root.to_ascii_lowercase()];
        out.extend(self.targets.iter().map(|(t, l)| format!("{t}={}", l.level.to_ascii_lowercase())));
        out.join(",")
    }
}

struct LogControl {
    levels: Mutex<Levels>,
    handle: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
}

impl LogLevels for LogControl {
    fn all(&self) -> BTreeMap<String, LoggerLevel> {
        let levels = self.levels.lock().unwrap();
        let mut all = levels.targets.clone();
        all.insert("root".into(), LoggerLevel { level: levels.root.clone(), last_modified: None });
        all
    }

    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String> {
        let Some(level) = tracing_level(level) else { return Err(invalid_level(level)) };
        let mut levels = self.levels.lock().unwrap();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut changed = vec![logger.to_owned()];
        if logger == "root" {
            levels.root = level.into();
            // Kafka's root sets every logger below it too
            changed.extend(levels.targets.keys().cloned());
            levels.targets.clear();
        } else {
            levels.targets.insert(logger.to_owned(), LoggerLevel { level: level.into(), last_modified: Some(now) });
        }
        let filter = EnvFilter::try_new(levels.directives()).map_err(|e| e.to_string())?;
        self.handle.reload(filter).map_err(|e| e.to_string())?;
        Ok(changed)
    }
}

/// Kafka Connect's line shape.
struct ConnectFormat;

impl<S, N> FormatEvent<S, N> for ConnectFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let meta = event.metadata();
        write!(writer, "[{}] {} ", log4j_time(now.as_millis() as i64), log4j_level(meta.level()))?;
        // the task's span carries connector and task; librdkafka's lines carry them as fields
        let span_fields = ctx.event_scope().and_then(|scope| {
            scope
                .from_root()
                .find(|s| s.name() == "task")
                .and_then(|s| s.extensions().get::<FormattedFields<N>>().map(|f| f.fields.clone()))
        });
        let mut fields = String::new();
        ctx.format_fields(Writer::new(&mut fields), event)?;
        let context = span_fields.as_deref().and_then(connector_context).or_else(|| event_context(&fields));
        if let Some(context) = context {
            write!(writer, "{context} ")?;
        }
        writer.write_str(&fields)?;
        writeln!(writer, " ({}:{})", meta.module_path().unwrap_or(meta.target()), meta.line().unwrap_or(0))
    }
}

/// `connector=orders task=0` (a span's formatted fields) → `[orders|task-0]`.
fn connector_context(fields: &str) -> Option<String> {
    let value = |key: &str| {
        fields.split(' ').find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('='))).map(str::to_owned)
    };
    let connector = value("connector")?;
    Some(match value("task") {
        Some(task) => format!("[{connector}|task-{task}]"),
        None => format!("[{connector}|worker]"),
    })
}

/// The context from an event's own fields (`… connector=orders task=0 …`), as librdkafka's
/// lines and the connector-level lines carry it.
fn event_context(fields: &str) -> Option<String> {
    let pairs: String = fields
        .split(' ')
        .filter(|kv| kv.starts_with("connector=") || kv.starts_with("task="))
        .collect::<Vec<_>>()
        .join(" ");
    connector_context(&pairs)
}

fn log4j_level(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "ERROR",
        tracing::Level::WARN => "WARN",
        tracing::Level::INFO => "INFO",
        tracing::Level::DEBUG => "DEBUG",
        tracing::Level::TRACE => "TRACE",
    }
}

/// log4j's `%d`: `2026-12-04 17:39:34,123` (UTC here).
fn log4j_time(ms: i64) -> String {
    let iso = runtime::convert::time::iso_timestamp(ms); // 2026-12-04T17:39:34.123Z
    iso.trim_end_matches('Z').replacen('T', " ", 1).replacen('.', ",", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_sluice_log_and_write_filter_directives() {
        let levels = Levels::parse("info, connector_jdbc=debug");
        assert_eq!(levels.root, "INFO");
        assert_eq!(levels.targets["connector_jdbc"].level, "DEBUG");
        assert_eq!(levels.targets["connector_jdbc"].last_modified, None);
        assert_eq!(levels.directives(), "info,connector_jdbc=debug");
        assert_eq!(tracing_level("fatal"), Some("ERROR"));
        assert_eq!(tracing_level("Warn"), Some("WARN"));
        assert_eq!(tracing_level("verbose"), None);
    }

    #[test]
    fn kafka_connect_pieces() {
        assert_eq!(log4j_time(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(connector_context("connector=orders task=0").as_deref(), Some("[orders|task-0]"));
        assert_eq!(connector_context("connector=orders").as_deref(), Some("[orders|worker]"));
        assert_eq!(connector_context("table=t"), None);
        assert_eq!(event_context("connector running connector=o class=X tasks=1").as_deref(), Some("[o|worker]"));
        assert_eq!(event_context("librdkafka: down connector=o task=2 facility=FAIL").as_deref(), Some("[o|task-2]"));
    }
}
