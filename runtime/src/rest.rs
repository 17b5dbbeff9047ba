//! The REST API, read-only for now, in Kafka Connect's JSON shapes (kafka-connect-runtime.md §9).
//! Secrets are shown as their `${…}` reference or `[hidden]`, never resolved.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tracing::info;

use crate::config::ConnectorKind;
use crate::offset::OffsetStore;
use crate::worker::{Command, ConnectorStatus, WorkerState};

#[derive(Clone)]
struct Rest {
    state: Arc<WorkerState>,
    offsets: Arc<OffsetStore>,
}

/// Binds `addr` and serves in the background; dropping the handle does not stop it.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<WorkerState>,
    offsets: Arc<OffsetStore>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(address = %listener.local_addr()?, "REST API listening");
    let app = router(Rest { state, offsets });
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

fn router(rest: Rest) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/connectors", get(connectors))
        .route("/connector-plugins", get(plugins))
        .route("/connectors/{name}", get(connector))
        .route("/connectors/{name}/config", get(config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/offsets", get(offsets).patch(alter_offsets).delete(reset_offsets))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/pause", put(|s, p| control(s, p, Command::Pause)))
        .route("/connectors/{name}/resume", put(|s, p| control(s, p, Command::Resume)))
        .route("/connectors/{name}/stop", put(|s, p| control(s, p, Command::Stop)))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .with_state(rest)
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
    json!({
        "name": c.name,
        "connector": {"state": c.state.lock().unwrap().as_str(), "worker_id": worker_id},
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

async fn plugins(AxumState(rest): AxumState<Rest>) -> Json<Value> {
    let plugins = rest.state.plugins.read().unwrap();
    Json(json!(plugins
        .iter()
        .map(|p| json!({"class": p.class, "type": p.kind.as_str(), "version": env!("CARGO_PKG_VERSION")}))
        .collect::<Vec<_>>()))
}

#[derive(serde::Deserialize)]
struct Expand {
    expand: Option<String>,
}

async fn connectors(AxumState(rest): AxumState<Rest>, Query(q): Query<Expand>) -> Json<Value> {
    let all = rest.state.connectors.read().unwrap();
    match q.expand.as_deref() {
        None => Json(json!(all.keys().collect::<Vec<_>>())),
        Some(expand) => {
            let mut out = serde_json::Map::new();
            for (name, c) in all.iter() {
                let mut entry = serde_json::Map::new();
                if expand.split(',').any(|e| e == "status") {
                    entry.insert("status".into(), status_json(c, &rest.state.worker_id));
                }
                if expand.split(',').any(|e| e == "info") {
                    entry.insert("info".into(), info_json(c));
                }
                out.insert(name.clone(), Value::Object(entry));
            }
            Json(Value::Object(out))
        }
    }
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

#[derive(serde::Deserialize)]
struct RestartQuery {
    #[serde(rename = "includeTasks")]
    include_tasks: Option<bool>,
    #[serde(rename = "onlyFailed")]
    only_failed: Option<bool>,
}

/// Restarts the connector and its tasks (sluice always restarts every task of the connector).
async fn restart(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    Query(q): Query<RestartQuery>,
) -> Response {
    let Some(c) = rest.state.connector(&name) else { return not_found(&name) };
    let _ = c.control.send(Command::Restart);
    if q.include_tasks.is_some() || q.only_failed.is_some() {
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
    let _ = c.control.send(Command::Restart);
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
    if let Err(response) = alterable(&rest, &name) {
        return response;
    }
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
