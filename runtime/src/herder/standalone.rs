//! The standalone herder (Kafka's `StandaloneHerder`): answers reads from the worker's own
//! statuses and the offset file, and hands writes to the worker's loop, which owns the
//! connectors' supervisors. Configs written over REST are kept in memory only, as Kafka's are: a
//! restarted standalone worker runs the connector files it is given.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::entities::{ConnectorState, Message};
use super::{
    offset_entries, patched, source_offsets, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId,
    Created, Herder, HerderError, HerderFuture, RestartRequest, TaskInfo, TaskState, ALTERED, NOT_STOPPED, RESET,
};
use rdkafka::config::ClientConfig;

use super::sink_offsets::SinkGroup;
use crate::config::{ConnectorKind, RawConfig};
use crate::offset::OffsetStore;
use crate::plugin::Registry;
use crate::worker::{Command, ConnectorStatus, HerderRequest, PutOutcome, State, TaskStatus, WorkerState};

/// The standalone worker's herder.
pub struct StandaloneHerder {
    state: Arc<WorkerState>,
    offsets: Arc<OffsetStore>,
    /// The worker's client settings, for sinks' consumer groups.
    client: ClientConfig,
    /// Connector writes go to the worker's loop.
    requests: mpsc::UnboundedSender<HerderRequest>,
}

impl StandaloneHerder {
    pub fn new(
        state: Arc<WorkerState>,
        offsets: Arc<OffsetStore>,
        client: ClientConfig,
        requests: mpsc::UnboundedSender<HerderRequest>,
    ) -> StandaloneHerder {
        StandaloneHerder { state, offsets, client, requests }
    }

    fn find(&self, name: &str) -> Result<Arc<ConnectorStatus>, HerderError> {
        self.state.connector(name).ok_or_else(|| HerderError::no_connector(name))
    }

    fn info(c: &ConnectorStatus) -> ConnectorInfo {
        ConnectorInfo {
            name: c.name.clone(),
            config: c.config.clone(),
            tasks: c.tasks().iter().map(|t| ConnectorTaskId { connector: c.name.clone(), task: t.id }).collect(),
            kind: c.kind,
        }
    }

    fn task_state(&self, t: &TaskStatus) -> TaskState {
        let (state, trace) = t.state();
        TaskState { id: t.id, state, worker_id: self.state.worker_id.clone(), trace }
    }

    fn status(&self, c: &ConnectorStatus) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: c.name.clone(),
            connector: ConnectorState {
                state: c.state(),
                worker_id: self.state.worker_id.clone(),
                trace: c.trace.lock().unwrap().clone(),
            },
            tasks: c.tasks().iter().map(|t| self.task_state(t)).collect(),
            kind: c.kind,
        }
    }

    /// Sends `command` to the connector's supervisor.
    fn command(&self, name: &str, command: Command) -> Result<(), HerderError> {
        let c = self.find(name)?;
        c.control.send(command).map_err(|_| HerderError::stopping())
    }

    /// KIP-875: only a `STOPPED` connector's offsets change.
    fn alterable(&self, name: &str) -> Result<Arc<ConnectorStatus>, HerderError> {
        let c = self.find(name)?;
        if c.state() != State::Stopped {
            return Err(HerderError::BadRequest(NOT_STOPPED.replace("{name}", name)));
        }
        Ok(c)
    }

    fn sink_group(&self, c: &ConnectorStatus) -> Result<SinkGroup, HerderError> {
        SinkGroup::new(&self.client, &c.name, &c.config)
    }

    async fn flushed(&self, message: &str) -> Result<Message, HerderError> {
        self.offsets.flush().await.map_err(|e| HerderError::Failed(e.to_string()))?;
        Ok(Message { message: message.into() })
    }

    async fn alter(&self, name: &str, offsets: ConnectorOffsets) -> Result<Message, HerderError> {
        let connector = self.alterable(name)?;
        let entries = offset_entries(offsets)?;
        if connector.kind == ConnectorKind::Sink {
            self.sink_group(&connector)?.alter(entries).await?;
            return Ok(Message { message: ALTERED.into() });
        }
        if let Some(check) = &connector.offset_check {
            if let Some(reason) = entries.iter().find_map(|(p, o)| (check.0)(p, o.as_ref()).err()) {
                return Err(HerderError::BadRequest(format!(
                    "Failed to alter offsets for source connector {name}: {reason}; nothing was changed"
                )));
            }
        }
        self.offsets.put(name, entries);
        self.flushed(ALTERED).await
    }

    async fn reset(&self, name: &str) -> Result<Message, HerderError> {
        let connector = self.alterable(name)?;
        if connector.kind == ConnectorKind::Sink {
            self.sink_group(&connector)?.reset().await?;
            return Ok(Message { message: RESET.into() });
        }
        let partitions: Vec<(Value, Option<Value>)> =
            self.offsets.entries().into_iter().filter(|e| e.connector == name).map(|e| (e.partition, None)).collect();
        self.offsets.put(name, partitions);
        self.flushed(RESET).await
    }

    /// Sources: the offset store's entries. Sinks: their consumer group's commits, as Kafka
    /// reads them (also while stopped).
    async fn offsets_of(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let c = self.find(name)?;
        if c.kind == ConnectorKind::Sink {
            return self.sink_group(&c)?.offsets().await;
        }
        Ok(source_offsets(&self.offsets, name))
    }

    /// Kafka's restart plan on one worker: the connector instance when the request selects it
    /// (alone: its tasks run on), and each task the request selects (all of them at once when
    /// every task restarts).
    fn restart(&self, name: &str, request: RestartRequest) -> Result<ConnectorStateInfo, HerderError> {
        let c = self.find(name)?;
        let send = |command| c.control.send(command).map_err(|_| HerderError::stopping());
        let tasks: Vec<_> = c.tasks().into_iter().filter(|t| request.restarts_task(t.state().0)).collect();
        let every_task = request.include_tasks && !request.only_failed;
        tasks.iter().for_each(|t| t.set(State::Restarting, None));
        let connector = request.restarts_connector(c.state());
        if connector && every_task {
            send(Command::Restart)?;
        } else {
            if connector {
                send(Command::RestartConnector)?;
            }
            for t in &tasks {
                send(Command::RestartTask(t.id))?;
            }
        }
        let mut planned = self.status(&c);
        if connector {
            planned.connector.state = State::Restarting;
        }
        Ok(planned)
    }
}

impl Herder for StandaloneHerder {
    fn worker_id(&self) -> &str {
        &self.state.worker_id
    }

    fn plugins(&self) -> Arc<Registry> {
        self.state.plugins.read().unwrap().clone()
    }

    fn metrics(&self) -> String {
        crate::metrics::render(&self.state)
    }

    fn connectors(&self) -> Vec<String> {
        self.state.connectors.read().unwrap().keys().cloned().collect()
    }

    fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.find(name).map(|c| Self::info(&c))
    }

    fn connector_config(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        self.find(name).map(|c| c.config.clone())
    }

    fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        self.find(name).map(|c| self.status(&c))
    }

    fn task_status(&self, id: &ConnectorTaskId) -> Result<TaskState, HerderError> {
        let c = self.find(&id.connector)?;
        let tasks = c.tasks();
        tasks.get(id.task).map(|t| self.task_state(t)).ok_or_else(|| HerderError::no_task(id))
    }

    fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let c = self.find(name)?;
        let tasks = c.tasks();
        Ok(tasks
            .iter()
            .map(|t| TaskInfo {
                id: ConnectorTaskId { connector: c.name.clone(), task: t.id },
                config: t.config.clone(),
            })
            .collect())
    }

    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.find(name).map(|c| c.topics.list())
    }

    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.find(name).map(|c| c.topics.reset())
    }

    fn put_connector_config(&self, raw: RawConfig, create_only: bool) -> HerderFuture<'_, Created> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.requests.send(HerderRequest::Put { raw, create_only, reply }).map_err(|_| HerderError::stopping())?;
            let PutOutcome { created, connector } = answer.await.map_err(|_| HerderError::stopping())??;
            Ok(Created { created, info: Self::info(&connector) })
        })
    }

    fn patch_connector_config(
        &self,
        name: String,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderFuture<'_, ConnectorInfo> {
        Box::pin(async move {
            let c = self.find(&name)?;
            let raw = patched(&name, c.written.clone(), patch)?;
            Ok(self.put_connector_config(raw, false).await?.info)
        })
    }

    fn delete_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.requests.send(HerderRequest::Delete { name, reply }).map_err(|_| HerderError::stopping())?;
            answer.await.map_err(|_| HerderError::stopping())?
        })
    }

    fn pause_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move { self.command(&name, Command::Pause) })
    }

    fn resume_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move { self.command(&name, Command::Resume) })
    }

    fn stop_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move { self.command(&name, Command::Stop) })
    }

    fn restart_connector(&self, name: String, request: RestartRequest) -> HerderFuture<'_, ConnectorStateInfo> {
        Box::pin(async move { self.restart(&name, request) })
    }

    fn restart_task(&self, id: ConnectorTaskId) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            let c = self.find(&id.connector)?;
            if id.task >= c.tasks().len() {
                return Err(HerderError::no_task(&id));
            }
            c.control.send(Command::RestartTask(id.task)).map_err(|_| HerderError::stopping())
        })
    }

    fn connector_offsets(&self, name: String) -> HerderFuture<'_, ConnectorOffsets> {
        Box::pin(async move { self.offsets_of(&name).await })
    }

    fn alter_offsets(&self, name: String, offsets: ConnectorOffsets) -> HerderFuture<'_, Message> {
        Box::pin(async move { self.alter(&name, offsets).await })
    }

    fn reset_offsets(&self, name: String) -> HerderFuture<'_, Message> {
        Box::pin(async move { self.reset(&name).await })
    }
}
