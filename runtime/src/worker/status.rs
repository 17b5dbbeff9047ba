//! What the worker knows about its connectors and tasks, for REST and progress logs.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::mpsc;

use super::supervisor::Command;
use crate::config::ConnectorKind;
use crate::connector::TaskConfig;
use crate::record::OffsetMap;

/// Kafka Connect's states (`ConnectorStateInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
    Stopped,
    /// Asked to restart over REST, not yet running again.
    Restarting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Stopped => "STOPPED",
            State::Restarting => "RESTARTING",
        }
    }
}

/// Where every state change of a connector or a task goes (Kafka's `ConnectorStatus.Listener`
/// and `TaskStatus.Listener`): nothing for a standalone worker, whose REST reads the statuses in
/// memory; the status topic for a distributed one. Called on the thread making the change, so
/// an implementation hands the write off rather than blocking.
pub trait StatusListener: Send + Sync + 'static {
    fn connector_state(&self, connector: &str, state: State, trace: Option<&str>);
    fn task_state(&self, connector: &str, task: usize, state: State, trace: Option<&str>);
}

/// A listener with the name of the connector it reports for.
#[derive(Clone)]
struct Reporter {
    connector: Arc<str>,
    listener: Arc<dyn StatusListener>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reporter({})", self.connector)
    }
}

/// One task's live status.
#[derive(Debug)]
pub struct TaskStatus {
    pub id: usize,
    pub config: TaskConfig,
    state: Mutex<(State, Option<String>)>,
    reporter: Option<Reporter>,
    /// Records polled (sources) or put (sinks).
    pub records: AtomicU64,
    /// Bytes produced (sources: keys and values after conversion) or consumed (sinks).
    pub bytes: AtomicU64,
    /// Records dropped by `errors.tolerance=all`.
    pub skipped: AtomicU64,
    /// Offset commits that succeeded, and that failed (retried at the next interval).
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    /// Duration of the last successful offset commit, in microseconds.
    pub last_commit_us: AtomicU64,
    /// Sinks: the offsets last committed to the group.
    pub committed: Mutex<OffsetMap>,
    /// Sinks: each assigned partition's end offset as the broker last reported it.
    pub end_offsets: Mutex<OffsetMap>,
}

impl TaskStatus {
    pub fn new(id: usize, config: TaskConfig) -> Self {
        TaskStatus {
            id,
            config,
            state: Mutex::new((State::Unassigned, None)),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            commit_failures: AtomicU64::new(0),
            last_commit_us: AtomicU64::new(0),
            committed: Mutex::new(OffsetMap::new()),
            end_offsets: Mutex::new(OffsetMap::new()),
            reporter: None,
        }
    }
    pub fn set(&self, state: State, trace: Option<String>) {
        if let Some(r) = &self.reporter {
            r.listener.task_state(&r.connector, self.id, state, trace.as_deref());
        }
        *self.state.lock().unwrap() = (state, trace);
    }
    pub fn state(&self) -> (State, Option<String>) {
        self.state.lock().unwrap().clone()
    }
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
    pub fn record_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }
    /// An offset commit finished: `Some(duration)` when it succeeded.
    pub fn record_commit(&self, took: Option<std::time::Duration>) {
        match took {
            Some(d) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.last_commit_us.store(d.as_micros() as u64, Ordering::Relaxed);
            }
            None => {
                self.commit_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One connector's status.
#[derive(Debug)]
pub struct ConnectorStatus {
    pub name: String,
    pub kind: ConnectorKind,
    /// Secrets redacted.
    pub config: BTreeMap<String, String>,
    /// The config as written, references unresolved (never shown: secrets may be in clear).
    pub(crate) written: BTreeMap<String, String>,
    /// The current generation's tasks.
    pub tasks: RwLock<Vec<Arc<TaskStatus>>>,
    pub state: Mutex<State>,
    /// The topics its tasks used (KIP-558).
    pub topics: Arc<ActiveTopics>,
    /// Why the connector itself is `FAILED` (its `start` failed).
    pub trace: Mutex<Option<String>>,
    /// Commands to the connector's supervisor (REST restart, pause, …).
    pub control: mpsc::UnboundedSender<Command>,
    /// Sources: checks an offset written over REST (see [`crate::connector::check_offset`]).
    pub offset_check: Option<OffsetCheck>,
    /// Where its and its tasks' state changes are reported.
    pub(crate) listener: Option<Arc<dyn StatusListener>>,
}

/// The signature of [`crate::connector::check_offset`]: partition, offset (`None`: a reset).
pub type OffsetCheckFn = dyn Fn(&serde_json::Value, Option<&serde_json::Value>) -> Result<(), String> + Send + Sync;

/// A source connector's offset check, with its types erased.
#[derive(Clone)]
pub struct OffsetCheck(pub Arc<OffsetCheckFn>);

impl std::fmt::Debug for dyn StatusListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusListener")
    }
}

impl std::fmt::Debug for OffsetCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OffsetCheck")
    }
}

impl ConnectorStatus {
    /// The connector itself failed: `FAILED` with `trace`.
    pub fn fail(&self, trace: String) {
        if let Some(l) = &self.listener {
            l.connector_state(&self.name, State::Failed, Some(&trace));
        }
        *self.state.lock().unwrap() = State::Failed;
        *self.trace.lock().unwrap() = Some(trace);
    }

    /// A new state (its trace cleared).
    pub fn set_state(&self, state: State) {
        if let Some(l) = &self.listener {
            l.connector_state(&self.name, state, None);
        }
        *self.state.lock().unwrap() = state;
        *self.trace.lock().unwrap() = None;
    }

    pub fn state(&self) -> State {
        *self.state.lock().unwrap()
    }

    /// A status for task `id` of this connector, reporting to the same listener.
    pub fn new_task(&self, id: usize, config: TaskConfig) -> TaskStatus {
        let mut task = TaskStatus::new(id, config);
        task.reporter =
            self.listener.clone().map(|listener| Reporter { connector: self.name.as_str().into(), listener });
        task
    }

    pub fn tasks(&self) -> Vec<Arc<TaskStatus>> {
        self.tasks.read().unwrap().clone()
    }
}

/// KIP-558 active topics of one connector: what its tasks produced to or consumed from since the
/// last reset (`GET /connectors/{c}/topics`, `PUT …/topics/reset`).
#[derive(Debug, Default)]
pub struct ActiveTopics {
    topics: Mutex<BTreeSet<String>>,
    /// Bumped by a reset, so tasks forget what they already reported.
    epoch: AtomicU64,
}

/// A task's memory of the topics it reported, so the shared set is touched once per topic.
#[derive(Debug, Default)]
pub struct ReportedTopics {
    epoch: u64,
    topics: HashSet<Arc<str>>,
    /// The topic reported last: most records share it, and comparing pointers is cheaper than
    /// hashing the name.
    last: Option<Arc<str>>,
}

impl ActiveTopics {
    /// Notes that a task used `topic` (once per topic and reset, per task).
    pub fn record(&self, topic: &Arc<str>, reported: &mut ReportedTopics) {
        let epoch = self.epoch.load(Ordering::Relaxed);
        if reported.epoch != epoch {
            reported.topics.clear();
            reported.last = None;
            reported.epoch = epoch;
        }
        if reported.last.as_ref().is_some_and(|last| Arc::ptr_eq(last, topic)) {
            return;
        }
        reported.last = Some(topic.clone());
        if !reported.topics.contains(topic) {
            reported.topics.insert(topic.clone());
            self.topics.lock().unwrap().insert(topic.to_string());
        }
    }

    pub fn list(&self) -> Vec<String> {
        self.topics.lock().unwrap().iter().cloned().collect()
    }

    pub fn reset(&self) {
        let mut topics = self.topics.lock().unwrap();
        topics.clear();
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every connector of this worker.
#[derive(Debug, Default)]
pub struct WorkerState {
    pub worker_id: String,
    pub connectors: RwLock<BTreeMap<String, Arc<ConnectorStatus>>>,
    /// The connector classes this binary runs, for `GET /connector-plugins`.
    pub plugins: RwLock<Arc<crate::plugin::Registry>>,
}

impl WorkerState {
    pub fn connector(&self, name: &str) -> Option<Arc<ConnectorStatus>> {
        self.connectors.read().unwrap().get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl StatusListener for Recorded {
        fn connector_state(&self, connector: &str, state: State, trace: Option<&str>) {
            self.0.lock().unwrap().push(format!("{connector} {} {trace:?}", state.as_str()));
        }
        fn task_state(&self, connector: &str, task: usize, state: State, trace: Option<&str>) {
            self.0.lock().unwrap().push(format!("{connector}-{task} {} {trace:?}", state.as_str()));
        }
    }

    #[test]
    fn every_state_change_reaches_the_listener() {
        let recorded = Arc::new(Recorded::default());
        let (control, _commands) = mpsc::unbounded_channel();
        let c = ConnectorStatus {
            name: "c".into(),
            kind: ConnectorKind::Source,
            config: BTreeMap::new(),
            written: BTreeMap::new(),
            tasks: Default::default(),
            state: Mutex::new(State::Unassigned),
            topics: Default::default(),
            trace: Mutex::new(None),
            control,
            offset_check: None,
            listener: Some(recorded.clone()),
        };
        c.set_state(State::Running);
        let task = c.new_task(0, TaskConfig::new());
        task.set(State::Running, None);
        task.set(State::Failed, Some("boom".into()));
        c.fail("start failed".into());
        assert_eq!(
            *recorded.0.lock().unwrap(),
            ["c RUNNING None", "c-0 RUNNING None", "c-0 FAILED Some(\"boom\")", "c FAILED Some(\"start failed\")"]
        );
        assert_eq!(c.state(), State::Failed);
    }

    #[test]
    fn active_topics_are_reported_once_and_again_after_a_reset() {
        let active = ActiveTopics::default();
        let (mut a, mut b) = (ReportedTopics::default(), ReportedTopics::default());
        let (t1, t2): (Arc<str>, Arc<str>) = ("orders".into(), "audit".into());
        active.record(&t1, &mut a);
        active.record(&t1, &mut b);
        active.record(&t2, &mut a);
        assert_eq!(active.list(), ["audit", "orders"]);
        active.reset();
        assert!(active.list().is_empty());
        active.record(&t1, &mut a);
        assert_eq!(active.list(), ["orders"], "a task reports again after a reset");
        active.reset();
        active.record(&t1, &mut a);
        assert_eq!(active.list(), ["orders"], "the topic reported last, again after a reset");
    }
}
