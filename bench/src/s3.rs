//! S3 sink benchmarks. `s3-sink-parquet` and `s3-sink-json-gzip`: 1,000,000 records (≈ 280 bytes
//! of JsonConverter envelope each, 8 partitions) archived to SeaweedFS with `flush.size=100000`.
//! The clock runs from the consumer group's assignment (Tansu delays a first join by seconds)
//! until the 8 files cut by `flush.size` (800,000 records) are listed: the line's `records` is
//! those. The 25,000 records left in each partition are then written by the idle flush
//! (`rotate.idle.ms=3000`) and checked, untimed: timing them would measure the idle timer. The
//! idle time is long enough that no partition's file is cut early while the consumer reads
//! the others (librdkafka reads partitions unevenly); a run with more than the 16 expected
//! objects fails rather than time files of other sizes.
//! `RUNS` runs, each on a fresh broker (a bucket of its own on the services' SeaweedFS);
//! references in the same runs: a raw rdkafka consumer reading the topic, and raw PutObjects of
//! the same bytes (objects of the sizes sluice wrote). `s3-sink-200`: 200 partitions under the
//! HourlyPartitioner, 200 files open at once, each cut by `flush.size` at its partition's
//! 5,000th and last record; the line's `peak_rss_mb` is the figure to watch.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::broker::{Broker, Front};
use crate::encoding;
use crate::runs::{cpu_budget_line, cpu_seconds, in_process, Run, Summary, RUNS};
use crate::{create_topic_on, free_port, peak_rss_mb, stop, unique, Bench};

const RECORDS: usize = 1_000_000;

pub(crate) fn endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".into())
}

pub(crate) fn client() -> Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testkey", "testsecret", None, None, "static"))
        .endpoint_url(endpoint())
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

pub(crate) fn rt() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// `(key, size)` of every object in the bucket.
pub(crate) fn list(rt: &tokio::runtime::Runtime, c: &Client, bucket: &str) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = rt.block_on(c.list_objects_v2().bucket(bucket).set_continuation_token(token.clone()).send())?;
        out.extend(page.contents().iter().map(|o| (o.key().unwrap_or_default().to_owned(), o.size().unwrap_or(0))));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub fn make_bucket(bucket: &str) -> Result<()> {
    rt()?
        .block_on(client().create_bucket().bucket(bucket).send())
        .with_context(|| format!("create bucket {bucket}"))?;
    Ok(())
}

pub fn show(bucket: &str, key: Option<&str>) -> Result<()> {
    let (rt, c) = (rt()?, client());
    let text = match key {
        None => list(&rt, &c, bucket)?
            .iter()
            .map(|(k, size)| format!("{size:>10}  s3://{bucket}/{k}\n"))
            .collect::<String>(),
        Some(k) => {
            let o = rt.block_on(c.get_object().bucket(bucket).key(k).send())?;
            String::from_utf8_lossy(&rt.block_on(o.body.collect())?.into_bytes()).into_owned()
        }
    };
    // a reader that stops early (`| head -2` in the quick start) is not an error
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The records' `status` values, by `i % 3`.
const STATUS: [&str; 3] = ["new", "paid", "shipped"];

/// Creates a bucket and writes and deletes one object in it: SeaweedFS allocates a new
/// bucket's storage on its first write (≈ 200 ms, which S3 does not have), so that is not timed.
fn create_warm_bucket(rt: &tokio::runtime::Runtime, c: &Client, bucket: &str) -> Result<()> {
    rt.block_on(c.create_bucket().bucket(bucket).send())?;
    rt.block_on(c.put_object().bucket(bucket).key("warm-up").body(b"x".to_vec().into()).send())?;
    rt.block_on(c.delete_object().bucket(bucket).key("warm-up").send())?;
    Ok(())
}

/// A JsonConverter envelope of about 280 bytes with an order struct.
fn envelope(i: usize) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","name":"Order","optional":false,"fields":["#,
            r#"{{"field":"id","type":"int64","optional":false}},{{"field":"status","type":"string","optional":false}},"#,
            r#"{{"field":"amount","type":"double","optional":false}}]}},"#,
            r#""payload":{{"id":{},"status":"{}","amount":{}.5}}}}"#
        ),
        i,
        STATUS[i % 3],
        i % 1000
    )
    .into_bytes()
}

/// The order of [`envelope`] in Confluent's Avro wire format with schema `id` (what
/// AvroConverter writes for the same Connect record).
fn avro_order(i: usize, id: i32) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    let long = |n: i64, out: &mut Vec<u8>| {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    };
    long(i as i64, &mut out);
    let status = STATUS[i % 3].as_bytes();
    long(status.len() as i64, &mut out);
    out.extend_from_slice(status);
    out.extend_from_slice(&((i % 1000) as f64 + 0.5).to_le_bytes());
    out
}

/// The Avro schema AvroConverter registers for [`envelope`]'s Connect schema.
const ORDER_AVRO: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"status","type":"string"},{"name":"amount","type":"double"}],"connect.name":"Order"}"#;

/// The schema registry of `scripts/services` (`SCHEMA_REGISTRY_URL`).
pub fn registry_url() -> String {
    std::env::var("SCHEMA_REGISTRY_URL").unwrap_or_else(|_| "http://127.0.0.1:8081".into())
}

/// Registers `schema` under `subject` (one HTTP/1.1 POST); answers the id.
pub fn register(subject: &str, schema: &str) -> Result<i32> {
    use std::io::{Read, Write};
    let url = registry_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let body = serde_json::json!({ "schema": schema }).to_string();
    let mut conn = std::net::TcpStream::connect(host)
        .with_context(|| format!("schema registry not reachable at {url}; run scripts/services up"))?;
    write!(
        conn,
        "POST /subjects/{subject}/versions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    let json = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let id = serde_json::from_str::<serde_json::Value>(json.trim()).ok().and_then(|v| v["id"].as_i64());
    id.map(|id| id as i32).with_context(|| format!("registering {subject}: {answer}"))
}

/// Produces RECORDS envelopes (or, with a schema id, Avro records) round-robin over
/// `partitions`, record timestamps in one hour.
fn fill(servers: &str, topic: &str, partitions: i32, avro_id: Option<i32>) -> Result<usize> {
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", servers).set("linger.ms", "5").create()?;
    let mut bytes = 0;
    let base = 1_700_000_000_000i64;
    for i in 0..RECORDS {
        let v = match avro_id {
            Some(id) => avro_order(i, id),
            None => envelope(i),
        };
        bytes += v.len();
        let mut rec = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(i as i32 % partitions)
            .payload(&v[..])
            .timestamp(base + (i as i64 % 3_000_000));
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
    }
    p.flush(Duration::from_secs(120))?;
    Ok(bytes)
}

/// The reference consumer: every partition of the topic, from its first record (the group's
/// join left out, as for sluice) to the last; CPU over the whole.
fn consume(servers: &str, topic: &str) -> Result<Run> {
    let cpu = cpu_seconds("self");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", unique("bench-s3-ref"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()?;
    consumer.subscribe(&[topic])?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut count = 0;
    let mut started = None;
    while count < RECORDS && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            started.get_or_insert_with(Instant::now);
            count += usize::from(m.payload().is_some());
        }
    }
    if count < RECORDS {
        bail!("reference consumer read {count} of {RECORDS}");
    }
    let seconds = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
    Ok(Run { seconds, cpu_s: cpu_seconds("self") - cpu, peak_rss_mb: 0.0 })
}

/// The reference upload: PutObjects of the sizes sluice wrote, one at a time.
fn put(rt: &tokio::runtime::Runtime, c: &Client, bucket: &str, sizes: &[i64]) -> Result<Run> {
    in_process(|| {
        for (i, size) in sizes.iter().enumerate() {
            let body = vec![b'x'; *size as usize];
            rt.block_on(c.put_object().bucket(bucket).key(format!("ref/{i}")).body(body.into()).send())?;
        }
        Ok(())
    })
}

/// Deletes a bench bucket and its objects (SeaweedFS frees its volumes).
pub(crate) fn remove_bucket(rt: &tokio::runtime::Runtime, c: &Client, bucket: &str) -> Result<()> {
    for (k, _) in list(rt, c, bucket)? {
        rt.block_on(c.delete_object().bucket(bucket).key(k).send())?;
    }
    rt.block_on(c.delete_bucket().bucket(bucket).send())?;
    Ok(())
}

fn wait_log(log: &Path, needle: &str, deadline: Instant) -> Result<()> {
    while !std::fs::read_to_string(log).unwrap_or_default().contains(needle) {
        if Instant::now() > deadline {
            bail!("timed out waiting for {needle:?} in {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// BENCH_KEEP_LOGS=<dir> (with BENCH_SLUICE_LOG=info,…) keeps each run's worker log, to see
/// where a run's time goes; the clock's start is printed in unix ms.
fn keep_log(log: &Path, run: &str, started: Instant) -> Result<()> {
    if let Ok(keep) = std::env::var("BENCH_KEEP_LOGS") {
        let to = Path::new(&keep).join(format!("{run}.log"));
        std::fs::copy(log, &to)?;
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as f64;
        eprintln!(
            "{}: the clock started at unix ms {:.0}",
            to.display(),
            now_ms - started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// `rotate.idle.ms` of the 8-partition runs.
const IDLE_MS: u64 = 3000;

/// A sink under way: the worker, its log, the deadline, and its CPU when the clock started.
struct Sink {
    child: std::process::Child,
    log: std::path::PathBuf,
    deadline: Instant,
    started: Instant,
    cpu_at_start: f64,
}

impl Sink {
    /// The run so far: seconds since the clock started, CPU since then, peak RSS.
    fn run(&self) -> Run {
        let pid = self.child.id();
        Run {
            seconds: self.started.elapsed().as_secs_f64(),
            cpu_s: cpu_seconds(&pid.to_string()) - self.cpu_at_start,
            peak_rss_mb: peak_rss_mb(pid),
        }
    }
}

/// A fresh broker holding `topic` of `partitions` filled with RECORDS envelopes, and their bytes.
fn filled_broker(prefix: &str, partitions: i32, avro: bool) -> Result<(Broker, String, usize)> {
    let broker = Broker::fresh(Front::Direct)?;
    let topic = unique(prefix);
    create_topic_on(&broker.servers, &[], &topic, partitions)?;
    let avro_id = if avro { Some(register(&format!("{topic}-value"), ORDER_AVRO)?) } else { None };
    let bytes = fill(&broker.servers, &topic, partitions, avro_id)?;
    Ok((broker, topic, bytes))
}

impl Bench {
    /// Starts sluice with an S3 sink of `topic` on `servers` into `bucket` (`props`: the
    /// connector's own lines) and waits for its partitions to be assigned; the clock starts then.
    fn start_sink(
        &self,
        name: &str,
        servers: &str,
        topic: &str,
        bucket: &str,
        flush_ms: u64,
        props: &str,
    ) -> Result<Sink> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let (converter, extra) = if props.contains("value.converter=io.confluent.connect.avro.AvroConverter") {
            let url = registry_url();
            (
                "io.confluent.connect.avro.AvroConverter",
                format!("key.converter.schema.registry.url={url}\nvalue.converter.schema.registry.url={url}\n"),
            )
        } else {
            ("org.apache.kafka.connect.json.JsonConverter", String::new())
        };
        let worker = self.worker_on(&dir, converter, true, free_port()?, flush_ms, servers, &extra)?;
        let connector = dir.join("s3.properties");
        std::fs::write(
            &connector,
            format!(
                "name={name}\nconnector.class=io.confluent.connect.s3.S3SinkConnector\ntopics={topic}\n\
                 s3.bucket.name={bucket}\ns3.region=us-east-1\nstore.url={}\naws.access.key.id=testkey\n\
                 aws.secret.access.key=testsecret\n{props}",
                endpoint()
            ),
        )?;
        let log = dir.join("log");
        let child = std::process::Command::new(&self.sluice)
            .arg("standalone")
            .args([&worker, &connector])
            .env(
                "SLUICE_LOG",
                std::env::var("BENCH_SLUICE_LOG").unwrap_or_else(|_| "warn,runtime::worker::sink=info".into()),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(900);
        wait_log(&log, "partitions assigned", deadline)?;
        let cpu_at_start = cpu_seconds(&child.id().to_string());
        Ok(Sink { child, log, deadline, started: Instant::now(), cpu_at_start })
    }

    /// `format`: `parquet` or `json-gzip`.
    pub fn s3_sink(&self, name: &str, format: &str) -> Result<()> {
        let format_lines = match format {
            "parquet" => "format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\n",
            // records in Confluent's Avro wire format, read by AvroConverter from the registry
            "parquet-avro" => {
                "format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\n\
                 value.converter=io.confluent.connect.avro.AvroConverter\n"
            }
            _ => "format.class=io.confluent.connect.s3.format.json.JsonFormat\ns3.compression.type=gzip\n",
        };
        let avro = format == "parquet-avro";
        let registry =
            if avro { format!("value.converter.schema.registry.url={}\n", registry_url()) } else { String::new() };
        let props = format!("flush.size=100000\nrotate.idle.ms={IDLE_MS}\n{format_lines}{registry}");
        let (rt, c) = (rt()?, client());
        let (mut runs, mut consumes, mut puts, mut encodes, mut input_bytes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
        for i in 0..RUNS {
            let (broker, topic, bytes) = filled_broker("bench-s3", 8, avro)?;
            input_bytes = bytes;
            consumes.push(consume(&broker.servers, &topic)?);
            let bucket = unique("bench-s3").to_lowercase();
            create_warm_bucket(&rt, &c, &bucket)?;
            let sink = self.start_sink(&format!("{name}-{i}"), &broker.servers, &topic, &bucket, 10_000, &props)?;
            let full = |objects: &[(String, i64)]| objects.iter().filter(|(k, _)| k.contains("+0000000000.")).count();
            let mut timed = None;
            loop {
                let objects = list(&rt, &c, &bucket)?;
                if timed.is_none() && full(&objects) >= 8 {
                    let sizes: Vec<i64> =
                        objects.iter().filter(|(k, _)| k.contains("+0000000000.")).map(|(_, s)| *s).collect();
                    timed = Some((sink.run(), sizes));
                }
                if objects.len() >= 16 {
                    break;
                }
                if Instant::now() > sink.deadline {
                    bail!("{name}: {} of 16 objects; see {}", objects.len(), sink.log.display());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let (run, sizes) = timed.expect("the flush.size files are listed before the rest");
            std::thread::sleep(Duration::from_millis(IDLE_MS + 500));
            let objects = list(&rt, &c, &bucket)?;
            if objects.len() != 16 {
                bail!(
                    "{name}: {} objects instead of 16 (a file cut early?); see {}",
                    objects.len(),
                    sink.log.display()
                );
            }
            runs.push(run);
            stop(sink.child).with_context(|| format!("{name}; see {}", sink.log.display()))?;
            keep_log(&sink.log, &format!("{name}-{i}"), sink.started)?;
            puts.push(put(&rt, &c, &bucket, &sizes)?);
            encodes.push(match format {
                "parquet" | "parquet-avro" => encoding::parquet_same_rows(8, 100_000, &STATUS)?,
                _ => {
                    let mut files = Vec::new();
                    for (key, _) in objects.iter().filter(|(k, _)| k.contains("+0000000000.")) {
                        let o = rt.block_on(c.get_object().bucket(&bucket).key(key).send())?;
                        files.push(encoding::gunzip(&rt.block_on(o.body.collect())?.into_bytes())?);
                    }
                    encoding::gzip_same_bytes(&files)?
                }
            });
            remove_bucket(&rt, &c, &bucket)?;
        }
        let records = RECORDS * 8 / 10;
        let bytes = input_bytes * 8 / 10;
        // the consumer's runs read every record: its time for the timed share
        let consumes: Vec<Run> =
            consumes.iter().map(|r| Run { seconds: r.seconds * 0.8, cpu_s: r.cpu_s * 0.8, ..*r }).collect();
        let line = |reference, ref_runs| Summary { name, records, bytes, runs: &runs, reference, ref_runs };
        let encode = if format.starts_with("parquet") { "parquet-encode-same-rows" } else { "gzip-same-bytes" };
        line("rdkafka-consume", &consumes).print();
        line(encode, &encodes).print();
        line("s3-put-same-bytes", &puts).print();
        let references = [("rdkafka-consume", &consumes[..]), (encode, &encodes[..]), ("s3-put-same-bytes", &puts[..])];
        println!("{}", cpu_budget_line(name, records, &runs, &references));
        Ok(())
    }

    /// 200 topic-partitions under the HourlyPartitioner: memory stays bounded by the budget.
    pub fn s3_sink_200(&self) -> Result<()> {
        let name = "s3-sink-200";
        // each partition's 5,000 records fill one file (round-robin fill): the clock stops when
        // the last is uploaded, not after an idle timer (rotate.idle.ms only as a safety net)
        let props = "flush.size=5000\nrotate.idle.ms=10000\n\
                     partitioner.class=io.confluent.connect.storage.partitioner.HourlyPartitioner\nlocale=en-US\n\
                     timezone=UTC\ntimestamp.extractor=Record\nformat.class=io.confluent.connect.s3.format.json.JsonFormat\n";
        let (rt, c) = (rt()?, client());
        let (mut runs, mut consumes, mut bytes) = (Vec::new(), Vec::new(), 0);
        for i in 0..RUNS {
            let (broker, topic, filled) = filled_broker("bench-s3-200", 200, false)?;
            bytes = filled;
            consumes.push(consume(&broker.servers, &topic)?);
            let bucket = unique("bench-s3-200").to_lowercase();
            create_warm_bucket(&rt, &c, &bucket)?;
            let sink = self.start_sink(&format!("{name}-{i}"), &broker.servers, &topic, &bucket, 2_000, props)?;
            runs.push(self.all_written(&rt, &c, &bucket, &sink)?);
            stop(sink.child).with_context(|| format!("{name}; see {}", sink.log.display()))?;
            keep_log(&sink.log, &format!("{name}-{i}"), sink.started)?;
            remove_bucket(&rt, &c, &bucket)?;
        }
        Summary { name, records: RECORDS, bytes, runs: &runs, reference: "rdkafka-consume", ref_runs: &consumes }
            .print();
        Ok(())
    }

    /// Waits until every record is in an object (the JSON lines of all objects add up).
    fn all_written(&self, rt: &tokio::runtime::Runtime, c: &Client, bucket: &str, sink: &Sink) -> Result<Run> {
        loop {
            let objects = list(rt, c, bucket)?;
            let stored: i64 = objects.iter().map(|(_, s)| *s).sum();
            let run = sink.run();
            // payload lines are ≈ 45 bytes: count lines only when the sizes suggest completion
            if stored as usize >= RECORDS * 40 {
                let mut lines = 0usize;
                for (k, _) in &objects {
                    let o = rt.block_on(c.get_object().bucket(bucket).key(k).send())?;
                    let body = rt.block_on(o.body.collect())?.into_bytes();
                    lines += body.iter().filter(|b| **b == b'\n').count();
                }
                if lines >= RECORDS {
                    return Ok(run);
                }
            }
            if Instant::now() > sink.deadline {
                bail!("s3-sink-200: not every record was written; see {}", sink.log.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
