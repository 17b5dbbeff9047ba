//! Field paths as `field.syntax.version` reads them (KIP-821, Kafka 3.8+).
//!
//! `V1` (the default): the whole text is one top-level field name. `V2`: dots separate the
//! steps of a path into nested structs or maps; a step holding dots is wrapped in backticks
//! (`` `a.b`.c ``), a backtick inside a wrapped step is escaped with a backslash when a dot
//! follows it, and a path ending in a dot has an empty last step. A wrapped step with no closing
//! backtick is a config error, as in Kafka.

use crate::data::{Field, Schema, Type, Value};

/// The steps of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    steps: Vec<String>,
}

impl FieldPath {
    /// A `V1` path: one top-level field.
    pub fn v1(name: &str) -> FieldPath {
        FieldPath { steps: vec![name.to_owned()] }
    }

    /// A `V2` path, or what is wrong with it.
    pub fn v2(path: &str) -> Result<FieldPath, String> {
        let mut steps = Vec::new();
        let bytes = path.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'`' {
                match path[i..].find('.') {
                    Some(dot) => {
                        steps.push(path[i..i + dot].to_owned());
                        i += dot + 1;
                    }
                    None => {
                        steps.push(path[i..].to_owned());
                        i = bytes.len();
                    }
                }
                continue;
            }
            let opened_at = i;
            let (step, next) = wrapped_step(path, i + 1).ok_or_else(|| {
                format!(
                    "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick \
                     at position {opened_at} to escape it"
                )
            })?;
            steps.push(step);
            i = next;
        }
        if path.ends_with('.') {
            steps.push(String::new());
        }
        Ok(FieldPath { steps })
    }

    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// The field the path names in `schema`, if every step exists (structs only).
    pub fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (last, parents) = self.steps.split_last()?;
        let mut current = schema;
        for step in parents {
            current = &current.field(step)?.schema;
        }
        if current.ty != Type::Struct {
            return None;
        }
        current.field(last)
    }

    /// The value at the path in a struct value; null where a step is missing or null.
    pub fn value_from_struct(&self, value: &Value) -> Value {
        let mut current = value;
        for step in &self.steps {
            let Value::Struct(s) = current else { return Value::Null };
            match s.schema.fields.iter().position(|f| &f.name == step) {
                Some(i) => current = &s.values[i],
                None => return Value::Null,
            }
        }
        current.clone()
    }

    /// The value at the path in a map with string keys; null where a step is missing or null,
    /// an error where a step on the way is neither a map nor null.
    pub fn value_from_map(&self, value: &Value) -> Result<Value, String> {
        let mut current = value;
        let last = self.steps.len().saturating_sub(1);
        for (n, step) in self.steps.iter().enumerate() {
            let entries = match current {
                Value::Map(entries) => entries,
                Value::Null => return Ok(Value::Null),
                other => {
                    return Err(format!(
                        "Only Map objects supported in absence of schema for [nested field access], found: {}",
                        super::fields::kind_of(other)
                    ))
                }
            };
            match entries.iter().find(|(k, _)| matches!(k, Value::String(s) if s == step)) {
                Some((_, v)) if n == last => return Ok(v.clone()),
                Some((_, v)) => current = v,
                None => return Ok(Value::Null),
            }
        }
        Ok(current.clone())
    }
}

/// A backtick-wrapped step starting after its opening backtick at `start`: the step's name and
/// where the next step starts, or `None` when no closing backtick ends it.
fn wrapped_step(path: &str, start: usize) -> Option<(String, usize)> {
    let bytes = path.as_bytes();
    let mut name = String::new();
    let mut from = start;
    let mut i = start;
    loop {
        i += path[i..].find('`')?;
        let escaped = bytes[i - 1] == b'\\' && i > start;
        if i == bytes.len() - 1 {
            if escaped {
                return None;
            }
            name.push_str(&path[from..i]);
            return Some((name, i + 1));
        }
        if bytes[i + 1] != b'.' {
            i += 1;
            continue;
        }
        if escaped {
            name.push_str(&path[from..i - 1]);
            name.push('`');
            i += 1;
            from = i;
            continue;
        }
        name.push_str(&path[from..i]);
        return Some((name, i + 2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(path: &str) -> Vec<String> {
        FieldPath::v2(path).unwrap().steps
    }

    #[test]
    fn v2_paths_split_as_kip_821() {
        assert_eq!(steps("foo"), ["foo"]);
        assert_eq!(steps("foo.bar.baz"), ["foo", "bar", "baz"]);
        assert_eq!(steps("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(steps("foo.`bar.baz`"), ["foo", "bar.baz"]);
        assert_eq!(steps("`foo`"), ["foo"]);
        assert_eq!(steps("foo."), ["foo", ""]);
        assert_eq!(steps("foo..bar"), ["foo", "", "bar"]);
        // a backtick inside a wrapped step stays when no dot follows it
        assert_eq!(steps("`fo`o`.bar"), ["fo`o", "bar"]);
        // an escaped backtick before a dot stays in the name
        assert_eq!(steps("`foo\\`.bar`.baz"), ["foo`.bar", "baz"]);
        // backticks inside an unwrapped step are plain characters
        assert_eq!(steps("fo`o.bar"), ["fo`o", "bar"]);
    }

    #[test]
    fn an_unclosed_backtick_is_refused_with_its_position() {
        let err = FieldPath::v2("foo.`bar.baz").unwrap_err();
        assert!(err.contains("Incomplete backtick pair in path: [foo.`bar.baz]"), "{err}");
        assert!(err.contains("position 4"), "{err}");
        assert!(FieldPath::v2("`foo\\`").is_err());
    }

    #[test]
    fn v1_is_one_step_whatever_it_holds() {
        assert_eq!(FieldPath::v1("a.b").steps(), ["a.b"]);
    }
}
