//! Kafka over TLS with the users' own Java keys, against the TLS listeners of `scripts/services`
//! (socat with the services' private CA in front of a Tansu of its own): a JKS trust store,
//! mutual TLS with a PKCS12 key store, and each failure named with the key to change.

use std::path::PathBuf;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::harness::*;

fn tls_dir() -> PathBuf {
    PathBuf::from(std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into()))
}

fn tls_file(name: &str) -> String {
    let path = tls_dir().join(name);
    assert!(path.exists(), "{} missing; run scripts/services up (it makes the test CA and stores)", path.display());
    path.display().to_string()
}

const TLS: &str = "127.0.0.1:9093";
const MTLS: &str = "127.0.0.1:9094";
const EXPIRED: &str = "127.0.0.1:9095";
const WRONG_HOST: &str = "127.0.0.1:9096";

fn require(addr: &str) {
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok(),
        "Kafka TLS listener not reachable at {addr}; run scripts/services up"
    );
}

/// The same keys at the top level (internal and admin clients) and under `producer.` and
/// `consumer.`, as a Kafka Connect worker file for a secured cluster has them.
fn security(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for prefix in ["", "producer.", "consumer."] {
        for (k, v) in pairs {
            out.push_str(&format!("{prefix}{k}={v}\n"));
        }
    }
    out
}

/// A reader with librdkafka's own keys, independent of sluice's translation.
fn reader(servers: &str, mutual: bool) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", servers).set("security.protocol", "ssl").set("ssl.ca.location", tls_file("ca.pem"));
    if mutual {
        cfg.set("ssl.certificate.location", tls_file("client.pem")).set("ssl.key.location", tls_file("client.key"));
    }
    cfg
}

fn envelope(line: &str) -> Vec<u8> {
    format!(
        "{{\"schema\":{{\"type\":\"string\",\"optional\":false}},\"payload\":{}}}",
        serde_json::to_string(line).unwrap()
    )
    .into_bytes()
}

/// file → Kafka → file over `servers` with `keys`: the sink file equals the source file and the
/// topic holds the same bytes as over plaintext.
fn round_trip(servers: &str, keys: &str, mutual: bool) {
    let dir = Dir::new();
    let topic = unique("e2e-tls");
    let text: String = (0..300).map(|i| format!("secure line {i}\n")).collect();
    let input = dir.write("in.txt", &text);
    let output = dir.path("out.txt");
    let worker = dir.worker_on(free_port(), servers, keys);
    let source = dir.write("source.properties", &source_props(&unique("src"), &input, &topic, ""));
    let sink = dir.write("sink.properties", &sink_props(&unique("sink"), &output, &topic));
    let mut child = spawn(&[&worker, &source, &sink], &dir.path("log"));
    wait_until(Duration::from_secs(60), "the sink file to hold every line", || {
        lines_of(&output) >= 300 || child.try_wait().unwrap().is_some()
    });
    let status = sigterm(&mut child);
    let log = log_text(&dir.path("log"));
    assert!(status.success(), "exit {status:?}\n{log}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), text, "sink file differs\n{log}");
    let records = read_partition_with(&mut reader(servers, mutual), &topic, 300, Duration::from_secs(30));
    assert_eq!(records.len(), 300);
    for (record, line) in records.iter().zip(text.lines()) {
        assert_eq!(record.value.as_deref(), Some(&envelope(line)[..]));
    }
    for secret in ["trustpass", "keypass"] {
        assert!(!log.contains(secret), "a password in the log:\n{log}");
    }
}

#[test]
fn file_to_kafka_to_file_over_tls_with_a_jks_trust_store() {
    require(TLS);
    let keys = security(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.location", tls_file("truststore.jks")),
        ("ssl.truststore.password", "trustpass".into()),
    ]);
    round_trip(TLS, &keys, false);
}

#[test]
fn file_to_kafka_to_file_over_mutual_tls_with_a_pkcs12_key_store() {
    require(MTLS);
    let keys = security(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.type", "PKCS12".into()),
        ("ssl.truststore.location", tls_file("truststore.p12")),
        ("ssl.truststore.password", "trustpass".into()),
        ("ssl.keystore.type", "PKCS12".into()),
        ("ssl.keystore.location", tls_file("client.p12")),
        ("ssl.keystore.password", "keypass".into()),
        ("ssl.key.password", "keypass".into()),
    ]);
    round_trip(MTLS, &keys, true);
}

/// Runs sluice against `servers` with `keys` and returns its exit and stderr; nothing may reach
/// the sink and no password may show.
fn refused(servers: &str, keys: &str) -> String {
    let dir = Dir::new();
    let input = dir.write("in.txt", "never sent\n");
    let output = dir.path("out.txt");
    let worker = dir.worker_on(free_port(), servers, keys);
    let source = dir.write("source.properties", &source_props(&unique("src"), &input, &unique("e2e-tls-bad"), ""));
    let sink = dir.write("sink.properties", &sink_props(&unique("sink"), &output, "never"));
    let out = run(&[&worker, &source, &sink]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "sluice started:\n{stderr}");
    assert!(!output.exists() || lines_of(&output) == 0);
    assert!(dir.offsets().is_empty(), "offsets written");
    for secret in ["trustpass", "keypass", "wrongpass"] {
        assert!(!stderr.contains(secret), "a password in the output:\n{stderr}");
    }
    stderr
}

fn trust(store: &str, password: &str) -> String {
    security(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.location", tls_file(store)),
        ("ssl.truststore.password", password.into()),
    ])
}

#[test]
fn tls_failures_name_the_host_and_the_key_to_change() {
    require(TLS);
    // a trust store without the broker's CA
    let dir = Dir::new();
    let other = dir.path("other.jks");
    let made = std::process::Command::new("keytool")
        .args(["-importcert", "-noprompt", "-alias", "other", "-storetype", "JKS", "-storepass", "trustpass"])
        .arg("-file")
        .arg(tls_file("other-ca.pem"))
        .arg("-keystore")
        .arg(&other)
        .output()
        .expect("keytool (scripts/services installs Java)");
    assert!(made.status.success());
    let keys = security(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.location", other.display().to_string()),
        ("ssl.truststore.password", "trustpass".into()),
    ]);
    let err = refused(TLS, &keys);
    assert!(err.contains("127.0.0.1:9093") && err.contains("not signed by a CA in the trust store"), "{err}");
    assert!(err.contains("ssl.truststore.location"), "{err}");

    let err = refused(EXPIRED, &trust("truststore.jks", "trustpass"));
    assert!(err.contains("127.0.0.1:9095") && err.contains("has expired"), "{err}");

    let err = refused(WRONG_HOST, &trust("truststore.jks", "trustpass"));
    assert!(err.contains("127.0.0.1:9096") && err.contains("not issued for the host name"), "{err}");
    assert!(err.contains("ssl.endpoint.identification.algorithm"), "{err}");

    // plaintext against a TLS listener
    let err = refused(TLS, "");
    assert!(err.contains("127.0.0.1:9093") && err.contains("security.protocol"), "{err}");

    // a JKS trust store with the wrong password: refused before any connection, at its line
    let err = refused(TLS, &trust("truststore.jks", "wrongpass"));
    assert!(
        err.contains("worker.properties:") && err.contains("ssl.truststore.password: expected the password of"),
        "{err}"
    );
    assert!(err.contains("got \"[hidden]\""), "{err}");
}
