//! One supervisor per connector: it owns the connector, starts a *generation* of tasks from its
//! task configs, and replaces the generation when asked (REST restart, pause/resume/stop, or the
//! connector requesting a reconfiguration because its units of work changed). Stopping a
//! generation is the graceful stop of its tasks: they drain, commit offsets and stop within
//! `task.shutdown.graceful.timeout.ms`.

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
    /// The connector's units of work changed: new task configs.
    Reconfigure,
    /// Stop the tasks (offsets committed) until `Resume`.
    Pause,
    Resume,
    /// Stop the tasks; the connector stays known, `STOPPED`.
    Stop,
}

type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;
type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send + 'a>>;

/// What differs between sources and sinks, for the supervisor.
pub(super) trait Launcher: Send + Sync + 'static {
    fn start(&mut self, ctx: ConnectorContext) -> StartFuture<'_>;
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig>;
    fn task(&self, config: &TaskConfig, ctx: TaskContext) -> Result<TaskFuture, ConfigErrors>;
}

pub(super) struct SourceLauncher<C>(pub C);
pub(super) struct SinkLauncher<C>(pub C);

impl<C: SourceConnector> Launcher for SourceLauncher<C> {
    fn start(&mut self, ctx: ConnectorContext) -> StartFuture<'_> {
        Box::pin(self.0.start(ctx))
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
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        self.0.task_configs(max_tasks)
    }
    fn task(&self, config: &TaskConfig, ctx: TaskContext) -> Result<TaskFuture, ConfigErrors> {
        let task = self.0.create_task(config)?;
        Ok(Box::pin(sink::run(ctx, task)))
    }
}

/// The running tasks of one set of task configs.
struct Generation {
    stop: watch::Sender<bool>,
    stop_started: Arc<OnceLock<Instant>>,
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
            InitialState::Paused => *s.status.state.lock().unwrap() = State::Paused,
            InitialState::Stopped => *s.status.state.lock().unwrap() = State::Stopped,
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
            configs.iter().enumerate().map(|(i, c)| Arc::new(TaskStatus::new(i, redact(&self.raw, c)))).collect();
        let (stop, _) = watch::channel(false);
        let stop_started = Arc::new(OnceLock::new());
        let mut tasks = JoinSet::new();
        for ((id, config), status) in configs.iter().enumerate().zip(&statuses) {
            let ctx = TaskContext {
                worker: self.worker.clone(),
                connector: cc.clone(),
                task_id: id,
                offsets: self.offsets.clone(),
                status: status.clone(),
                topics: self.status.topics.clone(),
                shutdown: stop.subscribe(),
                shutdown_started: stop_started.clone(),
            };
            let fut = self.launcher.task(config, ctx)?;
            let status = status.clone();
            let span = info_span!("task", connector = %cc.name, task = id);
            tasks.spawn(
                async move {
                    let result = fut.await;
                    match &result {
                        Ok(()) => info!("task stopped"),
                        Err(e) => {
                            status.set(State::Failed, Some(e.to_string()));
                            error!(error = %e, "task failed");
                        }
                    }
                    (id, result)
                }
                .instrument(span),
            );
        }
        *self.status.tasks.write().unwrap() = statuses;
        *self.status.state.lock().unwrap() = State::Running;
        info!(connector = %cc.name, class = %cc.class, kind = cc.kind.as_str(), tasks = configs.len(), "connector running");
        Ok(Generation { stop, stop_started, tasks })
    }

    /// Stops the current tasks gracefully (each drains and commits), within the budget.
    async fn stop_generation(&mut self, then: State) {
        let Some(mut generation) = self.generation.take() else { return };
        let _ = generation.stop_started.set(Instant::now());
        let _ = generation.stop.send(true);
        let deadline = tokio::time::sleep(self.worker.shutdown_timeout + Duration::from_millis(500));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                joined = generation.tasks.join_next() => match joined {
                    None => break,
                    Some(Ok((id, Err(_)))) => { let _ = self.failures.send((self.connector.name.clone(), id)); }
                    Some(_) => {}
                },
                _ = &mut deadline => {
                    warn!(connector = %self.connector.name, tasks = generation.tasks.len(), "tasks did not stop within task.shutdown.graceful.timeout.ms; their uncommitted offsets are left for the next start");
                    generation.tasks.abort_all();
                    break;
                }
            }
        }
        for t in self.status.tasks.read().unwrap().iter() {
            if t.state().0 == State::Running {
                t.set(if then == State::Running { State::Unassigned } else { then }, None);
            }
        }
        *self.status.state.lock().unwrap() = then;
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
        *self.status.trace.lock().unwrap() = None;
        match self.start_generation() {
            Ok(g) => self.generation = Some(g),
            Err(e) => {
                error!(connector = %self.connector.name, error = %e, "connector cannot start its tasks");
                *self.status.state.lock().unwrap() = State::Failed;
            }
        }
    }

    /// Runs until the worker shuts down.
    pub async fn run(mut self) {
        loop {
            let has_tasks = self.generation.as_ref().is_some_and(|g| !g.tasks.is_empty());
            tokio::select! {
                _ = wait_shutdown(&mut self.worker_shutdown) => {
                    self.stop_generation(State::Unassigned).await;
                    return;
                }
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
                        }
                    }
                },
                joined = async { self.generation.as_mut().unwrap().tasks.join_next().await }, if has_tasks => {
                    if let Some(Ok((id, Err(_)))) = joined {
                        let _ = self.failures.send((self.connector.name.clone(), id));
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
