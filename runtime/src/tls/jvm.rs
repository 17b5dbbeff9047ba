//! The JVM-wide trust store Java connectors use for HTTPS (`-Djavax.net.ssl.trustStore=…` in
//! `KAFKA_OPTS`, with `…trustStorePassword` and `…trustStoreType`), for the clients that, as
//! theirs, have no key of their own for it (the S3 sink's endpoint).

use super::{trusted_certs, CertificateDer, StoreSource, StoreType};

fn property<'a>(opts: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("-D{name}=");
    opts.split_whitespace().find_map(|a| a.strip_prefix(prefix.as_str())).map(|v| v.trim_matches(['"', '\'']))
}

/// The CAs of the trust store `KAFKA_OPTS` names; `None` when it names none (the system's CAs
/// then, as the JVM's default `cacerts`).
pub fn trust_store(kafka_opts: Option<&str>) -> Result<Option<Vec<CertificateDer<'static>>>, String> {
    let Some(opts) = kafka_opts else { return Ok(None) };
    let Some(path) = property(opts, "javax.net.ssl.trustStore") else { return Ok(None) };
    let password = property(opts, "javax.net.ssl.trustStorePassword");
    let data =
        std::fs::read(path).map_err(|e| format!("javax.net.ssl.trustStore in KAFKA_OPTS: cannot read {path}: {e}"))?;
    let kind = match property(opts, "javax.net.ssl.trustStoreType") {
        Some(t) => StoreType::parse(t).ok_or_else(|| {
            format!("javax.net.ssl.trustStoreType in KAFKA_OPTS: expected {}, got {t:?}", StoreType::EXPECTED)
        })?,
        None => StoreType::sniff(&data),
    };
    trusted_certs(kind, StoreSource::Bytes(&data), password)
        .map(Some)
        .map_err(|e| format!("javax.net.ssl.trustStore in KAFKA_OPTS ({path}): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_store_kafka_opts_names() {
        let dir = format!("{}/src/tls/testdata", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(trust_store(None).unwrap(), None);
        assert_eq!(trust_store(Some("-Xmx1g")).unwrap(), None);
        let opts = format!(
            "-Xmx1g -Djavax.net.ssl.trustStore={dir}/truststore.jks -Djavax.net.ssl.trustStorePassword=trustpass"
        );
        assert_eq!(trust_store(Some(&opts)).unwrap().unwrap().len(), 1);
        let opts = format!("-Djavax.net.ssl.trustStore={dir}/truststore.p12 -Djavax.net.ssl.trustStorePassword=nope");
        let e = trust_store(Some(&opts)).unwrap_err();
        assert!(e.contains("password is wrong") && !e.contains("nope"), "{e}");
    }
}
