//! The JDBC source against the real PostgreSQL of `scripts/services`: golden JsonConverter bytes
//! for every mapped column type, and every mode.

use std::time::Duration;

use crate::harness::*;

/// A fresh schema for one test (the connector reads only it, through `schema.pattern`).
fn schema(prefix: &str) -> String {
    let s = unique(prefix).replace('-', "_");
    psql(&format!("CREATE SCHEMA {s}"));
    s
}

fn props(name: &str, schema: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=JdbcSourceConnector\ntasks.max=1\n\
         connection.url=jdbc:postgresql://127.0.0.1:5433/postgres\nconnection.user=postgres\nschema.pattern={schema}\n\
         poll.interval.ms=200\ntopic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{extra}"
    )
}

fn parsed(topic: &str, n: usize, seconds: u64) -> Vec<serde_json::Value> {
    values(topic, n, Duration::from_secs(seconds)).iter().map(|v| serde_json::from_str(v).unwrap()).collect()
}

#[test]
fn postgres_column_types_golden_bytes_and_offsets() {
    require_kafka();
    let s = schema("e2e_pg_types");
    psql(&format!(
        "CREATE TABLE {s}.types (id serial PRIMARY KEY, i2 smallint, i8 bigint NOT NULL, amount numeric(30,10), \
         free numeric, r real, dp double precision, b boolean, t text, ch char(5), by bytea, js json, jb jsonb, \
         u uuid, d date, tm time(3), ts timestamp(6), tz timestamptz(3));\n\
         INSERT INTO {s}.types (i2, i8, amount, free, r, dp, b, t, ch, by, js, jb, u, d, tm, ts, tz) VALUES \
         (-2, 9223372036854775807, 12345678901234567890.0123456789, 3.14159, 1.5, 0.1, true, 'text', 'ab', '\\x0102', \
         '{{\"b\": [1, 2]}}', '{{\"b\":[1,2]}}', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2024-01-02', '12:34:56.789', \
         '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.789+00');\n\
         INSERT INTO {s}.types (i8) VALUES (0);"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("pg-types-");
    let connector =
        dir.write("jdbc.properties", &props(&unique("pg"), &s, &format!("mode=incrementing\ntopic.prefix={prefix}\n")));
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let got = values(&format!("{prefix}types"), 2, Duration::from_secs(30));
    let table = format!("{s}.types");
    wait_until(Duration::from_secs(10), "offsets", || dir.offsets().iter().any(|e| e["partition"]["table"] == table));
    assert!(sigterm(&mut child).success());
    assert_eq!(got.len(), 2, "{}", log_text(&dir.path("log")));
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int16","optional":true,"field":"i2"},{"type":"int64","optional":false,"field":"i8"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10","connect.decimal.precision":"30"},"field":"amount"},{"type":"string","optional":true,"field":"free"},{"type":"float","optional":true,"field":"r"},{"type":"double","optional":true,"field":"dp"},{"type":"boolean","optional":true,"field":"b"},{"type":"string","optional":true,"field":"t"},{"type":"string","optional":true,"field":"ch"},{"type":"bytes","optional":true,"field":"by"},{"type":"string","optional":true,"field":"js"},{"type":"string","optional":true,"field":"jb"},{"type":"string","optional":true,"field":"u"},{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"d"},{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"tm"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"tz"}],"optional":false,"name":"types"}"#;
    let first = format!(
        r#"{{"schema":{schema},"payload":{{"id":1,"i2":-2,"i8":9223372036854775807,"amount":"AY7pD/bDc+DuDATVFQ==","free":"3.14159","r":1.5,"dp":0.1,"b":true,"t":"text","ch":"ab   ","by":"AQI=","js":"{{\"b\": [1, 2]}}","jb":"{{\"b\": [1, 2]}}","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","d":19724,"tm":45296789,"ts":1704164645123,"tz":1704164645789}}}}"#
    );
    let second = format!(
        r#"{{"schema":{schema},"payload":{{"id":2,"i2":null,"i8":0,"amount":null,"free":null,"r":null,"dp":null,"b":null,"t":null,"ch":null,"by":null,"js":null,"jb":null,"u":null,"d":null,"tm":null,"ts":null,"tz":null}}}}"#
    );
    assert_eq!(got[0], first);
    assert_eq!(got[1], second);
    let offset = dir.offsets().into_iter().find(|e| e["partition"]["table"] == table).unwrap();
    assert_eq!(offset["partition"], serde_json::json!({"protocol": "1", "table": table}));
    assert_eq!(offset["offset"], serde_json::json!({"incrementing": 2}));
}

#[test]
fn postgres_every_mode_sees_inserts_and_updates() {
    require_kafka();
    let s = schema("e2e_pg_modes");
    psql(&format!(
        "CREATE TABLE {s}.items (id bigserial PRIMARY KEY, v text NOT NULL, at timestamptz(3) NOT NULL, local timestamp(3) NOT NULL);\n\
         INSERT INTO {s}.items (v, at, local) VALUES ('a', '2024-01-01 00:00:01+00', '2024-01-01 01:00:01'), \
         ('b', '2024-01-01 00:00:02+00', '2024-01-01 01:00:02');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let modes = [
        ("inc", "mode=incrementing\nincrementing.column.name=id\n"),
        ("ts", "mode=timestamp\ntimestamp.column.name=at\n"),
        ("tsinc", "mode=timestamp+incrementing\ntimestamp.column.name=at\nincrementing.column.name=id\n"),
        // wall-clock column read in db.timezone: 01:00 in Paris is 00:00 UTC
        ("local", "mode=timestamp\ntimestamp.column.name=local\ndb.timezone=Europe/Paris\n"),
        ("bulk", "mode=bulk\n"),
    ];
    let mut files = vec![worker];
    let prefixes: Vec<String> = modes.iter().map(|(m, _)| unique(&format!("pg-{m}-"))).collect();
    for ((mode, extra), prefix) in modes.iter().zip(&prefixes) {
        let p = props(&unique(mode), &s, &format!("{extra}topic.prefix={prefix}\n"));
        files.push(dir.write(&format!("{mode}.properties"), &p));
    }
    let args: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let mut child = spawn(&args, &dir.path("log"));
    for prefix in &prefixes {
        assert_eq!(parsed(&format!("{prefix}items"), 2, 30).len(), 2, "{prefix}: {}", log_text(&dir.path("log")));
    }
    psql(&format!(
        "UPDATE {s}.items SET v = 'a2', at = '2024-01-01 00:00:10+00', local = '2024-01-01 01:00:10' WHERE id = 1;\n\
         INSERT INTO {s}.items (v, at, local) VALUES ('c', '2024-01-01 00:00:20+00', '2024-01-01 01:00:20');"
    ));
    let seen = |prefix: &str, n: usize| -> Vec<String> {
        parsed(&format!("{prefix}items"), n, 3).iter().map(|r| r["payload"]["v"].as_str().unwrap().to_owned()).collect()
    };
    wait_until(Duration::from_secs(30), "changes", || seen(&prefixes[1], 4).len() == 4);
    assert_eq!(seen(&prefixes[0], 4), ["a", "b", "c"], "incrementing sees inserts only");
    for prefix in &prefixes[1..4] {
        wait_until(Duration::from_secs(30), "changes", || seen(prefix, 4).len() == 4);
        assert_eq!(seen(prefix, 5), ["a", "b", "a2", "c"], "{prefix}");
    }
    assert!(seen(&prefixes[4], 6).len() >= 5, "bulk re-reads the table");
    let local = parsed(&format!("{}items", prefixes[3]), 4, 3);
    assert_eq!(local[3]["payload"]["local"], 1704067220000i64, "01:00:20 Paris is 00:00:20 UTC");
    wait_until(Duration::from_secs(10), "offsets", || dir.offsets().len() == 4);
    assert!(sigterm(&mut child).success());
    let offsets: Vec<serde_json::Value> = dir.offsets().into_iter().map(|e| e["offset"].clone()).collect();
    assert!(offsets.contains(&serde_json::json!({"incrementing": 3})), "{offsets:?}");
    assert!(offsets.contains(&serde_json::json!({"timestamp_nanos": 0, "timestamp": 1704067220000i64})));
    assert!(
        offsets.contains(&serde_json::json!({"timestamp_nanos": 0, "incrementing": 3, "timestamp": 1704067220000i64}))
    );
}
