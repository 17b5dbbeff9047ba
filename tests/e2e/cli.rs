//! The other commands: `sluice offsets set/dump`, and the generated connector docs.

use crate::harness::*;

#[test]
fn connector_docs_are_generated_from_the_code() {
    let out = sluice().args(["plugins", "--markdown"]).output().unwrap();
    assert!(out.status.success());
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/connectors.md");
    let written = std::fs::read_to_string(&docs).unwrap_or_default();
    assert_eq!(
        written,
        String::from_utf8(out.stdout).unwrap(),
        "docs/connectors.md is stale: regenerate it with `sluice plugins --markdown > docs/connectors.md`"
    );
}

/// The binary loads no system libcurl (librdkafka's OIDC token client is built in), nor what
/// Debian's libcurl would bring (Kerberos, LDAP, GnuTLS); it does load OpenSSL.
#[test]
fn the_binary_loads_no_system_libcurl() {
    let out = std::process::Command::new("ldd").arg(env!("CARGO_BIN_EXE_sluice")).output().unwrap();
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && libs.contains("libssl"), "ldd: {libs}");
    for lib in ["libcurl", "libgssapi", "libldap", "libgnutls", "libssh"] {
        assert!(!libs.contains(lib), "{lib} is loaded:\n{libs}");
    }
}

#[test]
fn offsets_set_then_dump_then_reset() {
    let dir = Dir::new();
    let file = dir.path("connect.offsets");
    let set = |offset: &str| {
        let out = sluice()
            .args(["offsets", "set"])
            .arg(&file)
            .args([
                "--connector",
                "local-file-source",
                "--partition",
                r#"{"filename":"/var/log/app.log"}"#,
                "--offset",
                offset,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let dump = || {
        let out = sluice().args(["offsets", "dump"]).arg(&file).output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    set(r#"{"position":4242}"#);
    let d = dump();
    assert_eq!(d["entries"][0]["connector"], "local-file-source");
    assert_eq!(d["entries"][0]["offset"], serde_json::json!({"position": 4242}));
    // Kafka's exact key bytes are in the file
    let raw = std::fs::read(&file).unwrap();
    let key = br#"["local-file-source",{"filename":"/var/log/app.log"}]"#;
    assert!(raw.windows(key.len()).any(|w| w == key));
    set("null");
    assert_eq!(dump()["entries"][0]["offset"], serde_json::Value::Null);
    let bad = sluice()
        .args(["offsets", "set"])
        .arg(&file)
        .args(["--connector", "c", "--partition", "[1]", "--offset", "{}"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--partition must be a JSON object"));
}
