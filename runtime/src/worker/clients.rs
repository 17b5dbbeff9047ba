//! Kafka clients the way Connect configures them (kafka-connect-runtime.md §4): Java client keys
//! mapped onto librdkafka's, Connect's defaults, the worker's `producer.*`/`consumer.*`/`admin.*`
//! and the connector's `*.override.*`, in that order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{debug, error, info, warn};

use crate::config::{ConnectorConfig, TopicCreation, WorkerConfig};

/// Java client keys with no librdkafka equivalent: logged once and left out.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "interceptor.classes",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "metrics.recording.level",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "enable.metrics.push",
    "auto.include.jmx.reporter",
    "client.dns.lookup",
    "default.api.timeout.ms",
    "max.poll.records",
    "exclude.internal.topics",
    "send.buffer.bytes",
    "receive.buffer.bytes",
];

/// Java names librdkafka spells differently.
fn librdkafka_name(java: &str) -> &str {
    match java {
        "max.request.size" => "message.max.bytes",
        "send.buffer.bytes" => "socket.send.buffer.bytes",
        "receive.buffer.bytes" => "socket.receive.buffer.bytes",
        other => other,
    }
}

/// A client's security keys that cannot be used (a store gone or changed since the start, or a
/// connector override completed by the worker's keys).
#[derive(Debug, thiserror::Error)]
#[error("{client} settings: {problems}")]
pub struct ClientConfigError {
    client: &'static str,
    problems: String,
}

/// Java's keys for one client, in order (later wins), with the security keys made librdkafka's
/// on the merged result, as a Java client reads its one merged config.
fn apply(
    cfg: &mut ClientConfig,
    layers: &[&BTreeMap<String, String>],
    what: &'static str,
) -> Result<(), ClientConfigError> {
    let mut settings = BTreeMap::new();
    for layer in layers {
        settings.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    crate::config::client_security::translate(&mut settings).map_err(|problems| ClientConfigError {
        client: what,
        problems: problems
            .iter()
            .map(|p| {
                format!("{}: expected {}, got {:?}", p.key, p.expected, crate::config::redact_value(&p.key, &p.got))
            })
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    if let Some(config) = settings.get("sasl.oauthbearer.config") {
        // an MSK token is signed for the region in the brokers' names
        if let Some(mut msk) = super::MskIam::from_config(config).filter(|m| m.region.is_none()) {
            let servers = settings.get("bootstrap.servers").map(String::as_str).or(cfg.get("bootstrap.servers"));
            msk.region = servers.and_then(super::region_of_bootstrap);
            settings.insert("sasl.oauthbearer.config".into(), msk.to_config());
        }
    }
    for (k, v) in &settings {
        if JAVA_ONLY.contains(&k.as_str()) {
            debug!(key = %k, client = what, "java client setting has no librdkafka equivalent; ignored");
            continue;
        }
        if k == "buffer.memory" {
            // bytes in Java, KB in librdkafka
            if let Ok(bytes) = v.trim().parse::<u64>() {
                cfg.set("queue.buffering.max.kbytes", (bytes / 1024).max(1).to_string());
            }
            continue;
        }
        cfg.set(librdkafka_name(k), v);
    }
    Ok(())
}

/// What every client starts from: the brokers, and TCP_NODELAY as the Java clients always set it
/// (librdkafka leaves Nagle on; a request's small tail then waits for the broker's delayed ACK).
fn base(worker: &WorkerConfig) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &worker.bootstrap_servers).set("socket.nagle.disable", "true");
    cfg
}

/// The source task producer: Kafka Connect's settings (acks=all, not idempotent, one request in
/// flight per connection, so retries keep the order), murmur2 partitioning as Java's, deliveries
/// retried until they succeed.
pub fn producer_config(
    worker: &WorkerConfig,
    cc: &ConnectorConfig,
    task: usize,
) -> Result<ClientConfig, ClientConfigError> {
    let mut cfg = base(worker);
    cfg.set("client.id", format!("connector-producer-{}-{task}", cc.name))
        .set("acks", "all")
        // Kafka Connect's `baseProducerConfigs`. librdkafka's idempotent producer also keeps one
        // request in flight per partition (it counts messages against its limit of 5), and its
        // broker thread polls without sleeping while a ready batch waits for that answer:
        // measured, 4 JDBC tasks at half the rate and 2.8× the CPU per record of these settings
        // (README, Performance). `producer.enable.idempotence=true` turns it back on.
        .set("enable.idempotence", "false")
        .set("max.in.flight.requests.per.connection", "1")
        .set("partitioner", "murmur2_random")
        .set("message.timeout.ms", "2147483647")
        .set("linger.ms", "5")
        .set("queue.buffering.max.kbytes", source_queue_kbytes(cc.tasks_max).to_string())
        .set("log_level", "4");
    apply(&mut cfg, &[&worker.producer, &cc.producer_overrides], "producer")?;
    Ok(cfg)
}

/// The records a source task's producer may queue, in KB, unless `producer.buffer.memory` says:
/// 8 MB shared by the connector's tasks, at least 2 MB each (librdkafka's default is 1 GB, Java's
/// `buffer.memory` 32 MB of heap per task). A fast source then waits for the broker instead of
/// growing. Measured on 2026-12-07: one JDBC task peaks at 56 MB and 265,000 records/s with
/// 8 MB (42 MB and 236,000 with 2 MB); four tasks at 69 MB with 2 MB each against 120 MB with
/// 8 MB each, at about the same total rate (300,000 records/s).
fn source_queue_kbytes(tasks: usize) -> usize {
    (8192 / tasks.max(1)).max(2048)
}

/// The sink task consumer: group `connect-<name>`, manual commits, earliest.
pub fn consumer_config(
    worker: &WorkerConfig,
    cc: &ConnectorConfig,
    task: usize,
) -> Result<ClientConfig, ClientConfigError> {
    let mut cfg = base(worker);
    cfg.set("group.id", format!("connect-{}", cc.name))
        .set("client.id", format!("connector-consumer-{}-{task}", cc.name))
        // A restart after kill -9 must not wait for the killed consumer's session to expire
        // (82 s with librdkafka's 45 s default, e2e sink_resume). A static member id per task
        // lets the restarted consumer take the old one's place, and a session timeout chosen
        // for one worker bounds the rest: 8 s measured with both (26 s with the id alone, 18 s
        // with the timeout alone). `consumer.group.instance.id=` (empty) turns it off, for two
        // workers sharing one sink's partitions.
        .set("group.instance.id", format!("connect-{}-{task}", cc.name))
        .set("session.timeout.ms", "10000")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // notice subscribed topics created after the subscription within seconds, not minutes
        // (the Java consumer retries unknown topics quickly; librdkafka waits for the next refresh)
        .set("topic.metadata.refresh.interval.ms", "5000")
        // librdkafka pauses a partition's fetching for this long once its prefetch queue is full
        // (default 1 s), which cut sink throughput to a sixth; the Java consumer fetches again as
        // soon as its buffer drains
        .set("fetch.queue.backoff.ms", "20")
        // the partitions' end offsets as the broker reports them (for the lag in /metrics)
        .set("statistics.interval.ms", "5000")
        .set("log_level", "4");
    apply(&mut cfg, &[&worker.consumer, &cc.consumer_overrides], "consumer")?;
    Ok(cfg)
}

/// A connector's (or the worker's) admin client: the worker's own security keys, then
/// `admin.*`, then the connector's `admin.override.*`, as Kafka's `Worker.adminConfigs`.
pub fn admin_config(worker: &WorkerConfig, cc: Option<&ConnectorConfig>) -> Result<ClientConfig, ClientConfigError> {
    let mut cfg = base(worker);
    cfg.set("log_level", "3");
    let none = BTreeMap::new();
    let overrides = cc.map_or(&none, |cc| &cc.admin_overrides);
    apply(&mut cfg, &[&worker.client_security, &worker.admin, overrides], "admin")?;
    Ok(cfg)
}

/// The worker's internal clients (offsets, status and config topics, group membership, KIP-875
/// on sinks' groups): `bootstrap.servers` and the worker's own security keys.
pub fn internal_config(worker: &WorkerConfig) -> Result<ClientConfig, ClientConfigError> {
    let mut cfg = base(worker);
    apply(&mut cfg, &[&worker.client_security], "worker")?;
    Ok(cfg)
}

/// Which task a Kafka client works for: librdkafka logs from its own threads, outside the task's
/// span, so its lines carry these fields themselves.
#[derive(Debug, Clone)]
pub(super) struct ClientOwner {
    pub connector: Arc<str>,
    pub task: usize,
}

impl ClientOwner {
    pub fn of(ctx: &super::TaskContext) -> ClientOwner {
        ClientOwner { connector: ctx.connector.name.as_str().into(), task: ctx.task_id }
    }

    /// librdkafka's error callback. Broker connection failures are already in librdkafka's own
    /// log lines and are retried without end, so they are only counted here at debug level.
    pub fn error(&self, error: &KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure};
        let (connector, task) = (&*self.connector, self.task);
        match error.rdkafka_error_code() {
            Some(BrokerTransportFailure | AllBrokersDown) => {
                debug!(connector, task, error = %error, reason, "kafka unreachable; retrying")
            }
            _ => warn!(connector, task, error = %error, reason, "kafka client error"),
        }
    }

    /// librdkafka's log callback, with the task named.
    pub fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        let (connector, task) = (&*self.connector, self.task);
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => error!(connector, task, facility, "librdkafka: {message}"),
            L::Warning => warn!(connector, task, facility, "librdkafka: {message}"),
            L::Notice | L::Info => info!(connector, task, facility, "librdkafka: {message}"),
            L::Debug => debug!(connector, task, facility, "librdkafka: {message}"),
        }
    }
}

/// A client-creation error with a secret key's value hidden (librdkafka's own message names
/// the key and its value).
pub fn redacted(e: KafkaError) -> KafkaError {
    match e {
        KafkaError::ClientConfig(code, desc, key, value) => {
            let value = crate::config::redact_value(&key, &value).into_owned();
            KafkaError::ClientConfig(code, desc, key, value)
        }
        other => other,
    }
}

/// Why the brokers did not answer the start-up check.
#[derive(Debug, thiserror::Error)]
pub enum BrokerCheckError {
    #[error(transparent)]
    Settings(#[from] ClientConfigError),
    #[error("{error}{}", .cause.as_deref().map(|c| format!("; {c}")).unwrap_or_default())]
    Unreachable { error: KafkaError, cause: Option<String> },
}

/// Keeps librdkafka's last connection error, whose text says why (a TLS handshake, SASL).
#[derive(Default)]
struct ProbeContext(std::sync::Mutex<Option<String>>);

impl rdkafka::ClientContext for ProbeContext {
    super::oauth::answer_token_requests!();
    fn error(&self, error: KafkaError, reason: &str) {
        debug!(error = %error, reason, "kafka connection check");
        *self.0.lock().unwrap() = Some(reason.to_owned());
    }
    /// Connection failures are logged under `FAIL` as they happen (the error events wait for a
    /// poll).
    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        debug!(facility, "librdkafka: {message}");
        if facility == "FAIL" {
            *self.0.lock().unwrap() = Some(message.to_owned());
        }
    }
}

impl rdkafka::producer::ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
}

/// The broker a librdkafka message is about (`[thrd:ssl://host:port/bootstrap]: …`), as
/// `host:port`.
fn broker_of(reason: &str) -> Option<&str> {
    use std::sync::OnceLock;
    static BROKER: OnceLock<regex::Regex> = OnceLock::new();
    let re = BROKER.get_or_init(|| regex::Regex::new(r"(?:[a-z_]+://)?([A-Za-z0-9.\-]+:\d+)/").unwrap());
    re.captures(reason).and_then(|c| c.get(1)).map(|m| m.as_str())
}

/// What is wrong with the certificate `broker` presents, checked against `ca_pem` (librdkafka's
/// `ssl.ca.pem`; without it, the chain's own root, so an expired or misnamed certificate still
/// shows as such).
fn certificate_problem(broker: &str, ca_pem: Option<&str>) -> Option<crate::tls::diagnose::CertificateProblem> {
    use rustls_pki_types::pem::PemObject;
    let (host, port) = broker.rsplit_once(':')?;
    let chain = crate::tls::diagnose::server_chain(host, port.parse().ok()?, Duration::from_secs(3))?;
    let roots: Vec<_> = match ca_pem {
        Some(pem) => crate::tls::CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok).collect(),
        None => chain.last().cloned().into_iter().collect(),
    };
    crate::tls::diagnose::check_chain(&chain, host, &roots)
}

/// True when `broker` answers a TLS handshake.
fn speaks_tls(broker: &str) -> bool {
    let Some((host, port)) = broker.rsplit_once(':') else { return false };
    port.parse().is_ok_and(|port| crate::tls::diagnose::server_chain(host, port, Duration::from_secs(3)).is_some())
}

/// librdkafka's reason for a failed connection, with what to change, in Java's key names.
pub fn explain_connection_error(reason: &str, ca_pem: Option<&str>) -> String {
    use crate::tls::diagnose::CertificateProblem as P;
    let lower = reason.to_ascii_lowercase();
    let broker = broker_of(reason).unwrap_or("the broker");
    const UNKNOWN_CA: &str = "the broker's certificate is not signed by a CA in the trust store \
                              (ssl.truststore.location, and the producer./consumer. ones)";
    let why = if lower.contains("certificate verify failed") || lower.contains("could not be verified") {
        match certificate_problem(broker, ca_pem) {
            Some(P::Expired) => "the broker's certificate has expired (renew it on the broker)".to_owned(),
            Some(P::NotYetValid) => "the broker's certificate is not valid yet (check the clocks)".to_owned(),
            Some(P::WrongHost) => format!(
                "the broker's certificate is not issued for the host name {} (bootstrap.servers, or the broker's \
                 advertised listener); ssl.endpoint.identification.algorithm= (empty) turns the check off",
                broker.rsplit_once(':').map_or(broker, |(h, _)| h)
            ),
            Some(P::Other(why)) => format!("the broker's certificate was refused: {why}"),
            Some(P::UnknownIssuer) | None => UNKNOWN_CA.to_owned(),
        }
    } else if lower.contains("sasl authentication") || lower.contains("authentication failed") {
        "the broker refused the SASL credentials (sasl.jaas.config's username and password, sasl.mechanism)".to_owned()
    } else if lower.contains("apiversion") && lower.contains("disconnected") && speaks_tls(broker) {
        "the broker speaks TLS on this port: set security.protocol=SSL or SASL_SSL (and the producer./consumer. ones)"
            .to_owned()
    } else if lower.contains("security.protocol") || lower.contains("ssl listener") {
        "the broker may expect TLS or SASL here: set security.protocol (and the producer./consumer. ones)".to_owned()
    } else if lower.contains("ssl handshake failed") {
        "the TLS handshake failed (ssl.* keys, or a broker that does not speak TLS on this port)".to_owned()
    } else {
        return reason.to_owned();
    };
    format!("{broker}: {why} [{reason}]")
}

/// Fails fast with a clear message when no broker answers within `timeout`.
pub async fn check_brokers(worker: &WorkerConfig, timeout: Duration) -> Result<usize, BrokerCheckError> {
    let cfg = admin_config(worker, None)?;
    let ca_pem = cfg.get("ssl.ca.pem").map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let unreachable = |error, cause| BrokerCheckError::Unreachable { error, cause };
        let producer: BaseProducer<ProbeContext> =
            cfg.create_with_context(ProbeContext::default()).map_err(|e| unreachable(redacted(e), None))?;
        super::seed_token(producer.client(), &cfg);
        match producer.client().fetch_metadata(None, timeout) {
            Ok(md) => Ok(md.brokers().len()),
            Err(e) => {
                // the error callbacks are served by polling
                producer.poll(Duration::ZERO);
                let reason = producer.context().0.lock().unwrap().clone();
                Err(unreachable(e, reason.map(|r| explain_connection_error(&r, ca_pem.as_deref()))))
            }
        }
    })
    .await
    .unwrap_or_else(|e| {
        warn!(error = %e, "metadata check panicked");
        Err(BrokerCheckError::Unreachable { error: KafkaError::Canceled, cause: None })
    })
}

/// Creates `topic` with the connector's `topic.creation.default.*` settings; an existing topic is fine.
pub async fn ensure_topic(admin: &super::Admin, topic: &str, tc: &TopicCreation) -> Result<(), KafkaError> {
    let mut new = NewTopic::new(topic, tc.partitions, TopicReplication::Fixed(tc.replication_factor));
    for (k, v) in &tc.configs {
        new = new.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.client().create_topics([&new], &opts).await?;
    for r in results {
        match r {
            Ok(_) => {
                info!(topic, partitions = tc.partitions, replication_factor = tc.replication_factor, "topic created")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => debug!(topic, "topic exists"),
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// librdkafka's build probes for OpenSSL and libcurl headers and leaves out what it does not
    /// find, silently: a build made before `scripts/services up` installed them cannot do TLS or
    /// OIDC tokens. This says so before any pipeline test does.
    #[test]
    fn librdkafka_is_built_with_tls_sasl_and_oidc() {
        let features = ClientConfig::new().create_native_config().unwrap().get("builtin.features").unwrap();
        for needed in ["ssl", "sasl_plain", "sasl_scram", "sasl_oauthbearer", "oidc"] {
            assert!(
                features.split(',').any(|f| f == needed),
                "librdkafka was built without {needed} ({features}): run scripts/services up (it installs \
                 libssl-dev and libcurl4-openssl-dev), then `cargo clean -p rdkafka-sys` and build again"
            );
        }
    }

    fn source_producer(worker: &[(&str, &str)], connector: &[(&str, &str)]) -> ClientConfig {
        let worker = WorkerConfig::from_pairs(worker).unwrap();
        let mut raw = crate::config::RawConfig::new("c.properties");
        for (k, v) in connector {
            raw.insert(*k, *v, None);
        }
        let mut reader = crate::config::ConfigReader::new(&raw);
        let cc = ConnectorConfig::parse(&mut reader, crate::config::ConnectorKind::Source).unwrap();
        producer_config(&worker, &cc, 0).unwrap()
    }

    #[test]
    fn source_producers_take_kafka_connects_settings_and_share_a_queue_budget() {
        let worker = [
            ("bootstrap.servers", "b:9092"),
            ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
            ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
            ("offset.storage.file.filename", "/tmp/o"),
        ];
        let one = [("name", "s"), ("connector.class", "FileStreamSource"), ("topic", "t")];
        let p = source_producer(&worker, &one);
        let got = |k: &str| p.get(k).map(str::to_owned);
        assert_eq!(got("acks").as_deref(), Some("all"));
        assert_eq!(got("enable.idempotence").as_deref(), Some("false"));
        assert_eq!(got("max.in.flight.requests.per.connection").as_deref(), Some("1"));
        assert_eq!(got("queue.buffering.max.kbytes").as_deref(), Some("8192"));
        let four = [one.as_slice(), &[("tasks.max", "4")]].concat();
        assert_eq!(source_producer(&worker, &four).get("queue.buffering.max.kbytes"), Some("2048"));
        let many = [one.as_slice(), &[("tasks.max", "16")]].concat();
        assert_eq!(source_producer(&worker, &many).get("queue.buffering.max.kbytes"), Some("2048"));
        // the worker's producer.* keys win, as in Kafka Connect
        let own =
            [worker.as_slice(), &[("producer.enable.idempotence", "true"), ("producer.buffer.memory", "33554432")]]
                .concat();
        let p = source_producer(&own, &four);
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("queue.buffering.max.kbytes"), Some("32768"));
    }

    #[test]
    fn the_broker_is_read_from_librdkafka_messages() {
        let tls = "[thrd:ssl://127.0.0.1:9095/bootstrap]: ssl://127.0.0.1:9095/bootstrap: SSL handshake failed: x";
        assert_eq!(broker_of(tls), Some("127.0.0.1:9095"));
        assert_eq!(
            broker_of("[thrd:b-1.kafka.example.com:9092/bootstrap]: Disconnected"),
            Some("b-1.kafka.example.com:9092")
        );
        assert_eq!(broker_of("no broker here"), None);
    }

    #[test]
    fn a_secret_value_in_librdkafka_config_errors_is_hidden() {
        let e = KafkaError::ClientConfig(
            rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "not supported".into(),
            "sasl.oauthbearer.client.secret".into(),
            "s3cret".into(),
        );
        let text = redacted(e).to_string();
        assert!(text.contains("[hidden]") && !text.contains("s3cret"), "{text}");
    }

    #[test]
    fn sasl_and_protocol_failures_name_the_keys() {
        let sasl = "[thrd:sasl_ssl://b:9093/bootstrap]: sasl_ssl://b:9093/bootstrap: SASL authentication error: Authentication failed";
        let text = explain_connection_error(sasl, None);
        assert!(text.starts_with("b:9093: the broker refused the SASL credentials (sasl.jaas.config"), "{text}");
        let other =
            "[thrd:b:9092/bootstrap]: b:9092/bootstrap: Connect to ipv4#10.0.0.1:9092 failed: Connection refused";
        assert_eq!(explain_connection_error(other, None), other);
    }
}
