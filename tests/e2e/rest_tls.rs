//! The REST API over HTTPS with Kafka's keys, basic authentication as Kafka's
//! `BasicAuthSecurityRestExtension` (users from the JAAS file `KAFKA_OPTS` names), and mutual TLS
//! (`ssl.client.auth=required`), called with curl as an independent client.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::*;

fn tls_file(name: &str) -> String {
    let dir = std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into());
    let path = format!("{dir}/{name}");
    assert!(std::path::Path::new(&path).exists(), "{path} missing; run scripts/services up");
    path
}

/// A standalone worker with no connector, its REST on HTTPS with `extra` keys.
fn start(dir: &Dir, port: u16, extra: &str, kafka_opts: Option<String>) -> Child {
    let worker = dir.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\n\
             listeners=https://127.0.0.1:{port}\nlisteners.https.ssl.keystore.type=PKCS12\n\
             listeners.https.ssl.keystore.location={}\nlisteners.https.ssl.keystore.password=serverpass\n{extra}",
            bootstrap(),
            dir.path("connect.offsets").display(),
            tls_file("server.p12"),
        ),
    );
    let mut command = sluice();
    command
        .arg("standalone")
        .arg(&worker)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("log")).unwrap());
    if let Some(opts) = kafka_opts {
        command.env("KAFKA_OPTS", opts);
    }
    let child = command.spawn().unwrap();
    wait_until(Duration::from_secs(20), "the HTTPS listener", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    child
}

/// curl's status code and body for `/connectors` (status 0: no HTTP answer, the TLS handshake
/// refused).
fn curl(port: u16, args: &[&str]) -> (u16, String) {
    curl_path(port, "/connectors", args)
}

pub(crate) fn curl_path(port: u16, path: &str, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "--cacert"])
        .arg(tls_file("ca.pem"))
        .args(args)
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn rest_over_https_with_basic_auth_users_from_the_jaas_file() {
    require_kafka();
    let dir = Dir::new();
    let users = dir.write("connect.password", "alice: alice-s3cret\nbob=bob-s3cret\n");
    let jaas = dir.write(
        "connect_jaas.conf",
        &format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            users.display()
        ),
    );
    let port = free_port();
    let extra =
        "rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n";
    let mut child =
        start(&dir, port, extra, Some(format!("-Xmx256m -Djava.security.auth.login.config={}", jaas.display())));
    assert_eq!(curl(port, &["-u", "alice:alice-s3cret"]), (200, "[]".to_owned()));
    assert_eq!(curl(port, &["-u", "bob:bob-s3cret"]).0, 200);
    assert_eq!(curl(port, &["-u", "alice:wrong"]), (401, "User cannot access the resource.".to_owned()));
    assert_eq!(curl(port, &[]), (401, "User cannot access the resource.".to_owned()));
    // plain HTTP on the HTTPS port gets no API
    let plain = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"])
        .arg(format!("http://127.0.0.1:{port}/connectors"))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    let status = sigterm(&mut child);
    let log = log_text(&dir.path("log"));
    assert!(status.success(), "{log}");
    for secret in ["alice-s3cret", "bob-s3cret", "serverpass"] {
        assert!(!log.contains(secret), "a password in the log:\n{log}");
    }
}

#[test]
fn rest_with_mutual_tls_refuses_a_client_without_a_certificate() {
    require_kafka();
    let dir = Dir::new();
    let port = free_port();
    let extra = format!(
        "listeners.https.ssl.client.auth=required\nlisteners.https.ssl.truststore.location={}\n\
         listeners.https.ssl.truststore.password=trustpass\n",
        tls_file("truststore.jks")
    );
    let mut child = start(&dir, port, &extra, None);
    let (client, key) = (tls_file("client.pem"), tls_file("client.key"));
    assert_eq!(curl(port, &["--cert", &client, "--key", &key]), (200, "[]".to_owned()));
    assert_eq!(curl(port, &[]).0, 0, "no certificate: the handshake is refused");
    assert!(sigterm(&mut child).success(), "{}", log_text(&dir.path("log")));
}

#[test]
fn a_wrong_key_store_password_or_a_missing_jaas_file_stops_the_start_with_the_key() {
    let dir = Dir::new();
    let worker = dir.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\n\
             listeners=https://127.0.0.1:{}\nssl.keystore.type=PKCS12\nssl.keystore.location={}\nssl.keystore.password=wrongpass\n\
             rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n",
            bootstrap(),
            dir.path("connect.offsets").display(),
            free_port(),
            tls_file("server.p12"),
        ),
    );
    let out = sluice().arg("standalone").arg(&worker).env_remove("KAFKA_OPTS").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("worker.properties:8: ssl.keystore.password: expected the password of"), "{stderr}");
    assert!(
        stderr.contains("worker.properties:9: rest.extension.classes:") && stderr.contains("KAFKA_OPTS"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrongpass"), "{stderr}");
}

/// `admin.listeners`: the admin endpoints move to a listener of their own, here HTTPS with its
/// own `admin.listeners.https.*` keys (and, as in Kafka, without the regular listener's REST
/// extensions); blank turns them off.
#[test]
fn admin_endpoints_move_to_admin_listeners_or_are_turned_off() {
    require_kafka();
    let dir = Dir::new();
    let (port, admin) = (free_port(), free_port());
    let extra = format!(
        "admin.listeners=https://127.0.0.1:{admin}\nadmin.listeners.https.ssl.keystore.type=PKCS12\n\
         admin.listeners.https.ssl.keystore.location={}\nadmin.listeners.https.ssl.keystore.password=serverpass\n",
        tls_file("server.p12")
    );
    let mut child = start(&dir, port, &extra, None);
    assert_eq!(curl_path(port, "/admin/loggers", &[]).0, 404, "{}", log_text(&dir.path("log")));
    let (code, body) = curl_path(admin, "/admin/loggers", &[]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"root\""), "{body}");
    assert_eq!(curl_path(admin, "/connectors", &[]).0, 404);
    assert_eq!(curl(port, &[]), (200, "[]".to_owned()));
    assert!(sigterm(&mut child).success());

    let dir = Dir::new();
    let port = free_port();
    let mut child = start(&dir, port, "admin.listeners=\n", None);
    assert_eq!(curl_path(port, "/admin/loggers", &[]).0, 404);
    assert_eq!(curl(port, &[]).0, 200);
    assert!(sigterm(&mut child).success());
}

/// A cluster secured end to end: two distributed workers reach Kafka over TLS (the group
/// client and the internal-topic clients with the same JKS trust store), serve REST over HTTPS
/// with basic authentication, and a connector created on the follower is forwarded to the leader
/// over HTTPS with the caller's credentials; its task configs travel back over HTTPS too.
#[test]
fn a_cluster_over_tls_forwards_over_https_with_basic_auth() {
    use crate::distributed::{all_logs, Cluster};
    require_kafka();
    let mut cluster = Cluster::new();
    let users = cluster.dir.write("connect.password", "alice: alice-s3cret\n");
    let jaas = cluster.dir.write(
        "connect_jaas.conf",
        &format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            users.display()
        ),
    );
    cluster.env.push(("KAFKA_OPTS".into(), format!("-Djava.security.auth.login.config={}", jaas.display())));
    cluster.servers = "127.0.0.1:9093".into();
    cluster.scheme = "https";
    let mut extra = format!(
        "listeners.https.ssl.keystore.type=PKCS12\nlisteners.https.ssl.keystore.location={}\n\
         listeners.https.ssl.keystore.password=serverpass\nlisteners.https.ssl.truststore.location={}\n\
         listeners.https.ssl.truststore.password=trustpass\n\
         rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n",
        tls_file("server.p12"),
        tls_file("truststore.jks"),
    );
    for prefix in ["", "producer.", "consumer."] {
        extra.push_str(&format!(
            "{prefix}security.protocol=SSL\n{prefix}ssl.truststore.location={}\n{prefix}ssl.truststore.password=trustpass\n",
            tls_file("truststore.jks")
        ));
    }
    cluster.extra = extra;
    let nodes = [cluster.start(), cluster.start()];
    let logs = || all_logs(&nodes.iter().collect::<Vec<_>>());
    wait_until(Duration::from_secs(60), "both workers in the group", || {
        nodes.iter().all(|n| log_text(&n.log).contains("assignment applied"))
    });
    let follower = nodes.iter().find(|n| !log_text(&n.log).contains("as leader")).expect("a follower");
    let auth = ["-u", "alice:alice-s3cret"];
    let name = unique("secure-cluster");
    let input = cluster.dir.write("in.txt", "one\ntwo\n");
    let config = serde_json::json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
        "topic": unique("e2e-secure-cluster")});
    let path = format!("/connectors/{name}/config");
    let create = |args: &[&str]| {
        let mut all = vec!["-X", "PUT", "-H", "Content-Type: application/json", "--data"];
        let body = config.to_string();
        all.push(&body);
        all.extend_from_slice(args);
        curl_path(follower.port, &path, &all)
    };
    assert_eq!(create(&[]).0, 401, "no credentials");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (code, body) = create(&auth);
        if code == 201 {
            break;
        }
        assert!(
            code == 409 && std::time::Instant::now() < deadline,
            "create on the follower: {code} {body}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = format!("/connectors/{name}/status");
    wait_until(Duration::from_secs(60), "the task RUNNING, seen from both workers", || {
        nodes.iter().all(|n| {
            let (code, body) = curl_path(n.port, &status, &auth);
            code == 200 && body.matches("\"RUNNING\"").count() == 2
        })
    });
}
