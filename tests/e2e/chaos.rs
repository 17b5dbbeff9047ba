//! The chaos run in short (`bench/run chaos` does 20 kills for every pipeline): the file source
//! under a steady writer, its worker `kill -9`ed three times at random moments, then caught up:
//! every line reaches the topic.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;

#[test]
fn the_file_source_loses_nothing_through_three_kills_under_a_writer() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "");
    let topic = unique("e2e-chaos");
    create_topic(&topic);
    let worker = dir.worker(free_port(), "value.converter=org.apache.kafka.connect.storage.StringConverter\n");
    let source = dir.write("source.properties", &source_props(&unique("chaos"), &input, &topic, ""));
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written, input) = (stop.clone(), written.clone(), input.clone());
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().append(true).open(input).unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                writeln!(out, "line {i}").unwrap();
                i += 1;
                written.store(i, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    for k in 0..3u64 {
        let mut child = spawn(&[&worker, &source], &dir.path(&format!("log{k}")));
        std::thread::sleep(Duration::from_millis(700 + (nanos >> (k * 8)) % 1500));
        assert!(child.try_wait().unwrap().is_none(), "{}", log_text(&dir.path(&format!("log{k}"))));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let n = written.load(Ordering::Relaxed);
    let mut child = spawn(&[&worker, &source], &dir.path("log-final"));
    let want: HashSet<String> = (0..n).map(|i| format!("line {i}")).collect();
    let mut got = HashSet::new();
    wait_until(Duration::from_secs(60), "every line on the topic", || {
        got = values(&topic, usize::MAX, Duration::from_secs(2)).into_iter().collect();
        want.is_subset(&got)
    });
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log-final")));
    assert_eq!(got.len() as u64, n, "only the written lines (seed {nanos})");
}
