//! Servers restarting under a running pipeline: a private MariaDB or PostgreSQL (its own data
//! directory and port) shut down cleanly and restarted, then `kill -9`ed and restarted, while a
//! writer inserts rows throughout, under the binlog CDC source and the JDBC source. Each pipeline
//! must keep running, lose nothing (every row the server holds at the end reaches the topic) and
//! deliver the rows written after the last restart within 20 s of the last write.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::binlog_cdc::{changes, server_id};
use crate::harness::*;
use crate::private_mariadb::{self, PrivateMariaDb};
use crate::private_postgres::{self, PrivatePostgres};

/// Runs SQL on the server at a port: the text, or the client's error.
type SqlFn = fn(u16, &str) -> Result<String, String>;

/// A server a test can stop and start again.
trait Restartable {
    fn port(&self) -> u16;
    fn sql_fn(&self) -> SqlFn;
    fn shutdown(&mut self);
    fn kill(&mut self);
    fn up(&mut self);
}

impl Restartable for PrivateMariaDb {
    fn port(&self) -> u16 {
        self.port
    }
    fn sql_fn(&self) -> SqlFn {
        private_mariadb::try_sql
    }
    fn shutdown(&mut self) {
        PrivateMariaDb::shutdown(self)
    }
    fn kill(&mut self) {
        PrivateMariaDb::kill(self)
    }
    fn up(&mut self) {
        PrivateMariaDb::up(self)
    }
}

impl Restartable for PrivatePostgres {
    fn port(&self) -> u16 {
        self.port
    }
    fn sql_fn(&self) -> SqlFn {
        private_postgres::try_sql
    }
    fn shutdown(&mut self) {
        PrivatePostgres::shutdown(self)
    }
    fn kill(&mut self) {
        PrivatePostgres::kill(self)
    }
    fn up(&mut self) {
        PrivatePostgres::up(self)
    }
}

/// Inserts ids 1, 2, … into `db.t` one transaction each until stopped, retrying an id while the
/// server is away (a duplicate key after a retry means the lost answer's insert had committed).
struct Writer {
    stop: Arc<AtomicBool>,
    next: Arc<AtomicI64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(port: u16, sql: SqlFn, table: &str) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicI64::new(1));
        let (s, n, table) = (stop.clone(), next.clone(), table.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let id = n.load(Ordering::Relaxed);
                match sql(port, &format!("INSERT INTO {table} (id, v) VALUES ({id}, 'row {id}')")) {
                    Ok(_) => {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.contains("Duplicate entry") || e.contains("duplicate key") => {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Writer { stop, next, thread: Some(thread) }
    }

    /// Waits until `n` more rows are in.
    fn wait_rows(&self, n: i64) {
        let target = self.next.load(Ordering::Relaxed) + n;
        wait_until(Duration::from_secs(60), "the writer's rows", || self.next.load(Ordering::Relaxed) >= target);
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// Shuts the server down cleanly, then kills it, each time starting it again after a pause.
fn restart_twice(db: &mut dyn Restartable, writer: &Writer) {
    writer.wait_rows(30);
    db.shutdown();
    std::thread::sleep(Duration::from_secs(3));
    db.up();
    writer.wait_rows(30);
    db.kill();
    std::thread::sleep(Duration::from_secs(3));
    db.up();
}

/// The ids on the server at the end.
fn ids_on_server(db: &dyn Restartable, table: &str) -> BTreeSet<i64> {
    let rows = (db.sql_fn())(db.port(), &format!("SELECT id FROM {table}")).unwrap();
    rows.lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// Waits until every id in `want` was read by `read` (each read takes up to 2 s), failing 20 s
/// after the last write (`since`, a second or two after the server's return); returns the ids.
fn await_ids(
    want: &BTreeSet<i64>,
    since: Instant,
    log: &Path,
    mut read: impl FnMut() -> BTreeSet<i64>,
) -> BTreeSet<i64> {
    loop {
        let got = read();
        let missing: Vec<_> = want.difference(&got).take(10).collect();
        if missing.is_empty() {
            return got;
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "rows missing {:?} s after the last write: {missing:?} …\n{}",
            since.elapsed().as_secs(),
            log_text(log)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs the connector file `connector(port)` against `db` (holding an empty `app.t`), waits for
/// `ready` in the log, restarts the server twice under a writer, then checks that `read` (the
/// ids on the topic) reaches exactly the ids on the server and the worker still runs; returns
/// the log.
fn through_restarts(
    db: &mut dyn Restartable,
    connector: impl FnOnce(u16) -> String,
    ready: &str,
    mut read: impl FnMut(usize) -> BTreeSet<i64>,
) -> String {
    require_kafka();
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let connector = dir.write("connector.properties", &connector(db.port()));
    let log = dir.path("log");
    let mut child = spawn(&[&worker, &connector], &log);
    wait_until(Duration::from_secs(30), ready, || log_text(&log).contains(ready));
    let writer = Writer::start(db.port(), db.sql_fn(), "app.t");
    restart_twice(db, &writer);
    writer.wait_rows(30);
    writer.finish();
    let want = ids_on_server(db, "app.t");
    let got = await_ids(&want, Instant::now(), &log, || read(want.len()));
    assert_eq!(got, want, "every row on the server, nothing else");
    let text = log_text(&log);
    assert!(child.try_wait().unwrap().is_none(), "the worker kept running:\n{text}");
    sigterm(&mut child);
    text
}

/// A private MariaDB holding an empty `app.t`.
fn mariadb_with_table() -> PrivateMariaDb {
    let db = PrivateMariaDb::start();
    db.sql("CREATE DATABASE app; CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(40))");
    db
}

/// The ids of JsonConverter values with schemas, `payload.id`, on `topic`.
/// The row ids on the topic. A marker record is produced first: Tansu reports the last batch's
/// base offset + 1 as the high watermark and serves nothing past it, so the tail of a topic
/// whose last batch holds several records stays invisible until something follows it
/// (services.md, incompatibility 2). The markers carry no id and are skipped.
fn payload_ids(topic: &str, n: usize) -> BTreeSet<i64> {
    produce(topic, &[(br#"{"marker":true}"#, &[])]);
    consume(topic, n + 100, Duration::from_secs(2))
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<serde_json::Value>(&v?).ok()?["payload"]["id"].as_i64())
        .collect()
}

#[test]
fn binlog_cdc_streams_through_a_clean_mariadb_restart_and_a_kill() {
    let prefix = unique("cdc-restart");
    let topic = format!("{prefix}.app.t");
    let connector = |port| {
        format!(
            "name={}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\n\
             database.hostname=127.0.0.1\ndatabase.port={port}\ndatabase.user=root\ndatabase.password=\n\
             database.server.id={}\ntopic.prefix={prefix}\ndatabase.include.list=app\ninclude.schema.changes=false\n\
             topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
            unique("cdc"),
            server_id()
        )
    };
    let text = through_restarts(&mut mariadb_with_table(), connector, "streaming the binlog", |n| {
        changes(&topic, n, Duration::from_secs(2)).iter().filter(|c| c.op() == "c").map(|c| c.id()).collect()
    });
    assert!(text.contains("the server ended the binlog stream"), "the clean shutdown is named:\n{text}");
    assert!(text.contains("streaming the binlog again"), "{text}");
}

#[test]
fn jdbc_source_polls_through_a_clean_mariadb_restart_and_a_kill() {
    let prefix = unique("jdbc-restart-");
    let topic = format!("{prefix}t");
    let connector = |port| {
        format!(
            "name={}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
             connection.url=jdbc:mariadb://127.0.0.1:{port}/app?user=root\nmode=incrementing\n\
             incrementing.column.name=id\ntable.whitelist=t\ntopic.prefix={prefix}\npoll.interval.ms=200\n\
             connection.backoff.ms=1000\ntopic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
            unique("jdbc")
        )
    };
    through_restarts(&mut mariadb_with_table(), connector, "task started", |n| payload_ids(&topic, n));
}

#[test]
fn jdbc_source_polls_through_a_clean_postgres_restart_and_a_kill() {
    let mut db = PrivatePostgres::start();
    db.sql("CREATE SCHEMA app; CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(40))");
    let prefix = unique("jdbc-pg-restart-");
    let topic = format!("{prefix}t");
    let connector = |port| {
        format!(
            "name={}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
             connection.url=jdbc:postgresql://127.0.0.1:{port}/postgres?user=postgres\nmode=incrementing\n\
             incrementing.column.name=id\nschema.pattern=app\ntable.whitelist=t\ntopic.prefix={prefix}\n\
             poll.interval.ms=200\nconnection.backoff.ms=1000\ntopic.creation.default.partitions=1\n\
             topic.creation.default.replication.factor=1\n",
            unique("jdbc-pg")
        )
    };
    through_restarts(&mut db, connector, "task started", |n| payload_ids(&topic, n));
}
