//! The three stores of a distributed worker on their topics (Kafka's
//! `Kafka{Config,Offset,Status}BackingStore`): each a [`KafkaBasedLog`] over the replay state of
//! [`config_log`](crate::config_log), raw offsets, or [`status_log`](crate::status_log), with
//! the write sequences Kafka uses (distributed-mode.md §3.3, §4, §5).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use tokio::sync::mpsc;
use tracing::warn;

use crate::config_log::{
    value, ConfigEvent, ConfigKey, ConfigState, Properties, RestartFlags, SessionKey, TargetState,
};
use crate::kafka_log::{KafkaBasedLog, LogError, LogState};
use crate::status_log::{may_write_safely, Status, StatusCache, StatusKey};
use runtime::offset::{BackendFuture, OffsetBackend, OffsetStoreError, RawEntry};
use runtime::state_log::StateLog;

use crate::state_topic::StateTopic;

/// How long a write waits to be read back (Kafka's 30 s `readToEnd` budget).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The config topic's replay, with its change events after the first replay.
pub struct ConfigLog {
    state: ConfigState,
    events: mpsc::UnboundedSender<ConfigEvent>,
}

impl LogState for ConfigLog {
    fn apply(&mut self, _partition: i32, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
            warn!(offset, "config topic record without a text key; skipped");
            return;
        };
        match self.state.apply(offset, key, value) {
            Ok(Some(event)) => {
                let _ = self.events.send(event);
            }
            Ok(None) => {}
            Err(skipped) => warn!("{skipped}"),
        }
    }
}

/// The config topic.
pub struct ConfigStore {
    log: KafkaBasedLog<ConfigLog>,
}

impl ConfigStore {
    /// Replays the topic; `events` gets every change read after that.
    pub async fn start(
        base: &ClientConfig,
        topic: &str,
        client_id: &str,
        events: mpsc::UnboundedSender<ConfigEvent>,
    ) -> Result<ConfigStore, LogError> {
        let state = ConfigLog { state: ConfigState::new(), events };
        let log = KafkaBasedLog::start(base, topic, client_id, state, WRITE_TIMEOUT).await?;
        log.state().state.mark_started();
        Ok(ConfigStore { log })
    }

    /// A copy of the replayed config.
    pub fn snapshot(&self) -> ConfigState {
        self.log.state().state.clone()
    }

    /// Reads whatever other workers wrote, up to the end the broker reports.
    pub async fn refresh(&self, timeout: Duration) -> Result<(), LogError> {
        self.log.read_to_end(timeout).await
    }

    /// Creates or updates a connector (the target state first, when one is given for a new
    /// connector), then reads it back.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: &Properties,
        initial: Option<TargetState>,
    ) -> Result<(), LogError> {
        if let Some(state) = initial {
            self.log
                .send(ConfigKey::TargetState(name.into()).key().as_bytes(), Some(&value::target_state(state)))
                .await?;
        }
        let key = ConfigKey::Connector(name.into()).key();
        self.log.write(key.as_bytes(), Some(&value::properties(config)), WRITE_TIMEOUT).await
    }

    /// Deletes a connector: tombstones of its config and target state only.
    pub async fn remove_connector(&self, name: &str) -> Result<(), LogError> {
        self.log.send(ConfigKey::Connector(name.into()).key().as_bytes(), None).await?;
        self.log.write(ConfigKey::TargetState(name.into()).key().as_bytes(), None, WRITE_TIMEOUT).await
    }

    /// Writes a connector's task configs and then their commit record (the tasks take effect
    /// only with it).
    pub async fn put_task_configs(&self, name: &str, tasks: &[Properties]) -> Result<(), LogError> {
        for (i, task) in tasks.iter().enumerate() {
            self.log
                .send(ConfigKey::Task(name.into(), i as u32).key().as_bytes(), Some(&value::properties(task)))
                .await?;
        }
        let commit = value::commit(tasks.len() as u32);
        self.log.write(ConfigKey::Commit(name.into()).key().as_bytes(), Some(&commit), WRITE_TIMEOUT).await
    }

    /// Pause or resume: acknowledged, not read back (as Kafka).
    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<(), LogError> {
        let key = ConfigKey::TargetState(name.into()).key();
        self.log.send(key.as_bytes(), Some(&value::target_state(state))).await.map(|_| ())
    }

    /// Stop: empty task configs, then the STOPPED target state, then read back.
    pub async fn stop_connector(&self, name: &str) -> Result<(), LogError> {
        self.put_task_configs(name, &[]).await?;
        let key = ConfigKey::TargetState(name.into()).key();
        self.log.write(key.as_bytes(), Some(&value::target_state(TargetState::Stopped)), WRITE_TIMEOUT).await
    }

    pub async fn put_restart_request(&self, name: &str, flags: RestartFlags) -> Result<(), LogError> {
        let key = ConfigKey::Restart(name.into()).key();
        self.log.write(key.as_bytes(), Some(&value::restart(flags)), WRITE_TIMEOUT).await
    }

    /// KIP-976: a level for every worker (any worker writes it; each applies it on reading).
    pub async fn put_logger_level(&self, namespace: &str, level: &str) -> Result<(), LogError> {
        let key = ConfigKey::LoggerCluster(namespace.into()).key();
        self.log.send(key.as_bytes(), Some(&value::logger_level(level))).await.map(|_| ())
    }

    pub async fn put_session_key(&self, key: &SessionKey) -> Result<(), LogError> {
        self.log.write(ConfigKey::SessionKey.key().as_bytes(), Some(&value::session_key(key)), WRITE_TIMEOUT).await
    }
}

/// The status topic's replay.
#[derive(Default)]
pub struct StatusLog {
    cache: StatusCache,
}

impl LogState for StatusLog {
    fn apply(&mut self, _partition: i32, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let key = key.and_then(|k| std::str::from_utf8(k).ok()).unwrap_or_default();
        if !self.cache.apply(key, value) {
            warn!(offset, key, "status topic record sluice cannot read; skipped");
        }
    }
}

/// The status topic.
pub struct StatusStore {
    log: KafkaBasedLog<StatusLog>,
}

impl StatusStore {
    pub async fn start(base: &ClientConfig, topic: &str, client_id: &str) -> Result<StatusStore, LogError> {
        Ok(StatusStore {
            log: KafkaBasedLog::start(base, topic, client_id, StatusLog::default(), WRITE_TIMEOUT).await?,
        })
    }

    /// A copy of every status read so far.
    pub fn snapshot(&self) -> StatusCache {
        self.log.state().cache.clone()
    }

    /// Writes a status (RUNNING, PAUSED, STOPPED, RESTARTING).
    pub async fn put(&self, key: &StatusKey, status: &Status) -> Result<(), LogError> {
        self.log.send(key.key().as_bytes(), Some(&status.encode())).await.map(|_| ())
    }

    /// Writes UNASSIGNED or FAILED unless another worker of a newer generation owns the entry.
    pub async fn put_safe(&self, key: &StatusKey, status: &Status) -> Result<bool, LogError> {
        let cached = {
            let state = self.log.state();
            match key {
                StatusKey::Connector(c) => state.cache.connector(c).cloned(),
                StatusKey::Task(c, t) => state.cache.task(c, *t).cloned(),
                StatusKey::Topic { .. } => None,
            }
        };
        if !may_write_safely(cached.as_ref(), &status.worker_id, status.generation) {
            return Ok(false);
        }
        self.put(key, status).await.map(|_| true)
    }

    /// DESTROYED: a tombstone.
    pub async fn delete(&self, key: &StatusKey) -> Result<(), LogError> {
        self.log.send(key.key().as_bytes(), None).await.map(|_| ())
    }

    pub async fn refresh(&self, timeout: Duration) -> Result<(), LogError> {
        self.log.read_to_end(timeout).await
    }
}

/// The offsets topic's replay: raw key bytes to raw value bytes, in the order read; a tombstone
/// removes. Keys are compared as bytes, as a Java worker does.
#[derive(Default)]
pub struct OffsetLog {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl LogState for OffsetLog {
    fn apply(&mut self, _partition: i32, _offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key else { return };
        match value {
            Some(v) => {
                self.entries.insert(key.to_vec(), v.to_vec());
            }
            None => {
                self.entries.remove(key);
            }
        }
    }
}

/// The offsets topic; as the runtime's [`OffsetBackend`], the persistence of a distributed
/// worker's [`runtime::offset::OffsetStore`].
pub struct OffsetTopic {
    log: KafkaBasedLog<OffsetLog>,
    /// Where connectors' state logs are kept, when this worker runs tasks.
    state: Option<Arc<StateTopic>>,
}

impl OffsetTopic {
    pub async fn start(base: &ClientConfig, topic: &str, client_id: &str) -> Result<OffsetTopic, LogError> {
        Ok(OffsetTopic {
            log: KafkaBasedLog::start(base, topic, client_id, OffsetLog::default(), WRITE_TIMEOUT).await?,
            state: None,
        })
    }

    /// Tasks' state logs go to `state` (see [`OffsetBackend::state_log`]).
    pub fn with_state(self, state: Arc<StateTopic>) -> OffsetTopic {
        OffsetTopic { state: Some(state), ..self }
    }

    /// Every stored key and value.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.log.state().entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.log.state().entries.get(key).cloned()
    }

    /// Writes every entry (`None`: a reset) and succeeds when the broker acknowledged them all
    /// and they were read back (so a `load` right after sees them, even on a broker whose high
    /// watermark lags).
    pub async fn put(&self, entries: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), LogError> {
        self.log.write_all(entries, WRITE_TIMEOUT).await
    }

    pub async fn refresh(&self, timeout: Duration) -> Result<(), LogError> {
        self.log.read_to_end(timeout).await
    }
}

fn offset_error(e: LogError) -> OffsetStoreError {
    OffsetStoreError::Backend(e.to_string())
}

impl OffsetBackend for OffsetTopic {
    fn describe(&self) -> String {
        format!("offsets topic {}", self.log.topic())
    }

    /// Kafka's `get`: reads the topic to its end first.
    fn load(&self) -> BackendFuture<'_, Option<Vec<RawEntry>>> {
        Box::pin(async move {
            self.refresh(WRITE_TIMEOUT).await.map_err(offset_error)?;
            Ok(Some(self.entries().into_iter().map(|(k, v)| (k, Some(v))).collect()))
        })
    }

    /// Sends the changed entries (a reset as a tombstone); durable once all are acknowledged.
    fn persist(&self, _all: Vec<RawEntry>, changed: Vec<RawEntry>) -> BackendFuture<'_, ()> {
        Box::pin(async move { self.put(&changed).await.map_err(offset_error) })
    }

    /// In the worker's state topic.
    fn state_log(&self, connector: &str, name: &str) -> Option<Arc<dyn StateLog>> {
        self.state.as_ref().map(|s| s.log(connector, name))
    }
}
