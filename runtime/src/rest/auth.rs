//! HTTP basic authentication as Kafka's `BasicAuthSecurityRestExtension` (`JaasBasicAuthFilter`):
//! every request but the internal `POST /connectors/{c}/tasks` (signed between workers, KIP-507)
//! needs a user of the users file, else 401 with Kafka's text. Failures are logged at debug, as
//! Kafka's, so a mistyped password does not fill the log.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::rest_security::BasicAuthUsers;

fn is_internal_task_configs(request: &Request) -> bool {
    let path = request.uri().path().trim_matches('/');
    let mut parts = path.split('/');
    request.method() == Method::POST
        && parts.next() == Some("connectors")
        && parts.next().is_some_and(|c| !c.is_empty())
        && parts.next() == Some("tasks")
        && parts.next().is_none()
}

pub(super) async fn basic(users: Arc<BasicAuthUsers>, request: Request, next: Next) -> Response {
    if is_internal_task_configs(&request) {
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if users.admits(authorization) {
        return next.run(request).await;
    }
    tracing::debug!(path = %request.uri().path(), "request failed authentication");
    (StatusCode::UNAUTHORIZED, "User cannot access the resource.").into_response()
}
