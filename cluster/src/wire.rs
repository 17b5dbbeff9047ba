//! One connection to a Kafka broker speaking the Kafka protocol directly, for the requests
//! librdkafka cannot make (JoinGroup with protocol type `connect` and Connect's own metadata).
//! Messages are encoded and decoded by the `kafka-protocol` crate; this adds the framing (an
//! INT32 size, then the header and body), correlation ids and version choice from ApiVersions.
//! The broker answers one request at a time per connection, in order, so calls take `&mut self`.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes, VersionRange};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sasl::Sasl;

/// A plain or TLS connection.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why a call to the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls { addr: String, source: std::io::Error },
    #[error("connection to {addr} failed: {source}")]
    Io { addr: String, source: std::io::Error },
    #[error("{addr} did not answer {api} within {after:?}")]
    Timeout { addr: String, api: &'static str, after: Duration },
    #[error("{addr} supports no version of {api} that sluice speaks")]
    Unsupported { addr: String, api: &'static str },
    #[error("{addr} sent a {api} answer sluice cannot read: {message}")]
    Decode { addr: String, api: &'static str, message: String },
    #[error("{addr} refused SASL {mechanism} authentication: {message} (sasl.mechanism, sasl.jaas.config)")]
    Sasl { addr: String, mechanism: &'static str, message: String },
}

impl WireError {
    /// Whether another connection (or the same one later) may succeed.
    pub fn is_retriable(&self) -> bool {
        !matches!(self, WireError::Unsupported { .. } | WireError::Sasl { .. })
    }
}

/// Refuses answers larger than this (Kafka's `socket.request.max.bytes` default is 100 MiB;
/// group answers are far smaller).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// A connection with the broker's supported versions.
pub struct Connection {
    addr: String,
    stream: Box<dyn Io>,
    client_id: StrBytes,
    correlation: i32,
    versions: BTreeMap<i16, VersionRange>,
}

impl Connection {
    /// Connects to `addr` (`host:port`), over TLS with `tls`, asks for the broker's API
    /// versions and authenticates with `sasl`.
    pub async fn open(
        addr: &str,
        client_id: &str,
        timeout: Duration,
        tls: Option<&Arc<rustls::ClientConfig>>,
        sasl: Option<&Sasl>,
    ) -> Result<Connection, WireError> {
        let connect = tokio::time::timeout(timeout, TcpStream::connect(addr));
        let tcp = connect
            .await
            .map_err(|_| WireError::Timeout { addr: addr.into(), api: "connect", after: timeout })?
            .map_err(|source| WireError::Connect { addr: addr.into(), source })?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match tls {
            None => Box::new(tcp),
            Some(config) => {
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']);
                let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| WireError::Tls {
                    addr: addr.into(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
                })?;
                let handshake = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp);
                let stream = tokio::time::timeout(timeout, handshake)
                    .await
                    .map_err(|_| WireError::Timeout { addr: addr.into(), api: "TLS handshake", after: timeout })?
                    .map_err(|source| WireError::Tls { addr: addr.into(), source })?;
                Box::new(stream)
            }
        };
        let mut conn = Connection {
            addr: addr.into(),
            stream,
            client_id: StrBytes::from_string(client_id.into()),
            correlation: 0,
            versions: BTreeMap::new(),
        };
        // version 0 of ApiVersions is answered by every broker
        let answer: ApiVersionsResponse = conn.call_version(&ApiVersionsRequest::default(), 0, timeout).await?;
        conn.versions = answer
            .api_keys
            .iter()
            .map(|k| (k.api_key, VersionRange { min: k.min_version, max: k.max_version }))
            .collect();
        if let Some(sasl) = sasl {
            conn.authenticate(sasl, timeout).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake, then the mechanism's SaslAuthenticate exchange (KIP-152).
    async fn authenticate(&mut self, sasl: &Sasl, timeout: Duration) -> Result<(), WireError> {
        let mechanism = sasl.mechanism();
        let refused = |addr: &str, message: String| WireError::Sasl { addr: addr.into(), mechanism, message };
        let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
        let (answer, _) = self.call(&handshake, timeout).await?;
        if answer.error_code != 0 {
            let enabled: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(refused(&self.addr, format!("the broker offers {}", enabled.join(", "))));
        }
        match sasl {
            Sasl::Plain { user, password } => {
                self.sasl_step(crate::sasl::plain_message(user, password), mechanism, timeout).await?;
            }
            Sasl::MskIam(msk) => {
                let settings = msk.clone();
                let token = tokio::task::spawn_blocking(move || settings.token())
                    .await
                    .map_err(|e| refused(&self.addr, e.to_string()))?
                    .map_err(|e| refused(&self.addr, e.to_string()))?;
                self.sasl_step(crate::sasl::oauthbearer_message(&token.value, &[]), mechanism, timeout).await?;
            }
            Sasl::Token { source, extensions } => {
                let token = source.token().await.map_err(|e| refused(&self.addr, e.to_string()))?;
                let message = crate::sasl::oauthbearer_message(&token.value, extensions);
                self.sasl_step(message, mechanism, timeout).await?;
            }
            Sasl::Scram { sha512, user, password } => {
                let mut scram = crate::sasl::Scram::new(*sha512, user, password);
                let server_first = self.sasl_step(scram.client_first(), mechanism, timeout).await?;
                let client_final = scram.client_final(&server_first).map_err(|e| refused(&self.addr, e.to_string()))?;
                let server_final = self.sasl_step(client_final, mechanism, timeout).await?;
                scram.verify(&server_final).map_err(|e| refused(&self.addr, e.to_string()))?;
            }
        }
        Ok(())
    }

    /// One SaslAuthenticate round: sends `message`, answers the server's bytes.
    async fn sasl_step(
        &mut self,
        message: Vec<u8>,
        mechanism: &'static str,
        timeout: Duration,
    ) -> Result<Vec<u8>, WireError> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(message));
        let (answer, _) = self.call(&request, timeout).await?;
        if answer.error_code != 0 {
            let message =
                answer.error_message.map(|m| m.to_string()).unwrap_or_else(|| format!("error {}", answer.error_code));
            return Err(WireError::Sasl { addr: self.addr.clone(), mechanism, message });
        }
        Ok(answer.auth_bytes.to_vec())
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The newest version of `R` both sides speak.
    pub fn version<R: Request>(&self) -> Result<i16, WireError> {
        let unsupported = || WireError::Unsupported { addr: self.addr.clone(), api: api_name(R::KEY) };
        let broker = self.versions.get(&R::KEY).ok_or_else(unsupported)?;
        let both = broker.intersect(&R::VERSIONS);
        if both.is_empty() {
            return Err(unsupported());
        }
        Ok(both.max)
    }

    /// Sends `request` at the newest common version and reads its answer within `timeout`.
    pub async fn call<R: Request>(&mut self, request: &R, timeout: Duration) -> Result<(R::Response, i16), WireError> {
        let version = self.version::<R>()?;
        Ok((self.call_version(request, version, timeout).await?, version))
    }

    async fn call_version<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, WireError> {
        let api = api_name(R::KEY);
        let exchange = self.exchange(request, version);
        tokio::time::timeout(timeout, exchange).await.map_err(|_| WireError::Timeout {
            addr: self.addr.clone(),
            api,
            after: timeout,
        })?
    }

    async fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response, WireError> {
        let api = api_name(R::KEY);
        let decode_error = |addr: &str, e: String| WireError::Decode { addr: addr.into(), api, message: e };
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::with_capacity(256);
        header.encode(&mut body, R::header_version(version)).map_err(|e| decode_error(&self.addr, e.to_string()))?;
        request.encode(&mut body, version).map_err(|e| decode_error(&self.addr, e.to_string()))?;
        let io = |addr: &str| {
            let addr = addr.to_owned();
            move |source| WireError::Io { addr, source }
        };
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.map_err(io(&self.addr))?;
        let size = self.stream.read_i32().await.map_err(io(&self.addr))?;
        if size < 0 || size as usize > MAX_RESPONSE {
            return Err(decode_error(&self.addr, format!("answer size {size}")));
        }
        let mut answer = vec![0u8; size as usize];
        self.stream.read_exact(&mut answer).await.map_err(io(&self.addr))?;
        let mut answer = Bytes::from(answer);
        let header = ResponseHeader::decode(&mut answer, R::Response::header_version(version))
            .map_err(|e| decode_error(&self.addr, e.to_string()))?;
        if header.correlation_id != self.correlation {
            let message = format!("correlation id {} for request {}", header.correlation_id, self.correlation);
            return Err(decode_error(&self.addr, message));
        }
        R::Response::decode(&mut answer, version).map_err(|e| decode_error(&self.addr, e.to_string()))
    }
}

fn api_name(key: i16) -> &'static str {
    match ApiKey::try_from(key) {
        Ok(ApiKey::ApiVersions) => "ApiVersions",
        Ok(ApiKey::FindCoordinator) => "FindCoordinator",
        Ok(ApiKey::JoinGroup) => "JoinGroup",
        Ok(ApiKey::SyncGroup) => "SyncGroup",
        Ok(ApiKey::Heartbeat) => "Heartbeat",
        Ok(ApiKey::LeaveGroup) => "LeaveGroup",
        Ok(ApiKey::Metadata) => "Metadata",
        Ok(ApiKey::SaslHandshake) => "SaslHandshake",
        Ok(ApiKey::SaslAuthenticate) => "SaslAuthenticate",
        _ => "a Kafka request",
    }
}
