//! Records larger than the clients' defaults: never a silent hang. A source record over the
//! producer's `message.max.bytes` (1 MB unless `producer.max.request.size` raises it) fails the
//! task naming the topic, the size and the key to change, or is skipped with
//! `errors.tolerance=all`; one the producer accepts goes through.

use std::time::Duration;

use crate::harness::*;

const BIG: usize = 5 * 1024 * 1024;

fn big_line(dir: &Dir) -> std::path::PathBuf {
    let mut text = "small-1\n".to_string();
    text.push_str(&"x".repeat(BIG));
    text.push_str("\nsmall-2\n");
    dir.write("in.txt", &text)
}

#[test]
fn a_source_record_over_the_producer_limit_fails_the_task_with_the_fix() {
    require_kafka();
    let dir = Dir::new();
    let input = big_line(&dir);
    let worker = dir.worker(free_port(), "value.converter=org.apache.kafka.connect.storage.StringConverter\n");
    let source = dir.write("source.properties", &source_props(&unique("big"), &input, &unique("e2e-big"), ""));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["standalone"])
        .args([&worker, &source])
        .env("SLUICE_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("max.request.size") && log.contains("5242880"), "the size and the key to change:\n{log}");
}

#[test]
fn a_source_record_over_the_producer_limit_is_skipped_with_tolerance_all() {
    require_kafka();
    let dir = Dir::new();
    let input = big_line(&dir);
    let worker = dir.worker(free_port(), "value.converter=org.apache.kafka.connect.storage.StringConverter\n");
    let topic = unique("e2e-big-skip");
    let source = dir.write(
        "source.properties",
        &source_props(&unique("big"), &input, &topic, "errors.tolerance=all\nerrors.log.enable=true\n"),
    );
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let values = values(&topic, 2, Duration::from_secs(30));
    assert_eq!(values, ["small-1", "small-2"], "{}", log_text(&dir.path("log")));
    assert!(sigterm(&mut child).success());
}

#[test]
fn a_large_record_the_producer_accepts_goes_through_to_the_sink() {
    require_kafka();
    let dir = Dir::new();
    let input = big_line(&dir);
    let worker = dir.worker(
        free_port(),
        "value.converter=org.apache.kafka.connect.storage.StringConverter\nproducer.max.request.size=8388608\n",
    );
    let topic = unique("e2e-big-ok");
    let source = dir.write("source.properties", &source_props(&unique("big"), &input, &topic, ""));
    let output = dir.path("out.txt");
    let sink = dir.write("sink.properties", &sink_props(&unique("big-sink"), &output, &topic));
    let mut child = spawn(&[&worker, &source, &sink], &dir.path("log"));
    wait_until(Duration::from_secs(60), "three lines in the sink's file", || lines_of(&output) >= 3);
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!((lines[0], lines[1].len(), lines[2]), ("small-1", BIG, "small-2"));
}

#[test]
fn a_source_record_larger_than_the_producer_buffer_fails_instead_of_waiting_for_ever() {
    require_kafka();
    let dir = Dir::new();
    let input = big_line(&dir);
    let worker = dir.worker(
        free_port(),
        "value.converter=org.apache.kafka.connect.storage.StringConverter\nproducer.max.request.size=16777216\n\
         producer.buffer.memory=4194304\n",
    );
    let source = dir.write("source.properties", &source_props(&unique("big"), &input, &unique("e2e-big-buf"), ""));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the task waits for ever for room in the buffer:\n{}", log_text(&dir.path("log")));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = log_text(&dir.path("log"));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("producer.buffer.memory"), "{log}");
}
