//! Confluent JDBC source connector (`io.confluent.connect.jdbc.JdbcSourceConnector`) for sluice.
//!
//! Not implemented yet: the binary recognises the class names and refuses them with a clear
//! message. The specification is `shared/reference/jdbc-source.md`; it will follow the layout of
//! `connector-file` (config, connector, task, schema, position).
