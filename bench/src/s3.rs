//! S3 sink benchmarks. `s3-sink-parquet` and `s3-sink-json-gzip`: 1,000,000 records (≈ 280 bytes
//! of JsonConverter envelope each, 8 partitions) archived to SeaweedFS with `flush.size=100000`.
//! The clock runs from the consumer group's assignment (Tansu delays a first join by seconds)
//! until the 8 files cut by `flush.size` (800,000 records) are listed: the line's `records` is
//! those. The 25,000 records left in each partition are then written by the idle flush
//! (`rotate.idle.ms=500`) and checked, untimed: timing them would measure the idle timer. References in the same run: a raw rdkafka consumer reading
//! the topic, and raw PutObjects of the same bytes (objects of the sizes sluice wrote).
//! `s3-sink-200`: 200 partitions under the HourlyPartitioner, files cut only by memory pressure
//! and the idle flush; the line's `peak_rss_mb` is the figure to watch.

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

use crate::{bootstrap, create_topic, free_port, peak_rss_mb, stop, unique, Bench, Line};

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
    match key {
        None => {
            for (k, size) in list(&rt, &c, bucket)? {
                println!("{size:>10}  s3://{bucket}/{k}");
            }
        }
        Some(k) => {
            let o = rt.block_on(c.get_object().bucket(bucket).key(k).send())?;
            print!("{}", String::from_utf8_lossy(&rt.block_on(o.body.collect())?.into_bytes()));
        }
    }
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
        ["new", "paid", "shipped"][i % 3],
        i % 1000
    )
    .into_bytes()
}

/// Produces RECORDS envelopes round-robin over `partitions`, record timestamps in one hour.
fn fill(topic: &str, partitions: i32) -> Result<usize> {
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", bootstrap()).set("linger.ms", "5").create()?;
    let mut bytes = 0;
    let base = 1_700_000_000_000i64;
    for i in 0..RECORDS {
        let v = envelope(i);
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

/// The reference consumer: every partition of the topic, records per second.
fn consume_rate(topic: &str) -> Result<f64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
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
    Ok(count as f64 / started.unwrap().elapsed().as_secs_f64())
}

/// The reference upload: PutObjects of the sizes sluice wrote, one at a time; records per second.
fn put_rate(rt: &tokio::runtime::Runtime, c: &Client, bucket: &str, sizes: &[i64]) -> Result<f64> {
    let started = Instant::now();
    for (i, size) in sizes.iter().enumerate() {
        let body = vec![b'x'; *size as usize];
        rt.block_on(c.put_object().bucket(bucket).key(format!("ref/{i}")).body(body.into()).send())?;
    }
    Ok(RECORDS as f64 / started.elapsed().as_secs_f64())
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

impl Bench {
    /// Starts sluice with an S3 sink of `topic` into `bucket` (`props`: the connector's own
    /// lines) and waits for its partitions to be assigned; the clock starts after this.
    fn start_sink(
        &self,
        name: &str,
        topic: &str,
        bucket: &str,
        flush_ms: u64,
        props: &str,
    ) -> Result<(std::process::Child, std::path::PathBuf, Instant)> {
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", true, free_port()?, flush_ms)?;
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
            .env("SLUICE_LOG", "warn,runtime::worker::sink=info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(900);
        wait_log(&log, "partitions assigned", deadline)?;
        Ok((child, log, deadline))
    }

    /// `format`: `parquet` or `json-gzip`.
    pub fn s3_sink(&self, name: &str, format: &str) -> Result<()> {
        let topic = unique("bench-s3");
        create_topic(&topic, 8)?;
        let input_bytes = fill(&topic, 8)?;
        let ref_consume = consume_rate(&topic)?;
        let (rt, c) = (rt()?, client());
        let bucket = unique("bench-s3").to_lowercase();
        rt.block_on(c.create_bucket().bucket(&bucket).send())?;

        let format_lines = match format {
            "parquet" => "format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\n",
            _ => "format.class=io.confluent.connect.s3.format.json.JsonFormat\ns3.compression.type=gzip\n",
        };
        let props = format!("flush.size=100000\nrotate.idle.ms=500\n{format_lines}");
        let (child, log, deadline) = self.start_sink(name, &topic, &bucket, 10_000, &props)?;
        let started = Instant::now();
        let full = |objects: &[(String, i64)]| objects.iter().filter(|(k, _)| k.contains("+0000000000.")).count();
        let mut seconds = None;
        let objects = loop {
            let objects = list(&rt, &c, &bucket)?;
            if seconds.is_none() && full(&objects) >= 8 {
                seconds = Some(started.elapsed().as_secs_f64());
            }
            if objects.len() >= 16 {
                break objects;
            }
            if Instant::now() > deadline {
                bail!("{name}: {} of 16 objects; see {}", objects.len(), log.display());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let seconds = seconds.expect("the flush.size files are listed before the rest");
        let peak = peak_rss_mb(child.id());
        stop(child).with_context(|| format!("{name}; see {}", log.display()))?;
        let sizes: Vec<i64> = objects.iter().map(|(_, s)| *s).collect();
        let ref_put = put_rate(&rt, &c, &bucket, &sizes)?;
        let records = RECORDS * 8 / 10;
        let bytes = input_bytes * 8 / 10;
        for (reference, ref_rate) in [("rdkafka-consume", ref_consume), ("s3-put-same-bytes", ref_put)] {
            Line { name, records, seconds, bytes, peak_rss_mb: peak, reference, ref_rate }.print();
        }
        remove_bucket(&rt, &c, &bucket)
    }

    /// 200 topic-partitions under the HourlyPartitioner: memory stays bounded by the budget.
    pub fn s3_sink_200(&self) -> Result<()> {
        let name = "s3-sink-200";
        let topic = unique("bench-s3-200");
        create_topic(&topic, 200)?;
        let bytes = fill(&topic, 200)?;
        let ref_consume = consume_rate(&topic)?;
        let (rt, c) = (rt()?, client());
        let bucket = unique("bench-s3-200").to_lowercase();
        rt.block_on(c.create_bucket().bucket(&bucket).send())?;
        let props = "flush.size=100000000\nrotate.idle.ms=2000\n\
                     partitioner.class=io.confluent.connect.storage.partitioner.HourlyPartitioner\nlocale=en-US\n\
                     timezone=UTC\ntimestamp.extractor=Record\nformat.class=io.confluent.connect.s3.format.json.JsonFormat\n";
        let (child, log, deadline) = self.start_sink(name, &topic, &bucket, 2_000, props)?;
        let started = Instant::now();
        // done when every record is in an object: the JSON lines of all objects add up
        let mut seconds;
        loop {
            let objects = list(&rt, &c, &bucket)?;
            let stored: i64 = objects.iter().map(|(_, s)| *s).sum();
            seconds = started.elapsed().as_secs_f64();
            // payload lines are ≈ 45 bytes: compare counts of lines by reading only when sizes suggest completion
            if stored as usize >= RECORDS * 40 {
                let mut lines = 0usize;
                for (k, _) in &objects {
                    let o = rt.block_on(c.get_object().bucket(&bucket).key(k).send())?;
                    let body = rt.block_on(o.body.collect())?.into_bytes();
                    lines += body.iter().filter(|b| **b == b'\n').count();
                }
                if lines >= RECORDS {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("{name}: not every record was written; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let peak = peak_rss_mb(child.id());
        stop(child).with_context(|| format!("{name}; see {}", log.display()))?;
        Line {
            name,
            records: RECORDS,
            seconds,
            bytes,
            peak_rss_mb: peak,
            reference: "rdkafka-consume",
            ref_rate: ref_consume,
        }
        .print();
        remove_bucket(&rt, &c, &bucket)
    }
}
