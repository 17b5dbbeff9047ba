//! The main job on a cluster: MariaDB → Kafka → S3 on three `sluice distributed` workers. A JDBC
//! source with four tables and `tasks.max=4`, the MariaDB binlog connector and an S3 sink are
//! created over REST; one worker is killed with -9 while rows are being written;
//! every row still reaches S3. A fourth worker joins and takes work, and after a full stop of the
//! cluster every connector resumes from the positions in the topics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::distributed::{all_logs, running_on, task_workers, write, Cluster, Node};
use crate::harness::*;
use crate::s3_store::Bucket;

const TABLES: usize = 4;

/// The databases, topics and bucket of one run.
struct Pipeline {
    jdbc_db: String,
    cdc_db: String,
    jdbc_topics: Vec<String>,
    cdc_topic: String,
    bucket: Bucket,
    names: [String; 3],
}

impl Pipeline {
    fn new() -> Pipeline {
        let jdbc_db = unique("e2e_pipe_jdbc").replace('-', "_");
        let cdc_db = unique("e2e_pipe_cdc").replace('-', "_");
        let mut sql = format!("CREATE DATABASE {jdbc_db}; CREATE DATABASE {cdc_db};");
        for t in 0..TABLES {
            sql += &format!("CREATE TABLE {jdbc_db}.t{t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20));");
        }
        sql += &format!("CREATE TABLE {cdc_db}.c (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20));");
        mariadb(&sql);
        let prefix = unique("e2e-pipe-");
        let jdbc_topics: Vec<String> = (0..TABLES).map(|t| format!("{prefix}t{t}")).collect();
        let cdc_topic = format!("{prefix}cdc.{cdc_db}.c");
        // one partition each, made before the sink subscribes (an auto-created topic has several)
        for topic in jdbc_topics.iter().chain([&cdc_topic]) {
            create_topic(topic);
        }
        Pipeline {
            jdbc_db,
            cdc_db,
            jdbc_topics,
            cdc_topic,
            bucket: Bucket::create("e2epipe"),
            names: [unique("pipe-jdbc"), unique("pipe-cdc"), unique("pipe-s3")],
        }
    }

    /// `n` more rows in every table, one statement each.
    fn insert(&self, n: usize) {
        let mut sql = String::new();
        for _ in 0..n {
            for t in 0..TABLES {
                sql += &format!("INSERT INTO {}.t{t} (v) VALUES ('r');", self.jdbc_db);
            }
            sql += &format!("INSERT INTO {}.c (v) VALUES ('c');", self.cdc_db);
        }
        mariadb(&sql);
    }

    /// The three connectors, created over REST on the given workers.
    fn create(&self, ports: [u16; 3]) {
        let prefix = self.cdc_topic.split("cdc.").next().unwrap();
        let jdbc = json!({
            "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector", "tasks.max": "4",
            "connection.url": format!("jdbc:mysql://127.0.0.1:3307/{}?user=root&useSSL=false", self.jdbc_db),
            "mode": "incrementing", "incrementing.column.name": "id", "topic.prefix": prefix,
            "poll.interval.ms": "200", "batch.max.rows": "50"
        });
        let cdc = json!({
            "connector.class": "io.debezium.connector.mariadb.MariaDbConnector", "tasks.max": "1",
            "database.hostname": "127.0.0.1", "database.port": "3307", "database.user": "root",
            "database.password": "", "database.server.id": crate::binlog_cdc::server_id().to_string(),
            "topic.prefix": format!("{prefix}cdc"), "database.include.list": self.cdc_db,
            "include.schema.changes": "false"
        });
        let topics: Vec<&str> = self.jdbc_topics.iter().chain([&self.cdc_topic]).map(String::as_str).collect();
        let s3 = json!({
            // one task: when a static member of a group with other members is taken over on
            // another worker, Tansu was seen to leave the whole group without an assignment
            // (services defects in the README); one member taken over is what it handles
            "connector.class": "io.confluent.connect.s3.S3SinkConnector", "tasks.max": "1",
            "topics": topics.join(","), "s3.bucket.name": self.bucket.name, "s3.region": "us-east-1",
            "store.url": crate::s3_store::endpoint(), "aws.access.key.id": "testkey",
            "aws.secret.access.key": "testsecret",
            "storage.class": "io.confluent.connect.s3.storage.S3Storage",
            "format.class": "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "flush.size": "40", "rotate.schedule.interval.ms": "2000", "timezone": "UTC"
        });
        for ((name, config), port) in self.names.iter().zip([jdbc, cdc, s3]).zip(ports) {
            let (status, text) = write(port, "PUT", &format!("/connectors/{name}/config"), &config.to_string());
            assert_eq!(status, 201, "create {name}: {text}");
        }
    }

    /// The row ids in S3 per topic: JDBC values read `Struct{id=7,…}`, Debezium's envelope
    /// `Struct{after=Struct{id=7,…},…}` (StringConverter, as the worker file sets).
    fn ids_in_s3(&self) -> BTreeMap<String, Vec<i64>> {
        let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for key in self.bucket.keys("topics/") {
            let topic = key.split('/').nth(1).unwrap_or_default().to_owned();
            let body = String::from_utf8(self.bucket.get(&key)).unwrap();
            let ids = out.entry(topic).or_default();
            for line in body.lines() {
                let id =
                    line.strip_prefix("Struct{id=").or_else(|| line.split_once("after=Struct{id=").map(|(_, r)| r));
                if let Some(id) = id.and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()) {
                    ids.push(id);
                }
            }
        }
        out
    }

    /// Waits until S3 holds ids `1..=rows` of every topic; answers how many arrived twice.
    fn wait_for_s3(&self, rows: i64, nodes: &[&Node]) -> usize {
        let want: BTreeSet<i64> = (1..=rows).collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut marked = Instant::now();
        loop {
            // Tansu serves a topic's last batch of several records only once something follows it
            // (services.md): a marker every few seconds lets the sink read to the end
            if marked.elapsed() > Duration::from_secs(3) {
                for topic in self.jdbc_topics.iter().chain([&self.cdc_topic]) {
                    produce(topic, &[(b"marker", &[])]);
                }
                marked = Instant::now();
            }
            let got = self.ids_in_s3();
            let complete =
                |t: &String| got.get(t).is_some_and(|ids| ids.iter().copied().collect::<BTreeSet<_>>() == want);
            if self.jdbc_topics.iter().chain([&self.cdc_topic]).all(complete) {
                return got.values().map(|ids| ids.len() - ids.iter().collect::<BTreeSet<_>>().len()).sum();
            }
            let counts: BTreeMap<&String, usize> =
                got.iter().map(|(t, ids)| (t, ids.iter().collect::<BTreeSet<_>>().len())).collect();
            assert!(Instant::now() < deadline, "rows 1..={rows} of every topic in S3: {counts:?}\n{}", all_logs(nodes));
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Whether every connector and task of the pipeline is RUNNING, on workers other than `not`.
    fn running_elsewhere(&self, port: u16, not: &str) -> bool {
        self.names.iter().zip([4, 1, 1]).all(|(name, tasks)| {
            let (_, status) = get(port, &format!("/connectors/{name}/status"));
            let connector_ok = status["connector"]["state"] == "RUNNING" && status["connector"]["worker_id"] != not;
            connector_ok && running_on(port, name, tasks).is_some_and(|ws| ws.iter().all(|w| w != not))
        })
    }
}

#[test]
fn jdbc_binlog_and_s3_on_three_workers_lose_no_row_through_a_kill_a_join_and_a_full_restart() {
    require_kafka();
    let _heavy = heavy();
    let pipe = Pipeline::new();
    pipe.insert(10);
    let mut cluster = Cluster::new();
    let mut nodes = vec![cluster.start(), cluster.start(), cluster.start()];
    nodes.iter().for_each(|n| n.wait_joined(""));
    pipe.create([nodes[0].port, nodes[1].port, nodes[2].port]);
    let logs = |nodes: &[Node]| all_logs(&nodes.iter().collect::<Vec<_>>());
    wait_until(Duration::from_secs(90), "every connector and task RUNNING", || {
        pipe.running_elsewhere(nodes[0].port, "none")
    });
    pipe.wait_for_s3(10, &nodes.iter().collect::<Vec<_>>());

    // rows keep coming; the binlog task's worker is killed with -9 mid-load
    let victim_id = task_workers(nodes[0].port, &pipe.names[1])[0].1.clone();
    let victim = nodes.iter().position(|n| n.worker_id() == victim_id).expect("the binlog task's worker");
    let writer = std::thread::scope(|s| {
        let load = s.spawn(|| {
            for _ in 0..30 {
                pipe.insert(3);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_millis(1500));
        nodes[victim].kill();
        load.join()
    });
    writer.expect("the writer");
    let rows = 10 + 30 * 3;
    let survivors: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    let probe = nodes[survivors[0]].port;
    let killed = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !pipe.running_elsewhere(probe, &victim_id) {
        assert!(Instant::now() < deadline, "the killed worker's work RUNNING on survivors\n{}", logs(&nodes));
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("the killed worker's work RUNNING elsewhere {:?} after the kill", killed.elapsed());
    let twice = pipe.wait_for_s3(rows, &nodes.iter().collect::<Vec<_>>());
    eprintln!("after the kill: every row in S3, {twice} written twice (after the last flushed offsets)");

    // a fourth worker joins and receives work
    nodes.push(cluster.start());
    let joiner = nodes[3].worker_id();
    wait_until(Duration::from_secs(90), "a task on the joining worker", || {
        pipe.names.iter().any(|n| task_workers(probe, n).iter().any(|(s, w)| s == "RUNNING" && *w == joiner))
    });

    // a full stop; rows written meanwhile; a new cluster over the same topics resumes each connector
    // each stop rebalances the workers still running; with the whole test suite sharing two
    // cores a stop was seen to take over 30 s, so this one waits up to 60 s and shows the log
    for i in survivors.into_iter().chain([3]) {
        let node = &mut nodes[i];
        let status = sigterm_within(&mut node.child, Duration::from_secs(60), Some(&node.log));
        assert!(status.success(), "a clean stop: {}", log_text(&nodes[i].log));
    }
    pipe.insert(20);
    // a new group.id: Tansu keeps a departed leader in a group all members left (see distributed.rs)
    cluster.group = unique("e2e-cluster");
    let restarted = vec![cluster.start(), cluster.start(), cluster.start()];
    let deadline = Instant::now() + Duration::from_secs(90);
    while !pipe.running_elsewhere(restarted[0].port, "none") {
        assert!(Instant::now() < deadline, "every connector RUNNING after the full restart\n{}", logs(&restarted));
        std::thread::sleep(Duration::from_millis(200));
    }
    let again = pipe.wait_for_s3(rows + 20, &restarted.iter().collect::<Vec<_>>());
    assert_eq!(again, twice, "no row written twice across a clean stop\n{}", logs(&restarted));
}
