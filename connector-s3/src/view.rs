//! What the keys and headers files hold for each record (Confluent's `RecordViews`, s3-sink.md
//! `store.kafka.keys` / `store.kafka.headers`): the record's key with its schema, or its headers
//! as an array of `{key, value}` records of strings. ParquetFormat needs a record at the top, so
//! there the key is wrapped as `RecordKey{key}` and the headers as `RecordHeaders{headers}`.
//!
//! A header's value is the text Kafka's SimpleHeaderConverter reads from its bytes, written
//! back by `Values.convertToString` (so `007` is stored as `7`); a null header value cannot be
//! stored (the schema's `value` is a required string) and fails the record, as in Confluent's.

use std::sync::OnceLock;

use runtime::convert::HeaderConverter;
use runtime::data::{Schema, Struct, Type, Value};
use runtime::SinkRecord;

use crate::format::at;

/// Which companion file a view is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Key,
    Headers,
}

fn header_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::builder(Type::Struct)
            .field("key", Schema::primitive(Type::String, false))
            .field("value", Schema::primitive(Type::String, false))
            .build()
    })
}

fn headers_schema(enveloped: bool) -> &'static Schema {
    static PLAIN: OnceLock<Schema> = OnceLock::new();
    static ENVELOPED: OnceLock<Schema> = OnceLock::new();
    let plain = PLAIN.get_or_init(|| Schema::array(header_schema().clone()).build());
    if !enveloped {
        return plain;
    }
    ENVELOPED
        .get_or_init(|| Schema::builder(Type::Struct).name("RecordHeaders").field("headers", plain.clone()).build())
}

impl View {
    /// The record a companion file's encoder writes for `record`, or why it cannot be written.
    pub fn of(self, record: &SinkRecord, enveloped: bool) -> Result<SinkRecord, String> {
        let (schema, value) = match self {
            View::Key => key_view(record, enveloped)?,
            View::Headers => headers_view(record, enveloped)?,
        };
        Ok(SinkRecord {
            topic: record.topic.clone(),
            kafka_partition: record.kafka_partition,
            kafka_offset: record.kafka_offset,
            key_schema: None,
            key: Value::Null,
            value_schema: schema,
            value,
            timestamp: record.timestamp,
            headers: Vec::new(),
        })
    }

    /// Confluent's checks, made before anything of the record is written so that the value,
    /// keys and headers files stay aligned.
    pub fn check(self, record: &SinkRecord) -> Result<(), String> {
        match self {
            View::Key if record.key.is_null() => {
                Err(format!("record {}: key cannot be null with store.kafka.keys=true", at(record)))
            }
            View::Headers if record.headers.is_empty() => {
                Err(format!("record {}: headers cannot be null or empty with store.kafka.headers=true", at(record)))
            }
            _ => Ok(()),
        }
    }
}

fn key_view(record: &SinkRecord, enveloped: bool) -> Result<(Option<Schema>, Value), String> {
    if !enveloped {
        return Ok((record.key_schema.clone(), record.key.clone()));
    }
    let Some(key_schema) = record.key_schema.clone() else {
        return Err(format!("record {}: ParquetFormat keys need a key schema", at(record)));
    };
    let schema = Schema::builder(Type::Struct).name("RecordKey").field("key", key_schema).build();
    let mut s = Struct::new(schema.clone());
    s.put("key", record.key.clone());
    Ok((Some(schema), Value::Struct(s)))
}

fn headers_view(record: &SinkRecord, enveloped: bool) -> Result<(Option<Schema>, Value), String> {
    let mut items = Vec::with_capacity(record.headers.len());
    for h in &record.headers {
        let Some(bytes) = &h.value else {
            return Err(format!(
                "record {}: header {} has a null value, which a headers file cannot hold",
                at(record),
                h.key
            ));
        };
        let text = String::from_utf8_lossy(bytes);
        let value = match HeaderConverter::Simple.encode_literal(&text) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => text.into_owned(),
        };
        let mut s = Struct::new(header_schema().clone());
        s.put("key", Value::String(h.key.clone())).put("value", Value::String(value));
        items.push(Value::Struct(s));
    }
    let list = Value::Array(items);
    if !enveloped {
        return Ok((Some(headers_schema(false).clone()), list));
    }
    let schema = headers_schema(true).clone();
    let mut s = Struct::new(schema.clone());
    s.put("headers", list);
    Ok((Some(schema), Value::Struct(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::record::Header;

    fn record(headers: Vec<Header>) -> SinkRecord {
        SinkRecord {
            topic: "t".into(),
            kafka_partition: 0,
            kafka_offset: 7,
            key_schema: Some(Schema::primitive(Type::Int32, false)),
            key: Value::Int32(5),
            value_schema: None,
            value: Value::String("v".into()),
            timestamp: None,
            headers,
        }
    }

    fn header(key: &str, value: Option<&str>) -> Header {
        Header { key: key.into(), value: value.map(|v| v.as_bytes().to_vec()) }
    }

    #[test]
    fn headers_become_key_value_records_of_strings() {
        let r = record(vec![header("trace", Some("abc")), header("n", Some("007"))]);
        let view = View::Headers.of(&r, false).unwrap();
        let Value::Array(items) = &view.value else { panic!("{:?}", view.value) };
        let pairs: Vec<(Value, Value)> = items
            .iter()
            .map(|i| match i {
                Value::Struct(s) => (s.get("key").cloned().unwrap(), s.get("value").cloned().unwrap()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            pairs,
            [
                (Value::String("trace".into()), Value::String("abc".into())),
                (Value::String("n".into()), Value::String("7".into())),
            ]
        );
        assert_eq!(view.value_schema.as_ref().map(|s| s.ty), Some(Type::Array));
        let enveloped = View::Headers.of(&r, true).unwrap();
        assert_eq!(enveloped.value_schema.as_ref().and_then(|s| s.name.clone()).as_deref(), Some("RecordHeaders"));
    }

    #[test]
    fn missing_or_null_headers_and_null_keys_fail_the_record() {
        assert!(View::Headers.check(&record(Vec::new())).unwrap_err().contains("headers cannot be null or empty"));
        assert!(View::Headers.of(&record(vec![header("h", None)]), false).unwrap_err().contains("null value"));
        let mut r = record(vec![header("h", Some("x"))]);
        r.key = Value::Null;
        assert!(View::Key.check(&r).unwrap_err().contains("key cannot be null"));
    }

    #[test]
    fn parquet_keys_are_wrapped_in_a_record() {
        let r = record(vec![header("h", Some("x"))]);
        let view = View::Key.of(&r, true).unwrap();
        let schema = view.value_schema.unwrap();
        assert_eq!(schema.name.as_deref(), Some("RecordKey"));
        assert_eq!(schema.field("key").map(|f| f.schema.ty), Some(Type::Int32));
        assert_eq!(View::Key.of(&r, false).unwrap().value, Value::Int32(5));
    }
}
