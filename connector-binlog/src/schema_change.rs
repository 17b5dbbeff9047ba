//! Schema change events on topic `<topic.prefix>` (`include.schema.changes=true`, binlog-cdc.md
//! A7): key `io.debezium.connector.<c>.SchemaChangeKey {databaseName}`, value
//! `…SchemaChangeValue {source, ts_ms, databaseName, schemaName, ddl, tableChanges}` with the
//! table structures of Debezium's `SchemaFactory` (`io.debezium.connector.schema.Change`,
//! `.Table`, `.Column`), filled from `information_schema` right after the DDL.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use runtime::data::{Schema, Struct, Type, Value};

use crate::column::{display_width, parse_enum_values};
use crate::config::Flavor;
use crate::error::BinlogError;
use crate::event::Record;
use crate::position::{BinlogOffset, BinlogPartition};

/// One column as `io.debezium.connector.schema.Column` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub jdbc_type: i32,
    pub type_name: String,
    pub charset: Option<String>,
    pub length: Option<i32>,
    pub scale: Option<i32>,
    pub position: i32,
    pub optional: bool,
    pub auto_increment: bool,
    pub generated: bool,
    pub comment: Option<String>,
    pub default: Option<String>,
    pub enum_values: Vec<String>,
}

/// One table as `io.debezium.connector.schema.Table` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    pub charset: Option<String>,
    pub primary_key: Vec<String>,
    pub columns: Vec<ColumnInfo>,
    pub comment: Option<String>,
}

/// One entry of `tableChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    /// `CREATE`, `ALTER` or `DROP`.
    pub kind: &'static str,
    pub db: String,
    pub table: String,
    pub info: Option<TableInfo>,
}

/// `java.sql.Types` of a column as Debezium's MySQL DDL parser assigns them.
fn jdbc_type(data_type: &str, column_type: &str) -> i32 {
    match data_type {
        "bit" => -7,
        "tinyint" if column_type.starts_with("tinyint(1)") => 5,
        "tinyint" | "smallint" => 5,
        "mediumint" | "int" | "integer" | "year" => 4,
        "bigint" => -5,
        "float" => 6,
        "double" | "real" => 8,
        "decimal" => 3,
        "numeric" => 2,
        "char" | "enum" | "set" => 1,
        "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "uuid" | "inet6" | "inet4" => 12,
        "binary" => -2,
        "varbinary" => -3,
        "tinyblob" | "blob" | "mediumblob" | "longblob" => 2004,
        "date" => 91,
        "time" => 92,
        "datetime" => 93,
        "timestamp" => 2014,
        "boolean" => 16,
        _ => 1111,
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The table's structure now; `None` when it does not exist.
pub async fn read_info(conn: &mut Conn, db: &str, table: &str) -> Result<Option<TableInfo>, BinlogError> {
    let what = || format!("read the structure of {db}.{table}");
    let rows: Vec<mysql_async::Row> = conn
        .exec(
            "SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
             NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(|e| BinlogError::query(what(), e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let table_row: Option<(Option<String>, Option<String>)> = conn
        .exec_first(
            "SELECT c.CHARACTER_SET_NAME, t.TABLE_COMMENT FROM information_schema.TABLES t \
             LEFT JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION \
             WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?",
            (db, table),
        )
        .await
        .map_err(|e| BinlogError::query(what(), e))?;
    let primary_key = crate::catalogue::primary_key(conn, db, table).await?;
    let columns = rows
        .into_iter()
        .map(|row| {
            let text = |i: usize| row.get::<Option<String>, _>(i).flatten();
            let number = |i: usize| row.get::<Option<u64>, _>(i).flatten();
            let name = text(0).unwrap_or_default();
            let position = number(1).unwrap_or(0);
            let (data_type, column_type) = (text(2).unwrap_or_default(), text(3).unwrap_or_default());
            let (char_len, precision, scale, fsp) = (number(4), number(5), number(6), number(7));
            let (charset, nullable, default) = (text(8), text(9).unwrap_or_default(), text(10));
            let (extra, comment) = (text(11).unwrap_or_default(), text(12).unwrap_or_default());
            let enum_values = parse_enum_values(&column_type); // the values keep their case
            let (data_type, column_type) = (data_type.to_ascii_lowercase(), column_type.to_ascii_lowercase());
            let unsigned = column_type.contains("unsigned");
            let mut type_name = data_type.to_ascii_uppercase();
            if unsigned {
                type_name.push_str(" UNSIGNED");
            }
            let length = match data_type.as_str() {
                "char" | "varchar" | "binary" | "varbinary" => char_len.map(|l| l as i32),
                "decimal" | "numeric" => precision.map(|p| p as i32),
                "bit" => precision.map(|p| p as i32),
                "datetime" | "timestamp" | "time" => fsp.filter(|f| *f > 0).map(|f| f as i32),
                "enum" | "set" => None,
                _ => display_width(&column_type).map(|w| w as i32),
            };
            let scale = matches!(data_type.as_str(), "decimal" | "numeric").then(|| scale.unwrap_or(0) as i32);
            let extra = extra.to_ascii_lowercase();
            let auto_increment = extra.contains("auto_increment");
            let default = default.filter(|d| !d.eq_ignore_ascii_case("NULL")).map(|d| {
                d.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).map(|s| s.replace("''", "'")).unwrap_or(d)
            });
            ColumnInfo {
                name,
                jdbc_type: jdbc_type(&data_type, &column_type),
                enum_values: if matches!(data_type.as_str(), "enum" | "set") { enum_values } else { Vec::new() },
                type_name,
                charset,
                length,
                scale,
                position: position as i32,
                optional: nullable == "YES",
                auto_increment,
                generated: auto_increment
                    || extra.contains("generated")
                    || extra.contains("virtual")
                    || extra.contains("persistent")
                    || extra.contains("stored"),
                comment: non_empty(Some(comment)),
                default,
            }
        })
        .collect();
    let (charset, comment) = table_row.unwrap_or((None, None));
    Ok(Some(TableInfo { charset, primary_key, columns, comment: non_empty(comment) }))
}

/// The table of a `TRUNCATE [TABLE] [db.]name` statement.
pub fn truncated_table(ddl: &str, default_db: &str) -> Option<(String, String)> {
    let tokens = tokenize(ddl);
    if !tokens.first()?.eq_ignore_ascii_case("TRUNCATE") {
        return None;
    }
    let i = if tokens.get(1)?.eq_ignore_ascii_case("TABLE") { 2 } else { 1 };
    let first = tokens.get(i)?;
    if tokens.get(i + 1).map(String::as_str) == Some(".") {
        Some((unquote(first), unquote(tokens.get(i + 2)?)))
    } else {
        Some((default_db.to_owned(), unquote(first)))
    }
}

/// The tables a DDL statement changes: `(kind, db, table)`. Database-level statements and
/// statements sluice does not recognise give none.
pub fn affected_tables(ddl: &str, default_db: &str) -> Vec<(&'static str, String, String)> {
    let tokens = tokenize(ddl);
    let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
    let word = |i: usize| upper.get(i).map(String::as_str).unwrap_or("");
    let name_at = |i: usize| -> Option<(String, String, usize)> {
        let first = tokens.get(i)?;
        if tokens.get(i + 1).map(String::as_str) == Some(".") {
            Some((unquote(first), unquote(tokens.get(i + 2)?), i + 3))
        } else {
            Some((default_db.to_owned(), unquote(first), i + 1))
        }
    };
    let skip = |mut i: usize, words: &[&str]| {
        while words.contains(&word(i)) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    match word(0) {
        "CREATE" => {
            let i = skip(1, &["OR", "REPLACE", "TEMPORARY"]);
            if word(i) == "TABLE" {
                let i = skip(i + 1, &["IF", "NOT", "EXISTS"]);
                if let Some((db, t, _)) = name_at(i) {
                    out.push(("CREATE", db, t));
                }
            } else if let Some(on) =
                upper.iter().position(|w| w == "ON").filter(|_| upper[..i + 3].iter().any(|w| w == "INDEX"))
            {
                if let Some((db, t, _)) = name_at(on + 1) {
                    out.push(("ALTER", db, t));
                }
            }
        }
        "ALTER" => {
            let i = skip(1, &["ONLINE", "IGNORE"]);
            if word(i) == "TABLE" {
                let i = skip(i + 1, &["IF", "EXISTS"]);
                if let Some((db, t, _)) = name_at(i) {
                    out.push(("ALTER", db, t));
                }
            }
        }
        "DROP" => {
            let i = skip(1, &["TEMPORARY"]);
            if word(i) == "TABLE" {
                let mut i = skip(i + 1, &["IF", "EXISTS"]);
                while let Some((db, t, next)) = name_at(i) {
                    out.push(("DROP", db, t));
                    if tokens.get(next).map(String::as_str) != Some(",") {
                        break;
                    }
                    i = next + 1;
                }
            } else if word(i) == "INDEX" {
                if let Some(on) = upper.iter().position(|w| w == "ON") {
                    if let Some((db, t, _)) = name_at(on + 1) {
                        out.push(("ALTER", db, t));
                    }
                }
            }
        }
        "RENAME" if word(1) == "TABLE" => {
            let mut i = 2;
            while let Some((from_db, from, next)) = name_at(i) {
                if word(next) != "TO" {
                    break;
                }
                let Some((db, t, after)) = name_at(next + 1) else { break };
                out.push(("DROP", from_db, from));
                out.push(("CREATE", db, t));
                if tokens.get(after).map(String::as_str) != Some(",") {
                    break;
                }
                i = after + 1;
            }
        }
        _ => {}
    }
    out
}

fn unquote(t: &str) -> String {
    t.strip_prefix('`').and_then(|s| s.strip_suffix('`')).map(|s| s.replace("``", "`")).unwrap_or_else(|| t.to_owned())
}

/// Words, back-quoted names, and the punctuation `.`, `,`, `(`, `)`; comments and strings skipped.
fn tokenize(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '`' {
            let mut t = String::from(chars.next().unwrap());
            while let Some(c) = chars.next() {
                t.push(c);
                if c == '`' {
                    if chars.peek() == Some(&'`') {
                        t.push(chars.next().unwrap());
                    } else {
                        break;
                    }
                }
            }
            out.push(t);
        } else if c == '\'' || c == '"' {
            chars.next();
            for n in chars.by_ref() {
                if n == c {
                    break;
                }
            }
            out.push("''".into());
        } else if c == '/' {
            chars.next();
            if chars.peek() == Some(&'*') {
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            } else {
                out.push("/".into());
            }
        } else if ".,();".contains(c) {
            out.push(chars.next().unwrap().to_string());
        } else {
            let mut t = String::new();
            while let Some(&n) = chars.peek() {
                if n.is_whitespace() || ".,();`'\"".contains(n) {
                    break;
                }
                t.push(n);
                chars.next();
            }
            out.push(t);
        }
    }
    out
}

/// Builds schema change records.
pub struct SchemaChanges {
    partition: BinlogPartition,
    topic: Arc<str>,
    key: Schema,
    value: Schema,
    change: Schema,
    table: Schema,
    column: Schema,
}

fn opt(t: Type) -> Schema {
    Schema::primitive(t, true)
}

fn req(t: Type) -> Schema {
    Schema::primitive(t, false)
}

fn strings(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

fn text(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::String)
}

impl SchemaChanges {
    pub fn new(flavor: Flavor, prefix: &str, source: &Schema) -> SchemaChanges {
        let c = flavor.name();
        let column = Schema::builder(Type::Struct)
            .name("io.debezium.connector.schema.Column")
            .version(1)
            .field("name", req(Type::String))
            .field("jdbcType", req(Type::Int32))
            .field("nativeType", opt(Type::Int32))
            .field("typeName", req(Type::String))
            .field("typeExpression", opt(Type::String))
            .field("charsetName", opt(Type::String))
            .field("length", opt(Type::Int32))
            .field("scale", opt(Type::Int32))
            .field("position", req(Type::Int32))
            .field("optional", opt(Type::Boolean))
            .field("autoIncremented", opt(Type::Boolean))
            .field("generated", opt(Type::Boolean))
            .field("comment", opt(Type::String))
            .field("defaultValueExpression", opt(Type::String))
            .field("enumValues", Schema::array(req(Type::String)).optional().build())
            .build();
        let table = Schema::builder(Type::Struct)
            .name("io.debezium.connector.schema.Table")
            .version(1)
            .optional()
            .field("defaultCharsetName", opt(Type::String))
            .field("primaryKeyColumnNames", Schema::array(req(Type::String)).optional().build())
            .field("columns", Schema::array(column.clone()).build())
            .field("comment", opt(Type::String))
            .build();
        let change = Schema::builder(Type::Struct)
            .name("io.debezium.connector.schema.Change")
            .version(1)
            .field("type", req(Type::String))
            .field("id", req(Type::String))
            .field("table", table.clone())
            .build();
        let key = Schema::builder(Type::Struct)
            .name(format!("io.debezium.connector.{c}.SchemaChangeKey"))
            .version(1)
            .field("databaseName", req(Type::String))
            .build();
        let value = Schema::builder(Type::Struct)
            .name(format!("io.debezium.connector.{c}.SchemaChangeValue"))
            .version(1)
            .field("source", source.clone())
            .field("ts_ms", req(Type::Int64))
            .field("databaseName", opt(Type::String))
            .field("schemaName", opt(Type::String))
            .field("ddl", opt(Type::String))
            .field("tableChanges", Schema::array(change.clone()).build())
            .build();
        let partition = BinlogPartition { server: prefix.into() };
        SchemaChanges { partition, topic: prefix.into(), key, value, change, table, column }
    }

    fn column_struct(&self, c: &ColumnInfo) -> Value {
        Value::Struct(Struct {
            schema: self.column.clone(),
            values: vec![
                Value::String(c.name.clone()),
                Value::Int32(c.jdbc_type),
                Value::Null,
                Value::String(c.type_name.clone()),
                Value::String(c.type_name.clone()),
                text(&c.charset),
                c.length.map_or(Value::Null, Value::Int32),
                c.scale.map_or(Value::Null, Value::Int32),
                Value::Int32(c.position),
                Value::Boolean(c.optional),
                Value::Boolean(c.auto_increment),
                Value::Boolean(c.generated),
                text(&c.comment),
                text(&c.default),
                if c.enum_values.is_empty() { Value::Null } else { strings(&c.enum_values) },
            ],
        })
    }

    fn change_struct(&self, t: &TableChange) -> Value {
        let table = t.info.as_ref().map_or(Value::Null, |i| {
            Value::Struct(Struct {
                schema: self.table.clone(),
                values: vec![
                    text(&i.charset),
                    strings(&i.primary_key),
                    Value::Array(i.columns.iter().map(|c| self.column_struct(c)).collect()),
                    text(&i.comment),
                ],
            })
        });
        Value::Struct(Struct {
            schema: self.change.clone(),
            values: vec![Value::String(t.kind.into()), Value::String(format!("\"{}\".\"{}\"", t.db, t.table)), table],
        })
    }

    /// The record for one DDL statement.
    pub fn record(
        &self,
        db: &str,
        ddl: &str,
        changes: &[TableChange],
        source: Struct,
        ts_ms: i64,
        offset: BinlogOffset,
    ) -> Record {
        let key = Struct { schema: self.key.clone(), values: vec![Value::String(db.to_owned())] };
        let value = Struct {
            schema: self.value.clone(),
            values: vec![
                Value::Struct(source),
                Value::Int64(ts_ms),
                Value::String(db.to_owned()),
                Value::Null,
                Value::String(ddl.to_owned()),
                Value::Array(changes.iter().map(|c| self.change_struct(c)).collect()),
            ],
        };
        Record {
            partition: self.partition.clone(),
            offset,
            topic: self.topic.clone(),
            kafka_partition: None,
            key_schema: Some(self.key.clone()),
            key: Value::Struct(key),
            value_schema: Some(self.value.clone()),
            value: Value::Struct(value),
            timestamp: None,
            headers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{affected_tables, truncated_table};

    #[test]
    fn ddl_statements_name_their_tables() {
        assert_eq!(truncated_table("truncate table inv.`t`", "shop"), Some(("inv".into(), "t".into())));
        assert_eq!(truncated_table("TRUNCATE orders", "shop"), Some(("shop".into(), "orders".into())));
        assert_eq!(truncated_table("TRUNCATE", "shop"), None);
        let t = |ddl: &str| affected_tables(ddl, "shop");
        assert_eq!(t("CREATE TABLE IF NOT EXISTS `orders` (id INT)"), [("CREATE", "shop".into(), "orders".into())]);
        assert_eq!(t("alter table inv.`my``t` add column x int"), [("ALTER", "inv".into(), "my`t".into())]);
        assert_eq!(
            t("DROP TABLE IF EXISTS a, `b`.c /* generated by server */"),
            [("DROP", "shop".into(), "a".into()), ("DROP", "b".into(), "c".into())]
        );
        assert_eq!(
            t("RENAME TABLE a TO b"),
            [("DROP", "shop".into(), "a".into()), ("CREATE", "shop".into(), "b".into())]
        );
        assert_eq!(t("CREATE INDEX i ON t (x)"), [("ALTER", "shop".into(), "t".into())]);
        assert!(t("CREATE DATABASE x").is_empty());
        assert!(t("GRANT SELECT ON *.* TO u").is_empty());
    }
}
