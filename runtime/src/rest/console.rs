//! The web console at `/ui/` on the REST listener, behind the same TLS and authentication as the
//! API. Its files are compiled into the binary (no CDN, no network, no build step); the page
//! talks to the public REST API only, so it works against any Kafka Connect worker.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::Rest;

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const FORM: &str = include_str!("console/form.js");
const STYLE: &str = include_str!("console/console.css");

/// Scripts and styles from this origin only; requests may go to another worker (`?api=`).
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub(super) fn routes() -> Router<Rest> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/ui/console.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/ui/form.js", get(|| async { asset("text/javascript; charset=utf-8", FORM) }))
        .route("/ui/console.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // the assets change with the binary: always revalidate
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        for file in ["console.js", "form.js", "console.css"] {
            assert!(INDEX.contains(file), "{file}");
        }
        // nothing from elsewhere
        for text in [INDEX, SCRIPT, FORM, STYLE] {
            assert!(!text.contains("//cdn") && !text.contains("https://"), "an outside address");
        }
        // values are put into the page as text, never as markup
        for text in [SCRIPT, FORM] {
            assert!(!text.contains("innerHTML") && !text.contains("outerHTML") && !text.contains("eval("));
        }
    }
}
