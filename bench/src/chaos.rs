//! Crash consistency: each pipeline runs under a steady writer while its worker is `kill -9`ed at
//! random moments (`CHAOS_KILLS` times, 20 by default; 0.5–3 s apart, `CHAOS_SEED` replays a
//! run), then runs once more until it has caught up. One line per pipeline:
//!
//! `chaos <pipeline> kills=<k> written=<n> delivered=<records> lost=<n> duplicates=<n> seconds=<s> seed=<x>`
//!
//! `lost` must be 0: every row, line or record written reaches the other side. Sources may
//! duplicate what they sent after their last offset save (at-least-once); the S3 sink writes each
//! record exactly once, and its bucket must equal an uninterrupted run's over the same topic,
//! key for key and byte for byte (`bucket=equal`).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::{bootstrap, create_topic, free_port, mariadb, producer, s3, unique, Bench};

const DB: &str = "sluice_bench";
/// Records the S3 pipeline's writer sends per acknowledged batch.
const S3_BATCH: u64 = 20;

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Writes ids 0, 1, 2, … with `write` until stopped; `count` is how many were written.
struct Writer {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    thread: JoinHandle<Result<()>>,
}

impl Writer {
    fn start(pause: Duration, mut write: impl FnMut(u64) -> Result<()> + Send + 'static) -> Writer {
        let (stop, count) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, c) = (stop.clone(), count.clone());
        let thread = std::thread::spawn(move || {
            let mut i = 0;
            while !s.load(Ordering::Relaxed) {
                write(i)?;
                i += 1;
                c.store(i, Ordering::Relaxed);
                std::thread::sleep(pause);
            }
            Ok(())
        });
        Writer { stop, count, thread }
    }

    fn finish(self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow::anyhow!("the writer panicked"))??;
        Ok(self.count.load(Ordering::Relaxed))
    }
}

/// Every value of partition 0 of `topic`, read until nothing new came for `quiet`.
fn read_all(topic: &str, quiet: Duration) -> Result<Vec<Vec<u8>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("chaos-reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(m.payload().unwrap_or_default().to_vec());
            last = Instant::now();
        }
    }
    Ok(out)
}

/// The number after `key` in a JSON text (`"id":123`).
fn number_after(text: &[u8], key: &str) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let at = text.find(key)? + key.len();
    let digits: String =
        text[at..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn kills() -> usize {
    std::env::var("CHAOS_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(20)
}

impl Bench {
    pub fn chaos(&self, pipeline: &str) -> Result<()> {
        match pipeline {
            "chaos-file" => self.chaos_file(),
            "chaos-jdbc" => self.chaos_table("chaos-jdbc", false),
            "chaos-binlog" => self.chaos_table("chaos-binlog", true),
            "chaos-s3" => self.chaos_s3(),
            other => bail!("unknown chaos pipeline {other}"),
        }
    }

    /// Starts the worker on `files`, kills it `kills()` times at random moments while `writer`
    /// writes, stops the writer, and starts it once more; returns what was written, the last
    /// worker and the seed.
    fn kill_loop(&self, name: &str, files: &[&Path], writer: Writer) -> Result<(u64, std::process::Child, u64)> {
        let seed = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64 | 1
        });
        let mut rng = Rng(seed);
        let logs = self.work.join(name);
        std::fs::create_dir_all(&logs)?;
        for k in 0..kills() {
            let mut child = self.spawn(files, &logs.join(format!("log{k}")))?;
            std::thread::sleep(Duration::from_millis(500 + rng.next() % 2500));
            if let Some(status) = child.try_wait()? {
                bail!("{name}: the worker exited by itself ({status}); see {}", logs.join(format!("log{k}")).display());
            }
            child.kill()?;
            child.wait()?;
        }
        let written = writer.finish()?;
        let last = self.spawn(files, &logs.join("log-final"))?;
        Ok((written, last, seed))
    }

    /// Reads ids with `read` until all of `0..written` are there (or 180 s); prints the line.
    fn settle(
        &self,
        name: &str,
        written: u64,
        started: Instant,
        seed: u64,
        extra: &str,
        read: impl Fn() -> Result<Vec<u64>>,
    ) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(180);
        let ids = loop {
            let ids = read()?;
            let seen: HashSet<u64> = ids.iter().copied().collect();
            if (0..written).all(|i| seen.contains(&i)) || Instant::now() > deadline {
                break ids;
            }
            std::thread::sleep(Duration::from_secs(2));
        };
        let seen: HashSet<u64> = ids.iter().copied().collect();
        let lost = (0..written).filter(|i| !seen.contains(i)).count();
        println!(
            "chaos {name} kills={} written={written} delivered={} lost={lost} duplicates={} seconds={:.1} seed={seed}{extra}",
            kills(),
            ids.len(),
            ids.len() - seen.len(),
            started.elapsed().as_secs_f64()
        );
        std::io::stdout().flush()?;
        if lost > 0 {
            bail!("{name}: {lost} of {written} lost (seed {seed})");
        }
        Ok(())
    }

    /// FileStreamSource: a writer appends lines to the file.
    fn chaos_file(&self) -> Result<()> {
        let dir = self.work.join(unique("chaos-file"));
        std::fs::create_dir_all(&dir)?;
        let input = dir.join("in.txt");
        std::fs::write(&input, "")?;
        let topic = unique("chaos-file");
        create_topic(&topic, 1)?;
        let worker =
            self.worker(&dir, "org.apache.kafka.connect.storage.StringConverter", false, free_port()?, 1000)?;
        let connector = dir.join("source.properties");
        std::fs::write(
            &connector,
            format!("name={topic}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n", input.display()),
        )?;
        let mut out = std::fs::OpenOptions::new().append(true).open(&input)?;
        let writer = Writer::start(Duration::from_millis(2), move |i| {
            writeln!(out, "chaos line {i:09}")?;
            Ok(())
        });
        let started = Instant::now();
        let (written, last, seed) = self.kill_loop("chaos-file", &[&worker, &connector], writer)?;
        let result = self.settle("chaos-file", written, started, seed, "", || {
            Ok(read_all(&topic, Duration::from_secs(3))?.iter().filter_map(|v| number_after(v, "line")).collect())
        });
        crate::stop(last)?;
        result
    }

    /// JDBC (incrementing) or binlog CDC: a writer inserts one row a transaction.
    fn chaos_table(&self, name: &str, binlog: bool) -> Result<()> {
        let table = unique("chaos").replace('-', "_");
        mariadb(&format!(
            "CREATE DATABASE IF NOT EXISTS {DB}; CREATE TABLE {DB}.{table} (id BIGINT PRIMARY KEY, note VARCHAR(40))"
        ))?;
        let dir = self.work.join(&table);
        std::fs::create_dir_all(&dir)?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", false, free_port()?, 1000)?;
        let connector = dir.join("connector.properties");
        let (props, topic, key) = if binlog {
            let prefix = unique("chaos-cdc");
            (
                format!(
                    "connector.class=io.debezium.connector.mariadb.MariaDbConnector\ndatabase.hostname=127.0.0.1\n\
                     database.port=3307\ndatabase.user=root\ndatabase.password=\ndatabase.server.id={}\n\
                     topic.prefix={prefix}\ndatabase.include.list={DB}\ntable.include.list={DB}\\.{table}\n\
                     include.schema.changes=false\n",
                    300_000 + std::process::id() % 100_000
                ),
                format!("{prefix}.{DB}.{table}"),
                "\"after\"",
            )
        } else {
            let prefix = unique("chaos-jdbc-");
            (
                format!(
                    "connector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
                     connection.url=jdbc:mysql://127.0.0.1:3307/{DB}?user=root\nmode=incrementing\n\
                     incrementing.column.name=id\ntable.whitelist={table}\ntopic.prefix={prefix}\npoll.interval.ms=200\n"
                ),
                format!("{prefix}{table}"),
                "\"id\"",
            )
        };
        std::fs::write(
            &connector,
            format!(
                "name={table}\n{props}topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n"
            ),
        )?;
        let insert = format!("INSERT INTO {DB}.{table} VALUES");
        let writer = Writer::start(Duration::from_millis(5), move |i| {
            mariadb(&format!("{insert} ({i}, 'row {i}')")).map(|_| ())
        });
        let started = Instant::now();
        let (written, last, seed) = self.kill_loop(name, &[&worker, &connector], writer)?;
        let result = self.settle(name, written, started, seed, "", || {
            // binlog: creates only (the key is the id; tombstones and deletes do not occur here)
            Ok(read_all(&topic, Duration::from_secs(3))?.iter().filter_map(|v| number_after(v, key)).collect())
        });
        crate::stop(last)?;
        result
    }

    /// The S3 sink: a producer writes JsonConverter records steadily; after the kills and the
    /// catch-up, a second sink without kills archives the same topic into a bucket of its own,
    /// and the two buckets must be equal.
    fn chaos_s3(&self) -> Result<()> {
        let topic = unique("chaos-s3");
        create_topic(&topic, 1)?;
        let p = producer()?;
        let t = topic.clone();
        // each call writes records 20i … 20i+19 and waits for the broker's acks, so what the writer
        // counts is on the topic
        let writer = Writer::start(Duration::from_millis(2), move |i| {
            for id in i * S3_BATCH..(i + 1) * S3_BATCH {
                let v = format!(r#"{{"schema":{{"type":"int64","optional":false}},"payload":{id}}}"#);
                p.send(BaseRecord::<[u8], [u8]>::to(&t).payload(v.as_bytes())).map_err(|(e, _)| e)?;
            }
            p.flush(Duration::from_secs(30))?;
            Ok(())
        });
        let props =
            "flush.size=100\nrotate.idle.ms=5000\nformat.class=io.confluent.connect.s3.format.json.JsonFormat\n";
        let (chaos_bucket, chaos_files) = self.s3_sink_files("chaos-s3", &topic, props)?;
        let started = Instant::now();
        let files: Vec<&Path> = chaos_files.iter().map(|p| p.as_path()).collect();
        let (batches, last, seed) = self.kill_loop("chaos-s3", &files, writer)?;
        let written = batches * S3_BATCH;
        let (rt, c) = (s3::rt()?, s3::client());
        let objects = |bucket: &str| -> Result<BTreeMap<String, Vec<u8>>> {
            let mut out = BTreeMap::new();
            for (key, _) in s3::list(&rt, &c, bucket)? {
                let o = rt.block_on(c.get_object().bucket(bucket).key(&key).send())?;
                out.insert(key, rt.block_on(o.body.collect())?.into_bytes().to_vec());
            }
            Ok(out)
        };
        let ids_in = |objects: &BTreeMap<String, Vec<u8>>| -> Vec<u64> {
            objects
                .values()
                .flat_map(|b| b.split(|c| *c == b'\n').filter_map(|l| std::str::from_utf8(l).ok()?.trim().parse().ok()))
                .collect()
        };
        // the uninterrupted run, once the chaotic one has everything
        let deadline = Instant::now() + Duration::from_secs(180);
        while ids_in(&objects(&chaos_bucket)?).len() < written as usize && Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(2));
        }
        crate::stop(last)?;
        let (calm_bucket, calm_files) = self.s3_sink_files("chaos-s3-calm", &topic, props)?;
        let files: Vec<&Path> = calm_files.iter().map(|p| p.as_path()).collect();
        let calm = self.spawn(&files, &self.work.join("chaos-s3-calm.log"))?;
        let chaotic = objects(&chaos_bucket)?;
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut same = false;
        while !same && Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(2));
            same = objects(&calm_bucket)? == chaotic;
        }
        crate::stop(calm)?;
        let extra = format!(" bucket={} objects={}", if same { "equal" } else { "DIFFERENT" }, chaotic.len());
        let result = self.settle("chaos-s3", written, started, seed, &extra, || Ok(ids_in(&chaotic)));
        for b in [&chaos_bucket, &calm_bucket] {
            s3::remove_bucket(&rt, &c, b)?;
        }
        result?;
        if !same {
            bail!("chaos-s3: the bucket differs from an uninterrupted run's (seed {seed})");
        }
        let dups = ids_in(&chaotic).len() as u64 - written;
        if dups > 0 {
            bail!("chaos-s3: {dups} records written twice (seed {seed})");
        }
        Ok(())
    }

    /// A bucket and the worker and connector files of an S3 sink of `topic` into it.
    fn s3_sink_files(&self, name: &str, topic: &str, props: &str) -> Result<(String, Vec<std::path::PathBuf>)> {
        let bucket = unique(name).to_lowercase();
        s3::make_bucket(&bucket)?;
        let dir = self.work.join(&bucket);
        std::fs::create_dir_all(&dir)?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", true, free_port()?, 1000)?;
        let connector = dir.join("s3.properties");
        std::fs::write(
            &connector,
            format!(
                "name={bucket}\nconnector.class=io.confluent.connect.s3.S3SinkConnector\ntopics={topic}\n\
                 s3.bucket.name={bucket}\ns3.region=us-east-1\nstore.url={}\naws.access.key.id=testkey\n\
                 aws.secret.access.key=testsecret\n{props}",
                s3::endpoint()
            ),
        )
        .context("connector file")?;
        Ok((bucket, vec![worker, connector]))
    }
}
