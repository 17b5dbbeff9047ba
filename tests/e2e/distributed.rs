//! `sluice distributed`: workers with one `group.id` form a Kafka Connect cluster through the
//! broker. Connectors are created over REST on any worker (a follower forwards to the leader),
//! their configs, statuses and offsets live in the three internal topics, and a worker killed
//! with -9 has its tasks moved to the survivors.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

/// The cluster's shared names.
pub(crate) struct Cluster {
    pub(crate) dir: Dir,
    pub(crate) group: String,
    pub(crate) topics: [String; 3],
    /// The workers' `bootstrap.servers`.
    pub(crate) servers: String,
    /// `http` or `https` for the workers' listeners.
    pub(crate) scheme: &'static str,
    /// More worker keys, one per line.
    pub(crate) extra: String,
    /// The workers' environment (`KAFKA_OPTS`).
    pub(crate) env: Vec<(String, String)>,
}

/// One running worker.
pub(crate) struct Node {
    pub(crate) port: u16,
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl Cluster {
    pub(crate) fn new() -> Cluster {
        Cluster {
            dir: Dir::new(),
            group: unique("e2e-cluster"),
            topics: [unique("e2e-configs"), unique("e2e-offsets"), unique("e2e-status")],
            servers: bootstrap(),
            scheme: "http",
            extra: String::new(),
            env: Vec::new(),
        }
    }

    /// A worker file for a worker listening on `port`.
    pub(crate) fn file(&self, port: u16) -> PathBuf {
        let [configs, offsets, status] = &self.topics;
        let text = format!(
            "bootstrap.servers={}\ngroup.id={}\nconfig.storage.topic={configs}\noffset.storage.topic={offsets}\n\
             status.storage.topic={status}\nconfig.storage.replication.factor=1\noffset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\noffset.storage.partitions=3\nstatus.storage.partitions=2\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.flush.interval.ms=500\n\
             listeners={}://127.0.0.1:{port}\nsession.timeout.ms=6000\nheartbeat.interval.ms=1000\n\
             scheduled.rebalance.max.delay.ms=0\n{}",
            self.servers, self.group, self.scheme, self.extra
        );
        self.dir.write(&format!("worker-{port}.properties"), &text)
    }

    pub(crate) fn start(&self) -> Node {
        let port = free_port();
        let file = self.file(port);
        let log = self.dir.path(&format!("worker-{port}.log"));
        let child = sluice()
            .arg("distributed")
            .arg(&file)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Node { port, child, log }
    }
}

impl Node {
    pub(crate) fn kill(&mut self) {
        Command::new("kill").arg("-9").arg(self.child.id().to_string()).status().unwrap();
        let _ = self.child.wait();
    }

    pub(crate) fn worker_id(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until this worker has an assignment (it answers a write without 409).
    pub(crate) fn wait_joined(&self, logs: &str) {
        wait_until(Duration::from_secs(60), "the worker to join its group", || {
            log_text(&self.log).contains("assignment applied")
        });
        let _ = logs;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retries a write while the cluster answers 409 (a rebalance) or cannot be reached.
pub(crate) fn write(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, text) = request_with(port, method, path, body);
        if (status != 409 && status != 0) || Instant::now() > deadline {
            return (status, text);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

pub(crate) fn task_workers(port: u16, name: &str) -> Vec<(String, String)> {
    let (_, status) = get(port, &format!("/connectors/{name}/status"));
    status["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    (t["state"].as_str().unwrap_or("").to_owned(), t["worker_id"].as_str().unwrap_or("").to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn all_logs(nodes: &[&Node]) -> String {
    nodes.iter().map(|n| format!("--- worker {}\n{}", n.port, log_text(&n.log))).collect()
}

#[test]
fn a_cluster_runs_connectors_created_over_rest_and_moves_a_killed_workers_tasks() {
    require_kafka();
    let _heavy = heavy();
    let cluster = Cluster::new();
    let mut nodes = vec![cluster.start(), cluster.start(), cluster.start()];
    for n in &nodes {
        n.wait_joined("");
    }
    let input = cluster.dir.write("input.txt", &(1..=50).map(|i| format!("line-{i}\n")).collect::<String>());
    let topic = unique("e2e-dist-file");
    let name = unique("dist-file");
    let body = json!({"name": name, "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic,
        "tasks.max": "1", "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"
    }});
    // a follower takes the write and forwards it to the leader
    let follower = nodes.iter().position(|n| !log_text(&n.log).contains("as leader")).expect("a follower");
    let (status, text) = write(nodes[follower].port, "POST", "/connectors", &body.to_string());
    assert_eq!(status, 201, "create: {text}\n{}", all_logs(&nodes.iter().collect::<Vec<_>>()));
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["name"], json!(name));
    assert_eq!(info["type"], json!("source"));
    let (status, _) = write(nodes[2].port, "POST", "/connectors", &body.to_string());
    assert_eq!(status, 409, "a second create of the same name");

    // the task runs somewhere, and every worker reports the same status
    wait_until(Duration::from_secs(60), "the task RUNNING", || {
        task_workers(nodes[0].port, &name).iter().any(|(s, _)| s == "RUNNING")
    });
    let owner = task_workers(nodes[2].port, &name)[0].1.clone();
    assert!(nodes.iter().any(|n| n.worker_id() == owner), "the owner {owner} is one of the workers");
    // a marker first: Tansu serves nothing past its stale high watermark (services.md)
    let lines = |n: usize| -> BTreeSet<String> {
        produce(&topic, &[(b"marker", &[])]);
        values(&topic, n + 100, Duration::from_secs(3)).into_iter().filter(|v| v != "marker").collect()
    };
    wait_until(Duration::from_secs(30), "the first 50 lines on the topic", || lines(50).len() >= 50);

    // kill -9 the task's worker: the task moves to a survivor and goes on from the stored offset
    let victim = nodes.iter().position(|n| n.worker_id() == owner).unwrap();
    nodes[victim].kill();
    let survivors: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    let probe = nodes[survivors[0]].port;
    std::fs::write(&input, (1..=80).map(|i| format!("line-{i}\n")).collect::<String>()).unwrap();
    let moved = Instant::now();
    wait_until(Duration::from_secs(60), "the task RUNNING on a survivor", || {
        task_workers(probe, &name).iter().any(|(s, w)| s == "RUNNING" && *w != owner)
    });
    eprintln!("task moved {:?} after the kill", moved.elapsed());
    wait_until(Duration::from_secs(30), "all 80 lines on the topic", || lines(200).len() >= 80);
    let got = lines(200);
    let want: BTreeSet<String> = (1..=80).map(|i| format!("line-{i}")).collect();
    assert_eq!(got, want, "every line, none lost\n{}", all_logs(&nodes.iter().collect::<Vec<_>>()));

    // REST on a survivor: the config as written, tasks, delete (forwarded when not the leader)
    let (status, config) = get(probe, &format!("/connectors/{name}/config"));
    assert_eq!(status, 200);
    assert_eq!(config["topic"], json!(topic));
    let (status, tasks) = get(probe, &format!("/connectors/{name}/tasks"));
    assert_eq!(status, 200);
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    let (status, text) = write(nodes[survivors[1]].port, "DELETE", &format!("/connectors/{name}"), "");
    assert_eq!(status, 204, "delete: {text}");
    wait_until(Duration::from_secs(20), "the connector gone on every survivor", || {
        survivors.iter().all(|i| get(nodes[*i].port, &format!("/connectors/{name}")).0 == 404)
    });
    for i in survivors {
        let code = sigterm(&mut nodes[i].child);
        assert!(code.success(), "a clean stop: {}", log_text(&nodes[i].log));
    }
}

/// The ids in StringConverter values of JDBC rows (`Struct{id=7,v=…}`) on `topic`.
fn row_ids(topic: &str) -> Vec<i64> {
    produce(topic, &[(b"marker", &[])]);
    values(topic, 1000, Duration::from_secs(3))
        .iter()
        .filter_map(|v| v.strip_prefix("Struct{id=")?.split(',').next()?.parse().ok())
        .collect()
}

/// `task started` lines of task `task` of `connector` in a worker log.
fn starts(log: &str, connector: &str, task: usize) -> usize {
    log.lines()
        .filter(|l| l.contains(&format!("connector={connector} task={task}}}")) && l.contains("task started"))
        .count()
}

pub(crate) fn running_on(port: u16, name: &str, tasks: usize) -> Option<Vec<String>> {
    let states = task_workers(port, name);
    (states.len() == tasks && states.iter().all(|(s, _)| s == "RUNNING"))
        .then(|| states.into_iter().map(|(_, w)| w).collect())
}

#[test]
fn a_joining_worker_takes_tasks_one_task_restarts_alone_and_a_full_restart_resumes_from_the_topics() {
    require_kafka();
    let _heavy = heavy();
    let db = unique("e2e_dist").replace('-', "_");
    let tables: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
    let mut sql = format!("CREATE DATABASE {db};");
    for t in &tables {
        sql += &format!("CREATE TABLE {db}.{t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20));");
        sql += &(1..=10).map(|i| format!("INSERT INTO {db}.{t} (v) VALUES ('r{i}');")).collect::<String>();
    }
    mariadb(&sql);
    let mut cluster = Cluster::new();
    let mut nodes = vec![cluster.start(), cluster.start()];
    nodes.iter().for_each(|n| n.wait_joined(""));
    let prefix = unique("e2e-dist-jdbc-");
    let name = unique("dist-jdbc");
    let config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector", "tasks.max": "4",
        "connection.url": format!("jdbc:mysql://127.0.0.1:3307/{db}?user=root&useSSL=false"),
        "mode": "incrementing", "incrementing.column.name": "id", "topic.prefix": prefix, "poll.interval.ms": "200",
        "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"
    });
    let (status, text) = write(nodes[0].port, "PUT", &format!("/connectors/{name}/config"), &config.to_string());
    assert_eq!(status, 201, "create with PUT: {text}");
    let logs = |nodes: &[Node]| all_logs(&nodes.iter().collect::<Vec<_>>());
    let mut owners = Vec::new();
    wait_until(Duration::from_secs(60), "4 tasks RUNNING", || {
        owners = running_on(nodes[1].port, &name, 4).unwrap_or_default();
        !owners.is_empty()
    });
    for n in &nodes {
        assert_eq!(owners.iter().filter(|w| **w == n.worker_id()).count(), 2, "2 tasks each: {owners:?}");
    }
    let topics: Vec<String> = tables.iter().map(|t| format!("{prefix}{t}")).collect();
    wait_until(Duration::from_secs(60), "every row", || topics.iter().all(|t| row_ids(t).len() >= 10));

    // one task restarts alone, asked of either worker
    let (status, text) = write(nodes[1].port, "POST", &format!("/connectors/{name}/tasks/1/restart"), "");
    assert_eq!(status, 204, "restart task 1: {text}");
    let (status, text) =
        write(nodes[0].port, "POST", &format!("/connectors/{name}/restart?onlyFailed=true&includeTasks=true"), "");
    assert_eq!(status, 202, "restart failed tasks only: {text}");
    wait_until(Duration::from_secs(20), "task 1 started again", || {
        nodes.iter().map(|n| starts(&log_text(&n.log), &name, 1)).sum::<usize>() == 2
    });
    // a plain restart runs on the connector's owner, asked of either worker; its tasks run on
    let connector_starts = || -> usize {
        let line = format!("connector started connector={name}");
        nodes.iter().map(|n| log_text(&n.log).lines().filter(|l| l.contains(&line)).count()).sum()
    };
    assert_eq!(connector_starts(), 1, "{}", logs(&nodes));
    for n in &nodes {
        let (status, text) = write(n.port, "POST", &format!("/connectors/{name}/restart"), "");
        assert_eq!(status, 204, "plain restart: {text}");
    }
    wait_until(Duration::from_secs(20), "the connector started twice more", || connector_starts() == 3);
    std::thread::sleep(Duration::from_secs(2));
    for task in [0, 2, 3] {
        let count: usize = nodes.iter().map(|n| starts(&log_text(&n.log), &name, task)).sum();
        assert_eq!(count, 1, "task {task} ran on untouched\n{}", logs(&nodes));
    }

    // KIP-976: a level set with scope=cluster on one worker is in force on every worker
    let (status, text) =
        write(nodes[1].port, "PUT", "/admin/loggers/connector_jdbc?scope=cluster", r#"{"level":"debug"}"#);
    assert_eq!(status, 204, "cluster-wide level: {text}");
    wait_until(Duration::from_secs(20), "DEBUG on every worker", || {
        nodes.iter().all(|n| get(n.port, "/admin/loggers/connector_jdbc").1["level"] == "DEBUG")
    });
    let (status, text) =
        write(nodes[0].port, "PUT", "/admin/loggers/connector_jdbc?scope=cluster", r#"{"level":"LOUD"}"#);
    assert_eq!(status, 404, "an unknown level is refused before it is written: {text}");

    // a third worker joins and receives a share
    nodes.push(cluster.start());
    let joined = Instant::now();
    let third = nodes[2].worker_id();
    wait_until(Duration::from_secs(90), "a task on the joining worker", || {
        running_on(nodes[0].port, &name, 4).is_some_and(|ws| ws.contains(&third))
    });
    eprintln!("the joining worker ran a task {:?} after it started", joined.elapsed());

    // a full restart: every worker stops, rows arrive meanwhile, new workers resume from the topics
    for n in &mut nodes {
        assert!(sigterm(&mut n.child).success(), "a clean stop: {}", log_text(&n.log));
    }
    let more: String = tables
        .iter()
        .flat_map(|t| (11..=15).map(|i| format!("INSERT INTO {db}.{t} (v) VALUES ('r{i}');")).collect::<Vec<_>>())
        .collect();
    mariadb(&more);
    // the new workers form the group under a new group.id: after all members of a group left,
    // Tansu has been seen to keep a departed member as the leader of every later generation, so
    // no member ever syncs (a broker defect; Kafka elects among the members that joined). The
    // cluster's state is in its three topics, which stay the same.
    cluster.group = unique("e2e-cluster");
    let restarted = vec![cluster.start(), cluster.start(), cluster.start()];
    let deadline = Instant::now() + Duration::from_secs(90);
    while running_on(restarted[0].port, &name, 4).is_none() {
        let status = get(restarted[0].port, &format!("/connectors/{name}/status")).1;
        assert!(Instant::now() < deadline, "4 tasks RUNNING after the full restart: {status}\n{}", logs(&restarted));
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !topics.iter().all(|t| row_ids(t).len() >= 15) {
        let got: Vec<usize> = topics.iter().map(|t| row_ids(t).len()).collect();
        assert!(Instant::now() < deadline, "the new rows: {got:?}\n{}", logs(&restarted));
    }
    for t in &topics {
        let ids = row_ids(t);
        let distinct: BTreeSet<i64> = ids.iter().copied().collect();
        assert_eq!(distinct, (1..=15).collect(), "{t}: every row\n{}", logs(&restarted));
        assert_eq!(ids.len(), 15, "{t}: no row twice after a clean stop: {ids:?}");
    }
}

/// Creates `topic` as Kafka Connect creates its config topic: one partition, compacted.
fn compacted_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    let results = rt.block_on(admin.create_topics(&[topic], &AdminOptions::new())).unwrap();
    results.into_iter().for_each(|r| {
        r.unwrap();
    });
}

/// Writes `records` (key, value bytes) to partition 0 of `topic`, one at a time.
fn produce_keyed(topic: &str, records: &[(&str, String)]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    for (key, value) in records {
        producer.send(BaseRecord::to(topic).key(*key).payload(value).partition(0)).unwrap();
        producer.flush(Duration::from_secs(10)).unwrap();
    }
}

/// The key and value text of every record of partition 0 of `topic` (a marker is not written:
/// the caller's last write is a single-record batch, which Tansu serves).
fn records_of(topic: &str, n: usize) -> Vec<(String, String)> {
    read_partition(topic, n, Duration::from_secs(5))
        .into_iter()
        .map(|r| {
            let text = |b: Option<Vec<u8>>| String::from_utf8(b.unwrap_or_default()).unwrap();
            (text(r.key), text(r.value))
        })
        .collect()
}

#[test]
fn a_config_topic_written_by_java_workers_runs_and_sluices_records_have_kafkas_bytes() {
    require_kafka();
    let cluster = Cluster::new();
    let [configs, offsets, status] = &cluster.topics;
    compacted_topic(configs);
    let input = cluster.dir.write("java.txt", "from-java-1\nfrom-java-2\n");
    let topic = unique("e2e-java-file");
    create_topic(&topic);
    let connector = format!(
        r#"{{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","file":"{}","name":"java-file","tasks.max":"1","topic":"{topic}"}}"#,
        input.display()
    );
    let task =
        connector.replace(r#""topic""#, r#""task.class":"org.apache.kafka.connect.file.FileStreamSourceTask","topic""#);
    // the records a Java 3.x leader writes for a connector created over REST
    produce_keyed(
        configs,
        &[
            ("target-state-java-file", r#"{"state":"STARTED","state.v2":"STARTED"}"#.to_owned()),
            ("connector-java-file", format!(r#"{{"properties":{connector}}}"#)),
            ("task-java-file-0", format!(r#"{{"properties":{task}}}"#)),
            ("commit-java-file", r#"{"tasks":1}"#.to_owned()),
        ],
    );
    let node = cluster.start();
    wait_until(Duration::from_secs(60), "the Java connector's task RUNNING", || {
        running_on(node.port, "java-file", 1).is_some()
    });
    let lines = || -> BTreeSet<String> {
        produce(&topic, &[(b"marker", &[])]);
        values(&topic, 100, Duration::from_secs(3)).into_iter().filter(|v| v != "marker").collect()
    };
    wait_until(Duration::from_secs(30), "both lines", || lines().len() >= 2);

    // what sluice wrote: Kafka's bytes, fields in Java's order
    let worker = node.worker_id();
    wait_until(Duration::from_secs(20), "the offset in the offsets topic", || {
        (0..3).any(|p| partition_records(offsets, p).iter().any(|(k, _)| k.starts_with(r#"["java-file",{"filename":"#)))
    });
    let key = format!(r#"["java-file",{{"filename":"{}"}}]"#, input.display());
    let value = (0..3)
        .flat_map(|p| partition_records(offsets, p))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .next_back()
        .expect("the offset record");
    assert!(value.starts_with(r#"{"position":"#), "{value}");
    let statuses: Vec<(String, String)> = (0..2).flat_map(|p| partition_records(status, p)).collect();
    let task_status =
        statuses.iter().filter(|(k, _)| k == "status-task-java-file-0").map(|(_, v)| v.clone()).next_back();
    let running = generation_of(task_status.as_deref().unwrap_or_default());
    assert_eq!(
        task_status.as_deref(),
        Some(format!(r#"{{"state":"RUNNING","trace":null,"worker_id":"{worker}","generation":{running}}}"#).as_str()),
        "{statuses:?}"
    );
    let written = records_of(configs, 20);
    assert!(
        written.iter().any(|(k, v)| k == "session-key" && v.contains(r#""algorithm":"HmacSHA256""#)),
        "{written:?}"
    );
}

/// The `generation` of a status value.
fn generation_of(value: &str) -> i64 {
    value.rsplit_once(r#""generation":"#).and_then(|(_, g)| g.trim_end_matches('}').parse().ok()).unwrap_or(-1)
}

/// Key and value text of every record of one partition.
fn partition_records(topic: &str, partition: i32) -> Vec<(String, String)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("e2e-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            out.push((text(m.key()), text(m.payload())));
        }
    }
    out
}

/// A binlog connector restarted behind a DDL on a new cluster over the same topics: the rows
/// written before the DDL decode with the structure they were written under, from the schema
/// history in the worker's state topic (a distributed worker has no offset file to keep it next
/// to).
#[test]
fn a_binlog_connectors_schema_history_lives_in_the_state_topic() {
    use crate::binlog_cdc::{changes, database, server_id};
    require_kafka();
    let db = database("dist_hist");
    mariadb(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, doc JSON, n INT NOT NULL DEFAULT 5)"));
    let mut cluster = Cluster::new();
    let node = cluster.start();
    node.wait_joined("");
    let (prefix, name) = (unique("dist-hist"), unique("dist-cdc"));
    let json = "org.apache.kafka.connect.json.JsonConverter";
    let config = json!({
        "connector.class": "io.debezium.connector.mariadb.MariaDbConnector", "database.hostname": "127.0.0.1",
        "database.port": "3307", "database.user": "root", "database.password": "",
        "database.server.id": server_id().to_string(), "topic.prefix": prefix, "database.include.list": db,
        "include.schema.changes": "false", "key.converter": json, "value.converter": json,
        "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"
    });
    let (status, text) = write(node.port, "PUT", &format!("/connectors/{name}/config"), &config.to_string());
    assert_eq!(status, 201, "create: {text}");
    wait_until(Duration::from_secs(60), "streaming", || log_text(&node.log).contains("streaming the binlog"));
    let topic = format!("{prefix}.{db}.t");
    mariadb(&format!("INSERT INTO {db}.t VALUES (1, '{{\"a\": 1}}', 1)"));
    assert_eq!(changes(&topic, 1, Duration::from_secs(30)).len(), 1, "{}", log_text(&node.log));
    let mut node = node;
    assert!(sigterm(&mut node.child).success(), "{}", log_text(&node.log));
    let state_topic = format!("{}-sluice-state", cluster.topics[1]);
    let key = format!(r#"["{name}","schema-history"]"#);
    let history: Vec<String> =
        partition_records(&state_topic, 0).into_iter().filter(|(k, _)| *k == key).map(|(_, v)| v).collect();
    assert!(history.iter().any(|v| v.contains(&format!(r#""db":"{db}","table":"t""#))), "{history:?}");

    mariadb(&format!(
        "INSERT INTO {db}.t VALUES (2, '{{\"b\": 2}}', 2); \
         ALTER TABLE {db}.t DROP COLUMN doc, ALTER COLUMN n SET DEFAULT 6; INSERT INTO {db}.t VALUES (3, 3);"
    ));
    // a new group.id over the same topics (Tansu keeps a departed leader; see above)
    cluster.group = unique("e2e-cluster");
    let mut node = cluster.start();
    let got = changes(&topic, 3, Duration::from_secs(60));
    assert!(sigterm(&mut node.child).success(), "{}", log_text(&node.log));
    assert_eq!(got.len(), 3, "{}", log_text(&node.log));
    let field = |i: usize, name: &str| {
        got[i].value["schema"]["fields"][1]["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).cloned()
    };
    assert_eq!(serde_json::to_string(got[1].after()).unwrap(), r#"{"id":2,"doc":"{\"b\": 2}","n":2}"#);
    assert_eq!(field(1, "doc").unwrap()["name"], "io.debezium.data.Json", "{}", log_text(&node.log));
    assert_eq!(field(1, "n").unwrap()["default"], 5);
    assert_eq!(serde_json::to_string(got[2].after()).unwrap(), r#"{"id":3,"n":3}"#);
    assert_eq!(field(2, "n").unwrap()["default"], 6);
}

/// A config topic with two partitions stops the start with the fix; a sink whose consumer group
/// `connect-<name>` would be the cluster's own `group.id` is refused with 400.
#[test]
fn a_multi_partition_config_topic_and_a_sink_group_equal_to_group_id_are_refused() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    require_kafka();
    let mut cluster = Cluster::new();
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topic = NewTopic::new(&cluster.topics[0], 2, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    rt.block_on(admin.create_topics(&[topic], &AdminOptions::new())).unwrap().into_iter().for_each(|r| {
        r.unwrap();
    });
    let out = sluice().arg("distributed").arg(cluster.file(free_port())).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("topic {} (config.storage.topic) has 2 partitions", cluster.topics[0]))
            && stderr.contains("single partition"),
        "{stderr}"
    );

    cluster.topics[0] = unique("e2e-configs");
    let name = unique("same-group");
    cluster.group = format!("connect-{name}");
    let node = cluster.start();
    node.wait_joined("");
    let sink = json!({"connector.class": "FileStreamSink", "file": cluster.dir.path("out.txt").display().to_string(), "topics": "t"});
    let (status, text) = write(node.port, "PUT", &format!("/connectors/{name}/config"), &sink.to_string());
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("is the same as the Connect cluster's group.id"), "{text}");
}

/// KIP-875 on a cluster's sink, asked of a follower: the group's commits read while stopped, a
/// rewind and a reset (both forwarded to the leader), and the tasks resume from what was set.
#[test]
fn a_sinks_offsets_are_altered_and_reset_through_a_follower() {
    require_kafka();
    let cluster = Cluster::new();
    let nodes = [cluster.start(), cluster.start()];
    nodes.iter().for_each(|n| n.wait_joined(""));
    let topic = unique("e2e-dist-sink-offsets");
    create_topic(&topic);
    produce(&topic, &[b"a", b"b", b"c", b"d", b"e", b"f"].map(|r| (&r[..], &[][..])));
    let name = unique("dist-sink-offsets");
    let output = cluster.dir.path("out.txt");
    // dynamic members, which leave when the connector stops (Tansu never drops a static member)
    let config = json!({"connector.class": "FileStreamSink", "file": output.display().to_string(), "topics": topic,
        "consumer.override.group.instance.id": ""});
    let follower = nodes.iter().find(|n| !log_text(&n.log).contains("as leader")).expect("a follower");
    let port = follower.port;
    let (status, text) = write(port, "PUT", &format!("/connectors/{name}/config"), &config.to_string());
    assert_eq!(status, 201, "create: {text}");
    let path = format!("/connectors/{name}/offsets");
    let committed = || get(port, &path).1["offsets"].clone();
    let at =
        |o: i64| json!([{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": o}}]);
    let logs = || all_logs(&nodes.iter().collect::<Vec<_>>());
    wait_until(Duration::from_secs(60), "6 lines", || lines_of(&output) == 6);
    wait_until(Duration::from_secs(20), "offset 6 committed", || committed() == at(6));
    let stopped = || {
        let (status, text) = write(port, "PUT", &format!("/connectors/{name}/stop"), "");
        assert_eq!(status, 204, "stop: {text}");
        wait_until(Duration::from_secs(20), "STOPPED with no tasks", || {
            let status = get(port, &format!("/connectors/{name}/status")).1;
            status["connector"]["state"] == "STOPPED" && status["tasks"] == json!([])
        });
    };
    stopped();
    assert_eq!(committed(), at(6), "read from the group while stopped");
    let body = json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 4}}]});
    let (status, text) = write(port, "PATCH", &path, &body.to_string());
    assert_eq!(status, 200, "{text}\n{}", logs());
    assert_eq!(committed(), at(4));
    assert_eq!(write(port, "PUT", &format!("/connectors/{name}/resume"), "").0, 202);
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines_of(&output) != 8 {
        assert!(Instant::now() < deadline, "e and f again: {} lines\n{}", lines_of(&output), logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    stopped();
    let (status, text) = write(port, "DELETE", &path, "");
    assert_eq!(status, 200, "{text}\n{}", logs());
    assert_eq!(committed(), json!([]), "the group is gone");
    assert_eq!(write(port, "PUT", &format!("/connectors/{name}/resume"), "").0, 202);
    wait_until(Duration::from_secs(60), "the whole topic again", || lines_of(&output) == 14);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "a\nb\nc\nd\ne\nf\ne\nf\na\nb\nc\nd\ne\nf\n");
}
