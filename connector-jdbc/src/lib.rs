//! Confluent JDBC source connector (`io.confluent.connect.jdbc.JdbcSourceConnector`) for sluice,
//! on sqlx: MariaDB/MySQL and PostgreSQL, modes `bulk`, `incrementing`, `timestamp` and
//! `timestamp+incrementing`, table or query sources, the reference's exact statements, bind
//! order, offsets and task split (jdbc-source.md).
//!
//! **Delivery guarantee**: at-least-once, as the reference. A restart re-reads from the last
//! flushed offset (bounded by `offset.flush.interval.ms`); in `timestamp` mode a row's offset
//! passes its timestamp only once every row sharing it is read (the reference's PR #1093 rule),
//! so no row is skipped. What polling cannot see: deletes, intermediate updates, rows whose
//! transaction commits after a later row's offset was taken (set `timestamp.delay.interval.ms`),
//! updates that move a timestamp backwards. Use connector-binlog for those.
//!
//! **Offset format** (jdbc-source.md §4): partition `{"protocol":"1","table":"<db>.<table>"}`
//! (PostgreSQL `<schema>.<table>`; `{"query":"query"}` in query mode; the legacy
//! `{"table":"<table>"}` is read too); offset `{"timestamp_nanos":N,"incrementing":N,"timestamp":ms}`
//! with the fields of the mode, in Java's key order. Bulk records carry a null offset.
//!
//! **Needs from the server**: SELECT on the tables and on `information_schema` (tables and
//! columns); sessions are set to UTC (MariaDB `time_zone='+00:00'`, PostgreSQL `TimeZone=UTC`).
//! TLS as the URL's driver reads its parameters (`tls.rs`), on rustls.

pub mod config;
pub mod connection;
pub mod connector;
pub mod dialect;
pub mod error;
pub mod position;
pub mod querier;
pub mod query;
pub mod row;
pub mod schema;
pub mod tables;
pub mod task;
pub mod tls;

pub use connector::JdbcSourceConnector;
