//! The JDBC source against the MariaDB and PostgreSQL of `scripts/services`, at the connector
//! API: the runtime's conformance checks, the task split, and a task's records and offsets.
//! (The pipelines through the `sluice` binary and Kafka are in the workspace's `tests/e2e`.)
//!
//! Run: `scripts/services up && cargo test -p sluice-connector-jdbc --test conformance`.

use std::process::Command;
use std::time::{Duration, Instant};

use connector_jdbc::JdbcSourceConnector;
use runtime::config::ConfigReader;
use runtime::testkit::{assert_source_conformance, connector_context, raw_config, MemoryOffsets};
use runtime::{SourceConnector, SourceTask};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn client(program: &str, args: &[&str], what: &str) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("the {program} client: {e}"));
    assert!(out.status.success(), "{what} (run scripts/services up): {}", String::from_utf8_lossy(&out.stderr));
}

fn mariadb(sql: &str) {
    client("mariadb", &["-h127.0.0.1", "-P3307", "-uroot", "-e", sql], "MariaDB at 127.0.0.1:3307");
}

fn psql(sql: &str) {
    let args = ["-h", "127.0.0.1", "-p", "5433", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql];
    client("psql", &args, "PostgreSQL at 127.0.0.1:5433");
}

#[tokio::test]
async fn mariadb_source_conforms() {
    let db = unique("conf");
    mariadb(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT); \
         INSERT INTO {db}.t (v) VALUES ('a'), ('b');"
    ));
    let url = format!("jdbc:mariadb://127.0.0.1:3307/{db}?user=root");
    assert_source_conformance::<JdbcSourceConnector>(
        &[("name", "j"), ("connector.class", "jdbc-source"), ("connection.url", &url), ("mode", "incrementing")],
        2,
    )
    .await;
}

#[tokio::test]
async fn postgres_tables_split_and_a_task_resumes_its_own() {
    let schema = unique("conf");
    psql(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.a (id serial PRIMARY KEY); \
         CREATE TABLE {schema}.b (id serial PRIMARY KEY); CREATE TABLE {schema}.c (id serial PRIMARY KEY); \
         INSERT INTO {schema}.c DEFAULT VALUES; INSERT INTO {schema}.c DEFAULT VALUES;"
    ));
    let raw = raw_config(&[
        ("name", "j"),
        ("connector.class", "jdbc-source"),
        ("connection.url", "postgres://postgres@127.0.0.1:5433/postgres"),
        ("schema.pattern", &schema),
        ("mode", "incrementing"),
        ("poll.interval.ms", "100"),
    ]);
    let mut reader = ConfigReader::new(&raw);
    let mut connector = JdbcSourceConnector::from_config(&mut reader).expect("config parses");
    connector.start(connector_context()).await.expect("the connector starts");
    let configs = connector.task_configs(2);
    let tables: Vec<&str> = configs.iter().map(|c| c["tables"].as_str()).collect();
    assert_eq!(
        tables,
        [format!("\"{schema}\".\"a\",\"{schema}\".\"b\""), format!("\"{schema}\".\"c\"")],
        "groupPartitions: the first task gets the extra table"
    );
    // c's task resumes after id 1: it reads only id 2
    let offsets = MemoryOffsets::default().with(
        &serde_json::json!({"protocol": "1", "table": format!("{schema}.c")}),
        &serde_json::json!({"incrementing": 1}),
    );
    let mut task = connector.create_task(&configs[1]).unwrap();
    task.start(&offsets).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    while records.is_empty() && Instant::now() < deadline {
        records = task.poll().await.unwrap();
    }
    task.stop().await;
    assert_eq!(records.len(), 1);
    assert_eq!(&*records[0].topic, "c");
    assert_eq!(serde_json::to_string(&records[0].offset).unwrap(), r#"{"incrementing":2}"#);
    assert_eq!(
        serde_json::to_string(&records[0].partition).unwrap(),
        format!(r#"{{"protocol":"1","table":"{schema}.c"}}"#)
    );
}
