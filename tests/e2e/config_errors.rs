//! Bad input gives a clear error (`file:line: key: …`) and a non-zero exit, with nothing written.

use std::time::{Duration, Instant};

use crate::harness::*;

#[test]
fn every_connector_problem_at_once_then_exit_3() {
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let a = dir.write("a.properties", "name=a\nconnector.class=FileStreamSource\nfile=/tmp/x\nbatch.size=lots\n");
    let b = dir.write("b.properties", "name=b\nconnector.class=com.example.NoSuchConnector\n");
    let c = dir.write("c.json", r#"{"name":"c","config":{"connector.class":"FileStreamSink","tasks.max":"0"}}"#);
    let out = run(&[&worker, &a, &b, &c]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let (a, b, c) = (a.display(), b.display(), c.display());
    for expected in [
        format!("error: {a}:4: batch.size: expected an integer in [1, 2147483647], got \"lots\""),
        format!("error: {a}: topic: missing required key (a topic name)"),
        format!("error: {b}:2: connector.class: expected one of org.apache.kafka.connect.file.FileStreamSourceConnector, org.apache.kafka.connect.file.FileStreamSinkConnector, io.confluent.connect.jdbc.JdbcSourceConnector, io.debezium.connector.mysql.MySqlConnector, io.debezium.connector.mariadb.MariaDbConnector, io.confluent.connect.s3.S3SinkConnector, got \"com.example.NoSuchConnector\""),
        format!("error: {c}:1: tasks.max: expected an integer in [1, 2147483647], got \"0\""),
        format!("error: {c}: topics: missing required key (a comma-separated topic list, or topics.regex)"),
        "Stopping after connector error".to_string(),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(!dir.path("connect.offsets").exists(), "nothing is written on a config error");
}

#[test]
fn worker_file_problems_exit_1() {
    let dir = Dir::new();
    let worker = dir.write(
        "worker.properties",
        "bootstrap.servers=127.0.0.1:9092\nvalue.converter=JsonConverter\noffset.flush.interval.ms=soon\n",
    );
    let out = run(&[&worker]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let w = worker.display();
    assert!(stderr.contains(&format!("error: {w}: key.converter: missing required key")), "{stderr}");
    assert!(stderr.contains(&format!("error: {w}: offset.storage.file.filename: missing required key")), "{stderr}");
    assert!(
        stderr.contains(&format!("error: {w}:3: offset.flush.interval.ms: expected an integer >= 0, got \"soon\"")),
        "{stderr}"
    );
}

/// A worker file for a secured broker is refused at start, never run in plaintext against it.
#[test]
fn kafka_security_keys_that_cannot_work_are_refused_at_start_with_their_lines() {
    let dir = Dir::new();
    let worker = dir.worker(
        free_port(),
        "security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\nconsumer.security.protocol=TLS\n\
         producer.security.protocol=SSL\nproducer.ssl.truststore.location=/no/such/truststore.jks\n\
         admin.security.protocol=SASL_PLAINTEXT\nadmin.sasl.mechanism=PLAIN\n\
         admin.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"s3cret\";\n\
         producer.sasl.jaas.config=broken\n",
    );
    let out = run(&[&worker]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let at = |line: usize, key: &str| format!("worker.properties:{line}: {key}: expected ");
    assert!(stderr.contains(&at(11, "sasl.mechanism")) && stderr.contains("Kerberos is not in this build"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, got \"TLS\"",
            at(12, "consumer.security.protocol")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&at(14, "producer.ssl.truststore.location")) && stderr.contains("/no/such/truststore.jks"),
        "{stderr}"
    );
    assert!(!stderr.contains("admin.sasl"), "a valid PLAIN login is accepted: {stderr}");
    assert!(!stderr.contains("producer.sasl"), "sasl.* is unused under SSL, as Java's: {stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(!dir.path("connect.offsets").exists(), "nothing is written on a config error");
}

#[test]
fn unknown_keys_warn_with_a_suggestion_and_strict_refuses_them() {
    let dir = Dir::new();
    let source = dir.write("s.properties", "name=s\nconnector.class=FileStreamSource\ntopik=t\ntopic=t\n");
    let out = sluice().arg("validate").arg(&source).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: topik: unknown key, ignored (did you mean 'topic'?)", source.display())),
        "{stderr}"
    );
    let strict = sluice().arg("validate").arg("--strict").arg(&source).output().unwrap();
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn a_broker_that_is_down_is_a_clear_error() {
    let dir = Dir::new();
    let port = free_port(); // nothing listens there
    let worker = dir.write(
        "worker.properties",
        &format!(
            "bootstrap.servers=127.0.0.1:{port}\nkey.converter=JsonConverter\nvalue.converter=JsonConverter\noffset.storage.file.filename={}\nlisteners=\n",
            dir.path("o").display()
        ),
    );
    let source = dir.write("s.properties", &source_props("s", &dir.path("in"), "t", ""));
    let started = Instant::now();
    let out = run(&[&worker, &source]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach Kafka at 127.0.0.1:{port} (bootstrap.servers in {})", worker.display())),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
