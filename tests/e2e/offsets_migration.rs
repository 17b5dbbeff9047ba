//! Moving from standalone to distributed mode with the same positions: `sluice offsets copy`
//! writes a standalone offset file into the offsets topic of a distributed worker file, with
//! Kafka's exact key and value bytes on the partition a Java worker would read them from, and
//! `sluice offsets dump --worker` reads them back.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::harness::*;

fn distributed_file(dir: &Dir, offsets_topic: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        "bootstrap.servers={}\n{extra}config.storage.topic={}\nstatus.storage.topic={}\noffset.storage.topic={offsets_topic}\n\
         offset.storage.partitions=5\noffset.storage.replication.factor=1\nconfig.storage.replication.factor=1\n\
         status.storage.replication.factor=1\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n",
        bootstrap(),
        unique("configs"),
        unique("status"),
    );
    dir.write("connect-distributed.properties", &text)
}

/// Every record of `topic`'s `partitions`: (partition, key, value).
fn records(topic: &str, partitions: i32, n: usize) -> Vec<(i32, Vec<u8>, Option<Vec<u8>>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("e2e-offsets-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push((m.partition(), m.key().unwrap_or_default().to_vec(), m.payload().map(<[u8]>::to_vec)));
        }
    }
    out
}

#[test]
fn a_standalone_offset_file_moves_into_the_offsets_topic() {
    require_kafka();
    let dir = Dir::new();
    let file = dir.path("connect.offsets");
    for (connector, partition, offset) in [
        ("orders-jdbc", r#"{"protocol":"1","table":"shop.orders"}"#, r#"{"incrementing":42}"#),
        ("logs", r#"{"filename":"/var/log/app.log"}"#, r#"{"position":1234}"#),
        ("other", r#"{"filename":"/x"}"#, r#"{"position":1}"#),
    ] {
        let out = sluice()
            .args(["offsets", "set"])
            .arg(&file)
            .args(["--connector", connector, "--partition", partition, "--offset", offset])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let topic = unique("e2e-connect-offsets");
    let worker = distributed_file(&dir, &topic, &format!("group.id={}\n", unique("e2e-cluster")));
    let out = sluice()
        .args(["offsets", "copy"])
        .arg(&file)
        .arg("--worker")
        .arg(&worker)
        .args(["--connector", "orders-jdbc", "--connector", "logs"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("copied 2 offset(s)"), "{stdout}");

    let got = records(&topic, 5, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    for (key, value) in [
        (&br#"["orders-jdbc",{"protocol":"1","table":"shop.orders"}]"#[..], &br#"{"incrementing":42}"#[..]),
        (&br#"["logs",{"filename":"/var/log/app.log"}]"#[..], &br#"{"position":1234}"#[..]),
    ] {
        let (partition, _, v) = got.iter().find(|(_, k, _)| k == key).unwrap_or_else(|| panic!("{got:?}"));
        assert_eq!(v.as_deref(), Some(value), "the value bytes as Kafka writes them");
        assert_eq!(*partition as u32, cluster::offset_log::partition_for(key, 5), "murmur2, as Java's producer");
    }

    let out = sluice().args(["offsets", "dump", "--worker"]).arg(&worker).output().unwrap();
    let dumped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let entries = dumped["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{dumped}");
    assert!(entries.iter().any(|e| e["connector"] == "logs" && e["offset"]["position"] == 1234), "{dumped}");
}

#[test]
fn a_distributed_worker_file_without_its_required_keys_is_refused() {
    let dir = Dir::new();
    let file = dir.path("connect.offsets");
    let worker = dir.write(
        "connect-distributed.properties",
        "bootstrap.servers=127.0.0.1:1\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\nstatus.storage.topic=s\n",
    );
    std::fs::write(&file, b"").unwrap();
    let out = sluice().args(["offsets", "copy"]).arg(&file).arg("--worker").arg(&worker).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for key in ["group.id", "config.storage.topic", "offset.storage.topic"] {
        assert!(stderr.contains(&format!("connect-distributed.properties: {key}: missing required key")), "{stderr}");
    }
}

#[test]
fn validate_checks_a_distributed_worker_file() {
    let dir = Dir::new();
    let good = distributed_file(&dir, "connect-offsets", "group.id=connect-cluster\n");
    let out = sluice().arg("validate").arg("--worker").arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = dir.write(
        "bad-distributed.properties",
        "group.id=connect-cluster\nconfig.storage.topic=c\nstatus.storage.topic=s\nconnect.protocol=cooperative\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n",
    );
    let out = sluice().arg("validate").arg("--worker").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("offset.storage.topic: missing required key"), "{stderr}");
    assert!(stderr.contains("bad-distributed.properties:4: connect.protocol: expected one of"), "{stderr}");
    assert!(!stderr.contains("offset.storage.file.filename"), "a distributed file needs no offset file: {stderr}");
}

/// A standalone user moves to distributed mode: the file source ran standalone, its offset is
/// copied into the cluster's offsets topic, and the same connector created on a cluster goes on
/// from there (no line twice).
#[test]
fn a_connector_moved_from_standalone_resumes_on_a_cluster_from_the_copied_offset() {
    use crate::distributed::{running_on, write, Cluster};
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "one\ntwo\nthree\n");
    let (name, topic) = (unique("moved-file"), unique("e2e-moved"));
    create_topic(&topic);
    let string = "value.converter=org.apache.kafka.connect.storage.StringConverter\n";
    let source = dir.write("source.properties", &source_props(&name, &input, &topic, string));
    let mut standalone = spawn(&[&dir.worker(free_port(), ""), &source], &dir.path("standalone.log"));
    wait_until(Duration::from_secs(30), "the three lines read", || dir.file_position() == Some(14));
    assert!(sigterm(&mut standalone).success(), "{}", log_text(&dir.path("standalone.log")));

    let cluster = Cluster::new();
    let out = sluice()
        .args(["offsets", "copy"])
        .arg(dir.path("connect.offsets"))
        .arg("--worker")
        .arg(cluster.file(free_port()))
        .args(["--connector", &name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&input, "one\ntwo\nthree\nfour\nfive\n").unwrap();
    let node = cluster.start();
    node.wait_joined("");
    let config = serde_json::json!({
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic, "tasks.max": "1"
    });
    let (status, text) = write(node.port, "PUT", &format!("/connectors/{name}/config"), &config.to_string());
    assert_eq!(status, 201, "{text}");
    wait_until(Duration::from_secs(60), "RUNNING on the cluster", || running_on(node.port, &name, 1).is_some());
    let lines = || -> Vec<String> {
        produce(&topic, &[(b"marker", &[])]);
        values(&topic, 100, Duration::from_secs(3)).into_iter().filter(|v| v != "marker").collect()
    };
    wait_until(Duration::from_secs(30), "five lines", || lines().len() >= 5);
    assert_eq!(lines(), ["one", "two", "three", "four", "five"], "{}", log_text(&node.log));
}
