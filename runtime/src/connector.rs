//! Kafka Connect's shapes: connectors describe the work, tasks do it; the runtime owns
//! lifecycle, conversion, retries, offsets and assignment.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{ConfigErrors, ConfigReader};
use crate::error::TaskError;
use crate::offset::OffsetStoreError;
use crate::record::{OffsetMap, SinkRecord, SourceRecord, TopicPartition};

/// A task's configuration, as Kafka passes it (`Map<String, String>`); shown by REST `…/tasks`.
pub type TaskConfig = BTreeMap<String, String>;

/// What a source task's `poll` returns.
pub type PollResult<P, O> = Result<Vec<SourceRecord<P, O>>, TaskError>;

/// One documented key of a connector, for `sluice plugins` and the docs.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub name: &'static str,
    /// `None`: required (or no default).
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// What every connector declares about itself.
pub trait ConnectorInfo {
    /// The fully qualified class name users write in `connector.class`.
    const CLASS: &'static str;
    /// Its own keys (the framework's are documented by the runtime).
    const KEYS: &'static [KeyDoc];
}

/// What a running connector can ask of the worker.
#[derive(Debug, Clone)]
pub struct ConnectorContext {
    control: tokio::sync::mpsc::UnboundedSender<crate::worker::Command>,
}

impl ConnectorContext {
    pub(crate) fn new(control: tokio::sync::mpsc::UnboundedSender<crate::worker::Command>) -> Self {
        ConnectorContext { control }
    }

    /// The units of work changed (a table appeared, say): the worker stops the tasks gracefully
    /// and starts them again from fresh `task_configs`.
    pub fn request_task_reconfiguration(&self) {
        let _ = self.control.send(crate::worker::Command::Reconfigure);
    }
}

/// Reads a source task's stored offsets.
pub trait OffsetReader: Send + Sync {
    fn offset<P: Serialize, O: DeserializeOwned>(&self, partition: &P) -> Result<Option<O>, OffsetStoreError>;

    /// The connector's log of state that must stay consistent with these offsets (the binlog
    /// connector's schema history), kept where the offsets are and named `name`; `None` where
    /// the offsets' store keeps none (see [`crate::state_log`]).
    fn state_log(&self, _name: &str) -> Option<std::sync::Arc<dyn crate::state_log::StateLog>> {
        None
    }
}

/// `org.apache.kafka.connect.source.SourceConnector`.
pub trait SourceConnector: ConnectorInfo + Sized + Send + Sync + 'static {
    type Task: SourceTask;

    /// Parses and validates the connector's own keys (no I/O); problems go into `reader`.
    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self>;

    /// Called once before the first `task_configs`: a connector that must ask its source for the
    /// units of work (the JDBC table list) does it here, and one that watches for new units keeps
    /// `ctx` to request a reconfiguration. An error stops the worker's start-up, as Kafka's
    /// "Stopping after connector error".
    fn start(&mut self, _ctx: ConnectorContext) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// The units of work split into at most `max_tasks` task configs (see
    /// [`crate::assignment::group_partitions`]).
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig>;

    /// Kafka's `Connector::stop`: ends what `start` began (a table monitor). Called before the
    /// connector instance restarts and when it is deleted or the worker stops; its tasks are
    /// stopped separately.
    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A task for one of the configs returned by [`SourceConnector::task_configs`].
    fn create_task(&self, config: &TaskConfig) -> Result<Self::Task, ConfigErrors>;

    /// Kafka's `SourceConnector::alterOffsets`: refuses an offset a user writes over REST
    /// (KIP-875) that the tasks could not resume from, saying why. The runtime has already
    /// checked that the partition and offset read as the task's types; a `None` offset is a
    /// reset, always allowed.
    fn alter_offsets(_partition: &serde_json::Value, _offset: Option<&serde_json::Value>) -> Result<(), String> {
        Ok(())
    }
}

/// Whether `partition` and `offset` (JSON from a user) read as `C`'s types and `C` accepts them.
pub fn check_offset<C: SourceConnector>(
    partition: &serde_json::Value,
    offset: Option<&serde_json::Value>,
) -> Result<(), String> {
    type P<C> = <<C as SourceConnector>::Task as SourceTask>::Partition;
    type O<C> = <<C as SourceConnector>::Task as SourceTask>::Offset;
    serde_json::from_value::<P<C>>(partition.clone()).map_err(|e| format!("partition {partition}: {e}"))?;
    if let Some(o) = offset {
        serde_json::from_value::<O<C>>(o.clone()).map_err(|e| format!("offset {o}: {e}"))?;
    }
    C::alter_offsets(partition, offset)
}

/// `org.apache.kafka.connect.source.SourceTask`.
pub trait SourceTask: Send + 'static {
    /// The source partition, e.g. `{"filename": …}`; serialized in field order for offset keys.
    type Partition: Serialize + DeserializeOwned + Clone + Eq + Hash + Debug + Send + Sync + 'static;
    /// The source offset, e.g. `{"position": …}`.
    type Offset: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// Opens resources and reads stored offsets.
    fn start(&mut self, offsets: &impl OffsetReader) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// The next batch; empty when idle. Must return within about a second.
    fn poll(&mut self) -> impl Future<Output = PollResult<Self::Partition, Self::Offset>> + Send;

    /// Takes back a batch `poll` returned, emptied, so the next `poll` can fill the same buffer:
    /// a batch of thousands of records is an allocation of its own, handed back to the OS and
    /// faulted in again for every batch otherwise. Kafka Connect has no such call; the default
    /// drops it.
    fn recycle(&mut self, _emptied: Vec<SourceRecord<Self::Partition, Self::Offset>>) {}

    /// Offsets that are now durable in the offset store (after the producer acknowledged every
    /// record up to them).
    fn commit(
        &mut self,
        _committed: &[(Self::Partition, Self::Offset)],
    ) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// `org.apache.kafka.connect.sink.SinkConnector`.
pub trait SinkConnector: ConnectorInfo + Sized + Send + Sync + 'static {
    type Task: SinkTask;

    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self>;

    /// Called once before the first `task_configs`.
    fn start(&mut self, _ctx: ConnectorContext) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig>;

    /// Kafka's `Connector::stop` (see [`SourceConnector::stop`]).
    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    fn create_task(&self, config: &TaskConfig) -> Result<Self::Task, ConfigErrors>;
}

/// `org.apache.kafka.connect.sink.SinkTask`.
pub trait SinkTask: Send + 'static {
    fn start(&mut self) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// Partitions newly assigned to this task.
    fn open(&mut self, _partitions: &[TopicPartition]) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// Partitions taken away; their writers should be closed (and may be discarded).
    fn close(&mut self, _partitions: &[TopicPartition]) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// Records to write; may be empty (time-based sinks rely on that).
    fn put(&mut self, records: &[SinkRecord]) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// Makes everything put so far durable.
    fn flush(&mut self, offsets: &OffsetMap) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// The offsets that may be committed: by default, flush and return `offsets`. Sinks that
    /// buffer (S3) return only what is durable.
    fn pre_commit(&mut self, offsets: &OffsetMap) -> impl Future<Output = Result<OffsetMap, TaskError>> + Send {
        async move {
            self.flush(offsets).await?;
            Ok(offsets.clone())
        }
    }

    /// Asked after each `put`: `true` makes the worker commit offsets now, before the next
    /// `put` (Kafka's `SinkTaskContext.requestCommit()`).
    fn commit_requested(&mut self) -> bool {
        false
    }

    /// The offsets the worker has just committed to the consumer group.
    fn committed(&mut self, _offsets: &OffsetMap) {}

    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}
