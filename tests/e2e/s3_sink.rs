//! The S3 sink (`io.confluent.connect.s3.S3SinkConnector`) end to end: records produced to Tansu,
//! `sluice standalone` with Confluent connector files, objects read back from SeaweedFS.
//! Covers the exact keys of every partitioner, `flush.size` (10 records, size 3 → 3 objects and
//! 1 open record), JSON/gzip/Avro/Parquet/ByteArray contents, the committed group offsets,
//! `kill -9` mid-upload then restart (the same objects as an uninterrupted run), a 20 s S3
//! outage (nothing lost), the idle flush and a missing bucket.
//!
//! Run: `scripts/services up && cargo test --test e2e s3_sink`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::harness::*;
use crate::s3_store::{Bucket, Proxy};

/// 2023-11-14T22:13:20Z
pub(crate) const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

pub(crate) fn order_json(id: i64, country: &str, pad: &str) -> String {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","name":"shop.Order","optional":false,"fields":["#,
            r#"{{"field":"id","type":"int64","optional":false}},"#,
            r#"{{"field":"country","type":"string","optional":false}},"#,
            r#"{{"field":"amount","type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"2"}}}},"#,
            r#"{{"field":"at","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1}},"#,
            r#"{{"field":"note","type":"string","optional":true}}]}},"#,
            r#""payload":{{"id":{id},"country":"{country}","amount":"MDk=","at":{at},"note":{note}}}}}"#
        ),
        id = id,
        country = country,
        at = T0 + id * 20 * MINUTE,
        note = if pad.is_empty() { "null".to_owned() } else { format!("\"{pad}\"") },
    )
}

/// Produces `(value, timestamp)` pairs to partition 0 and waits for the acknowledgements.
fn produce_at(topic: &str, records: &[(String, i64)]) {
    produce_at_on(&bootstrap(), topic, records)
}

/// `produce_at` on the broker at `servers`.
pub(crate) fn produce_at_on(servers: &str, topic: &str, records: &[(String, i64)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    for (value, ts) in records {
        loop {
            match producer
                .send(BaseRecord::<[u8], [u8]>::to(topic).partition(0).payload(value.as_bytes()).timestamp(*ts))
            {
                Ok(()) => break,
                Err((e, _)) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) => {
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("produce: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

fn orders(topic: &str, n: i64) {
    let records: Vec<(String, i64)> =
        (0..n).map(|i| (order_json(i, if i % 2 == 0 { "DE" } else { "FR" }, ""), T0 + i * 20 * MINUTE)).collect();
    produce_at(topic, &records);
}

/// The offset committed by the sink's consumer group `connect-<name>` for partition 0.
fn committed(name: &str, topic: &str) -> Option<i64> {
    committed_on(&bootstrap(), name, topic)
}

/// `committed` on the broker at `servers`.
pub(crate) fn committed_on(servers: &str, name: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", format!("connect-{name}"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    match got.find_partition(topic, 0)?.offset() {
        Offset::Offset(n) => Some(n),
        _ => None,
    }
}

pub(crate) fn s3_connector(
    dir: &Dir,
    file: &str,
    name: &str,
    topic: &str,
    bucket: &Bucket,
    url: &str,
    extra: &str,
) -> PathBuf {
    dir.write(
        file,
        &format!(
            "name={name}\nconnector.class=io.confluent.connect.s3.S3SinkConnector\ntasks.max=1\ntopics={topic}\n{}\
             format.class=io.confluent.connect.s3.format.json.JsonFormat\n{extra}",
            bucket.props(url)
        ),
    )
}

fn names(keys: &[String]) -> Vec<&str> {
    keys.iter().map(String::as_str).collect()
}

#[test]
fn golden_keys_for_every_partitioner_with_flush_size_3() {
    require_kafka();
    let bucket = Bucket::create("s3keys");
    let topic = unique("orders");
    create_topic(&topic);
    orders(&topic, 10);
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let url = crate::s3_store::endpoint();
    let time = "partitioner.class=io.confluent.connect.storage.partitioner";
    let connectors = [
        ("default", "flush.size=3\ntopics.dir=default\n".to_string()),
        ("field", format!("flush.size=3\ntopics.dir=field\n{time}.FieldPartitioner\npartition.field.name=country\n")),
        (
            "daily",
            format!(
                "flush.size=3\ntopics.dir=daily\n{time}.TimeBasedPartitioner\npath.format='year'=YYYY/'month'=MM/'day'=dd\n\
                 partition.duration.ms=86400000\nlocale=en-US\ntimezone=UTC\ntimestamp.extractor=Record\n"
            ),
        ),
        (
            "hourly",
            format!(
                "flush.size=3\ntopics.dir=hourly\n{time}.HourlyPartitioner\nlocale=en-US\ntimezone=UTC\n\
                 timestamp.extractor=RecordField\ntimestamp.field=at\n"
            ),
        ),
        (
            "kolkata",
            format!(
                "flush.size=3\ntopics.dir=kolkata\n{time}.DailyPartitioner\nlocale=en-US\ntimezone=Asia/Kolkata\n\
                 timestamp.extractor=Record\n"
            ),
        ),
    ];
    let mut files = vec![worker.clone()];
    let names_of: Vec<String> = connectors.iter().map(|(n, _)| unique(&format!("s3-{n}"))).collect();
    for ((label, props), name) in connectors.iter().zip(&names_of) {
        files.push(s3_connector(&dir, &format!("{label}.properties"), name, &topic, &bucket, &url, props));
    }
    let args: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    let mut child = spawn(&args, &dir.path("sluice.log"));
    let expected_count = 3 + 6 + 3 + 3 + 3;
    wait_until(Duration::from_secs(60), "the objects", || bucket.keys("").len() >= expected_count);
    wait_until(Duration::from_secs(30), "the committed offsets", || {
        names_of.iter().all(|n| committed(n, &topic) == Some(9))
    });
    // nothing more arrives: the tenth record stays in the open files
    std::thread::sleep(Duration::from_secs(2));
    let status = sigterm(&mut child);
    assert!(status.success(), "{}", log_text(&dir.path("sluice.log")));
    let t = &topic;
    let key = |dir: &str, enc: &str, start: u32| format!("{dir}/{t}/{enc}/{t}+0+{start:010}.json");
    let expected: Vec<String> = vec![
        key("daily", "year=2023/month=11/day=14", 0),
        key("daily", "year=2023/month=11/day=14", 3),
        key("daily", "year=2023/month=11/day=15", 6),
        key("default", "partition=0", 0),
        key("default", "partition=0", 3),
        key("default", "partition=0", 6),
        // flush.size counts the records of every open file of the partition
        key("field", "country=DE", 0),
        key("field", "country=DE", 4),
        key("field", "country=DE", 6),
        key("field", "country=FR", 1),
        key("field", "country=FR", 3),
        key("field", "country=FR", 7),
        key("hourly", "year=2023/month=11/day=14/hour=22", 0),
        key("hourly", "year=2023/month=11/day=14/hour=23", 3),
        key("hourly", "year=2023/month=11/day=15/hour=00", 6),
        key("kolkata", "year=2023/month=11/day=15", 0),
        key("kolkata", "year=2023/month=11/day=15", 3),
        key("kolkata", "year=2023/month=11/day=15", 6),
    ];
    let mut expected = expected;
    expected.sort();
    let keys = bucket.keys("");
    assert_eq!(names(&keys), names(&expected));
    // JSON lines of the payloads, decimals as base64 (json.decimal.format=BASE64)
    let text = String::from_utf8(bucket.get(&key("default", "partition=0", 3))).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        (3..6)
            .map(|i| format!(
                r#"{{"id":{i},"country":"{}","amount":"MDk=","at":{},"note":null}}"#,
                if i % 2 == 0 { "DE" } else { "FR" },
                T0 + i * 20 * MINUTE
            ))
            .collect::<Vec<_>>()
    );
    let field = String::from_utf8(bucket.get(&key("field", "country=FR", 1))).unwrap();
    assert_eq!(field.lines().map(|l| l[..7].to_owned()).collect::<Vec<_>>(), vec![r#"{"id":1"#]);
    assert!(bucket.unfinished_uploads().is_empty());
}

#[test]
fn parquet_avro_gzip_json_and_bytearray_read_back() {
    require_kafka();
    let bucket = Bucket::create("s3formats");
    let topic = unique("orders");
    create_topic(&topic);
    orders(&topic, 10);
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let url = crate::s3_store::endpoint();
    let f = "format.class=io.confluent.connect.s3.format";
    let specs = [
        ("parquet", format!("flush.size=5\ntopics.dir=parquet\n{f}.parquet.ParquetFormat\n")),
        ("avro", format!("flush.size=5\ntopics.dir=avro\n{f}.avro.AvroFormat\navro.codec=deflate\n")),
        ("gzip", "flush.size=5\ntopics.dir=gzip\ns3.compression.type=gzip\njson.decimal.format=NUMERIC\n".to_string()),
        (
            "bytes",
            format!(
                "flush.size=5\ntopics.dir=bytes\n{f}.bytearray.ByteArrayFormat\n\
                 value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
            ),
        ),
    ];
    let mut files = vec![worker];
    for (label, props) in &specs {
        // the later format.class wins, as in a Java properties file
        files.push(s3_connector(&dir, &format!("{label}.properties"), &unique(label), &topic, &bucket, &url, props));
    }
    let args: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    let mut child = spawn(&args, &dir.path("sluice.log"));
    wait_until(Duration::from_secs(60), "8 objects", || bucket.keys("").len() >= 8);
    sigterm(&mut child);
    let t = &topic;
    assert_eq!(
        bucket.keys("parquet/"),
        vec![
            format!("parquet/{t}/partition=0/{t}+0+0000000000.snappy.parquet"),
            format!("parquet/{t}/partition=0/{t}+0+0000000005.snappy.parquet")
        ]
    );
    // Parquet: typed columns and the values
    {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let bytes = bucket.get(&format!("parquet/{t}/partition=0/{t}+0+0000000005.snappy.parquet"));
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let descr = reader.metadata().file_metadata().schema_descr_ptr();
        let columns: Vec<String> = (0..descr.num_columns())
            .map(|i| {
                let c = descr.column(i);
                format!("{} {:?} {:?}", c.name(), c.physical_type(), c.logical_type_ref())
            })
            .collect();
        assert_eq!(columns[0], "id INT64 None");
        assert_eq!(columns[1], "country BYTE_ARRAY Some(String)");
        assert!(columns[2].starts_with("amount BYTE_ARRAY Some(Decimal"), "{}", columns[2]);
        assert!(columns[3].starts_with("at INT64 Some(Timestamp"), "{}", columns[3]);
        let rows: Vec<String> = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(rows.len(), 5);
        assert!(rows[0].starts_with("{id: 5, country: \"FR\", amount: 123.45"), "{}", rows[0]);
        assert!(rows[0].ends_with("note: null}"), "{}", rows[0]);
    }
    // Avro: an object container file of records
    {
        let bytes = bucket.get(&format!("avro/{t}/partition=0/{t}+0+0000000000.avro"));
        let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
        let rows: Vec<apache_avro::types::Value> = reader.map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        let apache_avro::types::Value::Record(fields) = &rows[2] else { panic!("a record") };
        assert_eq!(fields[0], ("id".into(), apache_avro::types::Value::Long(2)));
        assert_eq!(fields[1], ("country".into(), apache_avro::types::Value::String("DE".into())));
        assert_eq!(fields[3], ("at".into(), apache_avro::types::Value::TimestampMillis(T0 + 40 * MINUTE)));
    }
    // gzip JSON with numeric decimals
    {
        let bytes = bucket.get(&format!("gzip/{t}/partition=0/{t}+0+0000000000.json.gz"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.starts_with(r#"{"id":0,"country":"DE","amount":123.45,"#), "{text}");
    }
    // ByteArray: the record bytes as produced, one per line
    {
        let bytes = bucket.get(&format!("bytes/{t}/partition=0/{t}+0+0000000005.bin"));
        let expected: String =
            (5..10).map(|i| format!("{}\n", order_json(i, if i % 2 == 0 { "DE" } else { "FR" }, ""))).collect();
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }
}

/// The objects of a run (name without the `topics.dir` prefix → content).
pub(crate) fn objects(bucket: &Bucket, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    bucket.keys(prefix).into_iter().map(|k| (k[prefix.len()..].to_owned(), bucket.get(&k))).collect()
}

/// Ids of JSON lines, to check that no record is in two objects.
pub(crate) fn ids(objects: &BTreeMap<String, Vec<u8>>) -> Vec<i64> {
    let mut ids: Vec<i64> = objects
        .values()
        .flat_map(|b| {
            String::from_utf8_lossy(b).lines().map(|l| l[6..l.find(',').unwrap()].parse().unwrap()).collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn kill_dash_9_mid_upload_then_restart_gives_the_uninterrupted_objects() {
    require_kafka();
    let bucket = Bucket::create("s3crash");
    let topic = unique("orders");
    create_topic(&topic);
    // ≈ 1 KB records; 10000 a file: ≈ 10 MB files, streamed as a 5 MiB part plus the rest, so a
    // multipart upload is open for about half of each file's writing
    let pad = "x".repeat(900);
    let n = 30_000;
    let records: Vec<(String, i64)> = (0..n).map(|i| (order_json(i, "DE", &pad), T0 + i)).collect();
    produce_at(&topic, &records);
    let url = crate::s3_store::endpoint();
    let props = "flush.size=10000\ns3.part.size=5242880\n";
    // the uninterrupted run
    let clean = Dir::new();
    let name = unique("s3-clean");
    let c = s3_connector(&clean, "s3.properties", &name, &topic, &bucket, &url, &format!("{props}topics.dir=clean\n"));
    let mut child = spawn(&[&clean.worker(free_port(), ""), &c], &clean.path("sluice.log"));
    wait_until(Duration::from_secs(120), "3 objects", || bucket.keys("clean/").len() >= 3);
    sigterm(&mut child);
    let expected = objects(&bucket, "clean/");
    assert_eq!(expected.len(), 3);
    assert_eq!(ids(&expected), (0..n).collect::<Vec<_>>());
    // the crashed run: killed while a multipart upload is unfinished, offsets rarely flushed
    let crashed = Dir::new();
    let name = unique("s3-crash");
    let worker = crashed.worker(free_port(), "offset.flush.interval.ms=60000\n");
    let c =
        s3_connector(&crashed, "s3.properties", &name, &topic, &bucket, &url, &format!("{props}topics.dir=crash\n"));
    // kill -9 as soon as an upload is seen unfinished; the upload may still complete in the
    // moment between, so try again (each restart replays from offset 0: nothing is committed)
    let mut left_unfinished = false;
    for attempt in 1..=5 {
        let mut child = spawn(&[&worker, &c], &crashed.path(&format!("sluice-{attempt}.log")));
        wait_until(Duration::from_secs(120), "an unfinished multipart upload", || {
            bucket.unfinished_uploads().iter().any(|k| k.starts_with("crash/"))
        });
        child.kill().unwrap();
        child.wait().unwrap();
        if bucket.unfinished_uploads().iter().any(|k| k.starts_with("crash/")) {
            left_unfinished = true;
            break;
        }
    }
    assert!(left_unfinished, "no kill left an upload unfinished in 5 attempts");
    let mut child = spawn(&[&worker, &c], &crashed.path("sluice-restart.log"));
    wait_until(Duration::from_secs(120), "3 objects after the restart", || bucket.keys("crash/").len() >= 3);
    wait_until(Duration::from_secs(30), "the stale upload aborted", || {
        !bucket.unfinished_uploads().iter().any(|k| k.starts_with("crash/"))
    });
    sigterm(&mut child);
    let got = objects(&bucket, "crash/");
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    assert!(got == expected, "the objects differ from the uninterrupted run's");
    assert_eq!(ids(&got), (0..n).collect::<Vec<_>>(), "a record is missing or in two objects");
}

#[test]
fn an_s3_outage_of_20_s_stalls_the_sink_and_loses_nothing() {
    require_kafka();
    let bucket = Bucket::create("s3outage");
    let proxy = Proxy::start();
    let topic = unique("orders");
    create_topic(&topic);
    let first: Vec<(String, i64)> = (0..1000).map(|i| (order_json(i, "DE", ""), T0 + i)).collect();
    produce_at(&topic, &first);
    let dir = Dir::new();
    let name = unique("s3-outage");
    let c = s3_connector(
        &dir,
        "s3.properties",
        &name,
        &topic,
        &bucket,
        &proxy.url(),
        "flush.size=100\nerrors.retry.delay.max.ms=2000\ns3.part.retries=1\ns3.retry.backoff.ms=100\n",
    );
    let mut child = spawn(&[&dir.worker(free_port(), ""), &c], &dir.path("sluice.log"));
    wait_until(Duration::from_secs(60), "the first 10 objects", || bucket.keys("").len() >= 10);
    proxy.cut();
    let second: Vec<(String, i64)> = (1000..2000).map(|i| (order_json(i, "DE", ""), T0 + i)).collect();
    produce_at(&topic, &second);
    std::thread::sleep(Duration::from_secs(20));
    let during = bucket.keys("").len();
    assert!(during == 10, "objects written while S3 was down: {during}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "sluice stopped during the outage:\n{}",
        log_text(&dir.path("sluice.log"))
    );
    proxy.restore();
    wait_until(Duration::from_secs(90), "20 objects after the outage", || bucket.keys("").len() >= 20);
    wait_until(Duration::from_secs(30), "the committed offset", || committed(&name, &topic) == Some(2000));
    sigterm(&mut child);
    let got = objects(&bucket, "topics/");
    assert_eq!(ids(&got), (0..2000).collect::<Vec<_>>());
    assert!(log_text(&dir.path("sluice.log")).contains("retriable"), "the outage was not seen");
}

#[test]
fn the_idle_flush_writes_a_quiet_partition_and_commits_its_offset() {
    require_kafka();
    let bucket = Bucket::create("s3idle");
    let topic = unique("orders");
    create_topic(&topic);
    orders(&topic, 4);
    let dir = Dir::new();
    let name = unique("s3-idle");
    let url = crate::s3_store::endpoint();
    let c = s3_connector(&dir, "s3.properties", &name, &topic, &bucket, &url, "flush.size=1000\nrotate.idle.ms=1000\n");
    let mut child =
        spawn(&[&dir.worker(free_port(), "offset.flush.interval.ms=600000\n"), &c], &dir.path("sluice.log"));
    wait_until(Duration::from_secs(60), "the idle flush", || bucket.keys("").len() == 1);
    // committed right away (not at the 10-minute flush interval): a replay cuts the same file
    wait_until(Duration::from_secs(20), "the offset after the idle file", || committed(&name, &topic) == Some(4));
    sigterm(&mut child);
    let t = &topic;
    assert_eq!(bucket.keys(""), vec![format!("topics/{t}/partition=0/{t}+0+0000000000.json")]);
}

#[test]
fn a_missing_bucket_fails_with_a_hint() {
    require_kafka();
    let bucket = Bucket::create("s3missing");
    let topic = unique("orders");
    create_topic(&topic);
    let dir = Dir::new();
    let url = crate::s3_store::endpoint();
    let props = bucket.props(&url).replace(&bucket.name, "no-such-bucket-here");
    let c = dir.write(
        "s3.properties",
        &format!(
            "name=s3-missing\nconnector.class=s3-sink\ntopics={topic}\nflush.size=3\n{props}\
             format.class=io.confluent.connect.s3.format.json.JsonFormat\n"
        ),
    );
    let out = run(&[&dir.worker(free_port(), ""), &c]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("no-such-bucket-here") && text.contains("NoSuchBucket"), "{text}");
    assert!(!text.contains("testsecret"), "the secret was printed: {text}");
}

#[test]
fn s3_errors_and_dropped_connections_are_retried_and_nothing_is_written_twice() {
    require_kafka();
    let bucket = Bucket::create("s3faults");
    let proxy = Proxy::start();
    // of every 4 connections: one 503 SlowDown, one 500 InternalError, one cut mid-request
    proxy.inject_faults(4);
    let topic = unique("orders");
    create_topic(&topic);
    let records: Vec<(String, i64)> = (0..2000).map(|i| (order_json(i, "DE", ""), T0 + i)).collect();
    produce_at(&topic, &records);
    let dir = Dir::new();
    let name = unique("s3-faults");
    let c = s3_connector(
        &dir,
        "s3.properties",
        &name,
        &topic,
        &bucket,
        &proxy.url(),
        "flush.size=100\nerrors.retry.delay.max.ms=1000\ns3.part.retries=2\ns3.retry.backoff.ms=50\n",
    );
    let mut child = spawn(&[&dir.worker(free_port(), ""), &c], &dir.path("sluice.log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while bucket.keys("").len() < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} objects after 120 s of faults:\n{}",
            bucket.keys("").len(),
            log_text(&dir.path("sluice.log"))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until(Duration::from_secs(30), "the committed offset", || committed(&name, &topic) == Some(2000));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("sluice.log")));
    let got = objects(&bucket, "topics/");
    assert_eq!(got.len(), 20, "{:?}", got.keys().collect::<Vec<_>>());
    assert_eq!(ids(&got), (0..2000).collect::<Vec<_>>(), "every record once");
    assert!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst) >= 3, "faults were injected");
    assert!(bucket.unfinished_uploads().is_empty(), "no multipart upload left behind");
}

/// An HTTPS endpoint signed by a private CA, trusted as Confluent's connector is made to trust
/// it: the JVM trust store in `KAFKA_OPTS` (`-Djavax.net.ssl.trustStore=…`). The same files run,
/// and the objects are the plain endpoint's.
#[test]
fn an_https_endpoint_with_a_private_ca_from_the_jvm_trust_store() {
    require_kafka();
    let bucket = Bucket::create("s3tls");
    let topic = unique("orders");
    create_topic(&topic);
    orders(&topic, 3);
    let dir = Dir::new();
    let name = unique("s3-tls");
    let tls_dir = std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into());
    let c = s3_connector(&dir, "s3.properties", &name, &topic, &bucket, "https://127.0.0.1:8334", "flush.size=3\n");
    let worker = dir.worker(free_port(), "");
    let mut child = sluice()
        .arg("standalone")
        .arg(&worker)
        .arg(&c)
        .env(
            "KAFKA_OPTS",
            format!("-Djavax.net.ssl.trustStore={tls_dir}/truststore.jks -Djavax.net.ssl.trustStorePassword=trustpass"),
        )
        .stderr(std::fs::File::create(dir.path("log")).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), "the object over HTTPS", || {
        bucket.keys("").len() == 1 || child.try_wait().unwrap().is_some()
    });
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let t = &topic;
    assert_eq!(
        bucket.keys(""),
        vec![format!("topics/{t}/partition=0/{t}+0+0000000000.json")],
        "{}",
        log_text(&dir.path("log"))
    );
    assert!(!log_text(&dir.path("log")).contains("trustpass"));

    // a wrong trust store password stops the start, naming where it came from
    let out = sluice()
        .arg("standalone")
        .arg(&worker)
        .arg(&c)
        .env(
            "KAFKA_OPTS",
            format!("-Djavax.net.ssl.trustStore={tls_dir}/truststore.jks -Djavax.net.ssl.trustStorePassword=wrongpass"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("javax.net.ssl.trustStore in KAFKA_OPTS") && stderr.contains("password is wrong"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrongpass"), "{stderr}");
}

/// `store.kafka.keys=true`: beside each file, `<name>.keys<ext>` with the records' keys in the
/// same order (JsonFormat and the default AvroFormat for keys), committed in the same rotation;
/// a record with a null key fails the task before anything of it is written.
#[test]
fn store_kafka_keys_writes_a_keys_file_beside_each_file() {
    require_kafka();
    let bucket = Bucket::create("s3keys");
    let topic = unique("keyed");
    create_topic(&topic);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    for i in 0..4i64 {
        let value = order_json(i, "DE", "");
        let key = if i == 3 { None } else { Some(format!("k{i}")) };
        let mut record = BaseRecord::<[u8], [u8]>::to(&topic).partition(0).payload(value.as_bytes()).timestamp(T0);
        if let Some(k) = &key {
            record = record.key(k.as_bytes());
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let url = crate::s3_store::endpoint();
    let keys = "key.converter=org.apache.kafka.connect.storage.StringConverter\nstore.kafka.keys=true\nflush.size=3\n";
    let json = s3_connector(
        &dir,
        "json.properties",
        &unique("keys-json"),
        &topic,
        &bucket,
        &url,
        &format!("{keys}topics.dir=json\nkeys.format.class=io.confluent.connect.s3.format.json.JsonFormat\n"),
    );
    let avro = s3_connector(
        &dir,
        "avro.properties",
        &unique("keys-avro"),
        &topic,
        &bucket,
        &url,
        &format!("{keys}topics.dir=avro\n"),
    );
    let mut child = spawn(&[&worker, &json, &avro], &dir.path("sluice.log"));
    wait_until(Duration::from_secs(60), "4 objects", || bucket.keys("").len() >= 4);
    wait_until(Duration::from_secs(30), "the null key refused", || {
        log_text(&dir.path("sluice.log")).contains("key cannot be null with store.kafka.keys=true")
    });
    sigterm(&mut child);
    let t = &topic;
    assert_eq!(
        bucket.keys("json/"),
        vec![
            format!("json/{t}/partition=0/{t}+0+0000000000.json"),
            format!("json/{t}/partition=0/{t}+0+0000000000.keys.json")
        ]
    );
    let keys_json = String::from_utf8(bucket.get(&format!("json/{t}/partition=0/{t}+0+0000000000.keys.json"))).unwrap();
    assert_eq!(keys_json, "\"k0\"\n\"k1\"\n\"k2\"\n");
    let values = String::from_utf8(bucket.get(&format!("json/{t}/partition=0/{t}+0+0000000000.json"))).unwrap();
    assert_eq!(values.lines().count(), 3);
    let avro_keys = bucket.get(&format!("avro/{t}/partition=0/{t}+0+0000000000.keys.avro"));
    let rows: Vec<apache_avro::types::Value> =
        apache_avro::Reader::new(&avro_keys[..]).unwrap().map(Result::unwrap).collect();
    let as_text: Vec<String> = rows
        .iter()
        .map(|v| match v {
            apache_avro::types::Value::String(s) => s.clone(),
            apache_avro::types::Value::Union(_, inner) => match &**inner {
                apache_avro::types::Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            },
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(as_text, ["k0", "k1", "k2"]);
    assert!(bucket.keys("").iter().all(|k| !k.contains("+0000000003")), "nothing of the null-keyed record");
}
