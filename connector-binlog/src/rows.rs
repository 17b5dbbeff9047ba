//! Rows events decoded straight into Connect values (binlog-cdc.md B5): a decode plan per
//! TABLE_MAP, then one pass over the row images with mysql_common's value parser. This avoids
//! `RowsEventData::rows`, which builds a full column description for every value, and fixes
//! its signed MEDIUMINT (INT24) sign extension.

use mysql_async::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, RowsEventData, TableMapEvent};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use mysql_common::value::Value as MyValue;
use runtime::data::Value;

use crate::column::{Kind, Modes, Origin};
use crate::schema::{ColumnDef, TableDef};

/// How to read one column of a table's row images.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    pub ty: ColumnType,
    pub meta: Vec<u8>,
    pub unsigned: bool,
}

impl ColumnPlan {
    /// Whether the metadata is as long as the type's decoder reads (mysql_common indexes it
    /// without checking, so a corrupt TABLE_MAP would panic there).
    pub fn check(&self) -> Result<(), String> {
        use ColumnType::*;
        let needed = match self.ty {
            MYSQL_TYPE_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_BIT
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET => 2,
            MYSQL_TYPE_TIMESTAMP2
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIME2
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_VECTOR => 1,
            MYSQL_TYPE_TYPED_ARRAY => return Err("typed arrays (multi-valued indexes) are not supported".into()),
            _ => 0,
        };
        if self.meta.len() < needed {
            return Err(format!("{:?} needs {needed} metadata bytes, the TABLE_MAP has {}", self.ty, self.meta.len()));
        }
        Ok(())
    }
}

/// A TABLE_MAP event, kept in the form the decoder needs.
#[derive(Debug, Clone)]
pub struct TableMap {
    pub db: String,
    pub table: String,
    pub plans: Vec<ColumnPlan>,
    /// Column names (with `binlog_row_metadata=FULL`), else empty.
    pub names: Vec<String>,
    /// The structure the TABLE_MAP alone gives (used when the catalogue does not match it).
    pub fallback: Result<TableDef, String>,
}

fn is_char(ty: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        ty,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
    )
}

impl TableMap {
    pub fn from_event(tme: &TableMapEvent<'_>) -> Result<TableMap, String> {
        let n = tme.columns_count() as usize;
        let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta()).map_err(|e| e.to_string())?;
        let mut signedness = extractor.iter_signedness();
        let mut charsets = extractor.iter_charset();
        let mut plans = Vec::with_capacity(n);
        let mut binary = Vec::with_capacity(n);
        for i in 0..n {
            let ty =
                tme.get_column_type(i).map_err(|e| e.to_string())?.ok_or_else(|| format!("no type for column {i}"))?;
            let meta = tme.get_column_metadata(i).unwrap_or(&[]).to_vec();
            let unsigned = ty.is_numeric_type() && signedness.next().unwrap_or(false);
            let charset = if is_char(ty) { charsets.next().and_then(Result::ok) } else { None };
            binary.push(charset == Some(63));
            let plan = ColumnPlan { ty, meta, unsigned };
            plan.check().map_err(|e| format!("column {i}: {e}"))?;
            plans.push(plan);
        }
        let names: Vec<String> =
            extractor.iter_column_name().filter_map(Result::ok).map(|c| c.name().into_owned()).collect();
        let primary_key: Vec<usize> = extractor.iter_primary_key().filter_map(Result::ok).map(|i| i as usize).collect();
        let nullable: Vec<bool> = (0..n).map(|i| tme.null_bitmask().get(i).is_some_and(|b| *b)).collect();
        let (mut enums, mut sets, mut geometries) = (Vec::new(), Vec::new(), Vec::new());
        for field in tme.iter_optional_meta().flatten() {
            match field {
                OptionalMetadataField::EnumStrValue(v) => {
                    for values in v.iter_values().flatten() {
                        enums.push(values.values().iter().map(|s| s.value().into_owned()).collect::<Vec<_>>());
                    }
                }
                OptionalMetadataField::GeometryType(v) => {
                    geometries.extend(
                        v.iter_geometry_types()
                            .map(|g| matches!(g, Ok(mysql_common::constants::GeometryType::GEOM_POINT))),
                    );
                }
                OptionalMetadataField::SetStrValue(v) => {
                    for values in v.iter_values().flatten() {
                        sets.push(values.values().iter().map(|s| s.value().into_owned()).collect::<Vec<_>>());
                    }
                }
                _ => {}
            }
        }
        let db = tme.database_name().into_owned();
        let table = tme.table_name().into_owned();
        let extra = Extra { binary, enums, sets, geometries };
        let fallback = fallback_def(&db, &table, &plans, &names, &nullable, &primary_key, extra);
        Ok(TableMap { db, table, plans, names, fallback })
    }
}

/// What the TABLE_MAP's optional metadata says about binary strings (one per column), ENUM,
/// SET and spatial columns (in column order; `true`: a POINT).
struct Extra {
    binary: Vec<bool>,
    enums: Vec<Vec<String>>,
    sets: Vec<Vec<String>>,
    geometries: Vec<bool>,
}

/// The table's structure from the TABLE_MAP alone (no defaults, no JSON/UUID/INET6 detection).
fn fallback_def(
    db: &str,
    table: &str,
    plans: &[ColumnPlan],
    names: &[String],
    nullable: &[bool],
    primary_key: &[usize],
    extra: Extra,
) -> Result<TableDef, String> {
    let binary = &extra.binary;
    use ColumnType::*;
    if names.len() != plans.len() {
        return Err("the TABLE_MAP event has no column names: set binlog_row_metadata=FULL".into());
    }
    let (mut enums, mut sets, mut geometries) =
        (extra.enums.into_iter(), extra.sets.into_iter(), extra.geometries.into_iter());
    let mut columns = Vec::with_capacity(plans.len());
    for (i, p) in plans.iter().enumerate() {
        let fsp = p.meta.first().copied().unwrap_or(0) as u32;
        let kind = match p.ty {
            MYSQL_TYPE_TINY => Kind::Int16,
            MYSQL_TYPE_SHORT if p.unsigned => Kind::Int32,
            MYSQL_TYPE_SHORT => Kind::Int16,
            MYSQL_TYPE_INT24 => Kind::Int32,
            MYSQL_TYPE_LONG if p.unsigned => Kind::Int64,
            MYSQL_TYPE_LONG => Kind::Int32,
            MYSQL_TYPE_LONGLONG if p.unsigned => Kind::UInt64,
            MYSQL_TYPE_LONGLONG => Kind::Int64,
            MYSQL_TYPE_FLOAT => Kind::Float32,
            MYSQL_TYPE_DOUBLE => Kind::Float64,
            MYSQL_TYPE_NEWDECIMAL => Kind::Decimal {
                precision: p.meta.first().copied().unwrap_or(10) as u32,
                scale: p.meta.get(1).copied().unwrap_or(0) as u32,
            },
            MYSQL_TYPE_YEAR => Kind::Year,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Time,
            MYSQL_TYPE_DATETIME => Kind::DateTime { fsp: 0 },
            MYSQL_TYPE_DATETIME2 => Kind::DateTime { fsp },
            MYSQL_TYPE_TIMESTAMP => Kind::Timestamp { fsp: 0 },
            MYSQL_TYPE_TIMESTAMP2 => Kind::Timestamp { fsp },
            MYSQL_TYPE_BIT => {
                let bits = p.meta.get(1).copied().unwrap_or(0) as u32 * 8 + p.meta.first().copied().unwrap_or(0) as u32;
                if bits == 1 {
                    Kind::Bool
                } else {
                    Kind::Bits { length: bits }
                }
            }
            MYSQL_TYPE_ENUM => Kind::Enum(enums.next().unwrap_or_default()),
            MYSQL_TYPE_SET => Kind::Set(sets.next().unwrap_or_default()),
            MYSQL_TYPE_JSON => Kind::Json,
            MYSQL_TYPE_GEOMETRY => Kind::Geometry { point: geometries.next().unwrap_or(false) },
            MYSQL_TYPE_STRING if binary[i] => Kind::Binary { pad: fixed_length(&p.meta) },
            t if is_char(t) && binary[i] => Kind::Binary { pad: 0 },
            t if is_char(t) => Kind::Text { latin1: false },
            other => return Err(format!("column {} has type {other:?}, which sluice does not support yet", names[i])),
        };
        columns.push(ColumnDef {
            name: names[i].clone(),
            kind,
            optional: nullable[i],
            default: None,
            default_text: None,
            captured: true,
        });
    }
    Ok(TableDef { db: db.into(), table: table.into(), columns, key: primary_key.to_vec() })
}

/// The declared length of a fixed `MYSQL_TYPE_STRING` column from its TABLE_MAP metadata.
fn fixed_length(meta: &[u8]) -> u32 {
    match meta {
        [b0, b1, ..] if (b0 & 0x30) != 0x30 => (*b1 as u32) | ((((*b0 as u32) & 0x30) ^ 0x30) << 4),
        [_, b1, ..] => *b1 as u32,
        _ => 0,
    }
}

/// One decoded row change: images hold one value per column of the definition.
#[derive(Debug)]
pub enum Change {
    Insert(Vec<Value>),
    Update(Vec<Value>, Vec<Value>),
    Delete(Vec<Value>),
}

/// Why a value could not be decoded or converted.
#[derive(Debug)]
pub struct RowError {
    pub column: String,
    pub message: String,
}

/// Decodes every row of a rows event with `map`'s plan, converting with `def`'s kinds (the two
/// describe the same columns, in the same order).
pub fn decode(
    ev: &RowsEventData<'_>,
    map: &TableMap,
    def: &TableDef,
    modes: &Modes,
    mut each: impl FnMut(Change) -> bool,
) -> Result<(), RowError> {
    let n = map.plans.len();
    if matches!(ev, RowsEventData::PartialUpdateRowsEvent(_)) {
        return Err(RowError {
            column: String::new(),
            message: "partial JSON updates are not supported: set binlog_row_value_options=''".into(),
        });
    }
    // which columns each image holds (all of them with binlog_row_image=FULL)
    let before = ev.columns_before_image().map(|b| (0..n).map(|i| b.get(i).is_some_and(|x| *x)).collect::<Vec<bool>>());
    let after = ev.columns_after_image().map(|b| (0..n).map(|i| b.get(i).is_some_and(|x| *x)).collect::<Vec<bool>>());
    let mut buf = ParseBuf(ev.rows_data());
    while !buf.is_empty() {
        let old = match &before {
            Some(p) => Some(image(&mut buf, p, map, def, modes)?),
            None => None,
        };
        let new = match &after {
            Some(p) => Some(image(&mut buf, p, map, def, modes)?),
            None => None,
        };
        let change = match (old, new) {
            (None, Some(a)) => Change::Insert(a),
            (Some(b), None) => Change::Delete(b),
            (Some(b), Some(a)) => Change::Update(b, a),
            (None, None) => unreachable!("a rows event has at least one image"),
        };
        if !each(change) {
            break;
        }
    }
    Ok(())
}

fn image<'a>(
    buf: &mut ParseBuf<'a>,
    present: &[bool],
    map: &'a TableMap,
    def: &TableDef,
    modes: &Modes,
) -> Result<Vec<Value>, RowError> {
    let count = present.iter().filter(|p| **p).count();
    let nulls = buf
        .checked_eat(count.div_ceil(8))
        .ok_or_else(|| RowError { column: String::new(), message: "truncated row image".into() })?;
    let mut values = Vec::with_capacity(present.len());
    let mut idx = 0;
    for (i, plan) in map.plans.iter().enumerate() {
        if !present[i] {
            values.push(Value::Null);
            continue;
        }
        let is_null = nulls[idx / 8] & (1 << (idx % 8)) != 0;
        idx += 1;
        if is_null {
            values.push(Value::Null);
            continue;
        }
        let col = &def.columns[i];
        let err = |message: String| RowError { column: col.name.clone(), message };
        // mysql_common's decoders index and multiply without checks (a corrupt DECIMAL overflows
        // in debug builds): a panic there is this value's decode error, not the task's crash
        let ctx = (plan.ty, plan.meta.as_slice(), plan.unsigned, false);
        let v: BinlogValue<'_> = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| buf.parse(ctx)))
            .map_err(|_| err(format!("corrupt {:?} value: its decoder failed", plan.ty)))?
            .map_err(|e| err(e.to_string()))?;
        let mut v = match v {
            BinlogValue::Value(v) => v,
            BinlogValue::Jsonb(j) => {
                let json = serde_json::Value::try_from(j).map_err(|e| err(e.to_string()))?;
                MyValue::Bytes(json.to_string().into_bytes())
            }
            BinlogValue::JsonDiff(_) => return Err(err("partial JSON update".into())),
        };
        // mysql_common does not sign-extend a signed INT24
        if plan.ty == ColumnType::MYSQL_TYPE_INT24 && !plan.unsigned {
            if let MyValue::Int(x) = v {
                if x >= 0x80_0000 {
                    v = MyValue::Int(x - 0x100_0000);
                }
            }
        }
        values.push(col.kind.convert(v, Origin::Binlog, modes, col.optional).map_err(err)?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::column::tests::MODES;

    /// Column types with the metadata a server sends for them (and, below, random metadata).
    fn plan() -> impl Strategy<Value = ColumnPlan> {
        use ColumnType::*;
        let typed = prop_oneof![
            Just((MYSQL_TYPE_TINY, vec![])),
            Just((MYSQL_TYPE_SHORT, vec![])),
            Just((MYSQL_TYPE_INT24, vec![])),
            Just((MYSQL_TYPE_LONG, vec![])),
            Just((MYSQL_TYPE_LONGLONG, vec![])),
            Just((MYSQL_TYPE_FLOAT, vec![4])),
            Just((MYSQL_TYPE_DOUBLE, vec![8])),
            Just((MYSQL_TYPE_NEWDECIMAL, vec![30, 10])),
            Just((MYSQL_TYPE_VARCHAR, vec![80, 0])),
            Just((MYSQL_TYPE_VARCHAR, vec![0, 4])),
            Just((MYSQL_TYPE_STRING, vec![254, 20])),
            Just((MYSQL_TYPE_STRING, vec![247, 1])),
            Just((MYSQL_TYPE_STRING, vec![248, 1])),
            Just((MYSQL_TYPE_BLOB, vec![2])),
            Just((MYSQL_TYPE_BLOB, vec![4])),
            Just((MYSQL_TYPE_JSON, vec![4])),
            Just((MYSQL_TYPE_DATETIME2, vec![6])),
            Just((MYSQL_TYPE_TIMESTAMP2, vec![3])),
            Just((MYSQL_TYPE_TIME2, vec![3])),
            Just((MYSQL_TYPE_DATE, vec![])),
            Just((MYSQL_TYPE_YEAR, vec![])),
            Just((MYSQL_TYPE_BIT, vec![2, 1])),
            Just((MYSQL_TYPE_GEOMETRY, vec![4])),
        ];
        (typed, any::<bool>(), proptest::option::weighted(0.2, proptest::collection::vec(any::<u8>(), 0..3))).prop_map(
            |((ty, meta), unsigned, random_meta)| ColumnPlan {
                ty,
                meta: random_meta.unwrap_or(meta),
                unsigned: unsigned && ty.is_numeric_type(),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Truncated or corrupted row images give an error, never a panic (issue 12).
        #[test]
        fn hostile_row_images_never_panic(
            plans in proptest::collection::vec(plan(), 1..8),
            bytes in proptest::collection::vec(any::<u8>(), 0..160),
        ) {
            let n = plans.len();
            let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let extra = Extra {
                binary: vec![false; n],
                enums: vec![vec!["a".into(), "b".into()]; n],
                sets: vec![vec!["x".into(), "y".into()]; n],
                geometries: vec![false; n],
            };
            if plans.iter().any(|p| p.check().is_err()) {
                return Ok(()); // refused when the TABLE_MAP is read
            }
            let Ok(def) = fallback_def("db", "t", &plans, &names, &vec![true; n], &[], extra) else { return Ok(()) };
            let map = TableMap { db: "db".into(), table: "t".into(), plans, names, fallback: Ok(def.clone()) };
            let mut buf = ParseBuf(&bytes);
            while !buf.is_empty() {
                if image(&mut buf, &vec![true; n], &map, &def, &MODES).is_err() {
                    break;
                }
            }
        }
    }
}
