//! FileStreamSource → Kafka → FileStreamSink through the real broker: exact topic bytes, the
//! sink file equal to the source file, kill -9 and restart without loss, Kafka offset migration.

use std::io::Write;
use std::time::Duration;

use crate::harness::*;

fn envelope(line: &str) -> Vec<u8> {
    let mut escaped = serde_json::to_string(line).unwrap();
    if line.is_ascii() {
        escaped = escaped.replace("\\u001f", "\\u001F");
    }
    format!("{{\"schema\":{{\"type\":\"string\",\"optional\":false}},\"payload\":{escaped}}}").into_bytes()
}

#[test]
fn source_to_kafka_to_sink_same_file_and_kafka_bytes() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-roundtrip");
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("line {i} with \"quotes\" and \\ backslash\n"));
    }
    text.push_str("héllo wörld\n🚀 rocket\n\n");
    let input = dir.write("in.txt", &text);
    let output = dir.path("out.txt");
    let port = free_port();
    let worker = dir.worker(port, "");
    let source = dir.write("source.properties", &source_props(&unique("src"), &input, &topic, ""));
    let sink = dir.write("sink.properties", &sink_props(&unique("sink"), &output, &topic));
    let mut child = spawn(&[&worker, &source, &sink], &dir.path("log"));
    let lines = text.lines().count();
    wait_until(Duration::from_secs(60), "the sink file to hold every line", || lines_of(&output) >= lines);
    let status = sigterm(&mut child);
    assert!(status.success(), "exit {status:?}\n{}", log_text(&dir.path("log")));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), text, "sink file differs from source file");
    let records = consume(&topic, lines, Duration::from_secs(30));
    assert_eq!(records.len(), lines);
    for (record, line) in records.iter().zip(text.lines()) {
        assert_eq!(record.0, None, "FileStreamSource records have null keys");
        assert_eq!(record.1.as_deref(), Some(&envelope(line)[..]), "bytes of {line:?}");
    }
    // a graceful stop commits the final position, in bytes
    assert_eq!(dir.file_position(), Some(text.len() as u64));
}

#[test]
fn kill_dash_9_then_restart_loses_nothing() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-kill");
    let total = 100_000;
    let line = |i: usize| format!("record-{i:09}\n");
    let input = dir.write("in.txt", "");
    let port = free_port();
    let worker = dir.worker(port, "");
    let source = dir.write("source.properties", &source_props(&unique("src"), &input, &topic, "batch.size=100\n"));
    // an application keeps appending while the worker is killed and restarted
    let writer = {
        let input = input.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
            for chunk in 0..100 {
                let text: String = (chunk * 1000..(chunk + 1) * 1000).map(line).collect();
                f.write_all(text.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
        })
    };
    let mut child = spawn(&[&worker, &source], &dir.path("log1"));
    wait_until(Duration::from_secs(60), "a first offset flush", || dir.file_position().is_some_and(|p| p > 0));
    child.kill().unwrap();
    child.wait().unwrap();
    let flushed_at_kill = dir.file_position().unwrap();
    let mut child = spawn(&[&worker, &source], &dir.path("log2"));
    writer.join().unwrap();
    let size = std::fs::metadata(&input).unwrap().len();
    assert!(flushed_at_kill < size, "killed too late to test anything");
    wait_until(Duration::from_secs(120), "the restarted worker to reach the end", || dir.file_position() == Some(size));
    assert!(sigterm(&mut child).success());
    let records = consume(&topic, total * 2, Duration::from_secs(20));
    let seen: Vec<String> = records
        .iter()
        .map(|(_, v)| {
            let v: serde_json::Value = serde_json::from_slice(v.as_ref().unwrap()).unwrap();
            v["payload"].as_str().unwrap().to_owned()
        })
        .collect();
    // every line is there, in order once the replay is removed; a replayed line comes from
    // after the last offset flush before the kill
    let mut next = 0usize;
    let mut duplicates = 0;
    for payload in &seen {
        let i: usize = payload["record-".len()..].parse().unwrap();
        if i == next {
            next += 1;
        } else {
            assert!(i < next, "{payload} arrived before record {next}: a line was lost");
            duplicates += 1;
            let byte_pos = (i * line(0).len()) as u64;
            assert!(byte_pos >= flushed_at_kill, "{payload} was re-sent although its offset was flushed");
        }
    }
    assert_eq!(next, total, "lines missing after restart; first missing: record-{next:09}");
    eprintln!("replayed after kill -9: {duplicates} records");
}

#[test]
fn resumes_from_a_kafka_connect_offset_file_counted_in_chars() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-migrate");
    let input = dir.write("in.txt", "héllo\n🚀\nnext\nlast\n");
    let name = unique("src");
    // Kafka Connect counts UTF-16 chars: "héllo\n" = 6, "🚀\n" = 3, so it stored 9 after the
    // rocket line, which is byte 12; the file is 22 bytes
    let key = format!(r#"["{name}",{{"filename":"{}"}}]"#, input.display());
    let sidecar = serde_json::json!({"format":"sluice-offsets/1","entries":[
        {"connector": name, "partition": {"filename": input.display().to_string()}, "offset": {"position": 9}}]});
    let sidecar_path = dir.write("java.json", &sidecar.to_string());
    let offsets = dir.path("connect.offsets");
    let out = sluice().args(["offsets", "import"]).arg(&offsets).arg(&sidecar_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let raw = std::fs::read(&offsets).unwrap();
    assert!(raw.windows(key.len()).any(|w| w == key.as_bytes()), "the offset file holds Kafka's key bytes");
    let port = free_port();
    let worker = dir.worker(port, "");
    let source = dir.write("source.properties", &source_props(&name, &input, &topic, ""));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    wait_until(Duration::from_secs(30), "the end of the file", || dir.file_position() == Some(22));
    assert!(sigterm(&mut child).success());
    let records = consume(&topic, 10, Duration::from_secs(5));
    let payloads: Vec<Vec<u8>> = records.into_iter().filter_map(|r| r.1).collect();
    assert_eq!(payloads, vec![envelope("next"), envelope("last")]);
    assert!(log_text(&dir.path("log")).contains("converted a Kafka Connect offset (chars) to bytes"));
    let entry = &dir.offsets()[0];
    assert_eq!(entry["offset"]["position.unit"], "bytes");
}

#[test]
fn an_unreadable_source_file_fails_the_task_and_the_process() {
    require_kafka();
    let dir = Dir::new();
    let unreadable = dir.path("a-directory");
    std::fs::create_dir(&unreadable).unwrap();
    let worker = dir.worker(free_port(), "");
    let source = dir.write("source.properties", &source_props(&unique("src"), &unreadable, &unique("t"), ""));
    let out = run(&[&worker, &source]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot read {}", unreadable.display())), "{stderr}");
    assert!(stderr.contains("task failed"), "{stderr}");
}

#[test]
fn appended_lines_are_tailed_truncation_and_rotation_restart_from_zero() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-tail");
    let input = dir.write("in.txt", "one\n");
    let worker = dir.worker(free_port(), "");
    let source = dir.write("source.properties", &source_props(&unique("src"), &input, &topic, ""));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    wait_until(Duration::from_secs(30), "the first line", || dir.file_position() == Some(4));
    let mut f = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    f.write_all(b"two\nthr").unwrap();
    wait_until(Duration::from_secs(30), "the appended line", || dir.file_position() == Some(8));
    f.write_all(b"ee\n").unwrap();
    wait_until(Duration::from_secs(30), "the completed line", || dir.file_position() == Some(14));
    std::fs::write(&input, "new\n").unwrap(); // copytruncate: shorter than the position
    wait_until(Duration::from_secs(30), "the truncated file's line", || dir.file_position() == Some(4));
    // rename + create (logrotate): the old file's last lines, then the new file from 0
    let inode = |e: &serde_json::Value| e["offset"]["file.inode"].as_str().unwrap_or_default().to_owned();
    let before = inode(&dir.offsets()[0]);
    std::fs::rename(&input, dir.path("in.txt.1")).unwrap();
    f = std::fs::OpenOptions::new().append(true).open(dir.path("in.txt.1")).unwrap();
    f.write_all(b"old-last\n").unwrap();
    std::fs::write(&input, "rotated\n").unwrap();
    wait_until(Duration::from_secs(30), "the rotated file's line", || {
        dir.offsets().first().is_some_and(|e| inode(e) != before && e["offset"]["position"] == 8)
    });
    assert!(sigterm(&mut child).success());
    let payloads: Vec<Vec<u8>> = consume(&topic, 6, Duration::from_secs(10)).into_iter().filter_map(|r| r.1).collect();
    let expected = ["one", "two", "three", "new", "old-last", "rotated"];
    assert_eq!(payloads, expected.iter().map(|l| envelope(l)).collect::<Vec<_>>());
}

#[test]
fn with_on_task_failure_continue_the_worker_stays_up_and_reports_the_failure() {
    require_kafka();
    let dir = Dir::new();
    let unreadable = dir.path("a-directory");
    std::fs::create_dir(&unreadable).unwrap();
    let port = free_port();
    let worker = dir.worker(port, "");
    let name = unique("src");
    let source = dir.write("source.properties", &source_props(&name, &unreadable, &unique("t"), ""));
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let mut child = sluice()
        .args(["standalone", "--on-task-failure", "continue"])
        .arg(&worker)
        .arg(&source)
        .stderr(log)
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), "the task failure in the log", || {
        log_text(&dir.path("log")).contains("task failed")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the worker must stay up");
    let status = sigterm(&mut child);
    assert_eq!(status.code(), Some(1), "a failed task still makes the exit status non-zero");
}

#[test]
fn topics_regex_matches_whole_names_and_picks_up_new_topics() {
    require_kafka();
    let dir = Dir::new();
    let prefix = unique("e2e-rx");
    let value = |s: &str| format!(r#"{{"schema":{{"type":"string","optional":false}},"payload":"{s}"}}"#).into_bytes();
    for t in ["a", "c"] {
        create_topic(&format!("{prefix}-{t}"));
    }
    produce(&format!("{prefix}-a"), &[(&value("from-a"), &[])]);
    produce(&format!("{prefix}-c"), &[(&value("from-c"), &[])]);
    let output = dir.path("out.txt");
    let worker = dir.worker(free_port(), "");
    let sink = dir.write(
        "sink.properties",
        &format!(
            "name={}\nconnector.class=FileStreamSink\nfile={}\ntopics.regex={prefix}-(a|b)\n",
            unique("sink"),
            output.display()
        ),
    );
    let mut child = spawn(&[&worker, &sink], &dir.path("log"));
    wait_until(Duration::from_secs(60), "the record of topic a", || lines_of(&output) >= 1);
    // a matching topic created while running is picked up
    create_topic(&format!("{prefix}-b"));
    produce(&format!("{prefix}-b"), &[(&value("from-b"), &[])]);
    wait_until(Duration::from_secs(60), "the record of the new topic b", || lines_of(&output) >= 2);
    std::thread::sleep(Duration::from_millis(500));
    assert!(sigterm(&mut child).success());
    let mut lines: Vec<String> = std::fs::read_to_string(&output).unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, vec!["from-a", "from-b"], "{}", log_text(&dir.path("log")));
}
