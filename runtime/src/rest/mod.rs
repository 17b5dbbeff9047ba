//! The REST API in Kafka Connect's JSON shapes (kafka-connect-runtime.md §9, distributed-mode.md
//! §7). Every handler parses its request, asks the [`Herder`] and serializes the typed entity it
//! answers, so the API behaves the same whichever herder runs behind it.
//! Secrets are shown as their `${…}` reference or `[hidden]`, never resolved.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn};

mod auth;
pub mod client;
mod console;
mod forward;
mod listener;
mod plugins;
mod writes;

use crate::herder::{
    ConnectorOffsets, ConnectorTaskId, ErrorMessage, Herder, HerderError, InternalRequest, RestartRequest, ServerInfo,
};

#[derive(Clone)]
struct Rest {
    herder: Arc<dyn Herder>,
}

/// Binds `addr` (and `admin.listeners`' address when it has its own) and serves in the
/// background, over TLS and with basic authentication as `security` says; dropping the handle
/// does not stop it.
pub async fn serve(
    addr: SocketAddr,
    herder: Arc<dyn Herder>,
    security: &crate::config::rest_security::RestSecurity,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use crate::config::rest_security::AdminListener;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let scheme = if security.server_tls.is_some() { "https" } else { "http" };
    info!(address = %listener.local_addr()?, scheme, basic_auth = security.users.is_some(), "REST API listening");
    client::set_tls(security.client_tls.clone());
    let rest = Rest { herder };
    let mut app = api_routes();
    if matches!(security.admin, AdminListener::Shared) {
        app = app.merge(admin_routes());
    }
    let mut app = finish(app, rest.clone());
    if let Some(users) = security.users.clone() {
        app = app.layer(axum::middleware::from_fn(move |request, next| auth::basic(users.clone(), request, next)));
    }
    let admin = match &security.admin {
        AdminListener::Own { addr: admin_addr, tls } => {
            let bound = tokio::net::TcpListener::bind(admin_addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("admin.listeners {admin_addr}: {e}")))?;
            info!(address = %bound.local_addr()?, https = tls.is_some(), "REST admin endpoints listening");
            Some(listen(bound, tls.clone(), finish(admin_routes(), rest)))
        }
        _ => None,
    };
    let main = listen(listener, security.server_tls.clone(), app);
    Ok(tokio::spawn(async move {
        match admin {
            Some(admin) => {
                let _ = tokio::join!(main, admin);
            }
            None => {
                let _ = main.await;
            }
        }
    }))
}

/// Serves `app` on `listener`, over TLS with `tls`.
fn listen(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
) -> tokio::task::JoinHandle<()> {
    match tls {
        None => tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }),
        Some(tls) => tokio::spawn(listener::serve_tls(listener, tls, app)),
    }
}

fn api_routes() -> Router<Rest> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/connectors", get(connectors).post(writes::create))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{class}/config", get(plugins::config))
        .route("/connector-plugins/{class}/config/validate", put(plugins::validate))
        .route("/connectors/{name}", get(connector).delete(writes::delete))
        .route("/connectors/{name}/config", get(config).put(writes::put_config).patch(writes::patch_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks).post(put_task_configs))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/offsets", get(offsets).patch(alter_offsets).delete(reset_offsets))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .merge(console::routes())
}

/// Kafka's admin resources (KIP-495, KIP-976).
fn admin_routes() -> Router<Rest> {
    Router::new().route("/admin/loggers", get(loggers)).route("/admin/loggers/{logger}", get(logger).put(set_logger))
}

/// Kafka's 404, JSON error bodies and forwarding to the leader around `routes`.
fn finish(routes: Router<Rest>, rest: Rest) -> Router {
    routes
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(forward::forwarding))
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
    (code, Json(ErrorMessage { error_code: code.as_u16(), message })).into_response()
}

fn herder_error(e: HerderError) -> Response {
    if let HerderError::Elsewhere(Some(url)) = &e {
        let mut response = error(StatusCode::CONFLICT, e.to_string());
        response.extensions_mut().insert(forward::ForwardTo(url.clone()));
        return response;
    }
    error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.to_string())
}

/// A herder answer as JSON (200), or its error in Kafka's shape.
fn answer<T: Serialize>(result: Result<T, HerderError>) -> Response {
    match result {
        Ok(entity) => Json(entity).into_response(),
        Err(e) => herder_error(e),
    }
}

/// A herder answer with no body: `code` (202 or 204), or its error.
fn empty(result: Result<(), HerderError>, code: StatusCode) -> Response {
    match result {
        Ok(()) => code.into_response(),
        Err(e) => herder_error(e),
    }
}

async fn root(AxumState(rest): AxumState<Rest>) -> Json<ServerInfo> {
    Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: option_env!("SLUICE_GIT_COMMIT").unwrap_or("unknown"),
        kafka_cluster_id: None,
        cluster: rest.herder.cluster_info(),
    })
}

async fn health() -> Json<Value> {
    Json(json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}))
}

async fn metrics(AxumState(rest): AxumState<Rest>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], rest.herder.metrics()).into_response()
}

/// `GET /connectors`: the names, or with `?expand=status` and/or `?expand=info` (repeated or
/// comma-separated) a map of name to the expansions.
async fn connectors(AxumState(rest): AxumState<Rest>, RawQuery(query): RawQuery) -> Json<Value> {
    let names = rest.herder.connectors();
    let expand: Vec<String> =
        query_values(query.as_deref(), "expand").iter().flat_map(|v| v.split(',').map(str::to_owned)).collect();
    if expand.is_empty() {
        return Json(json!(names));
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let mut entry = serde_json::Map::new();
        if expand.iter().any(|e| e == "status") {
            // a connector deleted meanwhile is left out
            let Ok(status) = rest.herder.connector_status(&name) else { continue };
            entry.insert("status".into(), json!(status));
        }
        if expand.iter().any(|e| e == "info") {
            let Ok(info) = rest.herder.connector_info(&name) else { continue };
            entry.insert("info".into(), json!(info));
        }
        out.insert(name, Value::Object(entry));
    }
    Json(Value::Object(out))
}

async fn connector(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.connector_info(&name))
}

async fn config(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.connector_config(&name))
}

async fn status(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.connector_status(&name))
}

async fn tasks(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.task_configs(&name))
}

/// KIP-495: every logger with a level of its own, and `root`.
async fn loggers(AxumState(rest): AxumState<Rest>) -> Response {
    match rest.herder.log_levels() {
        Some(levels) => Json(levels.all()).into_response(),
        None => herder_error(crate::herder::no_log_levels()),
    }
}

async fn logger(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    let level = rest.herder.log_levels().and_then(|l| l.all().remove(&name));
    match level {
        Some(level) => Json(level).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("Logger {name} not found.")),
    }
}

/// KIP-495: `{"level":"DEBUG"}` sets a logger's level on this worker and answers the loggers
/// changed; with `?scope=cluster` (KIP-976) on every worker of the cluster, answered 204. Any
/// other scope is this worker's, as Kafka reads it.
async fn set_logger(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    Json(body): Json<Value>,
) -> Response {
    let Some(level) = body.get("level").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "Desired 'level' parameter was not specified in request.".into());
    };
    if crate::log_levels::tracing_level(level).is_none() {
        return error(StatusCode::NOT_FOUND, crate::log_levels::invalid_level(level));
    }
    let scope = query_values(query.as_deref(), "scope").first().map(|s| s.to_ascii_lowercase());
    match scope.as_deref() {
        Some("cluster") => {
            return empty(rest.herder.set_cluster_log_level(name, level.to_owned()).await, StatusCode::NO_CONTENT)
        }
        None | Some("worker") => {}
        Some(other) => warn!(scope = other, "unknown logging scope; the level is set on this worker"),
    }
    let Some(levels) = rest.herder.log_levels() else { return herder_error(crate::herder::no_log_levels()) };
    match levels.set(&name, level) {
        Ok(changed) => Json(changed).into_response(),
        Err(message) => error(StatusCode::NOT_FOUND, message),
    }
}

/// Internal (`POST /connectors/{c}/tasks`): a connector's owner hands its task configs to the
/// leader, signed with the session key (KIP-507).
async fn put_task_configs(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let configs: Vec<std::collections::BTreeMap<String, String>> = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, format!("task configs must be a JSON array of string maps: {e}"))
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = InternalRequest {
        authorization: header("X-Connect-Authorization"),
        algorithm: header("X-Connect-Request-Signature-Algorithm"),
        body: body.to_vec(),
    };
    empty(rest.herder.put_task_configs(name, configs, request).await, StatusCode::NO_CONTENT)
}

async fn task_status(AxumState(rest): AxumState<Rest>, Path((connector, task)): Path<(String, usize)>) -> Response {
    answer(rest.herder.task_status(&ConnectorTaskId { connector, task }))
}

/// Sources: the stored offsets. Sinks: the group offsets last committed.
async fn offsets(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.connector_offsets(name).await)
}

/// KIP-558: the topics the connector's tasks used, `{"<name>":{"topics":[…]}}`.
async fn topics(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.active_topics(&name).map(|topics| json!({ name: {"topics": topics} })))
}

/// KIP-558: forgets the active topics (202); tasks report them again as they use them.
async fn reset_topics(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    empty(rest.herder.reset_active_topics(&name), StatusCode::ACCEPTED)
}

/// `POST /connectors/{c}/restart?includeTasks=&onlyFailed=`, Kafka's plan
/// ([`RestartRequest`]). With either flag true the answer is 202 and the planned states
/// (`RESTARTING`); with both false (given or not), the connector alone restarts and the answer is
/// 204.
async fn restart(AxumState(rest): AxumState<Rest>, Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let flag = |key| query_bool(query.as_deref(), key).unwrap_or(false);
    let request = RestartRequest { include_tasks: flag("includeTasks"), only_failed: flag("onlyFailed") };
    match rest.herder.restart_connector(name, request).await {
        Ok(_) if request.connector_only() => StatusCode::NO_CONTENT.into_response(),
        Ok(planned) => (StatusCode::ACCEPTED, Json(planned)).into_response(),
        Err(e) => herder_error(e),
    }
}

async fn restart_task(AxumState(rest): AxumState<Rest>, Path((connector, task)): Path<(String, usize)>) -> Response {
    empty(rest.herder.restart_task(ConnectorTaskId { connector, task }).await, StatusCode::NO_CONTENT)
}

/// Pause and resume answer 202 Accepted, stop 204, as Kafka Connect.
async fn pause(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    empty(rest.herder.pause_connector(name).await, StatusCode::ACCEPTED)
}

async fn resume(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    empty(rest.herder.resume_connector(name).await, StatusCode::ACCEPTED)
}

async fn stop(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    empty(rest.herder.stop_connector(name).await, StatusCode::NO_CONTENT)
}

async fn alter_offsets(
    AxumState(rest): AxumState<Rest>,
    Path(name): Path<String>,
    Json(body): Json<ConnectorOffsets>,
) -> Response {
    answer(rest.herder.alter_offsets(name, body).await)
}

async fn reset_offsets(AxumState(rest): AxumState<Rest>, Path(name): Path<String>) -> Response {
    answer(rest.herder.reset_offsets(name).await)
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
