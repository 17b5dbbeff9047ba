//! `TimestampConverter$Key` / `TimestampConverter$Value` (transforms-converters.md §1.2(b)):
//! converts a timestamp, the whole key or value or one top-level `field`, between `string`
//! (`format`, a SimpleDateFormat pattern in UTC), `unix` (a long at `unix.precision`), `Date`,
//! `Time` and `Timestamp`.
//!
//! The input kind comes from the schema (the Timestamp, Date and Time logical types; a string is
//! parsed with `format`; an int64 is unix time) or, without a schema, from the value (a string
//! or a long). Anything else fails, as in Kafka (Debezium's INT32 `io.debezium.time.Date` among
//! them). Sub-millisecond precision is lost both ways; `Date` keeps the day (midnight UTC),
//! `Time` the time of day; a null stays null; a tombstone passes.

use super::fields::{kind_of, struct_like, SchemaCache};
use super::router::{java_date_format, SimpleDateFormat};
use super::Side;
use crate::config::ConfigReader;
use crate::data::{Schema, Struct, Type, Value, DATE, TIME, TIMESTAMP};
use crate::record::ConnectRecord;

const DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

#[derive(Debug, Clone)]
pub struct TimestampConverter {
    side: Side,
    field: Option<String>,
    target: Kind,
    format: Option<(String, SimpleDateFormat)>,
    precision: Precision,
    replace_null_with_default: bool,
    /// The year two-digit years are read around, fixed when configured (as SimpleDateFormat's
    /// default century is when it is created).
    now_year: i64,
    cache: SchemaCache,
}

impl TimestampConverter {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<TimestampConverter> {
        let field = r.non_empty("field");
        let target = match r.required("target.type", "string, unix, Date, Time or Timestamp")?.as_str() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            other => {
                r.invalid("target.type", "string, unix, Date, Time or Timestamp (case-sensitive)", other);
                return None;
            }
        };
        let format = match r.non_empty("format") {
            Some(p) => match java_date_format(&p) {
                Ok(f) => Some((p, f)),
                Err(e) => {
                    r.invalid("format", format!("a SimpleDateFormat pattern ({e})"), p);
                    None
                }
            },
            None if target == Kind::String => {
                r.missing(
                    "format",
                    "a SimpleDateFormat pattern (TimestampConverter requires format with target.type=string)",
                );
                None
            }
            None => None,
        };
        let precision = match r.one_of(
            "unix.precision",
            "milliseconds",
            &["seconds", "milliseconds", "microseconds", "nanoseconds"],
        ) {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            _ => Precision::Millis,
        };
        let replace_null_with_default = r.bool("replace.null.with.default", true);
        let now_year = crate::convert::time::civil_from_days(wall_clock_days()).0;
        Some(TimestampConverter {
            side,
            field,
            target,
            format,
            precision,
            replace_null_with_default,
            now_year,
            cache: SchemaCache::default(),
        })
    }

    /// The output schema for the target type, optional as the input was.
    fn target_schema(&self, optional: bool) -> Schema {
        let b = match self.target {
            Kind::String => Schema::builder(Type::String),
            Kind::Unix => Schema::builder(Type::Int64),
            Kind::Date => Schema::date(),
            Kind::Time => Schema::time(),
            Kind::Timestamp => Schema::timestamp(),
        };
        if optional { b.optional() } else { b }.build()
    }

    /// The input kind from a schema.
    fn kind_of_schema(s: &Schema) -> Result<Kind, String> {
        match (s.name.as_deref(), s.ty) {
            (Some(TIMESTAMP), _) => Ok(Kind::Timestamp),
            (Some(DATE), _) => Ok(Kind::Date),
            (Some(TIME), _) => Ok(Kind::Time),
            (_, Type::String) => Ok(Kind::String),
            (_, Type::Int64) => Ok(Kind::Unix),
            _ => Err(format!(
                "Schema {} does not correspond to a known timestamp type format",
                s.name.as_deref().unwrap_or(s.ty.json_name())
            )),
        }
    }

    /// Epoch milliseconds of `v` read as `kind`.
    fn to_millis(&self, v: &Value, kind: Kind) -> Result<i64, String> {
        match (kind, v) {
            (Kind::Timestamp, Value::Timestamp(ms)) => Ok(*ms),
            (Kind::Date, Value::Date(d)) => Ok(*d as i64 * DAY),
            (Kind::Time, Value::Time(ms)) => Ok(*ms as i64),
            (Kind::Unix, Value::Int64(n)) => Ok(match self.precision {
                Precision::Seconds => n.saturating_mul(1000),
                Precision::Millis => *n,
                Precision::Micros => n / 1000,
                Precision::Nanos => n / 1_000_000,
            }),
            (Kind::String, Value::String(s)) => {
                let Some((pattern, f)) = &self.format else {
                    return Err(
                        "TimestampConverter requires format option to be specified when using string timestamps".into(),
                    );
                };
                f.parse(s, self.now_year)
                    .ok_or_else(|| format!("Could not parse timestamp: value ({s}) does not match pattern ({pattern})"))
            }
            (_, other) => Err(format!("TimestampConverter does not support {} values here", kind_of(other))),
        }
    }

    fn target_value(&self, ms: i64) -> Value {
        match self.target {
            Kind::String => Value::String(self.format.as_ref().map(|(_, f)| f.format(ms)).unwrap_or_default()),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms.div_euclid(1000),
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Date(ms.div_euclid(DAY) as i32),
            Kind::Time => Value::Time(ms.rem_euclid(DAY) as i32),
            Kind::Timestamp => Value::Timestamp(ms),
        }
    }

    fn convert(&self, v: Value, kind: Kind) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        Ok(self.target_value(self.to_millis(&v, kind)?))
    }

    /// The kind of a schemaless value: a string or a long (Kafka's `java.util.Date` has no
    /// schemaless form here).
    fn kind_of_value(v: &Value) -> Result<Kind, String> {
        match v {
            Value::String(_) => Ok(Kind::String),
            Value::Int64(_) => Ok(Kind::Unix),
            Value::Timestamp(_) => Ok(Kind::Timestamp),
            other => Err(format!("TimestampConverter does not support {} objects as timestamps", kind_of(other))),
        }
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        let Some(field) = self.field.clone() else {
            let kind = match schema.as_ref() {
                Some(s) => Self::kind_of_schema(s)?,
                None if value.is_null() => return Ok(()),
                None => Self::kind_of_value(value)?,
            };
            let converted = self.convert(std::mem::replace(value, Value::Null), kind)?;
            if let Some(s) = schema.as_ref() {
                *schema = Some(self.target_schema(s.optional));
            }
            *value = converted;
            return Ok(());
        };
        match (schema.as_ref(), &mut *value) {
            (_, Value::Null) => Ok(()),
            (None, Value::Map(entries)) => {
                if let Some((_, v)) = entries.iter_mut().find(|(k, _)| matches!(k, Value::String(s) if *s == field)) {
                    if !v.is_null() {
                        let kind = Self::kind_of_value(v)?;
                        *v = self.convert(std::mem::replace(v, Value::Null), kind)?;
                    }
                }
                Ok(())
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [converting timestamp formats], found: {}",
                kind_of(other)
            )),
            (Some(s), Value::Struct(old)) => {
                let f = s.field(&field).ok_or_else(|| format!("{field} is not a valid field name"))?;
                let kind = Self::kind_of_schema(&f.schema)?;
                let converted_schema = self.target_schema(f.schema.optional);
                let updated = self.cache.get_or(s, || {
                    let mut b = struct_like(s);
                    for g in &s.fields {
                        b = b.field(
                            g.name.clone(),
                            if g.name == field { converted_schema.clone() } else { g.schema.clone() },
                        );
                    }
                    Ok(if s.optional { b.optional() } else { b }.build())
                })?;
                let mut values = std::mem::take(&mut old.values);
                for (v, g) in values.iter_mut().zip(&s.fields) {
                    if let (Value::Null, Some(d), true) = (&*v, &g.schema.default, self.replace_null_with_default) {
                        *v = d.clone();
                    }
                    if g.name == field {
                        *v = self.convert(std::mem::replace(v, Value::Null), kind)?;
                    }
                }
                *value = Value::Struct(Struct { schema: updated.clone(), values });
                *schema = Some(updated);
                Ok(())
            }
            (Some(_), other) => Err(format!(
                "Only Struct objects supported for [converting timestamp formats], found: {}",
                kind_of(other)
            )),
        }
    }
}

fn wall_clock_days() -> i64 {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    ms.div_euclid(DAY)
}
