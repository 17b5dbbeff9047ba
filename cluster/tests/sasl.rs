//! The group client's SASL against a listener speaking Kafka's SaslHandshake/SaslAuthenticate
//! (no SASL-capable broker runs here): PLAIN is checked byte for byte, SCRAM-SHA-256 against a
//! server side written from RFC 5802 that verifies the client's proof and proves itself back,
//! OAUTHBEARER with a token the client got from a token endpoint (an HTTP listener here that
//! checks the client-credentials request) and its SASL extensions.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use cluster::sasl::Sasl;
use cluster::wire::{Connection, WireError};
use hmac::{KeyInit, Mac};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use sha2::Digest;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const SALT: &[u8] = b"sluice-test-salt";
const ITERATIONS: u32 = 4096;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A SCRAM-SHA-256 server for one user whose password is `password`.
struct ScramServer {
    password: String,
    client_first_bare: String,
    server_first: String,
}

impl ScramServer {
    fn first(&mut self, client_first: &str) -> String {
        self.client_first_bare = client_first.strip_prefix("n,,").unwrap().to_owned();
        let nonce = self.client_first_bare.split(",r=").nth(1).unwrap();
        self.server_first = format!("r={nonce}server-part,s={},i={ITERATIONS}", B64.encode(SALT));
        self.server_first.clone()
    }

    /// `Some(server final)` when the proof is right.
    fn last(&self, client_final: &str) -> Option<String> {
        let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
        let auth = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(self.password.as_bytes(), SALT, ITERATIONS, &mut salted);
        let stored_key = sha2::Sha256::digest(hmac(&salted, b"Client Key")).to_vec();
        let signature = hmac(&stored_key, auth.as_bytes());
        let client_key: Vec<u8> = B64.decode(proof).unwrap().iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        (sha2::Sha256::digest(&client_key).to_vec() == stored_key)
            .then(|| format!("v={}", B64.encode(hmac(&hmac(&salted, b"Server Key"), auth.as_bytes()))))
    }
}

fn read_frame(s: &mut TcpStream) -> Option<Bytes> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).ok()?;
    Some(Bytes::from(body))
}

fn write_frame<R: Encodable>(s: &mut TcpStream, key: ApiKey, version: i16, correlation: i32, response: &R) {
    let mut body = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation)
        .encode(&mut body, key.response_header_version(version))
        .unwrap();
    response.encode(&mut body, version).unwrap();
    s.write_all(&(body.len() as i32).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
}

/// Serves one connection: PLAIN accepts `\0alice\0right`, SCRAM the password `right`.
fn serve(mut s: TcpStream) {
    let mut scram =
        ScramServer { password: "right".into(), client_first_bare: String::new(), server_first: String::new() };
    let mut mechanism = String::new();
    let mut round = 0;
    while let Some(mut frame) = read_frame(&mut s) {
        let key = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).unwrap();
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let header = RequestHeader::decode(&mut frame, key.request_header_version(version)).unwrap();
        let correlation = header.correlation_id;
        match key {
            ApiKey::ApiVersions => {
                let keys =
                    [(ApiKey::ApiVersions, 0, 3), (ApiKey::SaslHandshake, 0, 1), (ApiKey::SaslAuthenticate, 0, 2)]
                        .iter()
                        .map(|(k, min, max)| {
                            ApiVersion::default().with_api_key(*k as i16).with_min_version(*min).with_max_version(*max)
                        })
                        .collect();
                write_frame(&mut s, key, version, correlation, &ApiVersionsResponse::default().with_api_keys(keys));
            }
            ApiKey::SaslHandshake => {
                mechanism = SaslHandshakeRequest::decode(&mut frame, version).unwrap().mechanism.to_string();
                let offered = ["PLAIN", "SCRAM-SHA-256", "OAUTHBEARER"].map(StrBytes::from_static_str).to_vec();
                let error = if offered.iter().any(|m| m.as_str() == mechanism) { 0 } else { 33 };
                let answer = SaslHandshakeResponse::default().with_error_code(error).with_mechanisms(offered);
                write_frame(&mut s, key, version, correlation, &answer);
            }
            ApiKey::SaslAuthenticate => {
                let bytes = SaslAuthenticateRequest::decode(&mut frame, version).unwrap().auth_bytes;
                let text = String::from_utf8(bytes.to_vec()).unwrap();
                round += 1;
                let answer = match (mechanism.as_str(), round) {
                    ("PLAIN", _) if bytes.as_ref() == b"\0alice\0right" => Some(String::new()),
                    ("OAUTHBEARER", _) if text == "n,,\x01auth=Bearer tok-123\x01logicalCluster=lkc-1\x01\x01" => {
                        Some(String::new())
                    }
                    ("SCRAM-SHA-256", 1) => Some(scram.first(&text)),
                    ("SCRAM-SHA-256", 2) => scram.last(&text),
                    _ => None,
                };
                let response = match answer {
                    Some(a) => SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(a)),
                    None => SaslAuthenticateResponse::default()
                        .with_error_code(58)
                        .with_error_message(Some(StrBytes::from_static_str("Authentication failed"))),
                };
                write_frame(&mut s, key, version, correlation, &response);
            }
            _ => return,
        }
    }
}

fn fake_broker() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    addr
}

async fn open(addr: &str, sasl: Sasl) -> Result<Connection, WireError> {
    Connection::open(addr, "sluice-test", Duration::from_secs(5), None, Some(&sasl)).await
}

#[tokio::test]
async fn the_group_client_authenticates_with_plain_and_scram_and_names_a_refusal() {
    let addr = fake_broker();
    let user = || "alice".to_owned();
    open(&addr, Sasl::Plain { user: user(), password: "right".into() }).await.expect("PLAIN accepted");
    open(&addr, Sasl::Scram { sha512: false, user: user(), password: "right".into() }).await.expect("SCRAM accepted");
    for wrong in [
        Sasl::Plain { user: user(), password: "wrong".into() },
        Sasl::Scram { sha512: false, user: user(), password: "wrong".into() },
    ] {
        match open(&addr, wrong).await {
            Err(e @ WireError::Sasl { .. }) => {
                let text = e.to_string();
                assert!(text.contains("Authentication failed") && text.contains("sasl.jaas.config"), "{text}");
                assert!(!text.contains("wrong"), "the password in {text}");
                assert!(!e.is_retriable());
            }
            other => panic!("expected a SASL refusal, got {:?}", other.map(|_| ())),
        }
    }
    let unoffered = Sasl::Scram { sha512: true, user: user(), password: "right".into() };
    let text = open(&addr, unoffered).await.err().expect("SCRAM-SHA-512 is not offered").to_string();
    assert!(text.contains("the broker offers PLAIN, SCRAM-SHA-256, OAUTHBEARER"), "{text}");
}

/// How many token requests the endpoint got.
static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A token endpoint answering `tok-123` to client `cid` with secret `cs` asking for scope
/// `kafka api`, and HTTP 401 to anyone else; its base URL.
fn token_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // headers, then the body of Content-Length bytes
            loop {
                let n = conn.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break;
                    }
                }
            }
            ASKED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let text = String::from_utf8(request).unwrap();
            let basic = format!("authorization: basic {}", B64.encode("cid:cs")).to_ascii_lowercase();
            let good = text.starts_with("POST /oauth2/token HTTP/1.1\r\n")
                && text.to_ascii_lowercase().contains(&basic)
                && text.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded")
                && text.ends_with("\r\n\r\ngrant_type=client_credentials&scope=kafka+api");
            let (status, body) = if good {
                ("200 OK", r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}"#)
            } else {
                ("401 Unauthorized", r#"{"error":"invalid_client"}"#)
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).unwrap();
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn oauthbearer_carries_the_token_endpoints_token_and_the_extensions() {
    let addr = fake_broker();
    let endpoint = format!("{}/oauth2/token", token_endpoint());
    let sasl = |secret: &str| {
        let settings = [
            ("security.protocol", "sasl_plaintext".to_owned()),
            ("sasl.mechanisms", "OAUTHBEARER".to_owned()),
            ("sasl.oauthbearer.method", "oidc".to_owned()),
            ("sasl.oauthbearer.token.endpoint.url", endpoint.clone()),
            ("sasl.oauthbearer.client.id", "cid".to_owned()),
            ("sasl.oauthbearer.client.secret", secret.to_owned()),
            ("sasl.oauthbearer.scope", "kafka api".to_owned()),
            ("sasl.oauthbearer.extensions", "logicalCluster=lkc-1".to_owned()),
        ];
        let get = move |k: &str| settings.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        Sasl::from_librdkafka(&get).unwrap().unwrap()
    };
    open(&addr, sasl("cs")).await.expect("the endpoint's token accepted");
    open(&addr, sasl("cs")).await.expect("a second connection with the same token");
    assert_eq!(ASKED.load(std::sync::atomic::Ordering::SeqCst), 1, "the token is reused, not asked for again");
    match open(&addr, sasl("not-the-secret")).await {
        Err(e @ WireError::Sasl { .. }) => {
            let text = e.to_string();
            assert!(text.contains("HTTP 401") && text.contains("invalid_client"), "{text}");
            assert!(!text.contains("not-the-secret"), "the secret in {text}");
        }
        other => panic!("expected the endpoint's refusal, got {:?}", other.map(|_| ())),
    }
}
