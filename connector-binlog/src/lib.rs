//! MySQL/MariaDB binlog CDC in Debezium's format for sluice:
//! `io.debezium.connector.mysql.MySqlConnector` and
//! `io.debezium.connector.mariadb.MariaDbConnector` (binlog-cdc.md). A consistent snapshot
//! (`op:"r"`) then the binlog as a replica, each row change as Debezium's envelope on
//! `<topic.prefix>.<db>.<table>`, keyed by the primary key, a tombstone after each delete.
//!
//! **Delivery guarantee**: at-least-once. Offsets are committed only after the producer
//! acknowledged the records they cover; a restart resumes at the stored transaction start and
//! skips the events and rows already emitted (`event`, `row`), so a clean restart doubles
//! nothing and a crash replays at most what one offset flush covers. Order per key is the
//! binlog's order (one task, records keyed by primary key).
//!
//! **Offset format** (binlog-cdc.md A3): partition `{"server":"<topic.prefix>"}`; offset
//! `{"ts_sec","file","pos","gtids","row","server_id","event"}` with `snapshot:"INITIAL"` while a
//! snapshot runs. `gtids` is MariaDB's `domain-server-seq[,…]`; resuming uses it
//! (`@slave_connect_state`) when present, else `file`/`pos`. Where the offsets are, the
//! schema history (`history.rs`, the connector's `schema-history` state log: the file
//! `<offset file>.<connector>.schema-history` standalone, the state topic distributed) keeps the
//! table structures by binlog position, so a restart behind a DDL decodes as the rows were written.
//!
//! **Needs from the server**: `log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`,
//! `binlog_row_metadata=FULL`, `log_bin_compress=OFF` (MariaDB); a user with `SELECT`,
//! `REPLICATION SLAVE` and `BINLOG MONITOR` (`REPLICATION CLIENT` on MySQL); a
//! `database.server.id` no other replica uses. MariaDB snapshots take no locks; MySQL's take a
//! global read lock for an instant (`RELOAD`) unless `snapshot.locking.mode=none`. Tested
//! against MariaDB 10.11; the MySQL paths are untested here. TLS from `database.ssl.*` (`tls.rs`), on rustls.

pub mod catalogue;
pub mod column;
pub mod config;
pub mod connector;
pub mod error;
pub mod event;
pub mod history;
pub mod position;
pub mod replication;
pub mod rows;
pub mod schema;
pub mod schema_change;
pub mod server;
pub mod snapshot;
pub mod task;
pub mod tls;

pub use connector::{MariaDbConnector, MySqlConnector};
