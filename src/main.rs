//! `sluice`: Kafka Connect's standalone worker and its most used connectors, as one binary.
//!
//! `sluice standalone worker.properties connector.properties…` takes the files
//! `connect-standalone.sh` takes, unchanged.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

mod logging;
mod offsets;

use offsets::OffsetsCommand;

use clap::{Parser, Subcommand, ValueEnum};
use cluster::config::DistributedConfig;
use connector_binlog::{MariaDbConnector, MySqlConnector};
use connector_file::{FileStreamSinkConnector, FileStreamSourceConnector};
use connector_jdbc::JdbcSourceConnector;
use connector_s3::S3SinkConnector;
use runtime::config::{file, ConfigError, ConfigErrors, ConfigReader, Providers, RawConfig, WorkerConfig, WorkerMode};
use runtime::plugin::Registry;
use runtime::worker::{Exit, PreparedConnector, Worker};
use tracing::{error, info, warn};

/// Records are allocated on the consumer thread and freed on the task's: glibc's malloc serialises
/// that on an arena lock (measured as the top cost of the sink path: 0.77× → 1.04× raw consume);
/// mimalloc does not. Built with `no_thp`: an idle worker's own memory stays near 8 MB
/// (`bench/run idle-worker`, `anon_mb`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the same index in its v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc gives emptied pages back to the OS 10 ms after they empty; a source whose records
/// are built on one thread and freed on another keeps tens of MB of such pages resident (the
/// 1M-row binlog bench peaked at 82 MB, at 66 MB with immediate purging and no measurable cost
/// in throughput). `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set stores an option value; mimalloc reads it at its next purge.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0)
        };
    }
}

#[derive(Parser)]
#[command(name = "sluice", version, about = "Kafka Connect's standalone worker and connectors, as one small binary")]
struct Cli {
    /// Log line shape: `connect` is Kafka Connect's log4j pattern (also `SLUICE_LOG_FORMAT`).
    #[arg(long, global = true, value_enum)]
    log_format: Option<logging::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnTaskFailure {
    /// Stop every task gracefully and exit with status 1.
    Exit,
    /// Keep the worker running with the task FAILED, as Kafka Connect does.
    Continue,
}

#[derive(Subcommand)]
enum Command {
    /// Run a standalone worker: `sluice standalone worker.properties connector.properties…`.
    Standalone {
        worker: PathBuf,
        connectors: Vec<PathBuf>,
        /// Unknown keys are errors instead of warnings.
        #[arg(long)]
        strict: bool,
        /// What a failed task does to the worker.
        #[arg(long, value_enum, default_value = "exit")]
        on_task_failure: OnTaskFailure,
        /// How long to wait for a Kafka broker at start-up.
        #[arg(long, default_value = "10000", value_name = "MS")]
        kafka_timeout_ms: u64,
    },
    /// Run a worker of a Connect cluster: `sluice distributed connect-distributed.properties`.
    /// Workers with the same `group.id` and internal topics form one cluster (Java workers too);
    /// connectors are managed over REST.
    Distributed {
        worker: PathBuf,
        /// Unknown keys are errors instead of warnings.
        #[arg(long)]
        strict: bool,
    },
    /// Check connector files (and a worker file) without running them; reports every problem.
    Validate {
        /// The worker file, also checked.
        #[arg(long)]
        worker: Option<PathBuf>,
        connectors: Vec<PathBuf>,
        #[arg(long)]
        strict: bool,
    },
    /// List the connector classes this binary runs, with their keys and defaults.
    Plugins {
        /// As the Markdown of docs/connectors.md.
        #[arg(long)]
        markdown: bool,
    },
    /// Read or rebuild the standalone offset file; copy it into a cluster's offsets topic.
    Offsets {
        #[command(subcommand)]
        command: OffsetsCommand,
    },
}

/// The connectors this binary runs, by `connector.class`: the class names users' files carry,
/// and the aliases Kafka accepts (the simple class name) plus sluice's short names.
fn registry() -> Registry {
    Registry::default()
        .source::<FileStreamSourceConnector>(&["FileStreamSourceConnector", "FileStreamSource", "file-source"])
        .sink::<FileStreamSinkConnector>(&["FileStreamSinkConnector", "FileStreamSink", "file-sink"])
        .source::<JdbcSourceConnector>(&["JdbcSourceConnector", "JdbcSource", "jdbc-source"])
        .source::<MySqlConnector>(&["MySqlConnector", "MySql", "binlog-source"])
        .source::<MariaDbConnector>(&["MariaDbConnector", "MariaDb"])
        .sink::<S3SinkConnector>(&["S3SinkConnector", "S3Sink", "s3-sink"])
}

fn main() -> ExitCode {
    tune_allocator();
    let args: Vec<String> = std::env::args().filter(|a| a != "-daemon").collect();
    let daemon = args.len() != std::env::args().count();
    let cli = Cli::parse_from(args);
    let format = cli.log_format.or_else(|| {
        std::env::var("SLUICE_LOG_FORMAT").ok().and_then(|f| <logging::LogFormat as ValueEnum>::from_str(&f, true).ok())
    });
    logging::init(format.unwrap_or_default());
    if daemon {
        warn!("-daemon is not supported: running in the foreground");
    }
    match cli.command {
        Command::Standalone { worker, connectors, strict, on_task_failure, kafka_timeout_ms } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(standalone(
                &worker,
                &connectors,
                strict,
                on_task_failure,
                Duration::from_millis(kafka_timeout_ms),
            ))
        }
        Command::Distributed { worker, strict } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(distributed(&worker, strict))
        }
        Command::Validate { worker, connectors, strict } => validate(worker.as_deref(), &connectors, strict),
        Command::Plugins { markdown } => {
            plugins(markdown);
            ExitCode::SUCCESS
        }
        Command::Offsets { command } => match offsets::run(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Files read and checked: the worker, and every connector ready to start.
struct Loaded {
    worker: Option<WorkerConfig>,
    /// The worker file's config providers, for connector configs written over REST too.
    providers: Providers,
    connectors: Vec<PreparedConnector>,
    worker_errors: Vec<ConfigError>,
    connector_errors: Vec<ConfigError>,
}

/// A worker file read and checked: the common keys, a distributed worker's own, and its config
/// providers.
struct LoadedWorker {
    worker: Option<WorkerConfig>,
    distributed: Option<DistributedConfig>,
    providers: Providers,
}

/// Reads a worker file as `mode`'s, or (`None`) as the mode it is for: distributed when it sets
/// `group.id` (`sluice validate` checks either kind).
fn load_worker(path: &Path, strict: bool, mode: Option<WorkerMode>, errors: &mut Vec<ConfigError>) -> LoadedWorker {
    let nothing = || LoadedWorker { worker: None, distributed: None, providers: Providers::default() };
    let (mut raw, dups) = match file::load_properties(path) {
        Ok(l) => l,
        Err(e) => {
            errors.push(e);
            return nothing();
        }
    };
    dups.iter().for_each(|d| warn!("{d}"));
    let providers = match Providers::from_worker(&raw) {
        Ok(p) => p,
        Err(es) => {
            errors.extend(es);
            Providers::default()
        }
    };
    errors.extend(providers.resolve(&mut raw));
    let mode = mode.unwrap_or(match raw.get("group.id") {
        Some(_) => WorkerMode::Distributed,
        None => WorkerMode::Standalone,
    });
    let mut reader = ConfigReader::new(&raw);
    let worker = WorkerConfig::parse_for(&mut reader, mode);
    let distributed = match mode {
        WorkerMode::Distributed => DistributedConfig::parse(&mut reader),
        WorkerMode::Standalone => None,
    };
    let (es, unknown) = reader.finish();
    errors.extend(es);
    report_unknown(&raw, unknown, strict, errors);
    if let Some(w) = &worker {
        if let Some(p) = &w.plugin_path {
            info!(plugin_path = %p, "plugin.path is ignored: connectors are built into sluice");
        }
    }
    LoadedWorker { worker, distributed, providers }
}

fn report_unknown(
    raw: &RawConfig,
    unknown: Vec<runtime::config::UnknownKey>,
    strict: bool,
    errors: &mut Vec<ConfigError>,
) {
    for u in unknown {
        if strict {
            errors.push(ConfigError::File {
                origin: raw.origin.clone(),
                line: u.line,
                message: format!("{}: unknown key (--strict)", u.key),
            });
        } else {
            warn!("{u}");
        }
    }
}

fn load_connector(
    registry: &Registry,
    path: &Path,
    providers: &Providers,
    strict: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<PreparedConnector> {
    let (mut raw, dups) = match file::load_connector(path) {
        Ok(l) => l,
        Err(e) => {
            errors.extend(e.0);
            return None;
        }
    };
    dups.iter().for_each(|d| warn!("{d}"));
    errors.extend(providers.resolve(&mut raw));
    let prepared = registry.prepare(&raw);
    match prepared {
        Ok(mut p) => {
            let unknown = std::mem::take(&mut p.warnings);
            report_unknown(&raw, unknown, strict, errors);
            Some(p)
        }
        Err(ConfigErrors(es)) => {
            errors.extend(es);
            None
        }
    }
}

fn load_all(worker: Option<&Path>, mode: Option<WorkerMode>, connectors: &[PathBuf], strict: bool) -> Loaded {
    let registry = registry();
    let mut worker_errors = Vec::new();
    let (worker, providers) = match worker {
        Some(w) => {
            let loaded = load_worker(w, strict, mode, &mut worker_errors);
            (loaded.worker, loaded.providers)
        }
        None => (None, Providers::default()),
    };
    let mut connector_errors = Vec::new();
    let mut prepared: Vec<PreparedConnector> = Vec::new();
    for path in connectors {
        if let Some(p) = load_connector(&registry, path, &providers, strict, &mut connector_errors) {
            if prepared.iter().any(|q| q.config.name == p.config.name) {
                connector_errors.push(ConfigError::File {
                    origin: path.display().to_string().into(),
                    line: None,
                    message: format!("name: connector {} is already defined by another file", p.config.name),
                });
                continue;
            }
            prepared.push(p);
        }
    }
    Loaded { worker, providers, connectors: prepared, worker_errors, connector_errors }
}

fn print_errors(errors: &[ConfigError]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

/// `sluice distributed`: every problem of the worker file at once, then the worker joins its
/// cluster and runs until SIGTERM.
async fn distributed(worker: &Path, strict: bool) -> ExitCode {
    let mut errors = Vec::new();
    let loaded = load_worker(worker, strict, Some(WorkerMode::Distributed), &mut errors);
    let (Some(config), Some(cluster)) = (loaded.worker, loaded.distributed) else {
        print_errors(&errors);
        return ExitCode::FAILURE;
    };
    if !errors.is_empty() {
        print_errors(&errors);
        return ExitCode::FAILURE;
    }
    let registry = std::sync::Arc::new(registry());
    let started = cluster::distributed::DistributedWorker::start(config, cluster, registry, loaded.providers).await;
    let worker = match started {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match worker.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn standalone(
    worker: &Path,
    connectors: &[PathBuf],
    strict: bool,
    on_failure: OnTaskFailure,
    kafka_timeout: Duration,
) -> ExitCode {
    let loaded = load_all(Some(worker), Some(WorkerMode::Standalone), connectors, strict);
    if !loaded.worker_errors.is_empty() || !loaded.connector_errors.is_empty() {
        print_errors(&loaded.worker_errors);
        print_errors(&loaded.connector_errors);
        if loaded.worker_errors.is_empty() {
            eprintln!("Stopping after connector error");
            return ExitCode::from(3);
        }
        return ExitCode::FAILURE;
    }
    let Some(worker_config) = loaded.worker else { return ExitCode::FAILURE };
    let mut worker = match Worker::new(worker_config) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = worker.check_kafka(kafka_timeout).await {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    worker.set_plugins(std::sync::Arc::new(registry()));
    worker.keep_failed_connectors(on_failure == OnTaskFailure::Continue);
    worker.set_providers(loaded.providers);
    if let Err(e) = worker.listen().await {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    for c in loaded.connectors {
        let name = c.config.name.clone();
        if let Err(e) = c.start(&mut worker).await {
            eprintln!("error: connector {name}: {e}");
            eprintln!("Stopping after connector error");
            return ExitCode::from(3);
        }
    }
    match worker.run(on_failure == OnTaskFailure::Exit).await {
        Ok(Exit::Clean) => ExitCode::SUCCESS,
        Ok(Exit::TaskFailed) => {
            error!("a task failed; see the error above");
            ExitCode::FAILURE
        }
        Ok(Exit::Forced) => ExitCode::from(130),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn validate(worker: Option<&Path>, connectors: &[PathBuf], strict: bool) -> ExitCode {
    let loaded = load_all(worker, None, connectors, strict);
    let problems = loaded.worker_errors.len() + loaded.connector_errors.len();
    print_errors(&loaded.worker_errors);
    print_errors(&loaded.connector_errors);
    for c in &loaded.connectors {
        println!("ok: {} ({})", c.config.name, c.config.class);
    }
    if problems > 0 {
        eprintln!("{problems} problem(s) found");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn plugins(markdown: bool) {
    if markdown {
        print!("{}", plugins_markdown());
        return;
    }
    for p in registry().plugins() {
        println!("{} ({}; also {})", p.class, p.kind.as_str(), p.aliases.join(", "));
        for k in p.keys {
            let default = k.default.map(|d| format!(" [default: {d}]")).unwrap_or_default();
            println!("  {}{default}  {}", k.name, k.doc);
        }
    }
}

/// `docs/connectors.md`, generated from the connectors' key tables (a test keeps it current).
fn plugins_markdown() -> String {
    let mut out = String::from(
        "# Connectors built into sluice\n\nGenerated by `sluice plugins --markdown`; do not edit by hand.\n",
    );
    for p in registry().plugins() {
        out.push_str(&format!(
            "\n## `{}` ({})\n\nAlso: {}\n\n",
            p.class,
            p.kind.as_str(),
            p.aliases.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        ));
        out.push_str("| Key | Default | Meaning |\n|---|---|---|\n");
        for k in p.keys {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                k.name,
                k.default.map_or("—".to_owned(), |d| format!("`{d}`")),
                k.doc
            ));
        }
    }
    out
}
