//! The S3 sink task against the SeaweedFS of `scripts/services` (`S3_ENDPOINT`), at the connector
//! API: the runtime's sink conformance checks, `pre_commit` after uploads only, a retried `put`
//! writing nothing twice, many partitions' files uploaded beside `put`, and the memory budget cutting the largest files early with a
//! synchronous commit. (The pipelines through the `sluice` binary are in `tests/e2e/s3_sink.rs`.)
//!
//! Run: `scripts/services up && cargo test -p sluice-connector-s3 --test conformance`.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;
use connector_s3::S3SinkConnector;
use runtime::config::ConfigReader;
use runtime::data::Value;
use runtime::testkit::{assert_sink_conformance, raw_config, sink_record};
use runtime::{OffsetMap, SinkConnector, SinkRecord, SinkTask, TopicPartition};

fn endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".into())
}

fn client() -> Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testkey", "testsecret", None, None, "static"))
        .endpoint_url(endpoint())
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

async fn bucket() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("conf-{}-{}", std::process::id(), nanos % 1_000_000_000);
    client().create_bucket().bucket(&name).send().await.unwrap_or_else(|e| {
        panic!("S3 (SeaweedFS) not usable at {}: {e:?}; run scripts/services up or set S3_ENDPOINT", endpoint())
    });
    name
}

/// Deletes the bucket and what it holds (SeaweedFS frees its volumes).
async fn remove(bucket: &str) {
    let c = client();
    for key in keys(bucket).await {
        let _ = c.delete_object().bucket(bucket).key(key).send().await;
    }
    if let Ok(out) = c.list_multipart_uploads().bucket(bucket).send().await {
        for u in out.uploads() {
            let (k, id) = (u.key().unwrap_or_default(), u.upload_id().unwrap_or_default());
            let _ = c.abort_multipart_upload().bucket(bucket).key(k).upload_id(id).send().await;
        }
    }
    let _ = c.delete_bucket().bucket(bucket).send().await;
}

async fn keys(bucket: &str) -> Vec<String> {
    let out = client().list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    keys.sort();
    keys
}

fn settings(bucket: &str, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut pairs: Vec<(&'static str, String)> = vec![
        ("s3.bucket.name", bucket.to_owned()),
        ("s3.region", "us-east-1".into()),
        ("store.url", endpoint()),
        ("aws.access.key.id", "testkey".into()),
        ("aws.secret.access.key", "testsecret".into()),
        ("format.class", "io.confluent.connect.s3.format.json.JsonFormat".into()),
        ("flush.size", "3".into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    pairs
}

fn records(topic: &str, partition: i32, offsets: std::ops::Range<i64>, pad: usize) -> Vec<SinkRecord> {
    offsets.map(|o| sink_record(topic, partition, o, None, Value::String(format!("{o}{}", "x".repeat(pad))))).collect()
}

async fn task(pairs: &[(&'static str, String)]) -> connector_s3::task::S3SinkTask {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let raw = raw_config(&borrowed);
    let mut reader = ConfigReader::new(&raw);
    let connector = S3SinkConnector::from_config(&mut reader).expect("the config parses");
    let config = connector.task_configs(1).remove(0);
    let mut task = connector.create_task(&config).expect("a task");
    task.start().await.expect("the task starts");
    task
}

#[tokio::test]
async fn s3_sink_conforms() {
    let b = bucket().await;
    let pairs = settings(&b, &[]);
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_sink_conformance::<S3SinkConnector>(&borrowed, 2, &records("t", 0, 0..10, 0)).await;
    assert_eq!(keys(&b).await.len(), 3);
    remove(&b).await;
}

#[tokio::test]
async fn pre_commit_reports_only_uploaded_files_and_a_retried_put_writes_nothing_twice() {
    let b = bucket().await;
    let mut task = task(&settings(&b, &[])).await;
    let tp = TopicPartition { topic: "orders".into(), partition: 2 };
    task.open(std::slice::from_ref(&tp)).await.unwrap();
    let batch = records("orders", 2, 100..110, 0);
    task.put(&batch).await.unwrap();
    // the runtime hands the same records again after a retriable error
    task.put(&batch).await.unwrap();
    let given: OffsetMap = [(tp.clone(), 110)].into_iter().collect();
    let durable = task.pre_commit(&given).await.unwrap();
    assert_eq!(durable.get(&tp), Some(&109), "after the third file, not the open record");
    assert_eq!(
        keys(&b).await,
        vec![
            "topics/orders/partition=2/orders+2+0000000100.json",
            "topics/orders/partition=2/orders+2+0000000103.json",
            "topics/orders/partition=2/orders+2+0000000106.json",
        ]
    );
    let text = client()
        .get_object()
        .bucket(&b)
        .key("topics/orders/partition=2/orders+2+0000000103.json")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&text[..], b"\"103\"\n\"104\"\n\"105\"\n");
    task.close(&[tp]).await.unwrap();
    task.stop().await;
    remove(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_many_partitions_upload_beside_put_and_pre_commit_waits_for_them() {
    let b = bucket().await;
    let mut task = task(&settings(&b, &[])).await;
    let tps: Vec<TopicPartition> = (0..40).map(|p| TopicPartition { topic: "many".into(), partition: p }).collect();
    task.open(&tps).await.unwrap();
    // three files per partition in one put (flush.size=3), and an open record left in each
    let mut batch = Vec::new();
    for p in 0..40 {
        batch.extend(records("many", p, 0..10, 0));
    }
    task.put(&batch).await.unwrap();
    let durable = task.pre_commit(&OffsetMap::new()).await.unwrap();
    assert_eq!(durable.len(), 40);
    assert!(durable.values().all(|o| *o == 9), "every partition after its third file: {durable:?}");
    let written = keys(&b).await;
    assert_eq!(written.len(), 120);
    for p in 0..40 {
        for start in [0, 3, 6] {
            let key = format!("topics/many/partition={p}/many+{p}+{start:010}.json");
            assert!(written.contains(&key), "{key} missing");
        }
    }
    task.close(&tps).await.unwrap();
    task.stop().await;
    remove(&b).await;
}

#[tokio::test]
async fn the_memory_budget_cuts_the_largest_files_early_and_asks_for_a_commit() {
    let b = bucket().await;
    // 16 MiB budget, files never full by count: 20 partitions × 1 MiB of 10 KB records
    let mut task = task(&settings(&b, &[("flush.size", "1000000"), ("s3.memory.budget.bytes", "16777216")])).await;
    let tps: Vec<TopicPartition> = (0..20).map(|p| TopicPartition { topic: "big".into(), partition: p }).collect();
    task.open(&tps).await.unwrap();
    for round in 0..10 {
        let mut batch = Vec::new();
        for p in 0..20 {
            batch.extend(records("big", p, round * 10..round * 10 + 10, 10_000));
        }
        task.put(&batch).await.unwrap();
    }
    let written = keys(&b).await;
    assert!(!written.is_empty(), "nothing was cut while the open files held 20 MiB");
    assert!(task.commit_requested(), "an early cut asks for an immediate commit");
    let durable = task.pre_commit(&OffsetMap::new()).await.unwrap();
    assert!(!durable.is_empty());
    task.committed(&durable);
    assert!(!task.commit_requested(), "the commit releases the partitions");
    task.close(&tps).await.unwrap();
    task.stop().await;
    remove(&b).await;
}
