//! TLS from `connection.url`, as the JDBC drivers read their parameters (jdbc-source.md §2):
//! MySQL Connector/J (`sslMode`, the older `useSSL`/`requireSSL`/`verifyServerCertificate`,
//! `trustCertificateKeyStore*`, `clientCertificateKeyStore*`), MariaDB Connector/J (`sslMode`
//! disable/trust/verify-ca/verify-full, `serverSslCert`, `keyStore*`) and pgJDBC (`sslmode`,
//! `ssl`, `sslrootcert`, `sslcert`, `sslkey`, `sslpassword`, `sslfactory`). Each driver's
//! default is kept: Connector/J PREFERRED, MariaDB's no TLS, pgJDBC `prefer`.

use runtime::tls::db::{identity_pem, store_path, trust_pem, ClientPem, DbTls, DbTlsMode};
use runtime::tls::{StoreError, StoreType};

/// The driver a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    MySql,
    MariaDb,
    Postgres,
}

/// The URL parameters this module reads (and so are known).
pub const PARAMS: &[&str] = &[
    "sslMode",
    "sslmode",
    "ssl-mode",
    "useSSL",
    "useSsl",
    "requireSSL",
    "verifyServerCertificate",
    "trustServerCertificate",
    "trustCertificateKeyStoreUrl",
    "trustCertificateKeyStorePassword",
    "trustCertificateKeyStoreType",
    "clientCertificateKeyStoreUrl",
    "clientCertificateKeyStorePassword",
    "clientCertificateKeyStoreType",
    "serverSslCert",
    "keyStore",
    "keyStorePassword",
    "keyStoreType",
    "keyPassword",
    "ssl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslfactory",
];

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn flag(params: &[(String, String)], name: &str) -> Option<bool> {
    param(params, name).map(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The TLS a URL asks for; the error names the parameter and says what it expected.
pub fn from_url(driver: Driver, params: &[(String, String)]) -> Result<DbTls, String> {
    let mode = mode(driver, params)?;
    if mode == DbTlsMode::Disabled {
        return Ok(DbTls::disabled());
    }
    // a wrong or missing password is named by its own parameter
    let store_error = |name: &str, e: StoreError| match e {
        StoreError::WrongPassword | StoreError::PasswordRequired | StoreError::WrongKeyPassword => {
            let password = name.strip_suffix("Url").unwrap_or(name);
            format!("{password}Password: {e}")
        }
        e => format!("{name}: {e}"),
    };
    let (ca_pem, client) = match driver {
        Driver::MySql => {
            let ca = match param(params, "trustCertificateKeyStoreUrl") {
                Some(url) => {
                    let kind = store_type(params, "trustCertificateKeyStoreType")?;
                    let pw = param(params, "trustCertificateKeyStorePassword");
                    Some(trust_pem(kind, url, pw).map_err(|e| store_error("trustCertificateKeyStoreUrl", e))?)
                }
                None => None,
            };
            let client = match param(params, "clientCertificateKeyStoreUrl") {
                Some(url) => {
                    let kind = store_type(params, "clientCertificateKeyStoreType")?;
                    let pw = param(params, "clientCertificateKeyStorePassword");
                    Some(
                        identity_pem(kind, url, pw, None)
                            .map_err(|e| store_error("clientCertificateKeyStoreUrl", e))?,
                    )
                }
                None => None,
            };
            (ca, client)
        }
        Driver::MariaDb => {
            let ca = match param(params, "serverSslCert") {
                Some(pem) if pem.contains("-----BEGIN") => Some(pem.as_bytes().to_vec()),
                Some(path) => Some(
                    std::fs::read(store_path(path)).map_err(|e| format!("serverSslCert: cannot read {path}: {e}"))?,
                ),
                None => None,
            };
            let client = match param(params, "keyStore") {
                Some(url) => {
                    let kind = store_type(params, "keyStoreType")?;
                    let (pw, key_pw) = (param(params, "keyStorePassword"), param(params, "keyPassword"));
                    Some(identity_pem(kind, url, pw, key_pw).map_err(|e| store_error("keyStore", e))?)
                }
                None => None,
            };
            (ca, client)
        }
        Driver::Postgres => postgres_material(params)?,
    };
    Ok(DbTls { mode, ca_pem, client })
}

/// The store's type when given (else read from the file's bytes).
fn store_type(params: &[(String, String)], name: &str) -> Result<Option<StoreType>, String> {
    match param(params, name) {
        None => Ok(None),
        Some(v) => {
            StoreType::parse(v).map(Some).ok_or_else(|| format!("{name}: expected {}, got {v:?}", StoreType::EXPECTED))
        }
    }
}

fn mode(driver: Driver, params: &[(String, String)]) -> Result<DbTlsMode, String> {
    use DbTlsMode::*;
    let explicit = param(params, "sslMode").or_else(|| param(params, "ssl-mode"));
    match driver {
        Driver::MySql => match explicit {
            Some(v) => match v.to_ascii_uppercase().as_str() {
                "DISABLED" => Ok(Disabled),
                "PREFERRED" => Ok(Preferred),
                "REQUIRED" => Ok(Required),
                "VERIFY_CA" => Ok(VerifyCa),
                "VERIFY_IDENTITY" => Ok(VerifyIdentity),
                _ => Err(format!(
                    "sslMode: expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, got {v:?}"
                )),
            },
            // Connector/J 8's reading of the older parameters
            None => Ok(
                match (flag(params, "useSSL"), flag(params, "requireSSL"), flag(params, "verifyServerCertificate")) {
                    (Some(false), _, _) => Disabled,
                    (_, _, Some(true)) => VerifyCa,
                    (_, Some(true), _) => Required,
                    _ => Preferred,
                },
            ),
        },
        Driver::MariaDb => match explicit {
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "disable" => Ok(Disabled),
                "trust" => Ok(Required),
                "verify-ca" => Ok(VerifyCa),
                "verify-full" => Ok(VerifyIdentity),
                _ => Err(format!("sslMode: expected disable, trust, verify-ca or verify-full, got {v:?}")),
            },
            // MariaDB Connector/J 2's useSsl, with trustServerCertificate
            None => {
                Ok(match (flag(params, "useSSL").or(flag(params, "useSsl")), flag(params, "trustServerCertificate")) {
                    (Some(true), Some(true)) => Required,
                    (Some(true), _) => VerifyIdentity,
                    _ => Disabled,
                })
            }
        },
        Driver::Postgres => {
            let non_validating = param(params, "sslfactory").is_some_and(|f| f.ends_with("NonValidatingFactory"));
            let mode = match param(params, "sslmode") {
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "disable" => Disabled,
                    "allow" | "prefer" => Preferred,
                    "require" => Required,
                    "verify-ca" => VerifyCa,
                    "verify-full" => VerifyIdentity,
                    _ => {
                        return Err(format!(
                            "sslmode: expected disable, allow, prefer, require, verify-ca or verify-full, got {v:?}"
                        ))
                    }
                },
                // pgJDBC: ssl=true alone is verify-full
                None if flag(params, "ssl") == Some(true) => VerifyIdentity,
                None => Preferred,
            };
            Ok(if non_validating && mode != Disabled { Required } else { mode })
        }
    }
}

/// pgJDBC's files: `sslrootcert` PEM; `sslcert` PEM; `sslkey` PEM, PKCS#8 DER (`.pk8`) or
/// PKCS12 (`.p12`), encrypted ones with `sslpassword`.
fn postgres_material(params: &[(String, String)]) -> Result<(Option<Vec<u8>>, Option<ClientPem>), String> {
    let read = |name: &str, path: &str| std::fs::read(path).map_err(|e| format!("{name}: cannot read {path}: {e}"));
    let ca = match param(params, "sslrootcert") {
        Some(path) => Some(read("sslrootcert", path)?),
        None => None,
    };
    let client = match (param(params, "sslcert"), param(params, "sslkey")) {
        (_, Some(key)) if key.ends_with(".p12") || key.ends_with(".pfx") => Some(
            identity_pem(Some(StoreType::Pkcs12), key, param(params, "sslpassword"), None)
                .map_err(|e| format!("sslkey: {e}"))?,
        ),
        (Some(cert), Some(key)) => {
            let chain = read("sslcert", cert)?;
            let bytes = read("sslkey", key)?;
            // PEM or DER PKCS#8 (pgJDBC's .pk8), encrypted ones decrypted with sslpassword
            let der = runtime::tls::private_key(&bytes, param(params, "sslpassword")).map_err(|e| match e {
                runtime::tls::StoreError::WrongKeyPassword => {
                    format!("sslpassword: not the password of {key} ([hidden])")
                }
                runtime::tls::StoreError::PasswordRequired => {
                    format!("sslpassword: {key} is encrypted; set its password")
                }
                other => format!("sslkey: {key}: {other}"),
            })?;
            let key = runtime::tls::to_pem_key(&der).into_bytes();
            Some(ClientPem { chain, key })
        }
        (Some(_), None) => return Err("sslcert: set sslkey too".into()),
        (None, Some(_)) => return Err("sslkey: set sslcert too".into()),
        (None, None) => None,
    };
    Ok((ca, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn mode_of(driver: Driver, pairs: &[(&str, &str)]) -> DbTlsMode {
        mode(driver, &params(pairs)).unwrap()
    }

    #[test]
    fn each_drivers_default_and_older_parameters() {
        use DbTlsMode::*;
        assert_eq!(mode_of(Driver::MySql, &[]), Preferred);
        assert_eq!(mode_of(Driver::MySql, &[("useSSL", "false")]), Disabled);
        assert_eq!(mode_of(Driver::MySql, &[("useSSL", "true"), ("requireSSL", "true")]), Required);
        assert_eq!(mode_of(Driver::MySql, &[("useSSL", "true"), ("verifyServerCertificate", "true")]), VerifyCa);
        assert_eq!(mode_of(Driver::MySql, &[("useSSL", "true")]), Preferred);
        assert_eq!(mode_of(Driver::MySql, &[("useSSL", "false"), ("sslMode", "verify_identity")]), VerifyIdentity);
        assert_eq!(mode_of(Driver::MariaDb, &[]), Disabled);
        assert_eq!(mode_of(Driver::MariaDb, &[("sslMode", "verify-full")]), VerifyIdentity);
        assert_eq!(mode_of(Driver::MariaDb, &[("sslMode", "trust")]), Required);
        assert_eq!(mode_of(Driver::MariaDb, &[("useSsl", "true"), ("trustServerCertificate", "true")]), Required);
        assert_eq!(mode_of(Driver::Postgres, &[]), Preferred);
        assert_eq!(mode_of(Driver::Postgres, &[("ssl", "true")]), VerifyIdentity);
        assert_eq!(mode_of(Driver::Postgres, &[("sslmode", "verify-ca")]), VerifyCa);
        assert_eq!(
            mode_of(
                Driver::Postgres,
                &[("sslmode", "verify-full"), ("sslfactory", "org.postgresql.ssl.NonValidatingFactory")]
            ),
            Required
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let e = mode(Driver::MySql, &params(&[("sslMode", "ON")])).unwrap_err();
        assert!(e.starts_with("sslMode: expected DISABLED"), "{e}");
        let e = mode(Driver::Postgres, &params(&[("sslmode", "full")])).unwrap_err();
        assert!(e.starts_with("sslmode: expected disable"), "{e}");
        let e = from_url(
            Driver::MySql,
            &params(&[("sslMode", "VERIFY_CA"), ("trustCertificateKeyStoreUrl", "file:/no/such.jks")]),
        )
        .unwrap_err();
        assert!(e.starts_with("trustCertificateKeyStoreUrl: cannot read /no/such.jks"), "{e}");
    }

    #[test]
    fn stores_from_the_drivers_parameters() {
        let dir = format!("{}/../runtime/src/tls/testdata", env!("CARGO_MANIFEST_DIR"));
        let tls = from_url(
            Driver::MySql,
            &params(&[
                ("sslMode", "VERIFY_IDENTITY"),
                ("trustCertificateKeyStoreUrl", &format!("file:{dir}/truststore.jks")),
                ("trustCertificateKeyStorePassword", "trustpass"),
                ("clientCertificateKeyStoreUrl", &format!("file://{dir}/client.p12")),
                ("clientCertificateKeyStorePassword", "keypass"),
            ]),
        )
        .unwrap();
        assert_eq!(tls.mode, DbTlsMode::VerifyIdentity);
        assert!(String::from_utf8(tls.ca_pem.unwrap()).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        let client = tls.client.unwrap();
        assert!(String::from_utf8_lossy(&client.key).starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{client:?}").contains("PRIVATE"), "the key stays out of Debug");
        let e = from_url(
            Driver::MySql,
            &params(&[
                ("sslMode", "REQUIRED"),
                ("trustCertificateKeyStoreUrl", &format!("{dir}/truststore.jks")),
                ("trustCertificateKeyStorePassword", "wrong"),
            ]),
        )
        .unwrap_err();
        assert!(e.contains("trustCertificateKeyStorePassword: the store's password is wrong"), "{e}");
        let pg = from_url(
            Driver::Postgres,
            &params(&[
                ("sslmode", "verify-full"),
                ("sslrootcert", &format!("{dir}/ca.pem")),
                ("sslcert", &format!("{dir}/client.pem")),
                ("sslkey", &format!("{dir}/client.key")),
            ]),
        )
        .unwrap();
        assert!(pg.client.is_some() && pg.ca_pem.is_some());
        // an encrypted PKCS#8 key (openssl pkcs8 -topk8 -v2 aes-256-cbc) with its sslpassword
        let encrypted = |password: &str| {
            from_url(
                Driver::Postgres,
                &params(&[
                    ("sslmode", "verify-full"),
                    ("sslrootcert", &format!("{dir}/ca.pem")),
                    ("sslcert", &format!("{dir}/client.pem")),
                    ("sslkey", &format!("{dir}/client-encrypted.key")),
                    ("sslpassword", password),
                ]),
            )
        };
        let decrypted = encrypted("keypass").unwrap().client.unwrap();
        assert_eq!(decrypted.key, pg.client.unwrap().key, "the same key as client.key");
        let e = encrypted("wrong").unwrap_err();
        assert!(e.contains("sslpassword: not the password of") && !e.contains("wrong"), "{e}");
    }
}
