//! The work this worker runs: for each connector with something assigned here, a
//! [`ConnectorRunner`] holding the connector instance (when assigned here) and the tasks
//! assigned here, brought to what the assignment and the config topic ask (Kafka's `Worker`
//! under the `DistributedHerder`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use runtime::config::{Providers, WorkerConfig};
use runtime::offset::OffsetStore;
use runtime::plugin::Registry;
use runtime::worker::{Command, ConnectorRunner, State, StatusListener, WorkerState};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::resolved;
use crate::config_log::{ConfigState, Properties, TargetState};
use crate::protocol::Work;

/// A connector's part on this worker.
pub(super) struct LocalConnector {
    pub runner: ConnectorRunner,
    /// The stored config it was built from (a change rebuilds it).
    pub config: Properties,
    /// The task-config generation its tasks run (a new commit restarts them).
    pub task_generation: u64,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Drop for LocalConnector {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

/// Everything the worker needs to build and run connectors.
pub(super) struct LocalWork {
    pub connectors: BTreeMap<String, LocalConnector>,
    pub registry: Arc<Registry>,
    pub providers: Providers,
    pub worker: Arc<WorkerConfig>,
    pub offsets: Arc<OffsetStore>,
    pub listener: Arc<dyn StatusListener>,
    pub state: Arc<WorkerState>,
    /// Reconfiguration requests of the connectors (`(name, command)`).
    pub commands: mpsc::UnboundedSender<(String, Command)>,
}

impl LocalWork {
    /// Builds the runner of `name` from its stored config; `false` (the connector `FAILED`)
    /// when the config does not parse here.
    fn build(&mut self, name: &str, snapshot: &ConfigState) -> bool {
        let Some(config) = snapshot.connector_config(name).cloned() else { return false };
        let prepared = resolved(&self.providers, name, &config)
            .and_then(|raw| self.registry.prepare(&raw).map_err(|e| e.to_string()));
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                error!(connector = name, error = %e, "connector config does not parse on this worker");
                self.listener.connector_state(name, State::Failed, Some(&e));
                return false;
            }
        };
        let (runner, mut commands) =
            prepared.into_runner(self.worker.clone(), self.offsets.clone(), Some(self.listener.clone()));
        let (tx, connector) = (self.commands.clone(), name.to_owned());
        let forwarder = tokio::spawn(async move {
            while let Some(c) = commands.recv().await {
                let _ = tx.send((connector.clone(), c));
            }
        });
        self.state.connectors.write().unwrap().insert(name.to_owned(), runner.status().clone());
        let local = LocalConnector { runner, config, task_generation: snapshot.task_generation(name), forwarder };
        self.connectors.insert(name.to_owned(), local);
        true
    }

    /// Stops everything of `name` here and forgets it.
    pub async fn drop_connector(&mut self, name: &str) {
        if let Some(mut local) = self.connectors.remove(name) {
            local.runner.shut_down().await;
            self.state.connectors.write().unwrap().remove(name);
        }
    }

    /// Stops the work in `revoked` (tasks drain and commit first).
    pub async fn revoke(&mut self, revoked: &Work) {
        let mut tasks: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (c, t) in &revoked.tasks {
            tasks.entry(c).or_default().push(*t as usize);
        }
        for (name, ids) in tasks {
            if let Some(local) = self.connectors.get_mut(name) {
                local.runner.stop_tasks(Some(&ids)).await;
                for id in &ids {
                    self.listener.task_state(name, *id, State::Unassigned, None);
                }
            }
        }
        for name in &revoked.connectors {
            if let Some(local) = self.connectors.get_mut(name) {
                local.runner.stop().await;
                self.listener.connector_state(name, State::Unassigned, None);
            }
        }
    }

    /// Brings the work of `assignment` to what `snapshot` asks: connectors and tasks not
    /// assigned here stopped, assigned ones running (or paused, or stopped) with their current
    /// config. Answers the connectors whose instance (re)started here, whose task configs the
    /// caller checks.
    pub async fn reconcile(&mut self, assignment: &Work, snapshot: &ConfigState) -> Vec<String> {
        let mut wanted: BTreeSet<String> = assignment.connectors.clone();
        wanted.extend(assignment.tasks.iter().map(|(c, _)| c.clone()));
        let gone: Vec<String> = self
            .connectors
            .keys()
            .filter(|c| !wanted.contains(*c) || snapshot.connector_config(c).is_none())
            .cloned()
            .collect();
        for name in gone {
            self.drop_connector(&name).await;
        }
        let mut started = Vec::new();
        for name in wanted {
            if snapshot.connector_config(&name).is_none() {
                continue;
            }
            let changed =
                self.connectors.get(&name).is_some_and(|l| Some(&l.config) != snapshot.connector_config(&name));
            if changed {
                info!(connector = %name, "connector config changed: restarting its part on this worker");
                self.drop_connector(&name).await;
            }
            if !self.connectors.contains_key(&name) && !self.build(&name, snapshot) {
                continue;
            }
            let tasks: BTreeSet<usize> =
                assignment.tasks.iter().filter(|(c, _)| *c == name).map(|(_, t)| *t as usize).collect();
            let owns = assignment.connectors.contains(&name);
            if self.bring(&name, owns, &tasks, snapshot).await {
                started.push(name);
            }
        }
        started
    }

    /// One connector's part; `true` when its instance started here.
    async fn bring(&mut self, name: &str, owns: bool, tasks: &BTreeSet<usize>, snapshot: &ConfigState) -> bool {
        let target = snapshot.target_state(name).unwrap_or_default();
        let generation = snapshot.task_generation(name);
        let providers = self.providers.clone();
        let listener = self.listener.clone();
        let local = self.connectors.get_mut(name).expect("built by the caller");
        let runner = &mut local.runner;
        // tasks: stop those not assigned, not running (paused, stopped) or of an older generation
        let stale = local.task_generation != generation;
        let stop: Vec<usize> = runner
            .tasks()
            .map(|(id, _, _)| id)
            .filter(|id| stale || !tasks.contains(id) || target != TargetState::Started)
            .collect();
        if !stop.is_empty() {
            runner.stop_tasks(Some(&stop)).await;
            let state = match target {
                TargetState::Paused => State::Paused,
                _ => State::Unassigned,
            };
            for id in stop.iter().filter(|id| tasks.contains(id) || state == State::Unassigned) {
                listener.task_state(name, *id, state, None);
            }
        }
        local.task_generation = generation;
        let mut started = false;
        if owns && !runner.is_started() {
            match target {
                TargetState::Started => match runner.start().await {
                    Ok(()) => {
                        runner.status().set_state(State::Running);
                        started = true;
                    }
                    Err(e) => {
                        error!(connector = name, error = %e.chain(), "connector failed to start");
                        runner.status().fail(e.chain());
                    }
                },
                TargetState::Paused => runner.status().set_state(State::Paused),
                TargetState::Stopped => runner.status().set_state(State::Stopped),
            }
        } else if owns && target != TargetState::Started {
            runner.stop().await;
            runner.status().set_state(if target == TargetState::Paused { State::Paused } else { State::Stopped });
        } else if !owns && runner.is_started() {
            runner.stop().await;
        }
        if target != TargetState::Started {
            for id in tasks {
                if runner.task(*id).is_none() && target == TargetState::Paused {
                    listener.task_state(name, *id, State::Paused, None);
                }
            }
            return started;
        }
        let running: BTreeSet<usize> = runner.running_tasks().into_iter().collect();
        for id in tasks.iter().filter(|id| !running.contains(id)) {
            let Some(stored) = snapshot.task_config(name, *id as u32) else {
                warn!(connector = name, task = id, "assigned a task without a committed config; skipped");
                continue;
            };
            let config = match resolved(&providers, name, stored) {
                Ok(raw) => raw.to_map(),
                Err(e) => {
                    listener.task_state(name, *id, State::Failed, Some(&e));
                    continue;
                }
            };
            let status = runner.task_status(*id, &config);
            if let Err(e) = runner.start_task(*id, config, status.clone()) {
                error!(connector = name, task = id, error = %e, "task cannot start");
                status.set(State::Failed, Some(e.to_string()));
            }
        }
        started
    }

    /// Stops every connector and task here at shutdown, each then `UNASSIGNED` (a safe write:
    /// a worker that took the work over in a newer generation keeps its status).
    pub async fn stop_all(&mut self) {
        let names: Vec<String> = self.connectors.keys().cloned().collect();
        for name in names {
            let Some(local) = self.connectors.get(&name) else { continue };
            let tasks: Vec<usize> = local.runner.tasks().map(|(id, _, _)| id).collect();
            let started = local.runner.is_started();
            self.drop_connector(&name).await;
            for id in tasks {
                self.listener.task_state(&name, id, State::Unassigned, None);
            }
            if started {
                self.listener.connector_state(&name, State::Unassigned, None);
            }
        }
    }
}
