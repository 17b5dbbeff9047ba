//! A sink resumes quickly after `kill -9` of its standalone worker: the restarted consumer must
//! not wait for the killed one's group session to expire (82 s measured with librdkafka's
//! defaults). The worker file here sets no consumer timeouts, as a user's would not.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::*;

fn lines(prefix: &str, from: usize, n: usize) -> Vec<Vec<u8>> {
    (from..from + n).map(|i| format!("{prefix}-{i:05}").into_bytes()).collect()
}

#[test]
fn a_sink_resumes_within_15_s_of_a_restart_after_kill_dash_9() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-resume");
    create_topic(&topic);
    let first = lines("a", 0, 100);
    produce(&topic, &first.iter().map(|l| (&l[..], &[][..])).collect::<Vec<_>>());
    let worker = dir.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=500\nlisteners=\n",
            bootstrap(),
            dir.path("connect.offsets").display()
        ),
    );
    let output = dir.path("out.txt");
    let sink = dir.write("sink.properties", &sink_props(&unique("resume"), &output, &topic));
    let mut child = spawn(&[&worker, &sink], &dir.path("log1"));
    wait_until(Duration::from_secs(60), "the first 100 lines", || lines_of(&output) >= 100);
    // let a commit of the group offsets happen, then kill
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill").arg("-9").arg(child.id().to_string()).status().unwrap();
    child.wait().unwrap();
    let second = lines("b", 0, 100);
    produce(&topic, &second.iter().map(|l| (&l[..], &[][..])).collect::<Vec<_>>());
    let restarted = Instant::now();
    let mut child = spawn(&[&worker, &sink], &dir.path("log2"));
    wait_until(Duration::from_secs(120), "the lines after the restart", || {
        std::fs::read_to_string(&output).unwrap_or_default().contains("b-00099")
    });
    let took = restarted.elapsed();
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log2")));
    assert!(
        took < Duration::from_secs(15),
        "the sink resumed {} s after the restart:\n{}",
        took.as_secs(),
        log_text(&dir.path("log2"))
    );
    let text = std::fs::read_to_string(&output).unwrap();
    for l in first.iter().chain(&second) {
        assert!(text.contains(std::str::from_utf8(l).unwrap()), "lost {}", String::from_utf8_lossy(l));
    }
}
