//! The standalone worker: runs each connector's tasks on tokio, owns the offset store, the REST
//! API, progress logs and graceful shutdown.

mod clients;
mod dead_letter;
mod sink;
mod source;
mod status;
mod submitted;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, info_span, warn, Instrument};

pub use clients::{admin_config, check_brokers, consumer_config, producer_config};
pub use source::ConnectorOffsets;
pub use status::{ConnectorStatus, State, TaskStatus, WorkerState};
pub use submitted::SubmittedRecords;

use crate::config::{
    is_secret_key, ConfigErrors, ConfigReader, ConnectorConfig, ConnectorKind, RawConfig, UnknownKey, WorkerConfig,
};
use crate::connector::{SinkConnector, SourceConnector, TaskConfig};
use crate::error::TaskError;
use crate::offset::{OffsetStore, OffsetStoreError};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Offsets(#[from] OffsetStoreError),
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("cannot reach Kafka at {servers} (bootstrap.servers in {origin}): {message}")]
    Kafka { servers: String, origin: String, message: String },
    #[error("connector {name}: returned {got} task configs, more than tasks.max={max} (tasks.max.enforce=true)")]
    TooManyTasks { name: String, got: usize, max: usize },
    #[error("connector {name} is configured twice")]
    Duplicate { name: String },
    #[error("REST API cannot listen on {addr} (listeners): {source}")]
    Rest { addr: std::net::SocketAddr, source: std::io::Error },
}

/// What a task needs from the worker.
#[derive(Clone)]
pub struct TaskContext {
    pub worker: Arc<WorkerConfig>,
    pub connector: Arc<ConnectorConfig>,
    pub task_id: usize,
    pub offsets: Arc<OffsetStore>,
    pub status: Arc<TaskStatus>,
    shutdown: watch::Receiver<bool>,
    shutdown_started: Arc<OnceLock<Instant>>,
}

impl TaskContext {
    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sleeps, waking early at shutdown.
    pub async fn sleep(&self, d: Duration) {
        let mut rx = self.shutdown.clone();
        let _ = tokio::time::timeout(d, rx.wait_for(|s| *s)).await;
    }

    /// What is left of `task.shutdown.graceful.timeout.ms` (the whole budget before shutdown).
    pub fn remaining_budget(&self) -> Duration {
        let total = self.worker.shutdown_timeout;
        match self.shutdown_started.get() {
            Some(t) => total.saturating_sub(t.elapsed()),
            None => total,
        }
    }
}

/// A progress line per task every few seconds, when records moved.
struct Progress {
    last: Instant,
    last_count: u64,
}

const PROGRESS_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new() -> Self {
        Progress { last: Instant::now(), last_count: 0 }
    }
    fn tick(&mut self, status: &TaskStatus) {
        if self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        let count = status.records.load(Ordering::Relaxed);
        if count != self.last_count {
            let rate = (count - self.last_count) as f64 / self.last.elapsed().as_secs_f64();
            info!(records = count, records_per_s = rate.round() as u64, "progress");
        }
        self.last = Instant::now();
        self.last_count = count;
    }
}

/// A connector whose config parsed; starting it needs only a worker.
pub struct PreparedConnector {
    pub config: ConnectorConfig,
    pub warnings: Vec<UnknownKey>,
    start: Box<dyn FnOnce(&mut Worker, ConnectorConfig, &RawConfig) -> Result<(), WorkerError> + Send>,
    raw: RawConfig,
}

impl PreparedConnector {
    pub fn start(self, worker: &mut Worker) -> Result<(), WorkerError> {
        (self.start)(worker, self.config, &self.raw)
    }
}

fn prepare<C, F>(
    raw: &RawConfig,
    kind: ConnectorKind,
    parse: F,
    start: Box<dyn FnOnce(&mut Worker, ConnectorConfig, &RawConfig, C) -> Result<(), WorkerError> + Send>,
) -> Result<PreparedConnector, ConfigErrors>
where
    C: Send + 'static,
    F: FnOnce(&mut ConfigReader<'_>) -> Option<C>,
{
    let mut reader = ConfigReader::new(raw);
    let config = ConnectorConfig::parse(&mut reader, kind);
    let connector = parse(&mut reader);
    let (errors, warnings) = reader.finish();
    match (config, connector) {
        (Some(config), Some(connector)) if errors.is_empty() => Ok(PreparedConnector {
            config,
            warnings,
            start: Box::new(move |w, cc, raw| start(w, cc, raw, connector)),
            raw: raw.clone(),
        }),
        _ => Err(ConfigErrors(errors)),
    }
}

/// Parses a source connector file: framework keys and the connector's own, every error at once.
pub fn prepare_source<C: SourceConnector>(raw: &RawConfig) -> Result<PreparedConnector, ConfigErrors> {
    prepare(raw, ConnectorKind::Source, C::from_config, Box::new(|w, cc, raw, c: C| w.start_source(cc, c, raw)))
}

/// Parses a sink connector file.
pub fn prepare_sink<C: SinkConnector>(raw: &RawConfig) -> Result<PreparedConnector, ConfigErrors> {
    prepare(raw, ConnectorKind::Sink, C::from_config, Box::new(|w, cc, raw, c: C| w.start_sink(cc, c, raw)))
}

type TaskOutcome = (String, usize, Result<(), TaskError>);

/// The standalone worker.
pub struct Worker {
    config: Arc<WorkerConfig>,
    offsets: Arc<OffsetStore>,
    state: Arc<WorkerState>,
    shutdown_tx: watch::Sender<bool>,
    shutdown_started: Arc<OnceLock<Instant>>,
    tasks: JoinSet<TaskOutcome>,
}

/// Asks a running worker to stop gracefully.
#[derive(Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// How the worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stopped on a signal, or every task finished.
    Clean,
    /// A task failed (and `exit_on_task_failure` was set), or tasks failed before shutdown.
    TaskFailed,
    /// A second signal cut the graceful shutdown short.
    Forced,
}

impl Worker {
    /// Opens (and locks) the offset file.
    pub fn new(config: WorkerConfig) -> Result<Worker, WorkerError> {
        let offsets = Arc::new(OffsetStore::open(&config.offset_file)?);
        let worker_id = config.listener.map(|a| a.to_string()).unwrap_or_else(|| "standalone".into());
        let (shutdown_tx, _) = watch::channel(false);
        Ok(Worker {
            config: Arc::new(config),
            offsets,
            state: Arc::new(WorkerState { worker_id, connectors: Default::default() }),
            shutdown_tx,
            shutdown_started: Arc::new(OnceLock::new()),
            tasks: JoinSet::new(),
        })
    }

    pub fn state(&self) -> Arc<WorkerState> {
        self.state.clone()
    }

    pub fn offsets(&self) -> Arc<OffsetStore> {
        self.offsets.clone()
    }

    /// Stops the worker as SIGTERM does (for embedding and tests).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown_tx.clone())
    }

    /// Fails when no broker answers within `timeout`.
    pub async fn check_kafka(&self, timeout: Duration) -> Result<(), WorkerError> {
        check_brokers(&self.config, timeout).await.map(|n| info!(brokers = n, "kafka reachable")).map_err(|e| {
            WorkerError::Kafka {
                servers: self.config.bootstrap_servers.clone(),
                origin: self.config.origin.clone(),
                message: e.to_string(),
            }
        })
    }

    fn register(
        &mut self,
        cc: &ConnectorConfig,
        raw: &RawConfig,
        configs: &[TaskConfig],
    ) -> Result<Vec<Arc<TaskStatus>>, WorkerError> {
        if configs.len() > cc.tasks_max && cc.tasks_max_enforce {
            return Err(WorkerError::TooManyTasks { name: cc.name.clone(), got: configs.len(), max: cc.tasks_max });
        }
        let mut connectors = self.state.connectors.write().unwrap();
        if connectors.contains_key(&cc.name) {
            return Err(WorkerError::Duplicate { name: cc.name.clone() });
        }
        let redact = |c: &TaskConfig| -> TaskConfig {
            let shown = raw.redacted();
            c.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) || raw.entries.get(k).is_some_and(|e| e.unresolved.is_some()) {
                        shown.get(k).cloned().unwrap_or_else(|| crate::config::Password::HIDDEN.into())
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect()
        };
        let tasks: Vec<Arc<TaskStatus>> =
            configs.iter().enumerate().map(|(i, c)| Arc::new(TaskStatus::new(i, redact(c)))).collect();
        connectors.insert(
            cc.name.clone(),
            Arc::new(ConnectorStatus {
                name: cc.name.clone(),
                class: cc.class.clone(),
                kind: cc.kind,
                config: raw.redacted(),
                tasks: tasks.clone(),
                state: Mutex::new(State::Running),
            }),
        );
        Ok(tasks)
    }

    fn context(&self, cc: &Arc<ConnectorConfig>, task_id: usize, status: Arc<TaskStatus>) -> TaskContext {
        TaskContext {
            worker: self.config.clone(),
            connector: cc.clone(),
            task_id,
            offsets: self.offsets.clone(),
            status,
            shutdown: self.shutdown_tx.subscribe(),
            shutdown_started: self.shutdown_started.clone(),
        }
    }

    fn spawn<F>(&mut self, ctx: &TaskContext, fut: F)
    where
        F: std::future::Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        let name = ctx.connector.name.clone();
        let id = ctx.task_id;
        let status = ctx.status.clone();
        let span = info_span!("task", connector = %name, task = id);
        self.tasks.spawn(
            async move {
                let result = fut.await;
                match &result {
                    Ok(()) => {
                        status.set(State::Unassigned, None);
                        info!("task stopped");
                    }
                    Err(e) => {
                        status.set(State::Failed, Some(e.to_string()));
                        error!(error = %e, "task failed");
                    }
                }
                (name, id, result)
            }
            .instrument(span),
        );
    }

    /// Registers a connector and spawns one task per task config.
    fn launch<T, Fut>(
        &mut self,
        cc: ConnectorConfig,
        raw: &RawConfig,
        configs: Vec<TaskConfig>,
        create: impl Fn(&TaskConfig) -> Result<T, ConfigErrors>,
        run: impl Fn(TaskContext, T) -> Fut,
    ) -> Result<(), WorkerError>
    where
        Fut: std::future::Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        let statuses = self.register(&cc, raw, &configs)?;
        let tasks = configs.iter().map(create).collect::<Result<Vec<_>, _>>()?;
        let cc = Arc::new(cc);
        info!(connector = %cc.name, class = %cc.class, kind = cc.kind.as_str(), tasks = tasks.len(), "connector started");
        for ((id, task), status) in tasks.into_iter().enumerate().zip(statuses) {
            let ctx = self.context(&cc, id, status);
            self.spawn(&ctx.clone(), run(ctx, task));
        }
        Ok(())
    }

    /// Starts a source connector's tasks.
    pub fn start_source<C: SourceConnector>(
        &mut self,
        cc: ConnectorConfig,
        connector: C,
        raw: &RawConfig,
    ) -> Result<(), WorkerError> {
        let configs = connector.task_configs(cc.tasks_max);
        self.launch(cc, raw, configs, |c| connector.create_task(c), source::run::<C::Task>)
    }

    /// Starts a sink connector's tasks.
    pub fn start_sink<C: SinkConnector>(
        &mut self,
        cc: ConnectorConfig,
        connector: C,
        raw: &RawConfig,
    ) -> Result<(), WorkerError> {
        let configs = connector.task_configs(cc.tasks_max);
        self.launch(cc, raw, configs, |c| connector.create_task(c), sink::run::<C::Task>)
    }

    /// Serves REST, runs until SIGINT/SIGTERM (or, with `exit_on_task_failure`, a failed task),
    /// then stops every task within `task.shutdown.graceful.timeout.ms` and flushes offsets.
    pub async fn run(mut self, exit_on_task_failure: bool) -> Result<Exit, WorkerError> {
        let _rest = match self.config.listener {
            Some(addr) => Some(
                crate::rest::serve(addr, self.state.clone(), self.offsets.clone())
                    .await
                    .map_err(|source| WorkerError::Rest { addr, source })?,
            ),
            None => None,
        };
        let mut term = signal(SignalKind::terminate()).expect("signal handler");
        let mut int = signal(SignalKind::interrupt()).expect("signal handler");
        let mut failed = false;
        let mut requested = self.shutdown_tx.subscribe();
        loop {
            tokio::select! {
                _ = requested.wait_for(|s| *s) => { info!("shutdown requested: stopping"); break }
                _ = term.recv() => { info!("SIGTERM: stopping"); break }
                _ = int.recv() => { info!("SIGINT: stopping"); break }
                joined = self.tasks.join_next() => match joined {
                    None => { info!("no task left running"); break }
                    Some(Ok((_, _, Err(_)))) => {
                        failed = true;
                        if exit_on_task_failure { warn!("a task failed: stopping the worker"); break }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => { failed = true; error!(error = %e, "task panicked"); if exit_on_task_failure { break } }
                }
            }
        }
        let _ = self.shutdown_started.set(Instant::now());
        let _ = self.shutdown_tx.send(true);
        let budget = self.config.shutdown_timeout + Duration::from_millis(500);
        let deadline = tokio::time::sleep(budget);
        tokio::pin!(deadline);
        let mut forced = false;
        loop {
            tokio::select! {
                joined = self.tasks.join_next() => match joined {
                    None => break,
                    Some(Ok((_, _, Err(_)))) | Some(Err(_)) => failed = true,
                    Some(Ok(_)) => {}
                },
                _ = &mut deadline => {
                    warn!(tasks = self.tasks.len(), "graceful shutdown timed out (task.shutdown.graceful.timeout.ms); offsets of unfinished tasks are not committed");
                    break
                }
                _ = term.recv() => { forced = true; break }
                _ = int.recv() => { forced = true; break }
            }
        }
        if forced {
            warn!(tasks = self.tasks.len(), "second signal: exiting without waiting for the remaining tasks");
            return Ok(Exit::Forced);
        }
        self.tasks.abort_all();
        if let Err(e) = self.offsets.flush() {
            error!(error = %e, "final offset flush failed");
        }
        info!("worker stopped");
        Ok(if failed { Exit::TaskFailed } else { Exit::Clean })
    }
}

/// Task configs shown by REST, keyed by task id.
pub fn task_configs(status: &ConnectorStatus) -> BTreeMap<usize, TaskConfig> {
    status.tasks.iter().map(|t| (t.id, t.config.clone())).collect()
}
