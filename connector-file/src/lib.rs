//! `org.apache.kafka.connect.file.FileStreamSourceConnector` and `FileStreamSinkConnector`
//! (file-connectors.md), the template every sluice connector follows.
//!
//! **Delivery guarantee**: at-least-once. The source re-emits the lines after the last flushed
//! offset after a crash (bounded by `offset.flush.interval.ms`); the sink fsyncs before its
//! offsets are committed, and may append records again after a crash.
//!
//! **Offset format**: partition `{"filename":"<file as configured>"}`, offset
//! `{"position":N,"position.unit":"bytes","file.inode":"<dev>:<ino>"}`. `position` is the byte
//! offset just after the last line's terminator; Kafka reads only `position`, so it resumes
//! correctly from a sluice offset. A Kafka offset (no `position.unit`) counts UTF-16 chars and
//! is converted to bytes once, at start. stdin: `{"filename":null}` → `{"position":null}`.
//!
//! **Needs**: read access to the source file (it may appear later: the task waits for it), write
//! access to the sink file's folder.
//!
//! Documented differences from Kafka: byte positions (Kafka's char count resumes at the wrong
//! place after non-ASCII lines), truncation and rotation noticed, 100 ms idle latency instead of
//! 1 s, the sink fsyncs before commit, writes bytes raw and logical values as ISO-8601 UTC.

pub mod config;
pub mod connector;
pub mod lines;
pub mod position;
pub mod task;

pub use connector::{FileStreamSinkConnector, FileStreamSourceConnector};
