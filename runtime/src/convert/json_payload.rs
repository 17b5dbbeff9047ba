//! JsonConverter's payload read straight into Connect values, guided by the schema, without an
//! intermediate JSON tree (the tree costs a map insert and allocations per field).
//!
//! It only has to be right when it succeeds: any refusal here sends the payload to the tree-based
//! reader in `json.rs`, which decides and words the error. So every case below either gives
//! exactly what that reader gives, or fails.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::json::decode_decimal;
use crate::data::{Schema, Struct, Type, Value, DATE, DECIMAL, TIME, TIMESTAMP};

/// Reads one value of `schema`.
#[derive(Clone, Copy)]
pub(super) struct Payload<'a> {
    pub schema: &'a Schema,
    pub replace_null_with_default: bool,
}

type E = serde_json::Error;

fn no<T, Er: serde::de::Error>() -> Result<T, Er> {
    Err(Er::custom("left to the tree reader"))
}

impl<'a> Payload<'a> {
    fn of(&self, schema: &'a Schema) -> Payload<'a> {
        Payload { schema, replace_null_with_default: self.replace_null_with_default }
    }

    fn null<Er: serde::de::Error>(&self) -> Result<Value, Er> {
        let s = self.schema;
        if let (true, Some(default)) = (self.replace_null_with_default, &s.default) {
            return Ok(default.clone());
        }
        if s.optional {
            return Ok(Value::Null);
        }
        no()
    }

    fn int<Er: serde::de::Error>(&self, n: i64) -> Result<Value, Er> {
        let s = self.schema;
        let small = |n: i64| i32::try_from(n).map_err(|_| Er::custom("range"));
        Ok(match s.ty {
            Type::Int8 => Value::Int8(i8::try_from(n).map_err(|_| Er::custom("range"))?),
            Type::Int16 => Value::Int16(i16::try_from(n).map_err(|_| Er::custom("range"))?),
            Type::Int32 if s.is_logical(DATE) => Value::Date(small(n)?),
            Type::Int32 if s.is_logical(TIME) => Value::Time(small(n)?),
            Type::Int32 => Value::Int32(small(n)?),
            Type::Int64 if s.is_logical(TIMESTAMP) => Value::Timestamp(n),
            Type::Int64 => Value::Int64(n),
            Type::Float32 => Value::Float32(n as f64 as f32),
            Type::Float64 => Value::Float64(n as f64),
            Type::Bytes if s.is_logical(DECIMAL) => {
                decode_decimal(s, &Json::from(n)).ok_or_else(|| Er::custom("decimal"))?
            }
            _ => return no(),
        })
    }
}

impl<'de> DeserializeSeed<'de> for Payload<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Payload<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} value", self.schema.ty.json_name())
    }

    fn visit_unit<Er: serde::de::Error>(self) -> Result<Value, Er> {
        self.null()
    }

    fn visit_bool<Er: serde::de::Error>(self, b: bool) -> Result<Value, Er> {
        match self.schema.ty {
            Type::Boolean => Ok(Value::Boolean(b)),
            _ => no(),
        }
    }

    fn visit_i64<Er: serde::de::Error>(self, n: i64) -> Result<Value, Er> {
        self.int(n)
    }

    fn visit_u64<Er: serde::de::Error>(self, n: u64) -> Result<Value, Er> {
        match i64::try_from(n) {
            Ok(n) => self.int(n),
            Err(_) => match self.schema.ty {
                Type::Float32 => Ok(Value::Float32(n as f64 as f32)),
                Type::Float64 => Ok(Value::Float64(n as f64)),
                Type::Bytes if self.schema.is_logical(DECIMAL) => {
                    decode_decimal(self.schema, &Json::from(n)).ok_or_else(|| Er::custom("decimal"))
                }
                _ => no(),
            },
        }
    }

    fn visit_f64<Er: serde::de::Error>(self, f: f64) -> Result<Value, Er> {
        let s = self.schema;
        match s.ty {
            Type::Float32 => Ok(Value::Float32(f as f32)),
            Type::Float64 => Ok(Value::Float64(f)),
            Type::Bytes if s.is_logical(DECIMAL) => serde_json::Number::from_f64(f)
                .and_then(|n| decode_decimal(s, &Json::Number(n)))
                .ok_or_else(|| Er::custom("decimal")),
            _ => no(),
        }
    }

    fn visit_str<Er: serde::de::Error>(self, v: &str) -> Result<Value, Er> {
        let s = self.schema;
        match s.ty {
            Type::String => Ok(Value::String(v.to_owned())),
            Type::Bytes if s.is_logical(DECIMAL) => {
                decode_decimal(s, &Json::String(v.to_owned())).ok_or_else(|| Er::custom("decimal"))
            }
            Type::Bytes => BASE64.decode(v).map(Value::Bytes).map_err(|_| Er::custom("base64")),
            _ => no(),
        }
    }

    fn visit_string<Er: serde::de::Error>(self, v: String) -> Result<Value, Er> {
        match self.schema.ty {
            Type::String => Ok(Value::String(v)),
            _ => self.visit_str(&v),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let s = self.schema;
        match s.ty {
            Type::Array => {
                let items = s.value.as_ref().ok_or_else(|| A::Error::custom("items"))?;
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element_seed(self.of(items))? {
                    out.push(v);
                }
                Ok(Value::Array(out))
            }
            Type::Map => {
                let (Some(ks), Some(vs)) = (&s.key, &s.value) else { return no() };
                let mut out = Vec::new();
                while let Some(pair) = seq.next_element_seed(Pair { key: self.of(ks), value: self.of(vs) })? {
                    out.push(pair);
                }
                Ok(Value::Map(out))
            }
            _ => no(),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let s = self.schema;
        match s.ty {
            Type::Struct => {
                let mut st = Struct::new(s.clone());
                let mut seen = vec![false; s.fields.len()];
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match s.fields.iter().position(|f| f.name == key) {
                        Some(i) => {
                            st.values[i] = map.next_value_seed(self.of(&s.fields[i].schema))?;
                            seen[i] = true;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                for (i, f) in s.fields.iter().enumerate() {
                    if !seen[i] {
                        st.values[i] = self.of(&f.schema).null()?;
                    }
                }
                Ok(Value::Struct(st))
            }
            Type::Map if s.key.as_ref().is_some_and(|k| k.ty == Type::String) => {
                let vs = s.value.as_ref().ok_or_else(|| A::Error::custom("values"))?;
                let mut out: Vec<(Value, Value)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    // a repeated key keeps its first place with the last value in the tree reader
                    if out.iter().any(|(k, _)| matches!(k, Value::String(k) if *k == key)) {
                        return no();
                    }
                    out.push((Value::String(key), map.next_value_seed(self.of(vs))?));
                }
                Ok(Value::Map(out))
            }
            _ => no(),
        }
    }
}

/// `[key, value]` of a map written as an array of pairs.
struct Pair<'a> {
    key: Payload<'a>,
    value: Payload<'a>,
}

impl<'de> DeserializeSeed<'de> for Pair<'_> {
    type Value = (Value, Value);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(Value, Value), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pair<'_> {
    type Value = (Value, Value);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [key, value] pair")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(Value, Value), A::Error> {
        let k = seq.next_element_seed(self.key)?.ok_or_else(|| A::Error::custom("pair"))?;
        let v = seq.next_element_seed(self.value)?.ok_or_else(|| A::Error::custom("pair"))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return no();
        }
        Ok((k, v))
    }
}

/// The whole payload, or `None` for the tree reader to decide.
pub(super) fn read(schema: &Schema, replace_null_with_default: bool, payload: &[u8]) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let v: Result<Value, E> = Payload { schema, replace_null_with_default }.deserialize(&mut de);
    let v = v.ok()?;
    de.end().ok()?;
    Some(v)
}
