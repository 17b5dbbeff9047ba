//! The binlog CDC source (Debezium's MariaDB connector) against the binlog-enabled MariaDB of
//! `scripts/services`: golden envelopes for every column type in snapshot and streaming, the
//! snapshot/streaming seam under a concurrent writer, DDL mid-stream and a restart after it,
//! `kill -9` mid-transaction, a 1,000,000-row `INSERT … SELECT` in bounded memory, and the
//! start-up checks' errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::harness::*;

/// A fresh database for one test.
fn database(prefix: &str) -> String {
    let db = unique(prefix).replace('-', "_");
    mariadb(&format!("CREATE DATABASE {db}"));
    db
}

/// A replica id no other test of this run (nor a recent run) registers with.
fn server_id() -> u32 {
    static N: AtomicU32 = AtomicU32::new(0);
    100_000 + (std::process::id() % 5_000) * 20 + N.fetch_add(1, Ordering::Relaxed)
}

fn props(name: &str, db: &str, prefix: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\ntasks.max=1\n\
         database.hostname=127.0.0.1\ndatabase.port=3307\ndatabase.user=root\ndatabase.password=\n\
         database.server.id={}\ntopic.prefix={prefix}\ndatabase.include.list={db}\n\
         include.schema.changes=false\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{extra}",
        server_id()
    )
}

/// A record as JSON: key and value parsed (value `Null` for a tombstone).
struct Change {
    key: Json,
    value: Json,
}

impl Change {
    fn op(&self) -> &str {
        self.value["payload"]["op"].as_str().unwrap_or("tombstone")
    }
    fn after(&self) -> &Json {
        &self.value["payload"]["after"]
    }
    fn before(&self) -> &Json {
        &self.value["payload"]["before"]
    }
    fn id(&self) -> i64 {
        self.key["payload"]["id"].as_i64().unwrap()
    }
}

fn changes(topic: &str, n: usize, timeout: Duration) -> Vec<Change> {
    consume(topic, n, timeout)
        .into_iter()
        .map(|(k, v)| Change {
            key: serde_json::from_slice(&k.unwrap_or_default()).unwrap_or(Json::Null),
            value: v.map(|v| serde_json::from_slice(&v).unwrap()).unwrap_or(Json::Null),
        })
        .collect()
}

fn offset(dir: &Dir) -> Option<Json> {
    dir.offsets().into_iter().next().map(|e| e["offset"].clone())
}

const TYPES_DDL: &str = "id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, \
     mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, \
     f FLOAT, d DOUBLE, dc DECIMAL(30,10), b1 BIT(1), b10 BIT(10), c CHAR(5), vc VARCHAR(20), tx TEXT, \
     bn BINARY(4), vb VARBINARY(8), bl BLOB, js JSON, e ENUM('a','b','c'), s SET('x','y','z'), y YEAR, \
     dt DATE, tm TIME(3), dt0 DATETIME, dt6 DATETIME(6), ts TIMESTAMP(3) NULL, u UUID, ip INET6, \
     l1 VARCHAR(10) CHARACTER SET latin1, nn VARCHAR(5) NOT NULL DEFAULT 'dflt'";

const TYPES_ROW: &str = "1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, \
     -9223372036854775808, 18446744073709551615, 1.5, 0.1, -12345678901234567890.0123456789, 1, b'1010101010', \
     'ab', 'hé €', 'text', 'ab', x'00ff', x'0102', '{\"k\": [1, 2]}', 'b', 'x,z', 2024, '2024-01-02', \
     '-838:59:59.999', '2018-06-20 06:37:03', '2018-06-20 06:37:03.000005', '2024-01-02 03:04:05.120', \
     'f47ac10b-58cc-4372-a567-0e02b2c3d479', '2001:db8::1', 'café', 'nn'";

/// `after` of the first row, as Debezium's defaults map it (binlog-cdc.md A4). BIGINT UNSIGNED
/// with `bigint.unsigned.handling.mode=precise`.
const TYPES_AFTER: &str = r#"{"id":1,"ti":-128,"tiu":255,"si":-32768,"siu":65535,"mi":-8388608,"miu":16777215,"i":-2147483648,"iu":4294967295,"bi":-9223372036854775808,"biu":"AP//////////","f":1.5,"d":0.1,"dc":"/nEW8Ak8jB8R8/sq6w==","b1":true,"b10":"qgI=","c":"ab","vc":"hé €","tx":"text","bn":"YWIAAA==","vb":"AP8=","bl":"AQI=","js":"{\"k\": [1, 2]}","e":"b","s":"x,z","y":2024,"dt":19724,"tm":-3020399999000,"dt0":1529476623000,"dt6":1529476623000005,"ts":"2024-01-02T03:04:05.120Z","u":"f47ac10b-58cc-4372-a567-0e02b2c3d479","ip":"2001:db8::1","l1":"café","nn":"nn"}"#;

#[test]
fn cdc_column_types_golden_envelopes_snapshot_and_streaming() {
    require_kafka();
    let db = database("cdc_types");
    mariadb(&format!(
        "CREATE TABLE {db}.types ({TYPES_DDL}) DEFAULT CHARSET=utf8mb4; INSERT INTO {db}.types VALUES ({TYPES_ROW}); \
         INSERT INTO {db}.types (id) VALUES (2);"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-types");
    let connector =
        dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, "bigint.unsigned.handling.mode=precise\n"));
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let topic = format!("{prefix}.{db}.types");
    let snap = changes(&topic, 2, Duration::from_secs(30));
    assert_eq!(snap.len(), 2, "{}", log_text(&dir.path("log")));
    // the same rows again, written while streaming; then an update, a delete
    mariadb(&format!(
        "INSERT INTO {db}.types SELECT id + 100, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, f, d, dc, b1, b10, c, vc, tx, bn, \
         vb, bl, js, e, s, y, dt, tm, dt0, dt6, ts, u, ip, l1, nn FROM {db}.types ORDER BY id; \
         UPDATE {db}.types SET u = '6ccd780c-baba-1026-9564-5b8c65600000', ip = '::ffff:1.2.3.4', vb = x'0100' WHERE id = 101; \
         DELETE FROM {db}.types WHERE id = 102;"
    ));
    let all = changes(&topic, 7, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(all.len(), 7, "{}", log_text(&dir.path("log")));
    let ops: Vec<(&str, i64)> = all.iter().map(|c| (c.op(), c.id())).collect();
    assert_eq!(ops, [("r", 1), ("r", 2), ("c", 101), ("c", 102), ("u", 101), ("d", 102), ("tombstone", 102)]);

    // golden: the key, the row, and every field's schema
    assert_eq!(
        serde_json::to_string(&all[0].key).unwrap(),
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false,"name":"{prefix}.{db}.types.Key"}},"payload":{{"id":1}}}}"#
        )
    );
    assert_eq!(serde_json::to_string(all[0].after()).unwrap(), TYPES_AFTER);
    let fields = &all[0].value["schema"]["fields"][1]["fields"];
    let schema_of = |name: &str| {
        let f = fields.as_array().unwrap().iter().find(|f| f["field"] == name).unwrap().clone();
        serde_json::to_string(&f).unwrap()
    };
    for (name, expected) in [
        ("ti", r#"{"type":"int16","optional":true,"field":"ti"}"#),
        ("siu", r#"{"type":"int32","optional":true,"field":"siu"}"#),
        ("iu", r#"{"type":"int64","optional":true,"field":"iu"}"#),
        ("biu", r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"field":"biu"}"#),
        ("f", r#"{"type":"float","optional":true,"field":"f"}"#),
        ("dc", r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10","connect.decimal.precision":"30"},"field":"dc"}"#),
        ("b1", r#"{"type":"boolean","optional":true,"field":"b1"}"#),
        ("b10", r#"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"},"field":"b10"}"#),
        ("js", r#"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"js"}"#),
        ("e", r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"a,b,c"},"field":"e"}"#),
        ("s", r#"{"type":"string","optional":true,"name":"io.debezium.data.EnumSet","version":1,"parameters":{"allowed":"x,y,z"},"field":"s"}"#),
        ("y", r#"{"type":"int32","optional":true,"name":"io.debezium.time.Year","version":1,"field":"y"}"#),
        ("dt", r#"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"dt"}"#),
        ("tm", r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"tm"}"#),
        ("dt0", r#"{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"dt0"}"#),
        ("dt6", r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"dt6"}"#),
        ("ts", r#"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"ts"}"#),
        ("nn", r#"{"type":"string","optional":false,"default":"dflt","field":"nn"}"#),
    ] {
        assert_eq!(schema_of(name), expected);
    }
    // the all-NULL row keeps the default-less columns null
    assert_eq!(all[1].after()["ti"], Json::Null);
    assert_eq!(all[1].after()["nn"], "dflt");

    // streaming decodes exactly as the snapshot reads (same row, other id)
    for (snapshot, streamed) in [(&all[0], &all[2]), (&all[1], &all[3])] {
        let mut a = snapshot.after().clone();
        a["id"] = streamed.after()["id"].clone();
        assert_eq!(&a, streamed.after());
        assert_eq!(snapshot.value["schema"], streamed.value["schema"]);
    }
    // the update: full before and after; a UUID ending in zero bytes; an IPv4-mapped address
    assert_eq!(all[4].before()["u"], "f47ac10b-58cc-4372-a567-0e02b2c3d479");
    assert_eq!(all[4].after()["u"], "6ccd780c-baba-1026-9564-5b8c65600000");
    assert_eq!(all[4].after()["ip"], "::ffff:1.2.3.4");
    assert_eq!(all[4].after()["vb"], "AQA=");
    assert_eq!(all[4].after()["dc"], all[4].before()["dc"]);
    // the delete: before, no after, then the tombstone with the same key
    assert_eq!(all[5].after(), &Json::Null);
    assert_eq!(all[5].before()["nn"], "dflt");
    assert_eq!(all[6].key, all[5].key);
    assert_eq!(all[6].value, Json::Null);

    // source blocks: snapshot markers, then binlog coordinates
    let src = |c: &Change| c.value["payload"]["source"].clone();
    assert_eq!((src(&all[0])["snapshot"].as_str(), src(&all[1])["snapshot"].as_str()), (Some("first"), Some("last")));
    let s = src(&all[2]);
    assert_eq!((s["connector"].as_str(), s["db"].as_str(), s["table"].as_str()), (Some("mariadb"), Some(db.as_str()), Some("types")));
    assert_eq!((s["snapshot"].as_str(), s["server_id"].as_i64(), s["row"].as_i64()), (Some("false"), Some(1), Some(0)));
    assert_eq!(src(&all[3])["row"].as_i64(), Some(1), "the second row of the same rows event");
    assert!(s["file"].as_str().unwrap().starts_with("mariadb-bin."));
    assert!(s["gtid"].as_str().unwrap().starts_with("0-1-"));
    assert_eq!(s["version"].as_str(), Some(concat!("sluice-", env!("CARGO_PKG_VERSION"))));

    // the stored offset: the last transaction's start, with what was emitted of it
    let o = offset(&dir).expect("an offset");
    assert!(o["file"].as_str().unwrap().starts_with("mariadb-bin."), "{o}");
    assert!(o["gtids"].as_str().unwrap().starts_with("0-1-"), "{o}");
    assert_eq!((o["row"].as_i64(), o["event"].as_i64()), (Some(1), Some(2)), "{o}");
}

#[test]
fn cdc_bigint_unsigned_long_mode_names_the_fix() {
    require_kafka();
    let db = database("cdc_ulong");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v BIGINT UNSIGNED); INSERT INTO {db}.t VALUES (1, 18446744073709551615);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &unique("cdc-ulong"), ""));
    let out = run(&[&worker, &connector]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("does not fit INT64: set bigint.unsigned.handling.mode=precise"), "{text}");
    assert!(text.contains(&format!("{db}.t.v")), "{text}");
}
