//! The worker under its own faults: an offset file that cannot be saved (retried while the
//! source is idle, and a non-zero exit when the last save fails), a REST port already taken (no
//! task starts), a connector failing at start beside a healthy one (`--on-task-failure
//! continue` keeps the healthy one), two SIGTERMs at once, logs without colour codes and in
//! Kafka Connect's line shape on request.

use std::io::Write;
use std::time::Duration;

use crate::harness::*;

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_failed_offset_save_is_retried_while_idle_and_a_failed_last_save_exits_non_zero() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "a\nb\n");
    let worker = dir.worker(free_port(), "");
    let source = dir.write("source.properties", &source_props(&unique("save"), &input, &unique("e2e-save"), ""));
    let log = dir.path("log");
    let mut child = spawn(&[&worker, &source], &log);
    wait_until(Duration::from_secs(30), "the first save", || dir.file_position() == Some(4));
    // a directory where the temporary file goes makes every save fail (root ignores modes)
    let blocker = dir.path("connect.offsets.tmp");
    std::fs::create_dir(&blocker).unwrap();
    append(&input, "c\n");
    wait_until(Duration::from_secs(20), "the failed save logged", || {
        log_text(&log).contains("cannot save the offsets")
    });
    assert_eq!(dir.file_position(), Some(4));
    // the source is idle now; the save must still go through once it can
    std::fs::remove_dir(&blocker).unwrap();
    wait_until(Duration::from_secs(10), "the retried save while idle", || dir.file_position() == Some(6));
    // the sidecar is written before the recovery is logged: wait for the line, not just the file
    wait_until(Duration::from_secs(5), "the recovery logged", || log_text(&log).contains("offsets saved again"));
    // and when the last save at shutdown fails, the exit status says so
    std::fs::create_dir(&blocker).unwrap();
    append(&input, "d\n");
    std::thread::sleep(Duration::from_millis(300));
    let status = sigterm(&mut child);
    assert!(!status.success(), "exit 0 with offsets unsaved:\n{}", log_text(&log));
    assert!(log_text(&log).contains("the last offset save failed"), "{}", log_text(&log));
    assert!(!log_text(&log).contains('\u{1b}'), "colour codes in a log file");
}

#[test]
fn a_taken_rest_port_fails_before_any_task_runs() {
    require_kafka();
    let dir = Dir::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let input = dir.write("in.txt", "a\n");
    let worker = dir.worker(port, "");
    let source = dir.write("source.properties", &source_props(&unique("port"), &input, &unique("e2e-port"), ""));
    let out = run(&[&worker, &source]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REST API cannot listen"), "{stderr}");
    assert!(!stderr.contains("task started"), "a task ran before the port was checked:\n{stderr}");
    assert!(!dir.path("connect.offsets.json").exists());
}

#[test]
fn a_connector_failing_at_start_stays_failed_while_the_others_run() {
    require_kafka();
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let input = dir.write("in.txt", "a\n");
    let good = unique("good");
    let source = dir.write("source.properties", &source_props(&good, &input, &unique("e2e-good"), ""));
    // a JDBC source whose database does not answer: its start (table discovery) fails
    let bad = unique("bad");
    let jdbc = dir.write(
        "jdbc.properties",
        &format!(
            "name={bad}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
             connection.url=jdbc:mysql://127.0.0.1:{}/db?user=root\nconnection.attempts=1\nmode=bulk\ntopic.prefix=x-\n",
            free_port()
        ),
    );
    let log = dir.path("log");
    let mut child = sluice()
        .args(["standalone", "--on-task-failure", "continue"])
        .args([&worker, &jdbc, &source])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), "the healthy connector's offsets", || dir.file_position() == Some(2));
    let (_, status) = get(port, &format!("/connectors/{bad}/status"));
    assert_eq!(status["connector"]["state"], "FAILED", "{status}");
    assert!(status["connector"]["trace"].as_str().is_some_and(|t| t.contains("connect")), "{status}");
    assert_eq!(get(port, &format!("/connectors/{good}/status")).1["connector"]["state"], "RUNNING");
    // two SIGTERMs at once are one request: the shutdown is graceful, the offsets saved
    append(&input, "b\n");
    wait_until(Duration::from_secs(10), "b read", || dir.file_position() == Some(4));
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {0}; sleep 0.02; kill -TERM {0}", child.id()))
        .status()
        .unwrap();
    let status = sigterm_wait(&mut child);
    assert_ne!(status.code(), Some(130), "a doubled SIGTERM cut the shutdown short:\n{}", log_text(&log));
    assert!(log_text(&log).contains("already stopping"), "{}", log_text(&log));
    assert!(log_text(&log).contains("worker stopped"), "{}", log_text(&log));
}

/// Waits for a child already sent SIGTERM.
fn sigterm_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(std::time::Instant::now() < deadline, "sluice did not stop within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn logs_in_kafka_connects_line_shape_on_request() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "a\n");
    let worker = dir.worker(free_port(), "");
    let name = unique("log4j");
    let source = dir.write("source.properties", &source_props(&name, &input, &unique("e2e-log4j"), ""));
    let log = dir.path("log");
    let mut child = sluice()
        .args(["--log-format", "connect", "standalone"])
        .args([&worker, &source])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), "the offset", || dir.file_position() == Some(2));
    assert!(sigterm(&mut child).success());
    let text = log_text(&log);
    let line = text.lines().find(|l| l.contains("task started")).unwrap_or_else(|| panic!("{text}"));
    // [2026-12-04 17:39:34,123] INFO [name|task-0] task started (module:line)
    let (time, rest) = line.split_once("] ").unwrap();
    assert!(time.starts_with('[') && time.len() == 24 && &time[11..12] == " " && &time[20..21] == ",", "{line}");
    assert!(rest.starts_with(&format!("INFO [{name}|task-0] task started (")), "{line}");
    assert!(rest.ends_with(')') && rest.contains("::"), "{line}");
}
