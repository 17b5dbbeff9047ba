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

fn field<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &record["payload"][name]
}

fn parsed(topic: &str, n: usize) -> Vec<serde_json::Value> {
    parsed_within(topic, n, 30)
}

fn parsed_within(topic: &str, n: usize, seconds: u64) -> Vec<serde_json::Value> {
    values(topic, n, Duration::from_secs(seconds)).iter().map(|v| serde_json::from_str(v).unwrap()).collect()
}

#[test]
fn mariadb_timestamp_modes_see_inserts_and_updates_but_not_backward_moves_and_bulk_rereads() {
    require_kafka();
    let db = database("e2e_ts");
    mariadb(&format!(
        "CREATE TABLE {db}.events (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10) NOT NULL, updated_at DATETIME(3) NOT NULL);\n\
         INSERT INTO {db}.events (v, updated_at) VALUES ('a', '2024-01-01 00:00:01'), ('b', '2024-01-01 00:00:02'), ('c', '2024-01-01 00:00:03');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let (ts, tsinc, bulk) = (unique("jdbc-ts-"), unique("jdbc-tsinc-"), unique("jdbc-bulk-"));
    let a = dir.write(
        "ts.properties",
        &props(&unique("ts"), &db, &format!("mode=timestamp\ntimestamp.column.name=updated_at\ntopic.prefix={ts}\n")),
    );
    let b = dir.write(
        "tsinc.properties",
        &props(
            &unique("tsinc"),
            &db,
            &format!("mode=timestamp+incrementing\ntimestamp.column.name=updated_at\nincrementing.column.name=id\ntopic.prefix={tsinc}\n"),
        ),
    );
    let c = dir.write("bulk.properties", &props(&unique("bulk"), &db, &format!("mode=bulk\ntopic.prefix={bulk}\n")));
    let mut child = spawn(&[&worker, &a, &b, &c], &dir.path("log"));
    assert_eq!(parsed(&format!("{ts}events"), 3).len(), 3, "{}", log_text(&dir.path("log")));
    mariadb(&format!(
        "UPDATE {db}.events SET v = 'a2', updated_at = '2024-01-01 00:00:10' WHERE id = 1;\n\
         UPDATE {db}.events SET v = 'back', updated_at = '2023-01-01 00:00:00' WHERE id = 2;\n\
         INSERT INTO {db}.events (v, updated_at) VALUES ('d', '2024-01-01 00:00:20.5');"
    ));
    for prefix in [&ts, &tsinc] {
        wait_until(Duration::from_secs(30), "the changes", || {
            parsed_within(&format!("{prefix}events"), 5, 2).len() == 5
        });
        // and nothing more: the backward move is not seen (documented)
        let got = parsed_within(&format!("{prefix}events"), 6, 3);
        let seen: Vec<&str> = got.iter().map(|r| field(r, "v").as_str().unwrap()).collect();
        assert_eq!(seen, ["a", "b", "c", "a2", "d"], "{prefix}: the backward move is not seen (documented)");
        assert_eq!(field(&got[4], "updated_at"), 1704067220500i64);
    }
    let rounds = parsed(&format!("{bulk}events"), 8);
    assert_eq!(rounds.len(), 8, "bulk mode re-reads the whole table every poll");
    wait_until(Duration::from_secs(10), "offsets", || dir.offsets().len() >= 2);
    assert!(sigterm(&mut child).success());
    let offsets: Vec<serde_json::Value> = dir.offsets().into_iter().map(|e| e["offset"].clone()).collect();
    assert_eq!(offsets.len(), 2, "bulk stores no offset: {offsets:?}");
    assert!(offsets.contains(&serde_json::json!({"timestamp_nanos": 500000000, "timestamp": 1704067220500i64})));
    assert!(offsets.contains(
        &serde_json::json!({"timestamp_nanos": 500000000, "incrementing": 4, "timestamp": 1704067220500i64})
    ));
    let log = log_text(&dir.path("log"));
    assert!(log.contains("timestamp.delay.interval.ms=0 in a timestamp mode"), "the loud warning");
}

#[test]
fn mariadb_rows_sharing_a_timestamp_survive_kill_dash_9_mid_group() {
    require_kafka();
    let db = database("e2e_shared");
    mariadb(&format!(
        "USE {db};\nCREATE TABLE {db}.shared (id INT AUTO_INCREMENT PRIMARY KEY, updated_at DATETIME NOT NULL);\n\
         INSERT INTO {db}.shared (updated_at) SELECT '2024-01-01 00:00:01' FROM seq_1_to_30000;\n\
         INSERT INTO {db}.shared (updated_at) VALUES ('2024-01-01 00:00:02');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "offset.flush.interval.ms=100\n");
    let prefix = unique("jdbc-shared-");
    let connector = dir.write(
        "jdbc.properties",
        &props(
            &unique("shared"),
            &db,
            &format!("mode=timestamp\ntimestamp.column.name=updated_at\nbatch.max.rows=100\ntopic.prefix={prefix}\n"),
        ),
    );
    let table = format!("{db}.shared");
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    wait_until(Duration::from_secs(30), "a first offset", || offset_of(&dir, &table).is_some());
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = offset_of(&dir, &table).unwrap();
    // inside the group the offset stays at the previous timestamp (epoch here); it reaches the
    // group's own timestamp only with the row after the group
    assert!(at_kill["timestamp"] == 0 || at_kill["timestamp"] == 1704067202000i64, "{at_kill}");
    let mut child = spawn(&[&worker, &connector], &dir.path("log2"));
    let topic = format!("{prefix}shared");
    let mut ids = std::collections::BTreeSet::new();
    wait_until(Duration::from_secs(60), "every row", || {
        ids = parsed(&topic, 80_000).iter().map(|r| field(r, "id").as_i64().unwrap()).collect();
        ids.len() == 30_001
    });
    wait_until(Duration::from_secs(10), "the final offset", || {
        offset_of(&dir, &table) == Some(serde_json::json!({"timestamp_nanos": 0, "timestamp": 1704067202000i64}))
    });
    assert!(sigterm(&mut child).success());
}

#[test]
fn mariadb_tables_split_over_tasks_and_a_new_table_is_picked_up() {
    require_kafka();
    let db = database("e2e_split");
    let small = database("e2e_three");
    for t in ["t1", "t2", "t3", "t4"] {
        mariadb(&format!(
            "CREATE TABLE {db}.{t} (id INT AUTO_INCREMENT PRIMARY KEY); INSERT INTO {db}.{t} VALUES (NULL);"
        ));
    }
    for t in ["a", "b", "c"] {
        mariadb(&format!("CREATE TABLE {small}.{t} (id INT AUTO_INCREMENT PRIMARY KEY);"));
    }
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let (four, three) = (unique("four"), unique("three"));
    let prefix = unique("jdbc-split-");
    let extra = format!("mode=incrementing\ntable.poll.interval.ms=1000\ntopic.prefix={prefix}\n");
    let a = dir.write("four.properties", &props(&four, &db, &extra).replace("tasks.max=1", "tasks.max=2"));
    let b = dir.write("three.properties", &props(&three, &small, &extra).replace("tasks.max=1", "tasks.max=4"));
    let mut child = spawn(&[&worker, &a, &b], &dir.path("log"));
    let tables = |name: &str| -> Vec<String> {
        let (_, tasks) = get(port, &format!("/connectors/{name}/tasks"));
        tasks
            .as_array()
            .map_or(vec![], |ts| ts.iter().map(|t| t["config"]["tables"].as_str().unwrap().to_owned()).collect())
    };
    // the connectors start one after the other: wait for both splits
    wait_until(Duration::from_secs(30), "tasks", || tables(&four).len() == 2 && tables(&three).len() == 3);
    assert_eq!(tables(&four), [format!("`{db}`.`t1`,`{db}`.`t2`"), format!("`{db}`.`t3`,`{db}`.`t4`")]);
    assert_eq!(tables(&three), [format!("`{small}`.`a`"), format!("`{small}`.`b`"), format!("`{small}`.`c`")]);
    mariadb(&format!(
        "CREATE TABLE {db}.t5 (id INT AUTO_INCREMENT PRIMARY KEY); INSERT INTO {db}.t5 VALUES (NULL), (NULL);"
    ));
    wait_until(Duration::from_secs(30), "reassignment", || {
        tables(&four) == [format!("`{db}`.`t1`,`{db}`.`t2`,`{db}`.`t3`"), format!("`{db}`.`t4`,`{db}`.`t5`")]
    });
    assert_eq!(parsed(&format!("{prefix}t5"), 2).len(), 2, "{}", log_text(&dir.path("log")));
    assert!(sigterm(&mut child).success());
}

#[test]
fn mariadb_errors_name_the_cause() {
    require_kafka();
    let db = database("e2e_err");
    mariadb(&format!("CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT);"));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let bad_password = dir.write(
        "pw.properties",
        &props(&unique("pw"), &db, "mode=bulk\n").replace("user=root&", "user=root&password=n0t-the-Secret&"),
    );
    let out = run(&[&worker, &bad_password]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("access denied for user \"root\": check connection.user and connection.password"), "{err}");
    assert!(!err.contains("n0t-the-Secret"), "the password is never printed");

    let port = free_port();
    let unreachable = dir.write(
        "down.properties",
        &props(&unique("down"), &db, "mode=bulk\nconnection.attempts=2\nconnection.backoff.ms=100\n")
            .replace("127.0.0.1:3307", &format!("127.0.0.1:{port}")),
    );
    let out = run(&[&worker, &unreachable]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("cannot connect to 127.0.0.1:{port}/{db}")), "{err}");
    assert!(err.contains("retrying"), "{err}");

    let missing =
        dir.write("col.properties", &props(&unique("col"), &db, "mode=incrementing\nincrementing.column.name=nope\n"));
    let out = run(&[&worker, &missing]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "table {db}.t: column \"nope\" (incrementing.column.name) does not exist; its columns are: id, v"
        )),
        "{err}"
    );

    let nullable = dir.write(
        "null.properties",
        &props(&unique("null"), &db, "mode=timestamp+incrementing\ntimestamp.column.name=v\n"),
    );
    let out = run(&[&worker, &nullable]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("timestamp column v is nullable; make it NOT NULL, or set validate.non.null=false"), "{err}");
}

#[test]
fn mariadb_query_mode_runs_one_task_with_the_suffix_and_the_query_partition() {
    require_kafka();
    let db = database("e2e_query");
    mariadb(&format!(
        "CREATE TABLE {db}.q (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10) NOT NULL);\n\
         INSERT INTO {db}.q (v) VALUES ('a'), ('b'), ('skip'), ('c'), ('d');"
    ));
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let topic = unique("jdbc-query");
    let name = unique("query");
    let connector = dir.write(
        "q.properties",
        &props(
            &name,
            &db,
            &format!(
                "query=SELECT * FROM (SELECT id, v FROM {db}.q WHERE v <> 'skip') AS q\nquery.suffix=LIMIT 2\n\
                 mode=incrementing\nincrementing.column.name=id\ntopic.prefix={topic}\n"
            ),
        )
        .replace("tasks.max=1", "tasks.max=3"),
    );
    let mut child = spawn(&[&worker, &connector], &dir.path("log"));
    let got = parsed(&topic, 4);
    let ids: Vec<i64> = got.iter().map(|r| field(r, "id").as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 4, 5], "{}", log_text(&dir.path("log")));
    assert!(got[0]["schema"].get("name").is_none(), "query mode: the value schema has no name");
    let (_, tasks) = get(port, &format!("/connectors/{name}/tasks"));
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "query mode is one task whatever tasks.max");
    wait_until(Duration::from_secs(10), "offsets", || {
        dir.offsets().iter().any(|e| {
            e["partition"] == serde_json::json!({"query": "query"})
                && e["offset"] == serde_json::json!({"incrementing": 5})
        })
    });
    assert!(sigterm(&mut child).success());
}

#[test]
fn mariadb_unquoted_identifiers_micros_granularity_and_a_masked_query() {
    require_kafka();
    let db = database("e2e_opts");
    mariadb(&format!(
        "CREATE TABLE {db}.o (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL);\n\
         INSERT INTO {db}.o (id, at) VALUES (-5, '2023-01-01 00:00:00');\n\
         INSERT INTO {db}.o (at) VALUES ('2024-01-02 03:04:05.123456');"
    ));
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let (prefix, topic) = (unique("jdbc-opts-"), unique("jdbc-masked"));
    let table = dir.write(
        "t.properties",
        &props(
            &unique("opts"),
            &db,
            &format!("mode=incrementing\nquote.sql.identifiers=never\ntimestamp.granularity=micros_long\ntopic.prefix={prefix}\n"),
        ),
    );
    let query = dir.write(
        "q.properties",
        &props(
            &unique("masked"),
            &db,
            &format!("mode=bulk\nquery=SELECT id FROM {db}.o\nquery.masked=true\ntopic.prefix={topic}\n"),
        ),
    );
    let mut child = spawn(&[&worker, &table, &query], &dir.path("log"));
    let got = parsed(&format!("{prefix}o"), 1);
    assert_eq!(got[0]["payload"]["at"], 1704164645123456i64, "{}", log_text(&dir.path("log")));
    assert_eq!(got[0]["schema"]["fields"][1], serde_json::json!({"type": "int64", "optional": false, "field": "at"}));
    assert_eq!(parsed(&topic, 1).len(), 1);
    assert!(sigterm(&mut child).success());
    let log = log_text(&dir.path("log"));
    assert!(log.contains(&format!("SELECT * FROM {db}.o WHERE {db}.o.id > ? ORDER BY {db}.o.id ASC")), "{log}");
    assert!(!log.contains(&format!("SELECT id FROM {db}.o")), "query.masked hides the query");
    assert!(log.contains("the incrementing column has values below -1"), "id -5 is never read, and said so");
}

#[test]
fn restarting_one_task_leaves_the_other_running() {
    require_kafka();
    let db = database("e2e_one_task");
    for t in ["t1", "t2"] {
        mariadb(&format!(
            "CREATE TABLE {db}.{t} (id INT AUTO_INCREMENT PRIMARY KEY); INSERT INTO {db}.{t} VALUES (NULL);"
        ));
    }
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let name = unique("one-task");
    let prefix = unique("jdbc-one-task-");
    let extra = format!("mode=incrementing\ntopic.prefix={prefix}\n");
    let file = dir.write("c.properties", &props(&name, &db, &extra).replace("tasks.max=1", "tasks.max=2"));
    let log = dir.path("log");
    let mut child = spawn(&[&worker, &file], &log);
    let started = |task: usize| log_text(&log).matches(&format!("task={task}}}: task started")).count();
    wait_until(Duration::from_secs(30), "both tasks", || started(0) == 1 && started(1) == 1);
    assert_eq!(request(port, "POST", &format!("/connectors/{name}/tasks/1/restart")).0, 204);
    wait_until(Duration::from_secs(30), "task 1 started again", || started(1) == 2);
    let (_, status) = get(port, &format!("/connectors/{name}/status"));
    assert_eq!(
        (status["tasks"][0]["state"].as_str(), status["tasks"][1]["state"].as_str()),
        (Some("RUNNING"), Some("RUNNING"))
    );
    assert_eq!(started(0), 1, "task 0 was restarted too:\n{}", log_text(&log));
    // both go on: new rows of both tables arrive, each once
    mariadb(&format!("INSERT INTO {db}.t1 VALUES (NULL); INSERT INTO {db}.t2 VALUES (NULL);"));
    wait_until(Duration::from_secs(30), "the new rows", || {
        parsed_within(&format!("{prefix}t1"), 2, 1).len() == 2 && parsed_within(&format!("{prefix}t2"), 2, 1).len() == 2
    });
    assert_eq!(parsed_within(&format!("{prefix}t1"), 3, 3).len(), 2, "each row once");
    assert_eq!(parsed_within(&format!("{prefix}t2"), 3, 3).len(), 2, "each row once");
    // onlyFailed with nothing failed restarts nothing
    let (code, body) = request(port, "POST", &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=true"));
    assert_eq!(code, 202, "{body}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!((started(0), started(1)), (1, 2), "{}", log_text(&log));
    assert!(sigterm(&mut child).success());
}
