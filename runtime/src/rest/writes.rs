//! Connector writes in Kafka's shapes: `POST /connectors` (201, 409 when it exists),
//! `PUT /connectors/{c}/config` (201 created, 200 updated), `PATCH /connectors/{c}/config`, `DELETE /connectors/{c}` (204). The
//! herder carries them out; configs keep their `${…}` references, and
//! answers show secrets hidden.

use std::collections::BTreeMap;

use axum::extract::{Path, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::{error, herder_error, Rest};
use crate::config::{InitialState, RawConfig};
use crate::herder::Created;

#[derive(serde::Deserialize)]
pub(super) struct CreateBody {
    name: Option<String>,
    config: Option<BTreeMap<String, Value>>,
    initial_state: Option<String>,
}

/// A JSON config map as a raw config; numbers and booleans become their JSON text, as in files.
#[allow(clippy::result_large_err)] // the error is the HTTP answer itself
fn raw_config(name: &str, config: &BTreeMap<String, Value>) -> Result<RawConfig, Response> {
    let mut raw = RawConfig::new(format!("REST connector {name}"));
    for (k, v) in config {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                let message = format!("{k}: expected a string, number or boolean, got {other}");
                return Err(error(StatusCode::BAD_REQUEST, message));
            }
        };
        raw.insert(k.clone(), text, None);
    }
    match raw.get("name") {
        Some(inner) if inner != name => Err(error(
            StatusCode::BAD_REQUEST,
            format!("Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"),
        )),
        Some(_) => Ok(raw),
        None => {
            raw.insert("name", name, None);
            Ok(raw)
        }
    }
}

pub(super) async fn create(AxumState(rest): AxumState<Rest>, Json(body): Json<CreateBody>) -> Response {
    let Some(name) = body.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Connector name must be specified".into());
    };
    let mut raw = match raw_config(&name, &body.config.unwrap_or_default()) {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    raw.initial_state = match body.initial_state.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("RUNNING") => None,
        Some("PAUSED") => Some(InitialState::Paused),
        Some("STOPPED") => Some(InitialState::Stopped),
        Some(other) => {
            let message = format!("initial_state: expected RUNNING, PAUSED or STOPPED, got {other:?}");
            return error(StatusCode::BAD_REQUEST, message);
        }
    };
    match rest.herder.put_connector_config(raw, true).await {
        Ok(Created { info, .. }) => {
            let location = format!("/connectors/{name}");
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(info)).into_response()
        }
        Err(e) => herder_error(e),
    }
}

pub(super) async fn put_config(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    Json(config): Json<BTreeMap<String, Value>>,
) -> Response {
    let raw = match raw_config(&name, &config) {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    match rest.herder.put_connector_config(raw, false).await {
        Ok(Created { created: true, info }) => (StatusCode::CREATED, Json(info)).into_response(),
        Ok(Created { created: false, info }) => Json(info).into_response(),
        Err(e) => herder_error(e),
    }
}

/// KIP-477 `PATCH /connectors/{c}/config`: the keys given replace theirs, a null removes one;
/// 200 with the new config, 404 for an unknown connector.
pub(super) async fn patch_config(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    Json(patch): Json<BTreeMap<String, Value>>,
) -> Response {
    let mut changes = BTreeMap::new();
    for (k, v) in patch {
        let text = match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                let message = format!("{k}: expected a string, number, boolean or null, got {other}");
                return error(StatusCode::BAD_REQUEST, message);
            }
        };
        changes.insert(k, text);
    }
    match rest.herder.patch_connector_config(name, changes).await {
        Ok(info) => Json(info).into_response(),
        Err(e) => herder_error(e),
    }
}

pub(super) async fn delete(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    match rest.herder.delete_connector(name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => herder_error(e),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any JSON config body: a raw config or a 400 answer, never a panic (issue 12).
        #[test]
        fn any_config_body_never_panics(
            name in "\\PC{0,10}",
            config in proptest::collection::btree_map("\\PC{0,10}", json_value(), 0..6),
        ) {
            if let Ok(raw) = raw_config(&name, &config) {
                prop_assert_eq!(raw.get("name"), Some(name.as_str()));
            }
        }
    }
}
