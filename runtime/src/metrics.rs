//! Per-task metrics in the Prometheus text format, served at REST `GET /metrics`. The counters
//! live in each task's status; this module only names and renders them.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::worker::{State, WorkerState};

pub const RECORDS: &str = "sluice_task_records_total";
pub const BYTES: &str = "sluice_task_bytes_total";
pub const SKIPPED: &str = "sluice_task_skipped_records_total";
pub const COMMITS: &str = "sluice_task_offset_commits_total";
pub const COMMIT_FAILURES: &str = "sluice_task_offset_commit_failures_total";
pub const COMMIT_SECONDS: &str = "sluice_task_last_offset_commit_seconds";
pub const RUNNING: &str = "sluice_task_running";
pub const SINK_OFFSET: &str = "sluice_sink_committed_offset";
pub const SINK_END: &str = "sluice_sink_end_offset";

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Every task's counters, one family after the other.
pub fn render(state: &WorkerState) -> String {
    let connectors: Vec<_> = state.connectors.read().unwrap().values().cloned().collect();
    let mut out = String::new();
    let families: [(&str, &str, &str); 7] = [
        (RECORDS, "counter", "Records polled (sources) or put (sinks)."),
        (BYTES, "counter", "Bytes produced (sources) or consumed (sinks)."),
        (SKIPPED, "counter", "Records dropped by errors.tolerance=all."),
        (COMMITS, "counter", "Offset commits that succeeded."),
        (COMMIT_FAILURES, "counter", "Offset commits that failed (retried at the next interval)."),
        (COMMIT_SECONDS, "gauge", "Duration of the last successful offset commit."),
        (RUNNING, "gauge", "1 while the task runs, 0 once it stopped or failed."),
    ];
    for (name, kind, help) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for c in &connectors {
            for t in &c.tasks() {
                let value = match name {
                    RECORDS => t.records.load(Ordering::Relaxed).to_string(),
                    BYTES => t.bytes.load(Ordering::Relaxed).to_string(),
                    SKIPPED => t.skipped.load(Ordering::Relaxed).to_string(),
                    COMMITS => t.commits.load(Ordering::Relaxed).to_string(),
                    COMMIT_FAILURES => t.commit_failures.load(Ordering::Relaxed).to_string(),
                    COMMIT_SECONDS => format!("{}", t.last_commit_us.load(Ordering::Relaxed) as f64 / 1e6),
                    _ => u8::from(t.state().0 == State::Running).to_string(),
                };
                let _ = writeln!(
                    out,
                    "{name}{{connector=\"{}\",task=\"{}\",type=\"{}\"}} {value}",
                    escape(&c.name),
                    t.id,
                    c.kind.as_str()
                );
            }
        }
    }
    let sink_families: [(&str, &str); 2] = [
        (SINK_OFFSET, "The next offset committed for the sink's group."),
        (
            SINK_END,
            "The partition's end offset (high watermark) as the broker last reported it to the sink's consumer.",
        ),
    ];
    for (name, help) in sink_families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for c in &connectors {
            for t in &c.tasks() {
                let offsets = if name == SINK_OFFSET { &t.committed } else { &t.end_offsets };
                for (tp, offset) in offsets.lock().unwrap().iter() {
                    let _ = writeln!(
                        out,
                        "{name}{{connector=\"{}\",task=\"{}\",topic=\"{}\",partition=\"{}\"}} {offset}",
                        escape(&c.name),
                        t.id,
                        escape(&tp.topic),
                        tp.partition
                    );
                }
            }
        }
    }
    out
}
