//! Column types and their Debezium mapping (binlog-cdc.md A4): one [`Kind`] per column, from
//! the catalogue (`information_schema.COLUMNS`) or from a TABLE_MAP event, its Connect schema,
//! and the conversion of a server value (binary protocol while snapshotting, binlog image while
//! streaming) into the same Connect value.

use std::net::Ipv6Addr;

use base64::Engine;
use mysql_common::value::Value as MyValue;
use num_bigint::BigInt;
use runtime::data::{Schema, SchemaBuilder, Type, Value};

use crate::config::{BinaryMode, DecimalMode, TimeMode};

/// How a column is represented, with what its conversion needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// BIT(1).
    Bool,
    Int16,
    Int32,
    Int64,
    /// BIGINT UNSIGNED.
    UInt64,
    Float32,
    Float64,
    Decimal {
        precision: u32,
        scale: u32,
    },
    /// Character data, with the column's character set (`latin1` decodes byte per char).
    Text {
        latin1: bool,
    },
    /// Bytes; `pad`: BINARY(n) is padded with zero bytes to `n` (the binlog strips them).
    Binary {
        pad: u32,
    },
    Json,
    Enum(Vec<String>),
    Set(Vec<String>),
    Year,
    Date,
    Time,
    /// DATETIME with its fractional-second precision.
    DateTime {
        fsp: u32,
    },
    /// TIMESTAMP with its fractional-second precision.
    Timestamp {
        fsp: u32,
    },
    Bits {
        length: u32,
    },
    Uuid,
    Inet6,
    /// A spatial column: `io.debezium.data.geometry.Point` for POINT, else `…Geometry`.
    Geometry {
        point: bool,
    },
}

/// The modes that change representations.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    pub decimal: DecimalMode,
    pub time: TimeMode,
    pub unsigned_precise: bool,
    pub binary: BinaryMode,
}

/// Where a value comes from: the two protocols write some types differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Snapshot,
    Binlog,
}

fn debezium(ty: Type, name: &str) -> SchemaBuilder {
    Schema::builder(ty).name(name).version(1)
}

/// Debezium's `Point` {x, y, wkb, srid} or `Geometry` {wkb, srid} struct, built once per shape
/// (a struct value carries its schema, which must be the field's).
fn geometry_schema(point: bool, optional: bool) -> Schema {
    static SCHEMAS: std::sync::OnceLock<[Schema; 4]> = std::sync::OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        let build = |point: bool, optional: bool| {
            let mut b = if point {
                debezium(Type::Struct, "io.debezium.data.geometry.Point")
                    .doc("Geometry (POINT)")
                    .field("x", Schema::primitive(Type::Float64, false))
                    .field("y", Schema::primitive(Type::Float64, false))
                    .field("wkb", Schema::primitive(Type::Bytes, true))
            } else {
                debezium(Type::Struct, "io.debezium.data.geometry.Geometry")
                    .doc("Geometry")
                    .field("wkb", Schema::primitive(Type::Bytes, false))
            };
            b = b.field("srid", Schema::primitive(Type::Int32, true));
            if optional {
                b = b.optional();
            }
            b.build()
        };
        [build(false, false), build(false, true), build(true, false), build(true, true)]
    });
    all[point as usize * 2 + optional as usize].clone()
}

/// MySQL's internal geometry value (4-byte little-endian SRID, then WKB) as Debezium's struct:
/// SRID 0 is null; a POINT's coordinates come from its 21-byte 2D WKB.
fn geometry(point: bool, optional: bool, b: Vec<u8>) -> Result<Value, String> {
    if b.len() < 4 {
        return Err(format!("a geometry value of {} bytes has no SRID", b.len()));
    }
    let srid = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let srid = if srid == 0 { Value::Null } else { Value::Int32(srid) };
    let wkb = b[4..].to_vec();
    let schema = geometry_schema(point, optional);
    let values = if point {
        if wkb.len() != 21 {
            return Err(format!("a POINT's WKB has {} bytes, not 21 (2D points only)", wkb.len()));
        }
        let le = wkb[0] != 0;
        let f = |at: usize| {
            let bytes: [u8; 8] = wkb[at..at + 8].try_into().expect("21 bytes");
            if le {
                f64::from_le_bytes(bytes)
            } else {
                f64::from_be_bytes(bytes)
            }
        };
        vec![Value::Float64(f(5)), Value::Float64(f(13)), Value::Bytes(wkb), srid]
    } else {
        vec![Value::Bytes(wkb), srid]
    };
    Ok(Value::Struct(runtime::data::Struct { schema, values }))
}

/// Values of `enum('a','b''c')` / `set(…)` in COLUMN_TYPE.
pub fn parse_enum_values(column_type: &str) -> Vec<String> {
    let inner = column_type.find('(').map_or("", |i| &column_type[i + 1..column_type.len().saturating_sub(1)]);
    let mut values = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    v.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        v.push(n);
                    }
                }
                other => v.push(other),
            }
        }
        values.push(v);
    }
    values
}

impl Kind {
    /// From the catalogue: `DATA_TYPE`, `COLUMN_TYPE`, precision, scale, datetime precision and
    /// character set. `is_json` comes from a `json_valid(col)` check constraint on MariaDB.
    pub fn from_catalogue(
        data_type: &str,
        column_type: &str,
        precision: Option<u64>,
        scale: Option<u64>,
        fsp: Option<u64>,
        charset: Option<&str>,
        is_json: bool,
    ) -> Result<Kind, String> {
        // enum and set values keep their case; everything else is matched in lower case
        let unsigned = column_type.to_ascii_lowercase().contains("unsigned");
        let fsp = fsp.unwrap_or(0) as u32;
        Ok(match data_type {
            "tinyint" => Kind::Int16,
            "smallint" if unsigned => Kind::Int32,
            "smallint" => Kind::Int16,
            "mediumint" => Kind::Int32,
            "int" | "integer" if unsigned => Kind::Int64,
            "int" | "integer" => Kind::Int32,
            "bigint" if unsigned => Kind::UInt64,
            "bigint" => Kind::Int64,
            "float" => Kind::Float32,
            "double" | "real" => Kind::Float64,
            "decimal" | "numeric" => {
                Kind::Decimal { precision: precision.unwrap_or(10) as u32, scale: scale.unwrap_or(0) as u32 }
            }
            "bit" => match precision.unwrap_or(1) {
                1 => Kind::Bool,
                n => Kind::Bits { length: n as u32 },
            },
            "year" => Kind::Year,
            "date" => Kind::Date,
            "time" => Kind::Time,
            "datetime" => Kind::DateTime { fsp },
            "timestamp" => Kind::Timestamp { fsp },
            "enum" => Kind::Enum(parse_enum_values(column_type)),
            "set" => Kind::Set(parse_enum_values(column_type)),
            "json" => Kind::Json,
            "longtext" if is_json => Kind::Json,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                Kind::Text { latin1: charset.is_some_and(|c| c.starts_with("latin1")) }
            }
            "binary" => Kind::Binary { pad: display_width(column_type).unwrap_or(0) },
            "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Binary { pad: 0 },
            "uuid" => Kind::Uuid,
            "inet6" => Kind::Inet6,
            "inet4" => Kind::Text { latin1: false },
            "point" => Kind::Geometry { point: true },
            "geometry" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
            | "geometrycollection" => Kind::Geometry { point: false },
            other => return Err(format!("column type {other} ({column_type}) is not supported by sluice yet")),
        })
    }

    /// The Connect schema Debezium gives this column.
    pub fn schema(&self, modes: &Modes, optional: bool, default: Option<Value>) -> Schema {
        let connect = modes.time == TimeMode::Connect;
        let mut b = match self {
            Kind::Bool => Schema::builder(Type::Boolean),
            Kind::Int16 => Schema::builder(Type::Int16),
            Kind::Int32 => Schema::builder(Type::Int32),
            Kind::Int64 => Schema::builder(Type::Int64),
            Kind::UInt64 if modes.unsigned_precise => Schema::decimal(0).parameter("connect.decimal.precision", "20"),
            Kind::UInt64 => Schema::builder(Type::Int64),
            Kind::Float32 => Schema::builder(Type::Float32),
            Kind::Float64 => Schema::builder(Type::Float64),
            Kind::Decimal { precision, scale } => match modes.decimal {
                DecimalMode::Precise => {
                    Schema::decimal(*scale as i32).parameter("connect.decimal.precision", precision.to_string())
                }
                DecimalMode::Double => Schema::builder(Type::Float64),
                DecimalMode::String => Schema::builder(Type::String),
            },
            Kind::Text { .. } | Kind::Uuid | Kind::Inet6 => Schema::builder(Type::String),
            Kind::Binary { .. } => match modes.binary {
                BinaryMode::Bytes => Schema::builder(Type::Bytes),
                _ => Schema::builder(Type::String),
            },
            Kind::Json => debezium(Type::String, "io.debezium.data.Json"),
            Kind::Enum(v) => debezium(Type::String, "io.debezium.data.Enum").parameter("allowed", v.join(",")),
            Kind::Set(v) => debezium(Type::String, "io.debezium.data.EnumSet").parameter("allowed", v.join(",")),
            Kind::Year => debezium(Type::Int32, "io.debezium.time.Year"),
            Kind::Date if connect => Schema::date(),
            Kind::Date => debezium(Type::Int32, "io.debezium.time.Date"),
            Kind::Time if connect => Schema::time(),
            Kind::Time => debezium(Type::Int64, "io.debezium.time.MicroTime"),
            Kind::DateTime { .. } if connect => Schema::timestamp(),
            Kind::DateTime { fsp } if *fsp <= 3 => debezium(Type::Int64, "io.debezium.time.Timestamp"),
            Kind::DateTime { .. } => debezium(Type::Int64, "io.debezium.time.MicroTimestamp"),
            Kind::Timestamp { .. } => debezium(Type::String, "io.debezium.time.ZonedTimestamp"),
            Kind::Bits { length } => {
                debezium(Type::Bytes, "io.debezium.data.Bits").parameter("length", length.to_string())
            }
            Kind::Geometry { point } => return geometry_schema(*point, optional),
        };
        if optional {
            b = b.optional();
        }
        if let Some(d) = default {
            b = b.default_value(d);
        }
        b.build()
    }

    /// Converts one non-null server value. `nullable` decides what a zero date becomes.
    pub fn convert(&self, v: MyValue, origin: Origin, modes: &Modes, nullable: bool) -> Result<Value, String> {
        match (self, v) {
            (_, MyValue::NULL) => Ok(Value::Null),
            (
                Kind::Bool
                | Kind::Int16
                | Kind::Int32
                | Kind::Int64
                | Kind::UInt64
                | Kind::Float32
                | Kind::Float64
                | Kind::Decimal { .. },
                v,
            ) => self.number(v, modes),
            (Kind::Year | Kind::Date | Kind::Time | Kind::DateTime { .. } | Kind::Timestamp { .. }, v) => {
                self.temporal(v, modes, nullable)
            }
            (_, v) => self.textual(v, origin, modes, nullable),
        }
    }

    /// Booleans, integers, floating point and decimals.
    fn number(&self, v: MyValue, modes: &Modes) -> Result<Value, String> {
        Ok(match (self, v) {
            (Kind::Bool, MyValue::Bytes(b)) => Value::Boolean(b.iter().any(|x| *x != 0)),
            (Kind::Bool, MyValue::Int(i)) => Value::Boolean(i != 0),
            (Kind::Int16, v) => Value::Int16(int(v)?.try_into().map_err(|_| "out of INT16 range")?),
            (Kind::Int32, v) => Value::Int32(int(v)?.try_into().map_err(|_| "out of INT32 range")?),
            (Kind::Int64, v) => Value::Int64(int(v)?.try_into().map_err(|_| "out of INT64 range")?),
            (Kind::UInt64, v) => {
                let n = int(v)?;
                if modes.unsigned_precise {
                    Value::Decimal(BigInt::from(n), 0)
                } else {
                    Value::Int64(i64::try_from(n).map_err(|_| {
                        format!(
                            "BIGINT UNSIGNED value {n} does not fit INT64: set bigint.unsigned.handling.mode=precise"
                        )
                    })?)
                }
            }
            (Kind::Float32, MyValue::Float(f)) => Value::Float32(f),
            (Kind::Float32, MyValue::Double(f)) => Value::Float32(f as f32),
            (Kind::Float64, MyValue::Double(f)) => Value::Float64(f),
            (Kind::Float64, MyValue::Float(f)) => Value::Float64(f as f64),
            (Kind::Float32 | Kind::Float64, MyValue::Bytes(b)) => {
                let f: f64 = text(&b)?.parse().map_err(|_| "not a number")?;
                if *self == Kind::Float32 {
                    Value::Float32(f as f32)
                } else {
                    Value::Float64(f)
                }
            }
            (Kind::Decimal { scale, .. }, MyValue::Bytes(b)) => {
                let t = text(&b)?;
                match modes.decimal {
                    DecimalMode::Precise => {
                        let (unscaled, s) = parse_decimal(t, *scale)?;
                        Value::Decimal(unscaled, s as i32)
                    }
                    DecimalMode::Double => Value::Float64(t.parse().map_err(|_| "not a decimal")?),
                    DecimalMode::String => Value::String(t.to_owned()),
                }
            }
            (kind, other) => return Err(format!("unexpected value {other:?} for a {kind:?} column")),
        })
    }

    /// Text, JSON, geometry, binary, enums and sets, bits, UUID and INET6.
    fn textual(&self, v: MyValue, origin: Origin, modes: &Modes, nullable: bool) -> Result<Value, String> {
        Ok(match (self, v) {
            // the binlog has the column's bytes; query results come in the session's utf8mb4
            (Kind::Text { latin1 }, MyValue::Bytes(b)) => Value::String(if *latin1 && origin == Origin::Binlog {
                b.iter().map(|&c| c as char).collect()
            } else {
                String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            }),
            (Kind::Json, MyValue::Bytes(b)) => Value::String(String::from_utf8_lossy(&b).into_owned()),
            (Kind::Geometry { point }, MyValue::Bytes(b)) => geometry(*point, nullable, b)?,
            (Kind::Binary { pad }, MyValue::Bytes(mut b)) => match modes.binary {
                _ if b.len() < *pad as usize => {
                    b.resize(*pad as usize, 0);
                    return self.convert(MyValue::Bytes(b), origin, modes, nullable);
                }
                BinaryMode::Bytes => Value::Bytes(b),
                BinaryMode::Base64 => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
                BinaryMode::Base64UrlSafe => Value::String(base64::engine::general_purpose::URL_SAFE.encode(b)),
                BinaryMode::Hex => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
            },
            (Kind::Enum(values), MyValue::Int(i)) => {
                Value::String(values.get((i as usize).wrapping_sub(1)).cloned().unwrap_or_default())
            }
            (Kind::Enum(_), MyValue::Bytes(b)) => Value::String(text(&b)?.to_owned()),
            (Kind::Set(values), MyValue::Bytes(b)) if origin == Origin::Binlog => {
                let members: Vec<&str> = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| b.get(i / 8).is_some_and(|byte| byte & (1 << (i % 8)) != 0))
                    .map(|(_, v)| v.as_str())
                    .collect();
                Value::String(members.join(","))
            }
            (Kind::Set(_), MyValue::Bytes(b)) => Value::String(text(&b)?.to_owned()),
            (Kind::Bits { length }, MyValue::Bytes(mut b)) => {
                // big-endian on the wire, little-endian in Debezium's Bits
                let n = length.div_ceil(8) as usize;
                while b.len() < n {
                    b.insert(0, 0);
                }
                b.reverse();
                b.truncate(n);
                Value::Bytes(b)
            }
            (Kind::Bits { length }, MyValue::Int(i)) => {
                let n = length.div_ceil(8) as usize;
                Value::Bytes(i.to_le_bytes()[..n.min(8)].to_vec())
            }
            (Kind::Uuid, MyValue::Bytes(b)) => {
                if b.len() == 36 {
                    Value::String(text(&b)?.to_owned())
                } else {
                    Value::String(uuid_text(&b))
                }
            }
            (Kind::Inet6, MyValue::Bytes(b)) => {
                if b.len() <= 16 && origin == Origin::Binlog {
                    let mut raw = [0u8; 16];
                    raw[..b.len()].copy_from_slice(&b);
                    Value::String(Ipv6Addr::from(raw).to_string())
                } else {
                    Value::String(text(&b)?.to_owned())
                }
            }
            (kind, other) => return Err(format!("unexpected value {other:?} for a {kind:?} column")),
        })
    }

    /// YEAR, DATE, TIME, DATETIME and TIMESTAMP (`time.precision.mode`).
    fn temporal(&self, v: MyValue, modes: &Modes, nullable: bool) -> Result<Value, String> {
        let connect = modes.time == TimeMode::Connect;
        Ok(match (self, v) {
            (Kind::Year, v) => Value::Int32(int(v)? as i32),
            (Kind::Date, MyValue::Date(y, m, d, ..)) => match days(y, m, d) {
                Some(n) if connect => Value::Date(n),
                Some(n) => Value::Int32(n),
                None if nullable => Value::Null,
                None => Value::Int32(0),
            },
            (Kind::Time, MyValue::Time(neg, d, h, mi, s, us)) => {
                let micros = (((d as i64 * 24 + h as i64) * 60 + mi as i64) * 60 + s as i64) * 1_000_000 + us as i64;
                let micros = if neg { -micros } else { micros };
                if connect {
                    Value::Time((micros / 1000) as i32)
                } else {
                    Value::Int64(micros)
                }
            }
            (Kind::DateTime { fsp }, MyValue::Date(y, m, d, h, mi, s, us)) => match days(y, m, d) {
                Some(n) => {
                    let micros =
                        ((n as i64 * 24 + h as i64) * 60 + mi as i64) * 60_000_000 + s as i64 * 1_000_000 + us as i64;
                    if connect {
                        Value::Timestamp(micros.div_euclid(1000))
                    } else if *fsp <= 3 {
                        Value::Int64(micros.div_euclid(1000))
                    } else {
                        Value::Int64(micros)
                    }
                }
                None if nullable => Value::Null,
                None => Value::Int64(0),
            },
            (Kind::Timestamp { fsp }, MyValue::Bytes(b)) => {
                // binlog: epoch seconds in UTC, "secs" or "secs.micros"
                let t = text(&b)?;
                let (secs, frac) = t.split_once('.').unwrap_or((t, "0"));
                let secs: i64 = secs.parse().map_err(|_| "bad TIMESTAMP")?;
                let micros: u32 = format!("{frac:0<6}")[..6].parse().map_err(|_| "bad TIMESTAMP")?;
                if secs == 0 && micros == 0 && nullable {
                    Value::Null
                } else {
                    Value::String(zoned(secs, micros, *fsp))
                }
            }
            (Kind::Timestamp { fsp }, MyValue::Date(y, m, d, h, mi, s, us)) => match days(y, m, d) {
                Some(n) => {
                    let secs = ((n as i64 * 24 + h as i64) * 60 + mi as i64) * 60 + s as i64;
                    Value::String(zoned(secs, us, *fsp))
                }
                None if nullable => Value::Null,
                None => Value::String(zoned(0, 0, *fsp)),
            },
            (kind, other) => return Err(format!("unexpected value {other:?} for a {kind:?} column")),
        })
    }
}

/// `n` of `binary(n)` / `int(n)`.
pub fn display_width(column_type: &str) -> Option<u32> {
    let open = column_type.find('(')?;
    let close = column_type[open..].find(')')? + open;
    column_type[open + 1..close].split(',').next()?.trim().parse().ok()
}

fn text(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned())
}

/// Integers from either protocol: `Int`, `UInt`, or text (YEAR in the binlog).
fn int(v: MyValue) -> Result<i128, String> {
    match v {
        MyValue::Int(i) => Ok(i as i128),
        MyValue::UInt(u) => Ok(u as i128),
        MyValue::Bytes(b) => text(&b)?.trim().parse().map_err(|_| "not an integer".to_owned()),
        MyValue::Double(f) => Ok(f as i128),
        other => Err(format!("not an integer: {other:?}")),
    }
}

/// `-12.5` at scale 3 → (-12500, 3).
pub fn parse_decimal(t: &str, scale: u32) -> Result<(BigInt, u32), String> {
    let t = t.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut frac = frac.to_owned();
    if frac.len() > scale as usize {
        frac.truncate(scale as usize);
    }
    while frac.len() < scale as usize {
        frac.push('0');
    }
    let all = format!("{}{}", if int_part.is_empty() { "0" } else { int_part }, frac);
    let mut n: BigInt = all.parse().map_err(|_| format!("not a decimal: {t:?}"))?;
    if neg {
        n = -n;
    }
    Ok((n, scale))
}

/// Days since 1970-01-01; `None` for a zero date.
fn days(y: u16, m: u8, d: u8) -> Option<i32> {
    if m == 0 || d == 0 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)?;
    Some((date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

/// `ZonedTimestamp` text in UTC with exactly `fsp` fraction digits.
fn zoned(secs: i64, micros: u32, fsp: u32) -> String {
    let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap_or_default();
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if fsp == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{micros:06}");
        format!("{base}.{}Z", &frac[..fsp.min(6) as usize])
    }
}

/// MariaDB's UUID binlog image: 16 bytes with trailing zero bytes stripped (binlog-cdc.md B4).
fn uuid_text(b: &[u8]) -> String {
    let mut raw = [0u8; 16];
    raw[..b.len().min(16)].copy_from_slice(&b[..b.len().min(16)]);
    let hex: String = raw.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A column default from `COLUMN_DEFAULT` (MariaDB quotes string literals), as Debezium puts
/// it into the schema; `None` when there is none or it is an expression sluice does not evaluate.
pub fn default_value(kind: &Kind, modes: &Modes, text: Option<&str>, nullable: bool) -> Option<Value> {
    let t = text?.trim();
    if t.eq_ignore_ascii_case("NULL") {
        return None;
    }
    let literal = match t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => t.to_owned(),
    };
    let is_now = t.to_ascii_lowercase().starts_with("current_timestamp");
    let v = match kind {
        Kind::Timestamp { fsp } if is_now => Value::String(zoned(0, 0, *fsp)),
        Kind::DateTime { .. } if is_now => {
            if modes.time == TimeMode::Connect {
                Value::Timestamp(0)
            } else {
                Value::Int64(0)
            }
        }
        _ if t.contains('(') => return None,
        Kind::Geometry { .. } => return None,
        Kind::Bool | Kind::Bits { .. } => {
            let bits = literal.strip_prefix("b'").and_then(|s| s.strip_suffix('\'')).unwrap_or(&literal);
            let n = u64::from_str_radix(bits, 2).ok()?;
            match kind {
                Kind::Bool => Value::Boolean(n != 0),
                Kind::Bits { length } => Value::Bytes(n.to_le_bytes()[..length.div_ceil(8).min(8) as usize].to_vec()),
                _ => unreachable!(),
            }
        }
        Kind::Date | Kind::DateTime { .. } | Kind::Timestamp { .. } | Kind::Time => {
            let v = parse_temporal(kind, &literal)?;
            kind.convert(v, Origin::Snapshot, modes, nullable).ok()?
        }
        _ => kind.convert(MyValue::Bytes(literal.into_bytes()), Origin::Snapshot, modes, nullable).ok()?,
    };
    (!v.is_null()).then_some(v)
}

/// `2024-01-02 03:04:05.123`, `2024-01-02`, `12:34:56` as the binary protocol would give them.
fn parse_temporal(kind: &Kind, t: &str) -> Option<MyValue> {
    if *kind == Kind::Time {
        let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        let mut p = hms.split(':').map(|x| x.parse::<u32>().ok());
        let (h, m, s) = (p.next()??, p.next()??, p.next()??);
        let us: u32 = format!("{frac:0<6}")[..6].parse().ok()?;
        return Some(MyValue::Time(neg, h / 24, (h % 24) as u8, m as u8, s as u8, us));
    }
    let (date, time) = t.split_once(' ').unwrap_or((t, "00:00:00"));
    let mut d = date.split('-').map(|x| x.parse::<u32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut p = hms.split(':').map(|x| x.parse::<u32>().ok());
    let (h, mi, s) = (p.next()??, p.next()??, p.next()??);
    let us: u32 = format!("{frac:0<6}")[..6].parse().ok()?;
    Some(MyValue::Date(y as u16, mo as u8, da as u8, h as u8, mi as u8, s as u8, us))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const MODES: Modes = Modes {
        decimal: DecimalMode::Precise,
        time: TimeMode::AdaptiveMicroseconds,
        unsigned_precise: false,
        binary: BinaryMode::Bytes,
    };

    #[test]
    fn enum_values_with_quotes() {
        assert_eq!(parse_enum_values("enum('a','b''c','d,e')"), vec!["a", "b'c", "d,e"]);
        assert_eq!(parse_enum_values("set('x')"), vec!["x"]);
    }

    #[test]
    fn both_protocols_give_the_same_values() {
        let ts = Kind::Timestamp { fsp: 3 };
        let a = ts.convert(MyValue::Bytes(b"1704164645.120000".to_vec()), Origin::Binlog, &MODES, true).unwrap();
        let b = ts.convert(MyValue::Date(2024, 1, 2, 3, 4, 5, 120_000), Origin::Snapshot, &MODES, true).unwrap();
        assert_eq!(a, Value::String("2024-01-02T03:04:05.120Z".into()));
        assert_eq!(a, b);
        let set = Kind::Set(vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(
            set.convert(MyValue::Bytes(vec![5]), Origin::Binlog, &MODES, true).unwrap(),
            Value::String("a,c".into())
        );
        assert_eq!(
            set.convert(MyValue::Bytes(b"a,c".to_vec()), Origin::Snapshot, &MODES, true).unwrap(),
            Value::String("a,c".into())
        );
        let bits = Kind::Bits { length: 10 };
        assert_eq!(
            bits.convert(MyValue::Bytes(vec![0x02, 0xaa]), Origin::Binlog, &MODES, true).unwrap(),
            Value::Bytes(vec![0xaa, 0x02])
        );
        let dt = Kind::DateTime { fsp: 6 };
        assert_eq!(
            dt.convert(MyValue::Date(2018, 6, 20, 6, 37, 3, 5), Origin::Binlog, &MODES, true).unwrap(),
            Value::Int64(1_529_476_623_000_005)
        );
        let t = Kind::Time;
        assert_eq!(
            t.convert(MyValue::Time(true, 34, 22, 59, 59, 999_000), Origin::Binlog, &MODES, true).unwrap(),
            Value::Int64(-3_020_399_999_000)
        );
        let big = Kind::UInt64.convert(MyValue::UInt(u64::MAX), Origin::Binlog, &MODES, true).unwrap_err();
        assert!(big.contains("bigint.unsigned.handling.mode=precise"));
        assert_eq!(
            Kind::Date.convert(MyValue::Date(0, 0, 0, 0, 0, 0, 0), Origin::Binlog, &MODES, true).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn geometry_values() {
        // SRID 4326, then a big-endian 2D POINT(1 2)
        let mut b = 4326i32.to_le_bytes().to_vec();
        b.push(0);
        b.extend(1u32.to_be_bytes());
        b.extend(1f64.to_be_bytes());
        b.extend(2f64.to_be_bytes());
        let Value::Struct(s) = geometry(true, false, b.clone()).unwrap() else { panic!() };
        assert_eq!(s.values[..2], [Value::Float64(1.0), Value::Float64(2.0)]);
        assert_eq!(s.values[2], Value::Bytes(b[4..].to_vec()));
        assert_eq!(s.values[3], Value::Int32(4326));
        assert_eq!(s.schema, Kind::Geometry { point: true }.schema(&MODES, false, None));
        let Value::Struct(g) = geometry(false, true, vec![0, 0, 0, 0, 1, 2]).unwrap() else { panic!() };
        assert_eq!(g.values, [Value::Bytes(vec![1, 2]), Value::Null]);
        assert!(geometry(true, false, vec![0, 0, 0, 0, 1]).unwrap_err().contains("not 21"));
    }

    #[test]
    fn decimals_and_defaults() {
        assert_eq!(parse_decimal("-12.5", 3).unwrap(), (BigInt::from(-12500), 3));
        assert_eq!(parse_decimal("7", 2).unwrap(), (BigInt::from(700), 2));
        let text = Kind::Text { latin1: false };
        assert_eq!(default_value(&text, &MODES, Some("'it''s'"), false), Some(Value::String("it's".into())));
        assert_eq!(default_value(&Kind::Int32, &MODES, Some("42"), false), Some(Value::Int32(42)));
        assert_eq!(default_value(&Kind::Int32, &MODES, Some("NULL"), true), None);
        assert_eq!(
            default_value(&Kind::Timestamp { fsp: 0 }, &MODES, Some("current_timestamp()"), false),
            Some(Value::String("1970-01-01T00:00:00Z".into()))
        );
        assert_eq!(default_value(&Kind::Bool, &MODES, Some("b'1'"), false), Some(Value::Boolean(true)));
    }
}
