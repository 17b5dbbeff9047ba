//! Table structures from `information_schema`: what TABLE_MAP events cannot say (JSON versus
//! LONGTEXT, UUID, INET6, column defaults), and the whole structure for the snapshot.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::column::{default_value, Kind, Modes};
use crate::config::Filters;
use crate::error::BinlogError;
use crate::schema::{ColumnDef, TableDef};

/// The captured tables, `(db, table)`, sorted.
pub async fn list_tables(conn: &mut Conn, filters: &Filters) -> Result<Vec<(String, String)>, BinlogError> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await
        .map_err(|e| BinlogError::query("list the tables", e))?;
    Ok(rows.into_iter().filter(|(db, t)| filters.table(db, t)).collect())
}

type ColumnRow =
    (String, String, String, Option<u64>, Option<u64>, Option<u64>, Option<String>, String, Option<String>);

/// The primary-key columns, in key order.
pub async fn primary_key(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>, BinlogError> {
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        (db, table),
    )
    .await
    .map_err(|e| BinlogError::query(format!("read the primary key of {db}.{table}"), e))
}

/// The table as the catalogue describes it now; `None` if it does not exist.
pub async fn read_table(
    conn: &mut Conn,
    db: &str,
    table: &str,
    filters: &Filters,
    modes: &Modes,
) -> Result<Option<TableDef>, BinlogError> {
    let what = || format!("read the columns of {db}.{table}");
    let columns: Vec<ColumnRow> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, \
             CHARACTER_SET_NAME, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(|e| BinlogError::query(what(), e))?;
    if columns.is_empty() {
        return Ok(None);
    }
    let key = primary_key(conn, db, table).await?;
    // MariaDB's JSON is LONGTEXT with a json_valid(`col`) check constraint
    let checks: Vec<String> = conn
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .unwrap_or_default();
    let mut defs = Vec::with_capacity(columns.len());
    for (name, data_type, column_type, precision, scale, fsp, charset, nullable, default) in columns {
        let is_json = checks.iter().any(|c| c.replace(' ', "").contains(&format!("json_valid(`{name}`)")));
        let kind = Kind::from_catalogue(
            &data_type.to_ascii_lowercase(),
            &column_type,
            precision,
            scale,
            fsp,
            charset.as_deref(),
            is_json,
        )
        .map_err(|message| BinlogError::Unsupported {
            table: format!("{db}.{table}"),
            column: name.clone(),
            message,
        })?;
        let optional = nullable == "YES";
        let default_text = default;
        let default = default_value(&kind, modes, default_text.as_deref(), optional);
        let captured = filters.column(db, table, &name);
        defs.push(ColumnDef { name, kind, optional, default, default_text, captured });
    }
    let key = key.iter().filter_map(|k| defs.iter().position(|c| &c.name == k)).collect();
    Ok(Some(TableDef { db: db.to_owned(), table: table.to_owned(), columns: defs, key }.keyed(filters)))
}
