//! Java security keys → librdkafka, against stores made by keytool and openssl
//! (`runtime/src/tls/testdata/make.sh`).

use super::*;
use crate::tls::{CertificateDer, PrivateKeyDer};
use rustls_pki_types::pem::PemObject;

fn fixture(name: &str) -> String {
    format!("{}/src/tls/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ok(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = map(pairs);
    translate(&mut m).unwrap_or_else(|p| panic!("{p:?}"));
    m
}

fn err(pairs: &[(&str, &str)]) -> Vec<Problem> {
    let mut m = map(pairs);
    let before = m.clone();
    let problems = translate(&mut m).unwrap_err();
    assert_eq!(m, before, "a failed translation leaves the map as it was");
    problems
}

fn certs_of(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().unwrap()
}

fn ca() -> Vec<CertificateDer<'static>> {
    certs_of(&std::fs::read_to_string(fixture("ca.pem")).unwrap())
}

fn client_key() -> Vec<u8> {
    PrivateKeyDer::from_pem_file(fixture("client.key")).unwrap().secret_der().to_vec()
}

#[test]
fn plaintext_leaves_ssl_and_sasl_keys_unused_as_java_does() {
    let m = ok(&[
        ("security.protocol", "plaintext"),
        ("ssl.truststore.location", "/nowhere.jks"),
        ("sasl.jaas.config", "broken"),
        ("linger.ms", "5"),
    ]);
    assert_eq!(m, map(&[("security.protocol", "plaintext"), ("linger.ms", "5")]));
    assert_eq!(ok(&[("acks", "all")]), map(&[("acks", "all")]));
}

#[test]
fn jks_pkcs12_and_pem_trust_stores_become_the_same_ca_pem() {
    let ca = ca();
    for (kind, file, password) in [
        ("JKS", "truststore.jks", Some("trustpass")),
        ("jks", "truststore.jks", None), // no password: read unchecked, as Java does
        ("PKCS12", "truststore.p12", Some("trustpass")),
        ("PEM", "ca.pem", None),
    ] {
        let path = fixture(file);
        let mut pairs =
            vec![("security.protocol", "SSL"), ("ssl.truststore.type", kind), ("ssl.truststore.location", &path)];
        if let Some(p) = password {
            pairs.push(("ssl.truststore.password", p));
        }
        let m = ok(&pairs);
        assert_eq!(certs_of(&m["ssl.ca.pem"]), ca, "{kind} {file}");
        assert_eq!(m["security.protocol"], "ssl");
        assert_eq!(m["ssl.endpoint.identification.algorithm"], "https");
        assert!(!m.contains_key("ssl.truststore.location") && !m.contains_key("ssl.truststore.password"));
    }
    let inline = std::fs::read_to_string(fixture("ca.pem")).unwrap();
    let m =
        ok(&[("security.protocol", "SSL"), ("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", &inline)]);
    assert_eq!(certs_of(&m["ssl.ca.pem"]), ca);
}

#[test]
fn jks_and_pkcs12_key_stores_give_the_client_certificate_and_key() {
    let client = certs_of(&std::fs::read_to_string(fixture("client.pem")).unwrap());
    let jks = fixture("client.jks");
    let p12 = fixture("client.p12");
    for pairs in [
        vec![
            ("ssl.keystore.location", jks.as_str()),
            ("ssl.keystore.password", "storepass"),
            ("ssl.key.password", "keypass"),
        ],
        vec![
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", p12.as_str()),
            ("ssl.keystore.password", "keypass"),
        ],
    ] {
        let mut pairs = pairs;
        pairs.push(("security.protocol", "SSL"));
        let m = ok(&pairs);
        assert_eq!(certs_of(&m["ssl.certificate.pem"])[0], client[0], "{pairs:?}");
        let key = PrivateKeyDer::from_pem_slice(m["ssl.key.pem"].as_bytes()).unwrap();
        assert_eq!(key.secret_der(), client_key().as_slice());
        assert!(!m.contains_key("ssl.keystore.password") && !m.contains_key("ssl.key.password"));
    }
}

#[test]
fn pem_key_stores_inline_and_encrypted() {
    let chain = std::fs::read_to_string(fixture("client.pem")).unwrap();
    let key = std::fs::read_to_string(fixture("client.key")).unwrap();
    let m = ok(&[
        ("security.protocol", "SSL"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.certificate.chain", &chain),
        ("ssl.keystore.key", &key),
    ]);
    assert_eq!(
        PrivateKeyDer::from_pem_slice(m["ssl.key.pem"].as_bytes()).unwrap().secret_der(),
        client_key().as_slice()
    );
    // an encrypted key goes to librdkafka as it is, with its password
    let encrypted = std::fs::read_to_string(fixture("client-encrypted.key")).unwrap();
    let m = ok(&[
        ("security.protocol", "SSL"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.certificate.chain", &chain),
        ("ssl.keystore.key", &encrypted),
        ("ssl.key.password", "keypass"),
    ]);
    assert_eq!(m["ssl.key.pem"], encrypted.trim());
    assert_eq!(m["ssl.key.password"], "keypass");
}

#[test]
fn wrong_passwords_name_the_password_key_and_hide_the_value() {
    let jks = fixture("truststore.jks");
    let p =
        err(&[("security.protocol", "SSL"), ("ssl.truststore.location", &jks), ("ssl.truststore.password", "nope")]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "ssl.truststore.password");
    assert!(p[0].expected.contains(&jks) && p[0].expected.contains("integrity check"), "{p:?}");
    assert_eq!(p[0].got, "[hidden]");

    let p12 = fixture("client.p12");
    let p = err(&[
        ("security.protocol", "SSL"),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", &p12),
        ("ssl.keystore.password", "x"),
    ]);
    assert_eq!((p[0].key.as_str(), p[0].got.as_str()), ("ssl.keystore.password", "[hidden]"));

    let cjks = fixture("client.jks");
    let p = err(&[
        ("security.protocol", "SSL"),
        ("ssl.keystore.location", &cjks),
        ("ssl.keystore.password", "storepass"),
        ("ssl.key.password", "bad"),
    ]);
    assert_eq!((p[0].key.as_str(), p[0].got.as_str()), ("ssl.key.password", "[hidden]"));
    // no ssl.key.password: the store's password is tried on the key, and the store's key is named
    let p =
        err(&[("security.protocol", "SSL"), ("ssl.keystore.location", &cjks), ("ssl.keystore.password", "storepass")]);
    assert_eq!(p[0].key, "ssl.keystore.password");
}

#[test]
fn unreadable_or_mistyped_stores_say_which_file() {
    let p = err(&[("security.protocol", "SSL"), ("ssl.truststore.location", "/no/such.jks")]);
    assert_eq!(p[0].key, "ssl.truststore.location");
    assert!(p[0].got.contains("/no/such.jks"), "{p:?}");
    let pem = fixture("ca.pem");
    let p = err(&[("security.protocol", "SSL"), ("ssl.truststore.location", &pem), ("ssl.truststore.password", "x")]);
    assert!(p[0].got.contains("not a JKS store"), "{p:?}");
    let jks = fixture("truststore.jks");
    let p = err(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.location", &jks),
        ("ssl.truststore.password", "trustpass"),
    ]);
    assert!(p[0].got.contains("set the store's type to JKS"), "{p:?}");
    let p = err(&[("security.protocol", "SSL"), ("ssl.truststore.type", "BKS")]);
    assert_eq!(p[0].key, "ssl.truststore.type");
}

#[test]
fn host_name_check_protocols_and_java_only_ssl_keys() {
    let m = ok(&[("security.protocol", "SSL"), ("ssl.endpoint.identification.algorithm", "")]);
    assert_eq!(m["ssl.endpoint.identification.algorithm"], "none");
    ok(&[("security.protocol", "SSL"), ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"), ("ssl.protocol", "TLSv1.3")]);
    let p = err(&[("security.protocol", "SSL"), ("ssl.enabled.protocols", "TLSv1.1")]);
    assert_eq!(p[0].key, "ssl.enabled.protocols");
    let p = err(&[
        ("security.protocol", "SSL"),
        ("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256"),
        ("ssl.engine.factory.class", "a.B"),
    ]);
    assert_eq!(p.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(), ["ssl.cipher.suites", "ssl.engine.factory.class"]);
    let p = err(&[("security.protocol", "TLS")]);
    assert_eq!(p[0].expected, PROTOCOLS);
}

#[test]
fn plain_and_scram_take_the_credentials_from_the_jaas_module() {
    let m = ok(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a\"b";"#,
        ),
    ]);
    assert_eq!(m["security.protocol"], "sasl_ssl");
    assert_eq!(
        (m["sasl.mechanisms"].as_str(), m["sasl.username"].as_str(), m["sasl.password"].as_str()),
        ("PLAIN", "alice", "a\"b")
    );
    assert!(!m.contains_key("sasl.jaas.config") && !m.contains_key("sasl.mechanism"));
    let m = ok(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=bob password=pw;",
        ),
    ]);
    assert_eq!((m["sasl.mechanisms"].as_str(), m["sasl.username"].as_str()), ("SCRAM-SHA-512", "bob"));
    assert!(!m.contains_key("ssl.endpoint.identification.algorithm"), "no TLS settings without SSL");
}

#[test]
fn sasl_mistakes_are_refused_with_the_reason() {
    let scram = "org.apache.kafka.common.security.scram.ScramLoginModule required username=u password=p;";
    let p = err(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", scram)]);
    assert!(p[0].expected.contains("PlainLoginModule for sasl.mechanism=PLAIN"), "{p:?}");
    let p = err(&[("security.protocol", "SASL_SSL"), ("sasl.jaas.config", scram)]);
    assert!(p[0].expected.contains("Kerberos is not in this build"), "{p:?}");
    let p = err(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "PLAIN")]);
    assert_eq!((p[0].key.as_str(), p[0].got.as_str()), ("sasl.jaas.config", "no value"));
    let p = err(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        ("sasl.jaas.config", "x.Y required"),
    ]);
    assert!(p[0].expected.contains("no ';'") && p[0].got == "[hidden]", "{p:?}");
    let p = err(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        ("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=u;"),
    ]);
    assert!(p[0].expected.contains("password"), "{p:?}");
}

#[test]
fn oauthbearer_client_credentials_and_unsecured_tokens() {
    let m = ok(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token"),
        (
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        ),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="cid" clientSecret="cs" scope="kafka" extension_logicalCluster="lkc-1";"#,
        ),
    ]);
    assert_eq!(m["sasl.oauthbearer.method"], "oidc");
    assert_eq!(m["sasl.oauthbearer.token.endpoint.url"], "https://idp.example/token");
    assert_eq!((m["sasl.oauthbearer.client.id"].as_str(), m["sasl.oauthbearer.client.secret"].as_str()), ("cid", "cs"));
    assert_eq!(m["sasl.oauthbearer.scope"], "kafka");
    assert_eq!(m["sasl.oauthbearer.extensions"], "logicalCluster=lkc-1");
    let m = ok(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";"#,
        ),
    ]);
    assert_eq!(m["enable.sasl.oauthbearer.unsecure.jwt"], "true");
    assert_eq!(m["sasl.oauthbearer.config"], "principal=alice");
}

#[test]
fn aws_msk_iam_becomes_oauthbearer_with_the_login_modules_options() {
    let m = ok(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "AWS_MSK_IAM"),
        (
            "sasl.jaas.config",
            "software.amazon.msk.auth.iam.IAMLoginModule required awsRoleArn=\"arn:aws:iam::123456789012:role/msk\" awsRoleSessionName=\"connect\" awsDebugCreds=true;",
        ),
        ("sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler"),
    ]);
    assert_eq!(m["sasl.mechanisms"], "OAUTHBEARER");
    let msk = crate::worker::MskIam::from_config(&m["sasl.oauthbearer.config"]).expect("sluice's token source");
    assert_eq!(msk.role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/msk"));
    assert_eq!(msk.role_session_name.as_deref(), Some("connect"));
    assert!(!m.contains_key("sasl.client.callback.handler.class") && !m.contains_key("sasl.jaas.config"));
    // another handler class, or the module with another mechanism, is refused
    let p = err(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "AWS_MSK_IAM"),
        ("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;"),
        ("sasl.client.callback.handler.class", "com.example.Handler"),
    ]);
    assert_eq!(p[0].key, "sasl.client.callback.handler.class");
    let p = err(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;"),
    ]);
    assert_eq!(p[0].key, "sasl.jaas.config");
}

#[test]
fn errors_carry_the_prefixed_key_and_its_line() {
    let mut raw = crate::config::RawConfig::new("worker.properties");
    raw.insert("producer.security.protocol", "SSL", Some(3));
    raw.insert("producer.ssl.truststore.location", "/no/such.jks", Some(4));
    let mut reader = ConfigReader::new(&raw);
    let producer = reader.prefixed("producer.");
    check(&mut reader, "producer.", &producer);
    let errors: Vec<String> = reader.finish().0.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("worker.properties:4: producer.ssl.truststore.location: expected a readable store file, got \"cannot read /no/such.jks"), "{errors:?}");
}
