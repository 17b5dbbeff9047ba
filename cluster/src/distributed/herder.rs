//! The distributed herder (Kafka's `DistributedHerder`, its REST side; distributed-mode.md §7):
//! reads answer from this worker's replay of the config and status topics; writes that Kafka
//! gives the leader are done here when this worker leads, and otherwise answered with
//! [`HerderError::Elsewhere`] so REST forwards them; pause and resume are written by any
//! worker; restarting one task runs where the task runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use runtime::config::{ConnectorKind, RawConfig};
use runtime::herder::entities::ConnectorState;
use runtime::herder::sink_offsets::SinkGroup;
use runtime::herder::{
    offset_entries, patched, source_offsets, ClusterInfo, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo,
    ConnectorTaskId, Created, Herder, HerderError, HerderFuture, InternalRequest, Message, RestartRequest, TaskInfo,
    TaskState, ALTERED, NOT_STOPPED, RESET,
};
use runtime::plugin::Registry;
use runtime::worker::State;
use serde_json::Value;
use tokio::sync::oneshot;

use super::status_writer::runtime_state;
use super::{Request, Shared};
use crate::config_log::{ConfigState, RestartFlags, TargetState};
use crate::signature;
use crate::status_log::{Status, StatusKey};

/// The herder REST talks to on a distributed worker.
pub struct DistributedHerder {
    shared: Arc<Shared>,
}

fn log_error(e: impl std::fmt::Display) -> HerderError {
    HerderError::Failed(e.to_string())
}

impl DistributedHerder {
    pub(super) fn new(shared: Arc<Shared>) -> DistributedHerder {
        DistributedHerder { shared }
    }

    fn snapshot(&self) -> ConfigState {
        self.shared.config.snapshot()
    }

    fn kind(&self, config: &BTreeMap<String, String>) -> ConnectorKind {
        let class = config.get("connector.class").map(String::as_str).unwrap_or_default();
        self.shared.registry.find(class).map_or(ConnectorKind::Source, |p| p.kind)
    }

    fn config_of(&self, snapshot: &ConfigState, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        snapshot.connector_config(name).cloned().ok_or_else(|| HerderError::no_connector(name))
    }

    fn info(&self, snapshot: &ConfigState, name: &str) -> Result<ConnectorInfo, HerderError> {
        let config = self.config_of(snapshot, name)?;
        let tasks = snapshot
            .tasks(name)
            .into_iter()
            .map(|t| ConnectorTaskId { connector: name.to_owned(), task: t as usize })
            .collect();
        let kind = self.kind(&config);
        Ok(ConnectorInfo { name: name.to_owned(), config: redacted(&config), tasks, kind })
    }

    /// Writes that Kafka gives the leader: `Ok` here when this worker leads.
    fn require_leader(&self) -> Result<(), HerderError> {
        let group = self.shared.group.read().unwrap();
        if group.rebalancing {
            return Err(HerderError::Conflict(
                "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)".into(),
            ));
        }
        match (group.is_leader, &group.leader_url) {
            (true, _) => Ok(()),
            (false, url) => Err(HerderError::Elsewhere(url.clone())),
        }
    }

    fn task_state(id: usize, status: &Status) -> TaskState {
        TaskState {
            id,
            state: runtime_state(status.state),
            worker_id: status.worker_id.clone(),
            trace: status.trace.clone(),
        }
    }

    fn status_of(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let snapshot = self.snapshot();
        let config = self.config_of(&snapshot, name)?;
        let cache = self.shared.status.snapshot();
        let Some(connector) = cache.connector(name) else {
            return Err(HerderError::NotFound(format!("No status found for connector {name}")));
        };
        let configured = snapshot.tasks(name);
        let tasks = cache
            .tasks(name)
            .filter(|(t, _)| configured.contains(t))
            .map(|(t, s)| Self::task_state(t as usize, s))
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_owned(),
            connector: ConnectorState {
                state: runtime_state(connector.state),
                worker_id: connector.worker_id.clone(),
                trace: connector.trace.clone(),
            },
            tasks,
            kind: self.kind(&config),
        })
    }

    /// Validates `raw` as this worker would run it (references resolved), without starting it.
    fn validate(&self, raw: &RawConfig) -> Result<ConnectorKind, HerderError> {
        let mut resolved = raw.clone();
        let errors = self.shared.providers.resolve(&mut resolved);
        if !errors.is_empty() {
            return Err(HerderError::Invalid(runtime::config::ConfigErrors(errors)));
        }
        let prepared = self.shared.registry.prepare(&resolved).map_err(HerderError::Invalid)?;
        let name = &prepared.config.name;
        if prepared.config.kind == ConnectorKind::Sink && format!("connect-{name}") == self.shared.group_id {
            return Err(HerderError::BadRequest(format!(
                "Consumer group connect-{name} for sink connector {name} is the same as the Connect cluster's group.id; rename the connector or change group.id"
            )));
        }
        Ok(prepared.config.kind)
    }

    async fn put(&self, raw: RawConfig, create_only: bool) -> Result<Created, HerderError> {
        let name = raw.get("name").unwrap_or_default().to_owned();
        self.validate(&raw)?;
        let exists = self.snapshot().connector_config(&name).is_some();
        if exists && create_only {
            return Err(HerderError::Exists(name));
        }
        self.require_leader()?;
        let initial = match raw.initial_state {
            Some(runtime::config::InitialState::Paused) => Some(TargetState::Paused),
            Some(runtime::config::InitialState::Stopped) => Some(TargetState::Stopped),
            _ => None,
        };
        let written = raw.as_written();
        self.shared
            .config
            .put_connector_config(&name, &written, initial.filter(|_| !exists))
            .await
            .map_err(log_error)?;
        let info = self.info(&self.snapshot(), &name)?;
        Ok(Created { created: !exists, info })
    }

    /// A plain restart runs on the connector's owner (REST forwards it there); a restart with
    /// flags is a `restart-connector-` record the leader writes, which every worker acts on for
    /// what it runs.
    async fn restart(&self, name: &str, request: RestartRequest) -> Result<ConnectorStateInfo, HerderError> {
        self.config_of(&self.snapshot(), name)?;
        if request.connector_only() {
            let (reply, answer) = oneshot::channel();
            let request = Request::RestartConnector { name: name.to_owned(), reply };
            self.shared.requests.send(request).map_err(|_| HerderError::stopping())?;
            answer.await.map_err(|_| HerderError::stopping())??;
            return Ok(self.empty_status(name));
        }
        self.require_leader()?;
        let flags = RestartFlags { include_tasks: request.include_tasks, only_failed: request.only_failed };
        self.shared.config.put_restart_request(name, flags).await.map_err(log_error)?;
        let mut planned = match self.status_of(name) {
            Ok(p) => p,
            Err(_) => return Ok(self.empty_status(name)),
        };
        if request.restarts_connector(planned.connector.state) {
            planned.connector.state = State::Restarting;
        }
        for t in &mut planned.tasks {
            if request.restarts_task(t.state) {
                t.state = State::Restarting;
            }
        }
        Ok(planned)
    }

    fn empty_status(&self, name: &str) -> ConnectorStateInfo {
        let kind = self.config_of(&self.snapshot(), name).map(|c| self.kind(&c)).unwrap_or(ConnectorKind::Source);
        ConnectorStateInfo {
            name: name.to_owned(),
            connector: ConnectorState { state: State::Unassigned, worker_id: String::new(), trace: None },
            tasks: Vec::new(),
            kind,
        }
    }

    /// KIP-875: offsets change only while the connector is `STOPPED` with no tasks; the
    /// leader writes them. Answers the connector's stored config.
    fn alterable(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        let snapshot = self.snapshot();
        let config = self.config_of(&snapshot, name)?;
        if snapshot.target_state(name) != Some(TargetState::Stopped) || !snapshot.tasks(name).is_empty() {
            return Err(HerderError::BadRequest(NOT_STOPPED.replace("{name}", name)));
        }
        self.require_leader()?;
        Ok(config)
    }

    async fn write_offsets(
        &self,
        name: &str,
        entries: Vec<(Value, Option<Value>)>,
        message: &str,
    ) -> Result<Message, HerderError> {
        let offsets = &self.shared.offsets;
        offsets.put(name, entries);
        offsets.flush().await.map_err(log_error)?;
        Ok(Message { message: message.into() })
    }

    async fn alter(&self, name: &str, offsets: ConnectorOffsets) -> Result<Message, HerderError> {
        let config = self.alterable(name)?;
        let entries = offset_entries(offsets)?;
        if self.kind(&config) == ConnectorKind::Sink {
            SinkGroup::new(&self.shared.base, name, &config)?.alter(entries).await?;
            return Ok(Message { message: ALTERED.into() });
        }
        let prepared = super::resolved(&self.shared.providers, name, &config)
            .ok()
            .and_then(|raw| self.shared.registry.prepare(&raw).ok());
        if let Some(check) = prepared.and_then(|p| p.offset_check()) {
            if let Some(reason) = entries.iter().find_map(|(p, o)| (check.0)(p, o.as_ref()).err()) {
                return Err(HerderError::BadRequest(format!(
                    "Failed to alter offsets for source connector {name}: {reason}; nothing was changed"
                )));
            }
        }
        self.write_offsets(name, entries, ALTERED).await
    }

    async fn reset(&self, name: &str) -> Result<Message, HerderError> {
        let config = self.alterable(name)?;
        if self.kind(&config) == ConnectorKind::Sink {
            SinkGroup::new(&self.shared.base, name, &config)?.reset().await?;
            return Ok(Message { message: RESET.into() });
        }
        self.shared.offsets.refresh().await.map_err(log_error)?;
        let entries = self
            .shared
            .offsets
            .entries()
            .into_iter()
            .filter(|e| e.connector == name)
            .map(|e| (e.partition, None))
            .collect();
        self.write_offsets(name, entries, RESET).await
    }

    async fn offsets_of(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let config = self.config_of(&self.snapshot(), name)?;
        if self.kind(&config) == ConnectorKind::Sink {
            return SinkGroup::new(&self.shared.base, name, &config)?.offsets().await;
        }
        self.shared.offsets.refresh().await.map_err(log_error)?;
        Ok(source_offsets(&self.shared.offsets, name))
    }

    async fn restart_one(&self, id: ConnectorTaskId) -> Result<(), HerderError> {
        let snapshot = self.snapshot();
        self.config_of(&snapshot, &id.connector)?;
        if !snapshot.tasks(&id.connector).contains(&(id.task as u32)) {
            return Err(HerderError::no_task(&id));
        }
        let (reply, answer) = oneshot::channel();
        self.shared.requests.send(Request::RestartTask { id, reply }).map_err(|_| HerderError::stopping())?;
        answer.await.map_err(|_| HerderError::stopping())?
    }

    async fn task_configs_from_owner(
        &self,
        name: &str,
        configs: Vec<BTreeMap<String, String>>,
        request: InternalRequest,
    ) -> Result<(), HerderError> {
        let protocol = self.shared.group.read().unwrap().protocol;
        if protocol.is_some_and(|p| p.version() >= 2) {
            let snapshot = self.snapshot();
            let verified = signature::verify(
                request.authorization.as_deref(),
                request.algorithm.as_deref(),
                &request.body,
                snapshot.session_key(),
                &self.shared.verification_algorithms,
            );
            if let Err(e) = verified {
                return Err(match e.status() {
                    400 => HerderError::BadRequest(e.to_string()),
                    403 => HerderError::Forbidden(e.to_string()),
                    _ => HerderError::Unavailable(e.to_string()),
                });
            }
        }
        self.require_leader()?;
        let snapshot = self.snapshot();
        self.config_of(&snapshot, name)?;
        if snapshot.target_state(name) == Some(TargetState::Stopped) && !configs.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Cannot submit non-empty set of task configs for stopped connector {name}"
            )));
        }
        self.shared.config.put_task_configs(name, &configs).await.map_err(log_error)
    }
}

/// A stored config as REST shows it: secrets hidden, `${…}` references kept.
pub(super) fn redacted(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    RawConfig::from_map("config topic", config).redacted()
}

impl Herder for DistributedHerder {
    fn worker_id(&self) -> &str {
        &self.shared.worker_id
    }

    fn plugins(&self) -> Arc<Registry> {
        self.shared.registry.clone()
    }

    fn cluster_info(&self) -> ClusterInfo {
        let group = self.shared.group.read().unwrap();
        ClusterInfo {
            mode: "distributed",
            worker_id: self.shared.worker_id.clone(),
            group_id: Some(self.shared.group_id.clone()),
            leader: group.leader_url.clone(),
            is_leader: Some(group.is_leader),
            generation: group.generation,
            rebalancing: Some(group.rebalancing),
            broker: Some(match &group.coordinator_lost {
                None => "reachable (the group coordinator answers)".to_owned(),
                Some((since, error)) => {
                    format!("not answering for {} s: {error}", since.elapsed().map(|d| d.as_secs()).unwrap_or_default())
                }
            }),
        }
    }

    fn metrics(&self) -> String {
        runtime::metrics::render(&self.shared.state)
    }

    fn connectors(&self) -> Vec<String> {
        self.snapshot().connectors().cloned().collect()
    }

    fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.info(&self.snapshot(), name)
    }

    fn connector_config(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        self.config_of(&self.snapshot(), name).map(|c| redacted(&c))
    }

    fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        self.status_of(name)
    }

    fn task_status(&self, id: &ConnectorTaskId) -> Result<TaskState, HerderError> {
        self.config_of(&self.snapshot(), &id.connector)?;
        let cache = self.shared.status.snapshot();
        cache
            .task(&id.connector, id.task as u32)
            .map(|s| Self::task_state(id.task, s))
            .ok_or_else(|| HerderError::NotFound(format!("No status found for task {}-{}", id.connector, id.task)))
    }

    fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let snapshot = self.snapshot();
        self.config_of(&snapshot, name)?;
        Ok(snapshot
            .tasks(name)
            .into_iter()
            .map(|t| TaskInfo {
                id: ConnectorTaskId { connector: name.to_owned(), task: t as usize },
                config: snapshot.task_config(name, t).map(redacted).unwrap_or_default(),
            })
            .collect())
    }

    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.config_of(&self.snapshot(), name)?;
        Ok(self.shared.status.snapshot().active_topics(name))
    }

    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        for topic in self.active_topics(name)? {
            self.shared.status_writer.destroy(StatusKey::Topic { topic, connector: name.to_owned() });
        }
        Ok(())
    }

    fn put_connector_config(&self, raw: RawConfig, create_only: bool) -> HerderFuture<'_, Created> {
        Box::pin(self.put(raw, create_only))
    }

    fn patch_connector_config(
        &self,
        name: String,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderFuture<'_, ConnectorInfo> {
        Box::pin(async move {
            let raw = patched(&name, self.config_of(&self.snapshot(), &name)?, patch)?;
            Ok(self.put(raw, false).await?.info)
        })
    }

    fn delete_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            self.config_of(&self.snapshot(), &name)?;
            self.require_leader()?;
            self.shared.config.remove_connector(&name).await.map_err(log_error)
        })
    }

    fn pause_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            self.config_of(&self.snapshot(), &name)?;
            self.shared.config.put_target_state(&name, TargetState::Paused).await.map_err(log_error)
        })
    }

    fn resume_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            self.config_of(&snapshot, &name)?;
            if snapshot.target_state(&name) == Some(TargetState::Stopped) {
                // from STOPPED the tasks need new configs: the leader writes the target state
                self.require_leader()?;
            }
            self.shared.config.put_target_state(&name, TargetState::Started).await.map_err(log_error)
        })
    }

    fn stop_connector(&self, name: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            self.config_of(&self.snapshot(), &name)?;
            self.require_leader()?;
            self.shared.config.stop_connector(&name).await.map_err(log_error)
        })
    }

    fn restart_connector(&self, name: String, request: RestartRequest) -> HerderFuture<'_, ConnectorStateInfo> {
        Box::pin(async move { self.restart(&name, request).await })
    }

    fn restart_task(&self, id: ConnectorTaskId) -> HerderFuture<'_, ()> {
        Box::pin(self.restart_one(id))
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

    fn set_cluster_log_level(&self, namespace: String, level: String) -> HerderFuture<'_, ()> {
        Box::pin(async move { self.shared.config.put_logger_level(&namespace, &level).await.map_err(log_error) })
    }

    fn put_task_configs(
        &self,
        name: String,
        configs: Vec<BTreeMap<String, String>>,
        request: InternalRequest,
    ) -> HerderFuture<'_, ()> {
        Box::pin(async move { self.task_configs_from_owner(&name, configs, request).await })
    }
}
