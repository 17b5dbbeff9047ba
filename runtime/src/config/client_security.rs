//! Kafka client security from Java's keys: `security.protocol`, `ssl.*` and `sasl.*` as a Java
//! client reads them, turned into librdkafka's settings once, when the file is read. Stores are
//! read then (JKS natively, PKCS12, PEM) and handed to librdkafka as PEM text, so a wrong path or
//! password is an error at start with the key and its line, not a handshake failure later.
//! Keys librdkafka cannot honour are refused with the reason; none is silently dropped.
//! As Java's clients, `ssl.*` is unused without SSL and `sasl.*` without SASL.

use std::collections::BTreeMap;
use std::path::Path;

use super::jaas;
use super::reader::ConfigReader;
use crate::tls::{self, StoreSource, StoreType};

/// A key that cannot be used, in the reader's `expected …, got …` shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub expected: String,
    pub got: String,
}

fn problem(key: &str, expected: impl Into<String>, got: impl Into<String>) -> Problem {
    Problem { key: key.to_owned(), expected: expected.into(), got: got.into() }
}

const PROTOCOLS: &str = "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL";
const MECHANISMS: &str = "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, AWS_MSK_IAM";
const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";
const OAUTH_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const MSK_IAM_MODULE: &str = "software.amazon.msk.auth.iam.IAMLoginModule";
const MSK_IAM_HANDLER: &str = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
const OAUTH_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

/// The key and trust store keys (Kafka's `SslConfigs`), shared with the REST listener's.
pub(crate) const STORE_KEYS: &[&str] = &[
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
];

/// The other Java `ssl.*` keys read here (all are removed from the map librdkafka gets).
const SSL_KEYS: &[&str] = &[
    "ssl.enabled.protocols",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
];
const SASL_KEYS: &[&str] = &[
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.login.class",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
];

/// Every Java security key this module reads, for the worker's top-level keys.
pub fn java_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once("security.protocol")
        .chain(STORE_KEYS.iter().copied())
        .chain(SSL_KEYS.iter().copied())
        .chain(SASL_KEYS.iter().copied())
}

/// Replaces the Java security keys in `settings` (one client's keys, prefix removed) with
/// librdkafka's. On a problem the map is left as it was.
pub fn translate(settings: &mut BTreeMap<String, String>) -> Result<(), Vec<Problem>> {
    let java = |k: &str| settings.get(k).map(String::as_str);
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let protocol = java("security.protocol").map(|p| p.trim().to_ascii_uppercase());
    let (ssl, sasl) = match protocol.as_deref() {
        None | Some("PLAINTEXT") => (false, false),
        Some("SSL") => (true, false),
        Some("SASL_PLAINTEXT") => (false, true),
        Some("SASL_SSL") => (true, true),
        Some(_) => {
            return Err(vec![problem("security.protocol", PROTOCOLS, java("security.protocol").unwrap_or_default())])
        }
    };
    if let Some(p) = &protocol {
        out.insert("security.protocol".to_owned(), p.to_ascii_lowercase());
    }
    if ssl {
        ssl_settings(&java, &mut out, &mut problems);
    }
    if sasl {
        sasl_settings(&java, &mut out, &mut problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    for key in java_keys() {
        settings.remove(key);
    }
    settings.extend(out);
    Ok(())
}

type Lookup<'a> = dyn Fn(&str) -> Option<&'a str> + 'a;

fn non_blank<'a>(java: &Lookup<'a>, key: &str) -> Option<&'a str> {
    java(key).map(str::trim).filter(|v| !v.is_empty())
}

fn store_type(java: &Lookup<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<StoreType> {
    match non_blank(java, key) {
        None => Some(StoreType::Jks),
        Some(v) => StoreType::parse(v).or_else(|| {
            problems.push(problem(key, StoreType::EXPECTED, v));
            None
        }),
    }
}

fn ssl_settings(java: &Lookup<'_>, out: &mut BTreeMap<String, String>, problems: &mut Vec<Problem>) {
    trust_store(java, out, problems);
    key_store(java, out, problems);
    let algorithm = java("ssl.endpoint.identification.algorithm").map(str::trim);
    match algorithm {
        None => {
            out.insert("ssl.endpoint.identification.algorithm".into(), "https".into());
        }
        Some("") => {
            out.insert("ssl.endpoint.identification.algorithm".into(), "none".into());
        }
        Some(a) if a.eq_ignore_ascii_case("https") => {
            out.insert("ssl.endpoint.identification.algorithm".into(), "https".into());
        }
        Some(a) => {
            problems.push(problem("ssl.endpoint.identification.algorithm", "https, or empty for no host name check", a))
        }
    }
    if let Some(list) = non_blank(java, "ssl.enabled.protocols") {
        let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case("TLSv1.2") || n.eq_ignore_ascii_case("TLSv1.3")) {
            problems.push(problem(
                "ssl.enabled.protocols",
                "a list with TLSv1.2 or TLSv1.3 (sluice's Kafka clients speak TLS 1.2 and 1.3 only)",
                list,
            ));
        }
    }
    if let Some(p) = non_blank(java, "ssl.protocol") {
        if !["TLS", "TLSV1.2", "TLSV1.3"].contains(&p.to_ascii_uppercase().as_str()) {
            problems.push(problem("ssl.protocol", "TLS, TLSv1.2 or TLSv1.3", p));
        }
    }
    for (key, why) in [
        ("ssl.cipher.suites", "no value (Java's suite names are not OpenSSL's; sluice uses OpenSSL's defaults)"),
        ("ssl.provider", "no value (sluice's Kafka clients use OpenSSL)"),
        ("ssl.engine.factory.class", "no value (a Java class cannot run in sluice)"),
    ] {
        if let Some(v) = non_blank(java, key) {
            problems.push(problem(key, why, v));
        }
    }
    for (key, default) in [("ssl.keymanager.algorithm", "SunX509"), ("ssl.trustmanager.algorithm", "PKIX")] {
        if let Some(v) = non_blank(java, key) {
            if !v.eq_ignore_ascii_case(default) && !v.eq_ignore_ascii_case("PKIX") {
                problems.push(problem(key, format!("{default} (the only one sluice has)"), v));
            }
        }
    }
}

fn trust_store(java: &Lookup<'_>, out: &mut BTreeMap<String, String>, problems: &mut Vec<Problem>) {
    let Some(kind) = store_type(java, "ssl.truststore.type", problems) else { return };
    let location = non_blank(java, "ssl.truststore.location");
    let inline = non_blank(java, "ssl.truststore.certificates");
    let (source, key) = match (location, inline) {
        (None, None) => return, // the system's CAs, as Java's default trust store
        (Some(path), None) => (StoreSource::File(Path::new(path)), "ssl.truststore.location"),
        (None, Some(pem)) if kind == StoreType::Pem => (StoreSource::Inline(pem), "ssl.truststore.certificates"),
        (None, Some(_)) => {
            return problems.push(problem(
                "ssl.truststore.type",
                "PEM with ssl.truststore.certificates",
                "JKS or PKCS12",
            ))
        }
        (Some(_), Some(_)) => {
            return problems.push(problem(
                "ssl.truststore.certificates",
                "no value when ssl.truststore.location is set",
                "a value",
            ))
        }
    };
    let password = java("ssl.truststore.password").filter(|p| !p.is_empty());
    match tls::trusted_certs(kind, source, password) {
        Ok(certs) => {
            out.insert("ssl.ca.pem".into(), tls::to_pem_certs(&certs));
        }
        Err(e) => problems.push(store_problem(key, "ssl.truststore.password", location, &e)),
    }
}

fn key_store(java: &Lookup<'_>, out: &mut BTreeMap<String, String>, problems: &mut Vec<Problem>) {
    let Some(kind) = store_type(java, "ssl.keystore.type", problems) else { return };
    let location = non_blank(java, "ssl.keystore.location");
    let chain = non_blank(java, "ssl.keystore.certificate.chain");
    let key = non_blank(java, "ssl.keystore.key");
    let store_password = java("ssl.keystore.password").filter(|p| !p.is_empty());
    let key_password = java("ssl.key.password").filter(|p| !p.is_empty());
    let (identity, at) = match (location, chain, key) {
        (None, None, None) => return,
        (Some(path), None, None) => {
            if kind == StoreType::Pem && key_password.is_some() {
                // an encrypted PEM key file: librdkafka decrypts it itself
                if let Ok(text) = std::fs::read_to_string(path) {
                    if tls::is_encrypted_pem_key(&text) {
                        out.insert("ssl.certificate.location".into(), path.to_owned());
                        out.insert("ssl.key.location".into(), path.to_owned());
                        out.insert("ssl.key.password".into(), key_password.unwrap_or_default().to_owned());
                        return;
                    }
                }
            }
            (
                tls::identity(kind, StoreSource::File(Path::new(path)), store_password, key_password),
                "ssl.keystore.location",
            )
        }
        (None, Some(chain), Some(key)) if kind == StoreType::Pem => {
            if tls::is_encrypted_pem_key(key) {
                out.insert("ssl.certificate.pem".into(), chain.to_owned());
                out.insert("ssl.key.pem".into(), key.to_owned());
                out.insert("ssl.key.password".into(), key_password.unwrap_or_default().to_owned());
                return;
            }
            (tls::pem_identity(StoreSource::Inline(chain), StoreSource::Inline(key), key_password), "ssl.keystore.key")
        }
        _ => return problems.push(problem(
            "ssl.keystore.location",
            "a key store file, or ssl.keystore.type=PEM with both ssl.keystore.certificate.chain and ssl.keystore.key",
            "another combination",
        )),
    };
    match identity {
        Ok(id) => {
            out.insert("ssl.certificate.pem".into(), tls::to_pem_certs(&id.chain));
            out.insert("ssl.key.pem".into(), tls::to_pem_key(&id.key));
        }
        Err(tls::StoreError::WrongKeyPassword) => {
            let key = if key_password.is_some() { "ssl.key.password" } else { "ssl.keystore.password" };
            problems.push(problem(
                key,
                format!("the password of the private key in {}", location.unwrap_or("the key store")),
                "[hidden]",
            ))
        }
        Err(e) => problems.push(store_problem(at, "ssl.keystore.password", location, &e)),
    }
}

/// A store that could not be read, against the key to change: the password key when the
/// password is wrong or missing (its value shown as `[hidden]`), else the store's own key.
fn store_problem(key: &str, password_key: &str, path: Option<&str>, e: &tls::StoreError) -> Problem {
    let store = path.unwrap_or("the store");
    match e {
        tls::StoreError::WrongPassword => problem(
            password_key,
            format!("the password of {store} (its integrity check failed with this one)"),
            "[hidden]",
        ),
        tls::StoreError::PasswordRequired => {
            problem(password_key, format!("the password of {store} ({e})"), "no value")
        }
        tls::StoreError::Read { .. } => problem(key, "a readable store file", e.to_string()),
        _ => problem(key, "a store of the given type (ssl.*.type, JKS when unset)", format!("{store}: {e}")),
    }
}

fn sasl_settings(java: &Lookup<'_>, out: &mut BTreeMap<String, String>, problems: &mut Vec<Problem>) {
    let mechanism = non_blank(java, "sasl.mechanism").unwrap_or("GSSAPI").to_ascii_uppercase();
    let module = match mechanism.as_str() {
        "PLAIN" => PLAIN_MODULE,
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => SCRAM_MODULE,
        "OAUTHBEARER" => OAUTH_MODULE,
        "AWS_MSK_IAM" => MSK_IAM_MODULE,
        "GSSAPI" => {
            return problems.push(problem(
                "sasl.mechanism",
                format!("{MECHANISMS} (Kerberos is not in this build)"),
                java("sasl.mechanism").unwrap_or("GSSAPI (the default when unset)"),
            ))
        }
        _ => return problems.push(problem("sasl.mechanism", MECHANISMS, &mechanism)),
    };
    out.insert("sasl.mechanisms".into(), mechanism.clone());
    for key in ["sasl.login.class", "sasl.client.callback.handler.class"] {
        match non_blank(java, key) {
            Some(MSK_IAM_HANDLER) if mechanism == "AWS_MSK_IAM" && key == "sasl.client.callback.handler.class" => {}
            Some(v) => problems.push(problem(key, "no value (a Java class cannot run in sluice)", v)),
            None => {}
        }
    }
    let Some(text) = java("sasl.jaas.config") else {
        return problems.push(problem("sasl.jaas.config", format!("a {module} login module"), "no value"));
    };
    let m = match jaas::parse(text) {
        Ok(m) => m,
        // the value is a secret: the reason goes with what was expected
        Err(why) => {
            return problems.push(problem("sasl.jaas.config", format!("{} (here: {why})", jaas::EXPECTED), "[hidden]"))
        }
    };
    if m.class != module {
        return problems.push(problem(
            "sasl.jaas.config",
            format!("{module} for sasl.mechanism={mechanism} (here: {})", m.class),
            "[hidden]",
        ));
    }
    if mechanism == "OAUTHBEARER" {
        return oauth_settings(java, &m, out, problems);
    }
    if mechanism == "AWS_MSK_IAM" {
        // MSK takes OAUTHBEARER with a presigned token from non-Java clients; the region is
        // added from bootstrap.servers when the client is made
        out.insert("sasl.mechanisms".into(), "OAUTHBEARER".into());
        out.insert("sasl.oauthbearer.config".into(), crate::worker::MskIam::from_options(&m.options).to_config());
        return;
    }
    if let Some(v) = non_blank(java, "sasl.login.callback.handler.class") {
        problems.push(problem("sasl.login.callback.handler.class", "no value for PLAIN and SCRAM", v));
    }
    match (m.options.get("username"), m.options.get("password")) {
        (Some(user), Some(password)) => {
            out.insert("sasl.username".into(), user.clone());
            out.insert("sasl.password".into(), password.clone());
        }
        _ => problems.push(problem(
            "sasl.jaas.config",
            "username=\"…\" and password=\"…\" options",
            "a module without them",
        )),
    }
}

/// OAUTHBEARER: with `sasl.oauthbearer.token.endpoint.url`, the OIDC client-credentials flow
/// (librdkafka's `oidc` method, `clientId`/`clientSecret`/`scope` from the module, `extension_*`
/// as SASL extensions); without it, Kafka's unsecured tokens (`unsecuredLoginStringClaim_sub`).
fn oauth_settings(
    java: &Lookup<'_>,
    m: &jaas::JaasModule,
    out: &mut BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    let extensions: Vec<String> =
        m.options.iter().filter_map(|(k, v)| k.strip_prefix("extension_").map(|name| format!("{name}={v}"))).collect();
    if !extensions.is_empty() {
        out.insert("sasl.oauthbearer.extensions".into(), extensions.join(","));
    }
    if let Some(url) = non_blank(java, "sasl.oauthbearer.token.endpoint.url") {
        if let Some(handler) = non_blank(java, "sasl.login.callback.handler.class") {
            if !OAUTH_HANDLERS.contains(&handler) {
                problems.push(problem("sasl.login.callback.handler.class", OAUTH_HANDLERS[1], handler));
            }
        }
        let (Some(id), Some(secret)) = (m.options.get("clientId"), m.options.get("clientSecret")) else {
            return problems.push(problem(
                "sasl.jaas.config",
                "clientId=\"…\" and clientSecret=\"…\" options",
                "a module without them",
            ));
        };
        out.insert("sasl.oauthbearer.method".into(), "oidc".into());
        out.insert("sasl.oauthbearer.token.endpoint.url".into(), url.to_owned());
        out.insert("sasl.oauthbearer.client.id".into(), id.clone());
        out.insert("sasl.oauthbearer.client.secret".into(), secret.clone());
        if let Some(scope) = m.options.get("scope") {
            out.insert("sasl.oauthbearer.scope".into(), scope.clone());
        }
        return;
    }
    let Some(sub) = m.options.get("unsecuredLoginStringClaim_sub") else {
        return problems.push(problem(
            "sasl.oauthbearer.token.endpoint.url",
            "a token endpoint URL (or unsecuredLoginStringClaim_sub in sasl.jaas.config for unsecured tokens)",
            "no value",
        ));
    };
    out.insert("enable.sasl.oauthbearer.unsecure.jwt".into(), "true".into());
    let mut config = format!("principal={sub}");
    if let Some(scope) = m.options.get("unsecuredLoginListClaim_scope") {
        config.push_str(&format!(" scope={scope}"));
    }
    out.insert("sasl.oauthbearer.config".into(), config);
}

/// Checks that `settings` (the keys under `prefix` in `reader`'s file) translate, recording
/// problems against the prefixed keys and their lines (stores are read, so a wrong path or
/// password stops the start).
pub(crate) fn check(reader: &mut ConfigReader<'_>, prefix: &str, settings: &BTreeMap<String, String>) {
    if let Err(problems) = translate(&mut settings.clone()) {
        for p in problems {
            reader.invalid(&format!("{prefix}{}", p.key), p.expected, p.got);
        }
    }
}

/// The worker's own (unprefixed) security keys, checked: for its internal clients and, as
/// Kafka's `Worker.adminConfigs`, under the connectors' admin clients' `admin.*`.
pub(crate) fn top_level(reader: &mut ConfigReader<'_>) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    for key in java_keys() {
        if let Some(v) = reader.string(key) {
            settings.insert(key.to_owned(), v);
        }
    }
    check(reader, "", &settings);
    settings
}

#[cfg(test)]
mod tests;
