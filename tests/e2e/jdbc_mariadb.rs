//! The JDBC source against the real MariaDB of `scripts/services`: every mode, golden
//! JsonConverter bytes for every mapped column type, offsets, restarts, new tables, errors.

use std::time::Duration;

use crate::harness::*;

/// A fresh database for one test.
fn database(prefix: &str) -> String {
    let db = unique(prefix).replace('-', "_");
    mariadb(&format!("CREATE DATABASE {db}"));
    db
}

fn props(name: &str, db: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max=1\n\
         connection.url=jdbc:mysql://127.0.0.1:3307/{db}?user=root&useSSL=false\npoll.interval.ms=200\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{extra}"
    )
}

fn offset_of(dir: &Dir, table: &str) -> Option<serde_json::Value> {
    dir.offsets().into_iter().find(|e| e["partition"]["table"] == table).map(|e| e["offset"].clone())
}

#[test]
fn mariadb_column_types_golden_bytes_and_offsets() {
    require_kafka();
    let db = database("e2e_types");
    mariadb(&format!(
        "CREATE TABLE {db}.types (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, \
         amount DECIMAL(30,10), big BIGINT UNSIGNED, small TINYINT UNSIGNED, flag TINYINT(1), \
         ratio DOUBLE, dt DATETIME(6), ts TIMESTAMP(3) NULL, d DATE, tm TIME, tx TEXT, bl BLOB, \
         e ENUM('a','b'), j JSON);\n\
         INSERT INTO {db}.types VALUES (NULL, 'x', -12345678901234567890.0123456789, 18446744073709551615, 255, 1, \
         0.1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.789', '2024-01-02', '12:34:56', 'text', \
         'blob', 'b', '{{\"k\": [1, 2]}}');\n\
         INSERT INTO {db}.types (name) VALUES ('y');"
    ));
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let prefix = unique("jdbc-types-");
    let connector = dir.write(
        "jdbc.properties",
        &props(
            &unique("jdbc"),
            &db,
            &format!("mode=incrementing\ntopic.prefix={prefix}\nunsigned.bigint.mapping=decimal\n"),
        ),
    );
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let got = values(&format!("{prefix}types"), 2, Duration::from_secs(30));
    wait_until(Duration::from_secs(10), "offsets", || offset_of(&dir, &format!("{db}.types")).is_some());
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
    assert_eq!(got.len(), 2, "{}", log_text(&dir.path("log")));
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":false,"field":"name"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10","connect.decimal.precision":"30"},"field":"amount"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"field":"big"},{"type":"int16","optional":true,"field":"small"},{"type":"int8","optional":true,"field":"flag"},{"type":"double","optional":true,"field":"ratio"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"dt"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"d"},{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"tm"},{"type":"string","optional":true,"field":"tx"},{"type":"bytes","optional":true,"field":"bl"},{"type":"string","optional":true,"field":"e"},{"type":"string","optional":true,"field":"j"}],"optional":false,"name":"types"}"#;
    let first = format!(
        r#"{{"schema":{schema},"payload":{{"id":1,"name":"x","amount":"{amount}","big":"AP//////////","small":255,"flag":1,"ratio":0.1,"dt":1704164645123,"ts":1704164645789,"d":19724,"tm":45296000,"tx":"text","bl":"YmxvYg==","e":"b","j":"{{\"k\": [1, 2]}}"}}}}"#,
        amount = "/nEW8Ak8jB8R8/sq6w==",
    );
    let second = format!(
        r#"{{"schema":{schema},"payload":{{"id":2,"name":"y","amount":null,"big":null,"small":null,"flag":null,"ratio":null,"dt":null,"ts":null,"d":null,"tm":null,"tx":null,"bl":null,"e":null,"j":null}}}}"#
    );
    assert_eq!(got[0], first);
    assert_eq!(got[1], second);
    assert_eq!(offset_of(&dir, &format!("{db}.types")), Some(serde_json::json!({"incrementing": 2})));
}
