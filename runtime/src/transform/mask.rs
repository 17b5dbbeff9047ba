//! `MaskField$Key` / `MaskField$Value` (transforms-converters.md §1.2(e)): the named fields get
//! their type's empty value (false, 0, "", 0 for a decimal, the epoch for dates, an empty list or
//! map), or `replacement` converted to the field's type (numbers and strings only). A null stays
//! null; bytes cannot be masked; the schema is unchanged; a tombstone fails, as in Kafka.

use num_bigint::BigInt;

use super::fields::kind_of;
use super::Side;
use crate::config::ConfigReader;
use crate::data::Value;
use crate::record::ConnectRecord;

#[derive(Debug, Clone)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

/// The Java class Kafka names in its errors.
fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "class java.lang.Boolean",
        Value::Int8(_) => "class java.lang.Byte",
        Value::Int16(_) => "class java.lang.Short",
        Value::Int32(_) => "class java.lang.Integer",
        Value::Int64(_) => "class java.lang.Long",
        Value::Float32(_) => "class java.lang.Float",
        Value::Float64(_) => "class java.lang.Double",
        Value::String(_) => "class java.lang.String",
        Value::Bytes(_) => "class [B",
        Value::Array(_) => "class java.util.ArrayList",
        Value::Map(_) => "class java.util.HashMap",
        Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
        Value::Decimal(..) => "class java.math.BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "class java.util.Date",
    }
}

impl MaskField {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<MaskField> {
        let fields = r.list("fields");
        if fields.is_empty() {
            r.missing("fields", "a non-empty list of field names");
        }
        let replacement = r.string("replacement");
        if replacement.as_deref() == Some("") {
            r.invalid("replacement", "a non-empty string (or unset: the type's empty value)", "");
        }
        let replace_null_with_default = r.bool("replace.null.with.default", true);
        Some(MaskField { side, fields, replacement, replace_null_with_default })
    }

    fn masked(&self, v: &Value) -> Result<Value, String> {
        match &self.replacement {
            _ if v.is_null() => Ok(Value::Null),
            None => empty_like(v),
            Some(text) => replaced(v, text),
        }
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        match (schema.as_ref(), value) {
            (None, Value::Map(entries)) => {
                for (k, v) in entries.iter_mut() {
                    if matches!(k, Value::String(name) if self.fields.contains(name)) {
                        *v = self.masked(v)?;
                    }
                }
                Ok(())
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [mask fields], found: {}",
                kind_of(other)
            )),
            (Some(_), Value::Struct(s)) => {
                let schema = s.schema.clone();
                for (f, v) in schema.fields.iter().zip(s.values.iter_mut()) {
                    if self.fields.contains(&f.name) {
                        *v = self.masked(v)?;
                    } else if let (Value::Null, Some(d), true) =
                        (&*v, &f.schema.default, self.replace_null_with_default)
                    {
                        *v = d.clone();
                    }
                }
                Ok(())
            }
            (Some(_), other) => {
                Err(format!("Only Struct objects supported for [mask fields], found: {}", kind_of(other)))
            }
        }
    }
}

/// Kafka's `maskWithNullValue`.
fn empty_like(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Decimal(_, scale) => Value::Decimal(BigInt::from(0), *scale),
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => return Err(format!("Cannot mask value of type: {}", java_class(other))),
    })
}

/// Kafka's `maskWithCustomReplacement`: numbers and strings only.
fn replaced(v: &Value, text: &str) -> Result<Value, String> {
    let number = || format!("Unable to convert {text} (class java.lang.String) to number");
    let t = text.trim();
    Ok(match v {
        Value::Int8(_) => Value::Int8(t.parse().map_err(|_| number())?),
        Value::Int16(_) => Value::Int16(t.parse().map_err(|_| number())?),
        Value::Int32(_) => Value::Int32(t.parse().map_err(|_| number())?),
        Value::Int64(_) => Value::Int64(t.parse().map_err(|_| number())?),
        Value::Float32(_) => Value::Float32(t.parse().map_err(|_| number())?),
        Value::Float64(_) => Value::Float64(t.parse().map_err(|_| number())?),
        Value::String(_) => Value::String(text.to_owned()),
        Value::Decimal(..) => {
            let (unscaled, scale) = decimal(t).ok_or_else(number)?;
            Value::Decimal(unscaled, scale)
        }
        other => return Err(format!("Cannot mask value of type {} with custom replacement.", java_class(other))),
    })
}

/// `new BigDecimal(text)` for plain decimal text: unscaled value and scale.
fn decimal(text: &str) -> Option<(BigInt, i32)> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{int}{frac}");
    let ok = !digits.trim_start_matches(['-', '+']).is_empty()
        && digits.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit());
    ok.then(|| digits.parse().ok().map(|n| (n, frac.len() as i32))).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_and_replacements_by_type() {
        assert_eq!(empty_like(&Value::Int32(7)).unwrap(), Value::Int32(0));
        assert_eq!(empty_like(&Value::Decimal(BigInt::from(1234), 2)).unwrap(), Value::Decimal(BigInt::from(0), 2));
        assert_eq!(empty_like(&Value::Timestamp(5)).unwrap(), Value::Timestamp(0));
        assert_eq!(empty_like(&Value::Array(vec![Value::Int8(1)])).unwrap(), Value::Array(vec![]));
        assert!(empty_like(&Value::Bytes(vec![1])).unwrap_err().contains("class [B"));
        assert_eq!(replaced(&Value::Int64(9), "42").unwrap(), Value::Int64(42));
        assert_eq!(replaced(&Value::String("x".into()), "***").unwrap(), Value::String("***".into()));
        assert_eq!(
            replaced(&Value::Decimal(BigInt::from(1), 0), "-1.50").unwrap(),
            Value::Decimal(BigInt::from(-150), 2)
        );
        assert!(replaced(&Value::Int32(1), "abc").unwrap_err().contains("Unable to convert abc"));
        assert!(replaced(&Value::Boolean(true), "x").unwrap_err().contains("with custom replacement"));
        assert!(replaced(&Value::Date(1), "x").unwrap_err().contains("java.util.Date"));
    }
}
