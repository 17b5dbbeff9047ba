//! The file connectors pass the runtime's conformance checks (no services needed; the pipelines
//! against the real broker are in the workspace's `tests/e2e`).
//!
//! Run: `cargo test -p sluice-connector-file --test conformance`.

use connector_file::{FileStreamSinkConnector, FileStreamSourceConnector};
use runtime::data::{Schema, Value};
use runtime::testkit::{assert_sink_conformance, assert_source_conformance, sink_record};

#[tokio::test]
async fn file_source_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "a\nb\n").unwrap();
    let file = file.display().to_string();
    assert_source_conformance::<FileStreamSourceConnector>(
        &[("name", "f"), ("connector.class", "FileStreamSource"), ("file", &file), ("topic", "t")],
        3,
    )
    .await;
}

#[tokio::test]
async fn file_sink_conforms_and_writes_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let path = file.display().to_string();
    let records: Vec<_> =
        (0..3).map(|i| sink_record("t", 0, i, Some(Schema::string()), Value::String(format!("line {i}")))).collect();
    assert_sink_conformance::<FileStreamSinkConnector>(
        &[("name", "s"), ("connector.class", "FileStreamSink"), ("file", &path), ("topics", "t")],
        2,
        &records,
    )
    .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "line 0\nline 1\nline 2\n");
}

/// The runtime hands each emptied batch back (`SourceTask::recycle`); the next `poll` fills the
/// same buffer rather than allocating one, and the records are still every line in order.
#[tokio::test]
async fn file_source_fills_the_recycled_batch_again() {
    use connector_file::config::SourceConfig;
    use connector_file::task::FileSourceTask;
    use runtime::testkit::MemoryOffsets;
    use runtime::SourceTask;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "a\nb\nc\nd\ne\n").unwrap();
    let config = SourceConfig { file: Some(file.display().to_string().into()), topic: "t".into(), batch_size: 2 };
    let mut task = FileSourceTask::new(config);
    task.start(&MemoryOffsets::default()).await.unwrap();
    let mut lines = Vec::new();
    let mut buffer: Option<*const u8> = None;
    for _ in 0..3 {
        let mut batch = task.poll().await.unwrap();
        if let Some(previous) = buffer {
            assert_eq!(batch.as_ptr() as *const u8, previous, "the recycled buffer is filled again");
        }
        buffer = Some(batch.as_ptr() as *const u8);
        lines.extend(batch.drain(..).map(|r| match r.value {
            Value::String(s) => s,
            other => panic!("a line is a string, got {other:?}"),
        }));
        task.recycle(batch);
    }
    assert_eq!(lines, ["a", "b", "c", "d", "e"]);
    task.stop().await;
}
