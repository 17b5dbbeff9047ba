//! Kafka Connect's REST entities (`org.apache.kafka.connect.runtime.rest.entities`), typed, in
//! the field order and spelling Kafka writes: what the [`Herder`](super::Herder) answers and what
//! REST serializes as is. A client written for Kafka Connect's REST API reads these unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::ConnectorKind;

/// A connector's or a task's state, as Kafka spells it.
pub use crate::worker::State;

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for ConnectorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `ConnectorTaskId`: `{"connector":"c","task":0}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: usize,
}

/// `ConnectorInfo`: `GET /connectors/{c}`, and the answer to a create or a config update.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    /// Secrets hidden, `${…}` references kept.
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
}

/// `TaskInfo`: an entry of `GET /connectors/{c}/tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: BTreeMap<String, String>,
}

/// `ConnectorStateInfo.ConnectorState`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorState {
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo.TaskState`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskState {
    pub id: usize,
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo`: `GET /connectors/{c}/status`, and the 202 answer of a flagged restart.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
}

/// `ConnectorOffset`: a source partition and offset, or a sink's
/// `{"kafka_topic","kafka_partition"}` and `{"kafka_offset"}`. A null offset (in a `PATCH`) resets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    pub partition: Value,
    pub offset: Option<Value>,
}

/// `ConnectorOffsets`: `{"offsets":[…]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

/// `Message`: the answer of an offsets change, `{"message":"…"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub message: String,
}

/// `ErrorMessage`: every error answer, `{"error_code":404,"message":"…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub error_code: u16,
    pub message: String,
}

/// `RestartRequest`'s flags, read as Java's `Boolean.parseBoolean` reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestartRequest {
    pub include_tasks: bool,
    pub only_failed: bool,
}

impl RestartRequest {
    /// Neither flag: only the connector instance restarts, on the worker that runs it, and REST
    /// answers 204 with no body (Kafka's `forceRestartConnectorOnly`, whether or not the flags
    /// were given).
    pub fn connector_only(&self) -> bool {
        !self.include_tasks && !self.only_failed
    }

    /// Whether the connector instance restarts: always, unless only failed things restart and
    /// it has not failed (Kafka's `RestartRequest.shouldRestartConnector`).
    pub fn restarts_connector(&self, state: State) -> bool {
        !self.only_failed || state == State::Failed
    }

    /// Whether a task in `state` restarts (`shouldRestartTask`).
    pub fn restarts_task(&self, state: State) -> bool {
        self.include_tasks && (!self.only_failed || state == State::Failed)
    }
}

/// `ServerInfo`: `GET /`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    pub version: &'static str,
    pub commit: &'static str,
    pub kafka_cluster_id: Option<String>,
    /// sluice's addition (Kafka's clients ignore it): the worker's mode and group.
    pub cluster: ClusterInfo,
}

/// A worker's place in its cluster, as `GET /` shows it under `cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// `standalone` or `distributed`.
    pub mode: &'static str,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The leader's REST URL, once an assignment named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_leader: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebalancing: Option<bool>,
    /// Whether the broker answers, where the worker knows (a cluster's group coordinator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_serialize_in_kafkas_shapes() {
        let status = ConnectorStateInfo {
            name: "c".into(),
            connector: ConnectorState { state: State::Running, worker_id: "w:8083".into(), trace: None },
            tasks: vec![TaskState { id: 0, state: State::Failed, worker_id: "w:8083".into(), trace: Some("t".into()) }],
            kind: ConnectorKind::Source,
        };
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"name":"c","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083","trace":"t"}],"type":"source"}"#
        );
        let info = ConnectorInfo {
            name: "c".into(),
            config: BTreeMap::from([("k".into(), "v".into())]),
            tasks: vec![ConnectorTaskId { connector: "c".into(), task: 1 }],
            kind: ConnectorKind::Sink,
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"name":"c","config":{"k":"v"},"tasks":[{"connector":"c","task":1}],"type":"sink"}"#
        );
        let offsets: ConnectorOffsets =
            serde_json::from_str(r#"{"offsets":[{"partition":{"f":"a"},"offset":null}]}"#).unwrap();
        assert_eq!(offsets.offsets[0].offset, None);
    }

    #[test]
    fn restart_plan_follows_kafka() {
        let plain = RestartRequest::default();
        assert!(plain.restarts_connector(State::Running) && !plain.restarts_task(State::Failed));
        let failed_only = RestartRequest { include_tasks: true, only_failed: true };
        assert!(!failed_only.restarts_connector(State::Running));
        assert!(failed_only.restarts_connector(State::Failed));
        assert!(failed_only.restarts_task(State::Failed) && !failed_only.restarts_task(State::Running));
        let all = RestartRequest { include_tasks: true, only_failed: false };
        assert!(all.restarts_task(State::Running));
    }
}
