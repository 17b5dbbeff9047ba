//! The status topic (distributed-mode.md §5): connector, task and active-topic records as Kafka
//! Connect writes them, and the rules that decide which of two workers' writes wins.
//!
//! Values are schemaless JSON with fields in Java's order: `state`, `trace` (null when absent),
//! `worker_id` (`host:port`) and `generation` (the group generation that gave the writer its
//! assignment). `DESTROYED` is never a value: it is a tombstone.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// A connector's or a task's state in the status topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Unassigned => "UNASSIGNED",
            StatusState::Running => "RUNNING",
            StatusState::Paused => "PAUSED",
            StatusState::Failed => "FAILED",
            StatusState::Restarting => "RESTARTING",
            StatusState::Stopped => "STOPPED",
        }
    }

    fn parse(s: &str) -> Option<StatusState> {
        [
            StatusState::Unassigned,
            StatusState::Running,
            StatusState::Paused,
            StatusState::Failed,
            StatusState::Restarting,
            StatusState::Stopped,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// One status record's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: StatusState,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

impl Status {
    pub fn encode(&self) -> Vec<u8> {
        let v = json!({
            "state": self.state.as_str(),
            "trace": self.trace,
            "worker_id": self.worker_id,
            "generation": self.generation,
        });
        serde_json::to_vec(&v).expect("serializes")
    }

    /// Reads leniently: unknown fields are ignored, a missing trace is none.
    pub fn decode(bytes: &[u8]) -> Option<Status> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        Some(Status {
            state: StatusState::parse(v.get("state")?.as_str()?)?,
            trace: v.get("trace").and_then(Value::as_str).map(str::to_owned),
            worker_id: v.get("worker_id")?.as_str()?.to_owned(),
            generation: v.get("generation").and_then(Value::as_i64).and_then(|g| i32::try_from(g).ok())?,
        })
    }
}

/// A status-topic key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    Connector(String),
    Task(String, u32),
    /// KIP-558: `status-topic-<topic>:connector-<name>`.
    Topic {
        topic: String,
        connector: String,
    },
}

impl StatusKey {
    pub fn key(&self) -> String {
        match self {
            StatusKey::Connector(c) => format!("status-connector-{c}"),
            StatusKey::Task(c, t) => format!("status-task-{c}-{t}"),
            StatusKey::Topic { topic, connector } => format!("status-topic-{topic}:connector-{connector}"),
        }
    }

    pub fn parse(key: &str) -> Option<StatusKey> {
        if let Some(c) = key.strip_prefix("status-connector-") {
            return Some(StatusKey::Connector(c.to_owned()));
        }
        if let Some(t) = key.strip_prefix("status-task-") {
            let (connector, id) = t.rsplit_once('-')?;
            return Some(StatusKey::Task(connector.to_owned(), id.parse().ok()?));
        }
        let rest = key.strip_prefix("status-topic-")?;
        let (topic, connector) = rest.split_once(':')?;
        Some(StatusKey::Topic { topic: topic.to_owned(), connector: connector.strip_prefix("connector-")?.to_owned() })
    }
}

/// The KIP-558 active-topic value.
pub fn topic_value(topic: &str, connector: &str, task: u32, discovered_ms: i64) -> Vec<u8> {
    let v = json!({"topic": {"name": topic, "connector": connector, "task": task, "discoverTimestamp": discovered_ms}});
    serde_json::to_vec(&v).expect("serializes")
}

/// Whether a "safe" write (UNASSIGNED at shutdown, FAILED) may go out: only when nothing is
/// cached, the cached record is this worker's, or it is no newer than `generation` (Kafka's
/// `putSafe`), so a worker that lost the work does not overwrite its new owner.
pub fn may_write_safely(cached: Option<&Status>, worker_id: &str, generation: i32) -> bool {
    match cached {
        None => true,
        Some(c) => c.worker_id == worker_id || c.generation <= generation,
    }
}

/// Statuses as replayed from the topic: the last record read wins, except a task's stale
/// `UNASSIGNED` (from a worker that lost it) over a `RUNNING` of the same or a newer generation.
#[derive(Debug, Clone, Default)]
pub struct StatusCache {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
    topics: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl StatusCache {
    /// Applies one record; `false` when its key or value could not be read (skipped).
    pub fn apply(&mut self, key: &str, value: Option<&[u8]>) -> bool {
        let Some(key) = StatusKey::parse(key) else { return false };
        match (key, value) {
            (StatusKey::Connector(c), None) => {
                self.tasks.retain(|(tc, _), _| *tc != c);
                self.connectors.remove(&c);
            }
            (StatusKey::Task(c, t), None) => {
                self.tasks.remove(&(c, t));
            }
            (StatusKey::Topic { topic, connector }, None) => {
                if let Some(topics) = self.topics.get_mut(&connector) {
                    topics.remove(&topic);
                }
            }
            (StatusKey::Topic { topic, connector }, Some(_)) => {
                self.topics.entry(connector).or_default().insert(topic);
            }
            (StatusKey::Connector(c), Some(bytes)) => {
                let Some(status) = Status::decode(bytes) else { return false };
                self.connectors.insert(c, status);
            }
            (StatusKey::Task(c, t), Some(bytes)) => {
                let Some(status) = Status::decode(bytes) else { return false };
                let stale = status.state == StatusState::Unassigned
                    && self.tasks.get(&(c.clone(), t)).is_some_and(|cached| {
                        cached.state == StatusState::Running && cached.generation >= status.generation
                    });
                if !stale {
                    self.tasks.insert((c, t), status);
                }
            }
        }
        true
    }

    pub fn connector(&self, name: &str) -> Option<&Status> {
        self.connectors.get(name)
    }

    /// Every connector with a status or a task status.
    pub fn connectors(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> = self.connectors.keys().cloned().collect();
        names.extend(self.tasks.keys().map(|(c, _)| c.clone()));
        names.into_iter().collect()
    }

    pub fn task(&self, name: &str, task: u32) -> Option<&Status> {
        self.tasks.get(&(name.to_owned(), task))
    }

    /// The connector's tasks with a status, by id.
    pub fn tasks<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (u32, &'a Status)> + 'a {
        self.tasks.iter().filter(move |((c, _), _)| c == name).map(|((_, t), s)| (*t, s))
    }

    /// KIP-558: the topics the connector's tasks used.
    pub fn active_topics(&self, name: &str) -> Vec<String> {
        self.topics.get(name).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: StatusState, worker: &str, generation: i32) -> Status {
        Status { state, trace: None, worker_id: worker.into(), generation }
    }

    #[test]
    fn values_and_keys_are_kafkas() {
        let s = status(StatusState::Running, "w1:8083", 4);
        assert_eq!(s.encode(), br#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":4}"#);
        assert_eq!(Status::decode(&s.encode()), Some(s));
        let java =
            br#"{"state":"FAILED","trace":"java.lang.Exception: x","worker_id":"a:1","generation":7,"version":"3.9"}"#;
        assert_eq!(Status::decode(java).unwrap().trace.as_deref(), Some("java.lang.Exception: x"));
        assert_eq!(StatusKey::parse("status-task-my-conn-3"), Some(StatusKey::Task("my-conn".into(), 3)));
        assert_eq!(
            StatusKey::parse("status-topic-orders:connector-jdbc"),
            Some(StatusKey::Topic { topic: "orders".into(), connector: "jdbc".into() })
        );
        for k in [StatusKey::Connector("a-b".into()), StatusKey::Task("a-b".into(), 0)] {
            assert_eq!(StatusKey::parse(&k.key()), Some(k));
        }
        assert_eq!(
            topic_value("orders", "jdbc", 0, 5),
            br#"{"topic":{"name":"orders","connector":"jdbc","task":0,"discoverTimestamp":5}}"#
        );
    }

    #[test]
    fn a_stale_unassigned_does_not_override_running() {
        let mut cache = StatusCache::default();
        cache.apply("status-task-c-0", Some(&status(StatusState::Running, "new:1", 5).encode()));
        cache.apply("status-task-c-0", Some(&status(StatusState::Unassigned, "old:1", 4).encode()));
        assert_eq!(cache.task("c", 0).unwrap().worker_id, "new:1");
        cache.apply("status-task-c-0", Some(&status(StatusState::Unassigned, "new:1", 6).encode()));
        assert_eq!(cache.task("c", 0).unwrap().state, StatusState::Unassigned, "a newer generation wins");
        cache.apply("status-connector-c", Some(&status(StatusState::Running, "new:1", 6).encode()));
        cache.apply("status-connector-c", None);
        assert!(
            cache.connector("c").is_none() && cache.task("c", 0).is_none(),
            "a connector tombstone drops its tasks"
        );
        assert!(!cache.apply("status-task-c-x", Some(b"{}")));
    }

    #[test]
    fn safe_writes_leave_the_new_owner_alone() {
        let cached = status(StatusState::Running, "new:1", 5);
        assert!(!may_write_safely(Some(&cached), "old:1", 4));
        assert!(may_write_safely(Some(&cached), "new:1", 4));
        assert!(may_write_safely(Some(&cached), "old:1", 5));
        assert!(may_write_safely(None, "old:1", 0));
    }
}
