//! No secret reaches anything a user or a log collector sees: every password-type key of the
//! worker and the connectors (Kafka's `*.password`, `sasl.jaas.config`, an inline PEM key, an
//! OAuth client secret, AWS keys, database passwords and passwords inside JDBC URLs) is set to a
//! marker, and every REST answer, the log, the errors and `sluice validate` are scanned for it.

use std::time::Duration;

use crate::harness::*;

/// Each secret's marker contains this, so one scan finds any of them.
const MARK: &str = "Zq9SECRETx";

fn secret(name: &str) -> String {
    format!("{MARK}-{name}")
}

#[test]
fn no_secret_reaches_rest_answers_logs_errors_or_validate() {
    require_kafka();
    let dir = Dir::new();
    let port = free_port();
    let jaas = |n: &str| {
        format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"{}\";",
            secret(n)
        )
    };
    // worker keys that are unused under PLAINTEXT (as Java's), still never shown
    let worker = dir.worker(
        port,
        &format!(
            "sasl.jaas.config={}\nproducer.sasl.jaas.config={}\nconsumer.ssl.keystore.password={}\n",
            jaas("w1"),
            jaas("w2"),
            secret("w3")
        ),
    );
    let input = dir.write("in.txt", "a\nb\n");
    let topic = unique("e2e-secrets");
    let source = dir.write(
        "source.properties",
        &source_props(
            &unique("src"),
            &input,
            &topic,
            &format!(
                "producer.override.security.protocol=PLAINTEXT\nproducer.override.sasl.jaas.config={}\n\
                 producer.override.ssl.truststore.password={}\nproducer.override.ssl.keystore.key=-----BEGIN PRIVATE KEY-----{}\n\
                 producer.override.sasl.oauthbearer.client.secret={}\naws.secret.access.key={}\nconnection.password={}\n\
                 connection.url=jdbc:mysql://u:{}@h/db?password={}&trustCertificateKeyStorePassword={}\n",
                jaas("c1"),
                secret("c2"),
                secret("c3"),
                secret("c4"),
                secret("c5"),
                secret("c6"),
                secret("c7"),
                secret("c8"),
                secret("c9"),
            ),
        ),
    );
    let mut child = spawn(&[&worker, &source], &dir.path("log"));
    let mut read = 0;
    wait_until(Duration::from_secs(30), "the source's records", || {
        read = values(&topic, 2, Duration::from_secs(1)).len();
        read == 2 || child.try_wait().unwrap().is_some()
    });
    assert_eq!(read, 2, "{}", log_text(&dir.path("log")));
    let name = get(port, "/connectors").1[0].as_str().unwrap().to_owned();
    let mut answers = String::new();
    for path in [
        "/connectors".to_owned(),
        "/connectors?expand=info&expand=status".to_owned(),
        format!("/connectors/{name}"),
        format!("/connectors/{name}/config"),
        format!("/connectors/{name}/tasks"),
        format!("/connectors/{name}/status"),
        format!("/connectors/{name}/offsets"),
        "/metrics".to_owned(),
    ] {
        let (status, body) = get_text(port, &path);
        assert_eq!(status, 200, "{path}: {body}");
        answers.push_str(&body);
    }
    // a validation with the same keys answers every value, hidden
    let config = get(port, &format!("/connectors/{name}/config")).1;
    let (_, validated) = request_with(
        port,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        &config.to_string().replace("[hidden]", &secret("v1")),
    );
    answers.push_str(&validated);
    assert!(
        config["connection.password"] == "[hidden]" && config["producer.override.ssl.keystore.key"] == "[hidden]",
        "{config}"
    );
    assert!(sigterm(&mut child).success());
    let log = log_text(&dir.path("log"));
    // a config error naming a secret key: the value is hidden
    let bad = dir.write(
        "bad.properties",
        &format!("{}producer.override.security.protocol=SASL_SSL\n", std::fs::read_to_string(&source).unwrap()),
    );
    let refused = run(&[&worker, &bad]);
    let errors = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    let validate = sluice().arg("validate").arg("--worker").arg(&worker).arg(&source).arg(&bad).output().unwrap();
    let validate =
        format!("{}{}", String::from_utf8_lossy(&validate.stdout), String::from_utf8_lossy(&validate.stderr));
    for (what, text) in [("REST", &answers), ("log", &log), ("errors", &errors), ("validate", &validate)] {
        assert!(!text.contains(MARK), "a secret in the {what}:\n{text}");
    }
    assert!(errors.contains("producer.override.sasl.mechanism") || errors.contains("producer.override"), "{errors}");
}
