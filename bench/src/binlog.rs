//! Binlog CDC benchmark: one `INSERT … SELECT` of 1,000,000 rows (one table, 7 columns) in the
//! binlog, streamed by the Debezium MariaDB connector to Kafka as Debezium JSON envelopes,
//! `RUNS` times from the same range, each on a fresh broker. References in the same runs:
//! `mariadb-binlog --read-from-remote-server -v --base64-output=decode-rows` over the range, to
//! /dev/null, and a raw producer of as many records of the same bytes. Then, in the first run,
//! the latency of single-row changes while the connector is idle (p50/p99, insert issued →
//! record consumed).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;

use crate::broker::{Broker, Front};
use crate::runs::{child, cpu_budget_line, cpu_seconds, in_process, Run, Summary, RUNS};
use crate::{
    create_topic_on, first_value, free_port, mariadb, peak_rss_mb, produce_all_with, producer_to, stop, unique,
    wait_for_offsets, Bench,
};

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

/// The million rows' binlog range: their table, the binlog file, and the range's start and end.
struct Range {
    table: String,
    file: String,
    start: u64,
    end: u64,
}

impl Range {
    fn load() -> Result<Range> {
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
        Ok(Range { table, file, start, end })
    }

    /// `mariadb-binlog` decoding the range's row events to text.
    fn decode(&self) -> Result<Run> {
        child(
            Command::new("mariadb-binlog")
                .args([
                    "--read-from-remote-server",
                    "-h127.0.0.1",
                    "-P3307",
                    "-uroot",
                    "-v",
                    "--base64-output=decode-rows",
                ])
                .arg(format!("--start-position={}", self.start))
                .arg(format!("--stop-position={}", self.end))
                .arg(&self.file),
        )
        .context("mariadb-binlog (Debian package mariadb-client)")
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Single-row inserts into the idle table while the connector runs: issued → consumed, in ms.
fn idle_latencies(servers: &str, table: &str, topic: &str) -> Result<Vec<f64>> {
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", unique("latency"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("fetch.error.backoff.ms", "5")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)?;
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
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// The converter of a CDC run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conv {
    JsonSchemas,
    JsonPlain,
    Avro,
}

impl Bench {
    /// `schemas`: JsonConverter with schemas in keys and values (Debezium's usual JSON), else
    /// payloads only.
    pub fn binlog_cdc(&self, name: &str, schemas: bool) -> Result<()> {
        self.binlog_cdc_with(name, if schemas { Conv::JsonSchemas } else { Conv::JsonPlain })
    }

    /// AvroConverter with the registry of `scripts/services`, against JsonConverter with
    /// schemas over the same rows in the same run.
    pub fn binlog_cdc_avro(&self) -> Result<()> {
        self.binlog_cdc_with("binlog-cdc-avro", Conv::Avro)
    }

    fn binlog_cdc_with(&self, name: &str, conv: Conv) -> Result<()> {
        let range = Range::load()?;
        let mut json_runs = Vec::new();
        let (mut runs, mut decodes, mut produces) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sample, mut latencies) = (Vec::new(), Vec::new());
        for i in 0..RUNS {
            decodes.push(range.decode()?);
            let broker = Broker::fresh(Front::Direct)?;
            let (run, child, topic) = self.timed_binlog_cdc(&format!("{name}-{i}"), &range, conv, &broker.servers)?;
            runs.push(run);
            if i == 0 {
                sample = first_value(&broker.servers, &topic)?;
                // the latency probe finds its rows by their JSON text
                if conv != Conv::Avro {
                    latencies = idle_latencies(&broker.servers, &range.table, &format!("{topic}_idle"))?;
                }
            }
            stop(child)?;
            drop(broker);
            if conv == Conv::Avro {
                let broker = Broker::fresh(Front::Direct)?;
                let (run, child, _) =
                    self.timed_binlog_cdc(&format!("{name}-json-{i}"), &range, Conv::JsonSchemas, &broker.servers)?;
                json_runs.push(run);
                stop(child)?;
            }
            let broker = Broker::fresh(Front::Direct)?;
            let topic = unique("bench-ref-cdc");
            create_topic_on(&broker.servers, &[], &topic, 1)?;
            produces.push(in_process(|| {
                produce_all_with(&producer_to(&broker.servers, &[])?, &topic, (0..ROWS).map(|_| sample.clone()))?;
                Ok(())
            })?);
        }
        mariadb(&format!("DROP TABLE {DB}.{0}, {DB}.{0}_idle", range.table))?;
        let bytes = ROWS * sample.len();
        let line = |reference, ref_runs| Summary { name, records: ROWS, bytes, runs: &runs, reference, ref_runs };
        line("mariadb-binlog-decode-rows", &decodes).print();
        line("rdkafka-produce-same-bytes", &produces).print();
        if conv == Conv::Avro {
            line("binlog-cdc-json-same-rows", &json_runs).print();
        }
        let references = [("mariadb-binlog-decode-rows", &decodes[..]), ("rdkafka-produce-same-bytes", &produces[..])];
        println!("{}", cpu_budget_line(name, ROWS, &runs, &references));
        if latencies.is_empty() {
            return Ok(());
        }
        println!(
            "bench {name}-latency records={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} (insert issued by a new mariadb client process -> record consumed)",
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
        Ok(())
    }

    /// One CDC run from the range's start to `servers`, until the offset passes the range: the
    /// run, the still running worker (stopped by the caller), and the table's topic.
    fn timed_binlog_cdc(&self, name: &str, range: &Range, conv: Conv, servers: &str) -> Result<(Run, Child, String)> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let (converter, extra, prefix) = match conv {
            Conv::Avro => {
                let url = crate::s3::registry_url();
                let extra =
                    format!("key.converter.schema.registry.url={url}\nvalue.converter.schema.registry.url={url}\n");
                // Avro names allow no '-': the prefix is the schemas' namespace
                ("io.confluent.connect.avro.AvroConverter", extra, unique("bench_cdc").replace('-', "_"))
            }
            _ => ("org.apache.kafka.connect.json.JsonConverter", String::new(), unique("bench-cdc")),
        };
        let worker = self.worker_on(&dir, converter, conv == Conv::JsonSchemas, free_port()?, 20, servers, &extra)?;
        let connector = dir.join("cdc.properties");
        let table = &range.table;
        std::fs::write(
            &connector,
            format!(
                "name={name}\nconnector.class=io.debezium.connector.mariadb.MariaDbConnector\ntasks.max=1\n\
                 database.hostname=127.0.0.1\ndatabase.port=3307\ndatabase.user=root\ndatabase.password=\n\
                 database.server.id={}\ntopic.prefix={prefix}\ndatabase.include.list={DB}\n\
                 table.include.list={DB}\\.{table}(_idle)?\ninclude.schema.changes=false\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n{}",
                200_000 + std::process::id() % 100_000,
                std::env::var("BENCH_CDC_EXTRA").unwrap_or_default().replace(';', "\n")
            ),
        )?;
        // start streaming at the range: an offset as Debezium would have stored it there
        let status = Command::new(&self.sluice)
            .args(["offsets", "set"])
            .arg(dir.join("connect.offsets"))
            .args(["--connector", name])
            .arg("--partition")
            .arg(format!(r#"{{"server":"{prefix}"}}"#))
            .arg("--offset")
            .arg(format!(r#"{{"file":"{}","pos":{}}}"#, range.file, range.start))
            .status()?;
        if !status.success() {
            bail!("sluice offsets set failed");
        }
        let sidecar = dir.join("connect.offsets.json");
        let started = Instant::now();
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        let end = range.end;
        wait_for_offsets(&sidecar, started + Duration::from_secs(600), |v| {
            v["entries"]
                .as_array()
                .is_some_and(|es| es.iter().any(|e| e["offset"]["pos"].as_u64().is_some_and(|p| p >= end)))
        })
        .with_context(|| format!("{name}: the offset did not pass the range; see {}", dir.join("log").display()))?;
        let seconds = started.elapsed().as_secs_f64();
        let run = Run { seconds, cpu_s: cpu_seconds(&child.id().to_string()), peak_rss_mb: peak_rss_mb(child.id()) };
        Ok((run, child, format!("{prefix}.{DB}.{table}")))
    }
}
