//! Shared pieces: service endpoints, unique names, worker files, the binary, a raw consumer.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Fails (never skips) when the broker is not there.
pub fn require_kafka() {
    let addr = bootstrap();
    let ok = addr
        .split(',')
        .filter_map(|a| std::net::ToSocketAddrs::to_socket_addrs(a).ok())
        .flatten()
        .any(|sa| std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(2)).is_ok());
    assert!(ok, "Kafka not reachable at {addr}; run scripts/services up or set KAFKA_BOOTSTRAP");
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir { tmp: tempfile::tempdir().unwrap() }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// A worker file (JsonConverter with schemas) on the test broker; `extra` lines appended.
    /// `consumer.session.timeout.ms=6000`: Tansu holds a first JoinGroup for the session timeout.
    pub fn worker(&self, port: u16, extra: &str) -> PathBuf {
        self.worker_on(port, &bootstrap(), extra)
    }
    /// `worker` on the brokers at `servers`.
    pub fn worker_on(&self, port: u16, servers: &str, extra: &str) -> PathBuf {
        self.write(
            "worker.properties",
            &format!(
                "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
                 value.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\n\
                 value.converter.schemas.enable=true\noffset.storage.file.filename={}\noffset.flush.interval.ms=500\n\
                 listeners=http://127.0.0.1:{port}\nconsumer.session.timeout.ms=6000\n{extra}",
                servers,
                self.path("connect.offsets").display()
            ),
        )
    }
    /// The offsets in the sidecar, as `(connector, partition, offset)` JSON.
    pub fn offsets(&self) -> Vec<serde_json::Value> {
        let Ok(text) = std::fs::read(self.path("connect.offsets.json")) else { return Vec::new() };
        let doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
        doc["entries"].as_array().cloned().unwrap_or_default()
    }
    pub fn file_position(&self) -> Option<u64> {
        self.offsets().iter().find_map(|e| e["offset"]["position"].as_u64())
    }
}

pub fn sluice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    // E2E_SLUICE_LOG (e.g. `info,connector_jdbc=debug`) to see more of a failing test's worker
    c.env("SLUICE_LOG", std::env::var("E2E_SLUICE_LOG").unwrap_or_else(|_| "info".into()));
    c
}

pub fn run(args: &[&Path]) -> Output {
    sluice().arg("standalone").args(args).arg("--kafka-timeout-ms").arg("3000").output().unwrap()
}

pub fn spawn(args: &[&Path], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    sluice().arg("standalone").args(args).stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

pub fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    sigterm_within(child, Duration::from_secs(30), None)
}

/// SIGTERM, then wait up to `timeout` for the exit; a worker still running then fails the test
/// with the tail of its `log`.
pub fn sigterm_within(child: &mut Child, timeout: Duration, log: Option<&Path>) -> std::process::ExitStatus {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() >= deadline {
            let text = log.map(log_text).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
            let _ = child.kill();
            panic!("sluice did not stop within {timeout:?} of SIGTERM; its log ends:\n{}", tail.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn lines_of(path: &Path) -> usize {
    std::fs::read(path).map(|b| b.iter().filter(|&&c| c == b'\n').count()).unwrap_or(0)
}

/// Reads partition 0 of `topic` from the beginning until `n` records or `timeout`
/// (counts records: Tansu's watermarks are not reliable).
/// Key and value bytes of a record.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

pub fn consume(topic: &str, n: usize, timeout: Duration) -> Vec<KeyValue> {
    read_partition(topic, n, timeout).into_iter().map(|r| (r.key, r.value)).collect()
}

/// A record as read, headers as text.
pub struct Read {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
}

pub fn read_partition(topic: &str, n: usize, timeout: Duration) -> Vec<Read> {
    read_partition_from(&bootstrap(), topic, n, timeout)
}

pub fn read_partition_from(bootstrap: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Read> {
    read_partition_with(ClientConfig::new().set("bootstrap.servers", bootstrap), topic, n, timeout)
}

/// `read_partition` with a client's own settings (TLS, SASL).
pub fn read_partition_with(base: &mut ClientConfig, topic: &str, n: usize, timeout: Duration) -> Vec<Read> {
    use rdkafka::message::Headers;
    let consumer: BaseConsumer =
        base.set("group.id", unique("e2e-reader")).set("enable.auto.commit", "false").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Read { key: m.key().map(<[u8]>::to_vec), value: m.payload().map(<[u8]>::to_vec), headers });
        }
    }
    out
}

pub fn source_props(name: &str, file: &Path, topic: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\ntasks.max=1\n\
         file={}\ntopic={topic}\ntopic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{extra}",
        file.display()
    )
}

pub fn sink_props(name: &str, file: &Path, topic: &str) -> String {
    format!("name={name}\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n", file.display())
}

pub fn log_text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// Creates a topic with one partition (replication factor 1: Tansu is one broker).
pub fn create_topic(topic: &str) {
    create_topic_on(&bootstrap(), topic)
}

/// `create_topic` on the broker at `servers`.
pub fn create_topic_on(servers: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", servers).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt
        .block_on(admin.create_topics(&[NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new()))
        .unwrap();
    results.into_iter().for_each(|r| {
        r.unwrap();
    });
}

/// Produces values (with optional headers) to partition 0, waiting for the acknowledgements.
/// A value and its headers, to produce.
pub type Outgoing<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

pub fn produce(topic: &str, records: &[Outgoing<'_>]) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    for (value, headers) in records {
        let mut h = OwnedHeaders::new();
        for (k, v) in *headers {
            h = h.insert(Header { key: k, value: Some(v.as_bytes()) });
        }
        producer.send(BaseRecord::<[u8], [u8]>::to(topic).partition(0).payload(*value).headers(h)).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A plain HTTP/1.1 request to the worker's REST API: status and body.
pub fn request(port: u16, method: &str, path: &str) -> (u16, String) {
    request_with(port, method, path, "")
}

pub fn request_with(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    (status, resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

pub fn get_text(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path)
}

pub fn get(port: u16, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = get_text(port, path);
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// Fails (never skips) when a database of `scripts/services` is not there.
fn require_port(port: u16, what: &str) {
    let ok = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok();
    assert!(ok, "{what} not reachable at 127.0.0.1:{port}; run scripts/services up");
}

/// Runs SQL on the MariaDB of `scripts/services` (127.0.0.1:3307, root) with the `mariadb`
/// client; returns its tab-separated output without headers.
pub fn mariadb(sql: &str) -> String {
    require_port(3307, "MariaDB");
    let out = Command::new("mariadb")
        .args(["-h127.0.0.1", "-P3307", "-uroot", "--default-character-set=utf8mb4", "--batch", "-N", "-e", sql])
        .output()
        .expect("the mariadb client (apt install mariadb-client)");
    assert!(out.status.success(), "mariadb: {}\n{sql}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs SQL on the PostgreSQL of `scripts/services` (127.0.0.1:5433, postgres) with `psql`.
pub fn psql(sql: &str) -> String {
    require_port(5433, "PostgreSQL");
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5433",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("the psql client (apt install postgresql-client)");
    assert!(out.status.success(), "psql: {}\n{sql}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every record value of partition 0 of `topic` as text, reading until `n` or `timeout`.
pub fn values(topic: &str, n: usize, timeout: Duration) -> Vec<String> {
    consume(topic, n, timeout).into_iter().map(|(_, v)| String::from_utf8(v.unwrap_or_default()).unwrap()).collect()
}

/// Tests that load the machine heavily (a million-row transaction, a broker outage) take this
/// lock, so they do not run at the same time: the outage test's timing (a durable broker on
/// SeaweedFS stopped and restarted) does not hold up under another test's bulk load.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
