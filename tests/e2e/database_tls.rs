//! Databases over TLS with the users' own driver parameters, against `scripts/services`'
//! MariaDB and PostgreSQL (certificates from its private CA, a `sluice_tls` user that only TLS
//! may use): rows read with the certificate and host name checked, and each failure named.

use std::time::Duration;

use crate::harness::*;

fn tls_file(name: &str) -> String {
    let dir = std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into());
    let path = format!("{dir}/{name}");
    assert!(std::path::Path::new(&path).exists(), "{path} missing; run scripts/services up");
    path
}

fn jdbc_props(name: &str, url: &str, user: &str, prefix: &str) -> String {
    format!(
        "name={name}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\ntasks.max=1\n\
         connection.url={url}\nconnection.user={user}\nconnection.password=tlspass\nmode=incrementing\n\
         topic.prefix={prefix}\npoll.interval.ms=200\nconnection.attempts=1\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n"
    )
}

/// Runs one JDBC source until `n` records reach `topic` and returns their values.
fn read_rows(connector: &str, topic: &str, n: usize) -> Vec<String> {
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let file = dir.write("jdbc.properties", connector);
    let mut child = spawn(&[&worker, &file], &dir.path("log"));
    let got = values(topic, n, Duration::from_secs(30));
    let status = sigterm(&mut child);
    let log = log_text(&dir.path("log"));
    assert!(status.success(), "{log}");
    assert!(!log.contains("tlspass") && !log.contains("trustpass"), "a password in the log:\n{log}");
    got
}

/// Starts one JDBC source that must fail at start; returns stderr.
fn refused(connector: &str) -> String {
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let file = dir.write("jdbc.properties", connector);
    let out = run(&[&worker, &file]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started:\n{stderr}");
    assert!(!stderr.contains("tlspass") && !stderr.contains("trustpass"), "a password in the output:\n{stderr}");
    assert!(dir.offsets().is_empty());
    stderr
}

const ROW: &str = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"note"}],"optional":false,"name":"t"},"payload":{"id":1,"note":"over tls"}}"#;

#[test]
fn jdbc_source_reads_a_tls_only_mariadb_user_with_verify_identity() {
    require_kafka();
    let db = unique("e2e_tls").replace('-', "_");
    mariadb(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20));\n\
         INSERT INTO {db}.t (note) VALUES ('over tls');"
    ));
    let trust = format!(
        "trustCertificateKeyStoreUrl=file:{}&trustCertificateKeyStorePassword=trustpass",
        tls_file("truststore.jks")
    );
    let url = format!("jdbc:mysql://127.0.0.1:3307/{db}?sslMode=VERIFY_IDENTITY&{trust}");
    let prefix = unique("tls-");
    let got = read_rows(&jdbc_props(&unique("jdbc"), &url, "sluice_tls", &prefix), &format!("{prefix}t"), 1);
    assert_eq!(got, vec![ROW.to_owned()]);

    // the same user without TLS: the server refuses it, and the error says TLS may be why
    let plain = format!("jdbc:mysql://127.0.0.1:3307/{db}?useSSL=false");
    let err = refused(&jdbc_props(&unique("jdbc"), &plain, "sluice_tls", &prefix));
    assert!(err.contains("access denied") && err.contains("sslMode"), "{err}");

    // a trust store without the server's CA
    let other = Dir::new();
    let store = other.path("other.p12");
    let made = std::process::Command::new("keytool")
        .args(["-importcert", "-noprompt", "-alias", "o", "-storetype", "PKCS12", "-storepass", "trustpass", "-file"])
        .arg(tls_file("other-ca.pem"))
        .arg("-keystore")
        .arg(&store)
        .output()
        .unwrap();
    assert!(made.status.success());
    let url = format!(
        "jdbc:mysql://127.0.0.1:3307/{db}?sslMode=VERIFY_CA&trustCertificateKeyStoreUrl=file:{}&trustCertificateKeyStoreType=PKCS12&trustCertificateKeyStorePassword=trustpass",
        store.display()
    );
    let err = refused(&jdbc_props(&unique("jdbc"), &url, "sluice_tls", &prefix));
    assert!(err.contains("127.0.0.1:3307") && err.contains("not signed by a CA in the trust store"), "{err}");

    // a wrong trust store password: refused with the file and line, before any connection
    let url = format!(
        "jdbc:mysql://127.0.0.1:3307/{db}?sslMode=VERIFY_CA&trustCertificateKeyStoreUrl=file:{}&trustCertificateKeyStorePassword=wrongpass",
        tls_file("truststore.jks")
    );
    let err = refused(&jdbc_props(&unique("jdbc"), &url, "sluice_tls", &prefix));
    assert!(
        err.contains("jdbc.properties:")
            && err.contains("trustCertificateKeyStorePassword: the store's password is wrong"),
        "{err}"
    );
    assert!(!err.contains("wrongpass"), "{err}");
}

#[test]
fn jdbc_source_reads_a_hostssl_only_postgres_role_with_verify_full() {
    require_kafka();
    let schema = unique("e2e_tls").replace('-', "_");
    psql(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (id SERIAL PRIMARY KEY, note VARCHAR(20));\n\
         INSERT INTO {schema}.t (note) VALUES ('over tls');"
    ));
    let url =
        format!("jdbc:postgresql://127.0.0.1:5433/postgres?sslmode=verify-full&sslrootcert={}", tls_file("ca.pem"));
    let prefix = unique("pgtls-");
    let props = format!("{}schema.pattern={schema}\n", jdbc_props(&unique("jdbc"), &url, "sluice_tls", &prefix));
    let got = read_rows(&props, &format!("{prefix}t"), 1);
    assert_eq!(got, vec![ROW.to_owned()]);

    // the role over plaintext: pg_hba refuses it, and the error says TLS is why
    let plain = "jdbc:postgresql://127.0.0.1:5433/postgres?sslmode=disable";
    let props = format!("{}schema.pattern={schema}\n", jdbc_props(&unique("jdbc"), plain, "sluice_tls", &prefix));
    let err = refused(&props);
    assert!(err.contains("no encryption") && err.contains("sslmode"), "{err}");
}

/// The binlog connector as the TLS-only user: snapshot and streaming over TLS, with
/// `database.ssl.mode=verify_identity` and Debezium's trust store keys.
#[test]
fn binlog_cdc_streams_over_tls_with_verify_identity() {
    use crate::binlog_cdc::{changes, database, props, spawn_streaming};
    require_kafka();
    let db = database("e2e_cdc_tls");
    mariadb(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, note VARCHAR(20)); INSERT INTO {db}.t VALUES (1, 'snap');"
    ));
    let prefix = unique("cdctls");
    let tls = format!(
        "database.ssl.mode=verify_identity\ndatabase.ssl.truststore={}\ndatabase.ssl.truststore.password=trustpass\n",
        tls_file("truststore.jks")
    );
    let connector = props(&unique("cdc"), &db, &prefix, &tls)
        .replace("database.user=root\ndatabase.password=\n", "database.user=sluice_tls\ndatabase.password=tlspass\n");
    let dir = Dir::new();
    let worker = dir.worker(free_port(), "");
    let file = dir.write("cdc.properties", &connector);
    let mut child = spawn_streaming(&worker, &file, &dir.path("log"));
    mariadb(&format!("INSERT INTO {db}.t VALUES (2, 'streamed');"));
    let got = changes(&format!("{prefix}.{db}.t"), 2, Duration::from_secs(30));
    let status = sigterm(&mut child);
    let log = log_text(&dir.path("log"));
    assert!(status.success(), "{log}");
    assert_eq!(
        got.iter().map(|c| (c.op().to_owned(), c.after()["note"].clone())).collect::<Vec<_>>(),
        [("r".to_owned(), serde_json::json!("snap")), ("c".to_owned(), serde_json::json!("streamed"))]
    );
    assert!(!log.contains("tlspass") && !log.contains("trustpass"), "{log}");

    // without TLS the same user is refused, and the error names the key
    let plain = connector.replace("database.ssl.mode=verify_identity", "database.ssl.mode=disabled");
    let file = dir.write(
        "plain.properties",
        &plain.replace(&server_id_line(&plain), &format!("database.server.id={}\n", crate::binlog_cdc::server_id())),
    );
    let out = run(&[&worker, &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("access denied") && stderr.contains("database.ssl.mode=required"), "{stderr}");
}

fn server_id_line(props: &str) -> String {
    props.lines().find(|l| l.starts_with("database.server.id=")).map(|l| format!("{l}\n")).unwrap()
}
