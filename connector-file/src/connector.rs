//! The two connectors: one source task (one input stream), `tasks.max` identical sink tasks.

use runtime::config::{ConfigErrors, ConfigReader, RawConfig};
use runtime::{ConnectorInfo, KeyDoc, SinkConnector, SourceConnector, TaskConfig};
use tracing::warn;

use crate::config::{SinkConfig, SourceConfig, SINK_KEYS, SOURCE_KEYS};
use crate::task::{FileSinkTask, FileSourceTask};

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`.
pub struct FileStreamSourceConnector {
    config: SourceConfig,
    task_config: TaskConfig,
}

impl ConnectorInfo for FileStreamSourceConnector {
    const CLASS: &'static str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
    const KEYS: &'static [KeyDoc] = SOURCE_KEYS;
}

fn parse_task<T>(
    config: &TaskConfig,
    parse: impl FnOnce(&mut ConfigReader<'_>) -> Option<T>,
) -> Result<T, ConfigErrors> {
    let raw = RawConfig::from_map("task config", config);
    let mut reader = ConfigReader::new(&raw);
    let parsed = parse(&mut reader);
    let (errors, _) = reader.finish();
    parsed.filter(|_| errors.is_empty()).ok_or(ConfigErrors(errors))
}

impl SourceConnector for FileStreamSourceConnector {
    type Task = FileSourceTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        let config = SourceConfig::parse(reader)?;
        Some(FileStreamSourceConnector { config, task_config: reader.raw().to_map() })
    }

    /// Always one task: "only one input stream makes sense".
    fn task_configs(&self, _max_tasks: usize) -> Vec<TaskConfig> {
        vec![self.task_config.clone()]
    }

    fn create_task(&self, config: &TaskConfig) -> Result<FileSourceTask, ConfigErrors> {
        let parsed = parse_task(config, SourceConfig::parse)?;
        debug_assert_eq!(parsed, self.config);
        Ok(FileSourceTask::new(parsed))
    }

    /// As Kafka's `FileStreamSourceConnector::alterOffsets`: a partition names its `filename`,
    /// an offset has a non-negative integer `position` (bytes here, see `position.rs`).
    fn alter_offsets(partition: &serde_json::Value, offset: Option<&serde_json::Value>) -> Result<(), String> {
        if partition.get("filename").is_none() {
            return Err(format!("partition {partition}: partition objects should contain the key 'filename'"));
        }
        let Some(offset) = offset else { return Ok(()) };
        match offset.get("position") {
            Some(p) if p.is_u64() => Ok(()),
            Some(p) if p.is_i64() => {
                Err(format!("offset {offset}: 'position' should be a non-negative value, got {p}"))
            }
            Some(p) => Err(format!("offset {offset}: 'position' is expected to be a whole number, got {p}")),
            None => Err(format!("offset {offset}: offset objects should either be null or contain the key 'position'")),
        }
    }
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`.
pub struct FileStreamSinkConnector {
    config: SinkConfig,
    task_config: TaskConfig,
}

impl ConnectorInfo for FileStreamSinkConnector {
    const CLASS: &'static str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
    const KEYS: &'static [KeyDoc] = SINK_KEYS;
}

impl SinkConnector for FileStreamSinkConnector {
    type Task = FileSinkTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        let config = SinkConfig::parse(reader)?;
        Some(FileStreamSinkConnector { config, task_config: reader.raw().to_map() })
    }

    /// `tasks.max` identical copies; with a real file every task appends to it.
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        if max_tasks > 1 && self.config.file.is_some() {
            warn!(
                tasks = max_tasks,
                "several FileStreamSink tasks append to one file: their lines interleave (each line stays whole)"
            );
        }
        vec![self.task_config.clone(); max_tasks]
    }

    fn create_task(&self, config: &TaskConfig) -> Result<FileSinkTask, ConfigErrors> {
        Ok(FileSinkTask::new(parse_task(config, SinkConfig::parse)?))
    }
}
