//! JDBC source benchmarks: MariaDB tables of 1,000,000 rows (7 columns, about 100 bytes a row)
//! streamed to Kafka in incrementing mode with JsonConverter envelopes; reference in the same
//! run: `mariadb --batch --quick -e 'SELECT * …' > /dev/null` over the same table.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{
    create_topic, first_value, free_port, mariadb, peak_rss_mb, produce_all, stop, unique, wait_for_offsets, Bench,
    Line,
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

/// The reference: the mariadb client dumping the table, rows per second.
fn dump_rate(name: &str) -> Result<f64> {
    let started = Instant::now();
    let status = Command::new("mariadb")
        .args(["-h127.0.0.1", "-P3307", "-uroot", "--batch", "--quick", "-e"])
        .arg(format!("SELECT * FROM {DB}.{name}"))
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("mariadb --batch failed");
    }
    Ok(ROWS as f64 / started.elapsed().as_secs_f64())
}

impl Bench {
    /// `tables` tables of ROWS rows, `tasks.max` = tables, one connector.
    pub fn jdbc_source(&self, name: &str, tables: usize) -> Result<()> {
        let names: Vec<String> = (0..tables).map(|i| format!("rows_{i}")).collect();
        for t in &names {
            table(t)?;
        }
        let ref_rate = dump_rate(&names[0])?;
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        let worker = self.worker(&dir, "org.apache.kafka.connect.json.JsonConverter", true, free_port()?, 20)?;
        let connector = dir.join("jdbc.properties");
        let prefix = unique("bench-jdbc") + "-";
        std::fs::write(
            &connector,
            format!(
                "name={name}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max={tables}\n\
                 connection.url=jdbc:mysql://127.0.0.1:3307/{DB}?user=root&useSSL=false\nmode=incrementing\n\
                 table.whitelist={}\ntopic.prefix={}\n\
                 topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n",
                names.join(","),
                prefix
            ),
        )?;
        let sidecar = dir.join("connect.offsets.json");
        let started = Instant::now();
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        wait_for_offsets(&sidecar, started + Duration::from_secs(600), |v| {
            let last = |e: &&serde_json::Value| e["offset"]["incrementing"].as_u64() == Some(ROWS as u64);
            v["entries"].as_array().is_some_and(|es| es.iter().filter(last).count() == tables)
        })
        .with_context(|| format!("{name}: offsets did not reach the last row; see {}", dir.join("log").display()))?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = peak_rss_mb(child.id());
        stop(child)?;
        // the broker side of the same work: a raw producer sending as many records of the same
        // size (JsonConverter envelopes with their schema are about 800 bytes)
        let sample = first_value(&format!("{prefix}{}", names[0]))?;
        let records = ROWS * tables;
        let ref_topic = unique("bench-ref-jdbc");
        create_topic(&ref_topic, 1)?;
        let started = Instant::now();
        produce_all(&ref_topic, (0..records).map(|_| sample.clone()))?;
        let produce_rate = records as f64 / started.elapsed().as_secs_f64();
        let bytes = records * sample.len();
        let line = |reference, ref_rate| Line { name, records, seconds, bytes, peak_rss_mb: peak, reference, ref_rate };
        line("mariadb-batch-dump", ref_rate).print();
        line("rdkafka-produce-same-bytes", produce_rate).print();
        Ok(())
    }
}
