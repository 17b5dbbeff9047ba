//! `JdbcSourceConnector`: lists the tables at start, splits them over the tasks as Kafka's
//! `groupPartitions`, and re-reads the list every `table.poll.interval.ms`, asking the worker for
//! new task configs when tables appear or go (Confluent's `TableMonitorThread`).

use std::sync::{Arc, Mutex};

use runtime::config::{ConfigErrors, ConfigReader, RawConfig};
use runtime::{ConnectorContext, ConnectorInfo, KeyDoc, SourceConnector, TaskConfig, TaskError};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::{JdbcSourceConfig, ModeKind, KEYS};
use crate::connection::Pool;
use crate::dialect::TableId;
use crate::error::JdbcError;
use crate::tables;
use crate::task::JdbcSourceTask;

/// `io.confluent.connect.jdbc.JdbcSourceConnector`.
pub struct JdbcSourceConnector {
    config: Arc<JdbcSourceConfig>,
    task_config: TaskConfig,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<JoinHandle<()>>,
}

impl ConnectorInfo for JdbcSourceConnector {
    const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSourceConnector";
    const KEYS: &'static [KeyDoc] = KEYS;
}

fn parse_task(config: &TaskConfig) -> Result<JdbcSourceConfig, ConfigErrors> {
    let raw = RawConfig::from_map("task config", config);
    let mut reader = ConfigReader::new(&raw);
    let parsed = JdbcSourceConfig::parse(&mut reader);
    let (errors, _) = reader.finish();
    parsed.filter(|_| errors.is_empty()).ok_or(ConfigErrors(errors))
}

/// The tables the connector reads now: listed, then filtered (duplicate bare names fail).
async fn current_tables(pool: &Pool, c: &JdbcSourceConfig) -> Result<Vec<TableId>, JdbcError> {
    let all = tables::discover(pool, c).await.map_err(|source| JdbcError::Discovery { source })?;
    Ok(tables::select(&all, &c.tables, c.connection.dialect)?)
}

impl Drop for JdbcSourceConnector {
    fn drop(&mut self) {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
    }
}

impl SourceConnector for JdbcSourceConnector {
    type Task = JdbcSourceTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        let config = JdbcSourceConfig::parse(reader)?;
        Some(JdbcSourceConnector {
            config: Arc::new(config),
            task_config: reader.raw().to_map(),
            tables: Arc::default(),
            monitor: None,
        })
    }

    async fn start(&mut self, ctx: ConnectorContext) -> Result<(), TaskError> {
        let c = self.config.clone();
        if matches!(c.mode, ModeKind::Timestamp | ModeKind::TimestampIncrementing) && c.timestamp_delay.is_zero() {
            warn!("timestamp.delay.interval.ms=0 in a timestamp mode: a row whose transaction commits after a later row's is never read (the offset has passed it). Set it above your longest write transaction, e.g. 5000");
        }
        if c.query.is_some() {
            return Ok(());
        }
        let pool = Pool::open(&c.connection, 1, c.attempts, c.backoff).await?;
        let found = current_tables(&pool, &c).await?;
        if found.is_empty() {
            warn!("no table matches: the task idles until one appears (table.whitelist / table.include.list, catalog.pattern, schema.pattern, table.types)");
        }
        info!(tables = %found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "), "tables");
        *self.tables.lock().unwrap() = found;
        let shared = self.tables.clone();
        self.monitor = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(c.table_poll_interval).await;
                match current_tables(&pool, &c).await {
                    Ok(now) => {
                        let changed = *shared.lock().unwrap() != now;
                        if changed {
                            info!(tables = %now.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "), "the table list changed: reconfiguring the tasks");
                            *shared.lock().unwrap() = now;
                            ctx.request_task_reconfiguration();
                        }
                    }
                    Err(e) => warn!(error = %e, "cannot re-read the table list; keeping the current one"),
                }
            }
        }));
        Ok(())
    }

    /// Ends the table monitor.
    async fn stop(&mut self) {
        if let Some(monitor) = self.monitor.take() {
            monitor.abort();
        }
    }

    /// Query mode: one task. Tables: `group_partitions` over min(tables, `tasks.max`) tasks.
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        if self.config.query.is_some() {
            if max_tasks > 1 {
                info!("query mode runs one task, whatever tasks.max says");
            }
            return vec![self.task_config.clone()];
        }
        let found = self.tables.lock().unwrap().clone();
        tables::task_configs(&self.task_config, &found, max_tasks, self.config.connection.dialect)
    }

    fn create_task(&self, config: &TaskConfig) -> Result<JdbcSourceTask, ConfigErrors> {
        let parsed = parse_task(config)?;
        let tables = config.get("tables").map_or_else(Vec::new, |t| tables::parse_list(t, parsed.connection.dialect));
        let task_id = config.get("task.id").and_then(|t| t.parse().ok()).unwrap_or(0);
        let tolerate = config.get("errors.tolerance").is_some_and(|t| t.trim() == "all");
        Ok(JdbcSourceTask::new(Arc::new(parsed), tables, task_id, tolerate))
    }
}
