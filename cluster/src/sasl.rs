//! SASL for the group membership client, from the same librdkafka settings the worker's other
//! clients got (`sasl.mechanisms`, `sasl.username`, `sasl.password`, `sasl.oauthbearer.config`):
//! PLAIN (RFC 4616), SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) and OAUTHBEARER
//! (RFC 7628's client response) with the Amazon MSK IAM token sluice signs, a token from an OIDC
//! token endpoint (client credentials) or Kafka's unsecured tokens, with
//! `sasl.oauthbearer.extensions`. The exchange itself (SaslHandshake, SaslAuthenticate) is in
//! [`crate::wire`].

use base64::Engine;
use hmac::{EagerHash, KeyInit, Mac};
use runtime::worker::{MskIam, TokenSource};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How the group client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sasl {
    Plain {
        user: String,
        password: String,
    },
    Scram {
        sha512: bool,
        user: String,
        password: String,
    },
    MskIam(MskIam),
    /// OAUTHBEARER with a token from an OIDC endpoint or an unsecured one, and SASL extensions.
    Token {
        source: TokenSource,
        extensions: Vec<(String, String)>,
    },
}

impl Sasl {
    /// From a librdkafka client's settings: `Ok(None)` without SASL, `Err` with the reason
    /// when the mechanism is one only librdkafka speaks.
    pub fn from_librdkafka(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Sasl>, String> {
        let protocol = get("security.protocol").unwrap_or_default().to_ascii_lowercase();
        if !protocol.starts_with("sasl") {
            return Ok(None);
        }
        let mechanism = get("sasl.mechanisms").unwrap_or_else(|| "GSSAPI".into()).to_ascii_uppercase();
        let credentials = || (get("sasl.username").unwrap_or_default(), get("sasl.password").unwrap_or_default());
        let sasl = match mechanism.as_str() {
            "PLAIN" => {
                let (user, password) = credentials();
                Sasl::Plain { user, password }
            }
            "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                let (user, password) = credentials();
                Sasl::Scram { sha512: mechanism.ends_with("512"), user, password }
            }
            "OAUTHBEARER" => match get("sasl.oauthbearer.config").as_deref().and_then(MskIam::from_config) {
                Some(msk) => Sasl::MskIam(msk),
                None => match TokenSource::from_librdkafka(get) {
                    Some(source) => Sasl::Token { source, extensions: runtime::worker::oauthbearer_extensions(get) },
                    None => {
                        return Err("OAUTHBEARER needs sasl.oauthbearer.token.endpoint.url with clientId and \
                                    clientSecret in sasl.jaas.config, or unsecuredLoginStringClaim_sub"
                            .into())
                    }
                },
            },
            other => return Err(format!("sasl.mechanism {other} is not in the distributed group client")),
        };
        Ok(Some(sasl))
    }

    /// Kafka's name of the mechanism, for SaslHandshake.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Sasl::Plain { .. } => "PLAIN",
            Sasl::Scram { sha512: false, .. } => "SCRAM-SHA-256",
            Sasl::Scram { sha512: true, .. } => "SCRAM-SHA-512",
            Sasl::MskIam(_) | Sasl::Token { .. } => "OAUTHBEARER",
        }
    }
}

/// PLAIN's one message: no authorization id, the user, the password.
pub fn plain_message(user: &str, password: &str) -> Vec<u8> {
    [b"\0", user.as_bytes(), b"\0", password.as_bytes()].concat()
}

/// OAUTHBEARER's client response carrying `token` and the SASL extensions (RFC 7628 §3.1, no
/// authorization id).
pub fn oauthbearer_message(token: &str, extensions: &[(String, String)]) -> Vec<u8> {
    let mut message = format!("n,,\x01auth=Bearer {token}\x01");
    for (k, v) in extensions {
        message.push_str(&format!("{k}={v}\x01"));
    }
    message.push('\x01');
    message.into_bytes()
}

/// Why a SCRAM exchange stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("the server's first message is not SCRAM's: {0}")]
    Malformed(String),
    #[error("the server's nonce does not extend the client's")]
    Nonce,
    #[error("the server refused: {0}")]
    Refused(String),
    #[error("the server's signature is wrong (it does not know the password: not the broker it claims to be)")]
    ServerSignature,
}

/// One SCRAM exchange on the client side.
pub struct Scram {
    sha512: bool,
    password: String,
    nonce: String,
    first_bare: String,
    server_signature: Option<Vec<u8>>,
}

impl Scram {
    /// A new exchange for `user`, with a random nonce.
    pub fn new(sha512: bool, user: &str, password: &str) -> Scram {
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).expect("the system's random source");
        Scram::with_nonce(sha512, user, password, &B64.encode(raw))
    }

    fn with_nonce(sha512: bool, user: &str, password: &str, nonce: &str) -> Scram {
        // RFC 5802 §5.1: ',' and '=' in the name are escaped
        let name = user.replace('=', "=3D").replace(',', "=2C");
        Scram {
            sha512,
            password: password.to_owned(),
            nonce: nonce.to_owned(),
            first_bare: format!("n={name},r={nonce}"),
            server_signature: None,
        }
    }

    /// The client's first message (no channel binding, no authorization id).
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// The client's final message, answering the server's first.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        let text = String::from_utf8_lossy(server_first).into_owned();
        let attr = |name: &str| {
            text.split(',').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('='))).map(str::to_owned)
        };
        if let Some(e) = attr("e") {
            return Err(ScramError::Refused(e));
        }
        let malformed = || ScramError::Malformed(text.clone());
        let nonce = attr("r").ok_or_else(malformed)?;
        let salt = attr("s").and_then(|s| B64.decode(s).ok()).ok_or_else(malformed)?;
        let iterations: u32 = attr("i").and_then(|i| i.parse().ok()).filter(|i| *i > 0).ok_or_else(malformed)?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::Nonce);
        }
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let (proof, server) = if self.sha512 {
            proofs::<sha2::Sha512>(&self.password, &salt, iterations, &auth_message)
        } else {
            proofs::<sha2::Sha256>(&self.password, &salt, iterations, &auth_message)
        };
        self.server_signature = Some(server);
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message.
    pub fn verify(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(ScramError::Refused(e.to_owned()));
        }
        let given = text.strip_prefix("v=").and_then(|v| B64.decode(v.trim()).ok());
        match (given, &self.server_signature) {
            (Some(given), Some(expected)) if &given == expected => Ok(()),
            _ => Err(ScramError::ServerSignature),
        }
    }
}

/// The client proof and the server signature expected (RFC 5802 §3).
fn proofs<D: EagerHash>(password: &str, salt: &[u8], iterations: u32, auth_message: &str) -> (Vec<u8>, Vec<u8>) {
    let mut salted = vec![0u8; <D as hmac::digest::OutputSizeUser>::output_size()];
    pbkdf2::pbkdf2_hmac::<D>(password.as_bytes(), salt, iterations, &mut salted);
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = D::digest(&client_key).to_vec();
    let client_signature = hmac(&stored_key, auth_message.as_bytes());
    let proof = client_key.iter().zip(&client_signature).map(|(a, b)| a ^ b).collect();
    let server_key = hmac(&salted, b"Server Key");
    (proof, hmac(&server_key, auth_message.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3's example exchange, byte for byte.
    #[test]
    fn scram_sha_256_follows_rfc_7677() {
        let mut scram = Scram::with_nonce(false, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(scram.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = scram.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        scram.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert_eq!(scram.verify(b"v=AAAA"), Err(ScramError::ServerSignature));
    }

    #[test]
    fn a_server_that_does_not_extend_the_nonce_or_refuses_is_stopped() {
        let mut scram = Scram::with_nonce(true, "a,b=c", "pw", "abc");
        assert_eq!(scram.client_first(), b"n,,n=a=2Cb=3Dc,r=abc");
        assert_eq!(scram.client_final(b"r=xyz123,s=AAAA,i=4096"), Err(ScramError::Nonce));
        assert_eq!(scram.client_final(b"e=unknown-user"), Err(ScramError::Refused("unknown-user".into())));
        assert!(matches!(scram.client_final(b"r=abcdef,i=4096"), Err(ScramError::Malformed(_))));
        assert!(scram.client_final(b"r=abcdef,s=AAAA,i=4096").is_ok());
    }

    #[test]
    fn mechanisms_come_from_librdkafka_settings() {
        let settings = |pairs: &'static [(&str, &str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
        };
        let plain = settings(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]);
        assert_eq!(Sasl::from_librdkafka(&plain), Ok(Some(Sasl::Plain { user: "u".into(), password: "p".into() })));
        let none = settings(&[("security.protocol", "ssl")]);
        assert_eq!(Sasl::from_librdkafka(&none), Ok(None));
        let bare = settings(&[("security.protocol", "sasl_ssl"), ("sasl.mechanisms", "OAUTHBEARER")]);
        assert!(Sasl::from_librdkafka(&bare).unwrap_err().contains("sasl.oauthbearer.token.endpoint.url"));
        let unsecured = settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=alice"),
            ("sasl.oauthbearer.extensions", "a=1"),
        ]);
        assert_eq!(
            Sasl::from_librdkafka(&unsecured),
            Ok(Some(Sasl::Token {
                source: TokenSource::Unsecured { principal: "alice".into(), scope: vec![] },
                extensions: vec![("a".into(), "1".into())],
            }))
        );
        assert_eq!(plain_message("u", "p"), b"\0u\0p");
        assert_eq!(oauthbearer_message("t", &[]), b"n,,\x01auth=Bearer t\x01\x01");
        let with = [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())];
        assert_eq!(oauthbearer_message("t", &with), b"n,,\x01auth=Bearer t\x01a=1\x01b=2\x01\x01");
    }
}
