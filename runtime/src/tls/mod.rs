//! Key material for TLS, read from the stores Java clients are configured with: JKS (read
//! natively, [`jks`]), PKCS12 and PEM, whether a file or (for PEM) the key's value itself. The
//! result is DER for rustls (databases, S3, REST) and PEM text for librdkafka, so both TLS stacks
//! get the same certificates from the same keys.

mod client;
pub mod db;
pub mod diagnose;
mod jks;
pub mod jvm;
mod pem;
mod private_key;

use std::path::{Path, PathBuf};

pub use client::{from_librdkafka, system_roots, ClientTls};
pub use pem::{to_pem_certs, to_pem_key};
pub use private_key::private_key;
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

/// The `*.type` of a Java key or trust store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
    Pem,
}

impl StoreType {
    pub const EXPECTED: &'static str = "one of JKS, PKCS12, PEM";

    /// A store's type from its bytes, as Java's PKCS12 key store reads JKS too: the JKS magic,
    /// PEM text, else PKCS12.
    pub fn sniff(data: &[u8]) -> StoreType {
        if jks::is_jks(data) {
            StoreType::Jks
        } else if data.trim_ascii_start().starts_with(b"-----BEGIN") {
            StoreType::Pem
        } else {
            StoreType::Pkcs12
        }
    }

    pub fn parse(s: &str) -> Option<StoreType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "JKS" => Some(StoreType::Jks),
            "PKCS12" => Some(StoreType::Pkcs12),
            "PEM" => Some(StoreType::Pem),
            _ => None,
        }
    }
}

/// Why a store could not be used. Never carries a password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the store's password is wrong (its integrity check failed)")]
    WrongPassword,
    #[error("the private key's password is wrong (ssl.key.password, or the store's password when unset)")]
    WrongKeyPassword,
    #[error("a PKCS12 store needs its password to be read")]
    PasswordRequired,
    #[error("no private key in the store")]
    NoKey,
    #[error("no certificate in the store")]
    NoCerts,
    #[error("{0}")]
    Format(String),
}

/// Where a store is: a file, or the PEM text itself (`ssl.truststore.certificates`,
/// `ssl.keystore.certificate.chain`, `ssl.keystore.key`).
#[derive(Debug, Clone, Copy)]
pub enum StoreSource<'a> {
    File(&'a Path),
    Inline(&'a str),
    Bytes(&'a [u8]),
}

impl StoreSource<'_> {
    fn bytes(&self) -> Result<Vec<u8>, StoreError> {
        match self {
            StoreSource::File(path) => {
                std::fs::read(path).map_err(|source| StoreError::Read { path: path.to_path_buf(), source })
            }
            StoreSource::Inline(text) => Ok(text.as_bytes().to_vec()),
            StoreSource::Bytes(data) => Ok(data.to_vec()),
        }
    }
}

/// A private key and the certificate chain that goes with it.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The trusted certificates of a trust store.
pub fn trusted_certs(
    kind: StoreType,
    source: StoreSource<'_>,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let data = source.bytes()?;
    let certs = match kind {
        StoreType::Jks => jks::read(&data, password)?
            .into_iter()
            .filter_map(|e| match e {
                jks::JksEntry::Trusted { cert, .. } => Some(CertificateDer::from(cert)),
                jks::JksEntry::PrivateKey { .. } => None,
            })
            .collect(),
        StoreType::Pkcs12 => {
            let store = pkcs12(&data, password)?;
            let trusted: Vec<_> = store
                .entries()
                .filter_map(|(_, e)| match e {
                    p12_keystore::KeyStoreEntry::Certificate(c) => Some(CertificateDer::from(c.as_der().to_vec())),
                    _ => None,
                })
                .collect();
            trusted
        }
        StoreType::Pem => pem_certs(&data)?,
    };
    if certs.is_empty() {
        return Err(StoreError::NoCerts);
    }
    Ok(certs)
}

/// The private key and chain of a key store (its first private key entry, as Java's default
/// key manager picks one when a store holds a single key). `key_password` defaults to the
/// store's password, as `ssl.key.password` does.
pub fn identity(
    kind: StoreType,
    source: StoreSource<'_>,
    store_password: Option<&str>,
    key_password: Option<&str>,
) -> Result<Identity, StoreError> {
    let data = source.bytes()?;
    match kind {
        StoreType::Jks => {
            let entries = jks::read(&data, store_password)?;
            let (protected, chain) = entries
                .into_iter()
                .find_map(|e| match e {
                    jks::JksEntry::PrivateKey { protected, chain, .. } => Some((protected, chain)),
                    jks::JksEntry::Trusted { .. } => None,
                })
                .ok_or(StoreError::NoKey)?;
            let password = key_password.or(store_password).ok_or(StoreError::WrongKeyPassword)?;
            let key = jks::unprotect(&protected, password)?;
            Ok(Identity {
                chain: chain.into_iter().map(CertificateDer::from).collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            })
        }
        StoreType::Pkcs12 => {
            let store = pkcs12(&data, store_password)?;
            let (_, chain) = store.private_key_chain().ok_or(StoreError::NoKey)?;
            Ok(Identity {
                chain: chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
            })
        }
        StoreType::Pem => {
            let chain = pem_certs(&data)?;
            let key = private_key(&data, key_password.or(store_password))?;
            Ok(Identity { chain, key })
        }
    }
}

/// A PEM key store given as two values (`ssl.keystore.certificate.chain`, `ssl.keystore.key`),
/// the key decrypted with `key_password` when it is encrypted.
pub fn pem_identity(
    chain: StoreSource<'_>,
    key: StoreSource<'_>,
    key_password: Option<&str>,
) -> Result<Identity, StoreError> {
    let chain = pem_certs(&chain.bytes()?)?;
    let key = private_key(&key.bytes()?, key_password)?;
    Ok(Identity { chain, key })
}

/// True when PEM text holds an encrypted private key (which librdkafka decrypts itself with
/// `ssl.key.password`).
pub fn is_encrypted_pem_key(text: &str) -> bool {
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

pub(crate) fn pem_certs(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs = CertificateDer::pem_slice_iter(data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Format(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(StoreError::NoCerts);
    }
    Ok(certs)
}

fn pkcs12(data: &[u8], password: Option<&str>) -> Result<p12_keystore::KeyStore, StoreError> {
    if jks::is_jks(data) {
        return Err(StoreError::Format("a JKS store (set the store's type to JKS)".into()));
    }
    let password = password.ok_or(StoreError::PasswordRequired)?;
    p12_keystore::KeyStore::from_pkcs12(data, password, p12_keystore::Pkcs12ImportPolicy::Relaxed).map_err(
        |e| match e {
            p12_keystore::error::Error::MacError(_) => StoreError::WrongPassword,
            other => StoreError::Format(format!("not a readable PKCS12 store: {other}")),
        },
    )
}
