//! Task configs from the connector's owner to the config topic (distributed-mode.md §3.3, §7.3):
//! written only when they changed; references put back as the connector's config wrote them
//! (Kafka's reverse transformation, so no resolved secret reaches the topic); written directly
//! by a leader, and by any other worker sent to the leader's internal endpoint, signed with the
//! session key. A failed hand-over is tried again after a backoff through the worker's loop,
//! which checks first that the connector still runs here and its configs still differ
//! (Kafka's `reconfigureConnectorTasksWithExponentialBackoffRetries`).

use std::collections::BTreeMap;

use runtime::config::RawConfig;
use runtime::connector::TaskConfig;
use tracing::{info, warn};

use crate::config_log::{ConfigState, Properties, SessionKey};
use crate::signature;

/// `config` with each value that came from a `${…}` reference of `raw` put back as the
/// reference.
pub fn reverse(raw: &RawConfig, config: &TaskConfig) -> Properties {
    config
        .iter()
        .map(|(k, v)| {
            let entry = raw.entries.get(k).filter(|e| e.value == *v);
            let written = entry.and_then(|e| e.unresolved.clone()).unwrap_or_else(|| v.clone());
            (k.clone(), written)
        })
        .collect()
}

/// Kafka's `taskConfigsChanged`: another count, another config, or tasks generated from an
/// older connector config.
pub fn changed(snapshot: &ConfigState, name: &str, configs: &[Properties]) -> bool {
    let current = snapshot.tasks(name);
    if current.len() != configs.len() || snapshot.is_inconsistent(name) {
        return true;
    }
    if snapshot.applied_config(name) != snapshot.connector_config(name) {
        return true;
    }
    configs.iter().enumerate().any(|(i, c)| snapshot.task_config(name, i as u32) != Some(c))
}

/// Sends `configs` to the leader at `leader_url` once; `key` signs them (sessioned protocol).
/// `false` when they should be sent again later: the leader refused them (a 400 also comes from
/// a leader that has not yet read the change that started the connector) or could not be
/// reached. A 404 (the connector is gone) is final.
pub async fn send_to_leader(leader_url: String, name: &str, configs: Vec<Properties>, key: Option<SessionKey>) -> bool {
    let body = serde_json::to_vec(&configs).expect("serializes");
    let path = format!("connectors/{}/tasks", runtime::rest::client::encode_segment(name));
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(key) = &key {
        headers.insert("X-Connect-Authorization", signature::sign(key, &body));
        headers.insert("X-Connect-Request-Signature-Algorithm", key.algorithm.clone());
    }
    match runtime::rest::client::send(&leader_url, "POST", &path, &headers, body).await {
        Ok((status, _)) if status < 300 => {
            info!(connector = %name, tasks = configs.len(), "task configs handed to the leader");
            true
        }
        Ok((404, text)) => {
            warn!(connector = %name, answer = %String::from_utf8_lossy(&text), "the leader does not know the connector");
            true
        }
        Ok((status, text)) => {
            warn!(connector = %name, status, answer = %String::from_utf8_lossy(&text), "the leader did not take the task configs; retrying");
            false
        }
        Err(e) => {
            warn!(connector = %name, error = %e, "cannot reach the leader with task configs; retrying");
            false
        }
    }
}
