//! The REST listener's security, from Kafka's keys: `listeners=https://…` with the
//! `listeners.https.`-prefixed SSL keys (all or nothing, as Kafka's
//! `valuesWithPrefixAllOrNothing`) or else the worker's own `ssl.*`, `ssl.client.auth`
//! (none, requested, required) for mutual TLS; and HTTP basic authentication as Kafka's
//! `BasicAuthSecurityRestExtension` (`rest.extension.classes`), its users from the JAAS file named
//! by `-Djava.security.auth.login.config=` in `KAFKA_OPTS`: the `KafkaConnect` entry's
//! `PropertyFileLoginModule` and its `file` of `user=password` lines.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::reader::{ConfigReader, Password};
use crate::tls::{self, Identity, StoreSource, StoreType};

pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
const PROPERTY_FILE_MODULE: &str = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";

/// Who may call the API: user names and passwords. Empty: everyone, as Kafka's module treats an
/// empty file.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuthUsers(BTreeMap<String, Password>);

impl std::fmt::Debug for BasicAuthUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl BasicAuthUsers {
    /// Whether an `Authorization` header's value names a user with its password.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        use base64::Engine;
        if self.0.is_empty() {
            return true;
        }
        let Some((scheme, encoded)) = authorization.and_then(|a| a.split_once(' ')) else { return false };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let decoded = String::from_utf8_lossy(&decoded);
        let Some((user, password)) = decoded.split_once(':').filter(|(u, _)| !u.is_empty()) else { return false };
        self.0.get(user).is_some_and(|p| p.expose() == password)
    }
}

/// The REST listener's TLS and authentication.
#[derive(Debug, Clone, Default)]
pub struct RestSecurity {
    /// Set when the listener is `https://`.
    pub server_tls: Option<Arc<rustls::ServerConfig>>,
    /// For requests to other workers over `https://` (forwarding, task configs), when the
    /// worker has REST keys of its own; `None`: the system's CAs, with host names checked.
    pub client_tls: Option<Arc<rustls::ClientConfig>>,
    /// Set with `BasicAuthSecurityRestExtension`.
    pub users: Option<Arc<BasicAuthUsers>>,
    /// Where `/admin` is served (`admin.listeners`).
    pub admin: AdminListener,
}

/// `admin.listeners`, as Kafka's `RestServer`: unset, the admin endpoints (`/admin/loggers`)
/// are on the regular listener; blank, they are off; a URL, they are served there only, over
/// HTTPS with the `admin.listeners.https.`-prefixed SSL keys (else the worker's `ssl.*`), and,
/// as in Kafka, without the REST extensions (basic authentication) of the regular listener.
#[derive(Debug, Clone, Default)]
pub enum AdminListener {
    #[default]
    Shared,
    Disabled,
    Own {
        addr: std::net::SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    },
}

/// Reads the listener's security; `https` when `listeners` names an `https://` URL.
pub(crate) fn parse(reader: &mut ConfigReader<'_>, https: bool) -> RestSecurity {
    let users = basic_auth(reader);
    let (prefix, ssl) = ssl_keys(reader, "listeners.https.");
    // read once: both sides use them (the client side for mutual TLS to other workers)
    let identity = identity(reader, prefix, &ssl);
    let roots = roots(reader, prefix, &ssl);
    let verify_host = ssl.get("ssl.endpoint.identification.algorithm").is_none_or(|v| !v.trim().is_empty());
    // with no keys of its own the client trusts the system's CAs, read when first needed
    // (`rest::client`): most workers never make an `https://` request to another
    let own_keys = roots.is_some() || identity.is_some() || !verify_host;
    let client_tls = own_keys
        .then(|| {
            let identity = identity.as_ref().map(|id| Identity { chain: id.chain.clone(), key: id.key.clone_key() });
            tls::ClientTls { roots: roots.clone(), identity, verify_host }.rustls().ok()
        })
        .flatten();
    let server_tls = if https { server_tls(reader, prefix, &ssl, identity, roots) } else { None };
    let admin = admin_listener(reader);
    RestSecurity { server_tls, client_tls, users, admin }
}

/// The listener's SSL keys: all under `listener_prefix` when any `ssl.` key is there (all or
/// nothing, as Kafka), else the worker's own; answers the prefix used.
fn ssl_keys(
    reader: &mut ConfigReader<'_>,
    listener_prefix: &'static str,
) -> (&'static str, BTreeMap<&'static str, String>) {
    let prefixed = reader.prefixed(listener_prefix);
    let prefix = if prefixed.keys().any(|k| k.starts_with("ssl.")) { listener_prefix } else { "" };
    let mut ssl = BTreeMap::new();
    for key in super::client_security::STORE_KEYS.iter().chain(&["ssl.client.auth"]) {
        if let Some(v) = reader.string(&format!("{prefix}{key}")) {
            ssl.insert(*key, v);
        }
    }
    (prefix, ssl)
}

fn admin_listener(reader: &mut ConfigReader<'_>) -> AdminListener {
    match super::worker::listener_url(reader, "admin.listeners") {
        None => AdminListener::Shared,
        Some(None) => AdminListener::Disabled,
        Some(Some((addr, false))) => AdminListener::Own { addr, tls: None },
        Some(Some((addr, true))) => {
            let (prefix, ssl) = ssl_keys(reader, "admin.listeners.https.");
            let identity = identity(reader, prefix, &ssl);
            let roots = roots(reader, prefix, &ssl);
            AdminListener::Own { addr, tls: server_tls(reader, prefix, &ssl, identity, roots) }
        }
    }
}

fn store_type(reader: &mut ConfigReader<'_>, key: &str, value: Option<&String>) -> Option<StoreType> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Some(StoreType::Jks),
        Some(v) => StoreType::parse(v).or_else(|| {
            reader.invalid(key, StoreType::EXPECTED, v);
            None
        }),
    }
}

fn non_blank<'a>(ssl: &'a BTreeMap<&str, String>, key: &str) -> Option<&'a str> {
    ssl.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The key store (the listener's certificate, and the client's for mutual TLS to other workers).
fn identity(reader: &mut ConfigReader<'_>, prefix: &str, ssl: &BTreeMap<&str, String>) -> Option<Identity> {
    let kind = store_type(reader, &format!("{prefix}ssl.keystore.type"), ssl.get("ssl.keystore.type"))?;
    let password = non_blank(ssl, "ssl.keystore.password");
    let key_password = non_blank(ssl, "ssl.key.password");
    let result = match (non_blank(ssl, "ssl.keystore.location"), non_blank(ssl, "ssl.keystore.certificate.chain")) {
        (Some(path), _) => tls::identity(kind, StoreSource::File(Path::new(path)), password, key_password),
        (None, Some(chain)) => {
            let key = StoreSource::Inline(non_blank(ssl, "ssl.keystore.key")?);
            tls::pem_identity(StoreSource::Inline(chain), key, key_password)
        }
        (None, None) => return None,
    };
    result.map_err(|e| store_error(reader, prefix, "keystore", non_blank(ssl, "ssl.keystore.location"), e)).ok()
}

fn roots(
    reader: &mut ConfigReader<'_>,
    prefix: &str,
    ssl: &BTreeMap<&str, String>,
) -> Option<Vec<tls::CertificateDer<'static>>> {
    let kind = store_type(reader, &format!("{prefix}ssl.truststore.type"), ssl.get("ssl.truststore.type"))?;
    let password = non_blank(ssl, "ssl.truststore.password");
    let result = match (non_blank(ssl, "ssl.truststore.location"), non_blank(ssl, "ssl.truststore.certificates")) {
        (Some(path), _) => tls::trusted_certs(kind, StoreSource::File(Path::new(path)), password),
        (None, Some(pem)) => tls::trusted_certs(StoreType::Pem, StoreSource::Inline(pem), None),
        (None, None) => return None,
    };
    result.map_err(|e| store_error(reader, prefix, "truststore", non_blank(ssl, "ssl.truststore.location"), e)).ok()
}

fn store_error(reader: &mut ConfigReader<'_>, prefix: &str, store: &str, path: Option<&str>, e: tls::StoreError) {
    let store_path = path.unwrap_or("the store");
    match e {
        tls::StoreError::WrongPassword | tls::StoreError::PasswordRequired | tls::StoreError::WrongKeyPassword => {
            let key = format!("{prefix}ssl.{store}.password");
            reader.invalid(&key, format!("the password of {store_path} ({e})"), "[hidden]")
        }
        e => reader.invalid(&format!("{prefix}ssl.{store}.location"), "a readable store of ssl.*.type", e.to_string()),
    }
}

fn server_tls(
    reader: &mut ConfigReader<'_>,
    prefix: &str,
    ssl: &BTreeMap<&str, String>,
    identity: Option<Identity>,
    roots: Option<Vec<tls::CertificateDer<'static>>>,
) -> Option<Arc<rustls::ServerConfig>> {
    let Some(identity) = identity else {
        // a store that is set but unreadable has its own error already
        if non_blank(ssl, "ssl.keystore.location").is_none()
            && non_blank(ssl, "ssl.keystore.certificate.chain").is_none()
        {
            reader.missing(
                &format!("{prefix}ssl.keystore.location"),
                "the HTTPS listener's certificate and key (a key store)",
            );
        }
        return None;
    };
    let client_auth_key = format!("{prefix}ssl.client.auth");
    let client_auth = non_blank(ssl, "ssl.client.auth").unwrap_or("none").to_ascii_lowercase();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().ok()?;
    let builder = match client_auth.as_str() {
        "none" => builder.with_no_client_auth(),
        "requested" | "required" => {
            let Some(roots) = roots else {
                reader.missing(
                    &format!("{prefix}ssl.truststore.location"),
                    "the CAs that sign the clients' certificates (ssl.client.auth)",
                );
                return None;
            };
            let mut store = rustls::RootCertStore::empty();
            for r in roots {
                let _ = store.add(r);
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider);
            let verifier = if client_auth == "requested" { verifier.allow_unauthenticated() } else { verifier };
            match verifier.build() {
                Ok(v) => builder.with_client_cert_verifier(v),
                Err(e) => {
                    reader.invalid(
                        &format!("{prefix}ssl.truststore.location"),
                        "usable CA certificates",
                        e.to_string(),
                    );
                    return None;
                }
            }
        }
        other => {
            reader.invalid(&client_auth_key, "none, requested or required", other);
            return None;
        }
    };
    match builder.with_single_cert(identity.chain, identity.key) {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(config))
        }
        Err(e) => {
            reader.invalid(
                &format!("{prefix}ssl.keystore.location"),
                "a certificate and key rustls can serve",
                e.to_string(),
            );
            None
        }
    }
}

/// `rest.extension.classes`: Kafka's basic-auth extension is built in; any other class cannot run.
fn basic_auth(reader: &mut ConfigReader<'_>) -> Option<Arc<BasicAuthUsers>> {
    let classes = reader.list("rest.extension.classes");
    let mut users = None;
    for class in classes {
        if class != BASIC_AUTH_EXTENSION {
            reader.invalid(
                "rest.extension.classes",
                format!("{BASIC_AUTH_EXTENSION} (built in; other Java extensions cannot run in sluice)"),
                class.as_str(),
            );
            continue;
        }
        match users_from_kafka_opts(std::env::var("KAFKA_OPTS").ok().as_deref()) {
            Ok(u) => users = Some(Arc::new(u)),
            Err(why) => reader.invalid(
                "rest.extension.classes",
                format!("{BASIC_AUTH_EXTENSION} with its users: {why}"),
                class.as_str(),
            ),
        }
    }
    users
}

/// The users of the `KafkaConnect` JAAS entry named by `KAFKA_OPTS`.
pub fn users_from_kafka_opts(kafka_opts: Option<&str>) -> Result<BasicAuthUsers, String> {
    const PROPERTY: &str = "-Djava.security.auth.login.config=";
    let path = kafka_opts
        .and_then(|opts| opts.split_whitespace().find_map(|a| a.strip_prefix(PROPERTY)))
        .map(|p| p.trim_matches(['"', '\'']))
        .ok_or_else(|| format!("set KAFKA_OPTS=\"{PROPERTY}<JAAS file>\" as for Kafka Connect"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the JAAS file {path}: {e}"))?;
    let entries = super::jaas::parse_file(&text).map_err(|e| format!("the JAAS file {path}: {e}"))?;
    let modules = entries
        .into_iter()
        .find(|(name, _)| name == "KafkaConnect")
        .map(|(_, m)| m)
        .ok_or_else(|| format!("the JAAS file {path} has no KafkaConnect entry"))?;
    let module = modules
        .iter()
        .find(|m| m.class == PROPERTY_FILE_MODULE)
        .ok_or_else(|| format!("the KafkaConnect entry of {path} has no {PROPERTY_FILE_MODULE}"))?;
    let file =
        module.options.get("file").ok_or_else(|| format!("{PROPERTY_FILE_MODULE} in {path} has no file option"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read the users file {file}: {e}"))?;
    let lines = super::properties::parse(&text).map_err(|e| format!("the users file {file}: {e}"))?;
    Ok(BasicAuthUsers(lines.into_iter().map(|p| (p.key, Password::new(p.value))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn basic(user_password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password))
    }

    #[test]
    fn users_from_the_jaas_file_kafka_opts_names() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("connect.password");
        std::fs::write(&users, "# users\nalice: alice-secret\nbob=b:o:b\n").unwrap();
        let jaas = dir.path().join("connect_jaas.conf");
        std::fs::write(
            &jaas,
            format!("KafkaConnect {{\n {PROPERTY_FILE_MODULE} required\n file=\"{}\";\n}};\n", users.display()),
        )
        .unwrap();
        let opts = format!("-Xmx256m -Djava.security.auth.login.config={}", jaas.display());
        let u = users_from_kafka_opts(Some(&opts)).unwrap();
        assert!(u.admits(Some(&basic("alice:alice-secret"))));
        assert!(u.admits(Some(&basic("bob:b:o:b"))), "the password is everything after the first colon");
        assert!(!u.admits(Some(&basic("alice:wrong"))));
        assert!(!u.admits(Some(&basic("carol:alice-secret"))));
        assert!(!u.admits(None));
        assert!(!u.admits(Some("Bearer x")));
        assert!(!format!("{u:?}").contains("secret"), "passwords stay out of Debug");
        assert!(users_from_kafka_opts(None).unwrap_err().contains("KAFKA_OPTS"));
        let e = users_from_kafka_opts(Some("-Djava.security.auth.login.config=/no/such.conf")).unwrap_err();
        assert!(e.contains("/no/such.conf"), "{e}");
    }

    #[test]
    fn an_empty_users_file_admits_everyone_as_kafkas_module() {
        assert!(BasicAuthUsers(BTreeMap::new()).admits(None));
    }
}
