//! `io.debezium.connector.mysql.MySqlConnector` and `io.debezium.connector.mariadb.MariaDbConnector`:
//! one task, always (the binlog is one ordered stream).

use std::marker::PhantomData;
use std::sync::Arc;

use runtime::config::{ConfigErrors, ConfigReader, RawConfig};
use runtime::{ConnectorContext, ConnectorInfo, KeyDoc, SourceConnector, TaskConfig, TaskError};
use tracing::info;

use crate::config::{BinlogConfig, Flavor, KEYS};
use crate::task::BinlogSourceTask;

/// Which server family a connector class stands for.
pub trait Server: Send + Sync + 'static {
    const CLASS: &'static str;
    const FLAVOR: Flavor;
}

pub struct MySql;
pub struct MariaDb;

impl Server for MySql {
    const CLASS: &'static str = "io.debezium.connector.mysql.MySqlConnector";
    const FLAVOR: Flavor = Flavor::MySql;
}

impl Server for MariaDb {
    const CLASS: &'static str = "io.debezium.connector.mariadb.MariaDbConnector";
    const FLAVOR: Flavor = Flavor::MariaDb;
}

pub struct BinlogConnector<S: Server> {
    config: Arc<BinlogConfig>,
    task_config: TaskConfig,
    _server: PhantomData<S>,
}

pub type MySqlConnector = BinlogConnector<MySql>;
pub type MariaDbConnector = BinlogConnector<MariaDb>;

impl<S: Server> ConnectorInfo for BinlogConnector<S> {
    const CLASS: &'static str = S::CLASS;
    const KEYS: &'static [KeyDoc] = KEYS;
}

impl<S: Server> SourceConnector for BinlogConnector<S> {
    type Task = BinlogSourceTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        let config = BinlogConfig::parse(reader, S::FLAVOR)?;
        Some(BinlogConnector { config: Arc::new(config), task_config: reader.raw().to_map(), _server: PhantomData })
    }

    /// The server checks that need no offset: reachable, binlog settings, grants. A failure
    /// stops the worker's start-up with the fix.
    async fn start(&mut self, _ctx: ConnectorContext) -> Result<(), TaskError> {
        let c = &self.config;
        let mut conn = crate::task::connect_with_retries(c).await.map_err(TaskError::fatal)?;
        crate::server::check_settings(&mut conn, c).await.map_err(TaskError::fatal)?;
        crate::server::check_privileges(&mut conn, c).await.map_err(TaskError::fatal)?;
        let _ = conn.disconnect().await;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        if max_tasks > 1 {
            info!("a binlog connector runs one task (the binlog is one ordered stream), whatever tasks.max says");
        }
        vec![self.task_config.clone()]
    }

    fn create_task(&self, config: &TaskConfig) -> Result<BinlogSourceTask, ConfigErrors> {
        let raw = RawConfig::from_map("task config", config);
        let mut reader = ConfigReader::new(&raw);
        let parsed = BinlogConfig::parse(&mut reader, S::FLAVOR);
        let (errors, _) = reader.finish();
        let parsed = parsed.filter(|_| errors.is_empty()).ok_or(ConfigErrors(errors))?;
        Ok(BinlogSourceTask::new(Arc::new(parsed)))
    }
}
