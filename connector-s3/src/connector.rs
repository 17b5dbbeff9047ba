//! `io.confluent.connect.s3.S3SinkConnector`: `tasks.max` identical tasks; the consumer group
//! spreads the topic partitions over them.

use runtime::config::{ConfigErrors, ConfigReader, RawConfig};
use runtime::{ConnectorInfo, KeyDoc, SinkConnector, TaskConfig};

use crate::config::{S3SinkConfig, KEYS};
use crate::task::S3SinkTask;

pub struct S3SinkConnector {
    task_config: TaskConfig,
}

impl ConnectorInfo for S3SinkConnector {
    const CLASS: &'static str = "io.confluent.connect.s3.S3SinkConnector";
    const KEYS: &'static [KeyDoc] = KEYS;
}

impl SinkConnector for S3SinkConnector {
    type Task = S3SinkTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        S3SinkConfig::parse(reader)?;
        Some(S3SinkConnector { task_config: reader.raw().to_map() })
    }

    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        vec![self.task_config.clone(); max_tasks.max(1)]
    }

    fn create_task(&self, config: &TaskConfig) -> Result<S3SinkTask, ConfigErrors> {
        let raw = RawConfig::from_map("task config", config);
        let mut reader = ConfigReader::new(&raw);
        let parsed = S3SinkConfig::parse(&mut reader);
        let (errors, _) = reader.finish();
        parsed.filter(|_| errors.is_empty()).map(S3SinkTask::new).ok_or(ConfigErrors(errors))
    }
}
