//! Log levels changed at run time (KIP-495: `GET/PUT /admin/loggers`). The binary owns the log
//! subscriber and installs its control here once; the herder answers REST from it. A logger is a
//! `tracing` target (a Rust module path such as `connector_jdbc` or `runtime::worker::source`),
//! `root` the default level.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

/// One logger's level as Kafka shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggerLevel {
    pub level: String,
    /// When it was last set over REST (ms since the epoch); `null` for levels from start-up.
    pub last_modified: Option<i64>,
}

/// The log subscriber's levels, as the binary exposes them.
pub trait LogLevels: Send + Sync + 'static {
    /// Every logger with a level of its own, and `root`.
    fn all(&self) -> BTreeMap<String, LoggerLevel>;
    /// Sets `logger`'s level (Kafka's names: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF, in any
    /// case); answers the loggers it changed, or why it cannot.
    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String>;
}

/// Kafka's level names (any case) as `tracing`'s: FATAL is ERROR; `None` for a name Kafka
/// does not know.
pub fn tracing_level(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_uppercase().as_str() {
        "TRACE" => "TRACE",
        "DEBUG" => "DEBUG",
        "INFO" => "INFO",
        "WARN" => "WARN",
        "ERROR" | "FATAL" => "ERROR",
        "OFF" => "OFF",
        _ => return None,
    })
}

/// Kafka's answer to an unknown level name (404).
pub fn invalid_level(level: &str) -> String {
    format!("invalid log level '{level}'.")
}

static LEVELS: OnceLock<Arc<dyn LogLevels>> = OnceLock::new();

/// Installs the process's log control (the first call wins).
pub fn install(levels: Arc<dyn LogLevels>) {
    let _ = LEVELS.set(levels);
}

/// The installed log control, if any.
pub fn installed() -> Option<Arc<dyn LogLevels>> {
    LEVELS.get().cloned()
}
