//! Macro benchmarks: each pipeline of the real `sluice` binary against the real services, with a
//! physical reference measured in the same run. Each pipeline runs 3 times, each run on a fresh
//! broker of its own (`broker.rs`), interleaved with its references; one line per reference with
//! the medians, extremes and CPU seconds (`runs.rs` has its format), and for sources and S3 sinks
//! a `-cpu` line: sluice's CPU per record against the sum of the references'.
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
mod broker;
mod chaos;
mod cluster;
mod encoding;
mod file;
mod jdbc;
mod runs;
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
    /// jdbc-source, jdbc-source-4, binlog-cdc, binlog-cdc-noschema, binlog-cdc-avro, s3-sink-parquet, s3-sink-parquet-avro,
    /// s3-sink-json-gzip, s3-sink-200,
    /// cluster (failover, join, idle RSS of `sluice distributed`);
    /// on demand only: chaos (= chaos-file, chaos-jdbc, chaos-binlog, chaos-s3; `CHAOS_KILLS`, `CHAOS_SEED`).
    Run {
        names: Vec<String>,
        /// The sluice binary to measure.
        #[arg(long)]
        sluice: PathBuf,
    },
    /// Produce a file's lines with the reference producer (for profiling it alone); `-X key=value`
    /// adds librdkafka settings.
    RefProduce {
        servers: String,
        file: PathBuf,
        #[arg(short = 'X')]
        settings: Vec<String>,
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
        Cmd::RefProduce { servers, file, settings } => {
            let extra: Vec<(&str, &str)> = settings.iter().filter_map(|s| s.split_once('=')).collect();
            let text = std::fs::read_to_string(&file)?;
            let started = Instant::now();
            let n = produce_all_with(
                &producer_to(&servers, &extra)?,
                &unique("bench-ref"),
                text.lines().map(|l| l.as_bytes().to_vec()),
            )?;
            println!("records={n} seconds={:.3}", started.elapsed().as_secs_f64());
            Ok(())
        }
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
                "binlog-cdc-avro",
                "s3-sink-parquet",
                "s3-sink-parquet-avro",
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
                    "binlog-cdc-avro" => b.binlog_cdc_avro()?,
                    "s3-sink-parquet" => b.s3_sink("s3-sink-parquet", "parquet")?,
                    "s3-sink-parquet-avro" => b.s3_sink("s3-sink-parquet-avro", "parquet-avro")?,
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
    terminate(&mut child)
}

/// SIGTERM, and a clean exit.
fn terminate(child: &mut Child) -> Result<()> {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
    let status = child.wait()?;
    if !status.success() {
        bail!("sluice exited with {status}");
    }
    Ok(())
}

fn create_topic(topic: &str, partitions: i32) -> Result<()> {
    create_topic_on(&bootstrap(), &[], topic, partitions)
}

/// Creates `topic` on the brokers at `servers` (`extra`: librdkafka security settings).
fn create_topic_on(servers: &str, extra: &[(&str, &str)], topic: &str, partitions: i32) -> Result<()> {
    let mut cfg = ClientConfig::new();
    for (k, v) in extra {
        cfg.set(*k, *v);
    }
    let admin: AdminClient<DefaultClientContext> = cfg.set("bootstrap.servers", servers).create()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let results = rt.block_on(
        admin.create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new()),
    )?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("cannot create topic {t}: {e}"))?;
    }
    Ok(())
}

/// The producer settings sluice's source tasks use (Kafka Connect's: acks=all, not idempotent,
/// one request in flight; murmur2, linger 5 ms).
fn producer() -> Result<BaseProducer> {
    producer_to(&bootstrap(), &[])
}

/// [`producer`]'s settings against `servers`, with `extra` librdkafka settings.
fn producer_to(servers: &str, extra: &[(&str, &str)]) -> Result<BaseProducer> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", servers)
        .set("acks", "all")
        .set("enable.idempotence", "false")
        .set("max.in.flight.requests.per.connection", "1")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5");
    for (k, v) in extra {
        cfg.set(*k, *v);
    }
    Ok(cfg.create()?)
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

/// Reads `n` records of partition 0 of `topic` from the start: how many came, and their bytes.
fn consume_count_from(servers: &str, topic: &str, n: usize, timeout: Duration) -> Result<(usize, usize)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
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
fn from_start(servers: &str, topic: &str, group: &str) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", unique(group))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    Ok(consumer)
}

/// The first record value of partition 0 of `topic` on the brokers at `servers`.
fn first_value(servers: &str, topic: &str) -> Result<Vec<u8>> {
    let consumer = from_start(servers, topic, "first")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return Ok(m.payload().unwrap_or_default().to_vec());
        }
    }
    bail!("no record on {topic}")
}

fn peek(topic: &str, n: usize) -> Result<()> {
    let consumer = from_start(&bootstrap(), topic, "peek")?;
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
                 consumer.session.timeout.ms=6000\n{extra}{}",
                dir.join("connect.offsets").display(),
                std::env::var("BENCH_WORKER_EXTRA").unwrap_or_default().replace("\\n", "\n")
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

    /// An idle standalone worker running a FileStreamSource and a FileStreamSink on an empty
    /// file for 10 s: its resident memory, the anonymous part of it (the rest is the binary's own
    /// pages, shared and clean), and its peak, in MB.
    fn idle_standalone(&self) -> Result<(f64, f64, f64)> {
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
        let anon = status_mb(child.id(), "RssAnon");
        let peak = peak_rss_mb(child.id());
        stop(child).context("idle worker")?;
        Ok((rss, anon, peak))
    }

    fn idle_worker(&self) -> Result<()> {
        let (rss, anon, peak) = self.idle_standalone()?;
        let settle = IDLE_SETTLE;
        println!(
            "bench idle-worker records=0 seconds={:.3} rate=0 mb_s=0.0 peak_rss_mb={peak:.1} rss_mb={rss:.1} anon_mb={anon:.1} ref=none ref_rate=0 ratio=0.00",
            settle.as_secs_f64()
        );
        Ok(())
    }
}
