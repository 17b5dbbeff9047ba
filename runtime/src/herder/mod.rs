//! The herder: what should run, and the one interface the REST API talks to (Kafka's `Herder`).
//! REST parses a request, calls a method here and serializes the typed entity it gets back
//! ([`entities`]); it knows nothing of workers, supervisors or stores. A standalone worker answers
//! with [`StandaloneHerder`]; a distributed worker will answer with a herder of its own behind the
//! same trait, so every endpoint behaves the same in both modes.
//!
//! Reads answer from what this worker knows (in a cluster, its replay of the status and config
//! topics); writes are futures, since they wait for the worker's loop (or, in a cluster, the
//! leader) to carry them out.

pub mod entities;
pub mod sink_offsets;
mod standalone;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use entities::{
    ClusterInfo, ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId, ErrorMessage,
    Message, RestartRequest, ServerInfo, TaskInfo, TaskState,
};
pub use standalone::StandaloneHerder;

use crate::config::{ConfigErrors, RawConfig};
use crate::plugin::Registry;

/// A herder write in progress.
pub type HerderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HerderError>> + Send + 'a>>;

/// A connector created or replaced by [`Herder::put_connector_config`].
#[derive(Debug, Clone)]
pub struct Created {
    /// `true` when it did not exist (REST answers 201), `false` when its config was replaced (200).
    pub created: bool,
    pub info: ConnectorInfo,
}

/// Why a request was refused, each with Kafka's status code ([`HerderError::status`]).
#[derive(Debug, thiserror::Error)]
pub enum HerderError {
    /// An unknown connector, task or class; the message is Kafka's.
    #[error("{0}")]
    NotFound(String),
    #[error("Connector {0} already exists")]
    Exists(String),
    #[error("Connector configuration is invalid and contains the following {count} error(s):\n{errors}", count = .0.0.len(), errors = .0)]
    Invalid(ConfigErrors),
    /// A request that cannot apply in the connector's state (offsets of a running connector, …).
    #[error("{0}")]
    BadRequest(String),
    /// A rebalance or a concurrent change is in the way (Kafka's 409); the client retries.
    #[error("{0}")]
    Conflict(String),
    /// The worker is starting or stopping.
    #[error("{0}")]
    Unavailable(String),
    /// The request runs on another worker, at this URL (the leader, or a task's owner): REST
    /// forwards it (Kafka's `RequestTargetException`). `None`: no leader is known yet.
    #[error("{}", match .0 { Some(url) => format!("the request must run on the worker at {url}"), None => "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.".to_owned() })]
    Elsewhere(Option<String>),
    /// An internal request whose signature does not verify.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Failed(String),
}

impl HerderError {
    /// Kafka's `Connector <name> not found`.
    pub fn no_connector(name: &str) -> HerderError {
        HerderError::NotFound(format!("Connector {name} not found"))
    }

    /// Kafka's `Task <connector>-<id> not found`.
    pub fn no_task(id: &ConnectorTaskId) -> HerderError {
        HerderError::NotFound(format!("Task {}-{} not found", id.connector, id.task))
    }

    pub fn stopping() -> HerderError {
        HerderError::Unavailable("the worker is stopping".into())
    }

    /// The HTTP status REST answers with, equal to the body's `error_code`.
    pub fn status(&self) -> u16 {
        match self {
            HerderError::NotFound(_) => 404,
            HerderError::Exists(_) | HerderError::Conflict(_) | HerderError::Elsewhere(_) => 409,
            HerderError::Forbidden(_) => 403,
            HerderError::Invalid(_) | HerderError::BadRequest(_) => 400,
            HerderError::Unavailable(_) => 503,
            HerderError::Failed(_) => 500,
        }
    }
}

/// An internal request's KIP-507 signature headers and the exact body they sign.
#[derive(Debug, Clone, Default)]
pub struct InternalRequest {
    /// `X-Connect-Authorization`.
    pub authorization: Option<String>,
    /// `X-Connect-Request-Signature-Algorithm`.
    pub algorithm: Option<String>,
    pub body: Vec<u8>,
}

/// A source connector's stored offsets, as `GET …/offsets` answers them.
pub fn source_offsets(store: &crate::offset::OffsetStore, name: &str) -> ConnectorOffsets {
    let offsets = store
        .entries()
        .into_iter()
        .filter(|e| e.connector == name && e.offset.is_some())
        .map(|e| ConnectorOffset { partition: e.partition, offset: e.offset })
        .collect();
    ConnectorOffsets { offsets }
}

/// Kafka's answers to a successful offsets alteration and reset.
pub const ALTERED: &str = "The offsets for this connector have been altered successfully";
pub const RESET: &str = "The offsets for this connector have been reset successfully";

/// Kafka's text for offsets changed on a connector that is not stopped.
pub const NOT_STOPPED: &str = "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint";

/// KIP-477: `config` with `patch` applied (`None` removes a key), as a config to put; the
/// name stays the URL's.
pub fn patched(
    name: &str,
    mut config: BTreeMap<String, String>,
    patch: BTreeMap<String, Option<String>>,
) -> Result<RawConfig, HerderError> {
    for (key, value) in patch {
        match value {
            Some(v) => config.insert(key, v),
            None => config.remove(&key),
        };
    }
    match config.get("name") {
        Some(inner) if inner != name => {
            return Err(HerderError::BadRequest(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )))
        }
        _ => config.insert("name".into(), name.to_owned()),
    };
    Ok(RawConfig::from_map(format!("REST connector {name}"), &config))
}

/// KIP-875: the entries of offsets written over REST (a null offset resets its partition);
/// partitions and offsets must be JSON objects.
pub fn offset_entries(
    offsets: ConnectorOffsets,
) -> Result<Vec<(serde_json::Value, Option<serde_json::Value>)>, HerderError> {
    let bad = offsets
        .offsets
        .iter()
        .find(|o| !o.partition.is_object() || o.offset.as_ref().is_some_and(|v| !v.is_object() && !v.is_null()));
    if let Some(bad) = bad {
        let message = format!("partitions and offsets must be JSON objects (or a null offset): {}", bad.partition);
        return Err(HerderError::BadRequest(message));
    }
    Ok(offsets.offsets.into_iter().map(|o| (o.partition, o.offset.filter(|v| !v.is_null()))).collect())
}

/// The answer when the process does not expose its log levels (a library user's own
/// subscriber).
pub fn no_log_levels() -> HerderError {
    HerderError::NotFound("this process does not expose its log levels".into())
}

/// What REST asks of a worker, in either mode (Kafka's `Herder`).
pub trait Herder: Send + Sync + 'static {
    /// This worker's id in status answers: `host:port` of its REST listener.
    fn worker_id(&self) -> &str;
    /// The connector classes this worker runs.
    fn plugins(&self) -> Arc<Registry>;
    /// What `GET /` adds to Kafka's fields about this worker's place in its cluster.
    fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            mode: "standalone",
            worker_id: self.worker_id().to_owned(),
            group_id: None,
            leader: None,
            is_leader: None,
            generation: None,
            rebalancing: None,
            broker: None,
        }
    }
    /// Prometheus text of this worker's counters.
    fn metrics(&self) -> String;

    /// Every connector's name, sorted.
    fn connectors(&self) -> Vec<String>;
    fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    /// The config as given, secrets hidden and `${…}` references kept.
    fn connector_config(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError>;
    fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError>;
    fn task_status(&self, id: &ConnectorTaskId) -> Result<TaskState, HerderError>;
    fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError>;
    /// KIP-558: the topics the connector's tasks used since the last reset.
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError>;
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError>;

    /// Creates a connector from `raw` (unresolved `${…}` kept) or, unless `create_only`,
    /// replaces its config.
    fn put_connector_config(&self, raw: RawConfig, create_only: bool) -> HerderFuture<'_, Created>;
    /// KIP-477: changes some keys of a connector's config (`None` removes the key) and applies
    /// it as a replacement; answers the new config.
    fn patch_connector_config(
        &self,
        name: String,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderFuture<'_, ConnectorInfo>;
    /// Stops the connector's tasks and forgets it; its offsets stay.
    fn delete_connector(&self, name: String) -> HerderFuture<'_, ()>;
    fn pause_connector(&self, name: String) -> HerderFuture<'_, ()>;
    fn resume_connector(&self, name: String) -> HerderFuture<'_, ()>;
    /// KIP-875: stops the tasks; the connector stays known, `STOPPED`.
    fn stop_connector(&self, name: String) -> HerderFuture<'_, ()>;
    /// Restarts what `request` selects; answers the planned states (`RESTARTING`).
    fn restart_connector(&self, name: String, request: RestartRequest) -> HerderFuture<'_, ConnectorStateInfo>;
    /// Restarts one task; the others run on.
    fn restart_task(&self, id: ConnectorTaskId) -> HerderFuture<'_, ()>;

    /// Sources: the stored offsets. Sinks: the group's committed offsets.
    fn connector_offsets(&self, name: String) -> HerderFuture<'_, ConnectorOffsets>;
    /// KIP-875: writes offsets of a `STOPPED` connector (a null offset resets its partition).
    fn alter_offsets(&self, name: String, offsets: ConnectorOffsets) -> HerderFuture<'_, Message>;
    /// KIP-875: forgets every offset of a `STOPPED` connector.
    fn reset_offsets(&self, name: String) -> HerderFuture<'_, Message>;

    /// KIP-495: this worker's log levels, when the process exposes them.
    fn log_levels(&self) -> Option<Arc<dyn crate::log_levels::LogLevels>> {
        crate::log_levels::installed()
    }

    /// KIP-976 (`PUT /admin/loggers/{namespace}?scope=cluster`): sets the level on every
    /// worker of the cluster, until each restarts. A standalone worker is its whole cluster.
    fn set_cluster_log_level(&self, namespace: String, level: String) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            let levels = self.log_levels().ok_or_else(no_log_levels)?;
            levels.set(&namespace, &level).map(|_| ()).map_err(HerderError::NotFound)
        })
    }

    /// Internal (`POST /connectors/{c}/tasks`, distributed mode): the connector's owner hands
    /// its task configs to the leader.
    fn put_task_configs(
        &self,
        name: String,
        _configs: Vec<BTreeMap<String, String>>,
        _request: InternalRequest,
    ) -> HerderFuture<'_, ()> {
        Box::pin(async move {
            Err(HerderError::BadRequest(format!(
                "connector {name}: task configs are written by a cluster's leader; this worker is standalone"
            )))
        })
    }
}
