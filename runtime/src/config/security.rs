//! Kafka client security (`security.protocol`). This build speaks only PLAINTEXT to Kafka: TLS and
//! SASL are not in it yet. A file that asks for them is refused at start, naming the key, rather
//! than run in plaintext against a broker that expects otherwise (where it would fail later, with
//! a transport error that does not say why). With PLAINTEXT, the `ssl.*` and `sasl.*` keys are
//! unused, as Kafka's clients leave them.

use super::reader::ConfigReader;

const EXPECTED: &str = "PLAINTEXT (this build of sluice connects to Kafka without TLS or SASL)";

/// Refuses a `security.protocol` other than PLAINTEXT under each of `prefixes` (`""` for the
/// key itself).
pub(crate) fn refuse_unsupported(reader: &mut ConfigReader<'_>, prefixes: &[&str]) {
    for prefix in prefixes {
        let key = format!("{prefix}security.protocol");
        if let Some(value) = reader.string(&key) {
            if !value.trim().eq_ignore_ascii_case("PLAINTEXT") {
                reader.invalid(&key, EXPECTED, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn errors(pairs: &[(&str, &str)], prefixes: &[&str]) -> Vec<String> {
        let mut raw = RawConfig::new("w.properties");
        for (i, (k, v)) in pairs.iter().enumerate() {
            raw.insert(*k, *v, Some(i + 1));
        }
        let mut reader = ConfigReader::new(&raw);
        refuse_unsupported(&mut reader, prefixes);
        reader.finish().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn only_plaintext_is_accepted_under_every_prefix() {
        let prefixes = ["", "producer.", "consumer.", "admin."];
        assert!(errors(&[("security.protocol", "plaintext"), ("producer.security.protocol", "PLAINTEXT")], &prefixes)
            .is_empty());
        assert_eq!(
            errors(
                &[
                    ("bootstrap.servers", "b:9093"),
                    ("security.protocol", "SASL_SSL"),
                    ("consumer.security.protocol", "SSL")
                ],
                &prefixes
            ),
            vec![
                format!("w.properties:2: security.protocol: expected {EXPECTED}, got \"SASL_SSL\""),
                format!("w.properties:3: consumer.security.protocol: expected {EXPECTED}, got \"SSL\""),
            ]
        );
    }
}
