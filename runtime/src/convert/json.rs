//! Kafka's `org.apache.kafka.connect.json.JsonConverter`, byte for byte (kafka-connect-runtime.md
//! §6.1–6.5): the `{"schema":…,"payload":…}` envelope, schema key order, Java number text,
//! base64 bytes, Decimal as BASE64 or NUMERIC, and the logical types as integers.

use std::collections::HashMap;
use std::io::Write;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use num_bigint::BigInt;
use serde_json::Value as Json;

use super::number::{big_decimal_string, push_java_double, push_java_float, special};
use super::ConvertError;
use crate::data::{Schema, Struct, Type, Value, DATE, DECIMAL, TIME, TIMESTAMP};

/// `decimal.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    Base64,
    Numeric,
}

/// JsonConverter settings (`schemas.enable`, `decimal.format`, `replace.null.with.default`,
/// `schemas.cache.size`).
#[derive(Debug, Clone)]
pub struct JsonConverter {
    pub schemas_enable: bool,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
    pub cache_size: usize,
    schema_cache: HashMap<usize, (Schema, Vec<u8>)>,
    /// The schema written last, checked before the cache: most records share one schema.
    last_schema: Option<(Schema, Vec<u8>)>,
    decode_cache: HashMap<String, Schema>,
    /// The schema text of the envelope read last and its schema: records of a topic share one,
    /// so the next envelope is checked against it byte for byte instead of being scanned.
    last_decoded: Option<(Vec<u8>, Schema)>,
}

const ENVELOPE_REQUIRED: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// `{"schema":…,"payload":…}` and nothing else.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
}

impl Default for JsonConverter {
    fn default() -> Self {
        JsonConverter::new(true)
    }
}

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::Data { message: message.into() }
}

impl JsonConverter {
    pub fn new(schemas_enable: bool) -> Self {
        JsonConverter {
            schemas_enable,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
            cache_size: 1000,
            schema_cache: HashMap::new(),
            last_schema: None,
            decode_cache: HashMap::new(),
            last_decoded: None,
        }
    }

    /// `fromConnectData`: writes the bytes into `out`; `Ok(false)` means null bytes (a tombstone).
    pub fn encode(&mut self, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) -> Result<bool, ConvertError> {
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        if self.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => self.write_cached_schema(s, out)?,
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            self.write_value(schema, value, out)?;
            out.push(b'}');
        } else {
            self.write_value(schema, value, out)?;
        }
        Ok(true)
    }

    fn write_cached_schema(&mut self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        let key = schema.ptr() as usize;
        if let Some((last, bytes)) = &self.last_schema {
            if last.ptr() as usize == key {
                out.extend_from_slice(bytes);
                return Ok(());
            }
        }
        if let Some((_, bytes)) = self.schema_cache.get(&key) {
            self.last_schema = Some((schema.clone(), bytes.clone()));
            out.extend_from_slice(bytes);
            return Ok(());
        }
        let mut bytes = Vec::new();
        self.write_schema(schema, &mut bytes)?;
        out.extend_from_slice(&bytes);
        if self.schema_cache.len() >= self.cache_size.max(1) {
            self.schema_cache.clear();
        }
        // the cached clone keeps the schema alive, so its address cannot be reused by another
        self.schema_cache.insert(key, (schema.clone(), bytes));
        Ok(())
    }

    /// `asJsonSchema`: type, items|keys+values|fields, optional, name, version, doc, parameters, default.
    pub fn write_schema(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(schema.ty.json_name().as_bytes());
        out.push(b'"');
        match schema.ty {
            Type::Array => {
                out.extend_from_slice(b",\"items\":");
                self.write_schema(schema.value.as_ref().ok_or_else(|| err("array schema without items"))?, out)?;
            }
            Type::Map => {
                out.extend_from_slice(b",\"keys\":");
                self.write_schema(schema.key.as_ref().ok_or_else(|| err("map schema without keys"))?, out)?;
                out.extend_from_slice(b",\"values\":");
                self.write_schema(schema.value.as_ref().ok_or_else(|| err("map schema without values"))?, out)?;
            }
            Type::Struct => {
                out.extend_from_slice(b",\"fields\":[");
                for (i, field) in schema.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_schema(&field.schema, out)?;
                    // the field name goes last, inside the field's schema object
                    out.pop();
                    out.extend_from_slice(b",\"field\":");
                    write_string(&field.name, out);
                    out.push(b'}');
                }
                out.push(b']');
            }
            _ => {}
        }
        out.extend_from_slice(if schema.optional { b",\"optional\":true" } else { b",\"optional\":false" });
        if let Some(name) = &schema.name {
            out.extend_from_slice(b",\"name\":");
            write_string(name, out);
        }
        if let Some(version) = schema.version {
            write!(out, ",\"version\":{version}").unwrap();
        }
        if let Some(doc) = &schema.doc {
            out.extend_from_slice(b",\"doc\":");
            write_string(doc, out);
        }
        if !schema.parameters.is_empty() {
            out.extend_from_slice(b",\"parameters\":{");
            for (i, (k, v)) in schema.parameters.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_string(v, out);
            }
            out.push(b'}');
        }
        if let Some(default) = &schema.default {
            out.extend_from_slice(b",\"default\":");
            self.write_value(Some(schema), default, out)?;
        }
        out.push(b'}');
        Ok(())
    }

    /// `convertToJson`.
    fn write_value(&self, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        let Some(schema) = schema else { return self.write_schemaless(value, out) };
        if value.is_null() {
            if self.replace_null_with_default {
                if let Some(default) = &schema.default {
                    return self.write_value(Some(schema), default, out);
                }
            }
            if schema.optional {
                out.extend_from_slice(b"null");
                return Ok(());
            }
            return Err(err("Conversion error: null value for field that is required and has no default value"));
        }
        match (schema.ty, value) {
            (Type::Int8, Value::Int8(v)) => write_int(*v, out),
            (Type::Int16, Value::Int16(v)) => write_int(*v, out),
            (Type::Int32, Value::Int32(v) | Value::Date(v) | Value::Time(v)) => write_int(*v, out),
            (Type::Int64, Value::Int64(v) | Value::Timestamp(v)) => write_int(*v, out),
            (Type::Float32, Value::Float32(v)) => write_float(*v, out),
            (Type::Float64, Value::Float64(v)) => write_double(*v, out),
            (Type::Boolean, Value::Boolean(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            (Type::String, Value::String(s)) => write_string(s, out),
            (Type::Bytes, Value::Decimal(unscaled, scale)) if schema.is_logical(DECIMAL) => {
                if *scale != schema.scale() {
                    return Err(err(format!(
                        "BigDecimal has mismatching scale value for given Decimal schema: {scale} != {}",
                        schema.scale()
                    )));
                }
                match self.decimal_format {
                    DecimalFormat::Base64 => write_base64(&unscaled.to_signed_bytes_be(), out),
                    DecimalFormat::Numeric => out.extend_from_slice(big_decimal_string(unscaled, *scale).as_bytes()),
                }
            }
            (Type::Bytes, Value::Bytes(b)) => write_base64(b, out),
            (Type::Array, Value::Array(items)) => {
                let item_schema = schema.value.as_ref();
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_value(item_schema, item, out)?;
                }
                out.push(b']');
            }
            (Type::Map, Value::Map(entries)) => {
                let (ks, vs) = (schema.key.as_ref(), schema.value.as_ref());
                self.write_map(entries, ks, vs, ks.is_some_and(|k| k.ty == Type::String), out)?
            }
            (Type::Struct, Value::Struct(s)) => self.write_struct(schema, s, out)?,
            (ty, v) => {
                return Err(err(format!("Invalid type for {}: {}", ty.json_name().to_uppercase(), variant_name(v))))
            }
        }
        Ok(())
    }

    /// A map as a JSON object (string keys) or as an array of `[key, value]` pairs.
    fn write_map(
        &self,
        entries: &[(Value, Value)],
        keys: Option<&Schema>,
        values: Option<&Schema>,
        as_object: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ConvertError> {
        out.push(if as_object { b'{' } else { b'[' });
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if as_object {
                let Value::String(k) = k else { return Err(err("map key is not a string")) };
                write_string(k, out);
                out.push(b':');
            } else {
                out.push(b'[');
                self.write_value(keys, k, out)?;
                out.push(b',');
            }
            self.write_value(values, v, out)?;
            if !as_object {
                out.push(b']');
            }
        }
        out.push(if as_object { b'}' } else { b']' });
        Ok(())
    }

    fn write_struct(&self, schema: &Schema, s: &Struct, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        if s.schema.ptr() != schema.ptr() && s.schema != *schema {
            return Err(err("Mismatching schema."));
        }
        out.push(b'{');
        for (i, (field, v)) in schema.fields.iter().zip(&s.values).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&field.json_key);
            self.write_value(Some(&field.schema), v, out).map_err(|e| err(format!("field {}: {e}", field.name)))?;
        }
        out.push(b'}');
        Ok(())
    }

    fn write_schemaless(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int8(v) => write_int(*v, out),
            Value::Int16(v) => write_int(*v, out),
            Value::Int32(v) | Value::Date(v) | Value::Time(v) => write_int(*v, out),
            Value::Int64(v) | Value::Timestamp(v) => write_int(*v, out),
            Value::Float32(v) => write_float(*v, out),
            Value::Float64(v) => write_double(*v, out),
            Value::String(s) => write_string(s, out),
            Value::Bytes(b) => write_base64(b, out),
            Value::Decimal(unscaled, scale) => match self.decimal_format {
                DecimalFormat::Base64 => write_base64(&unscaled.to_signed_bytes_be(), out),
                DecimalFormat::Numeric => out.extend_from_slice(big_decimal_string(unscaled, *scale).as_bytes()),
            },
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_schemaless(item, out)?;
                }
                out.push(b']');
            }
            Value::Map(entries) => {
                let string_keys = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
                self.write_map(entries, None, None, string_keys, out)?
            }
            Value::Struct(s) => {
                let schema = s.schema.clone();
                self.write_struct(&schema, s, out)?
            }
        }
        Ok(())
    }

    /// `toConnectData`. Schemas are cached by their JSON text (`schemas.cache.size`).
    pub fn decode(&mut self, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value), ConvertError> {
        let Some(bytes) = bytes else { return Ok((None, Value::Null)) };
        let serialization = |e: serde_json::Error| {
            err(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}"))
        };
        if !self.schemas_enable {
            let json: Json = serde_json::from_slice(bytes).map_err(serialization)?;
            return Ok((None, schemaless(&json)));
        }
        if let Some((text, schema)) = &self.last_decoded {
            if let Some(payload) = Self::same_schema_payload(bytes, text) {
                // anything unexpected is left to the full path below, which explains it
                if let Ok(value) = self.decode_payload(schema, payload) {
                    return Ok((Some(schema.clone()), value));
                }
            }
        }
        let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => err(ENVELOPE_REQUIRED),
            _ => serialization(e),
        })?;
        let schema_text = envelope.schema.get();
        if schema_text == "null" {
            let payload: Json = serde_json::from_str(envelope.payload.get()).map_err(serialization)?;
            return Ok((None, schemaless(&payload)));
        }
        let schema = match self.decode_cache.get(schema_text) {
            Some(s) => s.clone(),
            None => {
                let json: Json = serde_json::from_str(schema_text).map_err(serialization)?;
                let schema = parse_schema(&json)?;
                if self.decode_cache.len() >= self.cache_size.max(1) {
                    self.decode_cache.clear();
                }
                self.decode_cache.insert(schema_text.to_owned(), schema.clone());
                schema
            }
        };
        self.last_decoded = Some((schema_text.as_bytes().to_vec(), schema.clone()));
        let value = self.decode_payload(&schema, envelope.payload.get().as_bytes())?;
        Ok((Some(schema), value))
    }

    /// `{"schema":<text>,"payload":<P>}` with exactly `text` (as Kafka writes envelopes): `P`.
    fn same_schema_payload<'b>(bytes: &'b [u8], text: &[u8]) -> Option<&'b [u8]> {
        let rest = bytes.strip_prefix(b"{\"schema\":")?.strip_prefix(text)?.strip_prefix(b",\"payload\":")?;
        rest.strip_suffix(b"}")
    }

    fn decode_payload(&self, schema: &Schema, payload: &[u8]) -> Result<Value, ConvertError> {
        let serialization = |e: serde_json::Error| {
            err(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}"))
        };
        // the common case, a string value, without building a JSON tree
        if schema.ty == Type::String && schema.default.is_none() {
            let s: Option<String> = serde_json::from_slice(payload).map_err(serialization)?;
            return match s {
                Some(s) => Ok(Value::String(s)),
                None if schema.optional => Ok(Value::Null),
                None => Err(err("Invalid null value for required field")),
            };
        }
        if let Some(value) = super::json_payload::read(schema, self.replace_null_with_default, payload) {
            return Ok(value);
        }
        let json: Json = serde_json::from_slice(payload).map_err(serialization)?;
        self.decode_value(schema, &json)
    }

    fn decode_value(&self, schema: &Schema, json: &Json) -> Result<Value, ConvertError> {
        if json.is_null() {
            if let (true, Some(default)) = (self.replace_null_with_default, &schema.default) {
                return Ok(default.clone());
            }
            if schema.optional {
                return Ok(Value::Null);
            }
            return Err(err("Invalid null value for required field"));
        }
        let mismatch = || err(format!("Invalid value for {} schema: {json}", schema.ty.json_name()));
        let int = || json.as_i64().ok_or_else(mismatch);
        Ok(match schema.ty {
            Type::Int8 => Value::Int8(int()?.try_into().map_err(|_| mismatch())?),
            Type::Int16 => Value::Int16(int()?.try_into().map_err(|_| mismatch())?),
            Type::Int32 if schema.is_logical(DATE) => Value::Date(int()?.try_into().map_err(|_| mismatch())?),
            Type::Int32 if schema.is_logical(TIME) => Value::Time(int()?.try_into().map_err(|_| mismatch())?),
            Type::Int32 => Value::Int32(int()?.try_into().map_err(|_| mismatch())?),
            Type::Int64 if schema.is_logical(TIMESTAMP) => Value::Timestamp(int()?),
            Type::Int64 => Value::Int64(int()?),
            Type::Float32 => Value::Float32(json.as_f64().ok_or_else(mismatch)? as f32),
            Type::Float64 => Value::Float64(json.as_f64().ok_or_else(mismatch)?),
            Type::Boolean => Value::Boolean(json.as_bool().ok_or_else(mismatch)?),
            Type::String => Value::String(json.as_str().ok_or_else(mismatch)?.to_owned()),
            Type::Bytes if schema.is_logical(DECIMAL) => decode_decimal(schema, json).ok_or_else(mismatch)?,
            Type::Bytes => Value::Bytes(BASE64.decode(json.as_str().ok_or_else(mismatch)?).map_err(|_| mismatch())?),
            Type::Array => {
                let items = schema.value.as_ref().ok_or_else(mismatch)?;
                let arr = json.as_array().ok_or_else(mismatch)?;
                Value::Array(arr.iter().map(|j| self.decode_value(items, j)).collect::<Result<_, _>>()?)
            }
            Type::Map => {
                let (ks, vs) = (schema.key.as_ref().ok_or_else(mismatch)?, schema.value.as_ref().ok_or_else(mismatch)?);
                match json {
                    Json::Object(o) if ks.ty == Type::String => Value::Map(
                        o.iter()
                            .map(|(k, v)| Ok((Value::String(k.clone()), self.decode_value(vs, v)?)))
                            .collect::<Result<_, ConvertError>>()?,
                    ),
                    Json::Array(pairs) => Value::Map(
                        pairs
                            .iter()
                            .map(|p| match p.as_array().map(Vec::as_slice) {
                                Some([k, v]) => Ok((self.decode_value(ks, k)?, self.decode_value(vs, v)?)),
                                _ => Err(mismatch()),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(mismatch()),
                }
            }
            Type::Struct => {
                let obj = json.as_object().ok_or_else(mismatch)?;
                let mut s = Struct::new(schema.clone());
                for (i, field) in schema.fields.iter().enumerate() {
                    let j = obj.get(&field.name).unwrap_or(&Json::Null);
                    s.values[i] =
                        self.decode_value(&field.schema, j).map_err(|e| err(format!("field {}: {e}", field.name)))?;
                }
                Value::Struct(s)
            }
        })
    }
}

pub(super) fn decode_decimal(schema: &Schema, json: &Json) -> Option<Value> {
    let scale = schema.scale();
    match json {
        Json::String(s) => Some(Value::Decimal(BigInt::from_signed_bytes_be(&BASE64.decode(s).ok()?), scale)),
        Json::Number(n) => {
            let text = n.to_string();
            let (mantissa, exp) = match text.split_once(['e', 'E']) {
                Some((m, e)) => (m.to_owned(), e.parse::<i32>().ok()?),
                None => (text.clone(), 0),
            };
            let (int_part, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
            let digits: BigInt = format!("{int_part}{frac}").parse().ok()?;
            let have_scale = frac.len() as i32 - exp;
            let unscaled = if have_scale <= scale {
                digits * BigInt::from(10).pow((scale - have_scale) as u32)
            } else {
                digits / BigInt::from(10).pow((have_scale - scale) as u32)
            };
            Some(Value::Decimal(unscaled, scale))
        }
        _ => None,
    }
}

/// Parses a schema object written by [`JsonConverter::write_schema`] (or by Kafka).
pub fn parse_schema(json: &Json) -> Result<Schema, ConvertError> {
    let obj = json.as_object().ok_or_else(|| err(format!("schema must be an object: {json}")))?;
    let ty_name = obj.get("type").and_then(Json::as_str).ok_or_else(|| err("schema must contain 'type' field"))?;
    let ty = Type::from_json_name(ty_name).ok_or_else(|| err(format!("unknown schema type: {ty_name}")))?;
    let mut b = Schema::builder(ty);
    match ty {
        Type::Array => {
            b = Schema::array(parse_schema(
                obj.get("items").ok_or_else(|| err("array schema did not specify items"))?,
            )?);
        }
        Type::Map => {
            let k = parse_schema(obj.get("keys").ok_or_else(|| err("map schema did not specify the key type"))?)?;
            let v = parse_schema(obj.get("values").ok_or_else(|| err("map schema did not specify the value type"))?)?;
            b = Schema::map(k, v);
        }
        Type::Struct => {
            let fields = obj
                .get("fields")
                .and_then(Json::as_array)
                .ok_or_else(|| err("struct schema's \"fields\" argument is not an array"))?;
            for f in fields {
                let name = f
                    .get("field")
                    .and_then(Json::as_str)
                    .ok_or_else(|| err("struct schema's field name not specified properly"))?;
                b = b.field(name, parse_schema(f)?);
            }
        }
        _ => {}
    }
    if obj.get("optional").and_then(Json::as_bool).unwrap_or(true) {
        b = b.optional();
    }
    if let Some(name) = obj.get("name").and_then(Json::as_str) {
        b = b.name(name);
    }
    if let Some(version) = obj.get("version").and_then(Json::as_i64) {
        b = b.version(version as i32);
    }
    if let Some(doc) = obj.get("doc").and_then(Json::as_str) {
        b = b.doc(doc);
    }
    if let Some(params) = obj.get("parameters").and_then(Json::as_object) {
        for (k, v) in params {
            b = b.parameter(k, v.as_str().unwrap_or_default());
        }
    }
    let schema = b.clone().build();
    match obj.get("default") {
        Some(d) if !d.is_null() => {
            let default = JsonConverter::new(true).decode_value(&schema, d)?;
            Ok(b.default_value(default).build())
        }
        _ => Ok(schema),
    }
}

/// Schemaless JSON → Connect: integral numbers are INT64, others FLOAT64, objects are maps.
fn schemaless(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(schemaless).collect()),
        Json::Object(o) => Value::Map(o.iter().map(|(k, v)| (Value::String(k.clone()), schemaless(v))).collect()),
    }
}

fn variant_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "Boolean",
        Value::Int8(_) => "Byte",
        Value::Int16(_) => "Short",
        Value::Int32(_) => "Integer",
        Value::Int64(_) => "Long",
        Value::Float32(_) => "Float",
        Value::Float64(_) => "Double",
        Value::String(_) => "String",
        Value::Bytes(_) => "byte[]",
        Value::Array(_) => "ArrayList",
        Value::Map(_) => "HashMap",
        Value::Struct(_) => "Struct",
        Value::Decimal(..) => "BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "Date",
    }
}

/// A double as Jackson writes Java's `Double.toString` (NaN and the infinities quoted).
fn write_double(v: f64, out: &mut Vec<u8>) {
    match special(v) {
        Some(text) => write_java_number(text, out),
        None => push_java_double(v, out),
    }
}

/// A float as Jackson writes Java's `Float.toString`.
fn write_float(v: f32, out: &mut Vec<u8>) {
    match special(v as f64) {
        Some(text) => write_java_number(text, out),
        None => push_java_float(v, out),
    }
}

/// Jackson quotes non-finite numbers (`"NaN"`).
fn write_java_number(text: &str, out: &mut Vec<u8>) {
    if text.ends_with("NaN") || text.ends_with("Infinity") {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

fn write_base64(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let start = out.len();
    out.resize(start + base64::encoded_len(bytes.len(), true).unwrap_or(0), 0);
    let n = BASE64.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + n);
    out.push(b'"');
}

/// Bytes JSON strings escape: `"`, `\\` and the control characters.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// An integer in decimal, as Java prints it.
fn write_int(v: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Whether any of the 8 bytes (little-endian in `w`) is below 0x20, `"` or `\` (the bytes
/// [`NEEDS_ESCAPE`] lists). Exact for "any": a chunk it flags is then scanned byte by byte.
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || has_zero(w ^ (ONES * b'"' as u64)) || has_zero(w ^ (ONES * b'\\' as u64))
}

/// The index of the first byte of `bytes[from..]` that needs escaping, or `bytes.len()`.
fn next_escape(bytes: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = bytes.get(from..from + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if word_needs_escape(w) {
            break;
        }
        from += 8;
    }
    bytes[from..].iter().position(|&b| NEEDS_ESCAPE[b as usize]).map_or(bytes.len(), |i| from + i)
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, control characters as `\b \t \n \f \r`
/// or `\u00XX` (upper-case hex), everything else (non-ASCII included) as raw UTF-8.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start);
        out.extend_from_slice(&bytes[start..i]);
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]),
        }
        start = i + 1;
    }
    out.push(b'"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
