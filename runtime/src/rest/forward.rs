//! Forwarding (distributed-mode.md §7.2, Kafka's `HerderRequestHandler`): a write the herder
//! says must run on another worker ([`HerderError::Elsewhere`], the leader or a task's owner)
//! is sent there with the same method, path, query and body, and its answer passed back. The
//! `forward` query parameter bounds it to two hops: none on the first worker (forwarded with
//! `forward=true`), `true` on the second (forwarded with `forward=false`), `false` on the third,
//! which answers 409 instead.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{client, error, query_values};

/// The worker a request must run on (a response extension set by the handler).
#[derive(Debug, Clone)]
pub(super) struct ForwardTo(pub String);

/// The largest request body forwarded.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub(super) async fn forwarding(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large".into());
    };
    let response = next.run(Request::from_parts(parts.clone(), Body::from(bytes.clone()))).await;
    let Some(ForwardTo(target)) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    let query = parts.uri.query();
    let next_hop = match query_values(query, "forward").first() {
        None => "true",
        Some(v) if v.eq_ignore_ascii_case("true") => "false",
        Some(_) => {
            return error(
                StatusCode::CONFLICT,
                "Cannot complete request because of a conflicting operation (e.g. worker rebalance)".into(),
            )
        }
    };
    let mut params: Vec<&str> =
        query.unwrap_or_default().split('&').filter(|p| !p.is_empty() && !p.starts_with("forward=")).collect();
    let hop = format!("forward={next_hop}");
    params.push(&hop);
    let path = format!("{}?{}", parts.uri.path().trim_start_matches('/'), params.join("&"));
    let mut headers = BTreeMap::new();
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        headers.insert("Authorization", auth.to_owned());
    }
    match client::send(&target, parts.method.as_str(), &path, &headers, bytes.to_vec()).await {
        Ok((status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if body.is_empty() {
                return status.into_response();
            }
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
