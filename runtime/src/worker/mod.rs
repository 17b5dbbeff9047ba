//! The standalone worker: runs each connector's tasks on tokio, owns the offset store, the REST
//! API, progress logs and graceful shutdown.

mod clients;
mod dead_letter;
mod herder;
mod msk_iam;
mod oauth;
mod oidc;
mod runner;
mod sink;
mod source;
mod status;
mod submitted;
mod supervisor;
mod topic_producer;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

pub use clients::{
    admin_config, check_brokers, consumer_config, explain_connection_error, internal_config, producer_config, redacted,
    BrokerCheckError, ClientConfigError,
};
pub use herder::{HerderRequest, PutOutcome};
pub use msk_iam::{presigned_token, region_of_bootstrap, MskIam, MskIamError, MskToken};
pub use oauth::{oauth_token, seed_token, Admin, AuthContext};
pub use oidc::{extensions as oauthbearer_extensions, BearerToken, OidcError, TokenSource};
pub use runner::{redact, ConnectorRunner, TaskEnded};
use runner::{Launcher, SinkLauncher, SourceLauncher};
pub use source::ConnectorOffsets;
pub use status::{
    ActiveTopics, ConnectorStatus, OffsetCheck, ReportedTopics, State, StatusListener, TaskStatus, WorkerState,
};
pub use submitted::SubmittedRecords;
pub use supervisor::Command;
use supervisor::{Supervisor, Wiring};

use crate::config::{ConfigErrors, ConfigReader, ConnectorConfig, ConnectorKind, RawConfig, UnknownKey, WorkerConfig};
use crate::connector::{SinkConnector, SourceConnector};
use crate::offset::{OffsetStore, OffsetStoreError};
use crate::retry::Backoff;
use crate::TaskError;

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
    #[error("failed to start: {message}")]
    Connector { name: String, message: String },
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
    /// The connector's active topics (KIP-558).
    pub topics: Arc<ActiveTopics>,
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

    /// After a retriable failure of `what` (a poll, a put): waits with `backoff` (capped by
    /// `errors.retry.delay.max.ms`), logging the 1st, 2nd, 4th, … attempt once each, or fails the
    /// task once `errors.retry.timeout` (when above 0) has passed. Kafka retries a retriable poll or
    /// put for ever, which is what 0 (the default) and -1 keep.
    pub async fn retry(&self, backoff: &mut Backoff, what: &str, e: TaskError) -> Result<(), TaskError> {
        let errors = &self.connector.errors;
        if let Some(limit) = errors.retry_timeout.filter(|t| !t.is_zero()) {
            if backoff.failing_for() >= limit {
                return Err(TaskError::fatal(format!(
                    "{what} kept failing for {} s, past errors.retry.timeout={}: {}",
                    backoff.failing_for().as_secs(),
                    limit.as_millis(),
                    e.chain()
                )));
            }
        }
        let wait = backoff.fail().min(errors.retry_delay_max.max(Duration::from_millis(100)));
        if backoff.should_log() {
            warn!(error = %e, attempt = backoff.attempts(), failing_for_s = backoff.failing_for().as_secs(), retry_in_ms = wait.as_millis() as u64, "{what} failed; retrying");
        }
        self.sleep(wait).await;
        Ok(())
    }

    /// Notes a success after retries (one line saying how long it took).
    pub fn recovered(&self, backoff: &mut Backoff, what: &str) {
        if let Some((attempts, down)) = backoff.succeed() {
            info!(attempts, after_s = down.as_secs(), "{what} works again");
        }
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
    launcher: Box<dyn Launcher>,
    offset_check: Option<OffsetCheck>,
    raw: RawConfig,
}

impl PreparedConnector {
    /// Starts the connector (which may ask its source for its units of work) and its tasks.
    pub async fn start(self, worker: &mut Worker) -> Result<(), WorkerError> {
        if worker.state.connector(&self.config.name).is_some() {
            return Err(WorkerError::Duplicate { name: self.config.name.clone() });
        }
        let (runner, commands) =
            self.into_runner(worker.config.clone(), worker.offsets.clone(), worker.listener.clone());
        worker.launch(runner, commands).await
    }

    /// Sources: the connector's check of an offset written over REST.
    pub fn offset_check(&self) -> Option<OffsetCheck> {
        self.offset_check.clone()
    }

    /// The connector's runner on a worker, nothing started yet, with its status (reporting to
    /// `listener`) and the commands its status's `control` sends (a reconfiguration the
    /// connector requests, REST's on a standalone worker).
    pub fn into_runner(
        self,
        worker: Arc<WorkerConfig>,
        offsets: Arc<OffsetStore>,
        listener: Option<Arc<dyn StatusListener>>,
    ) -> (ConnectorRunner, mpsc::UnboundedReceiver<Command>) {
        let (control, commands) = mpsc::unbounded_channel();
        let (cc, raw) = (self.config, self.raw);
        let status = Arc::new(ConnectorStatus {
            name: cc.name.clone(),
            kind: cc.kind,
            config: raw.redacted(),
            written: raw.as_written(),
            tasks: Default::default(),
            state: Mutex::new(State::Unassigned),
            trace: Mutex::new(None),
            topics: Default::default(),
            control,
            offset_check: self.offset_check,
            listener,
        });
        (ConnectorRunner::new(self.launcher, cc, raw, status, worker, offsets), commands)
    }
}

/// Parses the framework's keys and the connector's own from `raw`, every error at once.
fn prepare<C>(
    raw: &RawConfig,
    kind: ConnectorKind,
    parse: impl FnOnce(&mut ConfigReader<'_>) -> Option<C>,
    launcher: impl FnOnce(C) -> Box<dyn Launcher>,
    offset_check: Option<OffsetCheck>,
) -> Result<PreparedConnector, ConfigErrors> {
    let mut reader = ConfigReader::new(raw);
    let config = ConnectorConfig::parse(&mut reader, kind);
    let connector = parse(&mut reader);
    let (errors, warnings) = reader.finish();
    match (config, connector) {
        (Some(config), Some(connector)) if errors.is_empty() => {
            Ok(PreparedConnector { config, warnings, launcher: launcher(connector), offset_check, raw: raw.clone() })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

/// Parses a source connector file: framework keys and the connector's own, every error at once.
pub fn prepare_source<C: SourceConnector>(raw: &RawConfig) -> Result<PreparedConnector, ConfigErrors> {
    let check = OffsetCheck(Arc::new(crate::connector::check_offset::<C>));
    prepare(raw, ConnectorKind::Source, C::from_config, |c| Box::new(SourceLauncher(c)), Some(check))
}

/// Parses a sink connector file.
pub fn prepare_sink<C: SinkConnector>(raw: &RawConfig) -> Result<PreparedConnector, ConfigErrors> {
    prepare(raw, ConnectorKind::Sink, C::from_config, |c| Box::new(SinkLauncher(c)), None)
}

/// The standalone worker.
pub struct Worker {
    config: Arc<WorkerConfig>,
    offsets: Arc<OffsetStore>,
    state: Arc<WorkerState>,
    shutdown_tx: watch::Sender<bool>,
    /// Each connector's supervisor; a join gives the name of the connector that ended.
    supervisors: JoinSet<String>,
    /// Writes asked over REST (the standalone herder's), and the deletes they wait for.
    requests_tx: mpsc::UnboundedSender<HerderRequest>,
    requests: mpsc::UnboundedReceiver<HerderRequest>,
    pending: std::collections::HashMap<String, herder::Pending>,
    providers: crate::config::Providers,
    failures_tx: mpsc::UnboundedSender<(String, usize)>,
    failures: mpsc::UnboundedReceiver<(String, usize)>,
    /// `--on-task-failure continue`: a connector failing at start stays `FAILED`.
    keep_failed: bool,
    /// Where connector and task state changes are reported (a cluster's status topic).
    listener: Option<Arc<dyn StatusListener>>,
    rest: Option<tokio::task::JoinHandle<()>>,
    signals: Option<Signals>,
}

/// SIGTERM and SIGINT, taken over before any connector starts (so a signal during start-up is a
/// graceful stop, not the default kill).
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            term: signal(SignalKind::terminate()).expect("signal handler"),
            int: signal(SignalKind::interrupt()).expect("signal handler"),
        }
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// A second signal this soon after the first is the same request sent twice (a shell and a
/// process manager both forwarding it), not a demand to cut the shutdown short.
const SECOND_SIGNAL_GRACE: Duration = Duration::from_secs(1);

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
    /// Stopped on a signal or a shutdown request.
    Clean,
    /// A task failed (and `exit_on_task_failure` was set), or tasks failed before shutdown.
    TaskFailed,
    /// A second signal cut the graceful shutdown short.
    Forced,
}

impl Worker {
    /// Opens (and locks) the offset file.
    pub fn new(config: WorkerConfig) -> Result<Worker, WorkerError> {
        let Some(file) = &config.offset_file else {
            let missing = crate::config::ConfigError::Missing {
                origin: config.origin.as_str().into(),
                key: "offset.storage.file.filename".into(),
                expected: "a file path for source offsets".into(),
            };
            return Err(WorkerError::Config(ConfigErrors(vec![missing])));
        };
        let offsets = Arc::new(OffsetStore::open(file)?);
        let worker_id = config.listener.map(|a| a.to_string()).unwrap_or_else(|| "standalone".into());
        let (shutdown_tx, _) = watch::channel(false);
        let (failures_tx, failures) = mpsc::unbounded_channel();
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Ok(Worker {
            requests_tx,
            requests,
            pending: Default::default(),
            providers: Default::default(),
            config: Arc::new(config),
            offsets,
            state: Arc::new(WorkerState { worker_id, connectors: Default::default(), plugins: Default::default() }),
            shutdown_tx,
            supervisors: JoinSet::new(),
            failures_tx,
            failures,
            keep_failed: false,
            listener: None,
            rest: None,
            signals: None,
        })
    }

    /// `--on-task-failure continue`: a connector whose start fails stays `FAILED` (restartable
    /// over REST) instead of stopping the worker.
    pub fn keep_failed_connectors(&mut self, keep: bool) {
        self.keep_failed = keep;
    }

    /// Reports every connector and task state change to `listener` too.
    pub fn set_status_listener(&mut self, listener: Arc<dyn StatusListener>) {
        self.listener = Some(listener);
    }

    /// The config providers (`${env:…}`, `${file:…}`) of connector configs written over REST.
    pub fn set_providers(&mut self, providers: crate::config::Providers) {
        self.providers = providers;
    }

    /// Takes over SIGTERM/SIGINT and binds the REST listener, before any connector starts: a
    /// port already in use fails the start-up before any task has run.
    pub async fn listen(&mut self) -> Result<(), WorkerError> {
        if self.signals.is_none() {
            self.signals = Some(Signals::new());
        }
        if let (Some(addr), None) = (self.config.listener, &self.rest) {
            let handle = crate::rest::serve(addr, self.herder(), &self.config.rest_security)
                .await
                .map_err(|source| WorkerError::Rest { addr, source })?;
            self.rest = Some(handle);
        }
        Ok(())
    }

    /// The worker's own client settings (KIP-875 on sinks' consumer groups).
    fn client_base(&self) -> rdkafka::config::ClientConfig {
        // the worker's security keys were read when its file was; a store changed since then
        // shows in the client's own errors
        let mut base = internal_config(&self.config).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the worker's client settings");
            let mut plain = rdkafka::config::ClientConfig::new();
            plain.set("bootstrap.servers", &self.config.bootstrap_servers);
            plain
        });
        base.set("log_level", "4");
        base
    }

    /// The herder REST talks to.
    pub fn herder(&self) -> Arc<dyn crate::herder::Herder> {
        Arc::new(crate::herder::StandaloneHerder::new(
            self.state.clone(),
            self.offsets.clone(),
            self.client_base(),
            self.requests_tx.clone(),
        ))
    }

    pub fn state(&self) -> Arc<WorkerState> {
        self.state.clone()
    }

    /// The connector classes to list at `GET /connector-plugins`.
    pub fn set_plugins(&mut self, registry: Arc<crate::plugin::Registry>) {
        *self.state.plugins.write().unwrap() = registry;
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

    /// Registers the connector, starts it and its first tasks, and supervises them.
    async fn launch(
        &mut self,
        runner: ConnectorRunner,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Result<(), WorkerError> {
        let status = runner.status().clone();
        let wiring = Wiring {
            worker_shutdown: self.shutdown_tx.subscribe(),
            failures: self.failures_tx.clone(),
            keep_failed: self.keep_failed,
        };
        let supervisor = Supervisor::start(runner, commands, wiring).await?;
        self.state.connectors.write().unwrap().insert(status.name.clone(), status);
        self.supervisors.spawn(supervisor.run());
        Ok(())
    }

    /// Serves REST, runs until SIGINT/SIGTERM or a shutdown request (or, with
    /// `exit_on_task_failure`, a failed task), then stops every task within
    /// `task.shutdown.graceful.timeout.ms` and flushes offsets.
    pub async fn run(mut self, exit_on_task_failure: bool) -> Result<Exit, WorkerError> {
        self.listen().await?;
        let mut signals = self.signals.take().expect("listen() sets the signals");
        let mut failed = false;
        let mut requested = self.shutdown_tx.subscribe();
        loop {
            tokio::select! {
                _ = async { let _ = requested.wait_for(|s| *s).await; } => { info!("shutdown requested: stopping"); break }
                name = signals.recv() => { info!("{name}: stopping"); break }
                failure = self.failures.recv() => {
                    failed = true;
                    if let (true, Some((connector, task))) = (exit_on_task_failure, failure) {
                        warn!(connector = %connector, task, "a task failed: stopping the worker");
                        break;
                    }
                }
                Some(request) = self.requests.recv() => self.handle(request).await,
                Some(joined) = self.supervisors.join_next(), if !self.supervisors.is_empty() => {
                    if let Ok(name) = joined {
                        self.supervisor_ended(name).await;
                    }
                }
            }
        }
        let stopping = Instant::now();
        let _ = self.shutdown_tx.send(true);
        let budget = self.config.shutdown_timeout + Duration::from_secs(1);
        let deadline = tokio::time::sleep(budget);
        tokio::pin!(deadline);
        let mut forced = false;
        loop {
            tokio::select! {
                joined = self.supervisors.join_next() => if joined.is_none() { break },
                Some(_) = self.failures.recv() => failed = true,
                _ = &mut deadline => {
                    warn!("graceful shutdown timed out (task.shutdown.graceful.timeout.ms); offsets of unfinished tasks are not committed");
                    break
                }
                name = signals.recv() => {
                    if stopping.elapsed() < SECOND_SIGNAL_GRACE {
                        info!("{name} again: already stopping");
                        continue;
                    }
                    forced = true;
                    warn!(connectors = self.supervisors.len(), "second signal: exiting without waiting for the remaining tasks");
                    break
                }
            }
        }
        self.supervisors.abort_all();
        // what the tasks committed is saved even when a second signal cut their shutdown short
        if let Err(e) = self.offsets.flush().await {
            error!(error = %e, "final offset flush failed");
            failed = true;
        }
        info!("worker stopped");
        Ok(match (forced, failed) {
            (true, _) => Exit::Forced,
            (false, true) => Exit::TaskFailed,
            (false, false) => Exit::Clean,
        })
    }
}
