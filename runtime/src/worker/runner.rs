//! A connector on one worker, split as Kafka's `Worker` splits it: the connector instance
//! (`start`, `task_configs`, `stop`) and a handle per task this worker runs, each started and
//! stopped on its own. The standalone [`super::supervisor`] runs the instance and every task of
//! a connector; a cluster worker runs what the group assigned it: the instance on one worker,
//! each task wherever the leader put it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, info_span, Instrument};

use super::status::{ConnectorStatus, State, TaskStatus};
use super::{sink, source, TaskContext, WorkerError};
use crate::config::{redact_value, ConfigErrors, ConnectorConfig, Password, RawConfig, WorkerConfig};
use crate::connector::{ConnectorContext, SinkConnector, SourceConnector, TaskConfig};
use crate::error::TaskError;
use crate::offset::OffsetStore;

type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;
type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send + 'a>>;

/// What differs between sources and sinks, for the runner.
pub(super) trait Launcher: Send + Sync + 'static {
    fn start(&mut self, ctx: ConnectorContext) -> StartFuture<'_>;
    fn stop(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig>;
    fn task(&self, config: &TaskConfig, ctx: TaskContext) -> Result<TaskFuture, ConfigErrors>;
}

pub(super) struct SourceLauncher<C>(pub C);
pub(super) struct SinkLauncher<C>(pub C);

impl<C: SourceConnector> Launcher for SourceLauncher<C> {
    fn start(&mut self, ctx: ConnectorContext) -> StartFuture<'_> {
        Box::pin(self.0.start(ctx))
    }
    fn stop(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.stop())
    }
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        self.0.task_configs(max_tasks)
    }
    fn task(&self, config: &TaskConfig, ctx: TaskContext) -> Result<TaskFuture, ConfigErrors> {
        let task = self.0.create_task(config)?;
        Ok(Box::pin(source::run(ctx, task)))
    }
}

impl<C: SinkConnector> Launcher for SinkLauncher<C> {
    fn start(&mut self, ctx: ConnectorContext) -> StartFuture<'_> {
        Box::pin(self.0.start(ctx))
    }
    fn stop(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.stop())
    }
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        self.0.task_configs(max_tasks)
    }
    fn task(&self, config: &TaskConfig, ctx: TaskContext) -> Result<TaskFuture, ConfigErrors> {
        let task = self.0.create_task(config)?;
        Ok(Box::pin(sink::run(ctx, task)))
    }
}

/// One running (or ended) task: its config and status, and its own stop signal.
struct TaskHandle {
    config: TaskConfig,
    status: Arc<TaskStatus>,
    stop: watch::Sender<bool>,
    stop_started: Arc<OnceLock<Instant>>,
    abort: tokio::task::AbortHandle,
    /// Whether its future is still running (a failed or stopped task has ended).
    running: bool,
}

impl TaskHandle {
    fn request_stop(&self, at: Instant) {
        let _ = self.stop_started.set(at);
        let _ = self.stop.send(true);
    }
}

/// How a task's future ended.
pub type TaskEnded = (usize, Result<(), TaskError>);

/// Task configs as REST shows them: secrets hidden, provider references kept.
pub fn redact(raw: &RawConfig, config: &TaskConfig) -> TaskConfig {
    let shown = raw.redacted();
    config
        .iter()
        .map(|(k, v)| {
            let v = match raw.entries.get(k).is_some_and(|e| e.unresolved.is_some()) {
                true => shown.get(k).cloned().unwrap_or_else(|| Password::HIDDEN.into()),
                false => redact_value(k, v).into_owned(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// A connector on this worker: its instance (started or not) and the tasks it runs here.
pub struct ConnectorRunner {
    launcher: Box<dyn Launcher>,
    connector: Arc<ConnectorConfig>,
    raw: RawConfig,
    worker: Arc<WorkerConfig>,
    offsets: Arc<OffsetStore>,
    status: Arc<ConnectorStatus>,
    started: bool,
    handles: BTreeMap<usize, TaskHandle>,
    joins: JoinSet<TaskEnded>,
}

impl ConnectorRunner {
    pub(super) fn new(
        launcher: Box<dyn Launcher>,
        connector: ConnectorConfig,
        raw: RawConfig,
        status: Arc<ConnectorStatus>,
        worker: Arc<WorkerConfig>,
        offsets: Arc<OffsetStore>,
    ) -> ConnectorRunner {
        ConnectorRunner {
            launcher,
            connector: Arc::new(connector),
            raw,
            worker,
            offsets,
            status,
            started: false,
            handles: BTreeMap::new(),
            joins: JoinSet::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.connector.name
    }

    pub fn config(&self) -> &Arc<ConnectorConfig> {
        &self.connector
    }

    /// The config as resolved (`${…}` references replaced).
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    pub fn status(&self) -> &Arc<ConnectorStatus> {
        &self.status
    }

    /// Whether the connector instance's `start` succeeded and it was not stopped since.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Starts the connector instance (a started one is stopped first).
    pub async fn start(&mut self) -> Result<(), TaskError> {
        self.stop().await;
        self.launcher.start(ConnectorContext::new(self.status.control.clone())).await?;
        self.started = true;
        tracing::info!(connector = %self.connector.name, "connector started");
        Ok(())
    }

    /// Stops the connector instance (its tasks run on).
    pub async fn stop(&mut self) {
        if std::mem::take(&mut self.started) {
            self.launcher.stop().await;
        }
    }

    /// The started instance's task configs, held to `tasks.max` when `tasks.max.enforce` is set.
    pub fn task_configs(&self) -> Result<Vec<TaskConfig>, WorkerError> {
        let cc = &self.connector;
        let configs = self.launcher.task_configs(cc.tasks_max);
        if configs.len() > cc.tasks_max && cc.tasks_max_enforce {
            return Err(WorkerError::TooManyTasks { name: cc.name.clone(), got: configs.len(), max: cc.tasks_max });
        }
        Ok(configs)
    }

    /// A status for task `id` running `config` (secrets hidden), reporting where the
    /// connector's status reports.
    pub fn task_status(&self, id: usize, config: &TaskConfig) -> Arc<TaskStatus> {
        Arc::new(self.status.new_task(id, redact(&self.raw, config)))
    }

    /// The ids of the tasks whose futures still run.
    pub fn running_tasks(&self) -> Vec<usize> {
        self.handles.iter().filter(|(_, h)| h.running).map(|(id, _)| *id).collect()
    }

    /// Every task this runner holds, running or ended, with its config.
    pub fn tasks(&self) -> impl Iterator<Item = (usize, &TaskConfig, &Arc<TaskStatus>)> {
        self.handles.iter().map(|(id, h)| (*id, &h.config, &h.status))
    }

    /// Whether any task future is still to be joined.
    pub fn has_tasks(&self) -> bool {
        !self.joins.is_empty()
    }

    /// Starts task `id` with `config`, reporting to `status` (a task held under the same id is
    /// replaced: stop it first).
    pub fn start_task(&mut self, id: usize, config: TaskConfig, status: Arc<TaskStatus>) -> Result<(), WorkerError> {
        let cc = &self.connector;
        let (stop, shutdown) = watch::channel(false);
        let stop_started = Arc::new(OnceLock::new());
        let ctx = TaskContext {
            worker: self.worker.clone(),
            connector: cc.clone(),
            task_id: id,
            offsets: self.offsets.clone(),
            status: status.clone(),
            topics: self.status.topics.clone(),
            shutdown,
            shutdown_started: stop_started.clone(),
        };
        let fut = self.launcher.task(&config, ctx)?;
        let task_status = status.clone();
        let span = info_span!("task", connector = %cc.name, task = id);
        let abort = self.joins.spawn(
            async move {
                let result = fut.await;
                match &result {
                    Ok(()) => info!("task stopped"),
                    Err(e) => {
                        task_status.set(State::Failed, Some(e.to_string()));
                        error!(error = %e, "task failed");
                    }
                }
                (id, result)
            }
            .instrument(span),
        );
        self.handles.insert(id, TaskHandle { config, status, stop, stop_started, abort, running: true });
        Ok(())
    }

    /// The next task future to end (pending for ever when none runs).
    pub async fn next_ended(&mut self) -> TaskEnded {
        loop {
            match self.joins.join_next().await {
                Some(Ok((id, result))) => {
                    if let Some(h) = self.handles.get_mut(&id) {
                        h.running = false;
                    }
                    return (id, result);
                }
                Some(Err(_)) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Stops the tasks `ids` (every task when `None`) gracefully: each drains and commits within
    /// `task.shutdown.graceful.timeout.ms`; those still running then are aborted, their
    /// uncommitted offsets left for the next start. Their handles are dropped. Answers how every
    /// task that ended meanwhile ended (other tasks may fail while waiting) and whether the
    /// selected ones stopped in time.
    pub async fn stop_tasks(&mut self, ids: Option<&[usize]>) -> (Vec<TaskEnded>, bool) {
        let selected: Vec<usize> = match ids {
            Some(ids) => ids.iter().copied().filter(|id| self.handles.contains_key(id)).collect(),
            None => self.handles.keys().copied().collect(),
        };
        let now = Instant::now();
        selected.iter().for_each(|id| self.handles[id].request_stop(now));
        let mut ended = Vec::new();
        let deadline = tokio::time::sleep(self.worker.shutdown_timeout + Duration::from_millis(500));
        tokio::pin!(deadline);
        let mut in_time = true;
        while selected.iter().any(|id| self.handles[id].running) {
            tokio::select! {
                e = self.next_ended() => ended.push(e),
                _ = &mut deadline => {
                    in_time = false;
                    break;
                }
            }
        }
        for id in &selected {
            let handle = self.handles.remove(id).expect("selected from the handles");
            if handle.running {
                handle.abort.abort();
            }
        }
        (ended, in_time)
    }

    /// The config task `id` last ran with, and its status.
    pub fn task(&self, id: usize) -> Option<(TaskConfig, Arc<TaskStatus>)> {
        self.handles.get(&id).map(|h| (h.config.clone(), h.status.clone()))
    }

    /// Stops every task and the connector instance (a task failing meanwhile is logged by
    /// its own future).
    pub async fn shut_down(&mut self) {
        self.stop_tasks(None).await;
        self.stop().await;
    }
}
