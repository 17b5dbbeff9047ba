//! Why a server's certificate was refused, in words: librdkafka (and OpenSSL) report only
//! "certificate verify failed". A second handshake, with a verifier that keeps the server's
//! chain, and rustls' own verification of that chain against the same CAs tell an expired
//! certificate from one for another host or one from an unknown CA.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What is wrong with a server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateProblem {
    Expired,
    NotYetValid,
    WrongHost,
    UnknownIssuer,
    Other(String),
}

#[derive(Debug)]
struct KeepChain {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for KeepChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap() = chain;
        // stop here: the chain is all this handshake is for
        Err(rustls::Error::General("chain kept".into()))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate chain `host:port` presents (blocking, bounded by `timeout`).
pub fn server_chain(host: &str, port: u16, timeout: Duration) -> Option<Vec<CertificateDer<'static>>> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let keeper = Arc::new(KeepChain { provider: provider.clone(), chain: Mutex::new(Vec::new()) });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(keeper.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let mut sock = TcpStream::connect_timeout(&addr, timeout).ok()?;
    sock.set_read_timeout(Some(timeout)).ok()?;
    sock.set_write_timeout(Some(timeout)).ok()?;
    let _ = conn.complete_io(&mut sock);
    let chain = std::mem::take(&mut *keeper.chain.lock().unwrap());
    (!chain.is_empty()).then_some(chain)
}

/// Checks `chain` as a client connecting to `host` that trusts `roots` would.
pub fn check_chain(
    chain: &[CertificateDer<'static>],
    host: &str,
    roots: &[CertificateDer<'static>],
) -> Option<CertificateProblem> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        let _ = store.add(r.clone());
    }
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider).build();
    let verifier = match verifier {
        Ok(v) => v,
        Err(_) => return Some(CertificateProblem::UnknownIssuer), // no usable CA at all
    };
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let (end_entity, intermediates) = chain.split_first()?;
    match verifier.verify_server_cert(end_entity, intermediates, &name, &[], UnixTime::now()) {
        Ok(_) => None,
        Err(rustls::Error::InvalidCertificate(e)) => Some(match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertificateProblem::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertificateProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertificateProblem::WrongHost
            }
            CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
            other => CertificateProblem::Other(format!("{other:?}")),
        }),
        Err(other) => Some(CertificateProblem::Other(other.to_string())),
    }
}
