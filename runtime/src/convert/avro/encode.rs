//! Avro binary encoding of a Connect value, straight from the Connect schema, for the Avro schema
//! [`super::schema::FromConnect`] builds from it (no intermediate Avro values: this is the
//! converter's per-record path).
//!
//! Avro's binary encoding: int and long as zig-zag varints, float and double little-endian,
//! bytes and string length-prefixed, a union as its branch index then the value, arrays and maps
//! as one block of `count` items then a zero count, records as their fields in order.

use crate::data::{Schema, Type, Value};

fn long(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    long(b.len() as i64, out);
    out.extend_from_slice(b);
}

/// Appends `value`'s datum to `out`.
pub fn write_datum(schema: &Schema, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    write_value(schema, value, false, out)
}

/// [`write_datum`]; with `enums` (`enhanced.avro.schema.support`), a string schema carrying an
/// enum's symbols is written as that Avro enum (the symbol's index).
pub fn write_value(schema: &Schema, value: &Value, enums: bool, out: &mut Vec<u8>) -> Result<(), String> {
    if schema.optional {
        let null_second = schema.default.as_ref().is_some_and(|d| *d != Value::Null);
        let (null, other) = if null_second { (1, 0) } else { (0, 1) };
        if matches!(value, Value::Null) {
            long(null, out);
            return Ok(());
        }
        long(other, out);
    }
    write_base(schema, value, enums, out)
}

/// The index of `symbol` among the enum symbols `schema` carries, when it carries some.
fn enum_index(schema: &Schema, symbol: &str) -> Option<Result<usize, String>> {
    let prefix = format!("{}.", super::schema::ENUM_PARAM);
    let mut symbols = schema.parameters.iter().filter(|(k, _)| k.starts_with(&prefix)).peekable();
    symbols.peek()?;
    Some(symbols.position(|(_, s)| s == symbol).ok_or_else(|| format!("{symbol:?} is not a symbol of the enum")))
}

fn fits(ty: Type, value: &Value) -> bool {
    matches!(
        (ty, value),
        (_, Value::Null)
            | (Type::Boolean, Value::Boolean(_))
            | (Type::Int8, Value::Int8(_))
            | (Type::Int16, Value::Int16(_))
            | (Type::Int32, Value::Int32(_) | Value::Date(_) | Value::Time(_))
            | (Type::Int64, Value::Int64(_) | Value::Timestamp(_))
            | (Type::Float32, Value::Float32(_))
            | (Type::Float64, Value::Float64(_))
            | (Type::String, Value::String(_))
            | (Type::Bytes, Value::Bytes(_) | Value::Decimal(..))
            | (Type::Array, Value::Array(_))
            | (Type::Map, Value::Map(_))
            | (Type::Struct, Value::Struct(_))
    )
}

fn write_base(schema: &Schema, value: &Value, enums: bool, out: &mut Vec<u8>) -> Result<(), String> {
    if !fits(schema.ty, value) {
        return Err(format!("a value {} for a {} schema", value.to_java_string(), schema.ty.json_name()));
    }
    match value {
        Value::Null => match &schema.default {
            Some(d) if *d != Value::Null => return write_base(schema, d, enums, out),
            _ => return Err(format!("a null value for the required {} schema", schema.ty.json_name())),
        },
        Value::Boolean(b) => out.push(*b as u8),
        Value::Int8(n) => long(*n as i64, out),
        Value::Int16(n) => long(*n as i64, out),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => long(*n as i64, out),
        Value::Int64(n) | Value::Timestamp(n) => long(*n, out),
        Value::Float32(f) => out.extend_from_slice(&f.to_le_bytes()),
        Value::Float64(f) => out.extend_from_slice(&f.to_le_bytes()),
        Value::String(s) => match enums.then(|| enum_index(schema, s)).flatten() {
            Some(index) => long(index? as i64, out),
            None => bytes(s.as_bytes(), out),
        },
        Value::Bytes(b) => bytes(b, out),
        Value::Decimal(unscaled, scale) => {
            if *scale != schema.scale() {
                return Err(format!("a decimal of scale {scale} for a schema of scale {}", schema.scale()));
            }
            bytes(&unscaled.to_signed_bytes_be(), out)
        }
        Value::Array(items) => {
            let item = schema.value.as_ref().ok_or("an array schema without items")?;
            if !items.is_empty() {
                long(items.len() as i64, out);
                for v in items {
                    write_value(item, v, enums, out)?;
                }
            }
            out.push(0);
        }
        Value::Map(entries) => {
            let (Some(ks), Some(vs)) = (&schema.key, &schema.value) else {
                return Err("a map schema without key or value".into());
            };
            let as_map = ks.ty == Type::String && !ks.optional;
            if !entries.is_empty() {
                long(entries.len() as i64, out);
                for (k, v) in entries {
                    if as_map {
                        let Value::String(k) = k else { return Err("a map key that is not a string".into()) };
                        bytes(k.as_bytes(), out);
                    } else {
                        write_value(ks, k, enums, out)?;
                    }
                    write_value(vs, v, enums, out)?;
                }
            }
            out.push(0);
        }
        Value::Struct(s) => {
            if schema.fields.len() != s.values.len() {
                return Err("a struct whose fields differ from its schema's".into());
            }
            for (f, v) in schema.fields.iter().zip(&s.values) {
                write_value(&f.schema, v, enums, out).map_err(|e| format!("field {}: {e}", f.name))?;
            }
        }
    }
    Ok(())
}
