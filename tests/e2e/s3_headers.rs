//! `store.kafka.headers=true`: beside each file, `<name>.headers<ext>` with each record's headers
//! as `{key, value}` records of strings (Confluent's `HeaderRecordView`), in JSON, Avro (the
//! default) and Parquet (wrapped in `RecordHeaders`); a record without headers fails the task
//! before anything of it is written.

use std::time::Duration;

use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

use crate::harness::*;
use crate::s3_sink::{order_json, s3_connector, T0};
use crate::s3_store::Bucket;

#[test]
fn store_kafka_headers_writes_a_headers_file_beside_each_file() {
    require_kafka();
    let bucket = Bucket::create("s3headers");
    let topic = unique("headed");
    create_topic(&topic);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    for i in 0..4i64 {
        let value = order_json(i, "DE", "");
        let mut record = BaseRecord::<[u8], [u8]>::to(&topic).partition(0).payload(value.as_bytes()).timestamp(T0);
        if i < 3 {
            let trace = format!("t{i}");
            let headers = OwnedHeaders::new()
                .insert(KafkaHeader { key: "trace", value: Some(trace.as_bytes()) })
                .insert(KafkaHeader { key: "n", value: Some(&b"007"[..]) });
            record = record.headers(headers);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let url = crate::s3_store::endpoint();
    let common = "store.kafka.headers=true\nflush.size=3\n";
    let files: Vec<_> = [
        ("json", "headers.format.class=io.confluent.connect.s3.format.json.JsonFormat\n"),
        ("avro", ""),
        ("parquet", "headers.format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\n"),
    ]
    .iter()
    .map(|(dir_name, extra)| {
        s3_connector(
            &dir,
            &format!("{dir_name}.properties"),
            &unique(&format!("headers-{dir_name}")),
            &topic,
            &bucket,
            &url,
            &format!("{common}topics.dir={dir_name}\n{extra}"),
        )
    })
    .collect();
    let log = dir.path("sluice.log");
    let mut child = sluice()
        .args(["standalone", "--on-task-failure", "continue"])
        .arg(&worker)
        .args(&files)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), "6 objects", || bucket.keys("").len() >= 6);
    wait_until(Duration::from_secs(30), "the headerless record refused", || {
        log_text(&log).matches("headers cannot be null or empty with store.kafka.headers=true").count() >= 3
    });
    sigterm(&mut child);
    let t = &topic;
    let base = |d: &str| format!("{d}/{t}/partition=0/{t}+0+0000000000");
    assert_eq!(bucket.keys("json/"), [format!("{}.headers.json", base("json")), format!("{}.json", base("json"))]);
    let json = String::from_utf8(bucket.get(&format!("{}.headers.json", base("json")))).unwrap();
    let want: String = (0..3)
        .map(|i| format!("[{{\"key\":\"trace\",\"value\":\"t{i}\"}},{{\"key\":\"n\",\"value\":\"7\"}}]\n"))
        .collect();
    assert_eq!(json, want, "SimpleHeaderConverter's reading of 007 is the integer 7");

    let avro = bucket.get(&format!("{}.headers.avro", base("avro")));
    let reader = apache_avro::Reader::new(&avro[..]).unwrap();
    let schema = reader.writer_schema().canonical_form();
    assert!(schema.contains(r#""type":"array""#) && schema.contains(r#""name":"key""#), "{schema}");
    let rows: Vec<apache_avro::types::Value> = reader.map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let apache_avro::types::Value::Array(items) = &rows[1] else { panic!("an array: {:?}", rows[1]) };
    let apache_avro::types::Value::Record(fields) = &items[0] else { panic!("a record: {:?}", items[0]) };
    assert_eq!(fields[0], ("key".to_owned(), apache_avro::types::Value::String("trace".into())));
    assert_eq!(fields[1], ("value".to_owned(), apache_avro::types::Value::String("t1".into())));

    {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let bytes = bucket.get(&format!("{}.headers.snappy.parquet", base("parquet")));
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let root = reader.metadata().file_metadata().schema_descr_ptr().root_schema().name().to_owned();
        assert_eq!(root, "RecordHeaders");
        let rows: Vec<String> = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(rows.len(), 3);
        assert!(
            rows[2].contains(r#"key: "trace", value: "t2""#) && rows[2].contains(r#"key: "n", value: "7""#),
            "{}",
            rows[2]
        );
    }
    assert!(bucket.keys("").iter().all(|k| !k.contains("+0000000003")), "nothing of the headerless record");
}

/// `behavior.on.null.values=write` with `store.kafka.keys=true`: tombstones are stored by their
/// keys in the `tombstone` folder (no value file there), committed with the other files.
#[test]
fn tombstones_are_written_as_keys_under_the_tombstone_partition() {
    require_kafka();
    let bucket = Bucket::create("s3tomb");
    let topic = unique("tombs");
    create_topic(&topic);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    for i in 0..4i64 {
        let key = format!("k{i}");
        let value = order_json(i, "DE", "");
        let mut record = BaseRecord::<[u8], [u8]>::to(&topic).partition(0).key(key.as_bytes()).timestamp(T0);
        if i % 2 == 0 {
            record = record.payload(value.as_bytes());
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let url = crate::s3_store::endpoint();
    let file = s3_connector(
        &dir,
        "tomb.properties",
        &unique("tomb"),
        &topic,
        &bucket,
        &url,
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nstore.kafka.keys=true\n\
         keys.format.class=io.confluent.connect.s3.format.json.JsonFormat\nbehavior.on.null.values=write\nflush.size=4\n",
    );
    let mut child = spawn(&[&worker, &file], &dir.path("sluice.log"));
    wait_until(Duration::from_secs(60), "3 objects", || bucket.keys("").len() >= 3);
    sigterm(&mut child);
    let t = &topic;
    assert_eq!(
        bucket.keys(""),
        [
            format!("topics/{t}/partition=0/{t}+0+0000000000.json"),
            format!("topics/{t}/partition=0/{t}+0+0000000000.keys.json"),
            format!("topics/{t}/tombstone/{t}+0+0000000001.keys.json"),
        ]
    );
    let text = |k: &str| String::from_utf8(bucket.get(k)).unwrap();
    assert_eq!(text(&format!("topics/{t}/tombstone/{t}+0+0000000001.keys.json")), "\"k1\"\n\"k3\"\n");
    assert_eq!(text(&format!("topics/{t}/partition=0/{t}+0+0000000000.keys.json")), "\"k0\"\n\"k2\"\n");
    assert_eq!(text(&format!("topics/{t}/partition=0/{t}+0+0000000000.json")).lines().count(), 2);
}

#[test]
fn tombstone_writing_without_a_keys_file_is_refused_at_start() {
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let bucket_props = "s3.bucket.name=b\nstore.url=http://127.0.0.1:8333\n";
    let file = dir.write(
        "c.properties",
        &format!(
            "name=c\nconnector.class=io.confluent.connect.s3.S3SinkConnector\ntopics=t\n{bucket_props}\
             format.class=io.confluent.connect.s3.format.json.JsonFormat\nflush.size=1\n\
             storage.class=io.confluent.connect.s3.storage.S3Storage\nbehavior.on.null.values=write\n"
        ),
    );
    let out = sluice().args(["validate", "--worker"]).arg(&worker).arg(&file).output().unwrap();
    let stderr = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success());
    assert!(
        stderr
            .contains("behavior.on.null.values: expected fail or ignore, or write together with store.kafka.keys=true"),
        "{stderr}"
    );
}
