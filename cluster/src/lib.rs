//! sluice's distributed mode: workers that form a Kafka Connect cluster through Kafka itself,
//! wire-compatible with Apache Kafka Connect (distributed-mode.md).
//!
//! Built so far, each pure and tested without a server:
//! - [`config`]: the distributed worker keys, with Kafka's defaults.
//! - [`protocol`]: the Connect group protocol's member metadata and assignment bytes (`default`,
//!   `compatible`, `sessioned`), as a Java worker writes and reads them.
//! - [`assignor`]: the leader's assignors, eager and incremental cooperative (KIP-415), with
//!   `scheduled.rebalance.max.delay.ms`.
//! - [`config_log`]: the config topic's records and Kafka's replay rules (task configs take
//!   effect only on their commit record).
//! - [`offset_log`]: the offsets topic's murmur2 partitioning, as Java's producer picks it.
//! - [`status_log`]: the status topic's records and who wins when two workers wrote.
//! - [`signature`]: the session key and HmacSHA256 signatures of internal requests (KIP-507).
//!
//! And on the Kafka protocol itself (the `kafka-protocol` crate for messages):
//! - [`wire`]: one broker connection: framing, correlation ids, ApiVersions, TLS, SASL.
//! - [`sasl`]: PLAIN, SCRAM-SHA-256/512 and MSK IAM's OAUTHBEARER for that connection.
//! - [`membership`]: FindCoordinator, JoinGroup/SyncGroup/Heartbeat/LeaveGroup as a `connect`
//!   member, with Kafka's answer to each error (tested against the real broker).
//!
//! And on the internal topics (rdkafka):
//! - [`topics`]: create each compacted when missing; refuse a non-compacted one or a config
//!   topic with more than one partition, naming the fix.
//! - [`kafka_log`]: `KafkaBasedLog`: replay a topic to its end, follow it, write and read back.
//! - [`stores`]: the config, offsets and status stores with Kafka's write sequences.
//! - [`state_topic`]: sluice's own state topic, connectors' state logs (the binlog schema
//!   history), created on first use.
//!
//! And the worker itself, [`distributed`]: `sluice distributed`'s loop (join, assign as leader,
//! run the assigned connectors and tasks through the runtime's connector runners, follow the
//! config topic), the distributed herder REST talks to, the status writer, and task configs
//! handed to the leader.
//!
//! **Delivery guarantee**: a store write succeeds only once the broker acknowledged it (and,
//! for the config topic, once it was read back), so what a worker acts on is durable. **State format**: exactly
//! Kafka Connect's internal topics (config, offsets, status) and group protocol bytes, plus
//! sluice's own state topic (connectors' state logs; [`state_topic`]), which Java ignores.
//! **Server needs**: a Kafka-API broker that serves ApiVersions, FindCoordinator and the classic
//! group APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with protocol type `connect`.

pub mod assignor;
pub mod config;
pub mod config_log;
pub mod distributed;
pub mod kafka_log;
pub mod membership;
pub mod offset_log;
pub mod protocol;
pub mod sasl;
pub mod signature;
pub mod state_topic;
pub mod status_log;
pub mod stores;
pub mod topics;
pub mod wire;
