//! rustls client settings from key material: the CAs to trust (the system's when none are
//! given, as Java's default trust store and OpenSSL's default paths), an optional client
//! identity for mutual TLS, and whether the server's host name is checked.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::{Identity, StoreError};

/// What a TLS client trusts and shows.
#[derive(Debug, Default)]
pub struct ClientTls {
    /// The CAs to trust; `None`: the system's.
    pub roots: Option<Vec<CertificateDer<'static>>>,
    pub identity: Option<Identity>,
    /// Check that the certificate names the host connected to (Kafka's
    /// `ssl.endpoint.identification.algorithm=https`, MySQL's VERIFY_IDENTITY, `verify-full`).
    pub verify_host: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// The system's CAs (`/etc/ssl/certs` and the like).
pub fn system_roots() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

impl ClientTls {
    pub fn rustls(self) -> Result<Arc<rustls::ClientConfig>, StoreError> {
        let mut store = rustls::RootCertStore::empty();
        for cert in self.roots.unwrap_or_else(system_roots) {
            store.add(cert).map_err(|e| StoreError::Format(format!("a CA certificate rustls cannot use: {e}")))?;
        }
        let provider = provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|e| StoreError::Format(format!("no usable CA certificate: {e}")))?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Format(e.to_string()))?;
        let builder = if self.verify_host {
            builder.with_webpki_verifier(webpki)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyHostName(webpki)))
        };
        let config = match self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain, id.key)
                .map_err(|e| StoreError::Format(format!("a client key rustls cannot use: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// The chain is checked against the CAs as usual; only the host name is not.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The same material as librdkafka got it (`ssl.ca.pem`, `ssl.certificate.pem`, `ssl.key.pem`,
/// `ssl.endpoint.identification.algorithm`), for the clients sluice speaks Kafka's protocol with
/// itself (the distributed group membership).
pub fn from_librdkafka(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Arc<rustls::ClientConfig>>, StoreError> {
    let protocol = get("security.protocol").unwrap_or_default().to_ascii_lowercase();
    if !protocol.contains("ssl") {
        return Ok(None);
    }
    let roots = match get("ssl.ca.pem") {
        Some(pem) => Some(super::pem_certs(pem.as_bytes())?),
        None => None,
    };
    let password = get("ssl.key.password");
    let identity = match (get("ssl.certificate.pem"), get("ssl.key.pem")) {
        (Some(chain), Some(key)) => Some(Identity {
            chain: super::pem_certs(chain.as_bytes())?,
            key: super::private_key(key.as_bytes(), password.as_deref())?,
        }),
        // an encrypted PEM key store handed to librdkafka as a file
        _ => match (get("ssl.certificate.location"), get("ssl.key.location")) {
            (Some(chain), Some(key)) => {
                let read = |path: String| {
                    std::fs::read(&path).map_err(|source| StoreError::Read { path: path.into(), source })
                };
                Some(Identity {
                    chain: super::pem_certs(&read(chain)?)?,
                    key: super::private_key(&read(key)?, password.as_deref())?,
                })
            }
            _ => None,
        },
    };
    let verify_host = get("ssl.endpoint.identification.algorithm").as_deref() != Some("none");
    ClientTls { roots, identity, verify_host }.rustls().map(Some)
}
