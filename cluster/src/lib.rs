//! sluice's distributed mode: workers that form a Kafka Connect cluster through Kafka itself,
//! wire-compatible with Apache Kafka Connect (distributed-mode.md).
//!
//! Built so far, each pure and tested without a server:
//! - [`protocol`]: the Connect group protocol's member metadata and assignment bytes (`default`,
//!   `compatible`, `sessioned`), as a Java worker writes and reads them.
//! - [`assignor`]: the leader's assignors, eager and incremental cooperative (KIP-415), with
//!   `scheduled.rebalance.max.delay.ms`.
//! - [`config_log`]: the config topic's records and Kafka's replay rules (task configs take
//!   effect only on their commit record).
//! - [`offset_log`]: the offsets topic's murmur2 partitioning, as Java's producer picks it.
//! - [`status_log`]: the status topic's records and who wins when two workers wrote.
//!
//! And on the Kafka protocol itself (the `kafka-protocol` crate for messages):
//! - [`wire`]: one broker connection: framing, correlation ids, ApiVersions.
//! - [`membership`]: FindCoordinator, JoinGroup/SyncGroup/Heartbeat/LeaveGroup as a `connect`
//!   member, with Kafka's answer to each error (tested against the real broker).
//!
//! Still to come (issue 13): the topic-backed stores and the distributed herder.
//!
//! **Delivery guarantee**: not applicable yet (no data path here). **State format**: exactly
//! Kafka Connect's internal topics (config, offsets, status) and group protocol bytes.
//! **Server needs**: a Kafka-API broker that serves ApiVersions, FindCoordinator and the classic
//! group APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with protocol type `connect`.

pub mod assignor;
pub mod config_log;
pub mod membership;
pub mod offset_log;
pub mod protocol;
pub mod status_log;
pub mod wire;
