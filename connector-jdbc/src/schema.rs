//! Column metadata from `information_schema` and the Connect schema of each column
//! (jdbc-source.md §6): exact decimals with `connect.decimal.precision`, unsigned-aware integers,
//! Date/Time/Timestamp logical types, the table name as the value schema's name.

use runtime::data::{Schema, SchemaBuilder, Type};
use sqlx::Row;

use crate::connection::Pool;
use crate::dialect::TableId;

/// One column as `information_schema.COLUMNS` describes it (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    /// MySQL `DATA_TYPE` (`int`, `varchar`, …); PostgreSQL `udt_name` (`int4`, `timestamptz`, …).
    pub data_type: String,
    /// MySQL `COLUMN_TYPE` (`bigint(20) unsigned`, `tinyint(1)`); PostgreSQL `data_type`.
    pub column_type: String,
    pub nullable: bool,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
    /// AUTO_INCREMENT, serial or identity.
    pub auto_increment: bool,
}

/// How a column is read and what Connect type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A signed integer read as i64 and narrowed to the Connect type.
    Int(Type),
    /// An unsigned integer read as u64; a value beyond the Connect type is a record error.
    Unsigned(Type),
    Boolean,
    Float32,
    Float64,
    /// Exact decimal at this scale (`None`: the scale of the first value, query mode).
    Decimal {
        scale: Option<i32>,
        precision: Option<i64>,
    },
    /// `numeric.mapping` turned a NUMERIC into an integer or a double.
    NumericInt(Type),
    NumericFloat,
    /// A NUMERIC without precision: its text (no fixed scale exists).
    NumericText,
    Text,
    Bytes,
    /// MySQL BIT(n > 1): big-endian bytes.
    Bits,
    /// PostgreSQL json / jsonb: the server's own text.
    Json,
    Uuid,
    Date,
    Time,
    /// Wall-clock time (DATETIME, `timestamp`), read in `db.timezone`.
    LocalTimestamp,
    /// An instant (MySQL TIMESTAMP, `timestamptz`).
    Timestamp,
    /// MySQL YEAR as the Date of January 1st.
    Year,
}

impl Kind {
    fn builder(self) -> SchemaBuilder {
        match self {
            Kind::Int(t) | Kind::Unsigned(t) | Kind::NumericInt(t) => Schema::builder(t),
            Kind::Boolean => Schema::builder(Type::Boolean),
            Kind::Float32 => Schema::builder(Type::Float32),
            Kind::Float64 | Kind::NumericFloat => Schema::builder(Type::Float64),
            Kind::Decimal { scale, precision } => {
                let b = Schema::decimal(scale.unwrap_or(0));
                match precision {
                    Some(p) => b.parameter("connect.decimal.precision", p.to_string()),
                    None => b,
                }
            }
            Kind::NumericText | Kind::Text | Kind::Json | Kind::Uuid => Schema::builder(Type::String),
            Kind::Bytes | Kind::Bits => Schema::builder(Type::Bytes),
            Kind::Date | Kind::Year => Schema::date(),
            Kind::Time => Schema::time(),
            Kind::LocalTimestamp | Kind::Timestamp => Schema::timestamp(),
        }
    }

    pub fn schema(self, optional: bool) -> Schema {
        let b = self.builder();
        if optional { b.optional() } else { b }.build()
    }

    /// Whether the timestamp-mode bounds of this column are bound as instants (zone-aware)
    /// rather than as wall-clock times in `db.timezone`.
    pub fn is_instant(self) -> bool {
        matches!(self, Kind::Timestamp)
    }
}

/// The integer type Confluent picks by precision (`integerSchema`).
fn integer_by_precision(precision: i64) -> Type {
    match precision {
        p if p > 9 => Type::Int64,
        p if p > 4 => Type::Int32,
        p if p > 2 => Type::Int16,
        _ => Type::Int8,
    }
}

/// `numeric.mapping` on a JDBC NUMERIC (jdbc-source.md §6.4).
fn numeric(mapping: &str, precision: i64, scale: i64) -> Kind {
    let decimal = Kind::Decimal { scale: Some(scale as i32), precision: Some(precision) };
    match mapping {
        "precision_only" if scale == 0 && precision <= 18 => Kind::NumericInt(integer_by_precision(precision)),
        "best_fit" if precision <= 18 && (-84..=0).contains(&scale) => {
            Kind::NumericInt(integer_by_precision(precision))
        }
        "best_fit" if precision <= 18 && scale > 0 => Kind::NumericFloat,
        "best_fit_eager_double" if precision <= 18 && (-84..=0).contains(&scale) => {
            Kind::NumericInt(integer_by_precision(precision))
        }
        "best_fit_eager_double" if scale > 0 => Kind::NumericFloat,
        _ => decimal,
    }
}

/// MySQL/MariaDB column → kind; `None` for types the reference skips (GEOMETRY, …).
pub fn mysql_kind(m: &ColumnMeta) -> Option<Kind> {
    let unsigned = m.column_type.contains("unsigned");
    Some(match m.data_type.as_str() {
        "tinyint" if unsigned => Kind::Unsigned(Type::Int16),
        "tinyint" => Kind::Int(Type::Int8),
        "smallint" if unsigned => Kind::Unsigned(Type::Int32),
        "smallint" => Kind::Int(Type::Int16),
        "mediumint" if unsigned => Kind::Unsigned(Type::Int32),
        "mediumint" => Kind::Int(Type::Int32),
        "int" | "integer" if unsigned => Kind::Unsigned(Type::Int64),
        "int" | "integer" => Kind::Int(Type::Int32),
        "bigint" if unsigned => Kind::Unsigned(Type::Int64),
        "bigint" => Kind::Int(Type::Int64),
        "float" => Kind::Float32,
        "double" | "real" => Kind::Float64,
        // JDBC DECIMAL: always Decimal, whatever numeric.mapping says (§6.4)
        "decimal" | "numeric" => Kind::Decimal { scale: Some(m.scale.unwrap_or(0) as i32), precision: m.precision },
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" | "json" | "uuid"
        | "inet4" | "inet6" => Kind::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Bytes,
        "bit" if m.precision.unwrap_or(1) <= 1 => Kind::Unsigned(Type::Int8),
        "bit" => Kind::Bits,
        "date" => Kind::Date,
        "time" => Kind::Time,
        "datetime" => Kind::LocalTimestamp,
        "timestamp" => Kind::Timestamp,
        "year" => Kind::Year,
        _ => return None,
    })
}

/// PostgreSQL column (by `udt_name`) → kind; `None` for types the reference skips.
pub fn postgres_kind(m: &ColumnMeta, numeric_mapping: &str) -> Option<Kind> {
    Some(match m.data_type.as_str() {
        "int2" => Kind::Int(Type::Int16),
        "int4" => Kind::Int(Type::Int32),
        "int8" => Kind::Int(Type::Int64),
        "numeric" => match (m.precision, m.scale) {
            (Some(p), Some(s)) => numeric(numeric_mapping, p, s),
            _ => Kind::NumericText,
        },
        "float4" => Kind::Float32,
        "float8" => Kind::Float64,
        "bool" => Kind::Boolean,
        "text" | "varchar" | "bpchar" | "name" | "citext" => Kind::Text,
        "bytea" => Kind::Bytes,
        "json" | "jsonb" => Kind::Json,
        "uuid" => Kind::Uuid,
        "date" => Kind::Date,
        "time" => Kind::Time,
        "timestamp" => Kind::LocalTimestamp,
        "timestamptz" => Kind::Timestamp,
        _ => return None,
    })
}

/// Kind from the driver's type name alone (query mode, where no table describes the columns).
pub fn kind_from_driver(type_name: &str, numeric_mapping: &str) -> Option<Kind> {
    Some(match type_name {
        "BOOLEAN" | "TINYINT" => Kind::Int(Type::Int8),
        "TINYINT UNSIGNED" => Kind::Unsigned(Type::Int16),
        "SMALLINT" | "INT2" => Kind::Int(Type::Int16),
        "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" => Kind::Unsigned(Type::Int32),
        "MEDIUMINT" | "INT" | "INT4" => Kind::Int(Type::Int32),
        "INT UNSIGNED" | "BIGINT UNSIGNED" => Kind::Unsigned(Type::Int64),
        "BIGINT" | "INT8" => Kind::Int(Type::Int64),
        "FLOAT" | "FLOAT4" => Kind::Float32,
        "DOUBLE" | "FLOAT8" => Kind::Float64,
        "DECIMAL" => Kind::Decimal { scale: None, precision: None },
        "NUMERIC" if numeric_mapping == "none" => Kind::Decimal { scale: None, precision: None },
        "NUMERIC" => Kind::NumericFloat,
        "BOOL" => Kind::Boolean,
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" | "BPCHAR" | "NAME" => {
            Kind::Text
        }
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BYTEA" => Kind::Bytes,
        "JSON" | "JSONB" => Kind::Json,
        "UUID" => Kind::Uuid,
        "DATE" => Kind::Date,
        "TIME" => Kind::Time,
        "DATETIME" | "TIMESTAMP" => Kind::LocalTimestamp,
        "TIMESTAMPTZ" => Kind::Timestamp,
        "YEAR" => Kind::Year,
        _ => return None,
    })
}

/// Reads the columns of `table` in ordinal order; empty when the table does not exist.
pub async fn columns(pool: &Pool, table: &TableId) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let space = table.space.clone().unwrap_or_default();
    match pool {
        Pool::MySql(p) => {
            let rows = sqlx::query(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                 CAST(IS_NULLABLE AS CHAR), CAST(COALESCE(NUMERIC_PRECISION, DATETIME_PRECISION) AS SIGNED), \
                 CAST(NUMERIC_SCALE AS SIGNED), CAST(EXTRA AS CHAR) \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            )
            .bind(&space)
            .bind(&table.table)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let text = |i: usize| -> Result<String, sqlx::Error> {
                        Ok(r.try_get_unchecked::<Option<String>, _>(i)?.unwrap_or_default())
                    };
                    let data_type = text(1)?.to_ascii_lowercase();
                    let column_type = text(2)?.to_ascii_lowercase();
                    let precision = if data_type == "bit" {
                        // BIT(n): n from the column type
                        column_type.trim_start_matches("bit(").trim_end_matches(')').parse::<i64>().ok()
                    } else {
                        r.try_get_unchecked::<Option<i64>, _>(4)?
                    };
                    Ok(ColumnMeta {
                        name: text(0)?,
                        data_type,
                        column_type,
                        nullable: text(3)? == "YES",
                        precision,
                        scale: r.try_get_unchecked::<Option<i64>, _>(5)?,
                        auto_increment: text(6)?.to_ascii_lowercase().contains("auto_increment"),
                    })
                })
                .collect()
        }
        Pool::Postgres(p) => {
            let rows = sqlx::query(
                "SELECT column_name::text, udt_name::text, data_type::text, is_nullable::text, \
                 numeric_precision::int8, numeric_scale::int8, \
                 (coalesce(column_default::text, '') LIKE 'nextval(%' OR is_identity::text = 'YES') \
                 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            )
            .bind(&space)
            .bind(&table.table)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ColumnMeta {
                        name: r.try_get(0)?,
                        data_type: r.try_get::<String, _>(1)?.to_ascii_lowercase(),
                        column_type: r.try_get(2)?,
                        nullable: r.try_get::<String, _>(3)? == "YES",
                        precision: r.try_get(4)?,
                        scale: r.try_get(5)?,
                        auto_increment: r.try_get(6)?,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn my(data_type: &str, column_type: &str, precision: Option<i64>, scale: Option<i64>) -> ColumnMeta {
        ColumnMeta {
            name: "c".into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            nullable: false,
            precision,
            scale,
            auto_increment: false,
        }
    }

    #[test]
    fn mysql_types() {
        assert_eq!(mysql_kind(&my("tinyint", "tinyint(1)", None, None)), Some(Kind::Int(Type::Int8)));
        assert_eq!(mysql_kind(&my("tinyint", "tinyint(3) unsigned", None, None)), Some(Kind::Unsigned(Type::Int16)));
        assert_eq!(mysql_kind(&my("int", "int(10) unsigned", None, None)), Some(Kind::Unsigned(Type::Int64)));
        assert_eq!(mysql_kind(&my("bigint", "bigint(20) unsigned", None, None)), Some(Kind::Unsigned(Type::Int64)));
        assert_eq!(
            mysql_kind(&my("decimal", "decimal(30,10)", Some(30), Some(10))),
            Some(Kind::Decimal { scale: Some(10), precision: Some(30) })
        );
        assert_eq!(mysql_kind(&my("datetime", "datetime(6)", None, None)), Some(Kind::LocalTimestamp));
        assert_eq!(mysql_kind(&my("timestamp", "timestamp", None, None)), Some(Kind::Timestamp));
        assert_eq!(mysql_kind(&my("longtext", "longtext", None, None)), Some(Kind::Text));
        assert_eq!(mysql_kind(&my("bit", "bit(12)", Some(12), None)), Some(Kind::Bits));
        assert_eq!(mysql_kind(&my("geometry", "geometry", None, None)), None);
        let d = Kind::Decimal { scale: Some(10), precision: Some(30) }.schema(true);
        assert_eq!(d.parameter("scale"), Some("10"));
        assert_eq!(d.parameter("connect.decimal.precision"), Some("30"));
        assert!(d.optional);
    }

    #[test]
    fn numeric_mapping_rules() {
        assert_eq!(numeric("none", 5, 0), Kind::Decimal { scale: Some(0), precision: Some(5) });
        assert_eq!(numeric("precision_only", 5, 0), Kind::NumericInt(Type::Int32));
        assert_eq!(numeric("precision_only", 19, 0), Kind::Decimal { scale: Some(0), precision: Some(19) });
        assert_eq!(numeric("best_fit", 10, 0), Kind::NumericInt(Type::Int64));
        assert_eq!(numeric("best_fit", 2, 0), Kind::NumericInt(Type::Int8));
        assert_eq!(numeric("best_fit", 10, 2), Kind::NumericFloat);
        assert_eq!(numeric("best_fit", 30, 2), Kind::Decimal { scale: Some(2), precision: Some(30) });
        assert_eq!(numeric("best_fit_eager_double", 30, 2), Kind::NumericFloat);
        let pg = ColumnMeta { data_type: "numeric".into(), precision: None, scale: None, ..my("", "", None, None) };
        assert_eq!(postgres_kind(&pg, "none"), Some(Kind::NumericText));
    }
}
