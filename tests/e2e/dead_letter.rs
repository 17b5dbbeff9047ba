//! A poison record: with `errors.tolerance=all` it is skipped and lands in the dead letter queue
//! with its original bytes and `__connect.errors.*` headers; with the default it fails the task.

use std::time::Duration;

use crate::harness::*;

fn good(s: &str) -> Vec<u8> {
    format!(r#"{{"schema":{{"type":"string","optional":false}},"payload":"{s}"}}"#).into_bytes()
}

#[test]
fn tolerated_poison_record_goes_to_the_dead_letter_queue() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-poison");
    let dlq = unique("e2e-dlq");
    create_topic(&topic);
    let (a, b) = (good("first"), good("second"));
    produce(&topic, &[(&a, &[]), (b"not json", &[("trace-id", "42")]), (&b, &[])]);
    let output = dir.path("out.txt");
    let worker = dir.worker(free_port(), "");
    let name = unique("sink");
    let sink = dir.write(
        "sink.properties",
        &format!(
            "{}errors.tolerance=all\nerrors.log.enable=true\nerrors.deadletterqueue.topic.name={dlq}\n\
             errors.deadletterqueue.context.headers.enable=true\n",
            sink_props(&name, &output, &topic)
        ),
    );
    let mut child = spawn(&[&worker, &sink], &dir.path("log"));
    wait_until(Duration::from_secs(60), "two good records written", || lines_of(&output) >= 2);
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "first\nsecond\n");
    let log = log_text(&dir.path("log"));
    assert!(log.contains("replication.factor is larger than the cluster"), "{log}");
    // errors.log.include.messages=false (the default): the record's bytes stay out of the log
    assert!(log.contains("record skipped") && !log.contains("not json"), "{log}");
    let dead = read_partition(&dlq, 1, Duration::from_secs(20));
    assert_eq!(dead.len(), 1, "{log}");
    let (value, headers) = (&dead[0].value, &dead[0].headers);
    assert_eq!(value.as_deref(), Some(&b"not json"[..]));
    let header = |k: &str| headers.iter().find(|(hk, _)| hk == k).map(|(_, v)| v.clone());
    assert_eq!(header("trace-id").as_deref(), Some("42"), "original headers are kept");
    assert_eq!(header("__connect.errors.topic"), Some(topic.clone()));
    assert_eq!(header("__connect.errors.partition").as_deref(), Some("0"));
    assert_eq!(header("__connect.errors.offset").as_deref(), Some("1"));
    assert_eq!(header("__connect.errors.connector.name"), Some(name));
    assert_eq!(header("__connect.errors.task.id").as_deref(), Some("0"));
    assert_eq!(header("__connect.errors.stage").as_deref(), Some("VALUE_CONVERTER"));
    assert_eq!(header("__connect.errors.class.name").as_deref(), Some("org.apache.kafka.connect.json.JsonConverter"));
    assert!(header("__connect.errors.exception.message").unwrap().contains("serialization error"));
}

#[test]
fn untolerated_poison_record_fails_the_task() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-poison-fail");
    create_topic(&topic);
    produce(&topic, &[(&good("ok")[..], &[]), (b"{\"a\":1}", &[])]);
    let output = dir.path("out.txt");
    let worker = dir.worker(free_port(), "");
    let sink = dir.write("sink.properties", &sink_props(&unique("sink"), &output, &topic));
    let mut child = spawn(&[&worker, &sink], &dir.path("log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the worker did not stop on the failed task:\n{}", log_text(&dir.path("log")));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = log_text(&dir.path("log"));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("cannot convert record {topic}-0@1 (VALUE_CONVERTER)")), "{log}");
    assert!(
        log.contains("requires \\\"schema\\\" and \\\"payload\\\" fields")
            || log.contains("requires \"schema\" and \"payload\" fields"),
        "{log}"
    );
}
