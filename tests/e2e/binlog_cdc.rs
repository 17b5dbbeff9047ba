//! The binlog CDC source (Debezium's MariaDB connector) against the binlog-enabled MariaDB of
//! `scripts/services`: golden envelopes for every column type in snapshot and streaming, the
//! snapshot/streaming seam under a concurrent writer, DDL mid-stream and a restart after it (and
//! behind it, `binlog_cdc_options.rs`),
//! `kill -9` mid-transaction, a 1,000,000-row `INSERT … SELECT` in bounded memory, and the
//! start-up checks' errors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::harness::*;

/// A fresh database for one test.
pub(crate) fn database(prefix: &str) -> String {
    let db = unique(prefix).replace('-', "_");
    mariadb(&format!("CREATE DATABASE {db}"));
    db
}

/// A replica id no other test of this run (nor a recent run) registers with.
pub(crate) fn server_id() -> u32 {
    static N: AtomicU32 = AtomicU32::new(0);
    100_000 + (std::process::id() % 5_000) * 20 + N.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn props(name: &str, db: &str, prefix: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\ntasks.max=1\n\
         database.hostname=127.0.0.1\ndatabase.port=3307\ndatabase.user=root\ndatabase.password=\n\
         database.server.id={}\ntopic.prefix={prefix}\ndatabase.include.list={db}\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{}{extra}",
        server_id(),
        if extra.contains("include.schema.changes") { "" } else { "include.schema.changes=false\n" }
    )
}

/// A record as JSON: key and value parsed (value `Null` for a tombstone).
pub(crate) struct Change {
    pub(crate) key: Json,
    pub(crate) value: Json,
}

impl Change {
    pub(crate) fn op(&self) -> &str {
        self.value["payload"]["op"].as_str().unwrap_or("tombstone")
    }
    pub(crate) fn after(&self) -> &Json {
        &self.value["payload"]["after"]
    }
    pub(crate) fn before(&self) -> &Json {
        &self.value["payload"]["before"]
    }
    pub(crate) fn id(&self) -> i64 {
        self.key["payload"]["id"].as_i64().unwrap()
    }
}

/// sluice on `worker` and `connector`, once the connector streams the binlog.
pub(crate) fn spawn_streaming(worker: &Path, connector: &Path, log: &Path) -> Child {
    let child = spawn(&[worker, connector], log);
    wait_until(Duration::from_secs(30), "streaming", || log_text(log).contains("streaming the binlog"));
    child
}

pub(crate) fn changes(topic: &str, n: usize, timeout: Duration) -> Vec<Change> {
    consume(topic, n, timeout)
        .into_iter()
        .map(|(k, v)| Change {
            key: serde_json::from_slice(&k.unwrap_or_default()).unwrap_or(Json::Null),
            value: v.map(|v| serde_json::from_slice(&v).unwrap()).unwrap_or(Json::Null),
        })
        .collect()
}

pub(crate) fn offset(dir: &Dir) -> Option<Json> {
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
        (
            "biu",
            r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"field":"biu"}"#,
        ),
        ("f", r#"{"type":"float","optional":true,"field":"f"}"#),
        (
            "dc",
            r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10","connect.decimal.precision":"30"},"field":"dc"}"#,
        ),
        ("b1", r#"{"type":"boolean","optional":true,"field":"b1"}"#),
        (
            "b10",
            r#"{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"},"field":"b10"}"#,
        ),
        ("js", r#"{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"js"}"#),
        (
            "e",
            r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"a,b,c"},"field":"e"}"#,
        ),
        (
            "s",
            r#"{"type":"string","optional":true,"name":"io.debezium.data.EnumSet","version":1,"parameters":{"allowed":"x,y,z"},"field":"s"}"#,
        ),
        ("y", r#"{"type":"int32","optional":true,"name":"io.debezium.time.Year","version":1,"field":"y"}"#),
        ("dt", r#"{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"dt"}"#),
        ("tm", r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"tm"}"#),
        ("dt0", r#"{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"dt0"}"#),
        (
            "dt6",
            r#"{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"dt6"}"#,
        ),
        (
            "ts",
            r#"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"ts"}"#,
        ),
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
    assert_eq!(
        (s["connector"].as_str(), s["db"].as_str(), s["table"].as_str()),
        (Some("mariadb"), Some(db.as_str()), Some("types"))
    );
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

/// Every record of partition 0 of `topic`, read until none arrived for `quiet` (or `max`).
fn drain(topic: &str, quiet: Duration, max: Duration) -> Vec<Change> {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("e2e-drain"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut last = Instant::now();
    let mut out = Vec::new();
    while last.elapsed() < quiet && start.elapsed() < max {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            last = Instant::now();
            out.push(Change {
                key: m.key().map(|k| serde_json::from_slice(k).unwrap()).unwrap_or(Json::Null),
                value: m.payload().map(|v| serde_json::from_slice(v).unwrap()).unwrap_or(Json::Null),
            });
        }
    }
    out
}

/// Replays a change stream per key, checking that each change applies to the state the
/// previous ones left (so nothing was lost or applied twice); returns the final state.
fn replay(changes: &[Change]) -> BTreeMap<i64, i64> {
    let mut state: BTreeMap<i64, i64> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        let id = c.id();
        match c.op() {
            "r" => {
                assert!(state.insert(id, c.after()["v"].as_i64().unwrap()).is_none(), "record {i}: id {id} read twice");
            }
            "c" => {
                assert!(
                    state.insert(id, c.after()["v"].as_i64().unwrap()).is_none(),
                    "record {i}: id {id} created twice"
                );
            }
            "u" => {
                let before = c.before()["v"].as_i64().unwrap();
                assert_eq!(
                    state.get(&id),
                    Some(&before),
                    "record {i}: update of id {id} does not follow the previous state"
                );
                state.insert(id, c.after()["v"].as_i64().unwrap());
            }
            "d" => {
                let before = c.before()["v"].as_i64().unwrap();
                assert_eq!(
                    state.remove(&id),
                    Some(before),
                    "record {i}: delete of id {id} does not follow the previous state"
                );
            }
            "tombstone" => assert!(!state.contains_key(&id), "record {i}: tombstone of a live id {id}"),
            other => panic!("unexpected op {other}"),
        }
    }
    state
}

fn table_state(db: &str) -> BTreeMap<i64, i64> {
    mariadb(&format!("SELECT id, v FROM {db}.t"))
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn cdc_snapshot_seam_under_a_concurrent_writer() {
    require_kafka();
    let _heavy = heavy();
    let db = database("cdc_seam");
    mariadb(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL); \
         USE {db}; INSERT INTO t SELECT seq, 0 FROM seq_1_to_50000;"
    ));
    // inserts of new ids, updates (v+1) and deletes of existing ones, each its own transaction
    let mut script = String::new();
    for k in 0..6000u32 {
        match k % 3 {
            0 => script.push_str(&format!("INSERT INTO {db}.t VALUES ({}, 0);\n", 100_000 + k)),
            1 => script.push_str(&format!("UPDATE {db}.t SET v = v + 1 WHERE id = {};\n", 1 + (k * 7919) % 50_000)),
            _ => script.push_str(&format!("DELETE FROM {db}.t WHERE id = {};\n", 1 + (k * 104_729) % 50_000)),
        }
    }
    let dir = Dir::new();
    let sql = dir.write("writer.sql", &script);
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-seam");
    let connector =
        dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, "max.batch.size=500\nmax.queue.size=2000\n"));
    let writer = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("mariadb -h127.0.0.1 -P3307 -uroot < {}", sql.display()))
        .spawn()
        .unwrap();
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let status = writer.wait_with_output().unwrap().status;
    assert!(status.success());
    let expected = table_state(&db);
    let topic = format!("{prefix}.{db}.t");
    let all = drain(&topic, Duration::from_secs(5), Duration::from_secs(120));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let log = log_text(&dir.path("log"));
    let reads = all.iter().filter(|c| c.op() == "r").count();
    let streamed = all.len() - reads;
    eprintln!("seam: {reads} snapshot records, {streamed} streamed records");
    assert!(streamed > 0 && reads > 0, "{log}");
    assert_eq!(replay(&all), expected, "{log}");
}

#[test]
fn cdc_ddl_mid_stream_and_a_restart_after_ddl() {
    require_kafka();
    let db = database("cdc_ddl");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, a VARCHAR(10), c INT) DEFAULT CHARSET=utf8mb4;"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-ddl");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, ""));
    let topic = format!("{prefix}.{db}.t");
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    // one step at a time, each change seen before the next DDL (the connector is not behind)
    let steps = [
        format!("INSERT INTO {db}.t VALUES (1, 'one', 10)"),
        format!("ALTER TABLE {db}.t ADD COLUMN b VARCHAR(10) NOT NULL DEFAULT 'z'; INSERT INTO {db}.t (id, a, c, b) VALUES (2, 'two', 20, 'bee')"),
        format!("ALTER TABLE {db}.t DROP COLUMN a; INSERT INTO {db}.t (id, c) VALUES (3, 30)"),
        format!("ALTER TABLE {db}.t MODIFY c BIGINT; INSERT INTO {db}.t VALUES (4, 9000000000, 'big')"),
        format!("ALTER TABLE {db}.t RENAME COLUMN b TO b2; UPDATE {db}.t SET b2 = 'renamed' WHERE id = 4"),
    ];
    for (i, sql) in steps.iter().enumerate() {
        mariadb(sql);
        assert_eq!(changes(&topic, i + 1, Duration::from_secs(30)).len(), i + 1, "{}", log_text(&dir.path("log")));
    }
    let got = changes(&topic, 5, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.len(), 5, "{}", log_text(&dir.path("log")));
    let after = |i: usize| serde_json::to_string(got[i].after()).unwrap();
    assert_eq!(after(0), r#"{"id":1,"a":"one","c":10}"#);
    assert_eq!(after(1), r#"{"id":2,"a":"two","c":20,"b":"bee"}"#);
    assert_eq!(after(2), r#"{"id":3,"c":30,"b":"z"}"#);
    assert_eq!(after(3), r#"{"id":4,"c":9000000000,"b":"big"}"#);
    assert_eq!(after(4), r#"{"id":4,"c":9000000000,"b2":"renamed"}"#);
    let field = |i: usize, name: &str| {
        got[i].value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).cloned()
    };
    assert_eq!(field(2, "c").unwrap()["type"], "int32");
    assert_eq!(field(3, "c").unwrap()["type"], "int64");
    assert_eq!(field(2, "b").unwrap()["default"], "z");

    // stopped: a row in the current layout, a DDL, a row in the new one; the catalogue is then
    // ahead of the first of them, which must still decode as it was written
    mariadb(&format!(
        "INSERT INTO {db}.t VALUES (5, 50, 'five'); ALTER TABLE {db}.t ADD COLUMN d DATE; \
         INSERT INTO {db}.t VALUES (6, 60, 'six', '2024-01-02');"
    ));
    let mut child = spawn(&[&worker, &connector], &dir.path("log2"));
    let got = changes(&topic, 7, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log2")));
    assert_eq!(got.len(), 7, "no duplicate after a clean restart: {}", log_text(&dir.path("log2")));
    assert_eq!(serde_json::to_string(got[5].after()).unwrap(), r#"{"id":5,"c":50,"b2":"five"}"#);
    assert_eq!(serde_json::to_string(got[6].after()).unwrap(), r#"{"id":6,"c":60,"b2":"six","d":19724}"#);
}

/// Starts the connector on an empty table, runs one big transaction, and stops sluice (SIGTERM
/// or SIGKILL) once an offset inside the transaction is stored.
fn stop_mid_transaction(kill: bool) {
    require_kafka();
    let _heavy = heavy();
    let db = database(if kill { "cdc_kill" } else { "cdc_term" });
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-mid");
    let connector =
        dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, "max.batch.size=256\nmax.queue.size=1024\n"));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    const ROWS: i64 = 200_000;
    mariadb(&format!("USE {db}; INSERT INTO t SELECT seq, seq FROM seq_1_to_{ROWS};"));
    wait_until(Duration::from_secs(60), "an offset inside the transaction", || {
        offset(&dir).is_some_and(|o| o["event"].as_i64().unwrap_or(0) > 2)
    });
    let stored = offset(&dir).unwrap();
    if kill {
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        child.wait().unwrap();
    } else {
        assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    }
    let at_stop = offset(&dir).unwrap();
    eprintln!("stopped with offset {at_stop} (first mid-transaction offset {stored})");
    let mut child = spawn(&[&worker, &connector], &dir.path("log2"));
    let topic = format!("{prefix}.{db}.t");
    let all = drain(&topic, Duration::from_secs(5), Duration::from_secs(180));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log2")));
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for c in &all {
        assert_eq!(c.op(), "c");
        assert_eq!(c.after()["v"].as_i64(), Some(c.id()));
        *seen.entry(c.id()).or_default() += 1;
    }
    let missing: Vec<i64> = (1..=ROWS).filter(|i| !seen.contains_key(i)).take(5).collect();
    assert!(missing.is_empty(), "lost ids, e.g. {missing:?}: {}", log_text(&dir.path("log2")));
    let doubled = all.len() as i64 - ROWS;
    eprintln!("{} records for {ROWS} rows: {doubled} delivered twice", all.len());
    if !kill {
        assert_eq!(doubled, 0, "a clean stop mid-transaction resumes exactly");
    }
    // in order: ids were inserted ascending, within and across the restart (replayed ones included)
    let firsts: Vec<i64> = {
        let mut s = std::collections::HashSet::new();
        all.iter().map(Change::id).filter(|id| s.insert(*id)).collect()
    };
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "first deliveries out of order");
}

#[test]
fn cdc_sigterm_mid_transaction_resumes_exactly() {
    stop_mid_transaction(false);
}

#[test]
fn cdc_kill_9_mid_transaction_loses_nothing() {
    stop_mid_transaction(true);
}

/// Peak resident memory of a process, from `/proc/<pid>/status` (`VmHWM`), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[test]
fn cdc_one_million_row_transaction_in_bounded_memory() {
    require_kafka();
    let _heavy = heavy();
    let db = database("cdc_million");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, a BIGINT, b VARCHAR(40), c DOUBLE, d DATETIME(3), e INT, f VARCHAR(20));"));
    let dir = Dir::new();
    // without schemas in the values: the broker holds a million records
    let worker = dir.worker(free_port(), "value.converter.schemas.enable=false\n");
    let prefix = unique("cdc-million");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, ""));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    const ROWS: usize = 1_000_000;
    mariadb(&format!(
        "USE {db}; INSERT INTO t SELECT seq, seq * 1000, CONCAT('name-', seq), seq / 7, '2024-01-02 03:04:05.678', seq % 1000, 'constant-text' FROM seq_1_to_{ROWS};"
    ));
    let topic = format!("{prefix}.{db}.t");
    let started = Instant::now();
    let n = consume(&topic, ROWS, Duration::from_secs(300)).len();
    let rss = peak_rss_mb(child.id());
    eprintln!("{n} records in {:?}; peak RSS {rss:.1} MB", started.elapsed());
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(n, ROWS, "{}", log_text(&dir.path("log")));
    assert!(rss > 0.0 && rss < 256.0, "peak RSS {rss:.1} MB: the queue does not bound memory");
}

#[test]
fn cdc_schema_change_events() {
    require_kafka();
    let db = database("cdc_schema");
    mariadb(&format!(
        "CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x' COMMENT 'the name', \
         price DECIMAL(10,2), kind ENUM('a','b')) DEFAULT CHARSET=utf8mb4; INSERT INTO {db}.t (name) VALUES ('one');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-schema");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, "include.schema.changes=true\n"));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!("ALTER TABLE {db}.t ADD COLUMN note TEXT; INSERT INTO {db}.t (name, note) VALUES ('two', 'n');"));
    let schema_changes = changes(&prefix, 2, Duration::from_secs(30));
    let data = changes(&format!("{prefix}.{db}.t"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!((schema_changes.len(), data.len()), (2, 2), "{}", log_text(&dir.path("log")));
    let key = serde_json::to_string(&schema_changes[0].key).unwrap();
    assert_eq!(
        key,
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"databaseName"}}],"optional":false,"name":"io.debezium.connector.mariadb.SchemaChangeKey","version":1}},"payload":{{"databaseName":"{db}"}}}}"#
        )
    );
    let snap = &schema_changes[0].value;
    assert_eq!(snap["schema"]["name"], "io.debezium.connector.mariadb.SchemaChangeValue");
    let p = &snap["payload"];
    assert!(p["ddl"].as_str().unwrap().starts_with("CREATE TABLE `t`"), "{p}");
    assert_eq!(p["source"]["snapshot"], "true");
    assert_eq!(p["databaseName"], db.as_str());
    let change = &p["tableChanges"][0];
    assert_eq!(
        (change["type"].as_str(), change["id"].as_str()),
        (Some("CREATE"), Some(format!("\"{db}\".\"t\"").as_str()))
    );
    assert_eq!(change["table"]["defaultCharsetName"], "utf8mb4");
    assert_eq!(change["table"]["primaryKeyColumnNames"], serde_json::json!(["id"]));
    assert_eq!(
        serde_json::to_string(&change["table"]["columns"][0]).unwrap(),
        r#"{"name":"id","jdbcType":4,"nativeType":null,"typeName":"INT","typeExpression":"INT","charsetName":null,"length":11,"scale":null,"position":1,"optional":false,"autoIncremented":true,"generated":true,"comment":null,"defaultValueExpression":null,"enumValues":null}"#
    );
    assert_eq!(
        serde_json::to_string(&change["table"]["columns"][1]).unwrap(),
        r#"{"name":"name","jdbcType":12,"nativeType":null,"typeName":"VARCHAR","typeExpression":"VARCHAR","charsetName":"utf8mb4","length":20,"scale":null,"position":2,"optional":false,"autoIncremented":false,"generated":false,"comment":"the name","defaultValueExpression":"x","enumValues":null}"#
    );
    assert_eq!(change["table"]["columns"][2]["scale"], 2);
    assert_eq!(change["table"]["columns"][3]["enumValues"], serde_json::json!(["a", "b"]));
    let alter = &schema_changes[1].value["payload"];
    assert_eq!(alter["ddl"].as_str(), Some(format!("ALTER TABLE {db}.t ADD COLUMN note TEXT").as_str()));
    assert_eq!(alter["tableChanges"][0]["type"], "ALTER");
    assert_eq!(alter["tableChanges"][0]["table"]["columns"][4]["name"], "note");
    assert_eq!(alter["source"]["snapshot"], "false");
    assert!(alter["source"]["gtid"].as_str().unwrap().starts_with("0-1-"));
    assert_eq!(data[1].after()["note"], "n");
}

#[test]
fn cdc_start_up_checks_name_the_fix() {
    require_kafka();
    let db = database("cdc_checks");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY);"));
    let user = format!("u{}", &db[db.len() - 8..]);
    mariadb(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON *.* TO '{user}'@'%';"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let with = |extra: &str| {
        let text = props(&unique("cdc"), &db, &unique("cdc-checks"), extra)
            .replace("database.user=root\ndatabase.password=\n", "");
        dir.write("cdc.properties", &text)
    };
    // only SELECT: the missing grants, and the statement that adds them
    let out = run(&[&worker, &with(&format!("database.user={user}\ndatabase.password=pw\n"))]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains(&format!("user \"{user}\" lacks REPLICATION SLAVE, BINLOG MONITOR")), "{text}");
    assert!(text.contains(&format!("run: GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {user}")), "{text}");
    // a wrong password: said so, and never printed
    let out = run(&[&worker, &with(&format!("database.user={user}\ndatabase.password=wrong-secret\n"))]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("access denied for user") && text.contains("check database.user and database.password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    // the least-privilege user of the docs is enough
    mariadb(&format!("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%';"));
    let prefix = unique("cdc-checks");
    let text = props(&unique("cdc"), &db, &prefix, &format!("database.user={user}\ndatabase.password=pw\n"))
        .replace("database.user=root\ndatabase.password=\n", "");
    let connector = dir.write("ok.properties", &text);
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!("INSERT INTO {db}.t VALUES (7);"));
    let got = changes(&format!("{prefix}.{db}.t"), 1, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.first().map(Change::id), Some(7), "{}", log_text(&dir.path("log")));
    mariadb(&format!("DROP USER '{user}'@'%';"));
}

#[test]
fn cdc_heartbeats_while_idle() {
    require_kafka();
    let db = database("cdc_heartbeat");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-hb");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, "heartbeat.interval.ms=300\n"));
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let beats = consume(&format!("__debezium-heartbeat.{prefix}"), 2, Duration::from_secs(30));
    wait_until(Duration::from_secs(10), "an offset from a heartbeat", || offset(&dir).is_some());
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(beats.len(), 2, "{}", log_text(&dir.path("log")));
    let key = String::from_utf8(beats[0].0.clone().unwrap()).unwrap();
    assert_eq!(
        key,
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"serverName"}}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1}},"payload":{{"serverName":"{prefix}"}}}}"#
        )
    );
    let value: Json = serde_json::from_slice(beats[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(value["schema"]["name"], "io.debezium.connector.common.Heartbeat");
    assert!(value["payload"]["ts_ms"].as_i64().unwrap() > 1_700_000_000_000);
    // the heartbeat's offset is a committed position: nothing to skip after it
    let o = offset(&dir).unwrap();
    assert!(o.get("event").is_none() && o.get("row").is_none(), "{o}");
}
