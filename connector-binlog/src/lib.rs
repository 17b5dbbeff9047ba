//! MySQL/MariaDB binlog CDC in Debezium's format (`io.debezium.connector.mysql.MySqlConnector`,
//! `io.debezium.connector.mariadb.MariaDbConnector`) for sluice.
//!
//! Not implemented yet: the binary recognises the class names and refuses them with a clear
//! message. The specification is `shared/reference/binlog-cdc.md`.
