//! `sluice offsets`: the standalone offset file read, repaired and changed, and moved into a
//! distributed cluster's offsets topic (or read from it), so a standalone user moves to
//! distributed mode with the same positions.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use cluster::config::DistributedConfig;
use cluster::stores::OffsetTopic;
use cluster::topics::{ensure, InternalTopic};
use rdkafka::config::ClientConfig;
use runtime::config::{WorkerConfig, WorkerMode};
use runtime::offset::{parse_entry, FileBackend, OffsetBackend};

#[derive(Subcommand)]
pub enum OffsetsCommand {
    /// Print every offset as JSON: of the offset file, or (`--worker`) of the offsets topic of a
    /// distributed worker file.
    Dump {
        /// A standalone offset file.
        #[arg(required_unless_present = "worker", conflicts_with = "worker")]
        file: Option<PathBuf>,
        /// A distributed worker file (`connect-distributed.properties`): its offsets topic.
        #[arg(long)]
        worker: Option<PathBuf>,
    },
    /// Copy every offset of a standalone offset file into the offsets topic of a distributed
    /// worker file (created as the worker would create it when missing); key and value bytes
    /// are kept exactly, so distributed workers, sluice's or Kafka's, resume where the standalone
    /// worker was. Run with the standalone worker stopped.
    Copy {
        file: PathBuf,
        /// The distributed worker file (`connect-distributed.properties`).
        #[arg(long)]
        worker: PathBuf,
        /// Only these connectors' offsets (repeatable); all when absent.
        #[arg(long)]
        connector: Vec<String>,
    },
    /// Rebuild the offset file from its JSON sidecar (`<file>.json`); run with the worker stopped.
    Import { file: PathBuf, sidecar: PathBuf },
    /// Set (or, with `--offset null`, reset) one offset; run with the worker stopped.
    Set {
        file: PathBuf,
        #[arg(long)]
        connector: String,
        /// The source partition as JSON, e.g. '{"filename":"/var/log/app.log"}'.
        #[arg(long)]
        partition: String,
        /// The offset as JSON, e.g. '{"position":0}', or null.
        #[arg(long)]
        offset: String,
    },
}

/// Runs an `sluice offsets` command.
pub fn run(command: OffsetsCommand) -> anyhow::Result<()> {
    match command {
        OffsetsCommand::Dump { file: Some(file), .. } => print_entries(runtime::offset::read_entries(&file)?)?,
        OffsetsCommand::Dump { file: None, worker } => {
            let worker = worker.context("either an offset file or --worker")?;
            let (topic, entries) = block_on(read_topic(&worker))??;
            eprintln!("offsets topic {topic}:");
            print_entries(entries)?;
        }
        OffsetsCommand::Copy { file, worker, connector } => {
            let (copied, topic) = block_on(copy(&file, &worker, &connector))??;
            println!("copied {copied} offset(s) from {} to the offsets topic {topic}", file.display());
        }
        OffsetsCommand::Set { file, connector, partition, offset } => {
            let partition: serde_json::Value =
                serde_json::from_str(&partition).with_context(|| format!("--partition is not JSON: {partition}"))?;
            let offset: serde_json::Value =
                serde_json::from_str(&offset).with_context(|| format!("--offset is not JSON: {offset}"))?;
            anyhow::ensure!(partition.is_object(), "--partition must be a JSON object");
            anyhow::ensure!(offset.is_object() || offset.is_null(), "--offset must be a JSON object or null");
            let store = runtime::offset::OffsetStore::open(&file)?;
            store.put(&connector, [(partition, (!offset.is_null()).then_some(offset))]);
            block_on(store.flush())??;
            println!("offset written to {}", file.display());
        }
        OffsetsCommand::Import { file, sidecar } => {
            let n = runtime::offset::import_sidecar(&sidecar, &file)
                .with_context(|| format!("importing {}", sidecar.display()))?;
            println!("wrote {n} offset(s) to {}", file.display());
        }
    }
    Ok(())
}

fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future))
}

fn print_entries(entries: Vec<runtime::offset::OffsetEntry>) -> anyhow::Result<()> {
    let list: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|e| serde_json::json!({"connector": e.connector, "partition": e.partition, "offset": e.offset}))
        .collect();
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"entries": list}))?);
    Ok(())
}

/// A distributed worker file's settings, every problem reported at once.
fn distributed(path: &Path) -> anyhow::Result<(WorkerConfig, DistributedConfig)> {
    let mut errors = Vec::new();
    let loaded = crate::load_worker(path, false, Some(WorkerMode::Distributed), &mut errors);
    match (loaded.worker, loaded.distributed) {
        (Some(w), Some(d)) if errors.is_empty() => Ok((w, d)),
        _ => anyhow::bail!("{}", runtime::config::ConfigErrors(errors)),
    }
}

/// The internal clients' settings: the worker's `bootstrap.servers` and security keys.
fn client_base(worker: &WorkerConfig) -> anyhow::Result<ClientConfig> {
    Ok(runtime::worker::internal_config(worker)?)
}

/// The offsets topic, created as a distributed worker creates it when missing.
async fn offsets_topic(worker_file: &Path) -> anyhow::Result<OffsetTopic> {
    let (worker, cluster) = distributed(worker_file)?;
    let base = client_base(&worker)?;
    let settings = &cluster.offset_topic;
    ensure(&base, InternalTopic::Offsets, settings, cluster.request_timeout).await?;
    let client_id = format!("{}offsets-cli", cluster.client_id_base());
    Ok(OffsetTopic::start(&base, &settings.name, &client_id).await?)
}

async fn read_topic(worker_file: &Path) -> anyhow::Result<(String, Vec<runtime::offset::OffsetEntry>)> {
    let topic = offsets_topic(worker_file).await?;
    let entries = topic.entries().iter().filter_map(|(k, v)| parse_entry(k, Some(v))).collect();
    Ok((topic.describe(), entries))
}

async fn copy(file: &Path, worker_file: &Path, connectors: &[String]) -> anyhow::Result<(usize, String)> {
    // the file's lock: a standalone worker still writing it is refused
    let (_file, entries) = FileBackend::open(file)?;
    let topic = offsets_topic(worker_file).await?;
    let chosen: Vec<_> = entries
        .into_iter()
        .filter(|(key, value)| {
            connectors.is_empty()
                || parse_entry(key, value.as_deref()).is_some_and(|e| connectors.contains(&e.connector))
        })
        .collect();
    topic.put(&chosen).await?;
    Ok((chosen.len(), topic.describe()))
}
