//! The REST API in Kafka Connect's shapes, with secrets hidden.

use std::io::Write;
use std::time::Duration;

use crate::harness::*;

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
        &source_props(
            &name,
            &input,
            &topic,
            "db.password=${env:SLUICE_E2E_SECRET}\nother.password=plain\n\
             connection.url=jdbc:mysql://u:pw1@h/db?user=u&password=pw2\n",
        ),
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
    let hidden_url = "jdbc:mysql://u:[hidden]@h/db?user=u&password=[hidden]";
    assert_eq!(tasks[0]["config"]["connection.url"], hidden_url);
    let (_, info) = get(port, &format!("/connectors/{name}"));
    assert_eq!(info["config"]["db.password"], "${env:SLUICE_E2E_SECRET}");
    assert_eq!(info["config"]["connection.url"], hidden_url);
    let (_, config) = get(port, &format!("/connectors/{name}/config"));
    assert_eq!(config["connection.url"], hidden_url);
    let (_, expanded) = get(port, "/connectors?expand=info&expand=status");
    assert_eq!(expanded[&name]["info"]["config"]["connection.url"], hidden_url, "{expanded}");
    assert_eq!(expanded[&name]["status"]["connector"]["state"], "RUNNING", "repeated expand, as Kafka: {expanded}");
    assert_eq!(info["tasks"], serde_json::json!([{"connector": name, "task": 0}]));
    let (_, offsets) = get(port, &format!("/connectors/{name}/offsets"));
    assert_eq!(offsets["offsets"][0]["partition"], serde_json::json!({"filename": input.display().to_string()}));
    assert_eq!(offsets["offsets"][0]["offset"]["position"], 4);
    // KIP-558 active topics: listed, reset (202), reported again when the source uses the topic
    let topics_path = format!("/connectors/{name}/topics");
    assert_eq!(get(port, &topics_path).1, serde_json::json!({ &name: {"topics": [&topic]} }));
    assert_eq!(request(port, "PUT", &format!("{topics_path}/reset")).0, 202);
    assert_eq!(get(port, &topics_path).1, serde_json::json!({ &name: {"topics": []} }));
    std::fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"c\n").unwrap();
    wait_until(Duration::from_secs(10), "the topic reported again", || {
        get(port, &topics_path).1 == serde_json::json!({ &name: {"topics": [&topic]} })
    });
    wait_until(Duration::from_secs(10), "c's offset", || dir.file_position() == Some(6));
    let (code, metrics) = get_text(port, "/metrics");
    assert_eq!(code, 200);
    let labels = format!("{{connector=\"{name}\",task=\"0\",type=\"source\"}}");
    assert!(metrics.contains(&format!("sluice_task_records_total{labels} 3\n")), "{metrics}");
    assert!(metrics.contains(&format!("sluice_task_bytes_total{labels} ")), "{metrics}");
    assert!(metrics.contains(&format!("sluice_task_running{labels} 1\n")), "{metrics}");
    assert!(!metrics.contains(&format!("sluice_task_offset_commits_total{labels} 0\n")), "{metrics}");
    let (_, plugins) = get(port, "/connector-plugins");
    assert_eq!(plugins[0]["class"], "org.apache.kafka.connect.file.FileStreamSourceConnector");
    assert_eq!(plugins[0]["type"], "source");
    // the plugin's keys, and validation without starting anything (Kafka's ConfigInfos shape)
    let (code, keys) = get(port, "/connector-plugins/FileStreamSource/config");
    assert_eq!(code, 200);
    let names: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"tasks.max") && names.contains(&"topic") && names.contains(&"file"), "{names:?}");
    let validate = "/connector-plugins/org.apache.kafka.connect.file.FileStreamSourceConnector/config/validate";
    let bad = r#"{"name":"v","tasks.max":"zero","topic":"a topic","connection.url":"jdbc:mysql://u:pw@h/db"}"#;
    let (code, body) = request_with(port, "PUT", validate, bad);
    assert_eq!(code, 200, "{body}");
    let infos: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(infos["name"], "org.apache.kafka.connect.file.FileStreamSourceConnector");
    assert_eq!(infos["error_count"], 2, "{infos}");
    let value = |key: &str| {
        infos["configs"].as_array().unwrap().iter().find(|c| c["definition"]["name"] == key).unwrap()["value"].clone()
    };
    assert_eq!(value("tasks.max")["errors"].as_array().unwrap().len(), 1, "{infos}");
    assert_eq!(value("topic")["errors"].as_array().unwrap().len(), 1, "{infos}");
    assert_eq!(value("file")["errors"], serde_json::json!([]));
    assert_eq!(value("connection.url")["value"], "jdbc:mysql://u:[hidden]@h/db", "secrets never returned");
    let (_, body) = request_with(port, "PUT", validate, r#"{"name":"v","topic":"t"}"#);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error_count"], 0, "{body}");
    let (code, _) = request_with(port, "PUT", validate, r#"{"name":"v","connector.class":"FileStreamSink"}"#);
    assert_eq!(code, 400, "a connector.class other than the path's");
    assert_eq!(get(port, "/connector-plugins/NoSuchConnector/config").0, 404);
    let (code, missing) = get(port, "/connectors/nope");
    assert_eq!(code, 404);
    assert_eq!(missing["error_code"], 404);
    // every error in Kafka's JSON shape, axum's own answers included
    for (method, path, body, want) in [
        ("POST", "/connectors".to_string(), "{}", 400),
        ("DELETE", format!("/connectors/{name}/config"), "", 405),
        ("GET", format!("/connectors/{name}/tasks/abc/status"), "", 400),
        ("PATCH", format!("/connectors/{name}/offsets"), "{not json", 400),
    ] {
        let (code, answer) = request_with(port, method, &path, body);
        assert_eq!(code, want, "{method} {path}: {answer}");
        let answer: serde_json::Value =
            serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {answer}"));
        assert_eq!(answer["error_code"], want, "{answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    let (code, answer) =
        request(port, "POST", &format!("/connectors/{name}/restart?includeTasks=False&onlyFailed=False"));
    assert_eq!(code, 204, "both flags false (Java's Boolean.parseBoolean): the connector alone restarts: {answer}");
    assert!(sigterm(&mut child).success());
    assert!(!log_text(&dir.path("log")).contains("hunter2"), "a secret reached the log");
}

#[test]
fn pause_resume_restart_and_stop() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "one\n");
    let port = free_port();
    let worker = dir.worker(port, "");
    let name = unique("ctl-src");
    let topic = unique("e2e-ctl");
    let source = dir.write("source.properties", &source_props(&name, &input, &topic, ""));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let state = |port| get(port, &format!("/connectors/{name}/status")).1;
    wait_until(Duration::from_secs(30), "the first line", || dir.file_position() == Some(4));

    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/pause")).0, 202);
    wait_until(Duration::from_secs(10), "PAUSED", || state(port)["connector"]["state"] == "PAUSED");
    assert_eq!(state(port)["tasks"][0]["state"], "PAUSED");
    std::fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"two\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dir.file_position(), Some(4), "a paused connector reads nothing");

    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/resume")).0, 202);
    wait_until(Duration::from_secs(10), "the line written while paused", || dir.file_position() == Some(8));
    assert_eq!(state(port)["tasks"][0]["state"], "RUNNING");

    // a plain restart restarts the connector instance alone; its task runs on
    let task_starts = || log_text(&dir.path("log")).matches("task started").count();
    let started_before = task_starts();
    assert_eq!(request(port, "POST", &format!("/connectors/{name}/restart")).0, 204);
    wait_until(Duration::from_secs(10), "the connector restarted", || {
        log_text(&dir.path("log")).contains("connector restarted; its tasks run on")
    });
    assert_eq!(task_starts(), started_before, "the task was restarted by a plain connector restart");
    std::fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"three\n").unwrap();
    wait_until(Duration::from_secs(10), "the line after the restart", || dir.file_position() == Some(14));
    let (code, body) = request(port, "POST", &format!("/connectors/{name}/restart?includeTasks=true"));
    assert_eq!(code, 202, "{body}");
    assert_eq!(request(port, "POST", &format!("/connectors/{name}/tasks/7/restart")).0, 404);

    let offsets_path = format!("/connectors/{name}/offsets");
    let rewind = format!(
        r#"{{"offsets":[{{"partition":{{"filename":"{}"}},"offset":{{"position":8,"position.unit":"bytes"}}}}]}}"#,
        input.display()
    );
    let (code, body) = request_with(port, "PATCH", &offsets_path, &rewind);
    assert_eq!(code, 400, "offsets change only when STOPPED: {body}");
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/stop")).0, 204);
    wait_until(Duration::from_secs(10), "STOPPED", || state(port)["connector"]["state"] == "STOPPED");

    // KIP-875: reset, then rewind to after "two"; resuming re-reads "three"
    let (code, body) = request(port, "DELETE", &offsets_path);
    assert_eq!(code, 200, "{body}");
    assert_eq!(get(port, &offsets_path).1["offsets"], serde_json::json!([]));
    // offsets the task could not resume from are refused, as Kafka's file connector does
    let file = input.display().to_string();
    for (partition, offset) in [
        (serde_json::json!({"filename": file}), serde_json::json!({"position": -5})),
        (serde_json::json!({"filename": file}), serde_json::json!({"position": "8"})),
        (serde_json::json!({"filename": file}), serde_json::json!({"pos": 8})),
        (serde_json::json!({"file": file}), serde_json::json!({"position": 8})),
    ] {
        let body = serde_json::json!({"offsets": [{"partition": partition, "offset": offset}]}).to_string();
        let (code, answer) = request_with(port, "PATCH", &offsets_path, &body);
        assert_eq!(code, 400, "{body}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["error_code"], 400);
        assert!(answer["message"].as_str().unwrap().contains("Failed to alter offsets"), "{answer}");
        assert_eq!(get(port, &offsets_path).1["offsets"], serde_json::json!([]), "nothing stored for {body}");
    }
    let (code, body) = request_with(port, "PATCH", &offsets_path, &rewind);
    assert_eq!(code, 200, "{body}");
    assert_eq!(get(port, &offsets_path).1["offsets"][0]["offset"]["position"], 8);
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/resume")).0, 202);
    wait_until(Duration::from_secs(10), "the rewound line", || dir.file_position() == Some(14));
    assert!(sigterm(&mut child).success());
    // every line once (pause, resume and restarts resume from committed offsets), then "three"
    // again after the rewind
    let payloads: Vec<Vec<u8>> = consume(&topic, 5, Duration::from_secs(10)).into_iter().filter_map(|r| r.1).collect();
    let text: Vec<String> = payloads.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    assert_eq!(text.len(), 4, "{text:?}");
    for (t, line) in text.iter().zip(["one", "two", "three", "three"]) {
        assert!(t.ends_with(&format!("\"payload\":\"{line}\"}}")), "{t}");
    }
}

#[test]
fn a_json_connector_file_can_start_paused() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "a\n");
    let port = free_port();
    let worker = dir.worker(port, "");
    let name = unique("paused-src");
    let source = dir.write(
        "source.json",
        &serde_json::json!({
            "name": name,
            "config": {
                "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": unique("e2e-paused"),
                "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1
            },
            "initial_state": "PAUSED"
        })
        .to_string(),
    );
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let status = |port| get(port, &format!("/connectors/{name}/status")).1;
    wait_until(Duration::from_secs(10), "the REST API", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert_eq!(status(port)["connector"]["state"], "PAUSED");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(dir.file_position(), None, "a paused connector runs no task");
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/resume")).0, 202);
    wait_until(Duration::from_secs(20), "the line", || dir.file_position() == Some(2));
    assert!(sigterm(&mut child).success());
}

#[test]
fn connectors_are_created_updated_and_deleted_over_rest() {
    require_kafka();
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "value.converter=org.apache.kafka.connect.storage.StringConverter\n");
    // a worker with no connector file stays up, waiting for REST
    let mut child = spawn(&[&worker], &dir.path("log"));
    wait_until(Duration::from_secs(30), "REST", || get(port, "/connectors").0 == 200);
    let input = dir.write("in.txt", "one\n");
    let (name, first, second) = (unique("crud"), unique("e2e-crud"), unique("e2e-crud"));
    let config = |topic: &str| {
        serde_json::json!({
            "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic,
            "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
            "connection.url": "jdbc:mysql://u:pw@h/db",
        })
    };
    let body = serde_json::json!({"name": name, "config": config(&first)}).to_string();
    let (code, created) = request_with(port, "POST", "/connectors", &body);
    assert_eq!(code, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["config"]["connection.url"], "jdbc:mysql://u:[hidden]@h/db");
    assert_eq!(created["type"], "source");
    assert_eq!(values(&first, 1, Duration::from_secs(30)), ["one"]);
    let (code, body409) = request_with(port, "POST", "/connectors", &body);
    assert_eq!(code, 409, "{body409}");
    let bad =
        serde_json::json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "tasks.max": "zero"}});
    let (code, answer) = request_with(port, "POST", "/connectors", &bad.to_string());
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("tasks.max") && answer.contains("topic"), "every problem named: {answer}");
    // update: the same connector (its offset kept) now writes to the second topic
    let (code, answer) = request_with(port, "PUT", &format!("/connectors/{name}/config"), &config(&second).to_string());
    assert_eq!(code, 200, "{answer}");
    std::fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"two\n").unwrap();
    assert_eq!(values(&second, 1, Duration::from_secs(30)), ["two"], "{}", log_text(&dir.path("log")));
    // PATCH (KIP-477): keys replaced, a null removes one, the rest kept; the tasks restart on it
    let patch = serde_json::json!({"topic": first, "connection.url": null, "batch.size": 100});
    let (code, answer) = request_with(port, "PATCH", &format!("/connectors/{name}/config"), &patch.to_string());
    assert_eq!(code, 200, "{answer}");
    let patched = get(port, &format!("/connectors/{name}/config")).1;
    assert_eq!(patched["topic"], first.as_str(), "{patched}");
    assert_eq!(patched["batch.size"], "100", "{patched}");
    assert_eq!(patched["file"], input.display().to_string(), "untouched keys kept: {patched}");
    assert!(patched.get("connection.url").is_none(), "a null removes the key: {patched}");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(
            b"three
",
        )
        .unwrap();
    assert_eq!(values(&first, 2, Duration::from_secs(30)), ["one", "three"], "{}", log_text(&dir.path("log")));
    let (code, answer) = request_with(port, "PATCH", "/connectors/nope/config", &patch.to_string());
    assert_eq!(code, 404, "{answer}");
    // PUT of a new name creates it
    let other = unique("crud-other");
    let (code, answer) =
        request_with(port, "PUT", &format!("/connectors/{other}/config"), &config(&unique("e2e-crud")).to_string());
    assert_eq!(code, 201, "{answer}");
    assert_eq!(request(port, "DELETE", &format!("/connectors/{name}")).0, 204);
    assert_eq!(get(port, "/connectors").1, serde_json::json!([other]));
    assert_eq!(request(port, "DELETE", &format!("/connectors/{name}")).0, 404);
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
}

#[test]
fn log_levels_are_read_and_changed_over_rest() {
    require_kafka();
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let log = dir.path("log");
    let mut child = sluice()
        .env("SLUICE_LOG", "info,connector_jdbc=warn")
        .arg("standalone")
        .arg(&worker)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), "REST", || get(port, "/connectors").0 == 200);
    let (code, all) = get(port, "/admin/loggers");
    assert_eq!(code, 200);
    assert_eq!(all["root"], serde_json::json!({"level": "INFO", "last_modified": null}));
    assert_eq!(all["connector_jdbc"]["level"], "WARN");
    let (code, changed) = request_with(port, "PUT", "/admin/loggers/runtime", r#"{"level":"debug"}"#);
    assert_eq!((code, changed.as_str()), (200, r#"["runtime"]"#));
    let (code, one) = get(port, "/admin/loggers/runtime");
    assert_eq!(code, 200);
    assert_eq!(one["level"], "DEBUG");
    assert!(one["last_modified"].as_i64().is_some_and(|t| t > 0), "{one}");
    // the new level is in force: a source's offset flushes are logged at debug
    let input = dir.write("in.txt", "one\n");
    let body = serde_json::json!({"name": unique("levels"), "config": {"connector.class": "FileStreamSource",
        "file": input.display().to_string(), "topic": unique("e2e-levels"),
        "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1}});
    assert_eq!(request_with(port, "POST", "/connectors", &body.to_string()).0, 201);
    wait_until(Duration::from_secs(20), "a debug line", || log_text(&log).contains("DEBUG"));
    let (code, body) = request_with(port, "PUT", "/admin/loggers/runtime", r#"{"level":"LOUD"}"#);
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("invalid log level 'LOUD'"), "{body}");
    assert_eq!(get(port, "/admin/loggers/nothing.here").0, 404);
    // KIP-976: a standalone worker is its whole cluster; an unknown scope is this worker's
    let (code, body) = request_with(port, "PUT", "/admin/loggers/connector_s3?scope=cluster", r#"{"level":"ERROR"}"#);
    assert_eq!((code, body.as_str()), (204, ""));
    assert_eq!(get(port, "/admin/loggers/connector_s3").1["level"], "ERROR");
    let (code, body) = request_with(port, "PUT", "/admin/loggers/connector_s3?scope=galaxy", r#"{"level":"WARN"}"#);
    assert_eq!((code, body.as_str()), (200, r#"["connector_s3"]"#));
    assert!(sigterm(&mut child).success());
}

/// KIP-875 on a sink: its offsets are its consumer group's commits, read while running and
/// while stopped, altered (a rewind, and a null offset that removes a partition's commit) and
/// reset (the group deleted); resuming reads from where they were set.
#[test]
fn a_stopped_sinks_offsets_are_altered_and_reset_in_its_consumer_group() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-sink-offsets");
    create_topic(&topic);
    let records: Vec<&[u8]> = vec![b"a", b"b", b"c", b"d", b"e", b"f"];
    produce(&topic, &records.iter().map(|r| (*r, &[][..])).collect::<Vec<_>>());
    let port = free_port();
    // dynamic members, which leave when the connector stops (Tansu never drops a static member)
    let worker = dir.worker(port, "consumer.group.instance.id=\n");
    let name = unique("sink-offsets");
    let output = dir.path("out.txt");
    let props =
        sink_props(&name, &output, &topic) + "value.converter=org.apache.kafka.connect.storage.StringConverter\n";
    let sink = dir.write("sink.properties", &props);
    let mut child = spawn(&[&worker, &sink], &dir.path("log"));
    let path = format!("/connectors/{name}/offsets");
    let committed = || get(port, &path).1["offsets"].clone();
    let partition = serde_json::json!({"kafka_topic": topic, "kafka_partition": 0});
    let at = |o: i64| serde_json::json!([{"partition": partition, "offset": {"kafka_offset": o}}]);
    wait_until(Duration::from_secs(60), "6 lines", || lines_of(&output) == 6);
    wait_until(Duration::from_secs(20), "offset 6 committed", || committed() == at(6));
    let state = || get(port, &format!("/connectors/{name}/status")).1["connector"]["state"].clone();
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/stop")).0, 204);
    wait_until(Duration::from_secs(10), "STOPPED", || state() == "STOPPED");
    assert_eq!(committed(), at(6), "read from the group while stopped");

    let patch = |offset: serde_json::Value| {
        let body = serde_json::json!({"offsets": [{"partition": partition, "offset": offset}]}).to_string();
        request_with(port, "PATCH", &path, &body)
    };
    let (code, body) = patch(serde_json::json!({"kafka_offset": -1}));
    assert_eq!(code, 400, "a negative offset: {body}");
    let (code, body) = patch(serde_json::json!({"kafka_offset": 4}));
    assert_eq!(code, 200, "{body}\n{}", log_text(&dir.path("log")));
    assert_eq!(committed(), at(4));
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/resume")).0, 202);
    wait_until(Duration::from_secs(60), "e and f again", || lines_of(&output) == 8);

    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/stop")).0, 204);
    wait_until(Duration::from_secs(10), "STOPPED", || state() == "STOPPED");
    let (code, body) = request(port, "DELETE", &path);
    assert_eq!(code, 200, "{body}");
    assert_eq!(committed(), serde_json::json!([]), "the group is gone");
    let (code, body) = patch(serde_json::json!({"kafka_offset": 3}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(committed(), at(3));
    let (code, body) = patch(serde_json::Value::Null);
    assert_eq!(code, 200, "{body}");
    assert_eq!(committed(), serde_json::json!([]), "a null offset removes the partition's commit");
    assert_eq!(request(port, "PUT", &format!("/connectors/{name}/resume")).0, 202);
    wait_until(Duration::from_secs(60), "the whole topic again", || lines_of(&output) == 14);
    assert!(sigterm(&mut child).success());
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(text, "a\nb\nc\nd\ne\nf\ne\nf\na\nb\nc\nd\ne\nf\n");
}
