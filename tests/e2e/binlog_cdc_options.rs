//! Binlog CDC options and edge cases against the MariaDB of `scripts/services`: the schema
//! history behind a DDL, `message.key.columns`, truncate events, spatial columns, and a purged
//! stored position (with `snapshot.mode=when_needed`).

use std::time::Duration;

use serde_json::Value as Json;

use crate::binlog_cdc::{changes, database, offset, props, spawn_streaming, Change};
use crate::harness::*;

/// A connector restarted behind a DDL that the binlog's TABLE_MAP cannot show (a changed
/// default) or that removes what only the catalogue knows (a JSON column): the rows written
/// before the DDL still decode with the structure they were written under, from the schema
/// history next to the offsets.
#[test]
fn cdc_schema_history_decodes_rows_behind_a_ddl() {
    require_kafka();
    let db = database("cdc_hist");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, doc JSON, n INT NOT NULL DEFAULT 5)"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-hist");
    let name = unique("cdc");
    let connector = dir.write("cdc.properties", &props(&name, &db, &prefix, ""));
    let topic = format!("{prefix}.{db}.t");
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!("INSERT INTO {db}.t VALUES (1, '{{\"a\": 1}}', 1)"));
    assert_eq!(changes(&topic, 1, Duration::from_secs(30)).len(), 1, "{}", log_text(&dir.path("log")));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let history = dir.path(&format!("connect.offsets.{name}.schema-history"));
    assert!(std::fs::read_to_string(&history).unwrap().contains("\"db\""), "history at {}", history.display());

    mariadb(&format!(
        "INSERT INTO {db}.t VALUES (2, '{{\"b\": 2}}', 2); \
         ALTER TABLE {db}.t DROP COLUMN doc, ALTER COLUMN n SET DEFAULT 6; INSERT INTO {db}.t VALUES (3, 3);"
    ));
    let mut child = spawn(&[&worker, &connector], &dir.path("log2"));
    let got = changes(&topic, 3, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log2")));
    assert_eq!(got.len(), 3, "{}", log_text(&dir.path("log2")));
    let field = |i: usize, name: &str| {
        got[i].value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).cloned()
    };
    assert_eq!(serde_json::to_string(got[1].after()).unwrap(), r#"{"id":2,"doc":"{\"b\": 2}","n":2}"#);
    assert_eq!(field(1, "doc").unwrap()["name"], "io.debezium.data.Json", "{}", log_text(&dir.path("log2")));
    assert_eq!(field(1, "n").unwrap()["default"], 5);
    assert_eq!(serde_json::to_string(got[2].after()).unwrap(), r#"{"id":3,"n":3}"#);
    assert_eq!(field(2, "n").unwrap()["default"], 6);
    assert!(!log_text(&dir.path("log2")).contains("no longer matches"), "{}", log_text(&dir.path("log2")));
}

/// `message.key.columns`: a table without a primary key gets the named key, in snapshot and
/// streaming; a table with one gets the named columns instead; an update of a key column is a
/// delete, a tombstone and a create, as for a primary key.
#[test]
fn cdc_message_key_columns() {
    require_kafka();
    let db = database("cdc_keys");
    mariadb(&format!(
        "CREATE TABLE {db}.nopk (code VARCHAR(8) NOT NULL, v INT); INSERT INTO {db}.nopk VALUES ('a', 1); \
         CREATE TABLE {db}.pk (id INT PRIMARY KEY, region CHAR(2) NOT NULL, n INT NOT NULL); \
         INSERT INTO {db}.pk VALUES (1, 'eu', 7);"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-keys");
    let extra = format!("message.key.columns={db}.nopk:code;{db}\\.p.*:region,n\n");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, &extra));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!("INSERT INTO {db}.nopk VALUES ('b', 2); UPDATE {db}.pk SET n = 8 WHERE id = 1;"));
    let nopk = changes(&format!("{prefix}.{db}.nopk"), 2, Duration::from_secs(30));
    let pk = changes(&format!("{prefix}.{db}.pk"), 4, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let keys = |cs: &[Change]| cs.iter().map(|c| serde_json::to_string(&c.key["payload"]).unwrap()).collect::<Vec<_>>();
    assert_eq!(keys(&nopk), [r#"{"code":"a"}"#, r#"{"code":"b"}"#], "{}", log_text(&dir.path("log")));
    assert_eq!(nopk[0].key["schema"]["name"], format!("{prefix}.{db}.nopk.Key"));
    assert_eq!(nopk[0].key["schema"]["optional"], false);
    assert_eq!(
        keys(&pk),
        [
            r#"{"region":"eu","n":7}"#,
            r#"{"region":"eu","n":7}"#,
            r#"{"region":"eu","n":7}"#,
            r#"{"region":"eu","n":8}"#
        ]
    );
    assert_eq!(pk.iter().map(Change::op).collect::<Vec<_>>(), ["r", "d", "tombstone", "c"]);
}

/// `TRUNCATE TABLE`: skipped by default, as Debezium; with `skipped.operations=none`, a record
/// with `op=t`, a null key and neither `before` nor `after`, in order with the other changes.
#[test]
fn cdc_truncate_events() {
    require_kafka();
    let db = database("cdc_trunc");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY); CREATE TABLE {db}.u (id INT PRIMARY KEY);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-trunc");
    let extra = format!("skipped.operations=none\ntable.include.list={db}\\.t\n");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, &extra));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!(
        "INSERT INTO {db}.t VALUES (1); TRUNCATE TABLE {db}.u; USE {db}; TRUNCATE t; INSERT INTO {db}.t VALUES (2);"
    ));
    let got = changes(&format!("{prefix}.{db}.t"), 3, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.iter().map(Change::op).collect::<Vec<_>>(), ["c", "t", "c"], "{}", log_text(&dir.path("log")));
    let t = &got[1];
    assert_eq!(t.key, Json::Null);
    assert_eq!((t.before(), t.after()), (&Json::Null, &Json::Null));
    assert_eq!(t.value["payload"]["source"]["table"], "t");
    assert_eq!(t.value["schema"]["name"], format!("{prefix}.{db}.t.Envelope"));

    // the default skips them
    let prefix = unique("cdc-trunc");
    let connector = dir.write("cdc2.properties", &props(&unique("cdc"), &db, &prefix, ""));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log2"));
    mariadb(&format!("TRUNCATE TABLE {db}.t; INSERT INTO {db}.t VALUES (3);"));
    let got = changes(&format!("{prefix}.{db}.t"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log2")));
    assert_eq!(got.iter().map(|c| (c.op().to_owned(), c.id())).collect::<Vec<_>>(), [("r".into(), 2), ("c".into(), 3)]);
}

/// Spatial columns as Debezium's MySQL connector gives them: POINT as `Point` {x, y, wkb, srid},
/// the other types as `Geometry` {wkb, srid}; SRID 0 is null. Snapshot and streaming agree.
#[test]
fn cdc_spatial_columns() {
    require_kafka();
    let db = database("cdc_geo");
    let values = "ST_PointFromText('POINT(1.5 -2)'), ST_GeomFromText('LINESTRING(0 0,1 1)', 4326), NULL";
    mariadb(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, p POINT NOT NULL, g GEOMETRY, pg POLYGON); \
         INSERT INTO {db}.t VALUES (1, {values});"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-geo");
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, ""));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!("INSERT INTO {db}.t VALUES (2, {values});"));
    let got = changes(&format!("{prefix}.{db}.t"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.len(), 2, "{}", log_text(&dir.path("log")));
    let wkb =
        |col: &str| mariadb(&format!("SELECT TO_BASE64(ST_AsWKB({col})) FROM {db}.t WHERE id = 1")).trim().to_owned();
    let expected = format!(
        r#"{{"id":ID,"p":{{"x":1.5,"y":-2.0,"wkb":"{}","srid":null}},"g":{{"wkb":"{}","srid":4326}},"pg":null}}"#,
        wkb("p"),
        wkb("g")
    );
    for (i, c) in got.iter().enumerate() {
        assert_eq!(
            serde_json::to_string(c.after()).unwrap(),
            expected.replace("ID", &(i + 1).to_string()),
            "{}",
            c.op()
        );
    }
    let fields = got[1].value["schema"]["fields"][1]["fields"].as_array().unwrap().clone();
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).unwrap().clone();
    assert_eq!(field("p")["name"], "io.debezium.data.geometry.Point");
    assert_eq!(field("p")["optional"], false);
    let names: Vec<_> = field("p")["fields"].as_array().unwrap().iter().map(|f| f["field"].clone()).collect();
    assert_eq!(names, ["x", "y", "wkb", "srid"]);
    assert_eq!(field("g")["name"], "io.debezium.data.geometry.Geometry");
    assert_eq!(field("pg")["name"], "io.debezium.data.geometry.Geometry");
    assert_eq!(field("pg")["optional"], true);
}

/// A stored position the server no longer has, by file and by GTID: the task fails with the
/// purge facts and the fix; `snapshot.mode=when_needed` takes a new snapshot instead.
#[test]
fn cdc_purged_position_fails_clearly_or_snapshots_when_needed() {
    require_kafka();
    let db = database("cdc_purged");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1), (2);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-purged");
    let name = unique("cdc");
    let set_offset = |offset: &str| {
        let out = sluice()
            .args(["offsets", "set"])
            .arg(dir.path("connect.offsets"))
            .args(["--connector", &name, "--partition", &format!(r#"{{"server":"{prefix}"}}"#), "--offset", offset])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    // no PURGE BINARY LOGS here (other tests restart from their own older positions): offsets
    // the server never had are purged positions as far as it can tell
    for (offset, wanted) in [
        (r#"{"file":"mariadb-bin.000000","pos":4}"#, "mariadb-bin.000000:4"),
        (r#"{"file":"mariadb-bin.000001","pos":4,"gtids":"77-1-5"}"#, "GTID 77-1-5"),
    ] {
        set_offset(offset);
        let connector = dir.write("cdc.properties", &props(&name, &db, &prefix, ""));
        let out = run(&[&worker, &connector]);
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains(&format!("the stored offset points at {wanted}, which the server no longer has")),
            "{text}"
        );
        assert!(text.contains("oldest binlog: mariadb-bin.") && text.contains("snapshot.mode=when_needed"), "{text}");
    }
    let connector = dir.write("cdc.properties", &props(&name, &db, &prefix, "snapshot.mode=when_needed\n"));
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    let got = changes(&format!("{prefix}.{db}.t"), 2, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    let log = log_text(&dir.path("log"));
    assert!(log.contains("snapshot.mode=when_needed takes a new snapshot"), "{log}");
    assert_eq!(got.iter().map(|c| (c.op().to_owned(), c.id())).collect::<Vec<_>>(), [("r".into(), 1), ("r".into(), 2)]);
    let stored = offset(&dir).unwrap();
    assert_ne!(stored["file"], "mariadb-bin.000000", "{stored}");
    assert!(stored.get("snapshot").is_none(), "{stored}");
}

/// Debezium's unwrap on the connector, as users configure it for S3 and JDBC sinks
/// (`delete.tombstone.handling.mode=rewrite`, `add.fields=op,table,source.ts_ms`): each change
/// is its row with `__deleted`, `__op`, `__table` and `__source_ts_ms`; a delete is the row
/// before it; Debezium's tombstone after the delete is dropped; and, as Kafka's InsertField
/// copies values in the rewrite path, an SQL NULL in a column with a default becomes the default.
#[test]
fn cdc_unwrap_rewrite_with_added_fields() {
    require_kafka();
    let db = database("cdc_unwrap");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, n INT NOT NULL, note VARCHAR(8) DEFAULT 'x')"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let prefix = unique("cdc-unwrap");
    let extra = "transforms=unwrap\ntransforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
                 transforms.unwrap.delete.tombstone.handling.mode=rewrite\n\
                 transforms.unwrap.add.fields=op,table,source.ts_ms\n";
    let connector = dir.write("cdc.properties", &props(&unique("cdc"), &db, &prefix, extra));
    let topic = format!("{prefix}.{db}.t");
    let mut child = spawn_streaming(&worker, &connector, &dir.path("log"));
    mariadb(&format!(
        "INSERT INTO {db}.t VALUES (1, 2, 'a'); UPDATE {db}.t SET n = 3 WHERE id = 1; \
         INSERT INTO {db}.t VALUES (2, 4, NULL); DELETE FROM {db}.t WHERE id = 1; INSERT INTO {db}.t VALUES (3, 5, 'c');"
    ));
    let got = changes(&topic, 5, Duration::from_secs(30));
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.len(), 5, "{}", log_text(&dir.path("log")));
    let rows: Vec<String> = got
        .iter()
        .map(|c| {
            let mut p = c.value["payload"].clone();
            let ts = p.as_object_mut().and_then(|o| o.remove("__source_ts_ms"));
            assert!(ts.and_then(|t| t.as_i64()).is_some_and(|t| t > 1_600_000_000_000), "{p}");
            serde_json::to_string(&p).unwrap()
        })
        .collect();
    assert_eq!(
        rows,
        [
            r#"{"id":1,"n":2,"note":"a","__deleted":"false","__op":"c","__table":"t"}"#,
            r#"{"id":1,"n":3,"note":"a","__deleted":"false","__op":"u","__table":"t"}"#,
            r#"{"id":2,"n":4,"note":"x","__deleted":"false","__op":"c","__table":"t"}"#,
            r#"{"id":1,"n":3,"note":"a","__deleted":"true","__op":"d","__table":"t"}"#,
            r#"{"id":3,"n":5,"note":"c","__deleted":"false","__op":"c","__table":"t"}"#,
        ],
        "Debezium's tombstone after the delete is dropped"
    );
    let schema = &got[0].value["schema"];
    assert_eq!(schema["name"], format!("{prefix}.{db}.t.Value"));
    assert_eq!(schema["optional"], false);
    let names: Vec<&str> = schema["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "n", "note", "__deleted", "__op", "__table", "__source_ts_ms"]);
    assert_eq!(schema["fields"][6]["type"], "int64");
    assert_eq!(schema["fields"][6]["optional"], true);
    assert_eq!(got[3].key["payload"]["id"], 1, "the key is unchanged");
}
