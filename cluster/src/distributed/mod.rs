//! The distributed worker (Kafka's `DistributedHerder` and `Worker` together): it replays the
//! three internal topics, joins the Connect group, runs what the leader assigns it, and serves
//! the REST API through [`DistributedHerder`]. One loop owns the group membership and the
//! running work (Kafka's tick thread): it heartbeats, rejoins when the group or the configured
//! work changes, applies each assignment (revoked work stopped first, its offsets committed),
//! follows the config topic's changes, and, as leader, assigns, keeps the session key fresh and
//! deletes the statuses of deleted connectors.
//!
//! **Delivery guarantee**: at least once, as standalone: source offsets go to the offsets topic
//! only after the records they cover are acknowledged, and a revoked task commits before it
//! stops; sink offsets are committed to the `connect-<name>` group after `flush`.

pub mod herder;
mod local;
mod rebalance;
pub mod status_writer;
pub mod task_configs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use runtime::config::{Providers, WorkerConfig};
use runtime::herder::{ConnectorTaskId, HerderError};
use runtime::offset::{OffsetStore, OffsetStoreError};
use runtime::plugin::Registry;
use runtime::retry::Backoff;
use runtime::worker::{Command, WorkerState};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

pub use herder::DistributedHerder;
use local::LocalWork;
use status_writer::StatusWriter;

use crate::assignor::IncrementalAssignor;
use crate::config::DistributedConfig;
use crate::config_log::{ConfigEvent, RestartFlags, TargetState};
use crate::kafka_log::LogError;
use crate::membership::{GroupError, GroupMember, GroupSettings, Heartbeat};
use crate::protocol::{ConnectProtocol, Work};
use crate::state_topic::StateTopic;
use crate::stores::{ConfigStore, OffsetTopic, StatusStore};
use crate::topics::{ensure, InternalTopic, TopicError};

/// Why a distributed worker could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error(transparent)]
    Offsets(#[from] OffsetStoreError),
    #[error(transparent)]
    ClientSettings(#[from] runtime::worker::ClientConfigError),
    #[error("the group membership client's TLS settings: {0}")]
    GroupTls(#[from] runtime::tls::StoreError),
    #[error("the distributed group membership client's SASL settings: {0}")]
    GroupSasl(String),
    #[error("a distributed worker needs a REST listener (listeners): the other workers reach it there")]
    NoListener,
    #[error("REST API cannot listen on {addr} (listeners): {source}")]
    Rest { addr: SocketAddr, source: std::io::Error },
}

/// What this worker knows of the group, for REST.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupView {
    pub leader_url: Option<String>,
    pub is_leader: bool,
    /// Between a rejoin and the assignment it gives.
    pub rebalancing: bool,
    pub protocol: Option<ConnectProtocol>,
    /// The generation of the last assignment applied.
    pub generation: Option<i32>,
    /// Since when the group coordinator (the broker) has not answered, and its last error.
    pub coordinator_lost: Option<(std::time::SystemTime, String)>,
    /// The leader only: each member's URL and what it runs after the last assignment.
    pub owners: BTreeMap<String, Work>,
}

impl GroupView {
    /// The URL of the worker running `task`, as the leader assigned it.
    fn owner_of(&self, connector: &str, task: usize) -> Option<&String> {
        let key = (connector.to_owned(), task as i32);
        self.owners.iter().find(|(_, w)| w.tasks.contains(&key)).map(|(url, _)| url)
    }

    /// The URL of the worker running the connector instance, as the leader assigned it.
    fn connector_owner(&self, connector: &str) -> Option<&String> {
        self.owners.iter().find(|(_, w)| w.connectors.contains(connector)).map(|(url, _)| url)
    }

    /// Where a request for work this worker does not run goes (Kafka's `NotAssignedException`
    /// from the leader, `NotLeaderException` from the others); `what` names the work.
    fn elsewhere(&self, owner: Option<&String>, url: &str, what: &str) -> HerderError {
        match (self.is_leader, owner) {
            (true, Some(owner)) if owner != url => HerderError::Elsewhere(Some(owner.clone())),
            (true, _) => HerderError::Conflict(format!(
                "{what} is not assigned to any worker right now (a rebalance is underway)"
            )),
            (false, _) => HerderError::Elsewhere(self.leader_url.clone()),
        }
    }
}

/// Requests REST hands to the worker's loop (they need the running work).
pub(crate) enum Request {
    RestartTask { id: ConnectorTaskId, reply: oneshot::Sender<Result<(), HerderError>> },
    RestartConnector { name: String, reply: oneshot::Sender<Result<(), HerderError>> },
}

/// What the loop and the herder share.
pub(crate) struct Shared {
    pub worker_id: String,
    pub url: String,
    pub group_id: String,
    pub config: Arc<ConfigStore>,
    pub status: Arc<StatusStore>,
    pub offsets: Arc<OffsetStore>,
    pub registry: Arc<Registry>,
    pub providers: Providers,
    pub group: RwLock<GroupView>,
    pub requests: mpsc::UnboundedSender<Request>,
    pub status_writer: Arc<StatusWriter>,
    pub state: Arc<WorkerState>,
    pub verification_algorithms: Vec<String>,
    /// The worker's client settings (`bootstrap.servers`), for REST's reads of sink groups.
    pub base: ClientConfig,
}

/// A distributed worker, started and ready to join its group.
pub struct DistributedWorker {
    shared: Arc<Shared>,
    settings: DistributedConfig,
    listener: SocketAddr,
    rest_security: runtime::config::rest_security::RestSecurity,
    member: GroupMember,
    events: mpsc::UnboundedReceiver<ConfigEvent>,
    requests: mpsc::UnboundedReceiver<Request>,
    commands: mpsc::UnboundedReceiver<(String, Command)>,
    /// Per connector, the backoff of task configs not yet taken by the leader.
    task_config_retries: BTreeMap<String, Backoff>,
    local: LocalWork,
    /// What the group assigned this worker (and it runs).
    assignment: Work,
    has_assignment: bool,
    /// The configured work at the last assignment: a change asks for a rebalance.
    configured: Work,
    assignor: IncrementalAssignor,
    last_completed: Option<i32>,
    generation: Arc<AtomicI32>,
    need_join: bool,
    /// Since when the group coordinator has not answered (heartbeats or joins failing).
    out_of_contact: Option<Instant>,
    rejoin_at: Option<Instant>,
    shutdown_tx: watch::Sender<bool>,
}

/// A stored connector config with its `${…}` references resolved, as the worker runs it.
pub(crate) fn resolved(
    providers: &Providers,
    name: &str,
    config: &crate::config_log::Properties,
) -> Result<runtime::config::RawConfig, String> {
    let mut raw = runtime::config::RawConfig::from_map(format!("connector {name}"), config);
    let errors = providers.resolve(&mut raw);
    match errors.is_empty() {
        true => Ok(raw),
        false => Err(runtime::config::ConfigErrors(errors).to_string()),
    }
}

/// The internal clients' settings: the worker's `bootstrap.servers` and security keys.
fn client_base(worker: &WorkerConfig) -> Result<ClientConfig, DistributedError> {
    Ok(runtime::worker::internal_config(worker)?)
}

/// The worker's stores on the internal topics, each created when missing and read to its end.
struct Stores {
    offsets: Arc<OffsetStore>,
    status: Arc<StatusStore>,
    config: Arc<ConfigStore>,
    events: mpsc::UnboundedReceiver<ConfigEvent>,
}

impl Stores {
    async fn open(base: &ClientConfig, settings: &DistributedConfig) -> Result<Stores, DistributedError> {
        let timeout = settings.request_timeout;
        ensure(base, InternalTopic::Offsets, &settings.offset_topic, timeout).await?;
        ensure(base, InternalTopic::Status, &settings.status_topic, timeout).await?;
        ensure(base, InternalTopic::Config, &settings.config_topic, timeout).await?;
        let ids = settings.client_id_base();
        let state_topic = StateTopic::new(base, settings.state_topic.clone(), format!("{ids}state"), timeout);
        let offset_topic = OffsetTopic::start(base, &settings.offset_topic.name, &format!("{ids}offsets"))
            .await?
            .with_state(Arc::new(state_topic));
        let entries = offset_topic.entries().into_iter().map(|(k, v)| (k, Some(v))).collect();
        let offsets = Arc::new(OffsetStore::new(Box::new(offset_topic), entries)?);
        let status = Arc::new(StatusStore::start(base, &settings.status_topic.name, &format!("{ids}statuses")).await?);
        let (events_tx, events) = mpsc::unbounded_channel();
        let config =
            Arc::new(ConfigStore::start(base, &settings.config_topic.name, &format!("{ids}configs"), events_tx).await?);
        Ok(Stores { offsets, status, config, events })
    }
}

/// The group membership client, over the same TLS and SASL as the worker's other clients.
fn group_member(
    worker: &WorkerConfig,
    settings: &DistributedConfig,
    base: &ClientConfig,
    worker_id: &str,
) -> Result<GroupMember, DistributedError> {
    let client_id = match settings.client_id.as_str() {
        "" => format!("connect-{worker_id}"),
        id => id.to_owned(),
    };
    Ok(GroupMember::new(GroupSettings {
        bootstrap: worker.bootstrap_servers.split(',').map(|s| s.trim().to_owned()).collect(),
        group_id: settings.group_id.clone(),
        client_id,
        session_timeout: settings.session_timeout,
        rebalance_timeout: settings.rebalance_timeout,
        heartbeat_interval: settings.heartbeat_interval,
        request_timeout: settings.request_timeout,
        tls: group_tls(base)?,
        sasl: crate::sasl::Sasl::from_librdkafka(&|k| base.get(k).map(str::to_owned))
            .map_err(DistributedError::GroupSasl)?,
    }))
}

/// The group client's TLS, from the same settings the worker's librdkafka clients got.
fn group_tls(base: &ClientConfig) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, DistributedError> {
    Ok(runtime::tls::from_librdkafka(&|k| base.get(k).map(str::to_owned))?)
}

/// The local host name other workers reach this one by, when `listeners` names no host.
fn local_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

impl DistributedWorker {
    /// Creates or checks the internal topics and replays them (offsets, then status, then
    /// config, as Kafka starts its stores).
    pub async fn start(
        worker: WorkerConfig,
        settings: DistributedConfig,
        registry: Arc<Registry>,
        providers: Providers,
    ) -> Result<DistributedWorker, DistributedError> {
        let listener = worker.listener.ok_or(DistributedError::NoListener)?;
        let base = client_base(&worker)?;
        let Stores { offsets, status, config, events } = Stores::open(&base, &settings).await?;
        let url = settings.advertised_url(listener, &local_host(), worker.rest_security.server_tls.is_some());
        let worker_id = DistributedConfig::worker_id(&url);
        let generation = Arc::new(AtomicI32::new(-1));
        let status_writer = StatusWriter::start(status.clone(), worker_id.clone(), generation.clone());
        let state = Arc::new(WorkerState {
            worker_id: worker_id.clone(),
            connectors: Default::default(),
            plugins: RwLock::new(registry.clone()),
        });
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let worker = Arc::new(worker);
        let local = LocalWork {
            connectors: BTreeMap::new(),
            registry: registry.clone(),
            providers: providers.clone(),
            worker: worker.clone(),
            offsets: offsets.clone(),
            listener: status_writer.clone(),
            state: state.clone(),
            commands: commands_tx,
        };
        let member = group_member(&worker, &settings, &base, &worker_id)?;
        let shared = Arc::new(Shared {
            worker_id,
            url,
            group_id: settings.group_id.clone(),
            config,
            status,
            offsets,
            registry,
            providers,
            group: RwLock::new(GroupView { rebalancing: true, ..GroupView::default() }),
            requests: requests_tx,
            status_writer,
            state,
            verification_algorithms: vec![crate::signature::HMAC_SHA256.to_owned()],
            base: base.clone(),
        });
        let (shutdown_tx, _) = watch::channel(false);
        info!(worker_id = %shared.worker_id, url = %shared.url, group = %settings.group_id, "distributed worker started; joining the group");
        Ok(DistributedWorker {
            shared,
            assignor: IncrementalAssignor::new(settings.max_delay.as_millis() as i64),
            settings,
            listener,
            rest_security: worker.rest_security.clone(),
            member,
            events,
            requests,
            commands,
            task_config_retries: BTreeMap::new(),
            local,
            assignment: Work::default(),
            has_assignment: false,
            configured: Work::default(),
            last_completed: None,
            generation,
            need_join: true,
            out_of_contact: None,
            rejoin_at: None,
            shutdown_tx,
        })
    }

    /// The herder REST talks to.
    pub fn herder(&self) -> Arc<DistributedHerder> {
        Arc::new(DistributedHerder::new(self.shared.clone()))
    }

    pub fn worker_id(&self) -> &str {
        &self.shared.worker_id
    }

    /// Serves REST and runs until SIGTERM/SIGINT: then stops its work (offsets committed) and
    /// leaves the group, so the others take the work over at once.
    pub async fn run(mut self) -> Result<(), DistributedError> {
        let addr = self.listener;
        let herder: Arc<dyn runtime::herder::Herder> = self.herder();
        let rest = runtime::rest::serve(addr, herder, &self.rest_security)
            .await
            .map_err(|source| DistributedError::Rest { addr, source })?;
        let mut term = signal(SignalKind::terminate()).expect("signal handler");
        let mut int = signal(SignalKind::interrupt()).expect("signal handler");
        let mut requested = self.shutdown_tx.subscribe();
        let mut heartbeat = tokio::time::interval(self.settings.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failures = runtime::retry::Backoff::new(GROUP_RETRY, Duration::from_secs(30));
        loop {
            if self.need_join {
                match self.rebalance().await {
                    Ok(()) => {
                        failures.succeed();
                        self.out_of_contact = None;
                        self.shared.group.write().unwrap().coordinator_lost = None;
                    }
                    Err(e) if e.is_retriable() => {
                        self.lost_contact(&e.to_string()).await;
                        let wait = failures.fail();
                        warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot take part in the group; retrying");
                        self.shared.group.write().unwrap().rebalancing = true;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    Err(e) => {
                        error!(error = %e, "leaving: the group cannot be joined");
                        self.stop().await;
                        rest.abort();
                        return Err(e.into());
                    }
                }
            }
            let rejoin_at = self.rejoin_at;
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM: stopping"); break }
                _ = int.recv() => { info!("SIGINT: stopping"); break }
                _ = requested.wait_for(|s| *s) => { info!("shutdown requested: stopping"); break }
                _ = heartbeat.tick() => self.heartbeat().await,
                Some(event) = self.events.recv() => self.on_config_event(event).await,
                Some(request) = self.requests.recv() => self.on_request(request).await,
                Some((name, command)) = self.commands.recv() => self.on_command(&name, command).await,
                _ = sleep_until(rejoin_at), if rejoin_at.is_some() => {
                    self.rejoin_at = None;
                    self.need_join = true;
                }
            }
        }
        self.stop().await;
        rest.abort();
        Ok(())
    }

    async fn heartbeat(&mut self) {
        if self.need_join {
            return;
        }
        match self.member.heartbeat().await {
            Ok(Heartbeat::Ok) => {}
            Ok(Heartbeat::Rejoin) => {
                info!("the group is rebalancing: rejoining");
                self.need_join = true;
            }
            Err(e) => {
                warn!(error = %e, "heartbeat failed; rejoining");
                self.need_join = true;
                self.lost_contact(&e.to_string()).await;
            }
        }
    }

    /// The coordinator did not answer: once that has lasted `session.timeout.ms`, the group has
    /// given this worker's work to the others, so it stops running it (each task commits).
    async fn lost_contact(&mut self, error: &str) {
        let since = *self.out_of_contact.get_or_insert_with(Instant::now);
        {
            let mut group = self.shared.group.write().unwrap();
            let first = group.coordinator_lost.as_ref().map_or_else(std::time::SystemTime::now, |(t, _)| *t);
            group.coordinator_lost = Some((first, error.to_owned()));
        }
        if since.elapsed() >= self.settings.session_timeout && !self.assignment.is_empty() {
            warn!(
                for_s = since.elapsed().as_secs(),
                "out of contact with the group coordinator for session.timeout.ms: stopping this worker's work"
            );
            let all = std::mem::take(&mut self.assignment);
            self.local.revoke(&all).await;
            self.has_assignment = false;
        }
    }

    /// Stops every task (each commits), then leaves the group and flushes offsets.
    async fn stop(&mut self) {
        self.local.stop_all().await;
        self.shared.status_writer.flush(Duration::from_secs(5)).await;
        if let Err(e) = self.member.leave().await {
            warn!(error = %e, "could not leave the group; the others rebalance after session.timeout.ms");
        }
        if let Err(e) = self.shared.offsets.flush().await {
            error!(error = %e, "final offset flush failed");
        }
        info!("worker stopped");
    }

    async fn on_request(&mut self, request: Request) {
        match request {
            Request::RestartTask { id, reply } => {
                let answer = self.restart_task(&id).await;
                let _ = reply.send(answer);
            }
            Request::RestartConnector { name, reply } => {
                let answer = self.restart_connector(&name).await;
                let _ = reply.send(answer);
            }
        }
    }

    /// Restarts a task running here; elsewhere, names the worker to forward to.
    async fn restart_task(&mut self, id: &ConnectorTaskId) -> Result<(), HerderError> {
        if let Some(local) = self.local.connectors.get_mut(&id.connector) {
            if let Some((config, status)) = local.runner.task(id.task) {
                local.runner.stop_tasks(Some(&[id.task])).await;
                status.set(runtime::worker::State::Restarting, None);
                return local
                    .runner
                    .start_task(id.task, config, status)
                    .map_err(|e| HerderError::Failed(e.to_string()));
            }
        }
        let group = self.shared.group.read().unwrap();
        let what = format!("Task {}-{}", id.connector, id.task);
        Err(group.elsewhere(group.owner_of(&id.connector, id.task), &self.shared.url, &what))
    }

    /// Restarts a connector instance running here (its tasks run on); elsewhere, names the
    /// worker to forward to.
    async fn restart_connector(&mut self, name: &str) -> Result<(), HerderError> {
        if self.assignment.connectors.contains(name) && self.local.connectors.contains_key(name) {
            self.restart_requested(name, RestartFlags::default()).await;
            return Ok(());
        }
        let group = self.shared.group.read().unwrap();
        Err(group.elsewhere(group.connector_owner(name), &self.shared.url, &format!("Connector {name}")))
    }

    async fn on_command(&mut self, name: &str, command: Command) {
        if command == Command::Reconfigure {
            info!(connector = name, "task configs asked for (by the connector, or again after a failed hand-over)");
            self.publish_task_configs(name).await;
        }
    }

    /// Follows a config-topic change: the running work is brought to it at once (a config
    /// change restarts, a pause stops tasks, a restart request restarts what it selects); a
    /// change of the configured work (connectors or task counts) asks for a rebalance.
    async fn on_config_event(&mut self, event: ConfigEvent) {
        let snapshot = self.shared.config.snapshot();
        if snapshot.configured() != self.configured {
            self.need_join = true;
        }
        if let ConfigEvent::TasksCommitted(name) = &event {
            // the hand-over landed (or another did): the next failure starts from a short wait
            self.task_config_retries.remove(name);
        }
        match event {
            ConfigEvent::RestartRequested(name, flags) => self.restart_requested(&name, flags).await,
            ConfigEvent::ConnectorUpdated(_) | ConfigEvent::TargetStateChanged(_) | ConfigEvent::TasksCommitted(_) => {
                // a connector (re)started here gives its task configs, as Kafka's does on start
                let started = self.local.reconcile(&self.assignment, &snapshot).await;
                for c in started {
                    self.publish_task_configs(&c).await;
                }
            }
            ConfigEvent::ConnectorRemoved(name) => {
                self.task_config_retries.remove(&name);
                self.local.drop_connector(&name).await
            }
            ConfigEvent::LoggerLevel(namespace, level) => set_log_level(&namespace, &level),
            ConfigEvent::SessionKeyUpdated => {}
        }
    }

    /// The owner's check of a started connector's task configs: new ones go to the topic.
    async fn publish_task_configs(&mut self, name: &str) {
        let Some(local) = self.local.connectors.get(name) else { return };
        if !local.runner.is_started() {
            return;
        }
        let snapshot = self.shared.config.snapshot();
        if snapshot.target_state(name) != Some(TargetState::Started) {
            return;
        }
        let configs = match local.runner.task_configs() {
            Ok(c) => c,
            Err(e) => {
                error!(connector = name, error = %e, "connector cannot give its task configs");
                local.runner.status().fail(e.to_string());
                return;
            }
        };
        let configs: Vec<_> = configs.iter().map(|c| task_configs::reverse(local.runner.raw(), c)).collect();
        if !task_configs::changed(&snapshot, name, &configs) {
            self.task_config_retries.remove(name);
            return;
        }
        let (is_leader, leader_url, protocol) = {
            let g = self.shared.group.read().unwrap();
            (g.is_leader, g.leader_url.clone(), g.protocol)
        };
        let retry = self
            .task_config_retries
            .entry(name.to_owned())
            .or_insert_with(|| Backoff::new(Duration::from_millis(250), Duration::from_secs(60)))
            .fail();
        let again = self.local.commands.clone();
        let name = name.to_owned();
        if is_leader {
            match self.shared.config.put_task_configs(&name, &configs).await {
                Ok(()) => info!(connector = name, tasks = configs.len(), "task configs written"),
                Err(e) => {
                    error!(connector = name, error = %e, retry_ms = retry.as_millis() as u64, "cannot write task configs");
                    tokio::spawn(async move {
                        tokio::time::sleep(retry).await;
                        let _ = again.send((name, Command::Reconfigure));
                    });
                }
            }
        } else if let Some(url) = leader_url {
            let key = snapshot.session_key().cloned().filter(|_| protocol.is_some_and(|p| p.version() >= 2));
            tokio::spawn(async move {
                if !task_configs::send_to_leader(url, &name, configs, key).await {
                    tokio::time::sleep(retry).await;
                    let _ = again.send((name, Command::Reconfigure));
                }
            });
        }
    }
}

/// A cluster-wide level read from the config topic, set on this worker.
fn set_log_level(namespace: &str, level: &str) {
    match runtime::log_levels::installed().map(|l| l.set(namespace, level)) {
        Some(Ok(_)) => info!(logger = namespace, level, "cluster-wide log level set"),
        Some(Err(e)) => warn!(logger = namespace, level, error = %e, "cluster-wide log level not applied"),
        None => {}
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// How long to wait before trying the group again.
pub(crate) const GROUP_RETRY: Duration = Duration::from_secs(1);
