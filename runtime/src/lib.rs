//! The sluice runtime: what Kafka Connect's standalone worker does, for every connector.
//!
//! - `config`: `.properties` (Java rules, line numbers) and JSON files, `${env:…}`/`${file:…}`
//!   providers, worker and connector keys, every problem reported at once.
//! - `data` and `convert`: the Connect data model and the converters (JsonConverter byte-identical
//!   to Kafka's, String, ByteArray).
//! - `connector`: the traits connectors implement (`SourceConnector`/`SourceTask`,
//!   `SinkConnector`/`SinkTask`), and `assignment::group_partitions`.
//! - `plugin`: the registry of connector classes the binary fills, and the way from a connector
//!   config to a connector ready to start.
//! - `herder`: what should run, the interface REST talks to, and Kafka's REST entities.
//! - `worker`: task loops on rdkafka, the offset store, REST, graceful shutdown.
//! - `tls`: key material from Java's stores (JKS read natively, PKCS12, PEM) for both TLS stacks
//!   (rustls for what sluice speaks itself, OpenSSL inside librdkafka), the certificate diagnosis
//!   behind the connection errors, and the databases' TLS modes; `config::client_security` turns
//!   Java's `security.protocol`/`ssl.*`/`sasl.*` into librdkafka's, `config::rest_security` the
//!   REST listener's HTTPS, basic authentication and `admin.listeners`; `worker::msk_iam` signs
//!   Amazon MSK IAM tokens, which every Kafka client's context hands to librdkafka.
//!
//! **Delivery guarantee**: at-least-once. Source offsets are committed only for records the broker
//! acknowledged (every earlier record of the task included), every `offset.flush.interval.ms` and
//! at shutdown; a crash re-sends at most what was produced since the last flush. Sink offsets are
//! committed only for what the task's `pre_commit` reports durable.
//!
//! **Offset format**: the standalone offset file is Kafka's own (Java-serialized
//! `HashMap<byte[],byte[]>`, keys `["<connector>",{partition}]`, values `{offset}` as compact
//! JSON), so a Kafka Connect offset file is read as is, and written back atomically, with a
//! readable `<file>.json` sidecar.
//!
//! **Server needs**: a Kafka-compatible broker (Metadata, Produce, Fetch,
//! consumer groups, CreateTopics when `topic.creation.*` is used), over PLAINTEXT, TLS, or SASL
//! (PLAIN, SCRAM, OAUTHBEARER, MSK IAM through OAUTHBEARER) as the worker file says; for MSK IAM,
//! AWS credentials from the default chain (and STS for an assumed role).

pub mod assignment;
pub mod config;
pub mod connector;
pub mod convert;
pub mod data;
pub mod date_pattern;
pub mod error;
pub mod herder;
pub mod log_levels;
pub mod metrics;
pub mod offset;
pub mod plugin;
pub mod record;
pub mod rest;
pub mod retry;
pub mod state_log;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod transform;
pub mod worker;

pub use assignment::group_partitions;
pub use connector::{
    ConnectorContext, ConnectorInfo, KeyDoc, OffsetReader, SinkConnector, SinkTask, SourceConnector, SourceTask,
    TaskConfig,
};
pub use error::{ErrorKind, TaskError};
pub use record::{ConnectRecord, Header, OffsetMap, SinkRecord, SourceRecord, TopicPartition};
