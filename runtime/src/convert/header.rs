//! Header converters (`header.converter`, kafka-connect-runtime.md §6.5): how a header value a
//! transform makes (`InsertHeader`, `HeaderFrom`, Debezium's `add.headers`) becomes bytes.
//!
//! Headers that come from Kafka or from a connector as bytes pass through unchanged whatever the
//! converter, as a Java worker's round trip gives for UTF-8 text (SimpleHeaderConverter parses
//! the text into a value and writes the same text back).
//!
//! - `SimpleHeaderConverter` (the default) writes Kafka's `Values.convertToString`: a string as
//!   itself, bytes as base64, dates by their milliseconds (`HH:mm:ss.SSS'Z'` below one day,
//!   `yyyy-MM-dd` on a day boundary, `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` otherwise; UTC), lists as
//!   `[a,b]`, maps as `{k:v}` and structs as `{"f":v,…}` with strings inside them quoted.
//! - `StringConverter` writes the value's Java `toString()` text.
//! - `ByteArrayConverter` takes bytes only; any other value fails the record, as in Kafka.

use base64::Engine;

use super::number::{big_decimal_string, java_double, java_float};
use super::time::civil_from_days;
use crate::config::ConfigReader;
use crate::data::Value;

pub const SIMPLE_HEADER_CLASS: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The configured header converter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderConverter {
    #[default]
    Simple,
    String,
    ByteArray,
}

impl HeaderConverter {
    /// Reads `header.converter`; `Some(None)` when absent, `None` (error recorded) for a class
    /// sluice does not have.
    pub fn from_config(reader: &mut ConfigReader<'_>) -> Option<Option<HeaderConverter>> {
        let Some(class) = reader.non_empty("header.converter") else { return Some(None) };
        let converter = match class.rsplit('.').next().unwrap_or_default() {
            "SimpleHeaderConverter" => HeaderConverter::Simple,
            "StringConverter" => HeaderConverter::String,
            "ByteArrayConverter" => HeaderConverter::ByteArray,
            _ => {
                reader.invalid(
                    "header.converter",
                    format!("one of {SIMPLE_HEADER_CLASS}, {}, {}", super::STRING_CLASS, super::BYTE_ARRAY_CLASS),
                    class.as_str(),
                );
                return None;
            }
        };
        // their settings (e.g. `header.converter.converter.encoding`) change nothing for UTF-8
        let _ = reader.section("header.converter.");
        Some(Some(converter))
    }

    /// A header value's bytes; `None` for null.
    pub fn encode(self, value: &Value) -> Result<Option<Vec<u8>>, String> {
        match (self, value) {
            (_, Value::Null) => Ok(None),
            (HeaderConverter::ByteArray, Value::Bytes(b)) => Ok(Some(b.clone())),
            (HeaderConverter::ByteArray, v) => {
                Err(format!("ByteArrayConverter is not compatible with objects of type {}", type_name(v)))
            }
            (_, Value::String(s)) => Ok(Some(s.as_bytes().to_vec())),
            (HeaderConverter::Simple, v) => {
                let mut out = String::new();
                simple_text(v, false, &mut out);
                Ok(Some(out.into_bytes()))
            }
            (HeaderConverter::String, v) => {
                let mut out = Vec::new();
                v.write_text(&mut out);
                Ok(Some(out))
            }
        }
    }

    /// The bytes for an `InsertHeader` literal: Kafka infers a value from the text
    /// (`Values.parseString`) and the converter writes it back, so `null` becomes a null header
    /// and numbers come back in their canonical form (`007` as `7`, `1.50` as `1.5`). Other
    /// literals, including dates, lists and maps, keep their text.
    pub fn encode_literal(self, literal: &str) -> Result<Option<Vec<u8>>, String> {
        if literal == "null" {
            return Ok(None);
        }
        match canonical_number(literal.trim()) {
            Some(number) if self != HeaderConverter::ByteArray => Ok(Some(number.into_bytes())),
            Some(_) => Err("ByteArrayConverter is not compatible with objects of type a number".into()),
            None => self.encode(&Value::String(literal.to_owned())),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Struct(_) => "Struct",
        Value::Map(_) => "Map",
        Value::Array(_) => "List",
        Value::Boolean(_) => "Boolean",
        Value::Decimal(..) => "BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "Date",
        Value::String(_) => "String",
        _ => "a number",
    }
}

/// `Values.append`: `embedded` is true inside a list, map or struct, where strings are quoted.
fn simple_text(v: &Value, embedded: bool, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(n) => write!(out, "{n}").unwrap(),
        Value::Int16(n) => write!(out, "{n}").unwrap(),
        Value::Int32(n) => write!(out, "{n}").unwrap(),
        Value::Int64(n) => write!(out, "{n}").unwrap(),
        Value::Float32(x) => out.push_str(&java_float(*x)),
        Value::Float64(x) => out.push_str(&java_double(*x)),
        Value::Decimal(unscaled, scale) => out.push_str(&big_decimal_string(unscaled, *scale)),
        Value::String(s) if embedded => {
            out.push('"');
            out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        }
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            let text = base64::engine::general_purpose::STANDARD.encode(b);
            if embedded {
                write!(out, "\"{text}\"").unwrap();
            } else {
                out.push_str(&text);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                simple_text(item, true, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                simple_text(k, true, out);
                out.push(':');
                simple_text(item, true, out);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (field, item)) in s.schema.fields.iter().zip(&s.values).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                simple_text(&Value::String(field.name.clone()), true, out);
                out.push(':');
                simple_text(item, true, out);
            }
            out.push('}');
        }
        Value::Date(days) => out.push_str(&java_date_text(*days as i64 * MILLIS_PER_DAY)),
        Value::Time(ms) => out.push_str(&java_date_text(*ms as i64)),
        Value::Timestamp(ms) => out.push_str(&java_date_text(*ms)),
    }
}

/// `Values.dateFormatFor(date).format(date)`, in UTC: the format follows the milliseconds.
fn java_date_text(ms: i64) -> String {
    let in_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (h, m, s, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    let time = format!("{h:02}:{m:02}:{s:02}.{milli:03}Z");
    if ms < MILLIS_PER_DAY {
        return time;
    }
    let (y, mo, d) = civil_from_days(ms.div_euclid(MILLIS_PER_DAY));
    if in_day == 0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{time}")
    }
}

/// A literal Java's `BigDecimal` reads, written back as `Values.parseString` types it: an
/// integral value within 64 bits as an integer, a fraction as a float (32 bits when it fits).
/// `None` for anything else, which stays text.
fn canonical_number(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || first == '+' || first == '-') {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let digits = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let significant = frac_part.trim_end_matches('0').len() as i64 - exponent as i64;
    if significant <= 0 {
        // integral: an integer when it fits 64 bits (else the literal stays text)
        let mut n: i128 = format!("{int_part}{frac_part}").parse().ok()?;
        let shift = exponent as i64 - frac_part.len() as i64;
        for _ in 0..shift.max(0) {
            n = n.checked_mul(10)?;
        }
        for _ in 0..(-shift).max(0) {
            n /= 10;
        }
        if mantissa.starts_with('-') {
            n = -n;
        }
        return i64::try_from(n).ok().map(|n| n.to_string());
    }
    // a fraction: a float, 32 bits when it fits
    let single: f32 = text.parse().ok()?;
    if single.is_finite() {
        return Some(java_float(single));
    }
    let double: f64 = text.parse().ok()?;
    double.is_finite().then(|| java_double(double))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, Struct, Type};

    fn simple(v: &Value) -> String {
        String::from_utf8(HeaderConverter::Simple.encode(v).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn simple_header_converter_writes_values_convert_to_string() {
        assert_eq!(simple(&Value::Int64(1_700_000_000_000)), "1700000000000");
        assert_eq!(simple(&Value::Float64(0.5)), "0.5");
        assert_eq!(simple(&Value::Boolean(true)), "true");
        assert_eq!(simple(&Value::String("a\"b".into())), "a\"b");
        assert_eq!(simple(&Value::Bytes(vec![1, 2, 3])), "AQID");
        let list = Value::Array(vec![Value::String("x\"y".into()), Value::Null, Value::Int32(3)]);
        assert_eq!(simple(&list), r#"["x\"y",null,3]"#);
        let map = Value::Map(vec![(Value::String("k".into()), Value::Bytes(vec![255]))]);
        assert_eq!(simple(&map), r#"{"k":"/w=="}"#);
        let schema = Schema::builder(Type::Struct)
            .field("id", Schema::primitive(Type::Int32, false))
            .field("name", Schema::primitive(Type::String, true))
            .build();
        let mut s = Struct::new(schema);
        s.put("id", Value::Int32(1));
        assert_eq!(simple(&Value::Struct(s)), r#"{"id":1,"name":null}"#);
        assert_eq!(HeaderConverter::Simple.encode(&Value::Null).unwrap(), None);
    }

    #[test]
    fn dates_take_their_format_from_their_milliseconds() {
        assert_eq!(simple(&Value::Date(19675)), "2023-11-14");
        assert_eq!(simple(&Value::Timestamp(1_700_000_000_000)), "2023-11-14T22:13:20.000Z");
        assert_eq!(simple(&Value::Timestamp(19675 * MILLIS_PER_DAY)), "2023-11-14");
        assert_eq!(simple(&Value::Time(3_600_001)), "01:00:00.001Z");
        // Kafka's rule, kept: the epoch day is below one day, so it prints as a time
        assert_eq!(simple(&Value::Date(0)), "00:00:00.000Z");
    }

    #[test]
    fn string_and_byte_array_header_converters() {
        let schema = Schema::builder(Type::Struct).field("id", Schema::primitive(Type::Int32, false)).build();
        let mut s = Struct::new(schema);
        s.put("id", Value::Int32(1));
        let text = HeaderConverter::String.encode(&Value::Struct(s)).unwrap().unwrap();
        assert_eq!(text, b"Struct{id=1}");
        assert_eq!(HeaderConverter::ByteArray.encode(&Value::Bytes(vec![0, 1])).unwrap(), Some(vec![0, 1]));
        let err = HeaderConverter::ByteArray.encode(&Value::Int32(1)).unwrap_err();
        assert!(err.contains("ByteArrayConverter is not compatible"), "{err}");
        let err = HeaderConverter::ByteArray.encode(&Value::String("s".into())).unwrap_err();
        assert!(err.contains("type String"), "{err}");
    }

    #[test]
    fn literals_are_typed_then_written_back() {
        let lit = |s: &str| HeaderConverter::Simple.encode_literal(s).unwrap().map(|b| String::from_utf8(b).unwrap());
        assert_eq!(lit("42").as_deref(), Some("42"));
        assert_eq!(lit("007").as_deref(), Some("7"));
        assert_eq!(lit("+5").as_deref(), Some("5"));
        assert_eq!(lit("1.0").as_deref(), Some("1"));
        assert_eq!(lit("1.50").as_deref(), Some("1.5"));
        assert_eq!(lit("1e3").as_deref(), Some("1000"));
        assert_eq!(lit("-0.25").as_deref(), Some("-0.25"));
        assert_eq!(lit("null"), None);
        assert_eq!(lit("true").as_deref(), Some("true"));
        assert_eq!(lit("eu-west-1").as_deref(), Some("eu-west-1"));
        assert_eq!(lit("2024-01-31").as_deref(), Some("2024-01-31"));
        assert_eq!(lit("12abc").as_deref(), Some("12abc"));
    }
}
