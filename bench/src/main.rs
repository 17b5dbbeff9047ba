//! Macro benchmarks: each pipeline of the real `sluice` binary against the real services, with a
//! physical reference measured in the same run. One line per result:
//!
//! `bench <name> records=<n> seconds=<s> rate=<records/s> mb_s=<MB/s> peak_rss_mb=<m> ref=<name> ref_rate=<records/s> ratio=<rate/ref_rate>`
//!
//! Run through `bench/run [NAME…]` (it starts the services and builds in release mode).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

mod binlog;
mod chaos;
mod cluster;
mod jdbc;
mod s3;

const LINES: usize = 1_000_000;
/// How long an idle worker runs before its memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(10);
const LINE_BYTES: usize = 100;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run benchmarks (all when none is named): file-source, file-source-json, file-source-tls, file-sink, idle-worker,
    /// jdbc-source, jdbc-source-4, binlog-cdc, binlog-cdc-noschema, s3-sink-parquet, s3-sink-json-gzip, s3-sink-200,
    /// cluster (failover, join, idle RSS of `sluice distributed`);
    /// on demand only: chaos (= chaos-file, chaos-jdbc, chaos-binlog, chaos-s3; `CHAOS_KILLS`, `CHAOS_SEED`).
    Run {
        names: Vec<String>,
        /// The sluice binary to measure.
        #[arg(long)]
        sluice: PathBuf,
    },
    /// Print the first N records of partition 0 of a topic.
    Peek { topic: String, n: usize },
    /// Create a bucket on the S3 server of scripts/services (S3_ENDPOINT).
    S3Mb { bucket: String },
    /// List a bucket's objects (key and size), or print one object's text.
    S3Ls { bucket: String, key: Option<String> },
}

/// Runs SQL on the MariaDB of scripts/services; its tab-separated output without headers.
fn mariadb(sql: &str) -> Result<String> {
    let out = Command::new("mariadb")
        .args(["-h127.0.0.1", "-P3307", "-uroot", "--batch", "-N", "-e", sql])
        .output()
        .context("the mariadb client")?;
    if !out.status.success() {
        bail!("mariadb: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Peek { topic, n } => peek(&topic, n),
        Cmd::S3Mb { bucket } => s3::make_bucket(&bucket),
        Cmd::S3Ls { bucket, key } => s3::show(&bucket, key.as_deref()),
        Cmd::Run { names, sluice } => {
            let all = [
                "file-source",
                "file-source-json",
                "file-source-tls",
                "file-sink",
                "idle-worker",
                "jdbc-source",
                "jdbc-source-4",
                "binlog-cdc",
                "binlog-cdc-noschema",
                "s3-sink-parquet",
                "s3-sink-json-gzip",
                "s3-sink-200",
                "cluster",
            ];
            let chosen: Vec<&str> =
                if names.is_empty() { all.to_vec() } else { names.iter().map(String::as_str).collect() };
            let work = tempfile::Builder::new().prefix("sluice-bench").tempdir()?;
            let b = Bench { sluice, work: work.path().to_owned() };
            for name in chosen {
                match name {
                    "file-source" => b.file_source(false)?,
                    "file-source-json" => b.file_source(true)?,
                    "file-source-tls" => b.file_source_tls()?,
                    "file-sink" => b.file_sink()?,
                    "idle-worker" => b.idle_worker()?,
                    "jdbc-source" => b.jdbc_source("jdbc-source", 1)?,
                    "jdbc-source-4" => b.jdbc_source("jdbc-source-4", 4)?,
                    "binlog-cdc" => b.binlog_cdc("binlog-cdc", true)?,
                    "binlog-cdc-noschema" => b.binlog_cdc("binlog-cdc-noschema", false)?,
                    "s3-sink-parquet" => b.s3_sink("s3-sink-parquet", "parquet")?,
                    "s3-sink-json-gzip" => b.s3_sink("s3-sink-json-gzip", "json-gzip")?,
                    "s3-sink-200" => b.s3_sink_200()?,
                    "cluster" => b.cluster()?,
                    "chaos" => {
                        ["chaos-file", "chaos-jdbc", "chaos-binlog", "chaos-s3"].iter().try_for_each(|p| b.chaos(p))?
                    }
                    chaos if chaos.starts_with("chaos-") => b.chaos(chaos)?,
                    other => bail!("unknown benchmark {other}; known: {}", all.join(", ")),
                }
            }
            Ok(())
        }
    }
}

/// A Tansu of its own on a free port (memory storage), for a reference that must not share the
/// test broker's state; the broker's address.
fn fresh_broker() -> Result<(Child, String)> {
    let tansu = std::env::var("TANSU")
        .unwrap_or_else(|_| format!("{}/.cache/sluice/tools/tansu", std::env::var("HOME").unwrap_or_default()));
    let addr = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(&tansu)
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://{addr}"),
            "--advertised-listener-url",
            &format!("tcp://{addr}"),
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("{tansu} (scripts/services up installs it)"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        if Instant::now() > deadline {
            bail!("a fresh tansu did not listen on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, addr))
}

struct Line<'a> {
    name: &'a str,
    records: usize,
    seconds: f64,
    bytes: usize,
    peak_rss_mb: f64,
    reference: &'a str,
    ref_rate: f64,
}

impl Line<'_> {
    fn print(&self) {
        let rate = self.records as f64 / self.seconds;
        let ratio = if self.ref_rate > 0.0 { rate / self.ref_rate } else { 0.0 };
        println!(
            "bench {} records={} seconds={:.3} rate={:.0} mb_s={:.1} peak_rss_mb={:.1} ref={} ref_rate={:.0} ratio={:.2}",
            self.name,
            self.records,
            self.seconds,
            if self.records > 0 { rate } else { 0.0 },
            self.bytes as f64 / self.seconds / 1e6,
            self.peak_rss_mb,
            self.reference,
            self.ref_rate,
            ratio
        );
    }
}

struct Bench {
    sluice: PathBuf,
    work: PathBuf,
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}", nanos % 10_000_000_000)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A `/proc/<pid>/status` memory field (`VmHWM`: peak resident set, `VmRSS`: now), in MB.
fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmHWM")
}

fn stop(mut child: Child) -> Result<()> {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
    let status = child.wait()?;
    if !status.success() {
        bail!("sluice exited with {status}");
    }
    Ok(())
}

fn create_topic(topic: &str, partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap()).create()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(
        admin.create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new()),
    )?;
    Ok(())
}

/// The producer settings sluice's source tasks use (acks=all, idempotent, murmur2, linger 5 ms).
fn producer() -> Result<BaseProducer> {
    producer_to(&bootstrap(), &[])
}

/// [`producer`]'s settings against `servers`, with `extra` librdkafka settings.
fn producer_to(servers: &str, extra: &[(&str, &str)]) -> Result<BaseProducer> {
    let mut cfg = ClientConfig::new();
    for (k, v) in extra {
        cfg.set(*k, *v);
    }
    Ok(cfg
        .set("bootstrap.servers", servers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()?)
}

fn produce_all(topic: &str, values: impl Iterator<Item = Vec<u8>>) -> Result<usize> {
    produce_all_with(&producer()?, topic, values)
}

fn produce_all_with(p: &BaseProducer, topic: &str, values: impl Iterator<Item = Vec<u8>>) -> Result<usize> {
    let mut n = 0;
    for v in values {
        let mut rec = BaseRecord::<[u8], [u8]>::to(topic).payload(&v[..]);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    p.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        n += 1;
        if n % 1000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(120))?;
    Ok(n)
}

fn line_text(i: usize) -> String {
    let head = format!("line {i:09} ");
    let mut s = head.clone();
    while s.len() < LINE_BYTES - 1 {
        s.push((b'a' + (s.len() % 26) as u8) as char);
    }
    s
}

fn consume_count(topic: &str, n: usize, timeout: Duration) -> Result<(usize, usize)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bench-reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + timeout;
    let (mut count, mut bytes) = (0, 0);
    while count < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            count += 1;
            bytes += m.payload_len();
        }
    }
    Ok((count, bytes))
}

/// Polls the offset file's JSON sidecar until `done` holds for it, or fails at `deadline`.
fn wait_for_offsets(sidecar: &Path, deadline: Instant, done: impl Fn(&serde_json::Value) -> bool) -> Result<()> {
    loop {
        let doc = std::fs::read(sidecar).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if doc.as_ref().is_some_and(&done) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A consumer reading partition 0 of `topic` from the beginning.
fn from_start(topic: &str, group: &str) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique(group))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    Ok(consumer)
}

/// The first record value of partition 0 of `topic`.
fn first_value(topic: &str) -> Result<Vec<u8>> {
    let consumer = from_start(topic, "first")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return Ok(m.payload().unwrap_or_default().to_vec());
        }
    }
    bail!("no record on {topic}")
}

fn peek(topic: &str, n: usize) -> Result<()> {
    let consumer = from_start(topic, "peek")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    while seen < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_else(|| "null".into());
            let value = m.payload().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_else(|| "null".into());
            println!("offset {} key={key} value={value}", m.offset());
            seen += 1;
        }
    }
    Ok(())
}

impl Bench {
    fn input(&self) -> Result<PathBuf> {
        let path = self.work.join("lines.txt");
        if !path.exists() {
            let mut w = BufWriter::new(std::fs::File::create(&path)?);
            for i in 0..LINES {
                writeln!(w, "{}", line_text(i))?;
            }
            w.flush()?;
        }
        Ok(path)
    }

    /// `flush_ms`: short for sources (the clock stops when the offset file reaches the end), Kafka's
    /// sample value (10 s) for sinks, whose commits fsync the output.
    fn worker(&self, dir: &Path, converter: &str, schemas: bool, port: u16, flush_ms: u64) -> Result<PathBuf> {
        self.worker_on(dir, converter, schemas, port, flush_ms, &bootstrap(), "")
    }

    /// `worker` on the brokers at `servers`, with `extra` lines (security keys).
    #[allow(clippy::too_many_arguments)]
    fn worker_on(
        &self,
        dir: &Path,
        converter: &str,
        schemas: bool,
        port: u16,
        flush_ms: u64,
        servers: &str,
        extra: &str,
    ) -> Result<PathBuf> {
        let path = dir.join("worker.properties");
        std::fs::write(
            &path,
            format!(
                "bootstrap.servers={servers}\nkey.converter={converter}\nvalue.converter={converter}\n\
                 key.converter.schemas.enable={schemas}\nvalue.converter.schemas.enable={schemas}\n\
                 offset.storage.file.filename={}\noffset.flush.interval.ms={flush_ms}\nlisteners=http://127.0.0.1:{port}\n\
                 consumer.session.timeout.ms=6000\n{extra}",
                dir.join("connect.offsets").display()
            ),
        )?;
        Ok(path)
    }

    fn spawn(&self, args: &[&Path], log: &Path) -> Result<Child> {
        Ok(Command::new(&self.sluice)
            .arg("standalone")
            .args(args)
            .env("SLUICE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()?)
    }

    /// Raw produce of the same lines (the reference), then sluice's FileStreamSource.
    fn file_source(&self, json: bool) -> Result<()> {
        let input = self.input()?;
        let size = std::fs::metadata(&input)?.len();
        let ref_topic = unique("bench-ref-produce");
        create_topic(&ref_topic, 1)?;
        let text = std::fs::read_to_string(&input)?;
        let started = Instant::now();
        let n = produce_all(&ref_topic, text.lines().map(|l| l.as_bytes().to_vec()))?;
        let ref_rate = n as f64 / started.elapsed().as_secs_f64();
        drop(text);

        let name = if json { "file-source-json" } else { "file-source" };
        let (seconds, peak) = self.timed_file_source(name, &input, json, &bootstrap(), "")?;
        Line {
            name,
            records: LINES,
            seconds,
            bytes: size as usize,
            peak_rss_mb: peak,
            reference: "rdkafka-produce",
            ref_rate,
        }
        .print();
        Ok(())
    }

    /// sluice's FileStreamSource from `input` to the brokers at `servers`: seconds from process
    /// start until the offset file says the whole file is acknowledged, and peak RSS.
    fn timed_file_source(
        &self,
        name: &str,
        input: &Path,
        json: bool,
        servers: &str,
        extra: &str,
    ) -> Result<(f64, f64)> {
        let size = std::fs::metadata(input)?.len();
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let (converter, schemas) = if json {
            ("org.apache.kafka.connect.json.JsonConverter", true)
        } else {
            ("org.apache.kafka.connect.storage.StringConverter", false)
        };
        let worker = self.worker_on(&dir, converter, schemas, port, 20, servers, extra)?;
        let topic = unique("bench-file-source");
        let connector = dir.join("source.properties");
        std::fs::write(
            &connector,
            format!(
                "name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
                input.display()
            ),
        )?;
        let sidecar = dir.join("connect.offsets.json");
        let started = Instant::now();
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        wait_for_offsets(&sidecar, started + Duration::from_secs(300), |v| {
            v["entries"][0]["offset"]["position"].as_u64() == Some(size)
        })
        .with_context(|| {
            format!("{name}: offsets did not reach the end of the file; see {}", dir.join("log").display())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = peak_rss_mb(child.id());
        stop(child)?;
        Ok((seconds, peak))
    }

    /// The file source over TLS (the services' TLS listener: socat with the test CA's certificate
    /// in front of a Tansu of its own, a JKS trust store) against the same run over plaintext to
    /// a fresh Tansu started for it (the difference is TLS, socat's hop included), and against a
    /// raw rdkafka producer of the same lines over the same TLS listener (what that path carries).
    fn file_source_tls(&self) -> Result<()> {
        let input = self.input()?;
        let size = std::fs::metadata(&input)?.len() as usize;
        let tls_dir = std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into());
        let mut keys = String::new();
        for prefix in ["", "producer.", "consumer."] {
            keys.push_str(&format!(
                "{prefix}security.protocol=SSL\n{prefix}ssl.truststore.location={tls_dir}/truststore.jks\n\
                 {prefix}ssl.truststore.password=trustpass\n"
            ));
        }
        let (mut broker, servers) = fresh_broker()?;
        let plain = self.timed_file_source("file-source-plaintext", &input, false, &servers, "");
        let _ = broker.kill();
        let _ = broker.wait();
        let (plain_seconds, _) = plain?;
        let (seconds, peak) = self.timed_file_source("file-source-tls", &input, false, "127.0.0.1:9093", &keys)?;
        let ca = format!("{tls_dir}/ca.pem");
        let raw = producer_to("127.0.0.1:9093", &[("security.protocol", "ssl"), ("ssl.ca.location", &ca)])?;
        let text = std::fs::read_to_string(&input)?;
        let started = Instant::now();
        let n = produce_all_with(&raw, &unique("bench-ref-produce-tls"), text.lines().map(|l| l.as_bytes().to_vec()))?;
        let raw_rate = n as f64 / started.elapsed().as_secs_f64();
        let line = |reference, ref_rate| Line {
            name: "file-source-tls",
            records: LINES,
            seconds,
            bytes: size,
            peak_rss_mb: peak,
            reference,
            ref_rate,
        };
        line("sluice-file-source-plaintext", LINES as f64 / plain_seconds).print();
        line("rdkafka-produce-tls", raw_rate).print();
        Ok(())
    }

    /// Raw consume of the topic (the reference), then sluice's FileStreamSink from it.
    fn file_sink(&self) -> Result<()> {
        let topic = unique("bench-file-sink");
        create_topic(&topic, 1)?;
        let envelope = |i: usize| {
            format!("{{\"schema\":{{\"type\":\"string\",\"optional\":false}},\"payload\":\"{}\"}}", line_text(i))
                .into_bytes()
        };
        produce_all(&topic, (0..LINES).map(envelope))?;
        let started = Instant::now();
        let (count, bytes) = consume_count(&topic, LINES, Duration::from_secs(120))?;
        if count != LINES {
            bail!("reference consumer read {count} of {LINES}");
        }
        let ref_rate = count as f64 / started.elapsed().as_secs_f64();

        let dir = self.work.join("file-sink");
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", true, port, 10_000)?;
        let output = dir.join("out.txt");
        let connector = dir.join("sink.properties");
        std::fs::write(
            &connector,
            format!("name=file-sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n", output.display()),
        )?;
        let expected = (LINES * LINE_BYTES) as u64;
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        let size = || std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(300);
        // the clock starts at the first record written: Tansu delays a group's first join
        while size() == 0 {
            if Instant::now() > deadline {
                bail!("file-sink wrote nothing; see {}", dir.join("log").display());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let started = Instant::now();
        while size() < expected {
            if Instant::now() > deadline {
                bail!("file-sink wrote {} of {expected} bytes", size());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let seconds = started.elapsed().as_secs_f64();
        let peak = peak_rss_mb(child.id());
        stop(child)?;
        Line {
            name: "file-sink",
            records: LINES,
            seconds,
            bytes,
            peak_rss_mb: peak,
            reference: "rdkafka-consume",
            ref_rate,
        }
        .print();
        Ok(())
    }

    /// A worker with a file source and a file sink and nothing to do.
    /// An idle standalone worker running a FileStreamSource and a FileStreamSink on an empty
    /// file for 10 s: its resident and peak memory, in MB.
    fn idle_standalone(&self) -> Result<(f64, f64)> {
        let dir = self.work.join("idle");
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", true, port, 10_000)?;
        let topic = unique("bench-idle");
        let input = dir.join("in.txt");
        std::fs::write(&input, "")?;
        let source = dir.join("source.properties");
        std::fs::write(
            &source,
            format!(
                "name=idle-source\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
                input.display()
            ),
        )?;
        let sink = dir.join("sink.properties");
        std::fs::write(
            &sink,
            format!(
                "name=idle-sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
                dir.join("out").display()
            ),
        )?;
        let child = self.spawn(&[&worker, &source, &sink], &dir.join("log"))?;
        std::thread::sleep(IDLE_SETTLE);
        let rss = status_mb(child.id(), "VmRSS");
        let peak = peak_rss_mb(child.id());
        stop(child).context("idle worker")?;
        Ok((rss, peak))
    }

    fn idle_worker(&self) -> Result<()> {
        let (rss, peak) = self.idle_standalone()?;
        let settle = IDLE_SETTLE;
        println!(
            "bench idle-worker records=0 seconds={:.3} rate=0 mb_s=0.0 peak_rss_mb={peak:.1} rss_mb={rss:.1} ref=none ref_rate=0 ratio=0.00",
            settle.as_secs_f64()
        );
        Ok(())
    }
}
