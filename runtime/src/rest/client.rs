//! The worker's HTTP client to other workers (Kafka's `RestClient`): a request forwarded to
//! the leader or to a task's owner, and task configs handed to the leader. One HTTP/1.1
//! connection per request, headers as Kafka sends them (`Accept: application/json`,
//! `User-Agent: kafka-connect`), bounded by a timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// Kafka's REST request timeout (`RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS`).
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// Why a request to another worker failed before it answered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0} is not an http:// or https:// URL")]
    Url(String),
    #[error("IO Error trying to forward REST request: {0}")]
    Io(String),
    #[error("no answer from {0} within {1:?}")]
    Timeout(String, Duration),
}

/// Percent-encodes one path segment (a connector name in a URL).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The worker's TLS settings for `https://` workers (its REST keys), set when REST starts.
static TLS: std::sync::RwLock<Option<std::sync::Arc<rustls::ClientConfig>>> = std::sync::RwLock::new(None);

pub fn set_tls(tls: Option<std::sync::Arc<rustls::ClientConfig>>) {
    *TLS.write().unwrap() = tls;
}

/// Trusting the system's CAs, with host names checked: read once, when first needed (the CA
/// bundle holds over a hundred certificates; a worker that makes no `https://` request never reads it).
fn system_tls() -> Result<std::sync::Arc<rustls::ClientConfig>, crate::tls::StoreError> {
    static SYSTEM: std::sync::OnceLock<std::sync::Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = SYSTEM.get() {
        return Ok(config.clone());
    }
    let config = crate::tls::ClientTls { verify_host: true, ..Default::default() }.rustls()?;
    Ok(SYSTEM.get_or_init(|| config).clone())
}

/// `host:port` of an `http://host:port/` or `https://host:port/` base URL, and whether HTTPS.
fn authority(base: &str) -> Result<(&str, bool), ClientError> {
    let (rest, https) = match (base.strip_prefix("http://"), base.strip_prefix("https://")) {
        (Some(r), _) => (r, false),
        (_, Some(r)) => (r, true),
        _ => return Err(ClientError::Url(base.to_owned())),
    };
    Ok((rest.split('/').next().unwrap_or(rest), https))
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Whose CAs an `https://` request trusts.
#[derive(Clone, Copy)]
enum Trust {
    /// The worker's REST keys (other workers).
    Workers,
    /// The system's (an identity provider).
    System,
}

async fn connect(host: &str, https: bool, trust: Trust) -> Result<Box<dyn Io>, ClientError> {
    let io = |e: &dyn std::fmt::Display| ClientError::Io(e.to_string());
    let tcp = tokio::net::TcpStream::connect(host).await.map_err(|e| io(&e))?;
    if !https {
        return Ok(Box::new(tcp));
    }
    let workers = match trust {
        Trust::Workers => TLS.read().unwrap().clone(),
        Trust::System => None,
    };
    let config = match workers {
        Some(c) => c,
        None => system_tls().map_err(|e| io(&e))?,
    };
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']).to_owned();
    let name = rustls::pki_types::ServerName::try_from(name).map_err(|e| io(&e))?;
    let stream = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| io(&e))?;
    Ok(Box::new(stream))
}

/// Sends `method` `base` + `path` (`path` without its leading slash, query included) with a
/// JSON `body`; answers the status and body.
pub async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<&str, String>,
    body: Vec<u8>,
) -> Result<(u16, Bytes), ClientError> {
    let (host, https) = authority(base)?;
    let uri = format!("/{}", path.trim_start_matches('/'));
    let exchange = Exchange {
        host,
        https,
        trust: Trust::Workers,
        method,
        uri,
        content_type: "application/json",
        timeout: TIMEOUT,
    };
    exchange.run(headers, body).await
}

/// POSTs a form to `url` (an OAuth token endpoint) and answers the status and body; over HTTPS
/// it trusts the system's CAs.
pub async fn post_form(url: &str, headers: &BTreeMap<&str, String>, form: String) -> Result<(u16, Bytes), ClientError> {
    let (host, https) = authority(url)?;
    let scheme_and_host = url.find(host).map_or(url.len(), |at| at + host.len());
    let uri = match &url[scheme_and_host..] {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    let content_type = "application/x-www-form-urlencoded";
    let exchange = Exchange { host, https, trust: Trust::System, method: "POST", uri, content_type, timeout: TIMEOUT };
    exchange.run(headers, form.into_bytes()).await
}

/// A request to a service other than a worker (a schema registry): `base` (`http://` or
/// `https://host:port`, a path after it kept as a prefix) + `path`, trusting the system's CAs
/// over HTTPS, bounded by `timeout`. Answers the status and body.
pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<&str, String>,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, Bytes), ClientError> {
    let (host, https) = authority(base)?;
    let prefix = base.find(host).map_or("", |at| &base[at + host.len()..]).trim_end_matches('/');
    let uri = format!("{prefix}/{}", path.trim_start_matches('/'));
    let exchange = Exchange { host, https, trust: Trust::System, method, uri, content_type, timeout };
    exchange.run(headers, body).await
}

/// One HTTP/1.1 request on a connection of its own.
struct Exchange<'a> {
    host: &'a str,
    https: bool,
    trust: Trust,
    method: &'a str,
    uri: String,
    content_type: &'a str,
    timeout: Duration,
}

impl Exchange<'_> {
    async fn run(self, headers: &BTreeMap<&str, String>, body: Vec<u8>) -> Result<(u16, Bytes), ClientError> {
        let host = self.host.to_owned();
        let call = async {
            let io = |e: &dyn std::fmt::Display| ClientError::Io(e.to_string());
            let stream = connect(&host, self.https, self.trust).await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| io(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let mut request = Request::builder()
                .method(self.method)
                .uri(&self.uri)
                .header("Host", &host)
                .header("Accept", "application/json")
                .header("Content-Type", self.content_type)
                .header("User-Agent", "kafka-connect");
            for (k, v) in headers {
                request = request.header(*k, v);
            }
            let request = request.body(Full::new(Bytes::from(body))).map_err(|e| io(&e))?;
            let response = sender.send_request(request).await.map_err(|e| io(&e))?;
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.map_err(|e| io(&e))?.to_bytes();
            Ok((status, bytes))
        };
        let timeout = self.timeout;
        tokio::time::timeout(timeout, call).await.map_err(|_| ClientError::Timeout(host.clone(), timeout))?
    }
}
