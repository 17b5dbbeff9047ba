//! Single message transforms in running pipelines: routing on the source side, field transforms
//! on the sink side, and a failing transform under `errors.tolerance`.

use std::time::Duration;

use crate::harness::*;

#[test]
fn regex_router_sends_source_records_to_the_routed_topic() {
    require_kafka();
    let dir = Dir::new();
    let base = unique("e2e-route");
    let input = dir.write("in.txt", "a\nb\n");
    let worker = dir.worker(free_port(), "");
    let source = dir.write(
        "source.properties",
        &source_props(
            &unique("src"),
            &input,
            &format!("{base}-raw"),
            "transforms=route\ntransforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
             transforms.route.regex=(.*)-raw\ntransforms.route.replacement=$1-clean\n",
        ),
    );
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    wait_until(Duration::from_secs(30), "both lines", || dir.file_position() == Some(4));
    assert!(sigterm(&mut child).success());
    let records = consume(&format!("{base}-clean"), 2, Duration::from_secs(10));
    assert_eq!(records.len(), 2, "{}", log_text(&dir.path("log")));
}

#[test]
fn sink_side_field_transforms_shape_the_struct() {
    require_kafka();
    let dir = Dir::new();
    let topic = unique("e2e-smt-sink");
    create_topic(&topic);
    let row = |id: i32| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},{{"type":"string","optional":true,"field":"password"}}],"optional":false,"name":"users"}},"payload":{{"id":{id},"password":"p{id}"}}}}"#
        )
        .into_bytes()
    };
    let (a, b) = (row(1), row(2));
    produce(&topic, &[(&a, &[]), (&b, &[])]);
    let output = dir.path("out.txt");
    let worker = dir.worker(free_port(), "");
    let sink = dir.write(
        "sink.properties",
        &format!(
            "{}transforms=drop,meta\ntransforms.drop.type=org.apache.kafka.connect.transforms.ReplaceField$Value\n\
             transforms.drop.exclude=password\ntransforms.meta.type=org.apache.kafka.connect.transforms.InsertField$Value\n\
             transforms.meta.offset.field=kafka_offset\ntransforms.meta.static.field=source\ntransforms.meta.static.value=e2e\n",
            sink_props(&unique("sink"), &output, &topic)
        ),
    );
    let mut child = spawn(&[&worker, &sink], &dir.path("log"));
    wait_until(Duration::from_secs(60), "two rows", || lines_of(&output) >= 2);
    assert!(sigterm(&mut child).success());
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "Struct{id=1,kafka_offset=0,source=e2e}\nStruct{id=2,kafka_offset=1,source=e2e}\n"
    );
}

#[test]
fn a_failing_transform_is_skipped_with_tolerance_and_fatal_without() {
    require_kafka();
    let dir = Dir::new();
    let input = dir.write("in.txt", "x\ny\n");
    let worker = dir.worker(free_port(), "");
    let insert = "transforms=ins\ntransforms.ins.type=InsertField$Value\ntransforms.ins.topic.field=topic\n";
    let tolerant = dir.write(
        "tolerant.properties",
        &source_props(&unique("src"), &input, &unique("e2e-smt-skip"), &format!("{insert}errors.tolerance=all\n")),
    );
    let mut child = spawn(&[&worker, &tolerant], &dir.path("log1"));
    wait_until(Duration::from_secs(30), "offsets past the skipped lines", || dir.file_position() == Some(4));
    assert!(sigterm(&mut child).success());

    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let strict = dir.write("strict.properties", &source_props(&unique("src"), &input, &unique("e2e-smt-fail"), insert));
    let out = run(&[&worker, &strict]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("transform ins (org.apache.kafka.connect.transforms.InsertField$Value): Only Struct objects supported for [field insertion], found: String"),
        "{stderr}"
    );
}

/// The kafka-tutorials pattern: a JDBC source keys each row by its INT id with `ValueToKey` and
/// `ExtractField$Key`, written by `IntegerConverter` as Kafka's IntegerSerializer does (4 bytes,
/// big-endian); a `LongConverter` on the same key fails the record with Kafka's words.
#[test]
fn integer_keys_from_value_to_key_and_extract_field() {
    require_kafka();
    let db = unique("e2e_intkeys").replace('-', "_");
    mariadb(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(8));\
         INSERT INTO {db}.t VALUES (7, 'a'), (258, 'b');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("e2e-intkeys-");
    let connector = |key_converter: &str, topic_prefix: &str| {
        format!(
            "name={}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max=1\n\
             connection.url=jdbc:mysql://127.0.0.1:3307/{db}?user=root&useSSL=false\npoll.interval.ms=200\n\
             topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
             mode=incrementing\nincrementing.column.name=id\ntopic.prefix={topic_prefix}\n\
             key.converter=org.apache.kafka.connect.converters.{key_converter}\n\
             transforms=createKey,extractInt\n\
             transforms.createKey.type=org.apache.kafka.connect.transforms.ValueToKey\n\
             transforms.createKey.fields=id\n\
             transforms.extractInt.type=org.apache.kafka.connect.transforms.ExtractField$Key\n\
             transforms.extractInt.field=id\n",
            unique("intkeys")
        )
    };
    let source = dir.write("jdbc.properties", &connector("IntegerConverter", &prefix));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let records = consume(&format!("{prefix}t"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let keys: Vec<Option<Vec<u8>>> = records.into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![Some(vec![0, 0, 0, 7]), Some(vec![0, 0, 1, 2])], "{}", log_text(&dir.path("log")));

    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let source = dir.write("jdbc.properties", &connector("LongConverter", &unique("e2e-longkeys-")));
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    wait_until(Duration::from_secs(30), "the task to fail on the first key", || {
        log_text(&dir.path("log")).contains("Failed to serialize to long (was class java.lang.Integer)")
    });
    let _ = sigterm(&mut child);
}

/// The JDBC pipeline of the converters-and-transforms issue, up to Kafka: rows keyed by id
/// (`ValueToKey` + `ExtractField$Key`), a DATETIME as text (`TimestampConverter`), a DECIMAL as a
/// double (`Cast`), an e-mail masked (`MaskField`) and a header (`InsertHeader`), as JsonConverter
/// bytes a Java worker would write for the same chain.
#[test]
fn jdbc_rows_through_timestamp_converter_cast_mask_field_and_insert_header() {
    require_kafka();
    let db = unique("e2e_smts").replace('-', "_");
    mariadb(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.orders (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, \
         price DECIMAL(10,2) NOT NULL, created DATETIME(3) NOT NULL);\
         INSERT INTO {db}.orders VALUES (1, 'a@example.com', 19.99, '2024-01-02 03:04:05.678'), \
         (2, 'b@example.com', 5.00, '2024-02-29 23:59:59.000');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("e2e-smts-");
    let connector = format!(
        "name={}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max=1\n\
         connection.url=jdbc:mysql://127.0.0.1:3307/{db}?user=root&useSSL=false\npoll.interval.ms=200\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
         mode=incrementing\nincrementing.column.name=id\ntopic.prefix={prefix}\n\
         key.converter=org.apache.kafka.connect.converters.IntegerConverter\n\
         transforms=createKey,extractId,ts,cast,mask,header\n\
         transforms.createKey.type=org.apache.kafka.connect.transforms.ValueToKey\n\
         transforms.createKey.fields=id\n\
         transforms.extractId.type=org.apache.kafka.connect.transforms.ExtractField$Key\n\
         transforms.extractId.field=id\n\
         transforms.ts.type=org.apache.kafka.connect.transforms.TimestampConverter$Value\n\
         transforms.ts.field=created\ntransforms.ts.target.type=string\n\
         transforms.ts.format=yyyy-MM-dd'T'HH:mm:ss.SSS\n\
         transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value\n\
         transforms.cast.spec=price:float64\n\
         transforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value\n\
         transforms.mask.fields=email\ntransforms.mask.replacement=***\n\
         transforms.header.type=org.apache.kafka.connect.transforms.InsertHeader\n\
         transforms.header.header=pipeline\ntransforms.header.value.literal=orders-v1\n",
        unique("smts")
    );
    let source = dir.write("jdbc.properties", &connector);
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let records = read_partition(&format!("{prefix}orders"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(records.len(), 2, "{}", log_text(&dir.path("log")));
    assert_eq!(records[1].key.as_deref(), Some(&[0u8, 0, 0, 2][..]));
    let value = String::from_utf8(records[0].value.clone().unwrap()).unwrap();
    assert_eq!(
        value,
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":false,"field":"email"},{"type":"double","optional":false,"field":"price"},"#,
            r#"{"type":"string","optional":false,"field":"created"}],"optional":false,"name":"orders"},"#,
            r#""payload":{"id":1,"email":"***","price":19.99,"created":"2024-01-02T03:04:05.678"}}"#
        )
    );
    let second = String::from_utf8(records[1].value.clone().unwrap()).unwrap();
    assert!(
        second.ends_with(r#""payload":{"id":2,"email":"***","price":5.0,"created":"2024-02-29T23:59:59.000"}}"#),
        "{second}"
    );
    assert_eq!(records[0].headers, [("pipeline".to_owned(), "orders-v1".to_owned())]);
}
