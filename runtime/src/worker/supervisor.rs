//! One supervisor per connector: it owns the connector, starts a *generation* of tasks from its
//! task configs, and replaces the generation when asked (REST restart, pause/resume/stop, or the
//! connector requesting a reconfiguration because its units of work changed). Stopping a
//! generation is the graceful stop of its tasks: they drain, commit offsets and stop within
//! `task.shutdown.graceful.timeout.ms`. Each task has its own stop signal, so one task can be
//! restarted alone (`POST /connectors/{c}/tasks/{t}/restart`) while the others run on.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, info_span, warn, Instrument};

use super::status::{ConnectorStatus, State, TaskStatus};
use super::{sink, source, TaskContext, WorkerError};
use crate::config::{redact_value, ConfigErrors, ConnectorConfig, InitialState, Password, RawConfig, WorkerConfig};
use crate::connector::{ConnectorContext, SinkConnector, SourceConnector, TaskConfig};
use crate::error::TaskError;
use crate::offset::OffsetStore;

/// What the supervisor can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop every task and start them again from fresh task configs.
    Restart,
    /// Restart the connector instance alone (Kafka's plain `POST …/restart`): its tasks run on,
    /// unless the restarted connector's task configs differ.
    RestartConnector,
    /// The connector's units of work changed: new task configs.
    Reconfigure,
    /// Stop the tasks (offsets committed) until `Resume`.
    Pause,
    Resume,
    /// Stop the tasks; the connector stays known, `STOPPED`.
    Stop,
    /// Stop one task gracefully and start it again with the same config.
    RestartTask(usize),
    /// Stop the tasks and end: the connector is deleted (or replaced by a new config).
    Delete,
}

type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;
type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send + 'a>>;

/// What differs between sources and sinks, for the supervisor.
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

/// One task of a generation: its config and status, and its own stop signal.
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

/// The running tasks of one set of task configs.
struct Generation {
    handles: Vec<TaskHandle>,
    tasks: JoinSet<(usize, Result<(), TaskError>)>,
}

pub(super) struct Supervisor {
    launcher: Box<dyn Launcher>,
    connector: Arc<ConnectorConfig>,
    raw: RawConfig,
    worker: Arc<WorkerConfig>,
    offsets: Arc<OffsetStore>,
    status: Arc<ConnectorStatus>,
    commands: mpsc::UnboundedReceiver<Command>,
    worker_shutdown: watch::Receiver<bool>,
    failures: mpsc::UnboundedSender<(String, usize)>,
    generation: Option<Generation>,
    /// Whether the connector's own `start` succeeded (a restart tries it again when not).
    started: bool,
}

/// Task configs as REST shows them: secrets hidden, provider references kept.
fn redact(raw: &RawConfig, config: &TaskConfig) -> TaskConfig {
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

pub(super) struct Wiring {
    pub worker: Arc<WorkerConfig>,
    pub offsets: Arc<OffsetStore>,
    pub worker_shutdown: watch::Receiver<bool>,
    pub failures: mpsc::UnboundedSender<(String, usize)>,
    /// Keep a connector whose start fails, `FAILED`, instead of stopping the worker.
    pub keep_failed: bool,
}

impl Supervisor {
    /// Starts the connector and its first generation of tasks. A failing connector start stops
    /// the worker's start-up, as Kafka's `Stopping after connector error`, unless
    /// `wiring.keep_failed` is set: then the connector stays `FAILED` (its error as the trace)
    /// for a REST restart to try again, and the others run.
    pub async fn start(
        mut launcher: Box<dyn Launcher>,
        connector: ConnectorConfig,
        raw: RawConfig,
        status: Arc<ConnectorStatus>,
        commands: (mpsc::UnboundedSender<Command>, mpsc::UnboundedReceiver<Command>),
        wiring: Wiring,
    ) -> Result<Supervisor, WorkerError> {
        let started = match launcher.start(ConnectorContext::new(commands.0)).await {
            Ok(()) => true,
            Err(e) if wiring.keep_failed => {
                error!(connector = %connector.name, error = %e.chain(), "connector failed to start; it stays FAILED until restarted over REST (--on-task-failure continue)");
                status.fail(e.chain());
                false
            }
            Err(e) => return Err(WorkerError::Connector { name: connector.name.clone(), message: e.chain() }),
        };
        let mut s = Supervisor {
            launcher,
            connector: Arc::new(connector),
            raw,
            worker: wiring.worker,
            offsets: wiring.offsets,
            status,
            commands: commands.1,
            worker_shutdown: wiring.worker_shutdown,
            failures: wiring.failures,
            generation: None,
            started,
        };
        if !started {
            return Ok(s);
        }
        match s.raw.initial_state.unwrap_or_default() {
            InitialState::Running => s.generation = Some(s.start_generation()?),
            InitialState::Paused => s.status.set_state(State::Paused),
            InitialState::Stopped => s.status.set_state(State::Stopped),
        }
        Ok(s)
    }

    fn start_generation(&mut self) -> Result<Generation, WorkerError> {
        let cc = &self.connector;
        let configs = self.launcher.task_configs(cc.tasks_max);
        if configs.len() > cc.tasks_max && cc.tasks_max_enforce {
            return Err(WorkerError::TooManyTasks { name: cc.name.clone(), got: configs.len(), max: cc.tasks_max });
        }
        let statuses: Vec<Arc<TaskStatus>> =
            configs.iter().enumerate().map(|(i, c)| Arc::new(self.status.new_task(i, redact(&self.raw, c)))).collect();
        let mut tasks = JoinSet::new();
        let mut handles = Vec::with_capacity(configs.len());
        for ((id, config), status) in configs.into_iter().enumerate().zip(&statuses) {
            handles.push(self.spawn_task(&mut tasks, id, config, status.clone())?);
        }
        let count = handles.len();
        *self.status.tasks.write().unwrap() = statuses;
        self.status.set_state(State::Running);
        info!(connector = %cc.name, class = %cc.class, kind = cc.kind.as_str(), tasks = count, "connector running");
        Ok(Generation { handles, tasks })
    }

    /// Starts task `id` of the generation whose futures `tasks` holds.
    fn spawn_task(
        &self,
        tasks: &mut JoinSet<(usize, Result<(), TaskError>)>,
        id: usize,
        config: TaskConfig,
        status: Arc<TaskStatus>,
    ) -> Result<TaskHandle, WorkerError> {
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
        let abort = tasks.spawn(
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
        Ok(TaskHandle { config, status, stop, stop_started, abort, running: true })
    }

    /// Notes that task `id` ended; a failure goes to the worker.
    fn ended(&self, generation: &mut Generation, id: usize, result: &Result<(), TaskError>) {
        if let Some(h) = generation.handles.get_mut(id) {
            h.running = false;
        }
        if result.is_err() {
            let _ = self.failures.send((self.connector.name.clone(), id));
        }
    }

    /// Waits, within `task.shutdown.graceful.timeout.ms`, until task `until` has ended (every
    /// task when `None`); `false` when the time ran out.
    async fn await_tasks(&self, generation: &mut Generation, until: Option<usize>) -> bool {
        let deadline = tokio::time::sleep(self.worker.shutdown_timeout + Duration::from_millis(500));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                joined = generation.tasks.join_next() => match joined {
                    None => return true,
                    Some(Ok((id, result))) => {
                        self.ended(generation, id, &result);
                        if until == Some(id) {
                            return true;
                        }
                    }
                    Some(Err(_)) => {}
                },
                _ = &mut deadline => return false,
            }
        }
    }

    /// Stops task `id` gracefully (it drains and commits) and starts it again with the same
    /// config; the other tasks run on.
    async fn restart_task(&mut self, id: usize) {
        let Some(mut generation) = self.generation.take() else { return };
        if let Some(handle) = generation.handles.get(id).filter(|h| h.running) {
            handle.request_stop(Instant::now());
            if !self.await_tasks(&mut generation, Some(id)).await {
                warn!(connector = %self.connector.name, task = id, "the task did not stop within task.shutdown.graceful.timeout.ms; its uncommitted offsets are left for the next start");
                generation.handles[id].abort.abort();
            }
        }
        if let Some(old) = generation.handles.get(id) {
            let (config, status) = (old.config.clone(), old.status.clone());
            status.set(State::Unassigned, None);
            match self.spawn_task(&mut generation.tasks, id, config, status.clone()) {
                Ok(handle) => generation.handles[id] = handle,
                Err(e) => {
                    error!(connector = %self.connector.name, task = id, error = %e, "the task cannot start again");
                    status.set(State::Failed, Some(e.to_string()));
                }
            }
        }
        self.generation = Some(generation);
    }

    /// Stops the current tasks gracefully (each drains and commits), within the budget.
    async fn stop_generation(&mut self, then: State) {
        let Some(mut generation) = self.generation.take() else { return };
        let now = Instant::now();
        generation.handles.iter().for_each(|h| h.request_stop(now));
        if !self.await_tasks(&mut generation, None).await {
            warn!(connector = %self.connector.name, tasks = generation.tasks.len(), "tasks did not stop within task.shutdown.graceful.timeout.ms; their uncommitted offsets are left for the next start");
            generation.tasks.abort_all();
        }
        for t in self.status.tasks.read().unwrap().iter() {
            if t.state().0 == State::Running {
                t.set(if then == State::Running { State::Unassigned } else { then }, None);
            }
        }
        self.status.set_state(then);
    }

    async fn restart(&mut self) {
        if !self.started {
            match self.launcher.start(ConnectorContext::new(self.status.control.clone())).await {
                Ok(()) => self.started = true,
                Err(e) => {
                    error!(connector = %self.connector.name, error = %e.chain(), "connector failed to start again");
                    self.status.fail(e.chain());
                    return;
                }
            }
        }
        match self.start_generation() {
            Ok(g) => self.generation = Some(g),
            Err(e) => {
                error!(connector = %self.connector.name, error = %e, "connector cannot start its tasks");
                self.status.fail(e.to_string());
            }
        }
    }

    /// Restarts the connector instance (stop, start) and leaves its tasks running unless the
    /// task configs it now gives differ; a connector that had no tasks (it failed, or never
    /// started) starts them. A paused or stopped connector stays so.
    async fn restart_connector(&mut self) {
        if self.started {
            self.launcher.stop().await;
            self.started = false;
        }
        let before = self.status.state();
        if let Err(e) = self.launcher.start(ConnectorContext::new(self.status.control.clone())).await {
            error!(connector = %self.connector.name, error = %e.chain(), "connector failed to start again");
            self.status.fail(e.chain());
            return;
        }
        self.started = true;
        let Some(generation) = &self.generation else {
            match before {
                State::Paused | State::Stopped => self.status.set_state(before),
                _ => self.restart().await,
            }
            return;
        };
        let configs = self.launcher.task_configs(self.connector.tasks_max);
        let same = configs.len() == generation.handles.len()
            && configs.iter().zip(&generation.handles).all(|(c, h)| *c == h.config);
        if same {
            self.status.set_state(State::Running);
            info!(connector = %self.connector.name, "connector restarted; its tasks run on");
        } else {
            info!(connector = %self.connector.name, "connector restarted with new task configs: restarting its tasks");
            self.stop_generation(State::Running).await;
            self.restart().await;
        }
    }

    /// Stops the tasks and then the connector instance; returns its name.
    async fn end(mut self) -> String {
        self.stop_generation(State::Unassigned).await;
        if self.started {
            self.launcher.stop().await;
        }
        self.connector.name.clone()
    }

    /// Runs until the worker shuts down or the connector is deleted; returns its name.
    pub async fn run(mut self) -> String {
        loop {
            let has_tasks = self.generation.as_ref().is_some_and(|g| !g.tasks.is_empty());
            tokio::select! {
                _ = wait_shutdown(&mut self.worker_shutdown) => return self.end().await,
                command = self.commands.recv() => match command {
                    None => {}
                    Some(c) => {
                        info!(connector = %self.connector.name, command = ?c, "connector command");
                        match c {
                            Command::Restart | Command::Reconfigure => {
                                self.stop_generation(State::Running).await;
                                self.restart().await;
                            }
                            Command::Pause => self.stop_generation(State::Paused).await,
                            Command::Stop => self.stop_generation(State::Stopped).await,
                            Command::Resume if self.generation.is_none() => self.restart().await,
                            Command::Resume => {}
                            Command::RestartTask(id) => self.restart_task(id).await,
                            Command::RestartConnector => self.restart_connector().await,
                            Command::Delete => return self.end().await,
                        }
                    }
                },
                joined = async { self.generation.as_mut().unwrap().tasks.join_next().await }, if has_tasks => {
                    if let (Some(Ok((id, result))), Some(mut generation)) = (joined, self.generation.take()) {
                        self.ended(&mut generation, id, &result);
                        self.generation = Some(generation);
                    }
                }
            }
        }
    }
}

/// Resolves once the worker shuts down (or is gone).
async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
