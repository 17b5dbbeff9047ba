//! TLS to the server from Debezium's keys: `database.ssl.mode` (MySQL's disabled, preferred,
//! required, verify_ca, verify_identity, and the MariaDB connector's disable, trust, verify-ca,
//! verify-full), `database.ssl.truststore(.password)` and `database.ssl.keystore(.password)`
//! (JKS or PKCS12, read from their bytes as Java's default key store type reads both).

use runtime::config::ConfigReader;
use runtime::tls::db::{identity_pem, trust_pem, DbTls, DbTlsMode};
use runtime::tls::StoreError;

use crate::config::Flavor;

pub const EXPECTED_MODE: &str =
    "one of disabled, preferred, required, verify_ca, verify_identity (or disable, trust, verify-ca, verify-full)";

fn mode(value: &str) -> Option<DbTlsMode> {
    Some(match value.trim().to_ascii_lowercase().as_str() {
        "disabled" | "disable" => DbTlsMode::Disabled,
        "preferred" => DbTlsMode::Preferred,
        "required" | "trust" => DbTlsMode::Required,
        "verify_ca" | "verify-ca" => DbTlsMode::VerifyCa,
        "verify_identity" | "verify-full" => DbTlsMode::VerifyIdentity,
        _ => return None,
    })
}

/// Reads the TLS keys; problems are recorded against their keys (stores are read now, so a wrong
/// path or password stops the start with the key's line). Debezium's defaults: `preferred` for
/// MySQL, `disable` for MariaDB.
pub fn parse(r: &mut ConfigReader<'_>, flavor: Flavor) -> DbTls {
    let default = match flavor {
        Flavor::MySql => DbTlsMode::Preferred,
        Flavor::MariaDb => DbTlsMode::Disabled,
    };
    let mode = match r.non_empty("database.ssl.mode") {
        None => default,
        Some(v) => mode(&v).unwrap_or_else(|| {
            r.invalid("database.ssl.mode", EXPECTED_MODE, v.as_str());
            default
        }),
    };
    let truststore = r.non_empty("database.ssl.truststore");
    let trust_password = r.password("database.ssl.truststore.password");
    let keystore = r.non_empty("database.ssl.keystore");
    let key_password = r.password("database.ssl.keystore.password");
    if mode == DbTlsMode::Disabled {
        return DbTls::disabled();
    }
    let mut problem = |key: &str, password_key: &str, e: StoreError| match e {
        StoreError::WrongPassword | StoreError::PasswordRequired | StoreError::WrongKeyPassword => {
            r.invalid(password_key, format!("the password of the store in {key} ({e})"), "[hidden]")
        }
        e => r.invalid(key, "a readable JKS or PKCS12 store", e.to_string()),
    };
    let ca_pem = truststore.and_then(|path| {
        let pw = trust_password.as_ref().map(|p| p.expose());
        trust_pem(None, &path, pw)
            .map_err(|e| problem("database.ssl.truststore", "database.ssl.truststore.password", e))
            .ok()
    });
    let client = keystore.and_then(|path| {
        let pw = key_password.as_ref().map(|p| p.expose());
        identity_pem(None, &path, pw, None)
            .map_err(|e| problem("database.ssl.keystore", "database.ssl.keystore.password", e))
            .ok()
    });
    DbTls { mode, ca_pem, client }
}

/// mysql_async's TLS settings for `tls` (`None`: plaintext). Without a trust store the
/// built-in (Mozilla) CAs are used; with one, only its CAs, as a Java trust store replaces the
/// default.
pub fn ssl_opts(tls: &DbTls) -> Option<mysql_async::SslOpts> {
    use mysql_async::{ClientIdentity, SslOpts};
    let mut opts = SslOpts::default();
    match tls.mode {
        DbTlsMode::Disabled => return None,
        DbTlsMode::Preferred | DbTlsMode::Required => {
            opts = opts.with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true)
        }
        DbTlsMode::VerifyCa => opts = opts.with_danger_skip_domain_validation(true),
        DbTlsMode::VerifyIdentity => {}
    }
    if let Some(ca) = &tls.ca_pem {
        opts = opts.with_root_certs(vec![ca.clone().into()]).with_disable_built_in_roots(true);
    }
    if let Some(client) = &tls.client {
        opts = opts
            .with_client_identity(Some(ClientIdentity::new(client.chain.clone().into(), client.key.clone().into())));
    }
    Some(opts)
}

/// The keys TLS errors name.
pub const KEYS: runtime::tls::db::TlsKeys = runtime::tls::db::TlsKeys {
    trust: "database.ssl.truststore",
    verify_ca: "database.ssl.mode=verify_ca",
    mode: "database.ssl.mode",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_and_mariadb_mode_names() {
        assert_eq!(mode("verify_identity"), Some(DbTlsMode::VerifyIdentity));
        assert_eq!(mode("verify-full"), Some(DbTlsMode::VerifyIdentity));
        assert_eq!(mode("trust"), Some(DbTlsMode::Required));
        assert_eq!(mode("VERIFY_CA"), Some(DbTlsMode::VerifyCa));
        assert_eq!(mode("on"), None);
    }
}
