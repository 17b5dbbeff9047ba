//! DER to PEM text, for librdkafka's `ssl.ca.pem`, `ssl.certificate.pem` and `ssl.key.pem`.

use base64::Engine;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

fn block(label: &str, der: &[u8], out: &mut String) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
}

pub fn to_pem_certs(certs: &[CertificateDer<'_>]) -> String {
    let mut out = String::new();
    for c in certs {
        block("CERTIFICATE", c, &mut out);
    }
    out
}

pub fn to_pem_key(key: &PrivateKeyDer<'_>) -> String {
    let label = match key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    let mut out = String::new();
    block(label, key.secret_der(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn pem_round_trips_through_the_parser() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let text = to_pem_certs(&[CertificateDer::from(der.clone())]);
        assert!(text.lines().all(|l| l.len() <= 64));
        let back: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(back, vec![CertificateDer::from(der)]);
    }
}
