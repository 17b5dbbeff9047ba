//! Kafka's `SchemaProjector`: a value of one schema rewritten to another schema it is compatible
//! with (a newer or older version of the same record). Struct fields are matched by name; a
//! field the source lacks takes the target's default, or null when optional; numbers widen
//! (int8 → int16 → int32 → int64 → float32 → float64); names and parameters must be equal.

use super::{Schema, Struct, Type, Value};

/// `SchemaProjectorException`'s message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProjectError(pub String);

fn promotable(from: Type, to: Type) -> bool {
    use Type::*;
    matches!(
        (from, to),
        (Int8, Int16 | Int32 | Int64 | Float32 | Float64)
            | (Int16, Int32 | Int64 | Float32 | Float64)
            | (Int32, Int64 | Float32 | Float64)
            | (Int64, Float32 | Float64)
            | (Float32, Float64)
    )
}

fn check(source: &Schema, target: &Schema) -> Result<(), ProjectError> {
    if source.ty != target.ty && !promotable(source.ty, target.ty) {
        return Err(ProjectError(format!(
            "Schema type mismatch. source type: {:?} and target type: {:?}",
            source.ty, target.ty
        )));
    }
    if source.name != target.name {
        return Err(ProjectError(format!(
            "Schema name mismatch. source name: {:?} and target name: {:?}",
            source.name, target.name
        )));
    }
    if source.parameters != target.parameters {
        return Err(ProjectError(format!(
            "Schema parameters not equal. source parameters: {:?} and target parameters: {:?}",
            source.parameters, target.parameters
        )));
    }
    Ok(())
}

/// `value` (of `source`) as a value of `target`.
pub fn project(source: &Schema, value: &Value, target: &Schema) -> Result<Value, ProjectError> {
    check(source, target)?;
    match value {
        Value::Null if source.optional && !target.optional => target.default.clone().ok_or_else(|| {
            ProjectError("Writer schema is optional, however, target schema does not provide a default value.".into())
        }),
        Value::Null => Ok(Value::Null),
        v => required(source, v, target),
    }
}

fn required(source: &Schema, value: &Value, target: &Schema) -> Result<Value, ProjectError> {
    match (target.ty, value) {
        (Type::Struct, Value::Struct(s)) => project_struct(source, s, target),
        (Type::Array, Value::Array(items)) => {
            let (from, to) = (element(source, false)?, element(target, false)?);
            items.iter().map(|v| project(from, v, to)).collect::<Result<_, _>>().map(Value::Array)
        }
        (Type::Map, Value::Map(entries)) => {
            let (kf, kt, vf, vt) =
                (element(source, true)?, element(target, true)?, element(source, false)?, element(target, false)?);
            entries
                .iter()
                .map(|(k, v)| Ok((project(kf, k, kt)?, project(vf, v, vt)?)))
                .collect::<Result<_, _>>()
                .map(Value::Map)
        }
        (to, v) if source.ty != to => widen(v, to),
        (_, v) => Ok(v.clone()),
    }
}

fn element(schema: &Schema, key: bool) -> Result<&Schema, ProjectError> {
    let inner = if key { schema.key.as_ref() } else { schema.value.as_ref() };
    inner.ok_or_else(|| ProjectError(format!("{:?} schema without its element schema", schema.ty)))
}

fn project_struct(source: &Schema, value: &Struct, target: &Schema) -> Result<Value, ProjectError> {
    let mut out = Struct::new(target.clone());
    for field in &target.fields {
        match source.field(&field.name) {
            Some(from) => {
                // `Struct.get`: a null takes the source field's default
                let v = match value.get(&field.name) {
                    Some(Value::Null) | None => from.schema.default.clone().unwrap_or(Value::Null),
                    Some(v) => v.clone(),
                };
                out.put(&field.name, project(&from.schema, &v, &field.schema)?);
            }
            None if field.schema.optional => {}
            None => match &field.schema.default {
                Some(d) => {
                    out.put(&field.name, d.clone());
                }
                None => {
                    return Err(ProjectError(format!(
                        "Required field `{}` is missing from source schema: {:?}",
                        field.name,
                        source.name.as_deref().unwrap_or("struct")
                    )))
                }
            },
        }
    }
    Ok(Value::Struct(out))
}

fn widen(v: &Value, to: Type) -> Result<Value, ProjectError> {
    let as_f64 = match v {
        Value::Int8(n) => *n as f64,
        Value::Int16(n) => *n as f64,
        Value::Int32(n) => *n as f64,
        Value::Int64(n) => *n as f64,
        Value::Float32(x) => *x as f64,
        other => return Err(ProjectError(format!("cannot promote {other:?} to {to:?}"))),
    };
    let as_i64 = match v {
        Value::Int8(n) => *n as i64,
        Value::Int16(n) => *n as i64,
        Value::Int32(n) => *n as i64,
        Value::Int64(n) => *n,
        _ => 0,
    };
    Ok(match to {
        Type::Int16 => Value::Int16(as_i64 as i16),
        Type::Int32 => Value::Int32(as_i64 as i32),
        Type::Int64 => Value::Int64(as_i64),
        Type::Float32 => Value::Float32(as_f64 as f32),
        Type::Float64 => Value::Float64(as_f64),
        other => return Err(ProjectError(format!("cannot promote {v:?} to {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1() -> Schema {
        Schema::builder(Type::Struct)
            .name("orders")
            .version(1)
            .field("id", Schema::primitive(Type::Int32, false))
            .field("note", Schema::primitive(Type::String, true))
            .build()
    }

    fn v2() -> Schema {
        Schema::builder(Type::Struct)
            .name("orders")
            .version(2)
            .field("id", Schema::primitive(Type::Int64, false))
            .field("note", Schema::primitive(Type::String, true))
            .field("qty", Schema::builder(Type::Int32).default_value(Value::Int32(1)).build())
            .field("tag", Schema::primitive(Type::String, true))
            .build()
    }

    #[test]
    fn an_older_record_takes_the_newer_schema_with_defaults_and_widened_numbers() {
        let mut s = Struct::new(v1());
        s.put("id", Value::Int32(7)).put("note", Value::String("n".into()));
        let Value::Struct(out) = project(&v1(), &Value::Struct(s), &v2()).unwrap() else { panic!() };
        assert_eq!(out.get("id"), Some(&Value::Int64(7)));
        assert_eq!(out.get("note"), Some(&Value::String("n".into())));
        assert_eq!(out.get("qty"), Some(&Value::Int32(1)));
        assert_eq!(out.get("tag"), Some(&Value::Null));
    }

    #[test]
    fn a_required_field_without_default_or_a_type_change_is_refused() {
        let mut s = Struct::new(v2());
        s.put("id", Value::Int64(7)).put("qty", Value::Int32(2));
        // v2 → v1: id narrows from int64 to int32
        let err = project(&v2(), &Value::Struct(s), &v1()).unwrap_err();
        assert!(err.0.contains("Schema type mismatch"), "{err}");
        let needs = Schema::builder(Type::Struct)
            .name("orders")
            .field("id", Schema::primitive(Type::Int32, false))
            .field("must", Schema::primitive(Type::String, false))
            .build();
        let mut s = Struct::new(v1());
        s.put("id", Value::Int32(1));
        let err = project(&v1(), &Value::Struct(s), &needs).unwrap_err();
        assert!(err.0.contains("Required field `must` is missing"), "{err}");
        let renamed = Schema::builder(Type::Struct).name("other").build();
        assert!(project(&v1(), &Value::Null, &renamed).unwrap_err().0.contains("Schema name mismatch"));
    }
}
