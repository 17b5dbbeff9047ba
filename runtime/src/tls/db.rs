//! TLS to a database, as the drivers' and Debezium's keys describe it: a mode (from no TLS to
//! a checked certificate and host name) and the material, as PEM for the database clients.

use super::{to_pem_certs, to_pem_key, Identity, StoreError, StoreSource, StoreType};

/// How far a database connection goes with TLS (MySQL's `ssl-mode` names; PostgreSQL's
/// `sslmode` maps onto them, `allow` as `Preferred`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbTlsMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it, unchecked; plaintext otherwise.
    Preferred,
    /// TLS, certificate not checked.
    Required,
    /// TLS, certificate checked against the CAs, host name not.
    VerifyCa,
    /// TLS, certificate and host name checked.
    VerifyIdentity,
}

/// A client certificate and key, PEM; the key never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientPem {
    pub chain: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ClientPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientPem { chain, key: [hidden] }")
    }
}

impl From<Identity> for ClientPem {
    fn from(id: Identity) -> Self {
        ClientPem { chain: to_pem_certs(&id.chain).into_bytes(), key: to_pem_key(&id.key).into_bytes() }
    }
}

/// TLS settings for one database connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTls {
    pub mode: DbTlsMode,
    /// The CAs to check the server's certificate with (PEM); `None`: the system's.
    pub ca_pem: Option<Vec<u8>>,
    pub client: Option<ClientPem>,
}

impl DbTls {
    pub fn disabled() -> DbTls {
        DbTls { mode: DbTlsMode::Disabled, ca_pem: None, client: None }
    }
}

/// A store location as Java drivers write it: a path, or a `file:` URL.
pub fn store_path(url: &str) -> &str {
    let path = url.strip_prefix("file://").or_else(|| url.strip_prefix("file:")).unwrap_or(url);
    path
}

fn read_store(location: &str) -> Result<Vec<u8>, StoreError> {
    let path = store_path(location);
    std::fs::read(path).map_err(|source| StoreError::Read { path: path.into(), source })
}

/// A trust store's CAs as PEM; its type from its bytes when not given.
pub fn trust_pem(kind: Option<StoreType>, location: &str, password: Option<&str>) -> Result<Vec<u8>, StoreError> {
    let data = read_store(location)?;
    let kind = kind.unwrap_or_else(|| StoreType::sniff(&data));
    let certs = super::trusted_certs(kind, StoreSource::Bytes(&data), password)?;
    Ok(to_pem_certs(&certs).into_bytes())
}

/// A key store's identity as PEM; its type from its bytes when not given.
pub fn identity_pem(
    kind: Option<StoreType>,
    location: &str,
    password: Option<&str>,
    key_password: Option<&str>,
) -> Result<ClientPem, StoreError> {
    let data = read_store(location)?;
    let kind = kind.unwrap_or_else(|| StoreType::sniff(&data));
    Ok(super::identity(kind, StoreSource::Bytes(&data), password, key_password)?.into())
}

/// The keys a connector's TLS errors name.
pub struct TlsKeys {
    /// Where the CAs are set.
    pub trust: &'static str,
    /// The mode that checks the CA but not the host name.
    pub verify_ca: &'static str,
    /// The mode key.
    pub mode: &'static str,
}

/// Why a TLS connection to a database failed, with the key to change (rustls names the
/// certificate's problem: `UnknownIssuer`, `Expired`, `NotValidForName`).
pub fn explain_tls_error(detail: &str, keys: TlsKeys) -> String {
    let lower = detail.to_ascii_lowercase();
    let why = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        format!(
            "the server's certificate is not signed by a CA in the trust store ({}; the system's CAs when none is set)",
            keys.trust
        )
    } else if lower.contains("expired") {
        "the server's certificate has expired".to_owned()
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        format!(
            "the server's certificate is not issued for the host name connected to (connect by a name it is issued for, \
             or check the CA only: {})",
            keys.verify_ca
        )
    } else if lower.contains("not support") || lower.contains("does not have this capability") {
        format!("the server does not offer TLS, which {} asks for", keys.mode)
    } else {
        "the TLS handshake failed".to_owned()
    };
    format!("{why} ({detail})")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: TlsKeys = TlsKeys { trust: "T", verify_ca: "V", mode: "M" };

    #[test]
    fn rustls_problems_become_the_key_to_change() {
        let e = explain_tls_error("invalid peer certificate: UnknownIssuer", KEYS);
        assert!(e.starts_with("the server's certificate is not signed by a CA in the trust store (T;"), "{e}");
        assert!(explain_tls_error("invalid peer certificate: NotValidForName", KEYS).contains("check the CA only: V"));
        assert!(explain_tls_error("Client asked for SSL but server does not have this capability", KEYS)
            .starts_with("the server does not offer TLS, which M asks for"));
        assert!(explain_tls_error("invalid peer certificate: Expired", KEYS)
            .starts_with("the server's certificate has expired"));
    }
}
