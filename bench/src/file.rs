//! FileStream pipelines: the file source (String and JSON converters, plaintext and TLS) and the
//! file sink, each run `RUNS` times on fresh brokers, interleaved with its reference.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::broker::{tls_dir, Broker, Front};
use crate::runs::{cpu_seconds, in_process, Run, Summary, RUNS};
use crate::{
    consume_count_from, create_topic_on, free_port, line_text, peak_rss_mb, produce_all_with, producer_to, stop,
    unique, wait_for_offsets, Bench, LINES, LINE_BYTES,
};

/// librdkafka settings for the bench's own clients on a front.
fn raw_settings(front: Front) -> Vec<(&'static str, String)> {
    match front {
        Front::Tls => vec![("security.protocol", "ssl".into()), ("ssl.ca.location", format!("{}/ca.pem", tls_dir()))],
        _ => Vec::new(),
    }
}

/// The worker file's lines for a front: Java's keys with the services' JKS trust store.
fn worker_settings(front: Front) -> String {
    if front != Front::Tls {
        return String::new();
    }
    let tls = tls_dir();
    ["", "producer.", "consumer."]
        .iter()
        .map(|prefix| {
            format!(
                "{prefix}security.protocol=SSL\n{prefix}ssl.truststore.location={tls}/truststore.jks\n\
                 {prefix}ssl.truststore.password=trustpass\n"
            )
        })
        .collect()
}

impl Bench {
    /// A raw producer of the file's lines to a fresh broker (the reference), in this process.
    fn raw_produce(&self, text: &str, front: Front) -> Result<Run> {
        let broker = Broker::fresh(front)?;
        let settings = raw_settings(front);
        let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let topic = unique("bench-ref-produce");
        create_topic_on(&broker.servers, &extra, &topic, 1)?;
        in_process(|| {
            let producer = producer_to(&broker.servers, &extra)?;
            let n = produce_all_with(&producer, &topic, text.lines().map(|l| l.as_bytes().to_vec()))?;
            if n != LINES {
                bail!("the reference produced {n} of {LINES} lines");
            }
            Ok(())
        })
    }

    /// FileStreamSource against the raw producer, each on a broker of its own.
    pub fn file_source(&self, json: bool) -> Result<()> {
        let name = if json { "file-source-json" } else { "file-source" };
        let input = self.input()?;
        let text = std::fs::read_to_string(&input)?;
        let (mut runs, mut refs) = (Vec::new(), Vec::new());
        for i in 0..RUNS {
            refs.push(self.raw_produce(&text, Front::Direct)?);
            let broker = Broker::fresh(Front::Direct)?;
            runs.push(self.timed_file_source(&format!("{name}-{i}"), &input, json, &broker.servers, "")?);
        }
        let bytes = text.len();
        Summary { name, records: LINES, bytes, runs: &runs, reference: "rdkafka-produce", ref_runs: &refs }.print();
        Ok(())
    }

    /// The file source over TLS (socat terminating TLS with the test CA's certificate, a JKS trust
    /// store in the worker file) against the same pipeline through the same relay without TLS (the
    /// difference is TLS alone), straight to the broker, and a raw producer over the same TLS.
    pub fn file_source_tls(&self) -> Result<()> {
        let input = self.input()?;
        let text = std::fs::read_to_string(&input)?;
        let (mut tls, mut proxied, mut direct, mut raw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..RUNS {
            for (front, runs) in [(Front::Tls, &mut tls), (Front::Proxy, &mut proxied), (Front::Direct, &mut direct)] {
                let broker = Broker::fresh(front)?;
                let name = format!("file-source-tls-{i}-{}", runs.len());
                runs.push(self.timed_file_source(&name, &input, false, &broker.servers, &worker_settings(front))?);
            }
            raw.push(self.raw_produce(&text, Front::Tls)?);
        }
        let line = |reference, ref_runs| Summary {
            name: "file-source-tls",
            records: LINES,
            bytes: text.len(),
            runs: &tls,
            reference,
            ref_runs,
        };
        line("sluice-file-source-proxied", &proxied).print();
        line("sluice-file-source-plaintext", &direct).print();
        line("rdkafka-produce-tls", &raw).print();
        Ok(())
    }

    /// sluice's FileStreamSource from `input` to the brokers at `servers`: from process start
    /// until the offset file says the whole file is acknowledged.
    fn timed_file_source(&self, name: &str, input: &Path, json: bool, servers: &str, extra: &str) -> Result<Run> {
        let size = std::fs::metadata(input)?.len();
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
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
        let run = Run { seconds, cpu_s: cpu_seconds(&child.id().to_string()), peak_rss_mb: peak_rss_mb(child.id()) };
        stop(child)?;
        Ok(run)
    }

    /// FileStreamSink from a filled topic against a raw consumer of it, on a broker per run.
    pub fn file_sink(&self) -> Result<()> {
        let envelope = |i: usize| {
            format!("{{\"schema\":{{\"type\":\"string\",\"optional\":false}},\"payload\":\"{}\"}}", line_text(i))
                .into_bytes()
        };
        let (mut runs, mut refs, mut bytes) = (Vec::new(), Vec::new(), 0);
        for i in 0..RUNS {
            let broker = Broker::fresh(Front::Direct)?;
            let topic = unique("bench-file-sink");
            create_topic_on(&broker.servers, &[], &topic, 1)?;
            produce_all_with(&producer_to(&broker.servers, &[])?, &topic, (0..LINES).map(envelope))?;
            refs.push(in_process(|| {
                let (count, read) = consume_count_from(&broker.servers, &topic, LINES, Duration::from_secs(120))?;
                if count != LINES {
                    bail!("reference consumer read {count} of {LINES}");
                }
                bytes = read;
                Ok(())
            })?);
            runs.push(self.timed_file_sink(&format!("file-sink-{i}"), &broker.servers, &topic)?);
        }
        Summary {
            name: "file-sink",
            records: LINES,
            bytes,
            runs: &runs,
            reference: "rdkafka-consume",
            ref_runs: &refs,
        }
        .print();
        Ok(())
    }

    /// sluice's FileStreamSink from `topic`: from the first line written (Tansu delays a group's
    /// first join) until the whole output is written.
    fn timed_file_sink(&self, name: &str, servers: &str, topic: &str) -> Result<Run> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let converter = "org.apache.kafka.connect.json.JsonConverter";
        let worker = self.worker_on(&dir, converter, true, port, 10_000, servers, "")?;
        let output = dir.join("out.txt");
        let connector = dir.join("sink.properties");
        std::fs::write(
            &connector,
            format!("name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n", output.display()),
        )?;
        let expected = (LINES * LINE_BYTES) as u64;
        let child = self.spawn(&[&worker, &connector], &dir.join("log"))?;
        let size = || std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(300);
        while size() == 0 {
            if Instant::now() > deadline {
                bail!("{name} wrote nothing; see {}", dir.join("log").display());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let (started, cpu_at_start) = (Instant::now(), cpu_seconds(&child.id().to_string()));
        while size() < expected {
            if Instant::now() > deadline {
                bail!("{name} wrote {} of {expected} bytes", size());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds(&child.id().to_string()) - cpu_at_start;
        let run = Run { seconds, cpu_s, peak_rss_mb: peak_rss_mb(child.id()) };
        stop(child)?;
        Ok(run)
    }
}
