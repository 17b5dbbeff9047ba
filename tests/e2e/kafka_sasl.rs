//! SASL on the wire. No SASL-capable broker runs here (Tansu 0.6.0's SASL did not accept the
//! users it made), so this test stands in for one: a listener that speaks the start of Kafka's
//! protocol (ApiVersions, SaslHandshake, SaslAuthenticate, decoded and encoded by the
//! `kafka-protocol` crate) receives what sluice sends for a user's unchanged
//! `sasl.jaas.config`, checks the bytes, and refuses the credentials as a broker does; sluice
//! must stop at start naming the keys to change, without showing the password.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::harness::*;

/// What the client sent: the mechanism asked for and the first SASL message.
#[derive(Debug)]
struct Seen {
    mechanism: String,
    auth_bytes: Vec<u8>,
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

/// Serves one client connection up to its SaslAuthenticate, which it refuses.
fn serve(mut s: TcpStream) -> Option<Seen> {
    let mut mechanism = String::new();
    loop {
        let mut frame = read_frame(&mut s)?;
        let key = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).ok()?;
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let header = RequestHeader::decode(&mut frame, key.request_header_version(version)).ok()?;
        let correlation = header.correlation_id;
        match key {
            ApiKey::ApiVersions => {
                let versions = [
                    (ApiKey::ApiVersions, 0, 3),
                    (ApiKey::SaslHandshake, 0, 1),
                    (ApiKey::SaslAuthenticate, 0, 2),
                    (ApiKey::Metadata, 0, 12),
                ];
                let response = ApiVersionsResponse::default().with_api_keys(
                    versions
                        .iter()
                        .map(|(k, min, max)| {
                            ApiVersion::default().with_api_key(*k as i16).with_min_version(*min).with_max_version(*max)
                        })
                        .collect(),
                );
                write_frame(&mut s, key, version, correlation, &response);
            }
            ApiKey::SaslHandshake => {
                let request = SaslHandshakeRequest::decode(&mut frame, version).ok()?;
                mechanism = request.mechanism.to_string();
                let offered =
                    ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"].map(StrBytes::from_static_str).to_vec();
                write_frame(
                    &mut s,
                    key,
                    version,
                    correlation,
                    &SaslHandshakeResponse::default().with_mechanisms(offered),
                );
            }
            ApiKey::SaslAuthenticate => {
                let request = SaslAuthenticateRequest::decode(&mut frame, version).ok()?;
                let refused = SaslAuthenticateResponse::default()
                    .with_error_code(58) // SASL_AUTHENTICATION_FAILED
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Authentication failed: Invalid username or password",
                    )));
                write_frame(&mut s, key, version, correlation, &refused);
                return Some(Seen { mechanism, auth_bytes: request.auth_bytes.to_vec() });
            }
            _ => return None,
        }
    }
}

/// A listener that records what the first client to authenticate sent.
fn fake_broker() -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                if let Some(seen) = serve(conn) {
                    let _ = tx.send(seen);
                }
            });
        }
    });
    (addr, rx)
}

fn refused_with(mechanism: &str, module: &str, options: &str) -> (Seen, String) {
    let (addr, seen) = fake_broker();
    let dir = Dir::new();
    let mut keys = String::new();
    for prefix in ["", "producer.", "consumer."] {
        keys.push_str(&format!(
            "{prefix}security.protocol=SASL_PLAINTEXT\n{prefix}sasl.mechanism={mechanism}\n\
             {prefix}sasl.jaas.config={module} required username=\"alice\" password=\"alice-s3cret\"{options};\n"
        ));
    }
    let worker = dir.worker_on(free_port(), &addr, &keys);
    let out = run(&[&worker]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("alice-s3cret"), "the password in the output:\n{stderr}");
    let seen = seen.recv_timeout(Duration::from_secs(5)).expect("no SaslAuthenticate reached the listener");
    (seen, stderr)
}

#[test]
fn sasl_plain_sends_the_jaas_credentials_and_a_refusal_names_the_keys() {
    let (seen, stderr) = refused_with("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule", "");
    assert_eq!(seen.mechanism, "PLAIN");
    // RFC 4616: authzid NUL authcid NUL passwd
    assert_eq!(seen.auth_bytes, b"\0alice\0alice-s3cret");
    assert!(stderr.contains("the broker refused the SASL credentials (sasl.jaas.config"), "{stderr}");
}

#[test]
fn sasl_scram_starts_with_the_rfc_5802_client_first_message() {
    let (seen, stderr) = refused_with("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule", "");
    assert_eq!(seen.mechanism, "SCRAM-SHA-512");
    let first = String::from_utf8(seen.auth_bytes).unwrap();
    assert!(first.starts_with("n,,n=alice,r=") && first.len() > "n,,n=alice,r=".len() + 16, "{first}");
    assert!(stderr.contains("sasl.jaas.config"), "{stderr}");
}

/// Amazon MSK IAM as AWS's Java library is configured: the same worker keys reach the broker as
/// SASL/OAUTHBEARER with a SigV4-presigned `kafka-cluster:Connect` URL signed with the
/// credentials of the AWS default chain (the environment here) for the region set; the secret
/// key never leaves the worker.
#[test]
fn aws_msk_iam_sends_a_presigned_connect_url_over_oauthbearer() {
    let (addr, seen) = fake_broker();
    let dir = Dir::new();
    let mut keys = String::new();
    for prefix in ["", "producer.", "consumer."] {
        keys.push_str(&format!(
            "{prefix}security.protocol=SASL_PLAINTEXT\n{prefix}sasl.mechanism=AWS_MSK_IAM\n\
             {prefix}sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;\n\
             {prefix}sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler\n"
        ));
    }
    let worker = dir.worker_on(free_port(), &addr, &keys);
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let out = sluice()
        .arg("standalone")
        .arg(&worker)
        .args(["--kafka-timeout-ms", "3000"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", dir.path("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path("no-aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    let seen = seen.recv_timeout(Duration::from_secs(5)).expect("no SaslAuthenticate reached the listener");
    assert_eq!(seen.mechanism, "OAUTHBEARER");
    // RFC 7628: gs2 header, then auth=Bearer <token> between ^A separators
    let message = String::from_utf8(seen.auth_bytes).unwrap();
    let token = message
        .strip_prefix("n,,\x01auth=Bearer ")
        .and_then(|t| t.strip_suffix("\x01\x01"))
        .unwrap_or_else(|| panic!("not an OAUTHBEARER client response: {message:?}"));
    use base64::Engine;
    let url = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap();
    let prefix = "https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F";
    assert!(url.starts_with(prefix), "{url}");
    for part in [
        "%2Feu-west-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=",
        "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=",
        "&User-Agent=sluice%2F",
    ] {
        assert!(url.contains(part), "{part} in {url}");
    }
    assert!(!url.contains("wJalr") && !stderr.contains(secret), "the secret key left the worker");
}

/// Kafka's unsecured OAUTHBEARER tokens (`unsecuredLoginStringClaim_sub`) reach the broker from
/// librdkafka's own token maker even though every client context also answers token requests
/// for MSK IAM: an unsigned JWT naming the principal.
#[test]
fn unsecured_oauthbearer_sends_an_unsigned_jwt_of_the_principal() {
    let (seen, stderr) = refused_with(
        "OAUTHBEARER",
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule",
        " unsecuredLoginStringClaim_sub=\"alice\"",
    );
    assert_eq!(seen.mechanism, "OAUTHBEARER", "{stderr}");
    let message = String::from_utf8(seen.auth_bytes).unwrap();
    let token = message
        .strip_prefix("n,,\x01auth=Bearer ")
        .and_then(|t| t.strip_suffix("\x01\x01"))
        .unwrap_or_else(|| panic!("not an OAUTHBEARER client response: {message:?}"));
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], "alice", "{claims}");
}

/// A token endpoint that answers the client-credentials grant of client `cid` (secret
/// `idp-s3cret`, scope `kafka`) with `token`, and records each request's head and body.
fn token_endpoint(token: String) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = conn.read(&mut buf) {
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if text.contains("grant_type=client_credentials") && text.ends_with("scope=kafka") {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let body = format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(answer.as_bytes());
            let _ = tx.send(text);
        }
    });
    (url, rx)
}

/// OAUTHBEARER with an OIDC token endpoint as Kafka's `OAuthBearerLoginCallbackHandler` is
/// configured: the worker asks the endpoint with the client's credentials (librdkafka's OIDC
/// support, which a librdkafka built without libcurl lacks) and sends the token it got.
#[test]
fn oidc_oauthbearer_sends_the_token_endpoints_token() {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let jwt = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&format!(r#"{{"sub":"svc","exp":{exp}}}"#)));
    let (url, requests) = token_endpoint(jwt.clone());
    let (addr, seen) = fake_broker();
    let dir = Dir::new();
    let mut keys = String::new();
    for prefix in ["", "producer.", "consumer."] {
        keys.push_str(&format!(
            "{prefix}security.protocol=SASL_PLAINTEXT\n{prefix}sasl.mechanism=OAUTHBEARER\n\
             {prefix}sasl.oauthbearer.token.endpoint.url={url}\n\
             {prefix}sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n\
             {prefix}sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             clientId=\"cid\" clientSecret=\"idp-s3cret\" scope=\"kafka\";\n"
        ));
    }
    let worker = dir.worker_on(free_port(), &addr, &keys);
    let out = sluice().arg("standalone").arg(&worker).args(["--kafka-timeout-ms", "5000"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("idp-s3cret"), "the client secret in the output:\n{stderr}");
    let request = requests.recv_timeout(Duration::from_secs(10)).expect("the token endpoint was not asked");
    let basic = base64::engine::general_purpose::STANDARD.encode("cid:idp-s3cret");
    assert!(request.starts_with("POST /oauth2/token HTTP/1.1"), "{request}");
    assert!(request.contains(&format!("Basic {basic}")), "{request}");
    let seen = seen.recv_timeout(Duration::from_secs(10)).expect("no SaslAuthenticate reached the listener");
    assert_eq!(seen.mechanism, "OAUTHBEARER");
    let message = String::from_utf8(seen.auth_bytes).unwrap();
    assert_eq!(message, format!("n,,\x01auth=Bearer {jwt}\x01\x01"));
}
