//! Private keys as users hand them over: PEM (PKCS#8, PKCS#1, SEC1), DER PKCS#8 (pgJDBC's
//! `.pk8`), and encrypted PKCS#8, PEM `ENCRYPTED PRIVATE KEY` or DER, decrypted with the key's
//! password (PBES2 with PBKDF2 or scrypt and AES, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` and
//! Java's tools write them).

use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::StoreError;

/// The private key in `data`, decrypted with `password` when it is encrypted.
pub fn private_key(data: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, StoreError> {
    if let Some(der) = pem_block(data, "ENCRYPTED PRIVATE KEY") {
        return decrypt(&der, password);
    }
    if data.trim_ascii_start().starts_with(b"-----BEGIN") {
        return PrivateKeyDer::from_pem_slice(data).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => StoreError::NoKey,
            other => StoreError::Format(format!("not a PEM private key: {other}")),
        });
    }
    if pkcs8::EncryptedPrivateKeyInfoRef::try_from(data).is_ok() {
        return decrypt(data, password);
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(data.to_vec())))
}

/// The bytes of the first PEM block labelled `label`.
fn pem_block(data: &[u8], label: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn decrypt(der: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, StoreError> {
    let password = password.ok_or(StoreError::PasswordRequired)?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| StoreError::Format(format!("not an encrypted PKCS#8 private key: {e}")))?;
    let key = info.decrypt(password).map_err(|_| StoreError::WrongKeyPassword)?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.as_bytes().to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/src/tls/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// `client-encrypted.key` is `client.key` through `openssl pkcs8 -topk8 -v2 aes-256-cbc`.
    #[test]
    fn an_encrypted_pkcs8_key_decrypts_to_the_plain_one() {
        let plain = private_key(&fixture("client.key"), None).unwrap();
        let encrypted = fixture("client-encrypted.key");
        let decrypted = private_key(&encrypted, Some("keypass")).unwrap();
        assert_eq!(decrypted.secret_der(), plain.secret_der());
        assert!(matches!(private_key(&encrypted, Some("wrong")), Err(StoreError::WrongKeyPassword)));
        assert!(matches!(private_key(&encrypted, None), Err(StoreError::PasswordRequired)));
        // the same key as DER, as pgJDBC's .pk8 files are
        let der = pem_block(&encrypted, "ENCRYPTED PRIVATE KEY").unwrap();
        assert_eq!(private_key(&der, Some("keypass")).unwrap().secret_der(), plain.secret_der());
        let plain_der = plain.secret_der().to_vec();
        assert_eq!(private_key(&plain_der, None).unwrap().secret_der(), plain.secret_der());
    }

    /// `ssl.keystore.type=PEM` with `ssl.keystore.key` encrypted and `ssl.key.password` (the REST
    /// listener, the group client).
    #[test]
    fn a_pem_key_store_value_with_an_encrypted_key() {
        use super::super::{pem_identity, StoreSource};
        let (chain, key) = (fixture("client.pem"), fixture("client-encrypted.key"));
        let id = pem_identity(StoreSource::Bytes(&chain), StoreSource::Bytes(&key), Some("keypass")).unwrap();
        assert_eq!(id.key.secret_der(), private_key(&fixture("client.key"), None).unwrap().secret_der());
        let wrong = pem_identity(StoreSource::Bytes(&chain), StoreSource::Bytes(&key), Some("nope"));
        assert!(matches!(wrong, Err(StoreError::WrongKeyPassword)));
    }
}
