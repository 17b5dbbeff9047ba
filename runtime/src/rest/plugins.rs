//! `GET /connector-plugins`, `GET /connector-plugins/{class}/config` and
//! `PUT /connector-plugins/{class}/config/validate`, in Kafka's entity shapes (`PluginInfo`,
//! `ConfigKeyInfo`, `ConfigInfos` with `ConfigInfo{definition, value}` and `ConfigValueInfo`).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{error, Rest};
use crate::config::{redact_value, ConfigError, RawConfig};
use crate::connector::KeyDoc;
use crate::plugin::Plugin;

pub(super) async fn list(AxumState(rest): AxumState<Rest>) -> Json<Value> {
    let registry = rest.herder.plugins();
    Json(json!(registry
        .plugins()
        .iter()
        .map(|p| json!({"class": p.class, "type": p.kind.as_str(), "version": env!("CARGO_PKG_VERSION")}))
        .collect::<Vec<_>>()))
}

/// Kafka's `ConfigKeyInfo`. sluice's key docs carry no type or importance: every key is shown as
/// a `STRING` of `MEDIUM` importance, except secrets, which are `PASSWORD` as in Kafka.
fn definition(group: &str, order: usize, k: &KeyDoc) -> Value {
    json!({
        "name": k.name,
        "type": if crate::config::is_secret_key(k.name) { "PASSWORD" } else { "STRING" },
        "required": k.default.is_none() && matches!(k.name, "name" | "connector.class"),
        "default_value": k.default,
        "importance": "MEDIUM",
        "documentation": k.doc,
        "group": group,
        "order": order,
        "width": "NONE",
        "display_name": k.name,
        "dependents": [],
    })
}

fn not_found(class: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("Failed to find any class that implements Connector and which name matches {class}"),
    )
}

pub(super) async fn config(AxumState(rest): AxumState<Rest>, Path(class): Path<String>) -> Response {
    let registry = rest.herder.plugins();
    let Some(plugin) = registry.find(&class) else { return not_found(&class) };
    let keys: Vec<Value> = plugin.all_keys().enumerate().map(|(i, (group, k))| definition(group, i + 1, k)).collect();
    Json(json!(keys)).into_response()
}

/// Checks a config against the class without starting anything: Kafka's `ConfigInfos`, one entry
/// per key of the class and per other key given, each with the value (secrets hidden) and its
/// errors; problems that name no key are reported on `connector.class`.
pub(super) async fn validate(
    AxumState(rest): AxumState<Rest>,
    Path(class): Path<String>,
    Json(body): Json<BTreeMap<String, Value>>,
) -> Response {
    let registry = rest.herder.plugins();
    let Some(plugin) = registry.find(&class) else { return not_found(&class) };
    let mut raw = RawConfig::new("REST");
    for (k, v) in &body {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        raw.insert(k.clone(), text, None);
    }
    if let Some(given) = raw.get("connector.class") {
        if registry.find(given).map(|p| p.class) != Some(plugin.class) {
            let message = format!("Included connector type {given} does not match request type {class}");
            return error(StatusCode::BAD_REQUEST, message);
        }
    } else {
        raw.insert("connector.class", plugin.class, None);
    }
    Json(infos(plugin, &raw, plugin.validate(&raw))).into_response()
}

fn infos(plugin: &Plugin, raw: &RawConfig, errors: Vec<ConfigError>) -> Value {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &errors {
        let (key, message) = match e {
            ConfigError::Invalid { key, expected, got, .. } => {
                (key.clone(), format!("expected {expected}, got {:?}", redact_value(key, got)))
            }
            ConfigError::Missing { key, expected, .. } => (key.clone(), format!("missing required key ({expected})")),
            ConfigError::File { message, .. } => ("connector.class".to_owned(), message.clone()),
        };
        by_key.entry(key).or_default().push(message);
    }
    let value = |name: &str| {
        json!({
            "name": name,
            "value": raw.get(name).map(|v| redact_value(name, v).into_owned()),
            "recommended_values": [],
            "errors": by_key.get(name).cloned().unwrap_or_default(),
            "visible": true,
        })
    };
    let mut seen = BTreeSet::new();
    let mut configs: Vec<Value> = plugin
        .all_keys()
        .enumerate()
        .map(|(i, (group, k))| {
            seen.insert(k.name.to_owned());
            json!({"definition": definition(group, i + 1, k), "value": value(k.name)})
        })
        .collect();
    let others =
        raw.entries.keys().chain(by_key.keys()).filter(|k| !seen.contains(*k)).cloned().collect::<BTreeSet<_>>();
    for k in others {
        let doc = KeyDoc { name: "", default: None, doc: "" };
        let mut def = definition("Other", configs.len() + 1, &doc);
        def["name"] = json!(k);
        def["display_name"] = json!(k);
        configs.push(json!({"definition": def, "value": value(&k)}));
    }
    json!({
        "name": plugin.class,
        "error_count": errors.len(),
        "groups": ["Common", "Connector", "Other"],
        "configs": configs,
    })
}
