//! `schema.compatibility` (storage-common's `StorageSchemaCompatibility`): what a record whose
//! value schema differs from its open file's does.
//!
//! - `NONE`: any other schema starts a new file.
//! - `BACKWARD` and `FULL`: a higher schema version starts a new file; a record of a lower version
//!   is projected to the file's (newer) schema ([`runtime::data::project`]).
//! - `FORWARD`: a lower version starts a new file; a higher one is projected to the file's.
//!
//! Other than `NONE`, both schemas need a version (AvroConverter sets one, from `connect.version`
//! or the registry; JsonConverter never does), and data switching between schema and schemaless
//! fails the task, as in Confluent's connector.

use runtime::data::{project, Schema, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    None,
    Backward,
    Forward,
    Full,
}

/// What to do with a record against its open file's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Write it as it is.
    Write,
    /// Cut the open file first (the record starts a new one).
    NewFile,
    /// Write it rewritten to the file's schema.
    Project(Value),
}

impl Compatibility {
    pub fn parse(name: &str) -> Compatibility {
        match name {
            "BACKWARD" => Compatibility::Backward,
            "FORWARD" => Compatibility::Forward,
            "FULL" => Compatibility::Full,
            _ => Compatibility::None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::Forward => "FORWARD",
            Compatibility::Full => "FULL",
        }
    }

    /// The step for a record of `schema` and `value` when the open file's schema is `current`
    /// (`None` for `NONE`: its rule is the encoders' own schema check).
    pub fn step(self, schema: Option<&Schema>, value: &Value, current: Option<&Schema>) -> Result<Step, String> {
        if self == Compatibility::None {
            return Ok(Step::Write);
        }
        let (record, file) = match (schema, current) {
            (None, None) => return Ok(Step::Write),
            (Some(r), Some(f)) => (r, f),
            _ => return Err("Switch between schema-based and schema-less data is not supported".into()),
        };
        let (Some(rv), Some(fv)) = (record.version, file.version) else {
            return Err(format!(
                "Schema version required for {} compatibility (schema.compatibility): the records' converter sets \
                 none (AvroConverter sets one; JsonConverter does not)",
                self.name()
            ));
        };
        let newer_file = match self {
            Compatibility::Forward => rv < fv,
            _ => rv > fv,
        };
        if newer_file {
            return Ok(Step::NewFile);
        }
        if record == file {
            return Ok(Step::Write);
        }
        project(record, value, file).map(Step::Project).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::data::{Struct, Type};

    fn schema(version: i32, with_qty: bool) -> Schema {
        let mut b = Schema::builder(Type::Struct)
            .name("orders")
            .version(version)
            .field("id", Schema::primitive(Type::Int32, false));
        if with_qty {
            b = b.field("qty", Schema::builder(Type::Int32).default_value(Value::Int32(1)).build());
        }
        b.build()
    }

    fn row(s: &Schema) -> Value {
        let mut v = Struct::new(s.clone());
        v.put("id", Value::Int32(3));
        if s.field("qty").is_some() {
            v.put("qty", Value::Int32(5));
        }
        Value::Struct(v)
    }

    #[test]
    fn backward_rotates_up_and_projects_older_records() {
        let (v1, v2) = (schema(1, false), schema(2, true));
        let c = Compatibility::Backward;
        assert_eq!(c.step(Some(&v2), &row(&v2), Some(&v1)).unwrap(), Step::NewFile);
        let Step::Project(Value::Struct(p)) = c.step(Some(&v1), &row(&v1), Some(&v2)).unwrap() else { panic!() };
        assert_eq!(p.get("qty"), Some(&Value::Int32(1)), "the newer schema's default");
        assert_eq!(c.step(Some(&v2), &row(&v2), Some(&v2)).unwrap(), Step::Write);
        assert_eq!(Compatibility::Full.step(Some(&v2), &row(&v2), Some(&v1)).unwrap(), Step::NewFile);
    }

    #[test]
    fn forward_rotates_down_and_projects_newer_records() {
        let (v1, v2) = (schema(1, false), schema(2, true));
        let c = Compatibility::Forward;
        assert_eq!(c.step(Some(&v1), &row(&v1), Some(&v2)).unwrap(), Step::NewFile);
        let Step::Project(Value::Struct(p)) = c.step(Some(&v2), &row(&v2), Some(&v1)).unwrap() else { panic!() };
        assert_eq!(p.get("qty"), None, "the older schema has no qty");
    }

    #[test]
    fn versions_are_required_and_schemaless_switches_refused() {
        let unversioned = Schema::builder(Type::Struct).name("orders").build();
        let err = Compatibility::Backward.step(Some(&unversioned), &Value::Null, Some(&unversioned)).unwrap_err();
        assert!(err.starts_with("Schema version required for BACKWARD compatibility"), "{err}");
        let err = Compatibility::Full.step(None, &Value::Null, Some(&schema(1, false))).unwrap_err();
        assert!(err.contains("schema-less"), "{err}");
        assert_eq!(Compatibility::None.step(None, &Value::Null, Some(&schema(1, false))).unwrap(), Step::Write);
    }
}
