//! The state topic: connectors' state logs (the runtime's [`StateLog`]; the binlog connector's
//! schema history) for a distributed worker, which keeps its offsets in a topic and so has no
//! file to keep them next to. sluice's own (Kafka Connect has no such topic; a Java worker
//! pointed at the same cluster ignores it).
//!
//! One partition, `cleanup.policy=delete` with no retention limit: every entry is kept, in
//! order. A record's key is `["<connector>","<log name>"]` (JSON, as offsets keys are); its value
//! is one entry, and a tombstone empties that log (a replace is a tombstone then the entries).
//! The topic is created when a connector first uses a state log, so a cluster without binlog
//! connectors has no such topic. A read replays the topic to its end first; a write is durable
//! once the broker acknowledged it and this worker read it back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use runtime::state_log::{StateFuture, StateLog, StateLogError};
use tokio::sync::OnceCell;

use crate::config::TopicSettings;
use crate::kafka_log::{KafkaBasedLog, LogState};
use crate::topics::{ensure, InternalTopic};

/// The replay: every log's entries, by key, since its last tombstone.
#[derive(Default)]
pub struct StateLogs {
    logs: HashMap<Vec<u8>, Vec<Vec<u8>>>,
}

impl LogState for StateLogs {
    fn apply(&mut self, _partition: i32, _offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key else { return };
        match value {
            Some(entry) => self.logs.entry(key.to_vec()).or_default().push(entry.to_vec()),
            None => {
                self.logs.remove(key);
            }
        }
    }
}

/// The worker's state topic, started on first use.
pub struct StateTopic {
    base: ClientConfig,
    settings: TopicSettings,
    client_id: String,
    timeout: Duration,
    log: OnceCell<KafkaBasedLog<StateLogs>>,
}

impl StateTopic {
    pub fn new(base: &ClientConfig, settings: TopicSettings, client_id: String, timeout: Duration) -> StateTopic {
        StateTopic { base: base.clone(), settings, client_id, timeout, log: OnceCell::new() }
    }

    /// `connector`'s log `name`.
    pub fn log(self: &Arc<Self>, connector: &str, name: &str) -> Arc<dyn StateLog> {
        let key = serde_json::to_vec(&[connector, name]).expect("strings serialize");
        Arc::new(ConnectorStateLog { topic: self.clone(), key })
    }

    async fn started(&self) -> Result<&KafkaBasedLog<StateLogs>, String> {
        self.log
            .get_or_try_init(|| async {
                ensure(&self.base, InternalTopic::State, &self.settings, self.timeout)
                    .await
                    .map_err(|e| e.to_string())?;
                KafkaBasedLog::start(
                    &self.base,
                    &self.settings.name,
                    &self.client_id,
                    StateLogs::default(),
                    self.timeout,
                )
                .await
                .map_err(|e| e.to_string())
            })
            .await
    }
}

/// One connector's log in the state topic.
struct ConnectorStateLog {
    topic: Arc<StateTopic>,
    key: Vec<u8>,
}

impl ConnectorStateLog {
    fn error(&self, message: impl ToString) -> StateLogError {
        StateLogError { log: self.describe(), message: message.to_string() }
    }

    async fn write(&self, records: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StateLogError> {
        let log = self.topic.started().await.map_err(|e| self.error(e))?;
        log.write_all(&records, self.topic.timeout).await.map_err(|e| self.error(e))
    }
}

impl StateLog for ConnectorStateLog {
    fn describe(&self) -> String {
        format!("state topic {} key {}", self.topic.settings.name, String::from_utf8_lossy(&self.key))
    }

    fn read(&self) -> StateFuture<'_, Vec<Vec<u8>>> {
        Box::pin(async move {
            let log = self.topic.started().await.map_err(|e| self.error(e))?;
            log.read_to_end(self.topic.timeout).await.map_err(|e| self.error(e))?;
            Ok(log.state().logs.get(&self.key).cloned().unwrap_or_default())
        })
    }

    fn replace(&self, entries: Vec<Vec<u8>>) -> StateFuture<'_, ()> {
        Box::pin(async move {
            let records = std::iter::once((self.key.clone(), None))
                .chain(entries.into_iter().map(|e| (self.key.clone(), Some(e))))
                .collect();
            self.write(records).await
        })
    }

    fn append(&self, entry: Vec<u8>) -> StateFuture<'_, ()> {
        Box::pin(async move { self.write(vec![(self.key.clone(), Some(entry))]).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_empties_one_log_and_entries_keep_their_order() {
        let mut logs = StateLogs::default();
        let (a, b) = (br#"["a","schema-history"]"#.as_slice(), br#"["b","schema-history"]"#.as_slice());
        logs.apply(0, 0, Some(a), Some(b"1"));
        logs.apply(0, 1, Some(b), Some(b"x"));
        logs.apply(0, 2, Some(a), Some(b"2"));
        assert_eq!(logs.logs[a], vec![b"1".to_vec(), b"2".to_vec()]);
        logs.apply(0, 3, Some(a), None);
        logs.apply(0, 4, Some(a), Some(b"3"));
        assert_eq!(logs.logs[a], vec![b"3".to_vec()]);
        assert_eq!(logs.logs[b], vec![b"x".to_vec()]);
        logs.apply(0, 5, None, Some(b"no key"));
        assert_eq!(logs.logs.len(), 2);
    }
}
