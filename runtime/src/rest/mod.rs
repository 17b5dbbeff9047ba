//! The REST API in Kafka Connect's JSON shapes (kafka-connect-runtime.md §9); connector configs
//! are not written over it yet.
//! Secrets are shown as their `${…}` reference or `[hidden]`, never resolved.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tracing::info;

mod plugins;
mod writes;

use crate::config::ConnectorKind;
use crate::offset::OffsetStore;
use crate::worker::{Command, ConnectorStatus, HerderRequest, State, WorkerState};

#[derive(Clone)]
struct Rest {
    state: Arc<WorkerState>,
    offsets: Arc<OffsetStore>,
    /// Connector writes go to the worker's loop.
    herder: tokio::sync::mpsc::UnboundedSender<HerderRequest>,
}

/// Binds `addr` and serves in the background; dropping the handle does not stop it.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<WorkerState>,
    offsets: Arc<OffsetStore>,
    herder: tokio::sync::mpsc::UnboundedSender<HerderRequest>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(address = %listener.local_addr()?, "REST API listening");
    let app = router(Rest { state, offsets, herder });
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

fn router(rest: Rest) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/connectors", get(connectors).post(writes::create))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{class}/config", get(plugins::config))
        .route("/connector-plugins/{class}/config/validate", put(plugins::validate))
        .route("/connectors/{name}", get(connector).delete(writes::delete))
        .route("/connectors/{name}/config", get(config).put(writes::put_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/offsets", get(offsets).patch(alter_offsets).delete(reset_offsets))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/pause", put(|s, p| control(s, p, Command::Pause)))
        .route("/connectors/{name}/resume", put(|s, p| control(s, p, Command::Resume)))
        .route("/connectors/{name}/stop", put(|s, p| control(s, p, Command::Stop)))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .layer(axum::middleware::from_fn(json_errors))
        .with_state(rest)
}

/// Every error answer in Kafka's shape, `{"error_code","message"}`: axum's own answers (a body
/// that is not JSON, a path that does not parse, a method the route lacks) are plain text or
/// empty, so they are rewrapped here, in one place.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let mut message = format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    if !text.is_empty() {
        message = format!("{message}: {text}");
    }
    error(status, message)
}

/// The values of `key` in a query string, repeated keys included (`?expand=status&expand=info`,
/// as Kafka accepts), percent-decoding `+` and `%XX`.
fn query_values(query: Option<&str>, key: &str) -> Vec<String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match (
                bytes[i],
                bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
            ) {
                (b'%', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| decode(k) == key)
        .map(|(_, v)| decode(v))
        .collect()
}

/// A boolean query parameter as Java's `Boolean.parseBoolean` reads it: `true` in any case,
/// anything else false; absent is `None`.
fn query_bool(query: Option<&str>, key: &str) -> Option<bool> {
    query_values(query, key).first().map(|v| v.eq_ignore_ascii_case("true"))
}

fn error(code: StatusCode, message: String) -> Response {
    (code, Json(json!({"error_code": code.as_u16(), "message": message}))).into_response()
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
}

async fn root() -> Json<Value> {
    Json(
        json!({"version": env!("CARGO_PKG_VERSION"), "commit": option_env!("SLUICE_GIT_COMMIT").unwrap_or("unknown"), "kafka_cluster_id": null}),
    )
}

async fn health() -> Json<Value> {
    Json(json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}))
}

fn info_json(c: &ConnectorStatus) -> Value {
    json!({
        "name": c.name,
        "config": c.config,
        "tasks": c.tasks().iter().map(|t| json!({"connector": c.name, "task": t.id})).collect::<Vec<_>>(),
        "type": c.kind.as_str(),
    })
}

fn status_json(c: &ConnectorStatus, worker_id: &str) -> Value {
    let tasks: Vec<Value> = c.tasks().iter().map(|t| task_json(t, worker_id)).collect();
    let mut connector = json!({"state": c.state.lock().unwrap().as_str(), "worker_id": worker_id});
    if let Some(trace) = c.trace.lock().unwrap().clone() {
        connector["trace"] = Value::String(trace);
    }
    json!({
        "name": c.name,
        "connector": connector,
        "tasks": tasks,
        "type": c.kind.as_str(),
    })
}

fn task_json(t: &crate::worker::TaskStatus, worker_id: &str) -> Value {
    let (state, trace) = t.state();
    let mut v = json!({"id": t.id, "state": state.as_str(), "worker_id": worker_id});
    if let Some(trace) = trace {
        v["trace"] = Value::String(trace);
    }
    v
}

async fn metrics(AxumState(rest): AxumState<Rest>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::render(&rest.state))
        .into_response()
}

async fn connectors(AxumState(rest): AxumState<Rest>, RawQuery(query): RawQuery) -> Json<Value> {
    let all = rest.state.connectors.read().unwrap();
    let expand: Vec<String> =
        query_values(query.as_deref(), "expand").iter().flat_map(|v| v.split(',').map(str::to_owned)).collect();
    if expand.is_empty() {
        return Json(json!(all.keys().collect::<Vec<_>>()));
    }
    let mut out = serde_json::Map::new();
    for (name, c) in all.iter() {
        let mut entry = serde_json::Map::new();
        if expand.iter().any(|e| e == "status") {
            entry.insert("status".into(), status_json(c, &rest.state.worker_id));
        }
        if expand.iter().any(|e| e == "info") {
            entry.insert("info".into(), info_json(c));
        }
        out.insert(name.clone(), Value::Object(entry));
    }
    Json(Value::Object(out))
}

async fn connector(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    match rest.state.connector(&name) {
        Some(c) => Json(info_json(&c)).into_response(),
        None => not_found(&name),
    }
}

async fn config(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    match rest.state.connector(&name) {
        Some(c) => Json(json!(c.config)).into_response(),
        None => not_found(&name),
    }
}

async fn status(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    match rest.state.connector(&name) {
        Some(c) => Json(status_json(&c, &rest.state.worker_id)).into_response(),
        None => not_found(&name),
    }
}

async fn tasks(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    match rest.state.connector(&name) {
        Some(c) => Json(json!(c
            .tasks()
            .iter()
            .map(|t| json!({"id": {"connector": c.name, "task": t.id}, "config": t.config}))
            .collect::<Vec<_>>()))
        .into_response(),
        None => not_found(&name),
    }
}

async fn task_status(AxumState(rest): AxumState<Rest>, Path((name, task)): Path<(String, usize)>) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    match c.tasks().get(task) {
        Some(t) => Json(task_json(t, &rest.state.worker_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("Task {name}-{task} not found")),
    }
}

/// Sources: the offsets in the offset file. Sinks: the group offsets last committed.
async fn offsets(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    let list: Vec<Value> = match c.kind {
        ConnectorKind::Source => rest
            .offsets
            .entries()
            .into_iter()
            .filter(|e| e.connector == name && e.offset.is_some())
            .map(|e| json!({"partition": e.partition, "offset": e.offset}))
            .collect(),
        ConnectorKind::Sink => {
            let mut merged = BTreeMap::new();
            for t in &c.tasks() {
                merged.extend(t.committed.lock().unwrap().clone());
            }
            merged
                .into_iter()
                .map(|(tp, o)| json!({"partition": {"kafka_topic": &*tp.topic, "kafka_partition": tp.partition}, "offset": {"kafka_offset": o}}))
                .collect()
        }
    };
    Json(json!({"offsets": list})).into_response()
}

/// KIP-558: the topics the connector's tasks used, `{"<name>":{"topics":[…]}}`.
async fn topics(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    Json(json!({ name: {"topics": c.topics.list()} })).into_response()
}

/// KIP-558: forgets the active topics (202); tasks report them again as they use them.
async fn reset_topics(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    c.topics.reset();
    StatusCode::ACCEPTED.into_response()
}

/// `POST /connectors/{c}/restart?includeTasks=&onlyFailed=`. With `onlyFailed=true` only what
/// is `FAILED` restarts: the connector (with its tasks) if it failed, else, with
/// `includeTasks=true`, each failed task alone. Otherwise the connector restarts with all its
/// tasks (sluice's connector and tasks restart together). The 202 answer shows what restarts as
/// `RESTARTING`, as Kafka's does.
async fn restart(AxumState(rest): AxumState<Rest>, Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    let include_tasks = query_bool(query.as_deref(), "includeTasks");
    let only_failed = query_bool(query.as_deref(), "onlyFailed");
    let connector_failed = *c.state.lock().unwrap() == State::Failed;
    if only_failed == Some(true) && !connector_failed {
        if include_tasks == Some(true) {
            for t in c.tasks().iter().filter(|t| t.state().0 == State::Failed) {
                t.set(State::Restarting, None);
                let _ = c.control.send(Command::RestartTask(t.id));
            }
        }
    } else {
        if include_tasks == Some(true) {
            c.tasks().iter().for_each(|t| t.set(State::Restarting, None));
        }
        let _ = c.control.send(Command::Restart);
    }
    if include_tasks.is_some() || only_failed.is_some() {
        (StatusCode::ACCEPTED, Json(status_json(&c, &rest.state.worker_id))).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn restart_task(AxumState(rest): AxumState<Rest>, Path((name, task)): Path<(String, usize)>) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    if task >= c.tasks().len() {
        return error(StatusCode::NOT_FOUND, format!("Task {name}-{task} not found"));
    }
    let _ = c.control.send(Command::RestartTask(task));
    StatusCode::NO_CONTENT.into_response()
}

/// Pause and resume answer 202 Accepted, stop 204, as Kafka Connect.
async fn control(AxumState(rest): AxumState<Rest>, Path(name): Path<String>, command: Command) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    let _ = c.control.send(command);
    if command == Command::Stop {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::ACCEPTED.into_response()
    }
}

#[derive(serde::Deserialize)]
struct OffsetsBody {
    offsets: Vec<PartitionOffset>,
}

#[derive(serde::Deserialize)]
struct PartitionOffset {
    partition: Value,
    offset: Option<Value>,
}

/// KIP-875: only a `STOPPED` source connector's offsets may change (sinks: not yet).
#[allow(clippy::result_large_err)] // the error is the HTTP answer itself
fn alterable(rest: &Rest, name: &str) -> Result<Arc<ConnectorStatus>, Response> {
    let Some(c) = rest.state.connector(name) else { return Err(not_found(name)) };
    if *c.state.lock().unwrap() != crate::worker::State::Stopped {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint".replace("{name}", name),
        ));
    }
    if c.kind == ConnectorKind::Sink {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "altering sink connector offsets is not supported yet by sluice".into(),
        ));
    }
    Ok(c)
}

fn flushed(rest: &Rest, message: &str) -> Response {
    match rest.offsets.flush() {
        Ok(()) => Json(json!({"message": message})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn alter_offsets(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    body: Json<OffsetsBody>,
) -> Response {
    let connector = match alterable(&rest, &name) {
        Ok(c) => c,
        Err(response) => return response,
    };
    if let Some(bad) = body
        .offsets
        .iter()
        .find(|o| !o.partition.is_object() || o.offset.as_ref().is_some_and(|v| !v.is_object() && !v.is_null()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("partitions and offsets must be JSON objects (or a null offset): {}", bad.partition),
        );
    }
    let entries: Vec<(Value, Option<Value>)> =
        body.0.offsets.into_iter().map(|o| (o.partition, o.offset.filter(|v| !v.is_null()))).collect();
    if let Some(check) = &connector.offset_check {
        if let Some(reason) = entries.iter().find_map(|(p, o)| (check.0)(p, o.as_ref()).err()) {
            return error(
                StatusCode::BAD_REQUEST,
                format!("Failed to alter offsets for source connector {name}: {reason}; nothing was changed"),
            );
        }
    }
    rest.offsets.put(&name, entries);
    flushed(&rest, "The offsets for this connector have been altered successfully")
}

async fn reset_offsets(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    if let Err(response) = alterable(&rest, &name) {
        return response;
    }
    let partitions: Vec<(Value, Option<Value>)> =
        rest.offsets.entries().into_iter().filter(|e| e.connector == name).map(|e| (e.partition, None)).collect();
    rest.offsets.put(&name, partitions);
    flushed(&rest, "The offsets for this connector have been reset successfully")
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any query string: values or nothing, never a panic (issue 12).
        #[test]
        fn any_query_never_panics(query in "(\\PC|%[0-9a-fA-F]{0,2}|[&=+])*") {
            let _ = query_values(Some(&query), "expand");
            let _ = query_bool(Some(&query), "includeTasks");
        }
    }

    #[test]
    fn query_values_repeat_and_decode() {
        let q = Some("expand=status&expand=info%2Cx&a+b=c+d&flag");
        assert_eq!(query_values(q, "expand"), ["status", "info,x"]);
        assert_eq!(query_values(q, "a b"), ["c d"]);
        assert_eq!(query_values(q, "flag"), [""]);
        assert!(query_values(None, "expand").is_empty());
        assert_eq!(query_bool(Some("includeTasks=False&onlyFailed=TRUE"), "includeTasks"), Some(false));
        assert_eq!(query_bool(Some("includeTasks=False&onlyFailed=TRUE"), "onlyFailed"), Some(true));
        assert_eq!(query_bool(Some(""), "onlyFailed"), None);
    }
}
