//! Connect values as Avro values of the schema [`super::schema::FromConnect`] builds, and back
//! (guided by the Connect schema [`super::schema::to_connect`] reads).

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use num_bigint::BigInt;

use crate::data::{Schema, Struct, Type, Value, DATE, DECIMAL, TIME, TIMESTAMP};

/// Whether `FromConnect` put the null branch second (an optional schema with a non-null default).
fn null_second(schema: &Schema) -> bool {
    schema.default.as_ref().is_some_and(|d| *d != Value::Null)
}

/// A Connect value as an Avro value.
pub fn to_avro(schema: &Schema, value: &Value) -> Result<Avro, String> {
    if schema.optional {
        let (null, other) = if null_second(schema) { (1, 0) } else { (0, 1) };
        return Ok(match value {
            Value::Null => Avro::Union(null, Box::new(Avro::Null)),
            v => Avro::Union(other, Box::new(base_value(schema, v)?)),
        });
    }
    base_value(schema, value)
}

fn base_value(schema: &Schema, value: &Value) -> Result<Avro, String> {
    Ok(match value {
        Value::Null => match &schema.default {
            // Connect's validation lets a required field with a default be null: the default is written
            Some(d) if *d != Value::Null => return base_value(schema, d),
            _ => return Err(format!("a null value for the required {} schema", schema.ty.json_name())),
        },
        Value::Boolean(b) => Avro::Boolean(*b),
        Value::Int8(n) => Avro::Int(*n as i32),
        Value::Int16(n) => Avro::Int(*n as i32),
        Value::Int32(n) => Avro::Int(*n),
        Value::Int64(n) => Avro::Long(*n),
        Value::Float32(f) => Avro::Float(*f),
        Value::Float64(f) => Avro::Double(*f),
        Value::String(s) => Avro::String(s.clone()),
        Value::Bytes(b) => Avro::Bytes(b.clone()),
        Value::Decimal(unscaled, _) => Avro::Decimal(apache_avro::Decimal::from(unscaled.to_signed_bytes_be())),
        Value::Date(d) => Avro::Date(*d),
        Value::Time(t) => Avro::TimeMillis(*t),
        Value::Timestamp(t) => Avro::TimestampMillis(*t),
        Value::Array(items) => {
            let item_schema = schema.value.as_ref().ok_or("an array schema without items")?;
            Avro::Array(items.iter().map(|v| to_avro(item_schema, v)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => map_to_avro(schema, entries)?,
        Value::Struct(s) => Avro::Record(
            s.schema
                .fields
                .iter()
                .zip(&s.values)
                .map(|(f, v)| {
                    Ok((f.name.clone(), to_avro(&f.schema, v).map_err(|e| format!("field {}: {e}", f.name))?))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

fn map_to_avro(schema: &Schema, entries: &[(Value, Value)]) -> Result<Avro, String> {
    let (Some(ks), Some(vs)) = (&schema.key, &schema.value) else {
        return Err("a map schema without key or value".into());
    };
    if ks.ty == Type::String && !ks.optional {
        let mut m = HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            let Value::String(k) = k else { return Err("a map key that is not a string".into()) };
            m.insert(k.clone(), to_avro(vs, v)?);
        }
        return Ok(Avro::Map(m));
    }
    Ok(Avro::Array(
        entries
            .iter()
            .map(|(k, v)| Ok(Avro::Record(vec![("key".into(), to_avro(ks, k)?), ("value".into(), to_avro(vs, v)?)])))
            .collect::<Result<_, String>>()?,
    ))
}

/// An Avro value read with the writer's schema, as a Connect value of `schema` (the Connect
/// schema of that Avro schema).
pub fn from_avro(schema: &Schema, value: Avro) -> Result<Value, String> {
    let value = match value {
        Avro::Union(_, inner) if schema.name.as_deref() != Some(UNION) => *inner,
        v => v,
    };
    if let Avro::Null = value {
        return if schema.optional {
            Ok(Value::Null)
        } else {
            Err(format!("a null Avro value for the required {} schema", schema.ty.json_name()))
        };
    }
    let mismatch = |v: &Avro| format!("an Avro {v:?} where the schema has {}", schema.ty.json_name());
    Ok(match (schema.ty, schema.name.as_deref(), value) {
        (Type::Bytes, Some(DECIMAL), Avro::Decimal(d)) => {
            let bytes: Vec<u8> = d.try_into().map_err(|e: apache_avro::Error| e.to_string())?;
            Value::Decimal(BigInt::from_signed_bytes_be(&bytes), schema.scale())
        }
        (Type::Bytes, Some(DECIMAL), Avro::Bytes(b) | Avro::Fixed(_, b)) => {
            Value::Decimal(BigInt::from_signed_bytes_be(&b), schema.scale())
        }
        (Type::Int32, Some(DATE), Avro::Date(d) | Avro::Int(d)) => Value::Date(d),
        (Type::Int32, Some(TIME), Avro::TimeMillis(t) | Avro::Int(t)) => Value::Time(t),
        (Type::Int64, Some(TIMESTAMP), Avro::TimestampMillis(t) | Avro::Long(t)) => Value::Timestamp(t),
        (Type::Boolean, _, Avro::Boolean(b)) => Value::Boolean(b),
        (Type::Int8, _, Avro::Int(n)) => Value::Int8(n as i8),
        (Type::Int16, _, Avro::Int(n)) => Value::Int16(n as i16),
        (Type::Int32, _, Avro::Int(n) | Avro::Date(n) | Avro::TimeMillis(n)) => Value::Int32(n),
        (Type::Int64, _, Avro::Long(n) | Avro::TimestampMillis(n) | Avro::TimestampMicros(n) | Avro::TimeMicros(n)) => {
            Value::Int64(n)
        }
        (Type::Int64, _, Avro::LocalTimestampMillis(n) | Avro::LocalTimestampMicros(n)) => Value::Int64(n),
        (Type::Float32, _, Avro::Float(f)) => Value::Float32(f),
        (Type::Float64, _, Avro::Double(f)) => Value::Float64(f),
        (Type::String, _, Avro::String(s)) => Value::String(s),
        (Type::String, _, Avro::Enum(_, s)) => Value::String(s),
        (Type::String, _, Avro::Uuid(u)) => Value::String(u.to_string()),
        (Type::Bytes, _, Avro::Bytes(b) | Avro::Fixed(_, b)) => Value::Bytes(b),
        (Type::Array, _, Avro::Array(items)) => {
            let item = schema.value.as_ref().ok_or("an array schema without items")?;
            Value::Array(items.into_iter().map(|v| from_avro(item, v)).collect::<Result<_, _>>()?)
        }
        (Type::Map, _, Avro::Map(m)) => {
            let vs = schema.value.as_ref().ok_or("a map schema without values")?;
            let mut entries: Vec<(Value, Value)> =
                m.into_iter().map(|(k, v)| Ok((Value::String(k), from_avro(vs, v)?))).collect::<Result<_, String>>()?;
            entries.sort_by_key(|e| e.0.to_java_string());
            Value::Map(entries)
        }
        (Type::Map, _, Avro::Array(items)) => {
            let (Some(ks), Some(vs)) = (&schema.key, &schema.value) else {
                return Err("a map schema without key or value".into());
            };
            let entry = |v: Avro| -> Result<(Value, Value), String> {
                let Avro::Record(mut fields) = v else { return Err("a map entry that is not a record".into()) };
                if fields.len() != 2 {
                    return Err("a map entry without key and value".into());
                }
                let value = fields.pop().expect("two fields").1;
                let key = fields.pop().expect("two fields").1;
                Ok((from_avro(ks, key)?, from_avro(vs, value)?))
            };
            Value::Map(items.into_iter().map(entry).collect::<Result<_, _>>()?)
        }
        (Type::Struct, Some(UNION), Avro::Union(index, inner)) => {
            let mut s = Struct::new(schema.clone());
            let field = schema.fields.get(index as usize).ok_or("a union branch the schema does not have")?;
            s.values[index as usize] = from_avro(&field.schema, *inner)?;
            Value::Struct(s)
        }
        (Type::Struct, _, Avro::Record(fields)) => {
            let mut values = Vec::with_capacity(schema.fields.len());
            for (f, (name, v)) in schema.fields.iter().zip(fields) {
                values.push(from_avro(&f.schema, v).map_err(|e| format!("field {name}: {e}"))?);
            }
            Value::Struct(Struct { schema: schema.clone(), values })
        }
        (_, _, v) => return Err(mismatch(&v)),
    })
}

const UNION: &str = "io.confluent.connect.avro.Union";
