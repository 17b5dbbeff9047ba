//! Confluent's S3 sink connector (`io.confluent.connect.s3.S3SinkConnector`) for sluice: Kafka
//! topics archived to S3 (or an S3-compatible server) under the reference's object keys
//! (s3-sink.md): `[topics.dir/]<topic>/<encodedPartition>/<topic>+<partition>+<startOffset>.<ext>`,
//! with the Default, Field, TimeBased, Daily and Hourly partitioners, rotation by `flush.size`,
//! `rotate.interval.ms` (record time), `rotate.schedule.interval.ms` (wall clock), partition
//! and schema changes and `partitioner.max.open.files`, in JSON lines, Avro, Parquet or raw
//! bytes; with `store.kafka.keys` / `store.kafka.headers` a keys and a headers file beside each
//! file ([`view`]), and with `behavior.on.null.values=write` tombstones stored by their keys in
//! the tombstone partition.
//!
//! **Delivery guarantee**: offsets are committed only after the objects holding those records
//! are complete in S3 (`pre_commit` reports the offset after the last completed file). With a
//! deterministic partitioner (Default, Field, or time-based with the Record/RecordField
//! extractor) and rotation by the record-driven rules, a replay from the committed offset cuts
//! the same files under the same keys: **exactly-once objects**. The Wallclock extractor and
//! `rotate.schedule.interval.ms` make it at-least-once (logged at start). The idle flush
//! (`rotate.idle.ms`) and memory-pressure cuts keep exactly-once by committing the offset after
//! such a file before that partition uploads another.
//!
//! **Offset format**: the Kafka consumer group `connect-<name>`; no source offsets.
//!
//! **Needs from the server**: HeadBucket, PutObject, CreateMultipartUpload, UploadPart,
//! CompleteMultipartUpload, AbortMultipartUpload and ListMultipartUploads on the bucket (stale
//! uploads of this connector's partitions are aborted when partitions are assigned).
//!
//! **Uploads** ([`upload`]) run beside the task: `put` starts them and goes on; `pre_commit`
//! waits for those under way, so it reports only complete files.
//!
//! **Memory**: all open files together stay under `s3.memory.budget.bytes` (128 MiB by default):
//! large files upload parts while they are written, and when the budget is still exceeded the
//! largest open files are cut early.

pub mod compatibility;
pub mod config;
pub mod connector;
pub mod format;
pub mod object_key;
pub mod partitioner;
pub mod path_format;
pub mod rotation;
pub mod storage;
pub mod task;
pub mod upload;
pub mod view;
pub mod writer;

pub use connector::S3SinkConnector;
