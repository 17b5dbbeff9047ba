//! Task configs from the connector's owner to the config topic (distributed-mode.md §3.3, §7.3):
//! written only when they changed; references put back as the connector's config wrote them
//! (Kafka's reverse transformation, so no resolved secret reaches the topic); written directly
//! by a leader, and by any other worker sent to the leader's internal endpoint, signed with the
//! session key, retried with backoff until it lands or the connector changes.

use std::collections::BTreeMap;
use std::time::Duration;

use runtime::config::RawConfig;
use runtime::connector::TaskConfig;
use runtime::retry::Backoff;
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

/// Sends `configs` to the leader at `leader_url` until it accepts them; `key` signs them
/// (sessioned protocol). Gives up on a 404 (the connector is gone) or a 400 (refused).
pub async fn send_to_leader(leader_url: String, name: String, configs: Vec<Properties>, key: Option<SessionKey>) {
    let body = serde_json::to_vec(&configs).expect("serializes");
    let path = format!("connectors/{}/tasks", runtime::rest::client::encode_segment(&name));
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(60));
    loop {
        let mut headers: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(key) = &key {
            headers.insert("X-Connect-Authorization", signature::sign(key, &body));
            headers.insert("X-Connect-Request-Signature-Algorithm", key.algorithm.clone());
        }
        let sent = runtime::rest::client::send(&leader_url, "POST", &path, &headers, body.clone()).await;
        match sent {
            Ok((status, _)) if status < 300 => {
                info!(connector = %name, tasks = configs.len(), "task configs handed to the leader");
                return;
            }
            Ok((status @ (400 | 404), text)) => {
                warn!(connector = %name, status, answer = %String::from_utf8_lossy(&text), "the leader refused the task configs");
                return;
            }
            Ok((status, text)) => {
                warn!(connector = %name, status, answer = %String::from_utf8_lossy(&text), "the leader did not take the task configs; retrying")
            }
            Err(e) => warn!(connector = %name, error = %e, "cannot reach the leader with task configs; retrying"),
        }
        tokio::time::sleep(backoff.fail()).await;
    }
}
