//! Confluent's AvroConverter against the schema registry of `scripts/services` (rivven-schema on
//! 127.0.0.1:8081, `SCHEMA_REGISTRY_URL`): MariaDB binlog → ExtractNewRecordState → Avro → Kafka
//! → S3 Parquet by hour, the JDBC source with keys, and a record whose schema id the registry
//! does not know.

use std::time::Duration;

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value as Json;

use crate::binlog_cdc::{database, props};
use crate::harness::*;
use crate::s3_sink::s3_connector;
use crate::s3_store::Bucket;

const AVRO: &str = "io.confluent.connect.avro.AvroConverter";

pub(crate) fn registry() -> String {
    let url = std::env::var("SCHEMA_REGISTRY_URL").unwrap_or_else(|_| "http://127.0.0.1:8081".into());
    let port: u16 = url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).unwrap_or(8081);
    let up = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok();
    assert!(up, "schema registry not reachable at {url}; run scripts/services up or set SCHEMA_REGISTRY_URL");
    url
}

/// `GET` on the registry, parsed.
fn registry_get(path: &str) -> (u16, Json) {
    let port: u16 = registry().rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap();
    get(port, path)
}

/// [`wait_until`], showing the workers' logs when it times out.
fn wait_or_show(timeout: Duration, what: &str, logs: &[&std::path::Path], mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !cond() {
        if std::time::Instant::now() > deadline {
            let text: Vec<String> = logs.iter().map(|l| log_text(l)).collect();
            panic!("timed out after {timeout:?} waiting for {what}:\n{}", text.join("\n----\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Key and value converter lines for a connector file.
fn avro_converters(url: &str) -> String {
    format!(
        "key.converter={AVRO}\nkey.converter.schema.registry.url={url}\n\
         value.converter={AVRO}\nvalue.converter.schema.registry.url={url}\n"
    )
}

fn parquet_rows(bytes: Vec<u8>) -> (Vec<String>, Vec<String>) {
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    let descr = reader.metadata().file_metadata().schema_descr_ptr();
    let columns = (0..descr.num_columns())
        .map(|i| {
            let c = descr.column(i);
            format!("{} {:?} {:?}", c.name(), c.physical_type(), c.logical_type_ref())
        })
        .collect();
    let rows = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
    (columns, rows)
}

/// The issue's pipeline: Debezium unwrap with `rewrite` and `add.fields`, Avro through the
/// registry, then Parquet files in hourly folders. Each change is one Parquet row with `__op`
/// and `__deleted`, decimals as decimals and timestamps as timestamps; the Kafka bytes are
/// Confluent's wire format with the id the registry gave the subject's schema.
#[test]
fn binlog_unwrap_avro_to_s3_parquet_by_hour() {
    require_kafka();
    let url = registry();
    let db = database("cdc_avro");
    mariadb(&format!(
        "CREATE TABLE {db}.orders (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, placed DATETIME(3) NOT NULL, \
         note VARCHAR(20))"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    // Avro names allow no '-': the prefix becomes the schemas' namespace
    let prefix = unique("cdcavro").replace('-', "_");
    let topic = format!("{prefix}.{db}.orders");
    let unwrap = "transforms=unwrap\ntransforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
                  transforms.unwrap.delete.tombstone.handling.mode=rewrite\n\
                  transforms.unwrap.add.fields=op,table,source.ts_ms\ntime.precision.mode=connect\n";
    let source = dir
        .write("cdc.properties", &props(&unique("cdc"), &db, &prefix, &format!("{unwrap}{}", avro_converters(&url))));
    let bucket = Bucket::create("cdcavro");
    let s3_url = crate::s3_store::endpoint();
    let sink = s3_connector(
        &dir,
        "s3.properties",
        &unique("s3avro"),
        &topic,
        &bucket,
        &s3_url,
        &format!(
            "{}format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\nflush.size=4\ntopics.dir=cdc\n\
             partitioner.class=io.confluent.connect.storage.partitioner.TimeBasedPartitioner\n\
             path.format='year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\npartition.duration.ms=3600000\n\
             locale=en-US\ntimezone=UTC\ntimestamp.extractor=RecordField\ntimestamp.field=__source_ts_ms\n",
            avro_converters(&url)
        ),
    );
    let log = dir.path("log");
    let mut child = spawn(&[&worker, &source, &sink], &log);
    wait_until(Duration::from_secs(30), "streaming", || log_text(&log).contains("streaming the binlog"));
    mariadb(&format!(
        "INSERT INTO {db}.orders VALUES (1, 12.50, '2026-12-07 10:11:12.345', 'first'); \
         INSERT INTO {db}.orders VALUES (2, -0.05, '2026-12-07 10:11:13.000', NULL); \
         UPDATE {db}.orders SET amount = 99.99 WHERE id = 1; DELETE FROM {db}.orders WHERE id = 2;"
    ));
    wait_or_show(Duration::from_secs(90), "a Parquet file of 4 rows", &[&log], || !bucket.keys("cdc/").is_empty());
    let raw = read_partition(&topic, 4, Duration::from_secs(20));
    assert!(sigterm(&mut child).success(), "{}", log_text(&log));

    // the registry holds the value schema; the Kafka bytes carry its id
    let (status, latest) = registry_get(&format!("/subjects/{topic}-value/versions/latest"));
    assert_eq!(status, 200, "{latest}");
    let id = latest["id"].as_i64().unwrap() as i32;
    let schema: Json = serde_json::from_str(latest["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["connect.name"], format!("{topic}.Value"));
    let fields: Vec<&str> = schema["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["id", "amount", "placed", "note", "__deleted", "__op", "__table", "__source_ts_ms"]);
    let amount = &schema["fields"][1]["type"];
    assert_eq!(
        (amount["logicalType"].as_str(), amount["precision"].as_i64(), amount["scale"].as_i64()),
        (Some("decimal"), Some(10), Some(2))
    );
    assert_eq!(raw.len(), 4);
    for r in &raw {
        let v = r.value.as_deref().expect("no tombstone in rewrite mode");
        assert_eq!(v[0], 0, "magic byte");
        assert_eq!(i32::from_be_bytes([v[1], v[2], v[3], v[4]]), id);
        let k = r.key.as_deref().unwrap();
        assert_eq!(k[0], 0);
    }
    let (status, key_subject) = registry_get(&format!("/subjects/{topic}-key/versions/latest"));
    assert_eq!(status, 200, "{key_subject}");

    // one Parquet file in the hour of the changes, read back
    let keys = bucket.keys("cdc/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let hour = regex_free_hour_path(&keys[0], &topic);
    assert!(hour, "{}", keys[0]);
    let (columns, rows) = parquet_rows(bucket.get(&keys[0]));
    assert_eq!(columns[0], "id INT32 None");
    assert!(
        columns[1].starts_with("amount BYTE_ARRAY Some(Decimal(DecimalType { scale: 2, precision: 10 }))"),
        "{}",
        columns[1]
    );
    assert!(columns[2].starts_with("placed INT64 Some(Timestamp"), "{}", columns[2]);
    assert_eq!(columns[4], "__deleted BYTE_ARRAY Some(String)");
    assert_eq!(columns[5], "__op BYTE_ARRAY Some(String)");
    assert_eq!(rows.len(), 4, "{rows:?}");
    let cut = |r: &String| r[..r.find(", __source_ts_ms").unwrap()].to_owned();
    let rows: Vec<String> = rows.iter().map(cut).collect();
    assert_eq!(
        rows,
        [
            r#"{id: 1, amount: 12.50, placed: 2026-12-07 10:11:12.345 +00:00, note: "first", __deleted: "false", __op: "c", __table: "orders""#,
            r#"{id: 2, amount: -0.05, placed: 2026-12-07 10:11:13.000 +00:00, note: null, __deleted: "false", __op: "c", __table: "orders""#,
            r#"{id: 1, amount: 99.99, placed: 2026-12-07 10:11:12.345 +00:00, note: "first", __deleted: "false", __op: "u", __table: "orders""#,
            r#"{id: 2, amount: -0.05, placed: 2026-12-07 10:11:13.000 +00:00, note: null, __deleted: "true", __op: "d", __table: "orders""#,
        ]
    );
}

/// `cdc/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+0+0000000000.snappy.parquet`.
fn regex_free_hour_path(key: &str, topic: &str) -> bool {
    let Some(rest) = key.strip_prefix(&format!("cdc/{topic}/")) else { return false };
    let parts: Vec<&str> = rest.split('/').collect();
    let digits = |s: &str, prefix: &str, n: usize| {
        s.strip_prefix(prefix).is_some_and(|d| d.len() == n && d.bytes().all(|b| b.is_ascii_digit()))
    };
    parts.len() == 5
        && digits(parts[0], "year=", 4)
        && digits(parts[1], "month=", 2)
        && digits(parts[2], "day=", 2)
        && digits(parts[3], "hour=", 2)
        && parts[4] == format!("{topic}+0+0000000000.snappy.parquet")
}

/// The JDBC source with `ValueToKey` + `ExtractField$Key`, `TimestampConverter` and `Cast`,
/// written as Avro and archived with `store.kafka.keys=true`: Parquet values, Avro keys.
#[test]
fn jdbc_avro_with_keys_to_s3() {
    require_kafka();
    let url = registry();
    let db = database("jdbc_avro");
    mariadb(&format!(
        "CREATE TABLE {db}.items (id INT PRIMARY KEY, price DECIMAL(8,3) NOT NULL, made VARCHAR(10) NOT NULL, qty BIGINT); \
         INSERT INTO {db}.items VALUES (1, 1.5, '2026-01-02', 7), (2, 20.125, '2025-12-31', NULL)"
    ));
    let dir = Dir::new();
    let prefix = unique("jdbcavro").replace('-', "_");
    let topic = format!("{prefix}items");
    let source = dir.write(
        "jdbc.properties",
        &format!(
            "name={}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max=1\n\
             connection.url=jdbc:mysql://127.0.0.1:3307/{db}?user=root&useSSL=false\nmode=incrementing\n\
             incrementing.column.name=id\ntable.whitelist=items\ntopic.prefix={prefix}\npoll.interval.ms=200\n\
             topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
             transforms=key,id,made,qty\n\
             transforms.key.type=org.apache.kafka.connect.transforms.ValueToKey\ntransforms.key.fields=id\n\
             transforms.id.type=org.apache.kafka.connect.transforms.ExtractField$Key\ntransforms.id.field=id\n\
             transforms.made.type=org.apache.kafka.connect.transforms.TimestampConverter$Value\n\
             transforms.made.field=made\ntransforms.made.target.type=Date\ntransforms.made.format=yyyy-MM-dd\n\
             transforms.qty.type=org.apache.kafka.connect.transforms.Cast$Value\ntransforms.qty.spec=qty:int32\n{}",
            unique("jdbc"),
            avro_converters(&url)
        ),
    );
    let bucket = Bucket::create("jdbcavro");
    let sink = s3_connector(
        &dir,
        "s3.properties",
        &unique("s3jdbc"),
        &topic,
        &bucket,
        &crate::s3_store::endpoint(),
        &format!(
            "{}format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\nflush.size=2\ntopics.dir=jdbc\n\
             store.kafka.keys=true\n",
            avro_converters(&url)
        ),
    );
    let worker = dir.worker(free_port(), "");
    let mut child = spawn(&[&worker, &source, &sink], &dir.path("log"));
    wait_or_show(Duration::from_secs(60), "a file and its keys file", &[&dir.path("log")], || {
        bucket.keys("jdbc/").len() >= 2
    });
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let t = &topic;
    let base = format!("jdbc/{t}/partition=0/{t}+0+0000000000");
    assert_eq!(bucket.keys("jdbc/"), [format!("{base}.keys.avro"), format!("{base}.snappy.parquet")]);
    let (columns, rows) = parquet_rows(bucket.get(&format!("{base}.snappy.parquet")));
    assert!(
        columns[1].starts_with("price BYTE_ARRAY Some(Decimal(DecimalType { scale: 3, precision: 8 }))"),
        "{columns:?}"
    );
    assert_eq!(columns[2], "made INT32 Some(Date)");
    assert_eq!(columns[3], "qty INT32 None");
    assert_eq!(
        rows,
        [
            r#"{id: 1, price: 1.500, made: 2026-01-02, qty: 7}"#,
            r#"{id: 2, price: 20.125, made: 2025-12-31, qty: null}"#
        ]
    );
    let keys = bucket.get(&format!("{base}.keys.avro"));
    let keys: Vec<apache_avro::types::Value> =
        apache_avro::Reader::new(&keys[..]).unwrap().map(Result::unwrap).collect();
    assert_eq!(keys, [apache_avro::types::Value::Int(1), apache_avro::types::Value::Int(2)]);
    let (status, key_schema) = registry_get(&format!("/subjects/{t}-key/versions/latest"));
    assert_eq!((status, key_schema["schema"].as_str()), (200, Some("\"int\"")), "{key_schema}");
}

/// A record whose schema id the registry does not know fails that record with the id and the
/// registry's answer; with `errors.tolerance=all` it goes to the dead letter queue and the
/// records around it are written.
#[test]
fn an_unknown_schema_id_is_a_bad_record_for_the_dead_letter_queue() {
    require_kafka();
    let url = registry();
    let dir = Dir::new();
    let topic = unique("avro-unknown");
    let dlq = unique("avro-dlq");
    create_topic(&topic);
    // a good record, written through the registry by a source, then a bad one
    let source_topic = topic.clone();
    let input = dir.write("in.txt", "first\n");
    let source = dir.write(
        "source.properties",
        &source_props(
            &unique("src"),
            &input,
            &source_topic,
            &format!("value.converter={AVRO}\nvalue.converter.schema.registry.url={url}\n"),
        ),
    );
    let worker = dir.worker(free_port(), "");
    let mut child = spawn(&[&worker, &source], &dir.path("source.log"));
    let first = read_partition(&topic, 1, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("source.log")));
    assert_eq!(first.len(), 1, "{}", log_text(&dir.path("source.log")));
    let good = first[0].value.clone().unwrap();
    assert_eq!(&good[5..], b"\x0afirst", "an Avro string: length 5 (zig-zag 10), then the bytes");
    let unknown: &[u8] = &[0, 0x7f, 0xff, 0xff, 0x00, 2, b'x'];
    produce(&topic, &[(unknown, &[]), (&good, &[])]);

    let output = dir.path("out.txt");
    let name = unique("sink");
    let sink = dir.write(
        "sink.properties",
        &format!(
            "{}value.converter={AVRO}\nvalue.converter.schema.registry.url={url}\nerrors.tolerance=all\n\
             errors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.context.headers.enable=true\n",
            sink_props(&name, &output, &topic)
        ),
    );
    let mut child = spawn(&[&dir.worker(free_port(), ""), &sink], &dir.path("sink.log"));
    wait_until(Duration::from_secs(60), "two good records written", || lines_of(&output) >= 2);
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("sink.log")));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "first\nfirst\n");
    let dead = read_partition(&dlq, 1, Duration::from_secs(20));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(unknown));
    let header = |k: &str| dead[0].headers.iter().find(|(hk, _)| hk == k).map(|(_, v)| v.clone());
    assert_eq!(header("__connect.errors.class.name").as_deref(), Some(AVRO));
    let message = header("__connect.errors.exception.message").unwrap();
    assert!(message.contains("schema id 2147483392 is not in the schema registry"), "{message}");
}

/// A Debezium schema-change topic (`tableChanges`: arrays of structs holding arrays) written as
/// Avro through the registry and archived as Parquet: each DDL is a row whose nested tables and
/// columns read back.
#[test]
fn schema_change_topic_archived_as_parquet() {
    require_kafka();
    let url = registry();
    let db = database("ddl_avro");
    let dir = Dir::new();
    let prefix = unique("ddlavro").replace('-', "_");
    let source = dir.write(
        "cdc.properties",
        &props(&unique("cdc"), &db, &prefix, &format!("include.schema.changes=true\n{}", avro_converters(&url))),
    );
    let bucket = Bucket::create("ddlavro");
    let sink = s3_connector(
        &dir,
        "s3.properties",
        &unique("s3ddl"),
        &prefix,
        &bucket,
        &crate::s3_store::endpoint(),
        &format!(
            "{}format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\nflush.size=1\ntopics.dir=ddl\n",
            avro_converters(&url)
        ),
    );
    let log = dir.path("log");
    let mut child = spawn(&[&dir.worker(free_port(), ""), &source, &sink], &log);
    wait_until(Duration::from_secs(30), "streaming", || log_text(&log).contains("streaming the binlog"));
    mariadb(&format!(
        "CREATE TABLE {db}.shirts (id INT PRIMARY KEY, size ENUM('S','M','L') NOT NULL, note VARCHAR(20) COMMENT 'free text')"
    ));
    let rows =
        || -> Vec<String> { bucket.keys("ddl/").into_iter().flat_map(|k| parquet_rows(bucket.get(&k)).1).collect() };
    wait_or_show(Duration::from_secs(60), "the CREATE TABLE archived", &[&log], || {
        rows().iter().any(|r| r.contains("CREATE TABLE"))
    });
    assert!(sigterm(&mut child).success(), "{}", log_text(&log));
    let rows = rows();
    let create = rows.iter().find(|r| r.contains("CREATE TABLE")).unwrap();
    assert!(create.contains(&format!(r#"databaseName: "{db}""#)), "{create}");
    assert!(create.contains(&format!(r#"tableChanges: [{{type: "CREATE", id: ""{db}"."shirts"""#)), "{create}");
    assert!(create.contains(r#"primaryKeyColumnNames: ["id"]"#), "{create}");
    assert!(create.contains(r#"name: "size", jdbcType: 1, "#), "{create}");
    assert!(create.contains(r#"enumValues: ["S", "M", "L"]"#), "the values keep their case: {create}");
    assert!(create.contains(r#"comment: "free text""#), "{create}");
    let (status, latest) = registry_get(&format!("/subjects/{prefix}-value/versions/latest"));
    assert_eq!(status, 200, "{latest}");
    assert!(latest["schema"].as_str().unwrap().contains("io.debezium.connector.schema.Column"), "{latest}");
}

/// A registry that is down when the source starts: the records wait (the converter retries with
/// backoff, the task stays up) and all reach the topic once a registry answers on that address.
#[test]
fn a_registry_that_answers_late_delays_records_and_loses_none() {
    require_kafka();
    registry();
    let tools = std::env::var("SLUICE_TOOLS_DIR")
        .unwrap_or_else(|_| format!("{}/.cache/sluice/tools", std::env::var("HOME").unwrap_or_default()));
    let bin = std::path::PathBuf::from(tools).join("rivven/bin/rivven-schema");
    assert!(bin.exists(), "{} missing; run scripts/services up", bin.display());
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = Dir::new();
    let topic = unique("avro-late");
    create_topic(&topic);
    let input = dir.write("in.txt", "a\nb\nc\n");
    let source = dir.write(
        "source.properties",
        &source_props(
            &unique("src"),
            &input,
            &topic,
            &format!("value.converter={AVRO}\nvalue.converter.schema.registry.url={url}\nvalue.converter.retries.wait.ms=200\n"),
        ),
    );
    let log = dir.path("log");
    let mut child = spawn(&[&dir.worker(free_port(), ""), &source], &log);
    wait_or_show(Duration::from_secs(30), "the registry's absence logged", &[&log], || {
        log_text(&log).contains(&format!("schema registry {url} did not answer"))
    });
    assert!(read_partition(&topic, 1, Duration::from_secs(2)).is_empty(), "nothing is written without a schema id");
    let mut registry = std::process::Command::new(&bin)
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let got = read_partition(&topic, 3, Duration::from_secs(30));
    let _ = registry.kill();
    let _ = registry.wait();
    assert!(sigterm(&mut child).success(), "{}", log_text(&log));
    let values: Vec<Vec<u8>> = got.iter().map(|r| r.value.clone().unwrap()[5..].to_vec()).collect();
    assert_eq!(values, [b"\x02a".to_vec(), b"\x02b".to_vec(), b"\x02c".to_vec()], "{}", log_text(&log));
    assert!(log_text(&log).contains("schema registry answers again"), "{}", log_text(&log));
}
