//! What the worker knows about its connectors and tasks, for REST and progress logs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::config::ConnectorKind;
use crate::connector::TaskConfig;
use crate::record::OffsetMap;

/// Kafka Connect's states (`ConnectorStateInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Failed,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Failed => "FAILED",
            State::Stopped => "STOPPED",
        }
    }
}

/// One task's live status.
#[derive(Debug)]
pub struct TaskStatus {
    pub id: usize,
    pub config: TaskConfig,
    state: Mutex<(State, Option<String>)>,
    /// Records polled (sources) or put (sinks).
    pub records: AtomicU64,
    /// Sinks: the offsets last committed to the group.
    pub committed: Mutex<OffsetMap>,
}

impl TaskStatus {
    pub fn new(id: usize, config: TaskConfig) -> Self {
        TaskStatus {
            id,
            config,
            state: Mutex::new((State::Unassigned, None)),
            records: AtomicU64::new(0),
            committed: Mutex::new(OffsetMap::new()),
        }
    }
    pub fn set(&self, state: State, trace: Option<String>) {
        *self.state.lock().unwrap() = (state, trace);
    }
    pub fn state(&self) -> (State, Option<String>) {
        self.state.lock().unwrap().clone()
    }
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
}

/// One connector's status.
#[derive(Debug)]
pub struct ConnectorStatus {
    pub name: String,
    pub class: String,
    pub kind: ConnectorKind,
    /// Secrets redacted.
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<Arc<TaskStatus>>,
    pub state: Mutex<State>,
}

/// Every connector of this worker.
#[derive(Debug, Default)]
pub struct WorkerState {
    pub worker_id: String,
    pub connectors: RwLock<BTreeMap<String, Arc<ConnectorStatus>>>,
}

impl WorkerState {
    pub fn connector(&self, name: &str) -> Option<Arc<ConnectorStatus>> {
        self.connectors.read().unwrap().get(name).cloned()
    }
}
