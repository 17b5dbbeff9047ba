//! The REST API in Kafka Connect's shapes, with secrets hidden.

use std::io::{Read, Write};
use std::time::Duration;

use crate::harness::*;

fn get_text(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    (status, resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

fn get(port: u16, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = get_text(port, path);
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

#[test]
fn connectors_status_tasks_offsets_and_hidden_secrets() {
    require_kafka();
    let dir = Dir::new();
    std::env::set_var("SLUICE_E2E_SECRET", "hunter2");
    let input = dir.write("in.txt", "a\nb\n");
    let port = free_port();
    let worker = dir.worker(port, "");
    let name = unique("rest-src");
    let topic = unique("e2e-rest");
    let source = dir.write(
        "source.properties",
        &source_props(&name, &input, &topic, "db.password=${env:SLUICE_E2E_SECRET}\nother.password=plain\n"),
    );
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    wait_until(Duration::from_secs(30), "offsets", || dir.file_position() == Some(4));
    let (code, list) = get(port, "/connectors");
    assert_eq!((code, list), (200, serde_json::json!([name])));
    let (_, status) = get(port, &format!("/connectors/{name}/status"));
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["tasks"][0]["state"], "RUNNING");
    assert_eq!(status["type"], "source");
    let (_, tasks) = get(port, &format!("/connectors/{name}/tasks"));
    assert_eq!(tasks[0]["id"], serde_json::json!({"connector": name, "task": 0}));
    assert_eq!(tasks[0]["config"]["topic"], topic.as_str());
    assert_eq!(tasks[0]["config"]["db.password"], "${env:SLUICE_E2E_SECRET}");
    assert_eq!(tasks[0]["config"]["other.password"], "[hidden]");
    let (_, info) = get(port, &format!("/connectors/{name}"));
    assert_eq!(info["config"]["db.password"], "${env:SLUICE_E2E_SECRET}");
    assert_eq!(info["tasks"], serde_json::json!([{"connector": name, "task": 0}]));
    let (_, offsets) = get(port, &format!("/connectors/{name}/offsets"));
    assert_eq!(offsets["offsets"][0]["partition"], serde_json::json!({"filename": input.display().to_string()}));
    assert_eq!(offsets["offsets"][0]["offset"]["position"], 4);
    let (code, metrics) = get_text(port, "/metrics");
    assert_eq!(code, 200);
    let labels = format!("{{connector=\"{name}\",task=\"0\",type=\"source\"}}");
    assert!(metrics.contains(&format!("sluice_task_records_total{labels} 2\n")), "{metrics}");
    assert!(metrics.contains(&format!("sluice_task_bytes_total{labels} ")), "{metrics}");
    assert!(metrics.contains(&format!("sluice_task_running{labels} 1\n")), "{metrics}");
    assert!(!metrics.contains(&format!("sluice_task_offset_commits_total{labels} 0\n")), "{metrics}");
    let (code, missing) = get(port, "/connectors/nope");
    assert_eq!(code, 404);
    assert_eq!(missing["error_code"], 404);
    assert!(sigterm(&mut child).success());
    assert!(!log_text(&dir.path("log")).contains("hunter2"), "a secret reached the log");
}
