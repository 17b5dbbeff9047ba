//! The connector's errors, each saying what the user can do about it, and how the runtime
//! treats it (retry, bad record, or stop).

use runtime::TaskError;

use crate::tables::TablesError;

#[derive(Debug, thiserror::Error)]
pub enum JdbcError {
    #[error("cannot connect to {target}: {source} (connection.url; retried connection.attempts times, connection.backoff.ms apart)")]
    Connect { target: String, source: sqlx::Error },
    #[error("{target}: access denied for user {user:?}: check connection.user and connection.password ({detail})")]
    Credentials { target: String, user: String, detail: String },
    #[error("{target}: the database in connection.url does not exist ({detail})")]
    UnknownDatabase { target: String, detail: String },
    #[error("{target}: {why}")]
    Tls { target: String, why: String },
    #[error("cannot list tables: {source}")]
    Discovery { source: sqlx::Error },
    #[error(transparent)]
    Tables(#[from] TablesError),
    #[error("table {table} not found (it was dropped, or the user cannot see it)")]
    MissingTable { table: String },
    #[error("table {table}: column {column:?} ({key}) does not exist; its columns are: {found}")]
    MissingColumn { table: String, column: String, key: &'static str, found: String },
    #[error("table {table}: column {column:?} matches several columns ignoring case: {candidates}; write it exactly")]
    AmbiguousColumn { table: String, column: String, candidates: String },
    #[error("table {table}: {key} column {column} is nullable; make it NOT NULL, or set validate.non.null=false (rows where it is NULL are then never read)")]
    Nullable { table: String, column: String, key: &'static str },
    #[error("table {table}: no incrementing column: set incrementing.column.name, or give the table an AUTO_INCREMENT / serial column")]
    NoIncrementing { table: String },
    #[error("query on {table} failed: {source}")]
    Query { table: String, source: sqlx::Error },
    #[error("{table}.{column}: {message}")]
    Value { table: String, column: String, message: String },
    #[error("{table}: Null value for incrementing column {column}")]
    NullIncrementing { table: String, column: String },
}

impl JdbcError {
    /// How the runtime handles it.
    pub fn into_task_error(self) -> TaskError {
        match &self {
            JdbcError::Connect { .. } => TaskError::retriable(self),
            JdbcError::Query { source, .. } if crate::connection::is_transient(source) => TaskError::retriable(self),
            JdbcError::Value { .. } => TaskError::record(self),
            _ => TaskError::fatal(self),
        }
    }
}

impl From<JdbcError> for TaskError {
    fn from(e: JdbcError) -> TaskError {
        e.into_task_error()
    }
}
