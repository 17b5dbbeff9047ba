//! Partitioners (storage-common, s3-sink.md §3): the encoded partition of a record, the
//! directory it goes to, and the timestamp extractors of the time-based ones.

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use runtime::data::{Type, Value};
use runtime::SinkRecord;

use crate::path_format::PathFormat;

/// Where a time-based partitioner takes a record's time from (`timestamp.extractor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampExtractor {
    /// The time of the current write pass: processing time, not deterministic.
    Wallclock,
    /// The Kafka record's timestamp.
    Record,
    /// A field of the value (`timestamp.field`, nested with `.`).
    RecordField(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioner {
    /// `partition=<kafka partition>`.
    Default,
    /// `<field>=<value>` per `partition.field.name`, joined with `directory.delim`.
    Field { fields: Vec<String> },
    /// Time buckets of `duration_ms` in `zone`, formatted with `path.format`.
    Time { format: PathFormat, duration_ms: i64, zone: Tz, extractor: TimestampExtractor },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("Error encoding partition: the record value is not a struct (FieldPartitioner)")]
    NotAStruct,
    #[error("Field '{field}' is not present in the schema.")]
    MissingField { field: String },
    #[error("Error encoding partition: field '{field}' is of type {ty}, not an integer, string or boolean")]
    FieldType { field: String, ty: &'static str },
    #[error("Unable to determine timestamp using timestamp.extractor {extractor}: {reason}")]
    NoTimestamp { extractor: &'static str, reason: String },
}

/// Joda's `getOffset` at an instant, in ms.
fn offset_ms(zone: Tz, instant_ms: i64) -> i64 {
    match zone.timestamp_millis_opt(instant_ms) {
        chrono::LocalResult::Single(t) => t.offset().fix().local_minus_utc() as i64 * 1000,
        _ => 0,
    }
}

/// Joda's `convertLocalToUTC(local, strict = false)`: in a gap, the offset before it.
fn local_to_utc(zone: Tz, local: i64) -> i64 {
    let offset_local = offset_ms(zone, local);
    let mut offset = offset_ms(zone, local - offset_local);
    if offset_local != offset && offset_local < 0 && offset_ms(zone, local - offset) != offset {
        offset = offset_local;
    }
    local - offset
}

/// The start of the time bucket holding `ts` (s3-sink.md §3.3): the zone offset is applied
/// before flooring, and Java's `/` truncates toward zero, as Rust's does.
pub fn bucket_start(ts: i64, duration_ms: i64, zone: Tz) -> i64 {
    let local = ts + offset_ms(zone, ts);
    let bucket = (local / duration_ms) * duration_ms;
    local_to_utc(zone, bucket)
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Result<&'a Value, String> {
    let mut v = value;
    for (i, part) in path.iter().enumerate() {
        v = match v {
            Value::Struct(s) => s.get(part).ok_or_else(|| path[..=i].join("."))?,
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == part))
                .map(|(_, v)| v)
                .ok_or_else(|| path[..=i].join("."))?,
            _ => return Err(path[..=i].join(".")),
        };
    }
    Ok(v)
}

fn field_timestamp(value: &Value, path: &[String]) -> Result<i64, String> {
    let v = lookup(value, path).map_err(|f| format!("field {f} not found"))?;
    match v {
        Value::Timestamp(ms) | Value::Int64(ms) => Ok(*ms),
        Value::Int32(n) => Ok(*n as i64),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit()) {
                return s.parse().map_err(|e| format!("{s:?}: {e}"));
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis())
                .map_err(|_| format!("{s:?} is neither epoch milliseconds nor an ISO-8601 date-time"))
        }
        Value::Null => Err(format!("field {} is null", path.join("."))),
        other => Err(format!("field {} is not a timestamp, a number or a string: {other:?}", path.join("."))),
    }
}

impl Partitioner {
    /// `DailyPartitioner`: `'year'=YYYY/'month'=MM/'day'=dd` with `directory.delim` for `/`.
    pub fn daily(zone: Tz, extractor: TimestampExtractor, delim: &str) -> Partitioner {
        let d = delim.replace('\'', "''");
        let format = PathFormat::parse(&format!("'year'=YYYY'{d}month'=MM'{d}day'=dd")).expect("a valid pattern");
        Partitioner::Time { format, duration_ms: 86_400_000, zone, extractor }
    }

    /// `HourlyPartitioner`: the daily path plus `'hour'=HH`.
    pub fn hourly(zone: Tz, extractor: TimestampExtractor, delim: &str) -> Partitioner {
        let d = delim.replace('\'', "''");
        let pattern = format!("'year'=YYYY'{d}month'=MM'{d}day'=dd'{d}hour'=HH");
        let format = PathFormat::parse(&pattern).expect("a valid pattern");
        Partitioner::Time { format, duration_ms: 3_600_000, zone, extractor }
    }

    pub fn is_time_based(&self) -> bool {
        matches!(self, Partitioner::Time { .. })
    }

    /// The record's time for a time-based partitioner (`now`: the write pass's wall clock).
    pub fn timestamp(&self, record: &SinkRecord, now: i64) -> Result<Option<i64>, PartitionError> {
        let Partitioner::Time { extractor, .. } = self else { return Ok(None) };
        match extractor {
            TimestampExtractor::Wallclock => Ok(Some(now)),
            TimestampExtractor::Record => record.timestamp.map(Some).ok_or(PartitionError::NoTimestamp {
                extractor: "Record",
                reason: "the record has no timestamp".into(),
            }),
            TimestampExtractor::RecordField(path) => field_timestamp(&record.value, path)
                .map(Some)
                .map_err(|reason| PartitionError::NoTimestamp { extractor: "RecordField", reason }),
        }
    }

    /// What the record's encoded partition is a function of, besides its Kafka partition: the
    /// same key gives the same [`Self::encode`] (nothing for the Default partitioner, the time
    /// bucket of `timestamp`, from [`Self::timestamp`], for a time-based one); `None` when it
    /// must be encoded each time (FieldPartitioner).
    pub fn encoding_key(&self, timestamp: Option<i64>) -> Option<i64> {
        match self {
            Partitioner::Default => Some(0),
            Partitioner::Field { .. } => None,
            Partitioner::Time { duration_ms, zone, .. } => timestamp.map(|ts| bucket_start(ts, *duration_ms, *zone)),
        }
    }

    /// `encodePartition`: e.g. `partition=3`, `country=DE/region=BY`, `year=2023/month=11/day=14`.
    pub fn encode(&self, record: &SinkRecord, now: i64, delim: &str) -> Result<String, PartitionError> {
        match self {
            Partitioner::Default => Ok(format!("partition={}", record.kafka_partition)),
            Partitioner::Field { fields } => {
                if !matches!(record.value, Value::Struct(_)) {
                    return Err(PartitionError::NotAStruct);
                }
                let mut parts = Vec::with_capacity(fields.len());
                for f in fields {
                    let path: Vec<String> = f.split('.').map(str::to_owned).collect();
                    let v =
                        lookup(&record.value, &path).map_err(|_| PartitionError::MissingField { field: f.clone() })?;
                    let text = match v {
                        Value::Null => "null".to_owned(),
                        Value::Int8(n) => n.to_string(),
                        Value::Int16(n) => n.to_string(),
                        Value::Int32(n) => n.to_string(),
                        Value::Int64(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        Value::Boolean(b) => b.to_string(),
                        other => {
                            let ty = match other {
                                Value::Float32(_) => Type::Float32,
                                Value::Float64(_) => Type::Float64,
                                Value::Bytes(_) | Value::Decimal(..) => Type::Bytes,
                                Value::Array(_) => Type::Array,
                                Value::Map(_) => Type::Map,
                                _ => Type::Struct,
                            };
                            return Err(PartitionError::FieldType { field: f.clone(), ty: ty.json_name() });
                        }
                    };
                    parts.push(format!("{f}={text}"));
                }
                Ok(parts.join(delim))
            }
            Partitioner::Time { format, duration_ms, zone, .. } => {
                let ts = self.timestamp(record, now)?.expect("time-based");
                let start = bucket_start(ts, *duration_ms, *zone);
                Ok(format.format(start, *zone))
            }
        }
    }

    /// `generatePartitionedPath`: `<topic><delim><encoded>`.
    pub fn path(topic: &str, encoded: &str, delim: &str) -> String {
        format!("{topic}{delim}{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::data::{Schema, Struct};

    const T: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    fn record(value: Value) -> SinkRecord {
        SinkRecord {
            topic: "orders".into(),
            kafka_partition: 3,
            kafka_offset: 1200,
            key_schema: None,
            key: Value::Null,
            value_schema: None,
            value,
            timestamp: Some(T),
            headers: vec![],
        }
    }

    fn time(pattern: &str, duration_ms: i64, zone: &str) -> Partitioner {
        Partitioner::Time {
            format: PathFormat::parse(pattern).unwrap(),
            duration_ms,
            zone: zone.parse().unwrap(),
            extractor: TimestampExtractor::Record,
        }
    }

    #[test]
    fn reference_examples() {
        let r = record(Value::Null);
        assert_eq!(Partitioner::Default.encode(&r, 0, "/").unwrap(), "partition=3");
        let hourly = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
        assert_eq!(time(hourly, 3_600_000, "UTC").encode(&r, 0, "/").unwrap(), "year=2023/month=11/day=14/hour=22");
        assert_eq!(
            time(hourly, 3_600_000, "America/New_York").encode(&r, 0, "/").unwrap(),
            "year=2023/month=11/day=14/hour=17"
        );
        assert_eq!(
            time(hourly, 3_600_000, "Asia/Kolkata").encode(&r, 0, "/").unwrap(),
            "year=2023/month=11/day=15/hour=03"
        );
        assert_eq!(
            time("'dt'=YYYY-MM-dd/'hm'=HHmm", 900_000, "UTC").encode(&r, 0, "/").unwrap(),
            "dt=2023-11-14/hm=2200"
        );
        let utc: Tz = "UTC".parse().unwrap();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            Partitioner::daily(utc, TimestampExtractor::Record, "/").encode(&r, 0, "/").unwrap(),
            "year=2023/month=11/day=14"
        );
        assert_eq!(
            Partitioner::daily(kolkata, TimestampExtractor::Record, "/").encode(&r, 0, "/").unwrap(),
            "year=2023/month=11/day=15"
        );
        assert_eq!(
            Partitioner::hourly(utc, TimestampExtractor::Record, "/").encode(&r, 0, "/").unwrap(),
            "year=2023/month=11/day=14/hour=22"
        );
        assert_eq!(
            Partitioner::daily(utc, TimestampExtractor::Record, "_").encode(&r, 0, "_").unwrap(),
            "year=2023_month=11_day=14"
        );
        assert_eq!(Partitioner::path("orders", "partition=3", "/"), "orders/partition=3");
    }

    #[test]
    fn field_partitioner() {
        let schema = Schema::builder(Type::Struct)
            .field("country", Schema::string())
            .field("region", Schema::primitive(Type::String, true))
            .field("amount", Schema::primitive(Type::Float64, false))
            .build();
        let mut s = Struct::new(schema);
        s.put("country", Value::String("DE".into())).put("region", Value::String("BY".into()));
        s.put("amount", Value::Float64(1.5));
        let p = Partitioner::Field { fields: vec!["country".into(), "region".into()] };
        assert_eq!(p.encode(&record(Value::Struct(s.clone())), 0, "/").unwrap(), "country=DE/region=BY");
        s.put("region", Value::Null);
        assert_eq!(p.encode(&record(Value::Struct(s.clone())), 0, "/").unwrap(), "country=DE/region=null");
        let missing = Partitioner::Field { fields: vec!["city".into()] };
        assert_eq!(
            missing.encode(&record(Value::Struct(s.clone())), 0, "/").unwrap_err().to_string(),
            "Field 'city' is not present in the schema."
        );
        let float = Partitioner::Field { fields: vec!["amount".into()] };
        assert!(float.encode(&record(Value::Struct(s)), 0, "/").is_err());
        assert_eq!(p.encode(&record(Value::String("x".into())), 0, "/"), Err(PartitionError::NotAStruct));
    }

    #[test]
    fn extractors() {
        let field = Partitioner::Time {
            format: PathFormat::parse("YYYY-MM-dd").unwrap(),
            duration_ms: 86_400_000,
            zone: "UTC".parse().unwrap(),
            extractor: TimestampExtractor::RecordField(vec!["at".into()]),
        };
        let with = |v: Value| {
            let schema = Schema::builder(Type::Struct).field("at", Schema::primitive(Type::String, true)).build();
            let mut s = Struct::new(schema);
            s.put("at", v);
            record(Value::Struct(s))
        };
        assert_eq!(field.encode(&with(Value::String("1700000000000".into())), 0, "/").unwrap(), "2023-11-14");
        assert_eq!(
            field.encode(&with(Value::String("2024-02-29T23:30:00-01:00".into())), 0, "/").unwrap(),
            "2024-03-01"
        );
        assert!(field.encode(&with(Value::Null), 0, "/").is_err());
        let wall = Partitioner::Time {
            format: PathFormat::parse("YYYY").unwrap(),
            duration_ms: 3_600_000,
            zone: "UTC".parse().unwrap(),
            extractor: TimestampExtractor::Wallclock,
        };
        assert_eq!(wall.encode(&record(Value::Null), 0, "/").unwrap(), "1970");
        let mut no_ts = record(Value::Null);
        no_ts.timestamp = None;
        assert!(time("YYYY", 3_600_000, "UTC").encode(&no_ts, 0, "/").is_err());
    }

    #[test]
    fn buckets_truncate_toward_zero_before_1970_as_java() {
        let utc: Tz = "UTC".parse().unwrap();
        assert_eq!(bucket_start(-1, 3_600_000, utc), 0);
        assert_eq!(bucket_start(3_599_999, 3_600_000, utc), 0);
    }

    #[test]
    fn hour_buckets_across_daylight_saving_changes() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let hour = |ts| PathFormat::parse("dd'T'HHZ").unwrap().format(bucket_start(ts, 3_600_000, ny), ny);
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT at 07:00Z
        assert_eq!(hour(1_710_053_400_000), "10T01-0500"); // 06:30Z = 01:30 EST
        assert_eq!(hour(1_710_055_800_000), "10T03-0400"); // 07:30Z = 03:30 EDT
                                                           // 2024-11-03: 02:00 EDT falls back to 01:00 EST at 06:00Z; as in Joda, both 01:xx hours
                                                           // land in the bucket starting at the first 01:00 (EDT)
        assert_eq!(hour(1_730_611_800_000), "03T01-0400"); // 05:30Z = 01:30 EDT
        assert_eq!(hour(1_730_615_400_000), "03T01-0400"); // 06:30Z = 01:30 EST
    }
}
