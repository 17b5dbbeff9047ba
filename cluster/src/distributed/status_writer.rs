//! The worker's connector and task states, written to the status topic (distributed-mode.md §5):
//! each change the runners report is stamped with this worker's id and the generation of its
//! current assignment and sent in order by one writer. `UNASSIGNED` and `FAILED` are "safe"
//! writes (skipped when a newer generation of another worker owns the entry); a failed write is
//! retried while the generation stays the same.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::worker::{State, StatusListener};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::status_log::{Status, StatusKey, StatusState};
use crate::stores::StatusStore;

/// The status topic's state for the runtime's.
pub fn status_state(state: State) -> StatusState {
    match state {
        State::Unassigned => StatusState::Unassigned,
        State::Running => StatusState::Running,
        State::Paused => StatusState::Paused,
        State::Failed => StatusState::Failed,
        State::Stopped => StatusState::Stopped,
        State::Restarting => StatusState::Restarting,
    }
}

/// The runtime's state for the status topic's.
pub fn runtime_state(state: StatusState) -> State {
    match state {
        StatusState::Unassigned => State::Unassigned,
        StatusState::Running => State::Running,
        StatusState::Paused => State::Paused,
        StatusState::Failed => State::Failed,
        StatusState::Stopped => State::Stopped,
        StatusState::Restarting => State::Restarting,
    }
}

/// A state change to write (or `None` state: a tombstone, Kafka's DESTROYED).
struct Change {
    key: StatusKey,
    state: Option<StatusState>,
    trace: Option<String>,
    generation: i32,
}

/// What the writer task is sent: a change, or a request to say when every earlier one is done.
enum Message {
    Change(Change),
    Flush(oneshot::Sender<()>),
}

/// Reports state changes to the status topic.
pub struct StatusWriter {
    worker_id: String,
    generation: Arc<AtomicI32>,
    changes: mpsc::UnboundedSender<Message>,
}

impl StatusWriter {
    /// Starts the writer task over `store`; `generation` is the worker's current one.
    pub fn start(store: Arc<StatusStore>, worker_id: String, generation: Arc<AtomicI32>) -> Arc<StatusWriter> {
        let (changes, mut rx) = mpsc::unbounded_channel::<Message>();
        let (id, current) = (worker_id.clone(), generation.clone());
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    Message::Change(change) => write(&store, &id, &current, change).await,
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Arc::new(StatusWriter { worker_id, generation, changes })
    }

    fn send(&self, key: StatusKey, state: Option<State>, trace: Option<&str>) {
        let change = Change {
            key,
            state: state.map(status_state),
            trace: trace.map(str::to_owned),
            generation: self.generation.load(Ordering::Relaxed),
        };
        let _ = self.changes.send(Message::Change(change));
    }

    /// Waits until every change reported so far is written (or `timeout` passed), as Kafka
    /// flushes the status store after a revocation and at shutdown.
    pub async fn flush(&self, timeout: Duration) {
        let (done, written) = oneshot::channel();
        if self.changes.send(Message::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(timeout, written).await;
        }
    }

    /// DESTROYED: the entry's tombstone (a connector deleted, a task gone).
    pub fn destroy(&self, key: StatusKey) {
        self.send(key, None, None);
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }
}

impl StatusListener for StatusWriter {
    fn connector_state(&self, connector: &str, state: State, trace: Option<&str>) {
        self.send(StatusKey::Connector(connector.to_owned()), Some(state), trace);
    }

    fn task_state(&self, connector: &str, task: usize, state: State, trace: Option<&str>) {
        self.send(StatusKey::Task(connector.to_owned(), task as u32), Some(state), trace);
    }
}

const RETRY: Duration = Duration::from_millis(500);

/// Writes one change, retrying a failure while this worker's generation has not moved on.
async fn write(store: &StatusStore, worker_id: &str, current: &AtomicI32, change: Change) {
    loop {
        let result = match change.state {
            None => store.delete(&change.key).await,
            Some(state) => {
                let status = Status {
                    state,
                    trace: change.trace.clone(),
                    worker_id: worker_id.to_owned(),
                    generation: change.generation,
                };
                match state {
                    StatusState::Unassigned | StatusState::Failed => {
                        store.put_safe(&change.key, &status).await.map(|written| {
                            if !written {
                                debug!(key = %change.key.key(), "status not written: a newer generation owns it");
                            }
                        })
                    }
                    _ => store.put(&change.key, &status).await,
                }
            }
        };
        match result {
            Ok(()) => return,
            Err(e) if current.load(Ordering::Relaxed) == change.generation => {
                warn!(key = %change.key.key(), error = %e, "status write failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
            Err(e) => {
                warn!(key = %change.key.key(), error = %e, "status write failed; dropped (the generation moved on)");
                return;
            }
        }
    }
}
