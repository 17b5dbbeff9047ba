//! Config providers: `${env:NAME}`, `${file:path:key}` and `${directory:dir:file}`, substituted
//! before any key is parsed (Kafka's `ConfigTransformer`, pattern `${provider:[path:]key}`).
//!
//! Providers are declared in the worker file as in Kafka (`config.providers=file,env` with
//! `config.providers.<name>.class=…FileConfigProvider`). When the worker declares none, sluice
//! enables `env` and `file` under those names (a documented extension). Unlike Kafka, a reference
//! that resolves to nothing (an unset variable, a missing key) is an error, not left in place.

use std::collections::BTreeMap;
use std::path::Path;

use super::file::load_properties;
use super::reader::{ConfigError, RawConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Env,
    File,
    Directory,
}

/// Provider name → kind, from the worker config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Providers(BTreeMap<String, ProviderKind>);

impl Default for Providers {
    fn default() -> Self {
        Providers(BTreeMap::from([("env".into(), ProviderKind::Env), ("file".into(), ProviderKind::File)]))
    }
}

impl Providers {
    /// Reads `config.providers` and `config.providers.<name>.class` from the (unresolved) worker file.
    pub fn from_worker(raw: &RawConfig) -> Result<Self, Vec<ConfigError>> {
        let Some(names) = raw.get("config.providers") else { return Ok(Providers::default()) };
        let mut map = BTreeMap::new();
        let mut errors = Vec::new();
        for name in names.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let key = format!("config.providers.{name}.class");
            let class = raw.get(&key).unwrap_or_default();
            let kind = match class.rsplit('.').next().unwrap_or_default() {
                "EnvVarConfigProvider" => ProviderKind::Env,
                "FileConfigProvider" => ProviderKind::File,
                "DirectoryConfigProvider" => ProviderKind::Directory,
                _ => {
                    errors.push(ConfigError::Invalid {
                        origin: raw.origin.clone(),
                        line: raw.line(&key).or(raw.line("config.providers")),
                        key,
                        expected:
                            "one of org.apache.kafka.common.config.provider.{EnvVar,File,Directory}ConfigProvider"
                                .into(),
                        got: class.to_owned(),
                    });
                    continue;
                }
            };
            map.insert(name.to_owned(), kind);
        }
        if errors.is_empty() {
            Ok(Providers(map))
        } else {
            Err(errors)
        }
    }

    /// Substitutes every `${…}` reference in `raw`, keeping the original text for display.
    pub fn resolve(&self, raw: &mut RawConfig) -> Vec<ConfigError> {
        let origin = raw.origin.clone();
        let mut errors = Vec::new();
        for (key, entry) in raw.entries.iter_mut() {
            if !entry.value.contains("${") || key.starts_with("config.providers") {
                continue;
            }
            match self.substitute(&entry.value) {
                Ok(Some(resolved)) => {
                    entry.unresolved = Some(std::mem::replace(&mut entry.value, resolved));
                }
                Ok(None) => {}
                Err(message) => errors.push(ConfigError::Invalid {
                    origin: origin.clone(),
                    line: entry.line,
                    key: key.clone(),
                    expected: "a resolvable config provider reference".into(),
                    got: format!("{} ({message})", entry.value),
                }),
            }
        }
        errors
    }

    /// `Ok(None)` when nothing was substituted.
    fn substitute(&self, value: &str) -> Result<Option<String>, String> {
        let mut out = String::new();
        let mut rest = value;
        let mut changed = false;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else { break };
            let inner = &rest[start + 2..start + len];
            out.push_str(&rest[..start]);
            match self.lookup(inner)? {
                Some(v) => {
                    out.push_str(&v);
                    changed = true;
                }
                None => out.push_str(&rest[start..start + len + 1]),
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(changed.then_some(out))
    }

    fn lookup(&self, inner: &str) -> Result<Option<String>, String> {
        let Some((provider, tail)) = inner.split_once(':') else { return Ok(None) };
        let Some(kind) = self.0.get(provider) else { return Ok(None) };
        let (path, key) = match tail.split_once(':') {
            Some((p, k)) => (Some(p), k),
            None => (None, tail),
        };
        match (kind, path) {
            (ProviderKind::Env, None) => {
                std::env::var(key).map(Some).map_err(|_| format!("environment variable {key} is not set"))
            }
            (ProviderKind::File, Some(path)) => {
                let (props, _) = load_properties(Path::new(path)).map_err(|e| e.to_string())?;
                props.get(key).map(|v| Some(v.to_owned())).ok_or_else(|| format!("no key {key} in {path}"))
            }
            (ProviderKind::Directory, Some(dir)) => std::fs::read_to_string(Path::new(dir).join(key))
                .map(Some)
                .map_err(|e| format!("cannot read {dir}/{key}: {e}")),
            (ProviderKind::Env, Some(_)) => Err("the env provider takes ${env:NAME}".into()),
            (_, None) => Err(format!("the {provider} provider takes ${{{provider}:path:key}}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any value with `${…}` references: resolved or an error, never a panic (issue 12).
        #[test]
        fn any_references_never_panic(value in "(\\PC|\\$\\{|\\}|:){0,30}") {
            let mut worker = RawConfig::new("w.properties");
            worker.insert("config.providers", "env,file,directory", Some(1));
            worker.insert("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider", Some(2));
            worker.insert("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider", Some(3));
            worker.insert("config.providers.directory.class", "org.apache.kafka.common.config.provider.DirectoryConfigProvider", Some(4));
            if let Ok(p) = Providers::from_worker(&worker) {
                let mut raw = RawConfig::new("c.properties");
                raw.insert("k", value, Some(1));
                let _ = p.resolve(&mut raw);
            }
        }
    }

    #[test]
    fn env_and_file_references() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("s.properties");
        std::fs::write(&secrets, "db.password=pa:ss\n").unwrap();
        std::env::set_var("SLUICE_TEST_PROVIDER_USER", "alice");
        let mut raw = RawConfig::new("c.properties");
        raw.insert("user", "${env:SLUICE_TEST_PROVIDER_USER}", Some(1));
        raw.insert("password", format!("${{file:{}:db.password}}", secrets.display()), Some(2));
        raw.insert("plain", "x${other:y}", Some(3));
        raw.insert("missing", "${env:SLUICE_TEST_PROVIDER_UNSET}", Some(4));
        let errors = Providers::default().resolve(&mut raw);
        assert_eq!(raw.get("user"), Some("alice"));
        assert_eq!(raw.get("password"), Some("pa:ss"));
        assert_eq!(raw.get("plain"), Some("x${other:y}"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().starts_with("c.properties:4: missing: expected a resolvable"));
        assert_eq!(raw.redacted()["password"], format!("${{file:{}:db.password}}", secrets.display()));
    }

    #[test]
    fn declared_providers() {
        let mut raw = RawConfig::new("w.properties");
        raw.insert("config.providers", "vault", Some(1));
        raw.insert("config.providers.vault.class", "com.example.Vault", Some(2));
        let err = Providers::from_worker(&raw).unwrap_err();
        assert!(err[0].to_string().starts_with("w.properties:2: config.providers.vault.class: expected one of"));
    }
}
