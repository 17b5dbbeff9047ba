//! Connections: a small sqlx pool per task (and one for the connector's table monitor), opened
//! with `connection.attempts` and `connection.backoff.ms`, every session pinned to UTC
//! (jdbc-source.md §7), and errors sorted into what a retry can fix and what it cannot.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _};
use tracing::{info, warn};

use runtime::tls::db::{DbTls, DbTlsMode};

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
        // sqlx reports a refused certificate as an I/O error: waiting does not change it
        sqlx::Error::Io(io) => !is_certificate_error(&io.to_string()),
        sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        // a certificate or a TLS requirement does not change by waiting
        sqlx::Error::Tls(_) => false,
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

fn mysql_tls(o: MySqlConnectOptions, tls: &DbTls) -> MySqlConnectOptions {
    let mut o = o.ssl_mode(match tls.mode {
        DbTlsMode::Disabled => MySqlSslMode::Disabled,
        DbTlsMode::Preferred => MySqlSslMode::Preferred,
        DbTlsMode::Required => MySqlSslMode::Required,
        DbTlsMode::VerifyCa => MySqlSslMode::VerifyCa,
        DbTlsMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
    });
    if let Some(ca) = &tls.ca_pem {
        o = o.ssl_ca_from_pem(ca.clone());
    }
    if let Some(client) = &tls.client {
        o = o.ssl_client_cert_from_pem(&client.chain).ssl_client_key_from_pem(&client.key);
    }
    o
}

fn pg_tls(o: PgConnectOptions, tls: &DbTls) -> PgConnectOptions {
    let mut o = o.ssl_mode(match tls.mode {
        DbTlsMode::Disabled => PgSslMode::Disable,
        DbTlsMode::Preferred => PgSslMode::Prefer,
        DbTlsMode::Required => PgSslMode::Require,
        DbTlsMode::VerifyCa => PgSslMode::VerifyCa,
        DbTlsMode::VerifyIdentity => PgSslMode::VerifyFull,
    });
    if let Some(ca) = &tls.ca_pem {
        o = o.ssl_root_cert_from_pem(ca.clone());
    }
    if let Some(client) = &tls.client {
        o = o.ssl_client_cert_from_pem(&client.chain).ssl_client_key_from_pem(&client.key);
    }
    o
}

fn is_certificate_error(text: &str) -> bool {
    text.contains("certificate")
}

/// The URL parameters named in TLS errors.
const URL_KEYS: runtime::tls::db::TlsKeys = runtime::tls::db::TlsKeys {
    trust: "trustCertificateKeyStoreUrl, serverSslCert or sslrootcert in connection.url",
    verify_ca: "sslMode=VERIFY_CA or sslmode=verify-ca",
    mode: "sslMode / sslmode in connection.url",
};

fn describe_connect_error(target: &str, user: &str, tls_off: bool, e: sqlx::Error) -> JdbcError {
    let tls_failure = match &e {
        sqlx::Error::Tls(t) => Some(t.to_string()),
        sqlx::Error::Io(io) if is_certificate_error(&io.to_string()) => Some(io.to_string()),
        _ => None,
    };
    if let Some(detail) = tls_failure {
        return JdbcError::Tls {
            target: target.to_owned(),
            why: runtime::tls::db::explain_tls_error(&detail, URL_KEYS),
        };
    }
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        if matches!(&*code, "1045" | "28P01" | "28000") {
            let mut detail = db.to_string();
            // a user that only TLS may use is refused as if its password were wrong
            if tls_off || detail.contains("no encryption") {
                detail.push_str(
                    "; if the server requires TLS for this user, ask for it: sslMode=REQUIRED or stronger \
                                 (MySQL, MariaDB), sslmode=require or stronger (PostgreSQL)",
                );
            }
            return JdbcError::Credentials { target: target.to_owned(), user: user.to_owned(), detail };
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
        for (k, _) in c.params.iter().filter(|(k, _)| !is_known_param(k)) {
            warn!(parameter = %k, "connection.url parameter is ignored by sluice");
        }
        let mut attempt = 1;
        loop {
            let opened = match c.dialect {
                Dialect::MySql => {
                    let mut o = mysql_tls(
                        MySqlConnectOptions::new()
                            .host(&c.host)
                            .port(c.port)
                            .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT),
                        &c.tls,
                    );
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
                    let mut o = pg_tls(
                        PgConnectOptions::new_without_pgpass()
                            .host(&c.host)
                            .port(c.port)
                            .options([("TimeZone", "UTC")])
                            .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT),
                        &c.tls,
                    );
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
                Err(e) => return Err(describe_connect_error(&target, &user, c.tls.mode == DbTlsMode::Disabled, e)),
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
    crate::tls::PARAMS.iter().any(|p| p.eq_ignore_ascii_case(k))
        || matches!(
            k,
            "serverTimezone"
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
