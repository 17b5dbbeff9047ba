//! `Cast$Key` / `Cast$Value` (transforms-converters.md §1.2(d)): `spec` is `field:type,…` for
//! fields of a struct (or map) or one bare `type` for the whole key or value; types are int8,
//! int16, int32, int64, float32, float64, boolean and string (case-insensitive).
//!
//! As Kafka: numbers narrow as Java does (wrapping); strings parse as Java's `parseX`; booleans
//! are 1/0 and numbers are true when not 0; a string is true only for "true"; a Decimal casts to
//! its double or its `BigDecimal` text; bytes cast to string as base64; Date, Time and
//! Timestamp cast to days, ms of the day and epoch ms, and to string by value (under a day
//! `HH:mm:ss.SSS'Z'`, midnight `yyyy-MM-dd`, else `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`, in UTC where
//! Kafka uses the JVM's zone). A cast field keeps its optionality and (cast) default and loses
//! its logical name; a null stays null; a tombstone passes; without a schema, a missing field is
//! added as null.

use base64::Engine;

use super::fields::{kind_of, struct_like, SchemaCache};
use super::Side;
use crate::config::ConfigReader;
use crate::convert::number::{big_decimal_string, java_double, java_float};
use crate::convert::time::{iso_date, iso_timestamp};
use crate::data::{Schema, Struct, Type, Value};
use crate::record::ConnectRecord;

/// Connect's `Schema.Type` names (not JsonConverter's `float`/`double`).
const TARGETS: [(&str, Type); 8] = [
    ("int8", Type::Int8),
    ("int16", Type::Int16),
    ("int32", Type::Int32),
    ("int64", Type::Int64),
    ("float32", Type::Float32),
    ("float64", Type::Float64),
    ("boolean", Type::Boolean),
    ("string", Type::String),
];

#[derive(Debug, Clone)]
pub struct Cast {
    side: Side,
    /// `None`: the whole key or value.
    fields: Vec<(Option<String>, Type)>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn target(name: &str) -> Option<Type> {
    TARGETS.into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, t)| t)
}

impl Cast {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<Cast> {
        let spec = r.list("spec");
        let expected = "field:type,… or one type (int8, int16, int32, int64, float32, float64, boolean, string)";
        if spec.is_empty() {
            r.missing("spec", expected);
            return None;
        }
        let mut fields = Vec::new();
        for entry in &spec {
            let parsed = match entry.split_once(':') {
                Some((f, t)) => target(t).map(|t| (Some(f.trim().to_owned()), t)),
                None => target(entry).map(|t| (None, t)),
            };
            match parsed {
                Some(p) => fields.push(p),
                None => r.invalid("spec", expected, entry.as_str()),
            }
        }
        if fields.iter().any(|(f, _)| f.is_none()) && fields.len() > 1 {
            r.invalid("spec", "a single type alone when the whole value is cast", spec.join(","));
        }
        let replace_null_with_default = r.bool("replace.null.with.default", true);
        Some(Cast { side, fields, replace_null_with_default, cache: SchemaCache::default() })
    }

    fn target_of(&self, field: &str) -> Option<Type> {
        self.fields.iter().find(|(f, _)| f.as_deref() == Some(field)).map(|(_, t)| *t)
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let whole = self.fields.first().and_then(|(f, t)| f.is_none().then_some(*t));
        let (schema, value) = self.side.of(r);
        if value.is_null() && schema.is_none() {
            return Ok(());
        }
        if let Some(t) = whole {
            if let Some(s) = schema.as_ref() {
                let cast = cast_schema(s, t)?;
                *schema = Some(cast);
            }
            *value = cast(std::mem::replace(value, Value::Null), t)?;
            return Ok(());
        }
        match (schema.as_ref(), &mut *value) {
            (_, Value::Null) => Ok(()),
            (None, Value::Map(entries)) => {
                for (field, t) in self.fields.iter().filter_map(|(f, t)| f.as_ref().map(|f| (f, *t))) {
                    match entries.iter_mut().find(|(k, _)| matches!(k, Value::String(s) if s == field)) {
                        Some((_, v)) => *v = cast(std::mem::replace(v, Value::Null), t)?,
                        None => entries.push((Value::String(field.clone()), Value::Null)),
                    }
                }
                Ok(())
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [cast types], found: {}",
                kind_of(other)
            )),
            (Some(s), Value::Struct(old)) => {
                let targets: Vec<Option<Type>> = s.fields.iter().map(|f| self.target_of(&f.name)).collect();
                let cast_struct = self.cache.get_or(s, || {
                    let mut b = struct_like(s);
                    for (f, t) in s.fields.iter().zip(&targets) {
                        b = b.field(f.name.clone(), t.map_or(Ok(f.schema.clone()), |t| cast_schema(&f.schema, t))?);
                    }
                    Ok(if s.optional { b.optional() } else { b }.build())
                })?;
                let mut values = std::mem::take(&mut old.values);
                for ((v, f), t) in values.iter_mut().zip(&s.fields).zip(&targets) {
                    if let (Value::Null, Some(d), true) = (&*v, &f.schema.default, self.replace_null_with_default) {
                        *v = d.clone();
                    }
                    if let Some(t) = t {
                        *v = cast(std::mem::replace(v, Value::Null), *t)?;
                    }
                }
                *value = Value::Struct(Struct { schema: cast_struct.clone(), values });
                *schema = Some(cast_struct);
                Ok(())
            }
            (Some(_), other) => {
                Err(format!("Only Struct objects supported for [cast types], found: {}", kind_of(other)))
            }
        }
    }
}

/// The schema of a cast field: the target type, the same optionality, the default cast.
fn cast_schema(orig: &Schema, t: Type) -> Result<Schema, String> {
    if matches!(orig.ty, Type::Struct | Type::Array | Type::Map) {
        return Err(format!(
            "Cast transformation does not support casting to/from {}",
            orig.ty.json_name().to_ascii_uppercase()
        ));
    }
    let mut b = Schema::builder(t);
    if orig.optional {
        b = b.optional();
    }
    if let Some(d) = &orig.default {
        b = b.default_value(cast(d.clone(), t)?);
    }
    Ok(b.build())
}

/// The number a value stands for when cast to a number: Java's `Number` views.
enum Num {
    Int(i64),
    Float(f64),
}

fn number(v: &Value, t: Type) -> Result<Num, String> {
    Ok(match v {
        Value::Int8(n) => Num::Int(*n as i64),
        Value::Int16(n) => Num::Int(*n as i64),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => Num::Int(*n as i64),
        Value::Int64(n) | Value::Timestamp(n) => Num::Int(*n),
        Value::Float32(x) => Num::Float(*x as f64),
        Value::Float64(x) => Num::Float(*x),
        Value::Boolean(b) => Num::Int(i64::from(*b)),
        Value::Decimal(unscaled, scale) => {
            let text = big_decimal_string(unscaled, *scale);
            match t {
                // BigDecimal.longValue/intValue: the integer part, wrapped
                Type::Float32 | Type::Float64 => Num::Float(text.parse().unwrap_or(0.0)),
                _ => {
                    let divisor = num_bigint::BigInt::from(10).pow(scale.max(&0).unsigned_abs());
                    let int = if *scale >= 0 {
                        unscaled / divisor
                    } else {
                        unscaled * num_bigint::BigInt::from(10).pow(scale.unsigned_abs())
                    };
                    let low = int.iter_u64_digits().next().unwrap_or(0) as i64;
                    Num::Int(if int.sign() == num_bigint::Sign::Minus { low.wrapping_neg() } else { low })
                }
            }
        }
        Value::String(s) => return parse_number(s, t),
        other => return Err(format!("Unexpected type in Cast transformation: {}", kind_of(other))),
    })
}

/// Java's `Byte.parseByte` … `Double.parseDouble`.
fn parse_number(s: &str, t: Type) -> Result<Num, String> {
    let bad = || format!("For input string: \"{s}\"");
    match t {
        Type::Float32 | Type::Float64 => s.trim().parse::<f64>().map(Num::Float).map_err(|_| bad()),
        _ => {
            let n: i64 = s.parse().map_err(|_| bad())?;
            let (lo, hi) = match t {
                Type::Int8 => (i8::MIN as i64, i8::MAX as i64),
                Type::Int16 => (i16::MIN as i64, i16::MAX as i64),
                Type::Int32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(format!("Value out of range. Value:\"{s}\" Radix:10"));
            }
            Ok(Num::Int(n))
        }
    }
}

/// Casts one value (a null stays null).
fn cast(v: Value, t: Type) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if let Value::Bytes(b) = &v {
        return match t {
            Type::String => Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
            _ => Err(format!("Cast transformation does not support casting BYTES to {t:?}")),
        };
    }
    Ok(match t {
        Type::String => Value::String(text(&v)?),
        Type::Boolean => Value::Boolean(match &v {
            Value::Boolean(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            other => match number(other, Type::Int64)? {
                Num::Int(n) => n != 0,
                Num::Float(x) => (x as i64) != 0,
            },
        }),
        Type::Float32 | Type::Float64 => {
            let x = match number(&v, t)? {
                Num::Int(n) => n as f64,
                Num::Float(x) => x,
            };
            if t == Type::Float32 {
                Value::Float32(x as f32)
            } else {
                Value::Float64(x)
            }
        }
        _ => {
            // Java's narrowing: a double saturates into a long (an int for the smaller types)
            // and then wraps
            let n = match number(&v, t)? {
                Num::Int(n) => n,
                Num::Float(x) if t == Type::Int64 => x as i64,
                Num::Float(x) => (x as i32) as i64,
            };
            match t {
                Type::Int8 => Value::Int8(n as i8),
                Type::Int16 => Value::Int16(n as i16),
                Type::Int32 => Value::Int32(n as i32),
                _ => Value::Int64(n),
            }
        }
    })
}

/// `String.valueOf` of the Java value, dates by value as Kafka's `Values.dateFormatFor`.
fn text(v: &Value) -> Result<String, String> {
    const DAY: i64 = 86_400_000;
    let date = |ms: i64| {
        if ms < DAY {
            let t = iso_timestamp(ms);
            let time = &t[11..t.len() - 1];
            format!("{}Z", if time.len() == 8 { format!("{time}.000") } else { time.to_owned() })
        } else if ms % DAY == 0 {
            iso_date((ms / DAY) as i32)
        } else {
            let t = iso_timestamp(ms);
            if t.len() == 20 {
                format!("{}.000Z", &t[..19])
            } else {
                t
            }
        }
    };
    Ok(match v {
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Float32(x) => java_float(*x),
        Value::Float64(x) => java_double(*x),
        Value::Decimal(u, s) => big_decimal_string(u, *s),
        Value::Date(d) => date(*d as i64 * DAY),
        Value::Time(ms) => date(*ms as i64),
        Value::Timestamp(ms) => date(*ms),
        other => return Err(format!("Unexpected type in Cast transformation: {}", kind_of(other))),
    })
}

#[cfg(test)]
mod tests {
    use num_bigint::BigInt;

    use super::*;

    #[test]
    fn java_casts() {
        assert_eq!(cast(Value::Int32(300), Type::Int8).unwrap(), Value::Int8(44), "wraps as Java");
        assert_eq!(cast(Value::Float64(3.9e10), Type::Int32).unwrap(), Value::Int32(i32::MAX), "saturates");
        assert_eq!(cast(Value::Float64(-2.7), Type::Int64).unwrap(), Value::Int64(-2));
        assert_eq!(cast(Value::String("42".into()), Type::Int16).unwrap(), Value::Int16(42));
        assert!(cast(Value::String("300".into()), Type::Int8).unwrap_err().contains("out of range"));
        assert!(cast(Value::String("x".into()), Type::Int32).unwrap_err().contains("For input string"));
        assert_eq!(cast(Value::Boolean(true), Type::Int32).unwrap(), Value::Int32(1));
        assert_eq!(cast(Value::Int64(0), Type::Boolean).unwrap(), Value::Boolean(false));
        assert_eq!(cast(Value::String("TRUE".into()), Type::Boolean).unwrap(), Value::Boolean(true));
        assert_eq!(cast(Value::String("yes".into()), Type::Boolean).unwrap(), Value::Boolean(false));
        let dec = Value::Decimal(BigInt::from(-12345), 2);
        assert_eq!(cast(dec.clone(), Type::Float64).unwrap(), Value::Float64(-123.45));
        assert_eq!(cast(dec.clone(), Type::String).unwrap(), Value::String("-123.45".into()));
        assert_eq!(cast(dec, Type::Int32).unwrap(), Value::Int32(-123));
        assert_eq!(cast(Value::Bytes(vec![0, 255]), Type::String).unwrap(), Value::String("AP8=".into()));
        assert!(cast(Value::Bytes(vec![1]), Type::Int32).is_err());
        assert_eq!(cast(Value::Float64(1e10), Type::String).unwrap(), Value::String("1.0E10".into()));
        assert_eq!(cast(Value::Date(19_675), Type::Int32).unwrap(), Value::Int32(19_675));
        assert_eq!(cast(Value::Date(19_675), Type::String).unwrap(), Value::String("2023-11-14".into()));
        assert_eq!(cast(Value::Time(3_723_004), Type::String).unwrap(), Value::String("01:02:03.004Z".into()));
        assert_eq!(
            cast(Value::Timestamp(1_700_000_000_000), Type::String).unwrap(),
            Value::String("2023-11-14T22:13:20.000Z".into())
        );
        assert_eq!(cast(Value::Null, Type::String).unwrap(), Value::Null);
    }
}
