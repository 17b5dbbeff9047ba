//! Connect values, and their Java `toString` text (what FileStreamSink writes).

use num_bigint::BigInt;

use super::schema::Schema;

/// A Connect value. Logical values have their own variants; their schema says which they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in insertion order.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
    /// Unscaled value and scale: `12.34` is `(1234, 2)`.
    Decimal(BigInt, i32),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i32),
    /// Milliseconds since the epoch.
    Timestamp(i64),
}

/// A struct value: one value per field of its schema, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    pub schema: Schema,
    pub values: Vec<Value>,
}

impl Struct {
    /// A struct with every field null.
    pub fn new(schema: Schema) -> Struct {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    pub fn put(&mut self, field: &str, value: Value) -> &mut Self {
        if let Some(i) = self.schema.fields.iter().position(|f| f.name == field) {
            self.values[i] = value;
        }
        self
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.schema.fields.iter().position(|f| f.name == field).map(|i| &self.values[i])
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Java's `String.valueOf(value)` for Connect data, as FileStreamSink prints it
    /// (file-connectors.md §2.3): `Struct{a=1,b=x}` without null fields, `[a, b]`, `{k=v}`.
    /// Documented differences: bytes are written raw by the caller (see [`Value::write_text`]),
    /// Date/Time/Timestamp as ISO-8601 in UTC, maps in insertion order.
    pub fn to_java_string(&self) -> String {
        let mut out = Vec::new();
        self.write_text(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Writes the text form into `out`; `Bytes` are copied as raw bytes.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int8(v) => write!(out, "{v}").unwrap(),
            Value::Int16(v) => write!(out, "{v}").unwrap(),
            Value::Int32(v) => write!(out, "{v}").unwrap(),
            Value::Int64(v) => write!(out, "{v}").unwrap(),
            Value::Float32(v) => out.extend_from_slice(crate::convert::number::java_float(*v).as_bytes()),
            Value::Float64(v) => out.extend_from_slice(crate::convert::number::java_double(*v).as_bytes()),
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bytes(b) => out.extend_from_slice(b),
            Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    v.write_text(out);
                }
                out.push(b']');
            }
            Value::Map(entries) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    k.write_text(out);
                    out.push(b'=');
                    v.write_text(out);
                }
                out.push(b'}');
            }
            Value::Struct(s) => {
                out.extend_from_slice(b"Struct{");
                let mut first = true;
                for (field, v) in s.schema.fields.iter().zip(&s.values) {
                    if v.is_null() {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(field.name.as_bytes());
                    out.push(b'=');
                    v.write_text(out);
                }
                out.push(b'}');
            }
            Value::Decimal(unscaled, scale) => {
                out.extend_from_slice(crate::convert::number::big_decimal_string(unscaled, *scale).as_bytes())
            }
            Value::Date(days) => out.extend_from_slice(crate::convert::time::iso_date(*days).as_bytes()),
            Value::Time(ms) => out.extend_from_slice(crate::convert::time::iso_time(*ms).as_bytes()),
            Value::Timestamp(ms) => out.extend_from_slice(crate::convert::time::iso_timestamp(*ms).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::{Schema, Type};

    #[test]
    fn java_text_forms() {
        let schema = Schema::builder(Type::Struct)
            .field("a", Schema::primitive(Type::Int32, false))
            .field("b", Schema::primitive(Type::String, true))
            .field("c", Schema::primitive(Type::Float64, true))
            .build();
        let mut s = Struct::new(schema);
        s.put("a", Value::Int32(1)).put("c", Value::Float64(1e7));
        assert_eq!(Value::Struct(s).to_java_string(), "Struct{a=1,c=1.0E7}");
        let list = Value::Array(vec![Value::String("x".into()), Value::Null]);
        assert_eq!(list.to_java_string(), "[x, null]");
        let map = Value::Map(vec![(Value::String("k".into()), Value::Int64(2))]);
        assert_eq!(map.to_java_string(), "{k=2}");
        assert_eq!(Value::Timestamp(1_700_000_000_000).to_java_string(), "2023-11-14T22:13:20Z");
        assert_eq!(Value::Decimal(1234.into(), 2).to_java_string(), "12.34");
    }
}
