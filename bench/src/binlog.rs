//! Binlog CDC benchmark: one `INSERT … SELECT` of 1,000,000 rows (one table, 7 columns) in the
//! binlog, streamed by the Debezium MariaDB connector to Kafka as Debezium JSON envelopes.
//! Reference in the same run: `mariadb-binlog --read-from-remote-server -v
//! --base64-output=decode-rows` over the same binlog range, to /dev/null. Then the latency of
//! single-row changes while the connector is idle (p50/p99, insert issued → record consumed).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;

use crate::{free_port, mariadb, peak_rss_mb, stop, unique, wait_for_offsets, Bench, Line};

const ROWS: usize = 1_000_000;
const DB: &str = "sluice_bench";

/// The server's current binlog file and position.
fn master_position() -> Result<(String, u64)> {
    let out = mariadb("SHOW MASTER STATUS")?;
    let mut cols = out.split('\t');
    let file = cols.next().context("SHOW MASTER STATUS is empty")?.to_owned();
    let pos = cols.next().context("no position")?.trim().parse()?;
    Ok((file, pos))
}

/// `mariadb-binlog` decoding the range's row events to text, rows per second.
fn reference_rate(file: &str, start: u64, stop_pos: u64) -> Result<f64> {
    let started = Instant::now();
    let status = Command::new("mariadb-binlog")
        .args(["--read-from-remote-server", "-h127.0.0.1", "-P3307", "-uroot", "-v", "--base64-output=decode-rows"])
        .arg(format!("--start-position={start}"))
        .arg(format!("--stop-position={stop_pos}"))
        .arg(file)
        .stdout(Stdio::null())
        .status()
        .context("mariadb-binlog (Debian package mariadb-client)")?;
    if !status.success() {
        bail!("mariadb-binlog failed");
    }
    Ok(ROWS as f64 / started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

impl Bench {
    /// `schemas`: JsonConverter with schemas in keys and values (Debezium's usual JSON), else
    /// payloads only.
    pub fn binlog_cdc(&self, name: &str, schemas: bool) -> Result<()> {
        let table = unique("cdc").replace('-', "_");
        mariadb(&format!(
            "CREATE DATABASE IF NOT EXISTS {DB}; CREATE TABLE {DB}.{table} (id BIGINT PRIMARY KEY, customer INT NOT NULL, \
             amount DECIMAL(12,2) NOT NULL, status VARCHAR(16) NOT NULL, note VARCHAR(48) NOT NULL, \
             created DATETIME(3) NOT NULL, flag TINYINT NOT NULL); CREATE TABLE {DB}.{table}_idle LIKE {DB}.{table}"
        ))?;
        let (file, start) = master_position()?;
        mariadb(&format!(
            "USE {DB}; INSERT INTO {table} SELECT seq, seq % 100000, (seq % 100000) / 100, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), \
             CONCAT('order note number ', LPAD(seq, 12, '0'), ' for customer'), \
             TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, seq % 2 FROM seq_1_to_{ROWS}"
        ))?;
        let (end_file, end) = master_position()?;
        if end_file != file {
            bail!("the binlog rotated during the load; run again");
        }
        // a marker transaction after the range: its offset says the range is done
        mariadb(&format!("INSERT INTO {DB}.{table} VALUES (0, 0, 0, 'marker', 'marker', '2024-01-01', 0)"))?;
        let ref_rate = reference_rate(&file, start, end)?;

        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", schemas, free_port()?, 20)?;
        let connector = dir.join("cdc.properties");
        let prefix = unique("bench-cdc");
        let connector_name = format!("{name}-{table}");
        std::fs::write(
            &connector,
            format!(
                "name={connector_name}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\ntasks.max=1\n\
                 database.hostname=127.0.0.1\ndatabase.port=3307\ndatabase.user=root\ndatabase.password=\n\
                 database.server.id={}\ntopic.prefix={prefix}\ndatabase.include.list={DB}\n\
                 table.include.list={DB}\\.{table}(_idle)?\ninclude.schema.changes=false\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{}",
                200_000 + std::process::id() % 100_000,
                std::env::var("BENCH_CDC_EXTRA").unwrap_or_default().replace(';', "\n")
            ),
        )?;
        // start streaming at the range: an offset as Debezium would have stored it there
        let offsets = dir.join("connect.offsets");
        let status = Command::new(&self.sluice)
            .args(["offsets", "set"])
            .arg(&offsets)
            .args(["--connector", &connector_name])
            .arg("--partition")
            .arg(format!(r#"{{"server":"{prefix}"}}"#))
            .arg("--offset")
            .arg(format!(r#"{{"file":"{file}","pos":{start}}}"#))
            .status()?;
        if !status.success() {
            bail!("sluice offsets set failed");
        }
        let sidecar = dir.join("connect.offsets.json");
        let started = Instant::now();
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        wait_for_offsets(&sidecar, started + Duration::from_secs(600), |v| {
            v["entries"]
                .as_array()
                .is_some_and(|es| es.iter().any(|e| e["offset"]["pos"].as_u64().is_some_and(|p| p >= end)))
        })
        .with_context(|| format!("{name}: the offset did not pass the range; see {}", dir.join("log").display()))?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = peak_rss_mb(child.id());
        let topic = format!("{prefix}.{DB}.{table}");
        let sample = crate::first_value(&topic)?;

        // latency at idle: one insert at a time, issued → consumed, on a table of its own (its
        // topic does not hold the million records, which slow the broker's fetches)
        let topic = format!("{topic}_idle");
        let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", crate::bootstrap())
            .set("group.id", unique("latency"))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .set("fetch.error.backoff.ms", "5")
            .create()?;
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)?;
        consumer.assign(&tpl)?;
        // a first change creates the topic
        mariadb(&format!("INSERT INTO {DB}.{table}_idle VALUES (0, 1, 1, 'new', 'first', '2024-01-01', 0)"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while consumer.poll(Duration::from_millis(100)).is_none_or(|m| m.is_err()) {
            if Instant::now() > deadline {
                bail!("the first change of {topic} not seen within 60 s");
            }
        }
        let mut latencies = Vec::new();
        for i in 0..100 {
            let id = ROWS + 1 + i;
            let issued = Instant::now();
            mariadb(&format!("INSERT INTO {DB}.{table}_idle VALUES ({id}, 1, 1, 'new', 'latency', '2024-01-01', 0)"))?;
            let deadline = issued + Duration::from_secs(10);
            loop {
                if Instant::now() > deadline {
                    bail!("change {id} not seen within 10 s");
                }
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(5)) {
                    if m.payload().is_some_and(|p| String::from_utf8_lossy(p).contains(&format!("\"id\":{id},"))) {
                        latencies.push(issued.elapsed().as_secs_f64() * 1000.0);
                        break;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        stop(child)?;
        mariadb(&format!("DROP TABLE {DB}.{table}, {DB}.{table}_idle"))?;
        // the broker side of the same work: a raw producer sending as many records of the same size
        let ref_topic = unique("bench-ref-cdc");
        crate::create_topic(&ref_topic, 1)?;
        let produced = Instant::now();
        crate::produce_all(&ref_topic, (0..ROWS).map(|_| sample.clone()))?;
        let produce_rate = ROWS as f64 / produced.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let line = Line {
            name,
            records: ROWS,
            seconds,
            bytes: ROWS * sample.len(),
            peak_rss_mb: peak,
            reference: "mariadb-binlog-decode-rows",
            ref_rate,
        };
        line.print();
        Line { reference: "rdkafka-produce-same-bytes", ref_rate: produce_rate, ..line }.print();
        println!(
            "bench {name}-latency records={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} (insert issued by a new mariadb client process -> record consumed)",
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
        Ok(())
    }
}
