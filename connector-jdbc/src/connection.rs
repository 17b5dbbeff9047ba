//! Connections: a small sqlx pool per task (and one for the connector's table monitor), opened
//! with `connection.attempts` and `connection.backoff.ms`, every session pinned to UTC
//! (jdbc-source.md §7), and errors sorted into what a retry can fix and what it cannot.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _};
use tracing::{info, warn};

use crate::config::Connection;
use crate::dialect::Dialect;
use crate::error::JdbcError;

/// An open pool on one of the two databases.
#[derive(Debug, Clone)]
pub enum Pool {
    MySql(MySqlPool),
    Postgres(PgPool),
}

/// Whether the error is worth a retry: the network, a timeout, a server restarting, a deadlock.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // MySQL/MariaDB: lock wait timeout, deadlock, server shutdown, too many connections,
            // lost connection; PostgreSQL: serialization failure, deadlock, admin shutdown,
            // connection exceptions (class 08), cannot connect now
            matches!(
                &*code,
                "1205" | "1213" | "1053" | "1040" | "2006" | "2013" | "40001" | "40P01" | "57P01" | "57P03"
            ) || code.starts_with("08")
        }
        _ => false,
    }
}

fn describe_connect_error(target: &str, user: &str, e: sqlx::Error) -> JdbcError {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        if matches!(&*code, "1045" | "28P01" | "28000") {
            return JdbcError::Credentials { target: target.to_owned(), user: user.to_owned(), detail: db.to_string() };
        }
        if matches!(&*code, "1049" | "3D000") {
            return JdbcError::UnknownDatabase { target: target.to_owned(), detail: db.to_string() };
        }
    }
    JdbcError::Connect { target: target.to_owned(), source: e }
}

impl Pool {
    /// Opens a pool of at most `size` connections, trying `attempts` times `backoff` apart while
    /// the server cannot be reached. Bad credentials and unknown databases fail at once.
    pub async fn open(c: &Connection, size: u32, attempts: u32, backoff: Duration) -> Result<Pool, JdbcError> {
        let target = format!("{}:{}/{}", c.host, c.port, c.database.as_deref().unwrap_or(""));
        let user = c.user.clone().unwrap_or_default();
        let tls_requested = c.params.iter().any(|(k, v)| {
            let v = v.to_ascii_lowercase();
            match k.as_str() {
                "useSSL" | "requireSSL" => v == "true",
                "sslMode" | "sslmode" | "ssl-mode" => !matches!(&*v, "disabled" | "disable" | "preferred" | "prefer"),
                _ => false,
            }
        });
        if tls_requested {
            return Err(JdbcError::TlsNotBuilt { target });
        }
        for (k, _) in c.params.iter().filter(|(k, _)| !is_known_param(k)) {
            warn!(parameter = %k, "connection.url parameter is ignored by sluice");
        }
        let mut attempt = 1;
        loop {
            let opened = match c.dialect {
                Dialect::MySql => {
                    let mut o = MySqlConnectOptions::new()
                        .host(&c.host)
                        .port(c.port)
                        .ssl_mode(MySqlSslMode::Disabled)
                        .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
                    o = o.username(&user);
                    if let Some(p) = &c.password {
                        o = o.password(p.expose());
                    }
                    if let Some(d) = &c.database {
                        o = o.database(d);
                    }
                    // one probe connection first: the pool itself would retry until its timeout
                    match sqlx::MySqlConnection::connect_with(&o).await {
                        Ok(conn) => {
                            let _ = conn.close().await;
                            Ok(Pool::MySql(pool_options_mysql(size).connect_lazy_with(o)))
                        }
                        Err(e) => Err(e),
                    }
                }
                Dialect::Postgres => {
                    let mut o = PgConnectOptions::new_without_pgpass()
                        .host(&c.host)
                        .port(c.port)
                        .ssl_mode(PgSslMode::Disable)
                        .options([("TimeZone", "UTC")])
                        .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
                    if !user.is_empty() {
                        o = o.username(&user);
                    }
                    if let Some(p) = &c.password {
                        o = o.password(p.expose());
                    }
                    if let Some(d) = &c.database {
                        o = o.database(d);
                    }
                    match sqlx::PgConnection::connect_with(&o).await {
                        Ok(conn) => {
                            let _ = conn.close().await;
                            Ok(Pool::Postgres(pool_options_pg(size).connect_lazy_with(o)))
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match opened {
                Ok(pool) => {
                    if attempt > 1 {
                        info!(target = %target, attempt, "connected");
                    }
                    return Ok(pool);
                }
                Err(e) if is_transient(&e) && attempt < attempts => {
                    warn!(target = %target, attempt, attempts, backoff_ms = backoff.as_millis() as u64, error = %e, "cannot connect; retrying");
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                Err(e) => return Err(describe_connect_error(&target, &user, e)),
            }
        }
    }

    /// `SELECT CURRENT_TIMESTAMP` on the database, as an instant (sessions run in UTC).
    pub async fn now(&self) -> Result<DateTime<Utc>, sqlx::Error> {
        match self {
            Pool::MySql(p) => {
                let t: NaiveDateTime = sqlx::query_scalar("SELECT CURRENT_TIMESTAMP(6)").fetch_one(p).await?;
                Ok(t.and_utc())
            }
            Pool::Postgres(p) => sqlx::query_scalar("SELECT CURRENT_TIMESTAMP").fetch_one(p).await,
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::MySql(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

fn is_known_param(k: &str) -> bool {
    matches!(
        k,
        "useSSL"
            | "requireSSL"
            | "sslMode"
            | "sslmode"
            | "ssl-mode"
            | "serverTimezone"
            | "connectionTimeZone"
            | "characterEncoding"
            | "useUnicode"
            | "allowPublicKeyRetrieval"
            | "zeroDateTimeBehavior"
            | "tinyInt1isBit"
            | "autoReconnect"
            | "useLegacyDatetimeCode"
            | "connectTimeout"
            | "currentSchema"
    )
}

/// sqlx warns about every statement over a second, which every large initial load is: that is
/// expected here, so it is a debug line.
const SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// How long a query waits for a connection before it counts as failed (and is retried with
/// backoff, logged): short, so that a database outage is reported within seconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

fn pool_options_mysql(size: u32) -> MySqlPoolOptions {
    MySqlPoolOptions::new().max_connections(size.max(1)).min_connections(0).acquire_timeout(ACQUIRE_TIMEOUT)
}

fn pool_options_pg(size: u32) -> PgPoolOptions {
    PgPoolOptions::new().max_connections(size.max(1)).min_connections(0).acquire_timeout(ACQUIRE_TIMEOUT)
}

/// Compares the database's clock with the host's and warns past a second of skew: time-window
/// bounds come from the database, and users reason with the host's clock (jdbc-source.md §7.5).
pub async fn check_clock(pool: &Pool) {
    let before = Utc::now();
    match pool.now().await {
        Ok(db) => {
            let after = Utc::now();
            let host = before + (after - before) / 2;
            let skew = (db - host).num_milliseconds();
            if skew.abs() > 1000 {
                warn!(skew_ms = skew, "the database clock differs from this host's by more than a second; timestamp windows follow the database's clock");
            }
        }
        Err(e) => warn!(error = %e, "cannot read the database clock"),
    }
}
