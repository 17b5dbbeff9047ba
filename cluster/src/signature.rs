//! Signed internal requests between workers (KIP-507; distributed-mode.md §7.4): the leader
//! keeps a session key in the config topic, rotated after `inter.worker.key.ttl.ms`; a worker
//! that sends task configs to the leader signs the exact body bytes with it, and the leader
//! checks the signature before acting. Only HmacSHA256 is supported (Kafka's default); other
//! algorithms are refused in the worker config.

use base64::Engine;
use hmac::{KeyInit, Mac};

use crate::config_log::SessionKey;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The MAC algorithm sluice computes, by its Java name.
pub const HMAC_SHA256: &str = "HmacSHA256";
/// The header carrying the Base64 MAC of the body.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// The header naming the MAC algorithm.
pub const ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";
/// HmacSHA256's key size, in bytes (Java's KeyGenerator default: 256 bits).
const KEY_BYTES: usize = 32;

/// Why an internal request is refused, with Kafka's status code ([`SignatureError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Internal request missing required signature")]
    Missing,
    #[error("Internal request signature algorithm {0} is not one of inter.worker.verification.algorithms")]
    Algorithm(String),
    #[error("This worker has not read a session key yet; the request cannot be checked")]
    NoKey,
    #[error("Internal request contained invalid signature.")]
    Invalid,
}

impl SignatureError {
    pub fn status(&self) -> u16 {
        match self {
            SignatureError::Missing | SignatureError::Algorithm(_) => 400,
            SignatureError::NoKey => 503,
            SignatureError::Invalid => 403,
        }
    }
}

/// A new random session key, created now (`now_ms`).
pub fn new_key(now_ms: i64) -> Result<SessionKey, getrandom::Error> {
    let mut key = vec![0u8; KEY_BYTES];
    getrandom::fill(&mut key)?;
    Ok(SessionKey { key, algorithm: HMAC_SHA256.into(), created_ms: now_ms })
}

/// Whether the leader writes a new key: none yet, expired after `ttl_ms`, or not the configured
/// algorithm and size.
pub fn needs_new_key(current: Option<&SessionKey>, now_ms: i64, ttl_ms: i64) -> bool {
    match current {
        None => true,
        Some(k) => {
            k.created_ms.saturating_add(ttl_ms) <= now_ms || k.algorithm != HMAC_SHA256 || k.key.len() != KEY_BYTES
        }
    }
}

/// The `X-Connect-Authorization` value for `body`: standard Base64 of its HmacSHA256.
pub fn sign(key: &SessionKey, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(&key.key).expect("HMAC takes any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a request's signature headers against `body` (constant-time MAC comparison).
pub fn verify(
    signature: Option<&str>,
    algorithm: Option<&str>,
    body: &[u8],
    key: Option<&SessionKey>,
    accepted: &[String],
) -> Result<(), SignatureError> {
    let (Some(signature), Some(algorithm)) = (signature, algorithm) else { return Err(SignatureError::Missing) };
    if !accepted.iter().any(|a| a == algorithm) || algorithm != HMAC_SHA256 {
        return Err(SignatureError::Algorithm(algorithm.to_owned()));
    }
    let key = key.ok_or(SignatureError::NoKey)?;
    let given = base64::engine::general_purpose::STANDARD.decode(signature).map_err(|_| SignatureError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(&key.key).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bytes: Vec<u8>) -> SessionKey {
        SessionKey { key: bytes, algorithm: HMAC_SHA256.into(), created_ms: 0 }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 1
        let signed = sign(&key(vec![0x0b; 20]), b"Hi There");
        let bytes = base64::engine::general_purpose::STANDARD.decode(&signed).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }

    #[test]
    fn verification_answers_kafkas_codes() {
        let k = new_key(1_000).unwrap();
        assert_eq!(k.key.len(), 32);
        let body = br#"[{"task.class":"x"}]"#;
        let accepted = vec![HMAC_SHA256.to_owned()];
        let signature = sign(&k, body);
        assert_eq!(verify(Some(&signature), Some(HMAC_SHA256), body, Some(&k), &accepted), Ok(()));
        let check = |sig: Option<&str>, alg: Option<&str>, body: &[u8], key: Option<&SessionKey>| {
            verify(sig, alg, body, key, &accepted).map_err(|e| e.status())
        };
        assert_eq!(check(None, Some(HMAC_SHA256), body, Some(&k)), Err(400));
        assert_eq!(check(Some(&signature), Some("HmacSHA1"), body, Some(&k)), Err(400));
        assert_eq!(check(Some(&signature), Some(HMAC_SHA256), body, None), Err(503));
        assert_eq!(check(Some(&signature), Some(HMAC_SHA256), b"[]", Some(&k)), Err(403), "another body");
        let other = new_key(1_000).unwrap();
        assert_eq!(check(Some(&signature), Some(HMAC_SHA256), body, Some(&other)), Err(403), "another key");
        assert_eq!(check(Some("not base64!"), Some(HMAC_SHA256), body, Some(&k)), Err(403));
    }

    #[test]
    fn keys_rotate_after_their_ttl() {
        let k = new_key(1_000).unwrap();
        assert!(needs_new_key(None, 0, 3_600_000));
        assert!(!needs_new_key(Some(&k), 3_600_999, 3_600_000));
        assert!(needs_new_key(Some(&k), 3_601_000, 3_600_000));
        let short = SessionKey { key: vec![1; 16], ..k };
        assert!(needs_new_key(Some(&short), 1_000, 3_600_000), "not the configured size");
    }
}
