//! A flat string config (one file's keys, with their lines) and a typed reader that collects
//! every problem instead of stopping at the first, and remembers which keys it was asked for so
//! that the rest can be reported as unknown with a did-you-mean hint.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// One value of a flat config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    /// 1-based line in the file it came from, when known.
    pub line: Option<usize>,
    /// The text before `${provider:…}` substitution, kept so secrets are never shown resolved.
    pub unresolved: Option<String>,
}

/// The keys of one config file (worker or connector), as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// Where it came from: a path, or `REST`.
    pub origin: Arc<str>,
    pub entries: BTreeMap<String, Entry>,
    /// `initial_state` of a JSON connector file: `PAUSED` or `STOPPED` start no tasks.
    pub initial_state: Option<InitialState>,
}

/// The state a connector starts in (Kafka's `CreateConnectorRequest.initial_state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InitialState {
    #[default]
    Running,
    Paused,
    Stopped,
}

impl RawConfig {
    pub fn new(origin: impl Into<Arc<str>>) -> Self {
        RawConfig { origin: origin.into(), entries: BTreeMap::new(), initial_state: None }
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>, line: Option<usize>) {
        self.entries.insert(key.into(), Entry { value: value.into(), line, unresolved: None });
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|e| e.value.as_str())
    }

    pub fn line(&self, key: &str) -> Option<usize> {
        self.entries.get(key).and_then(|e| e.line)
    }

    /// The config as a user may see it: secrets hidden (or shown as their `${…}` reference).
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|(k, e)| {
                let shown = match &e.unresolved {
                    Some(reference) => reference.clone(),
                    None => redact_value(k, &e.value).into_owned(),
                };
                (k.clone(), shown)
            })
            .collect()
    }

    /// The config as written: each `${…}` reference unresolved (what a config topic stores, and
    /// what a `PATCH` is applied to). Secrets written in clear stay in clear: never shown.
    pub fn as_written(&self) -> BTreeMap<String, String> {
        self.entries.iter().map(|(k, e)| (k.clone(), e.unresolved.clone().unwrap_or_else(|| e.value.clone()))).collect()
    }

    /// Plain key → value map (secrets included): task configs handed to tasks.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.entries.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect()
    }

    pub fn from_map(origin: impl Into<Arc<str>>, map: &BTreeMap<String, String>) -> Self {
        let mut raw = RawConfig::new(origin);
        for (k, v) in map {
            raw.insert(k.clone(), v.clone(), None);
        }
        raw
    }
}

/// Keys whose values are secrets, by Kafka's and the connectors' naming conventions.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("secret")
        || k.ends_with("secret.access.key")
        || k.ends_with("sasl.jaas.config")
        || k.ends_with("session.token")
        || k.ends_with("api.key")
        || k.ends_with("ssl.keystore.key")
        || k.ends_with("client.secret")
        || k.ends_with("user.info")
        || k.ends_with("auth.token")
}

/// A value as a user may see it: `[hidden]` for a secret key; in any other value, the password
/// of a URL's user info (`mysql://u:pw@h`) and of `password=`-like URL parameters
/// (`?user=u&password=pw`, `;password=pw`, `sslpassword=`, `trustCertificateKeyStorePassword=`).
pub fn redact_value<'v>(key: &str, value: &'v str) -> std::borrow::Cow<'v, str> {
    use std::sync::OnceLock;
    if is_secret_key(key) {
        return Password::HIDDEN.into();
    }
    if !value.contains('@') && !value.to_ascii_lowercase().contains("password=") && !value.contains("secret=") {
        return value.into();
    }
    static PARAM: OnceLock<regex::Regex> = OnceLock::new();
    let param = PARAM.get_or_init(|| regex::Regex::new(r"(?i)([?&;:][^=&;?/]*(?:password|secret)=)[^&;]*").unwrap());
    let mut out = param.replace_all(value, format!("${{1}}{}", Password::HIDDEN)).into_owned();
    // user info: between "://" and the authority's end, the part after the first ':' up to the last '@'
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..].find(['/', '?', '#']).map_or(out.len(), |i| start + i);
        let authority = &out[start..end];
        if let (Some(at), Some(colon)) = (authority.rfind('@'), authority.find(':')) {
            if colon < at {
                out.replace_range(start + colon + 1..start + at, Password::HIDDEN);
            }
        }
    }
    out.into()
}

/// A secret value: shown as `[hidden]` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const HIDDEN: &'static str = "[hidden]";
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    /// The secret itself, for the one place that hands it to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::HIDDEN)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::HIDDEN)
    }
}

/// One configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {}: expected {expected}, got {:?}", location(origin, *line), shown_key(key), crate::error::cut(got, 200))]
    Invalid { origin: Arc<str>, line: Option<usize>, key: String, expected: String, got: String },
    #[error("{origin}: {}: missing required key ({expected})", shown_key(key))]
    Missing { origin: Arc<str>, key: String, expected: String },
    #[error("{}: {message}", location(origin, *line))]
    File { origin: Arc<str>, line: Option<usize>, message: String },
}

/// A key from a file as it may be printed: control bytes escaped, a long one cut.
fn shown_key(key: &str) -> String {
    crate::error::excerpt(key.as_bytes(), 100)
}

fn location(origin: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{origin}:{l}"),
        None => origin.to_owned(),
    }
}

/// Every problem found in a set of files; displays one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// A key nobody asked for: reported as a warning (Kafka Connect tolerates them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub origin: Arc<str>,
    pub line: Option<usize>,
    pub key: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: unknown key, ignored", location(&self.origin, self.line), shown_key(&self.key))?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean '{s}'?)")?;
        }
        Ok(())
    }
}

/// Reads typed values out of a [`RawConfig`], collecting errors and the keys it was asked for.
pub struct ConfigReader<'a> {
    raw: &'a RawConfig,
    errors: Vec<ConfigError>,
    known: BTreeSet<String>,
    known_prefixes: Vec<String>,
}

impl<'a> ConfigReader<'a> {
    pub fn new(raw: &'a RawConfig) -> Self {
        ConfigReader { raw, errors: Vec::new(), known: BTreeSet::new(), known_prefixes: Vec::new() }
    }

    pub fn raw(&self) -> &'a RawConfig {
        self.raw
    }

    fn lookup(&mut self, key: &str) -> Option<&'a str> {
        self.known.insert(key.to_owned());
        self.raw.get(key)
    }

    /// Records an error about `key` with the key's line.
    pub fn invalid(&mut self, key: &str, expected: impl Into<String>, got: impl Into<String>) {
        let got: String = got.into();
        let got = redact_value(key, &got).into_owned();
        self.errors.push(ConfigError::Invalid {
            origin: self.raw.origin.clone(),
            line: self.raw.line(key),
            key: key.to_owned(),
            expected: expected.into(),
            got,
        });
    }

    pub fn missing(&mut self, key: &str, expected: impl Into<String>) {
        self.errors.push(ConfigError::Missing {
            origin: self.raw.origin.clone(),
            key: key.to_owned(),
            expected: expected.into(),
        });
    }

    /// The value as written, if present (possibly empty).
    pub fn string(&mut self, key: &str) -> Option<String> {
        self.lookup(key).map(str::to_owned)
    }

    /// Present and non-blank, else `None` (Kafka treats a blank optional string as unset).
    pub fn non_empty(&mut self, key: &str) -> Option<String> {
        self.lookup(key).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
    }

    pub fn string_or(&mut self, key: &str, default: &str) -> String {
        self.lookup(key).unwrap_or(default).to_owned()
    }

    /// A required non-empty string; records a `missing` error otherwise.
    pub fn required(&mut self, key: &str, expected: &str) -> Option<String> {
        match self.lookup(key) {
            Some(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
            Some(v) => {
                self.invalid(key, expected, v);
                None
            }
            None => {
                self.missing(key, expected);
                None
            }
        }
    }

    /// Parses with `FromStr`; a bad value records an error and yields the default.
    pub fn parse_or<T: FromStr + Copy>(&mut self, key: &str, default: T, expected: &str) -> T {
        match self.lookup(key) {
            None => default,
            Some(v) => match v.trim().parse::<T>() {
                Ok(x) => x,
                Err(_) => {
                    self.invalid(key, expected, v);
                    default
                }
            },
        }
    }

    /// An integer within `[min, max]`.
    pub fn int_in(&mut self, key: &str, default: i64, min: i64, max: i64) -> i64 {
        let expected =
            if max == i64::MAX { format!("an integer >= {min}") } else { format!("an integer in [{min}, {max}]") };
        let v = self.parse_or::<i64>(key, default, &expected);
        if v < min || v > max {
            let got = self.raw.get(key).unwrap_or_default().to_owned();
            self.invalid(key, expected, got);
            return default;
        }
        v
    }

    /// A duration in milliseconds (`*.ms` keys), non-negative.
    pub fn millis(&mut self, key: &str, default_ms: u64) -> Duration {
        Duration::from_millis(self.int_in(key, default_ms as i64, 0, i64::MAX) as u64)
    }

    /// Java's boolean parsing: `true`/`false`, case-insensitive, surrounding spaces ignored.
    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.lookup(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => default,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                let got = self.raw.get(key).unwrap_or_default().to_owned();
                self.invalid(key, "true or false", got);
                default
            }
        }
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&mut self, key: &str) -> Vec<String> {
        self.lookup(key)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// One of `allowed` (case-insensitive), returned as written in `allowed`.
    pub fn one_of(&mut self, key: &str, default: &'static str, allowed: &[&'static str]) -> &'static str {
        match self.lookup(key) {
            None => default,
            Some(v) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(v.trim())) {
                Some(a) => a,
                None => {
                    self.invalid(key, format!("one of {}", allowed.join(", ")), v);
                    default
                }
            },
        }
    }

    pub fn password(&mut self, key: &str) -> Option<Password> {
        self.lookup(key).map(Password::new)
    }

    /// All keys under `prefix`, with the prefix removed; they count as known.
    pub fn prefixed(&mut self, prefix: &str) -> BTreeMap<String, String> {
        self.known_prefixes.push(prefix.to_owned());
        self.raw
            .entries
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k[prefix.len()..].to_owned(), e.value.clone()))
            .collect()
    }

    /// The keys under `prefix` as a config of their own (prefix removed, lines kept), for a
    /// component with its own keys (a converter, a transform); they count as known here.
    pub fn section(&mut self, prefix: &str) -> RawConfig {
        self.known_prefixes.push(prefix.to_owned());
        let entries = self
            .raw
            .entries
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k[prefix.len()..].to_owned(), e.clone()))
            .collect();
        RawConfig { origin: self.raw.origin.clone(), entries, initial_state: None }
    }

    /// Takes the errors of a [`ConfigReader::section`]'s reader, with their keys prefixed again.
    pub fn absorb(&mut self, prefix: &str, errors: Vec<ConfigError>) {
        for e in errors {
            self.errors.push(match e {
                ConfigError::Invalid { origin, line, key, expected, got } => {
                    ConfigError::Invalid { origin, line, key: format!("{prefix}{key}"), expected, got }
                }
                ConfigError::Missing { origin, key, expected } => {
                    ConfigError::Missing { origin, key: format!("{prefix}{key}"), expected }
                }
                other => other,
            });
        }
    }

    /// `pattern` (the value of `key`) as a regex that must match a whole string, as Java's
    /// `Matcher.matches()`; Java-only constructs (look-around, back-references) are an error.
    pub fn whole_match_regex(&mut self, key: &str, pattern: &str) -> Option<regex::Regex> {
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => Some(re),
            Err(e) => {
                let why = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                self.invalid(
                    key,
                    format!("a regular expression without look-around or back-references ({why})"),
                    pattern,
                );
                None
            }
        }
    }

    /// Marks keys as known without reading them (accepted and ignored).
    pub fn accept(&mut self, keys: &[&str]) {
        self.known.extend(keys.iter().map(|k| (*k).to_owned()));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors found and the keys nobody asked for.
    pub fn finish(self) -> (Vec<ConfigError>, Vec<UnknownKey>) {
        let mut unknown = Vec::new();
        for (key, entry) in &self.raw.entries {
            if self.known.contains(key) || self.known_prefixes.iter().any(|p| key.starts_with(p.as_str())) {
                continue;
            }
            let suggestion = self
                .known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, key), k))
                .filter(|(score, _)| *score > 0.88)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| k.clone());
            unknown.push(UnknownKey {
                origin: self.raw.origin.clone(),
                line: entry.line,
                key: key.clone(),
                suggestion,
            });
        }
        (self.errors, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        let mut r = RawConfig::new("c.properties");
        for (i, (k, v)) in pairs.iter().enumerate() {
            r.insert(*k, *v, Some(i + 1));
        }
        r
    }

    #[test]
    fn collects_every_error_with_file_and_line() {
        let r = raw(&[("batch.size", "many"), ("flag", "yes"), ("db.password", "s3cret")]);
        let mut rd = ConfigReader::new(&r);
        assert_eq!(rd.int_in("batch.size", 2000, 1, i64::MAX), 2000);
        assert!(!rd.bool("flag", false));
        rd.required("topic", "a topic name");
        rd.invalid("db.password", "something", "s3cret");
        let (errors, _) = rd.finish();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "c.properties:1: batch.size: expected an integer >= 1, got \"many\"",
                "c.properties:2: flag: expected true or false, got \"yes\"",
                "c.properties: topic: missing required key (a topic name)",
                "c.properties:3: db.password: expected something, got \"[hidden]\"",
            ]
        );
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let r = raw(&[("topik", "t"), ("producer.linger.ms", "5"), ("zzz", "1")]);
        let mut rd = ConfigReader::new(&r);
        rd.string("topic");
        rd.prefixed("producer.");
        let (_, unknown) = rd.finish();
        assert_eq!(unknown.len(), 2);
        assert_eq!(unknown[0].to_string(), "c.properties:1: topik: unknown key, ignored (did you mean 'topic'?)");
        assert_eq!(unknown[1].suggestion, None);
    }

    #[test]
    fn junk_and_huge_keys_print_as_one_short_line() {
        let mut raw = RawConfig::new("c.properties");
        raw.insert("\u{1b}[31mred\u{0}", "x", Some(1));
        raw.insert("k".repeat(5_000_000), "v", Some(2));
        let r = ConfigReader::new(&raw);
        let (_, unknown) = r.finish();
        let shown: Vec<String> = unknown.iter().map(|u| u.to_string()).collect();
        assert!(shown.iter().all(|l| !l.contains('\u{1b}') && !l.contains('\0') && l.len() < 300), "{shown:?}");
        assert!(shown.iter().any(|l| l.contains("(5000000 bytes)")), "{shown:?}");
        let mut r = ConfigReader::new(&raw);
        r.invalid("tasks.max", "a number", "9".repeat(1_000_000));
        let e = r.finish().0[0].to_string();
        assert!(e.len() < 400 && e.contains("(1000000 bytes)"), "{}", &e[..400.min(e.len())]);
    }

    #[test]
    fn passwords_inside_urls_are_redacted() {
        let cases = [
            (
                "jdbc:mysql://h:3306/db?user=u&password=s3cr%26t&useSSL=false",
                "jdbc:mysql://h:3306/db?user=u&password=[hidden]&useSSL=false",
            ),
            ("jdbc:mysql://u:pa:ss@h:3306/db", "jdbc:mysql://u:[hidden]@h:3306/db"),
            ("jdbc:postgresql://h/db?PASSWORD=x", "jdbc:postgresql://h/db?PASSWORD=[hidden]"),
            ("jdbc:sqlserver://h;user=u;password=x;db=d", "jdbc:sqlserver://h;user=u;password=[hidden];db=d"),
            (
                "jdbc:mysql://h/db?trustCertificateKeyStorePassword=x&a=b",
                "jdbc:mysql://h/db?trustCertificateKeyStorePassword=[hidden]&a=b",
            ),
            ("mysql://u@h/db", "mysql://u@h/db"),
            ("a@b.c", "a@b.c"),
            ("jdbc:mysql://h/db?user=u", "jdbc:mysql://h/db?user=u"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_value("connection.url", url), shown, "{url}");
        }
        assert_eq!(redact_value("database.password", "x"), "[hidden]");
        let mut raw = RawConfig::new("c.properties");
        raw.insert("connection.url", "jdbc:mysql://h:3306/db?user=u&password=pw", Some(1));
        raw.insert("tasks.max", "x", Some(2));
        assert_eq!(raw.redacted()["connection.url"], "jdbc:mysql://h:3306/db?user=u&password=[hidden]");
        let mut r = ConfigReader::new(&raw);
        r.invalid("connection.url", "a URL", "jdbc:mysql://u:pw@h/db");
        let e = r.finish().0[0].to_string();
        assert!(e.contains("jdbc:mysql://u:[hidden]@h/db") && !e.contains("pw"), "{e}");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut r = raw(&[("connection.password", "pw"), ("user", "u")]);
        r.entries.get_mut("user").unwrap().unresolved = Some("${env:U}".into());
        let shown = r.redacted();
        assert_eq!(shown["connection.password"], "[hidden]");
        assert_eq!(shown["user"], "${env:U}");
        assert_eq!(format!("{:?}", Password::new("x")), "[hidden]");
        // as written: the reference comes back unresolved, for a PATCH or a config topic
        let written = r.as_written();
        assert_eq!(written["user"], "${env:U}");
        assert_eq!(written["connection.password"], "pw");
    }
}
