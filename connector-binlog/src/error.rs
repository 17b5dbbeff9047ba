//! The connector's errors, each saying what the user can do, and how the runtime treats it.

use runtime::TaskError;

/// MariaDB/MySQL error codes the connector reacts to.
pub mod code {
    /// `ER_ACCESS_DENIED_ERROR`.
    pub const ACCESS_DENIED: u16 = 1045;
    /// `ER_MASTER_FATAL_ERROR_READING_BINLOG`: purged file or GTID, position not on an event.
    pub const FATAL_READING_BINLOG: u16 = 1236;
    /// `ER_SLAVE_SAME_ID`: another replica registered with the same server id.
    pub const SAME_SERVER_ID: u16 = 4052;
    /// `ER_SPECIFIC_ACCESS_DENIED_ERROR`.
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
}

#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error("cannot connect to {target}: {source} (database.hostname, database.port; connect.timeout.ms)")]
    Connect { target: String, source: mysql_async::Error },
    #[error("{target}: {why}")]
    Tls { target: String, why: String },
    #[error("{target}: access denied for user {user:?}: check database.user and database.password ({detail})")]
    Credentials { target: String, user: String, detail: String },
    #[error("cannot {what}: {source}")]
    Query { what: String, source: mysql_async::Error },
    #[error("the server is not set up for CDC:\n{}", problems.join("\n"))]
    Settings { problems: Vec<String> },
    #[error("user {user:?} lacks {missing} (grants: {grants}); run: GRANT {missing} ON *.* TO {user}")]
    Privileges { user: String, missing: String, grants: String },
    #[error("database.server.id={server_id} is already used by {by}: give each binlog client its own id")]
    ServerIdInUse { server_id: u32, by: String },
    #[error("the stored offset points at {wanted}, which the server no longer has (oldest binlog: {oldest}): the changes in between are lost to CDC. Take a new snapshot: set snapshot.mode=when_needed, or delete the stored offset: `DELETE /connectors/<name>/offsets` while the connector is STOPPED, or with the worker stopped `sluice offsets set <offset file> --connector <name> --partition '{{\"server\":\"{server}\"}}' --offset null`")]
    Purged { wanted: String, oldest: String, server: String },
    #[error("the binlog stream failed: {source}")]
    Stream { source: mysql_async::Error },
    #[error("cannot decode a {event} event at {file}:{pos}: {message}")]
    Decode { event: &'static str, file: String, pos: u64, message: String },
    #[error("{table}.{column}: {message}")]
    Unsupported { table: String, column: String, message: String },
    #[error("{table}.{column} at {file}:{pos}: {message}")]
    Value { table: String, column: String, file: String, pos: u64, message: String },
    #[error(
        "the schema history {path}: {message} (it lives next to the offset file; the connector needs to write it)"
    )]
    History { path: String, message: String },
    #[error("the stored offset is not a binlog offset: {message}")]
    BadOffset { message: String },
}

impl BinlogError {
    pub fn query(what: impl Into<String>, source: mysql_async::Error) -> BinlogError {
        BinlogError::Query { what: what.into(), source }
    }

    /// Whether waiting and trying again can help (a network or server outage).
    pub fn is_retriable(&self) -> bool {
        match self {
            BinlogError::Connect { .. } => true,
            BinlogError::Query { source, .. } | BinlogError::Stream { source } => is_transient(source),
            _ => false,
        }
    }

    pub fn into_task_error(self) -> TaskError {
        match &self {
            e if e.is_retriable() => TaskError::retriable(self),
            BinlogError::Value { .. } => TaskError::record(self),
            _ => TaskError::fatal(self),
        }
    }
}

impl From<BinlogError> for TaskError {
    fn from(e: BinlogError) -> TaskError {
        e.into_task_error()
    }
}

/// The server's error code, if the error came from the server.
pub fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// I/O errors and a server going away are transient; SQL errors are not.
pub fn is_transient(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(_) => true,
        mysql_async::Error::Server(s) => matches!(s.code, 1040 | 1053 | 1205 | 1213 | 2006 | 2013),
        _ => false,
    }
}
