//! Connecting, and the start-up checks that turn a misconfigured server into one actionable
//! error (binlog-cdc.md B1, B6, B9, A8): binlog settings, privileges, the server id, and whether
//! the stored position is still in the server's binlogs.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use crate::config::{BinlogConfig, Flavor};
use crate::error::{code, server_code, BinlogError};
use crate::position::{GtidSet, ResumePoint};

fn target(c: &BinlogConfig) -> String {
    format!("{}:{}", c.hostname, c.port)
}

/// A session in UTC (TIMESTAMP values then read as UTC wall clock).
pub async fn connect(c: &BinlogConfig) -> Result<Conn, BinlogError> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(c.hostname.clone())
        .tcp_port(c.port)
        .user(Some(c.user.clone()))
        .pass(c.password.as_ref().map(|p| p.expose().to_owned()).filter(|p| !p.is_empty()))
        .prefer_socket(false)
        .wait_timeout(Some(28_800))
        .init(vec!["SET time_zone = '+00:00'"]);
    let tls = crate::tls::ssl_opts(&c.tls);
    let connecting = Conn::new(opts.clone().ssl_opts(tls.clone()));
    let conn = match tokio::time::timeout(c.connect_timeout.max(Duration::from_secs(1)), connecting).await {
        Ok(Ok(conn)) => conn,
        // preferred: plaintext when the server offers no TLS
        Ok(Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)))
            if c.tls.mode == runtime::tls::db::DbTlsMode::Preferred =>
        {
            return plain(c, opts).await;
        }
        Ok(Err(e @ mysql_async::Error::Io(mysql_async::IoError::Tls(_)))) => {
            let why = runtime::tls::db::explain_tls_error(&e.to_string(), crate::tls::KEYS);
            return Err(BinlogError::Tls { target: target(c), why });
        }
        Ok(Err(e @ mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))) => {
            let why = runtime::tls::db::explain_tls_error(&e.to_string(), crate::tls::KEYS);
            return Err(BinlogError::Tls { target: target(c), why });
        }
        Ok(Err(e)) if server_code(&e) == Some(code::ACCESS_DENIED) => {
            let mut detail = e.to_string();
            if tls.is_none() {
                // a user that only TLS may use is refused as if its password were wrong
                detail
                    .push_str("; if the server requires TLS for this user, set database.ssl.mode=required or stronger");
            }
            return Err(BinlogError::Credentials { target: target(c), user: c.user.clone(), detail });
        }
        Ok(Err(e)) => return Err(BinlogError::Connect { target: target(c), source: e }),
        Err(_) => {
            let e = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within connect.timeout.ms={}", c.connect_timeout.as_millis()),
            )));
            return Err(BinlogError::Connect { target: target(c), source: e });
        }
    };
    Ok(conn)
}

/// A plaintext session, for `preferred` against a server without TLS.
async fn plain(c: &BinlogConfig, opts: OptsBuilder) -> Result<Conn, BinlogError> {
    let connecting = tokio::time::timeout(c.connect_timeout.max(Duration::from_secs(1)), Conn::new(opts));
    match connecting.await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(BinlogError::Connect { target: target(c), source: e }),
        Err(_) => Err(BinlogError::Connect {
            target: target(c),
            source: mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within connect.timeout.ms={}", c.connect_timeout.as_millis()),
            ))),
        }),
    }
}

/// Binlog settings, each wrong one with the statement that fixes it.
pub async fn check_settings(conn: &mut Conn, c: &BinlogConfig) -> Result<(), BinlogError> {
    let mut wanted: Vec<(&str, &str)> =
        vec![("log_bin", "1"), ("binlog_format", "ROW"), ("binlog_row_image", "FULL"), ("binlog_row_metadata", "FULL")];
    if c.flavor == Flavor::MariaDb {
        wanted.push(("log_bin_compress", "0"));
    }
    let mut problems = Vec::new();
    for (name, expected) in wanted {
        let got: Option<Option<String>> = conn
            .query_first(format!("SELECT @@global.{name}"))
            .await
            .or_else(|e| if server_code(&e) == Some(1193) { Ok(None) } else { Err(e) })
            .map_err(|e| BinlogError::query("read the binlog settings", e))?;
        let got = got.flatten().unwrap_or_else(|| "(not available)".into());
        let ok = got.eq_ignore_ascii_case(expected)
            || (expected == "1" && got.eq_ignore_ascii_case("ON"))
            || (expected == "0" && got.eq_ignore_ascii_case("OFF"));
        if !ok {
            let fix = match name {
                "log_bin" => "start the server with --log-bin (and a --server-id)".to_owned(),
                "log_bin_compress" => {
                    "SET GLOBAL log_bin_compress=OFF (compressed events cannot be decoded)".to_owned()
                }
                _ => format!("SET GLOBAL {name}={expected} (and in the server's configuration file)"),
            };
            let expected = match expected {
                "1" => "ON",
                "0" => "OFF",
                e => e,
            };
            problems.push(format!("  invalid setting '{name}': expected {expected}, got {got}; fix: {fix}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BinlogError::Settings { problems })
    }
}

/// `SHOW GRANTS` must give SELECT, REPLICATION SLAVE and BINLOG MONITOR (or REPLICATION CLIENT).
pub async fn check_privileges(conn: &mut Conn, c: &BinlogConfig) -> Result<(), BinlogError> {
    let grants: Vec<String> =
        conn.query("SHOW GRANTS").await.map_err(|e| BinlogError::query("read the user's grants (SHOW GRANTS)", e))?;
    let text = grants.join("; ").to_ascii_uppercase();
    if text.contains("GRANT ALL PRIVILEGES ON *.*") {
        return Ok(());
    }
    let global: Vec<&String> = grants.iter().filter(|g| g.contains(" ON *.* ")).collect();
    let has = |p: &str| global.iter().any(|g| g.to_ascii_uppercase().contains(p));
    let mut missing = Vec::new();
    if !text.contains("SELECT") && !text.contains("ALL PRIVILEGES") {
        missing.push("SELECT");
    }
    if !has("REPLICATION SLAVE") && !has("REPLICATION REPLICA") {
        missing.push("REPLICATION SLAVE");
    }
    if !has("BINLOG MONITOR") && !has("REPLICATION CLIENT") && !has("SUPER") {
        missing.push(if c.flavor == Flavor::MariaDb { "BINLOG MONITOR" } else { "REPLICATION CLIENT" });
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(BinlogError::Privileges { user: c.user.clone(), missing: missing.join(", "), grants: grants.join("; ") })
    }
}

/// The configured id must not be the server's own nor a connected replica's.
pub async fn check_server_id(conn: &mut Conn, c: &BinlogConfig) -> Result<(), BinlogError> {
    let own: Option<u32> =
        conn.query_first("SELECT @@server_id").await.map_err(|e| BinlogError::query("read @@server_id", e))?;
    if own == Some(c.server_id) {
        return Err(BinlogError::ServerIdInUse {
            server_id: c.server_id,
            by: "the server itself (@@server_id)".into(),
        });
    }
    // needs REPLICATION MASTER ADMIN on MariaDB: without it, error 4052 at the dump tells instead.
    // A replica that just went away (this connector's previous run) stays listed until the
    // server's next heartbeat to it fails: wait for that before calling the id taken.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let Ok(rows) = conn.query::<mysql_async::Row, _>("SHOW SLAVE HOSTS").await else { return Ok(()) };
        let clash = rows.iter().find(|row| row.get::<u32, _>(0) == Some(c.server_id));
        let Some(row) = clash else { return Ok(()) };
        if std::time::Instant::now() >= deadline {
            let host: Option<String> = row.get(1);
            return Err(BinlogError::ServerIdInUse {
                server_id: c.server_id,
                by: format!("a connected replica ({})", host.unwrap_or_default()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The server's binlog files, oldest first.
pub async fn binary_logs(conn: &mut Conn) -> Result<Vec<String>, BinlogError> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| BinlogError::query("list the binlogs (SHOW BINARY LOGS)", e))?;
    Ok(rows.into_iter().filter_map(|r| r.get::<String, _>(0)).collect())
}

/// `Err(Purged)` when the resume point is no longer in the server's binlogs.
pub async fn check_retained(conn: &mut Conn, c: &BinlogConfig, resume: &ResumePoint) -> Result<(), BinlogError> {
    let logs = binary_logs(conn).await?;
    let oldest = logs.first().cloned().unwrap_or_default();
    if c.flavor == Flavor::MariaDb && !resume.gtids.is_empty() {
        let state: Option<String> = conn
            .query_first("SELECT @@global.gtid_binlog_state")
            .await
            .map_err(|e| BinlogError::query("read @@gtid_binlog_state", e))?;
        let state = GtidSet::parse(&state.unwrap_or_default()).map_err(|message| BinlogError::BadOffset { message })?;
        let at_oldest: Option<String> = conn
            .exec_first("SELECT BINLOG_GTID_POS(?, 4)", (oldest.clone(),))
            .await
            .map_err(|e| BinlogError::query("read the oldest binlog's GTID position", e))?;
        let at_oldest = GtidSet::parse(&at_oldest.unwrap_or_default()).unwrap_or_default();
        for g in resume.gtids.domains() {
            let known = state.domains().any(|s| s.domain == g.domain);
            let purged = at_oldest.domains().any(|o| o.domain == g.domain && o.seq > g.seq);
            if !known || purged {
                return Err(BinlogError::Purged {
                    wanted: format!("GTID {g}"),
                    oldest,
                    server: c.topic_prefix.clone(),
                });
            }
        }
        return Ok(());
    }
    if !logs.contains(&resume.at.file) {
        return Err(BinlogError::Purged { wanted: resume.at.to_string(), oldest, server: c.topic_prefix.clone() });
    }
    Ok(())
}

/// The first binlog file name in a `ROTATE` that arrived before the format description: its 4
/// CRC bytes are still glued to the name (binlog-cdc.md B4). Keeps `<base>.<6 digits>`.
pub fn clean_rotate_name(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name).into_owned();
    if let Some(dot) = text.rfind('.') {
        let digits: String = text[dot + 1..].chars().take_while(|c| c.is_ascii_digit()).take(6).collect();
        if digits.len() == 6 {
            return format!("{}.{digits}", &text[..dot]);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn artificial_rotate_names_lose_their_checksum() {
        assert_eq!(super::clean_rotate_name(b"mariadb-bin.000001R<sT"), "mariadb-bin.000001");
        assert_eq!(super::clean_rotate_name(b"mariadb-bin.000012"), "mariadb-bin.000012");
    }
}
