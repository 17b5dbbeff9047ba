//! The config topic (distributed-mode.md §3): its record keys and values as Kafka Connect writes
//! them, and the replay that turns the records into the cluster's config state, with Kafka's
//! rules: a connector's task configs take effect only when a `commit-<name>` record names every
//! one of them; a commit with missing tasks marks the connector inconsistent (no tasks run until
//! new ones are committed); a deleted connector drops everything it had.
//!
//! Keys are plain strings; values are schemaless JSON (the internal JsonConverter with
//! `schemas.enable=false`). Readers look only at the fields they know.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::protocol::Work;

/// A connector's or a task's config: string keys, string values (a JSON null value is dropped).
pub type Properties = BTreeMap<String, String>;

/// What a connector should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetState {
    #[default]
    Started,
    Paused,
    /// KIP-875: tasks stopped and their configs emptied.
    Stopped,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    fn parse(s: &str) -> Option<TargetState> {
        match s {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// The leader's key for signing internal requests (KIP-507).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The raw key bytes (Base64 in the record).
    pub key: Vec<u8>,
    pub algorithm: String,
    pub created_ms: i64,
}

/// A `restart-connector-<name>` request (KIP-745).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartFlags {
    pub include_tasks: bool,
    pub only_failed: bool,
}

/// A config-topic key, by Kafka's prefixes in Kafka's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigKey {
    TargetState(String),
    Connector(String),
    Task(String, u32),
    Commit(String),
    Restart(String),
    TasksFencing(String),
    SessionKey,
    LoggerCluster(String),
}

impl ConfigKey {
    /// `None` for keys Kafka would log and skip (a malformed task key, an unknown prefix).
    pub fn parse(key: &str) -> Option<ConfigKey> {
        let rest = |prefix: &str| key.strip_prefix(prefix).map(str::to_owned);
        if let Some(c) = rest("target-state-") {
            return Some(ConfigKey::TargetState(c));
        }
        if let Some(c) = rest("connector-") {
            return Some(ConfigKey::Connector(c));
        }
        if let Some(t) = key.strip_prefix("task-") {
            let (connector, id) = t.rsplit_once('-')?;
            return Some(ConfigKey::Task(connector.to_owned(), id.parse().ok()?));
        }
        if let Some(c) = rest("commit-") {
            return Some(ConfigKey::Commit(c));
        }
        if let Some(c) = rest("restart-connector-") {
            return Some(ConfigKey::Restart(c));
        }
        if let Some(c) = rest("tasks-fencing-") {
            return Some(ConfigKey::TasksFencing(c));
        }
        if key == "session-key" {
            return Some(ConfigKey::SessionKey);
        }
        rest("logger-cluster-").map(ConfigKey::LoggerCluster)
    }

    /// The record key.
    pub fn key(&self) -> String {
        match self {
            ConfigKey::TargetState(c) => format!("target-state-{c}"),
            ConfigKey::Connector(c) => format!("connector-{c}"),
            ConfigKey::Task(c, n) => format!("task-{c}-{n}"),
            ConfigKey::Commit(c) => format!("commit-{c}"),
            ConfigKey::Restart(c) => format!("restart-connector-{c}"),
            ConfigKey::TasksFencing(c) => format!("tasks-fencing-{c}"),
            ConfigKey::SessionKey => "session-key".into(),
            ConfigKey::LoggerCluster(ns) => format!("logger-cluster-{ns}"),
        }
    }
}

/// The values Kafka writes, as compact JSON bytes.
pub mod value {
    use super::*;

    /// `connector-<name>` and `task-<name>-<n>`: `{"properties":{…}}`.
    pub fn properties(config: &Properties) -> Vec<u8> {
        serde_json::to_vec(&json!({ "properties": config })).expect("a string map serializes")
    }

    /// `commit-<name>`: `{"tasks":N}`.
    pub fn commit(tasks: u32) -> Vec<u8> {
        serde_json::to_vec(&json!({ "tasks": tasks })).expect("serializes")
    }

    /// `target-state-<name>`: STOPPED is written as `"state":"PAUSED"` for workers older than
    /// 3.5, with the true value in `state.v2`.
    pub fn target_state(state: TargetState) -> Vec<u8> {
        let old = if state == TargetState::Stopped { TargetState::Paused } else { state };
        serde_json::to_vec(&json!({ "state": old.as_str(), "state.v2": state.as_str() })).expect("serializes")
    }

    /// `session-key`: the key as standard Base64 with padding.
    pub fn session_key(key: &SessionKey) -> Vec<u8> {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&key.key);
        serde_json::to_vec(&json!({ "key": encoded, "algorithm": key.algorithm, "creation-timestamp": key.created_ms }))
            .expect("serializes")
    }

    /// `restart-connector-<name>`.
    pub fn restart(flags: RestartFlags) -> Vec<u8> {
        serde_json::to_vec(&json!({ "include-tasks": flags.include_tasks, "only-failed": flags.only_failed }))
            .expect("serializes")
    }

    /// `logger-cluster-<namespace>` (KIP-976).
    pub fn logger_level(level: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({ "level": level })).expect("serializes")
    }

    /// `tasks-fencing-<name>`.
    pub fn task_count(count: u32) -> Vec<u8> {
        serde_json::to_vec(&json!({ "task-count": count })).expect("serializes")
    }
}

/// What changed when a record was applied after the first full replay (Kafka's
/// `ConfigUpdateListener` callbacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEvent {
    ConnectorUpdated(String),
    ConnectorRemoved(String),
    TasksCommitted(String),
    TargetStateChanged(String),
    SessionKeyUpdated,
    RestartRequested(String, RestartFlags),
    LoggerLevel(String, String),
}

/// A record that could not be read: logged by the caller and skipped, as Kafka does (the offset
/// still advances).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config topic record {key:?} at offset {offset}: {problem}; skipped")]
pub struct Skipped {
    pub key: String,
    pub offset: i64,
    pub problem: String,
}

/// The cluster's config, as replayed from the config topic (Kafka's `ClusterConfigState` plus the
/// store's replay buffers).
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    /// The next offset to read; −1 before any record (the value in group metadata).
    offset: i64,
    /// Whether the first replay to the end is done (restart and logger records count only
    /// after it).
    started: bool,
    connectors: BTreeMap<String, Properties>,
    target_states: BTreeMap<String, TargetState>,
    task_configs: BTreeMap<(String, u32), Properties>,
    task_counts: BTreeMap<String, u32>,
    deferred: BTreeMap<String, BTreeMap<u32, Properties>>,
    inconsistent: BTreeSet<String>,
    /// Bumped by each applied commit, per connector.
    generations: BTreeMap<String, u64>,
    /// The connector config the committed tasks were generated from.
    applied: BTreeMap<String, Properties>,
    session_key: Option<SessionKey>,
    pending_fencing: BTreeSet<String>,
}

impl ConfigState {
    pub fn new() -> ConfigState {
        ConfigState { offset: -1, ..ConfigState::default() }
    }

    /// The next offset to read, −1 before any record.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Marks the first replay to the end done: later records raise events.
    pub fn mark_started(&mut self) {
        self.started = true;
    }

    pub fn connectors(&self) -> impl Iterator<Item = &String> {
        self.connectors.keys()
    }

    pub fn connector_config(&self, name: &str) -> Option<&Properties> {
        self.connectors.get(name)
    }

    /// A connector with a config and no target-state record is STARTED.
    pub fn target_state(&self, name: &str) -> Option<TargetState> {
        self.connectors.get(name).map(|_| self.target_states.get(name).copied().unwrap_or_default())
    }

    /// The task ids that run: `0..count`, none while inconsistent or before the first commit.
    pub fn tasks(&self, name: &str) -> Vec<u32> {
        if self.inconsistent.contains(name) || !self.connectors.contains_key(name) {
            return Vec::new();
        }
        (0..self.task_counts.get(name).copied().unwrap_or(0)).collect()
    }

    pub fn task_config(&self, name: &str, task: u32) -> Option<&Properties> {
        self.task_configs.get(&(name.to_owned(), task))
    }

    pub fn is_inconsistent(&self, name: &str) -> bool {
        self.inconsistent.contains(name)
    }

    /// The connector's task-config generation (0 before its first commit).
    pub fn task_generation(&self, name: &str) -> u64 {
        self.generations.get(name).copied().unwrap_or(0)
    }

    /// The connector config its committed tasks were generated from.
    pub fn applied_config(&self, name: &str) -> Option<&Properties> {
        self.applied.get(name)
    }

    pub fn session_key(&self) -> Option<&SessionKey> {
        self.session_key.as_ref()
    }

    pub fn pending_fencing(&self, name: &str) -> bool {
        self.pending_fencing.contains(name)
    }

    /// Every connector and its running task ids, for the assignor.
    pub fn configured(&self) -> Work {
        let mut work = Work::default();
        for name in self.connectors.keys() {
            work.connectors.insert(name.clone());
            for t in self.tasks(name) {
                work.tasks.insert((name.clone(), t as i32));
            }
        }
        work
    }

    /// Applies the record at `offset`; an event once started. A record that cannot be read is
    /// skipped with the reason (the offset advances all the same).
    pub fn apply(&mut self, offset: i64, key: &str, value: Option<&[u8]>) -> Result<Option<ConfigEvent>, Skipped> {
        self.offset = offset + 1;
        let skipped = |problem: String| Skipped { key: key.to_owned(), offset, problem };
        let Some(parsed) = ConfigKey::parse(key) else {
            return Err(skipped("not a Kafka Connect config key".into()));
        };
        let json: Option<Map<String, Value>> = match value {
            None => None,
            Some(bytes) => match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => Some(map),
                Ok(other) => return Err(skipped(format!("value is not a JSON object: {other}"))),
                Err(e) => return Err(skipped(format!("value is not JSON: {e}"))),
            },
        };
        let event = match parsed {
            ConfigKey::Connector(name) => self.apply_connector(name, json).map_err(skipped)?,
            ConfigKey::Task(name, id) => {
                let Some(map) = json else { return Err(skipped("a null task config is ignored".into())) };
                let config = properties(&map).map_err(skipped)?;
                self.deferred.entry(name).or_default().insert(id, config);
                None
            }
            ConfigKey::Commit(name) => {
                let Some(map) = json else { return Err(skipped("a null commit is ignored".into())) };
                let count = int_field(&map, "tasks").map_err(skipped)?;
                self.apply_commit(name, count)
            }
            ConfigKey::TargetState(name) => self.apply_target_state(name, json),
            ConfigKey::SessionKey => {
                let Some(map) = json else { return Ok(None) };
                self.session_key = Some(session_key(&map).map_err(skipped)?);
                Some(ConfigEvent::SessionKeyUpdated)
            }
            ConfigKey::Restart(name) => {
                let map = json.unwrap_or_default();
                let flag = |f: &str| map.get(f).and_then(Value::as_bool).unwrap_or(false);
                let flags = RestartFlags { include_tasks: flag("include-tasks"), only_failed: flag("only-failed") };
                Some(ConfigEvent::RestartRequested(name, flags))
            }
            ConfigKey::TasksFencing(name) => {
                self.pending_fencing.remove(&name);
                None
            }
            ConfigKey::LoggerCluster(namespace) => {
                let level = json.as_ref().and_then(|m| m.get("level")).and_then(Value::as_str).map(str::to_owned);
                level.map(|l| ConfigEvent::LoggerLevel(namespace, l))
            }
        };
        Ok(event.filter(|_| self.started))
    }

    fn apply_connector(
        &mut self,
        name: String,
        json: Option<Map<String, Value>>,
    ) -> Result<Option<ConfigEvent>, String> {
        match json {
            None => {
                self.connectors.remove(&name);
                self.task_counts.remove(&name);
                self.task_configs.retain(|(c, _), _| *c != name);
                self.deferred.remove(&name);
                self.applied.remove(&name);
                self.inconsistent.remove(&name);
                Ok(Some(ConfigEvent::ConnectorRemoved(name)))
            }
            Some(map) => {
                let config = properties(&map)?;
                self.connectors.insert(name.clone(), config);
                Ok(Some(ConfigEvent::ConnectorUpdated(name)))
            }
        }
    }

    /// §3.4: a commit applies the deferred task configs only when they hold every id `0..count`.
    fn apply_commit(&mut self, name: String, count: u32) -> Option<ConfigEvent> {
        let deferred = self.deferred.remove(&name).unwrap_or_default();
        let Some(connector) = self.connectors.get(&name).cloned() else {
            // deleted (and its tombstone compacted away): nothing of it stays
            self.task_counts.remove(&name);
            self.task_configs.retain(|(c, _), _| *c != name);
            return None;
        };
        if (0..count).all(|id| deferred.contains_key(&id)) {
            self.task_configs.retain(|(c, id), _| *c != name || *id < count);
            for (id, config) in deferred {
                self.task_configs.insert((name.clone(), id), config);
            }
            *self.generations.entry(name.clone()).or_insert(0) += 1;
            self.applied.insert(name.clone(), connector);
            self.inconsistent.remove(&name);
        } else {
            self.inconsistent.insert(name.clone());
        }
        self.task_counts.insert(name.clone(), count);
        self.pending_fencing.insert(name.clone());
        Some(ConfigEvent::TasksCommitted(name))
    }

    fn apply_target_state(&mut self, name: String, json: Option<Map<String, Value>>) -> Option<ConfigEvent> {
        match json {
            None => {
                self.target_states.remove(&name);
            }
            Some(map) => {
                let text = |f: &str| map.get(f).and_then(Value::as_str).and_then(TargetState::parse);
                // state.v2 when it is a string, else state; an unknown value is ignored
                let state = match map.get("state.v2") {
                    Some(Value::String(_)) => text("state.v2"),
                    _ => text("state"),
                }?;
                self.target_states.insert(name.clone(), state);
            }
        }
        Some(ConfigEvent::TargetStateChanged(name))
    }
}

fn properties(map: &Map<String, Value>) -> Result<Properties, String> {
    match map.get("properties") {
        Some(Value::Object(p)) => Ok(p
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                Value::Null => None,
                other => Some((k.clone(), other.to_string())),
            })
            .collect()),
        _ => Err("no \"properties\" object".into()),
    }
}

fn int_field(map: &Map<String, Value>, field: &str) -> Result<u32, String> {
    map.get(field)
        .and_then(Value::as_i64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("no non-negative integer \"{field}\""))
}

fn session_key(map: &Map<String, Value>) -> Result<SessionKey, String> {
    use base64::Engine;
    let text = |f: &str| map.get(f).and_then(Value::as_str).ok_or_else(|| format!("no \"{f}\" string"));
    let key = base64::engine::general_purpose::STANDARD.decode(text("key")?).map_err(|e| format!("key: {e}"))?;
    let created_ms = map.get("creation-timestamp").and_then(Value::as_i64).ok_or("no \"creation-timestamp\"")?;
    Ok(SessionKey { key, algorithm: text("algorithm")?.to_owned(), created_ms })
}

#[cfg(test)]
mod tests;
