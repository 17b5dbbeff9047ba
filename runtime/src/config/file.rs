//! Reading worker and connector files: `.properties` (Java rules) or JSON, as
//! `ConnectStandalone.parseConnectorConfigurationFile` accepts them (kafka-connect-runtime.md §1.3).

use std::path::Path;
use std::sync::Arc;

use super::properties;
use super::reader::{ConfigError, ConfigErrors, InitialState, RawConfig};

/// Warnings found while reading (duplicate keys); errors are returned as `Err`.
pub type Loaded = (RawConfig, Vec<String>);

fn file_error(origin: &Arc<str>, line: Option<usize>, message: impl Into<String>) -> ConfigError {
    ConfigError::File { origin: origin.clone(), line, message: message.into() }
}

fn read(path: &Path) -> Result<(Arc<str>, Vec<u8>), ConfigError> {
    let origin: Arc<str> = path.display().to_string().into();
    let bytes = std::fs::read(path).map_err(|e| file_error(&origin, None, format!("cannot read file: {e}")))?;
    Ok((origin, bytes))
}

/// A worker file: always `.properties`.
pub fn load_properties(path: &Path) -> Result<Loaded, ConfigError> {
    let (origin, bytes) = read(path)?;
    properties_from_text(origin, &properties::decode(&bytes))
}

/// Parses `.properties` text. The last duplicate wins, as in Java, with a warning naming both lines.
pub fn properties_from_text(origin: Arc<str>, text: &str) -> Result<Loaded, ConfigError> {
    let props = properties::parse(text).map_err(|e| file_error(&origin, Some(e.line), e.to_string()))?;
    let mut raw = RawConfig::new(origin.clone());
    let mut warnings = Vec::new();
    for p in props {
        if let Some(prev) = raw.line(&p.key) {
            warnings.push(format!(
                "{origin}:{}: {}: duplicate key, the value on line {} is overridden",
                p.line, p.key, prev
            ));
        }
        raw.insert(p.key, p.value, Some(p.line));
    }
    Ok((raw, warnings))
}

/// A connector file: JSON (flat map, or `{"name":…,"config":{…}}`) or `.properties`.
pub fn load_connector(path: &Path) -> Result<Loaded, ConfigErrors> {
    let (origin, bytes) = read(path)?;
    let text = properties::decode(&bytes);
    if text.trim_start().starts_with('{') {
        connector_from_json(origin, &text).map(|raw| (raw, Vec::new()))
    } else {
        Ok(properties_from_text(origin, &text)?)
    }
}

/// Parses the JSON connector forms Kafka accepts; numbers and booleans become their JSON text.
/// Every problem of the file is reported, not only the first.
pub fn connector_from_json(origin: Arc<str>, text: &str) -> Result<RawConfig, ConfigErrors> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| file_error(&origin, Some(e.line()), format!("invalid JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| file_error(&origin, None, "expected a JSON object"))?;
    let mut errors = Vec::new();
    let initial_state = match object.get("initial_state").and_then(|v| v.as_str()) {
        None => None,
        Some(s) => match s.to_ascii_uppercase().as_str() {
            "RUNNING" => Some(InitialState::Running),
            "PAUSED" => Some(InitialState::Paused),
            "STOPPED" => Some(InitialState::Stopped),
            _ => {
                errors.push(file_error(
                    &origin,
                    line_of(text, "initial_state"),
                    format!("initial_state: expected RUNNING, PAUSED or STOPPED, got {s:?}"),
                ));
                None
            }
        },
    };
    let (config, name) = match object.get("config") {
        Some(serde_json::Value::Object(config)) => {
            let name = object.get("name").and_then(|n| n.as_str()).map(str::to_owned);
            (config, name)
        }
        Some(_) => {
            errors.push(file_error(&origin, line_of(text, "config"), "config: expected a JSON object"));
            return Err(ConfigErrors(errors));
        }
        None => (object, None),
    };
    let mut raw = RawConfig::new(origin.clone());
    raw.initial_state = initial_state;
    for (key, v) in config {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => {
                let shown = crate::error::cut(&other.to_string(), 100).into_owned();
                errors.push(file_error(
                    &origin,
                    line_of(text, key),
                    format!("{key}: expected a string, number or boolean, got {shown}"),
                ));
                continue;
            }
        };
        raw.insert(key.clone(), value, line_of(text, key));
    }
    if let Some(name) = name {
        match raw.get("name") {
            Some(inner) if inner != name => errors.push(file_error(
                &origin,
                line_of(text, "name"),
                format!("connector name configuration in 'config' ({inner}) doesn't match the one specified in 'name' ({name})"),
            )),
            Some(_) => {}
            None => raw.insert("name", name.clone(), line_of(text, "name")),
        }
    }
    if raw.get("name").is_none() {
        errors.push(file_error(&origin, None, "connector configuration is missing the mandatory 'name' configuration"));
    }
    match errors.is_empty() {
        true => Ok(raw),
        false => Err(ConfigErrors(errors)),
    }
}

/// The line of the first `"key"` in the text (JSON parsers keep no positions per key).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    text.find(&needle).map(|at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms() {
        let flat = connector_from_json("c.json".into(), r#"{"name":"f","tasks.max":1,"x":true}"#).unwrap();
        assert_eq!(flat.get("tasks.max"), Some("1"));
        assert_eq!(flat.get("x"), Some("true"));
        let wrapped =
            connector_from_json("c.json".into(), "{\"name\":\"f\",\n\"config\":{\n\"topic\":\"t\"}}").unwrap();
        assert_eq!(wrapped.get("name"), Some("f"));
        assert_eq!(wrapped.line("topic"), Some(3));
        let mismatch = connector_from_json("c.json".into(), r#"{"name":"f","config":{"name":"g"}}"#);
        assert!(mismatch.unwrap_err().to_string().contains("doesn't match"));
        let nameless = connector_from_json("c.json".into(), r#"{"topic":"t"}"#);
        assert!(nameless.unwrap_err().to_string().contains("mandatory 'name'"));
        // every bad value at once, each with its line
        let bad = connector_from_json("c.json".into(), "{\"name\":\"f\",\n\"a\":[1],\n\"b\":{\"x\":1},\n\"c\":null}")
            .unwrap_err();
        let lines: Vec<String> = bad.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            lines,
            [
                "c.json:2: a: expected a string, number or boolean, got [1]",
                "c.json:3: b: expected a string, number or boolean, got {\"x\":1}",
                "c.json:4: c: expected a string, number or boolean, got null",
            ]
        );
    }

    #[test]
    fn duplicates_warn_and_last_wins() {
        let (raw, warnings) = properties_from_text("w.properties".into(), "a=1\na=2\n").unwrap();
        assert_eq!(raw.get("a"), Some("2"));
        assert_eq!(warnings, vec!["w.properties:2: a: duplicate key, the value on line 1 is overridden"]);
    }
}
