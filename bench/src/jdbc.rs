//! JDBC source benchmarks: MariaDB tables of 1,000,000 rows (7 columns, about 100 bytes a row)
//! streamed to Kafka in incrementing mode with JsonConverter envelopes, `RUNS` times on fresh
//! brokers; references in the same runs: `mariadb --batch --quick -e 'SELECT * …' > /dev/null`
//! over the same tables, and a raw producer of as many records of the same bytes.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::broker::{Broker, Front};
use crate::runs::{child, cpu_budget_line, cpu_seconds, in_process, Run, Summary, RUNS};
use crate::{
    create_topic_on, first_value, free_port, mariadb, peak_rss_mb, produce_all_with, producer_to, stop, unique,
    wait_for_offsets, Bench,
};

const ROWS: usize = 1_000_000;
const DB: &str = "sluice_bench";

/// Creates `sluice_bench.<table>` with ROWS rows unless it already holds them.
fn table(name: &str) -> Result<()> {
    mariadb(&format!("CREATE DATABASE IF NOT EXISTS {DB}"))?;
    let count = mariadb(&format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='{DB}' AND TABLE_NAME='{name}'"
    ))?;
    if count.trim() == "1" && mariadb(&format!("SELECT COUNT(*) FROM {DB}.{name}"))?.trim() == ROWS.to_string() {
        return Ok(());
    }
    eprintln!("bench: filling {DB}.{name} with {ROWS} rows");
    mariadb(&format!(
        "USE {DB}; DROP TABLE IF EXISTS {name};\n\
         CREATE TABLE {name} (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT NOT NULL, amount DECIMAL(12,2) NOT NULL, \
         status VARCHAR(16) NOT NULL, note VARCHAR(48) NOT NULL, created DATETIME(3) NOT NULL, flag TINYINT NOT NULL);\n\
         INSERT INTO {name} (customer, amount, status, note, created, flag) \
         SELECT seq % 100000, (seq % 100000) / 100, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), \
         CONCAT('order note number ', LPAD(seq, 12, '0'), ' for customer'), \
         TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, seq % 2 FROM seq_1_to_{ROWS};"
    ))?;
    Ok(())
}

/// The reference: the mariadb client dumping the tables one after the other.
fn dump(names: &[String]) -> Result<Run> {
    let mut total = Run::default();
    for name in names {
        let run = child(
            Command::new("mariadb")
                .args(["-h127.0.0.1", "-P3307", "-uroot", "--batch", "--quick", "-e"])
                .arg(format!("SELECT * FROM {DB}.{name}")),
        )?;
        total.seconds += run.seconds;
        total.cpu_s += run.cpu_s;
    }
    Ok(total)
}

/// The broker's side of the same work: a raw producer sending `records` copies of `sample` to a
/// fresh broker.
fn produce_same_bytes(sample: &[u8], records: usize) -> Result<Run> {
    let broker = Broker::fresh(Front::Direct)?;
    let topic = unique("bench-ref-jdbc");
    create_topic_on(&broker.servers, &[], &topic, 1)?;
    in_process(|| {
        produce_all_with(&producer_to(&broker.servers, &[])?, &topic, (0..records).map(|_| sample.to_vec()))?;
        Ok(())
    })
}

impl Bench {
    /// `tables` tables of ROWS rows, `tasks.max` = tables, one connector.
    pub fn jdbc_source(&self, name: &str, tables: usize) -> Result<()> {
        let names: Vec<String> = (0..tables).map(|i| format!("rows_{i}")).collect();
        for t in &names {
            table(t)?;
        }
        let records = ROWS * tables;
        let (mut runs, mut dumps, mut produces, mut sample) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..RUNS {
            dumps.push(dump(&names)?);
            let broker = Broker::fresh(Front::Direct)?;
            let prefix = unique("bench-jdbc") + "-";
            runs.push(self.timed_jdbc_source(&format!("{name}-{i}"), &names, &broker.servers, &prefix)?);
            if sample.is_empty() {
                // JsonConverter envelopes with their schema, about 800 bytes
                sample = first_value(&broker.servers, &format!("{prefix}{}", names[0]))?;
            }
            drop(broker);
            produces.push(produce_same_bytes(&sample, records)?);
        }
        let bytes = records * sample.len();
        let line = |reference, ref_runs| Summary { name, records, bytes, runs: &runs, reference, ref_runs };
        line("mariadb-batch-dump", &dumps).print();
        line("rdkafka-produce-same-bytes", &produces).print();
        let references = [("mariadb-batch-dump", &dumps[..]), ("rdkafka-produce-same-bytes", &produces[..])];
        println!("{}", cpu_budget_line(name, records, &runs, &references));
        Ok(())
    }

    /// One JDBC source run to `servers`: from process start until the offset file holds every
    /// table's last id.
    fn timed_jdbc_source(&self, name: &str, tables: &[String], servers: &str, prefix: &str) -> Result<Run> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let converter = "org.apache.kafka.connect.json.JsonConverter";
        let worker = self.worker_on(&dir, converter, true, free_port()?, 20, servers, "")?;
        let connector = dir.join("jdbc.properties");
        std::fs::write(
            &connector,
            format!(
                "name={name}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max={}\n\
                 connection.url=jdbc:mysql://127.0.0.1:3307/{DB}?user=root&useSSL=false\nmode=incrementing\n\
                 table.whitelist={}\ntopic.prefix={prefix}\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
                tables.len(),
                tables.join(","),
            ),
        )?;
        let sidecar = dir.join("connect.offsets.json");
        let started = Instant::now();
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        wait_for_offsets(&sidecar, started + Duration::from_secs(600), |v| {
            let last = |e: &&serde_json::Value| e["offset"]["incrementing"].as_u64() == Some(ROWS as u64);
            v["entries"].as_array().is_some_and(|es| es.iter().filter(last).count() == tables.len())
        })
        .with_context(|| format!("{name}: offsets did not reach the last row; see {}", dir.join("log").display()))?;
        let seconds = started.elapsed().as_secs_f64();
        let run = Run { seconds, cpu_s: cpu_seconds(&child.id().to_string()), peak_rss_mb: peak_rss_mb(child.id()) };
        stop(child)?;
        Ok(run)
    }
}
