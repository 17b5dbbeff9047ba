//! A result row as a Connect struct: the layout (which result columns, of which kind, under
//! which schema) is built once per statement from the first row and `information_schema`, then
//! every row is decoded against it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use num_bigint::BigInt;
use runtime::data::{Schema, Struct, Type, Value};
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};
use tracing::warn;

use crate::config::Granularity;
use crate::position::Instant;
use crate::schema::{kind_from_driver, mysql_kind, postgres_kind, ColumnMeta, Kind};

/// How `BIGINT UNSIGNED` (and `INT UNSIGNED` beyond i64, impossible but checked) is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsignedMapping {
    /// INT64; a value above 2⁶³−1 is a bad record (never a silent wrap).
    Int64,
    /// Decimal(20, 0).
    Decimal,
    String,
}

/// What the layout needs to know besides the result columns.
#[derive(Debug, Clone)]
pub struct LayoutSpec {
    /// Value schema name (the bare table name; none in query mode).
    pub schema_name: Option<String>,
    /// Column metadata by name (table mode).
    pub meta: Option<Arc<Vec<ColumnMeta>>>,
    pub timestamp_columns: Vec<String>,
    pub incrementing_column: Option<String>,
    pub numeric_mapping: &'static str,
    pub unsigned_mapping: UnsignedMapping,
    pub zone: Tz,
    pub granularity: Granularity,
    pub mysql: bool,
}

#[derive(Debug, Clone)]
struct Col {
    index: usize,
    kind: Kind,
    name: String,
}

/// The decoding plan of one statement's rows.
#[derive(Debug, Clone)]
pub struct Layout {
    pub schema: Schema,
    cols: Vec<Col>,
    timestamp: Vec<(usize, Kind)>,
    incrementing: Option<(usize, Kind)>,
    zone: Tz,
    unsigned: UnsignedMapping,
    granularity: Granularity,
    /// Column names, to notice a change of the result's shape.
    signature: Vec<String>,
}

/// One decoded row.
pub struct Decoded {
    pub value: Value,
    pub timestamp: Option<Instant>,
    pub incrementing: Option<i64>,
}

/// A value that cannot be represented; the row is a bad record.
#[derive(Debug)]
pub struct BadValue {
    pub column: String,
    pub message: String,
}

fn bad(column: &str, message: impl std::fmt::Display) -> BadValue {
    BadValue { column: column.to_owned(), message: message.to_string() }
}

/// `-123.4500` → (-1234500, 4).
pub fn parse_decimal(text: &str) -> Option<(BigInt, i32)> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = format!("{int}{frac}");
    Some((digits.parse().ok()?, frac.len() as i32))
}

/// Rescales an unscaled value to `target` without losing digits.
pub fn rescale(unscaled: BigInt, scale: i32, target: i32) -> Option<BigInt> {
    use std::cmp::Ordering;
    let ten = BigInt::from(10);
    match scale.cmp(&target) {
        Ordering::Equal => Some(unscaled),
        Ordering::Less => Some(unscaled * ten.pow((target - scale) as u32)),
        Ordering::Greater => {
            let div = ten.pow((scale - target) as u32);
            let zero = BigInt::from(0);
            (&unscaled % &div == zero).then(|| unscaled / div)
        }
    }
}

fn instant_of(t: DateTime<Utc>) -> Instant {
    Instant { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() }
}

/// A wall-clock time read in `zone`; in a DST gap or overlap, the earlier instant.
pub fn local_to_instant(t: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&t) {
        chrono::LocalResult::Single(d) => d.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        chrono::LocalResult::None => {
            // in a gap: the offset before the gap applies
            let before = zone.from_utc_datetime(&(t - chrono::Duration::hours(3))).offset().fix();
            (t - before).and_utc()
        }
    }
}

/// An instant as wall-clock time in `zone` (for binding bounds of zone-less columns).
pub fn instant_to_local(t: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    t.with_timezone(&zone).naive_local()
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn time_ms(t: NaiveTime) -> i32 {
    (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32
}

/// A TIMESTAMP column's value under `timestamp.granularity`.
fn timestamp_value(t: Instant, g: Granularity) -> Value {
    let micros = t.seconds * 1_000_000 + (t.nanos / 1000) as i64;
    let nanos = t.seconds as i128 * 1_000_000_000 + t.nanos as i128;
    match g {
        Granularity::ConnectLogical => Value::Timestamp(t.millis()),
        Granularity::MicrosLong => Value::Int64(micros),
        Granularity::NanosLong => Value::Int64(nanos as i64),
        Granularity::MicrosString => Value::String(micros.to_string()),
        Granularity::NanosString => Value::String(nanos.to_string()),
    }
}

fn narrow(col: &str, v: i128, t: Type) -> Result<Value, BadValue> {
    let out = match t {
        Type::Int8 => i8::try_from(v).ok().map(Value::Int8),
        Type::Int16 => i16::try_from(v).ok().map(Value::Int16),
        Type::Int32 => i32::try_from(v).ok().map(Value::Int32),
        _ => i64::try_from(v).ok().map(Value::Int64),
    };
    out.ok_or_else(|| {
        bad(
            col,
            format!(
                "{v} does not fit {} (for BIGINT UNSIGNED set unsigned.bigint.mapping=decimal or string)",
                t.json_name()
            ),
        )
    })
}

impl Layout {
    /// Builds the layout from the result's columns. `first_decimal` gives the text of a column's
    /// value in the first row (query mode learns a decimal's scale from it).
    fn build(
        spec: &LayoutSpec,
        columns: &[(String, String)],
        first_decimal: impl Fn(usize) -> Option<String>,
    ) -> Layout {
        let meta: HashMap<&str, &ColumnMeta> =
            spec.meta.iter().flat_map(|m| m.iter()).map(|c| (c.name.as_str(), c)).collect();
        let mut builder = Schema::builder(Type::Struct);
        if let Some(n) = &spec.schema_name {
            builder = builder.name(n.clone());
        }
        let mut cols = Vec::new();
        for (index, (name, driver_type)) in columns.iter().enumerate() {
            let m = meta.get(name.as_str());
            let kind = match m {
                Some(m) if spec.mysql => mysql_kind(m),
                Some(m) => postgres_kind(m, spec.numeric_mapping),
                None => kind_from_driver(driver_type, spec.numeric_mapping),
            };
            let Some(mut kind) = kind else {
                warn!(table = spec.schema_name.as_deref().unwrap_or("query"), column = %name, r#type = %m.map_or(driver_type.as_str(), |m| m.column_type.as_str()), "JDBC type not currently supported: the column is left out of records");
                continue;
            };
            if let Kind::Decimal { scale: None, precision } = kind {
                let scale = first_decimal(index).and_then(|t| parse_decimal(&t)).map_or(0, |(_, s)| s);
                kind = Kind::Decimal { scale: Some(scale), precision };
            }
            let optional = m.is_none_or(|m| m.nullable);
            let schema = match (kind, spec.unsigned_mapping) {
                (Kind::Unsigned(Type::Int64), UnsignedMapping::Decimal) => {
                    let b = Schema::decimal(0).parameter("connect.decimal.precision", "20");
                    if optional { b.optional() } else { b }.build()
                }
                (Kind::Unsigned(Type::Int64), UnsignedMapping::String) => Schema::primitive(Type::String, optional),
                (Kind::LocalTimestamp | Kind::Timestamp, _) if spec.granularity != Granularity::ConnectLogical => {
                    let ty = match spec.granularity {
                        Granularity::MicrosLong | Granularity::NanosLong => Type::Int64,
                        _ => Type::String,
                    };
                    Schema::primitive(ty, optional)
                }
                _ => kind.schema(optional),
            };
            builder = builder.field(name.clone(), schema);
            cols.push(Col { index, kind, name: name.clone() });
        }
        let find = |wanted: &str| {
            columns
                .iter()
                .position(|(n, _)| n == wanted)
                .or_else(|| columns.iter().position(|(n, _)| n.eq_ignore_ascii_case(wanted)))
                .map(|i| (i, cols.iter().find(|c| c.index == i).map_or(Kind::Int(Type::Int64), |c| c.kind)))
        };
        Layout {
            schema: builder.build(),
            timestamp: spec.timestamp_columns.iter().filter_map(|c| find(c)).collect(),
            incrementing: spec.incrementing_column.as_deref().and_then(find),
            zone: spec.zone,
            unsigned: spec.unsigned_mapping,
            granularity: spec.granularity,
            signature: columns.iter().map(|(n, _)| n.clone()).collect(),
            cols,
        }
    }

    pub fn matches<R: Row>(&self, row: &R) -> bool {
        row.columns().len() == self.signature.len()
            && row.columns().iter().zip(&self.signature).all(|(c, n)| c.name() == n)
    }

    pub fn for_mysql(spec: &LayoutSpec, row: &MySqlRow) -> Layout {
        let columns: Vec<(String, String)> =
            row.columns().iter().map(|c| (c.name().to_owned(), c.type_info().name().to_owned())).collect();
        Layout::build(spec, &columns, |i| row.try_get_unchecked::<Option<String>, _>(i).ok().flatten())
    }

    pub fn for_postgres(spec: &LayoutSpec, row: &PgRow) -> Layout {
        let columns: Vec<(String, String)> =
            row.columns().iter().map(|c| (c.name().to_owned(), c.type_info().name().to_owned())).collect();
        Layout::build(spec, &columns, |i| pg_numeric(row, i).ok())
    }

    pub fn decode_mysql(&self, row: &MySqlRow) -> Result<Decoded, BadValue> {
        let mut values = Vec::with_capacity(self.cols.len());
        for c in &self.cols {
            values.push(mysql_value(row, c, self.zone, self.unsigned, self.granularity)?);
        }
        let mut timestamp = None;
        for &(i, kind) in &self.timestamp {
            if let Some(t) = mysql_instant(row, i, kind, self.zone).map_err(|m| bad(&self.signature[i], m))? {
                timestamp = Some(t);
                break;
            }
        }
        let incrementing = match self.incrementing {
            Some((i, kind)) => mysql_incrementing(row, i, kind).map_err(|m| bad(&self.signature[i], m))?,
            None => None,
        };
        Ok(Decoded { value: Value::Struct(Struct { schema: self.schema.clone(), values }), timestamp, incrementing })
    }

    pub fn decode_postgres(&self, row: &PgRow) -> Result<Decoded, BadValue> {
        let mut values = Vec::with_capacity(self.cols.len());
        for c in &self.cols {
            values.push(pg_value(row, c, self.zone, self.granularity).map_err(|m| bad(&c.name, m))?);
        }
        let mut timestamp = None;
        for &(i, kind) in &self.timestamp {
            if let Some(t) = pg_instant(row, i, kind, self.zone).map_err(|m| bad(&self.signature[i], m))? {
                timestamp = Some(t);
                break;
            }
        }
        let incrementing = match self.incrementing {
            Some((i, _)) => pg_incrementing(row, i).map_err(|m| bad(&self.signature[i], m))?,
            None => None,
        };
        Ok(Decoded { value: Value::Struct(Struct { schema: self.schema.clone(), values }), timestamp, incrementing })
    }
}

type Decoding<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn decimal_value(col: &str, text: &str, scale: Option<i32>) -> Result<Value, BadValue> {
    let (unscaled, s) = parse_decimal(text).ok_or_else(|| bad(col, format!("{text:?} is not a decimal")))?;
    let target = scale.unwrap_or(s);
    let v = rescale(unscaled, s, target)
        .ok_or_else(|| bad(col, format!("{text} has more than the column's {target} decimal digits")))?;
    Ok(Value::Decimal(v, target))
}

fn unsigned_value(col: &str, v: u64, t: Type, mapping: UnsignedMapping) -> Result<Value, BadValue> {
    match (t, mapping) {
        (Type::Int64, UnsignedMapping::Decimal) => Ok(Value::Decimal(BigInt::from(v), 0)),
        (Type::Int64, UnsignedMapping::String) => Ok(Value::String(v.to_string())),
        _ => narrow(col, v as i128, t),
    }
}

fn mysql_value(
    row: &MySqlRow,
    c: &Col,
    zone: Tz,
    unsigned: UnsignedMapping,
    granularity: Granularity,
) -> Result<Value, BadValue> {
    let i = c.index;
    let raw = row.try_get_raw(i).map_err(|e| bad(&c.name, e))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let m = |e: sqlx::Error| bad(&c.name, e);
    Ok(match c.kind {
        Kind::Int(t) | Kind::NumericInt(t) => {
            narrow(&c.name, row.try_get_unchecked::<i64, _>(i).map_err(m)? as i128, t)?
        }
        Kind::Unsigned(t) => unsigned_value(&c.name, row.try_get_unchecked::<u64, _>(i).map_err(m)?, t, unsigned)?,
        Kind::Boolean => Value::Boolean(row.try_get_unchecked::<i64, _>(i).map_err(m)? != 0),
        Kind::Float32 => Value::Float32(row.try_get_unchecked::<f32, _>(i).map_err(m)?),
        Kind::Float64 | Kind::NumericFloat => Value::Float64(row.try_get_unchecked::<f64, _>(i).map_err(m)?),
        Kind::Decimal { scale, .. } => decimal_value(&c.name, row.try_get_unchecked::<&str, _>(i).map_err(m)?, scale)?,
        Kind::NumericText | Kind::Text | Kind::Json | Kind::Uuid => {
            let bytes = row.try_get_unchecked::<&[u8], _>(i).map_err(m)?;
            // MariaDB sends UUID and INET6 as fixed-width text padded with NULs
            let bytes = if c.kind == Kind::Text { bytes } else { bytes.split(|b| *b == 0).next().unwrap_or(bytes) };
            Value::String(String::from_utf8(bytes.to_vec()).map_err(|e| bad(&c.name, e))?)
        }
        Kind::Bytes | Kind::Bits => Value::Bytes(row.try_get_unchecked::<&[u8], _>(i).map_err(m)?.to_vec()),
        Kind::Date => match row.try_get_unchecked::<NaiveDate, _>(i) {
            Ok(d) => Value::Date(days(d)),
            Err(_) => Value::Null, // 0000-00-00: read as NULL, as Connector/J's convertToNull
        },
        Kind::Year => {
            let y = row.try_get_unchecked::<u64, _>(i).map_err(m)?;
            match NaiveDate::from_ymd_opt(y as i32, 1, 1) {
                Some(d) if y > 0 => Value::Date(days(d)),
                _ => Value::Null,
            }
        }
        Kind::Time => {
            let t = row.try_get_unchecked::<NaiveTime, _>(i).map_err(|e| {
                bad(&c.name, format!("{e}: a TIME outside 00:00:00–23:59:59.999 cannot be a Connect Time"))
            })?;
            Value::Time(time_ms(t))
        }
        Kind::LocalTimestamp | Kind::Timestamp => {
            match mysql_instant(row, i, c.kind, zone).map_err(|e| bad(&c.name, e))? {
                Some(t) => timestamp_value(t, granularity),
                None => Value::Null,
            }
        }
    })
}

/// The instant of a timestamp-mode column (`None` for NULL and zero dates).
fn mysql_instant(row: &MySqlRow, i: usize, kind: Kind, zone: Tz) -> Decoding<Option<Instant>> {
    if row.try_get_raw(i).map_err(err)?.is_null() {
        return Ok(None);
    }
    let Ok(t) = row.try_get_unchecked::<NaiveDateTime, _>(i) else { return Ok(None) };
    Ok(Some(instant_of(match kind {
        Kind::Timestamp => t.and_utc(),
        _ => local_to_instant(t, zone),
    })))
}

fn mysql_incrementing(row: &MySqlRow, i: usize, kind: Kind) -> Decoding<Option<i64>> {
    if row.try_get_raw(i).map_err(err)?.is_null() {
        return Ok(None);
    }
    match kind {
        Kind::Unsigned(_) => {
            let v = row.try_get_unchecked::<u64, _>(i).map_err(err)?;
            i64::try_from(v).map(Some).map_err(|_| format!("incrementing value {v} exceeds Long.MAX_VALUE"))
        }
        Kind::Decimal { .. } => {
            let text = row.try_get_unchecked::<&str, _>(i).map_err(err)?;
            let (v, s) = parse_decimal(text).ok_or("not a decimal")?;
            let v = rescale(v, s, 0).ok_or("a decimal incrementing value must have scale 0")?;
            i64::try_from(v).map(Some).map_err(|_| "incrementing value exceeds Long.MAX_VALUE".into())
        }
        _ => row.try_get_unchecked::<i64, _>(i).map(Some).map_err(err),
    }
}

/// PostgreSQL's binary `numeric` as the server's own text (`3.14159`, `-0.0100`): ndigits,
/// weight, sign, dscale, then base-10000 digits. NaN and infinities are errors.
pub fn pg_numeric_text(b: &[u8]) -> Decoding<String> {
    let word = |i: usize| -> Decoding<u16> {
        b.get(i * 2..i * 2 + 2).map(|w| u16::from_be_bytes([w[0], w[1]])).ok_or_else(|| "a truncated numeric".into())
    };
    let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(1)? as i16 as i32, word(2)?, word(3)? as usize);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN cannot be a Decimal".into()),
        _ => return Err("Infinity cannot be a Decimal".into()),
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| word(4 + i)).collect::<Decoding<_>>()?;
    let group = |k: i32| -> u16 {
        if k >= 0 && (k as usize) < digits.len() {
            digits[k as usize]
        } else {
            0
        }
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&group(0).to_string());
        for k in 1..=weight {
            out.push_str(&format!("{:04}", group(k)));
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut k = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", group(k)));
            k += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Ok(out)
}

fn pg_numeric(row: &PgRow, i: usize) -> Decoding<String> {
    pg_numeric_text(row.try_get_raw(i).map_err(err)?.as_bytes().map_err(err)?)
}

fn pg_int(row: &PgRow, i: usize) -> Decoding<i64> {
    let raw = row.try_get_raw(i).map_err(err)?;
    match raw.type_info().name() {
        "INT2" => row.try_get::<i16, _>(i).map(i64::from).map_err(err),
        "INT4" => row.try_get::<i32, _>(i).map(i64::from).map_err(err),
        "INT8" => row.try_get::<i64, _>(i).map_err(err),
        "NUMERIC" => {
            let (v, s) = parse_decimal(&pg_numeric(row, i)?).ok_or("not a number")?;
            let v = rescale(v, s, 0).ok_or("a fraction where an integer is expected")?;
            i64::try_from(v).map_err(|_| "value exceeds Long.MAX_VALUE".into())
        }
        other => Err(format!("{other} is not an integer type")),
    }
}

fn pg_value(row: &PgRow, c: &Col, zone: Tz, granularity: Granularity) -> Decoding<Value> {
    let i = c.index;
    let raw = row.try_get_raw(i).map_err(err)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    Ok(match c.kind {
        Kind::Int(t) | Kind::Unsigned(t) => narrow(&c.name, pg_int(row, i)? as i128, t).map_err(|b| b.message)?,
        Kind::NumericInt(t) => {
            let text = pg_numeric(row, i)?;
            let whole = text.split('.').next().unwrap_or_default();
            narrow(&c.name, whole.parse::<i128>().map_err(err)?, t).map_err(|b| b.message)?
        }
        Kind::NumericFloat => Value::Float64(pg_numeric(row, i)?.parse::<f64>().map_err(err)?),
        Kind::Decimal { scale, .. } => decimal_value(&c.name, &pg_numeric(row, i)?, scale).map_err(|b| b.message)?,
        Kind::NumericText => Value::String(pg_numeric(row, i)?),
        Kind::Boolean => Value::Boolean(row.try_get::<bool, _>(i).map_err(err)?),
        Kind::Float32 => Value::Float32(row.try_get::<f32, _>(i).map_err(err)?),
        Kind::Float64 => Value::Float64(row.try_get::<f64, _>(i).map_err(err)?),
        Kind::Text => Value::String(row.try_get_unchecked::<String, _>(i).map_err(err)?),
        Kind::Bytes | Kind::Bits => Value::Bytes(row.try_get::<Vec<u8>, _>(i).map_err(err)?),
        Kind::Json => {
            let mut bytes = raw.as_bytes().map_err(err)?;
            if raw.type_info().name() == "JSONB" && bytes.first() == Some(&1) {
                bytes = &bytes[1..];
            }
            Value::String(String::from_utf8(bytes.to_vec()).map_err(err)?)
        }
        Kind::Uuid => {
            let b = raw.as_bytes().map_err(err)?;
            if b.len() != 16 {
                return Err(format!("a uuid of {} bytes", b.len()));
            }
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Value::String(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
        }
        Kind::Date | Kind::Year => Value::Date(days(row.try_get::<NaiveDate, _>(i).map_err(err)?)),
        Kind::Time => Value::Time(time_ms(row.try_get::<NaiveTime, _>(i).map_err(err)?)),
        Kind::LocalTimestamp | Kind::Timestamp => match pg_instant(row, i, c.kind, zone)? {
            Some(t) => timestamp_value(t, granularity),
            None => Value::Null,
        },
    })
}

fn pg_instant(row: &PgRow, i: usize, kind: Kind, zone: Tz) -> Decoding<Option<Instant>> {
    let raw = row.try_get_raw(i).map_err(err)?;
    if raw.is_null() {
        return Ok(None);
    }
    let t = match (kind, raw.type_info().name()) {
        (_, "TIMESTAMPTZ") => row.try_get::<DateTime<Utc>, _>(i).map_err(err)?,
        (_, "DATE") => {
            local_to_instant(row.try_get::<NaiveDate, _>(i).map_err(err)?.and_hms_opt(0, 0, 0).expect("midnight"), zone)
        }
        _ => local_to_instant(row.try_get::<NaiveDateTime, _>(i).map_err(err)?, zone),
    };
    Ok(Some(instant_of(t)))
}

fn pg_incrementing(row: &PgRow, i: usize) -> Decoding<Option<i64>> {
    if row.try_get_raw(i).map_err(err)?.is_null() {
        return Ok(None);
    }
    pg_int(row, i).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        let (v, s) = parse_decimal("-12345678901234567890.0123456789").unwrap();
        assert_eq!((v.to_string().as_str(), s), ("-123456789012345678900123456789", 10));
        assert_eq!(rescale(BigInt::from(15), 1, 3), Some(BigInt::from(1500)));
        assert_eq!(rescale(BigInt::from(1500), 3, 1), Some(BigInt::from(15)));
        assert_eq!(rescale(BigInt::from(1501), 3, 1), None);
        assert_eq!(parse_decimal("42"), Some((BigInt::from(42), 0)));
    }

    #[test]
    fn postgres_numeric_binary_to_text() {
        let enc = |ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]| {
            let mut b = Vec::new();
            for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
                b.extend_from_slice(&w.to_be_bytes());
            }
            b
        };
        assert_eq!(pg_numeric_text(&enc(3, 0, 0, 5, &[3, 1415, 9000])).unwrap(), "3.14159");
        assert_eq!(pg_numeric_text(&enc(1, -1, 0x4000, 4, &[100])).unwrap(), "-0.0100");
        assert_eq!(pg_numeric_text(&enc(1, 1, 0, 0, &[12])).unwrap(), "120000");
        assert_eq!(pg_numeric_text(&enc(0, 0, 0, 2, &[])).unwrap(), "0.00");
        assert!(pg_numeric_text(&enc(0, 0, 0xC000, 0, &[])).is_err());
    }

    #[test]
    fn wall_clock_in_a_zone() {
        let zone: Tz = "Europe/Paris".parse().unwrap();
        let t = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap().and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(local_to_instant(t, zone).to_rfc3339(), "2024-01-15T11:00:00+00:00");
        assert_eq!(instant_to_local(local_to_instant(t, zone), zone), t);
        // the spring-forward gap: 02:30 does not exist, the offset before the gap (+01:00) applies
        let gap = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(local_to_instant(gap, zone).to_rfc3339(), "2024-03-31T01:30:00+00:00");
        // the autumn overlap: 02:30 happens twice, the earlier instant is taken
        let overlap = NaiveDate::from_ymd_opt(2024, 10, 27).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(local_to_instant(overlap, zone).to_rfc3339(), "2024-10-27T00:30:00+00:00");
    }
}
