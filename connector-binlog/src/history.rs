//! The schema history (binlog-cdc.md A7): the table structures the connector decoded with,
//! keyed by the binlog position from which each applies, one JSON entry per structure in the
//! connector's `schema-history` state log, kept where the offsets are (standalone: the file
//! `<offset file>.<connector>.schema-history`; distributed: the worker's state topic).
//!
//! `information_schema` describes tables as they are *now*. A connector that restarts behind a
//! DDL would read events written before it with the structure after it; the binlog's own
//! TABLE_MAP still decodes them, but without what only the catalogue knows (defaults, JSON,
//! UUID, INET6, `TINYINT(1)`). The history gives back the structure used at the offset.
//!
//! An entry is durable before any record decoded with its structure is handed over, so a
//! committed offset never covers a structure the history lacks. At start the entries past
//! the resume position are dropped (they belong to records that were never committed and will
//! be read again); a new snapshot starts the history afresh.

use std::collections::HashMap;
use std::sync::Arc;

use runtime::state_log::{StateLog, StateLogError};

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::column::{default_value, Kind, Modes};
use crate::config::Filters;
use crate::error::BinlogError;
use crate::position::FilePos;
use crate::schema::{ColumnDef, TableDef};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredColumn {
    name: String,
    kind: Kind,
    optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
}

/// One line: a table's structure from `file`/`pos` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    file: String,
    pos: u64,
    db: String,
    table: String,
    columns: Vec<StoredColumn>,
    key: Vec<usize>,
}

impl Entry {
    fn new(at: &FilePos, def: &TableDef) -> Entry {
        Entry {
            file: at.file.clone(),
            pos: at.pos,
            db: def.db.clone(),
            table: def.table.clone(),
            columns: def
                .columns
                .iter()
                .map(|c| StoredColumn {
                    name: c.name.clone(),
                    kind: c.kind.clone(),
                    optional: c.optional,
                    default: c.default_text.clone(),
                })
                .collect(),
            key: def.key.clone(),
        }
    }

    fn at(&self) -> FilePos {
        FilePos { file: self.file.clone(), pos: self.pos }
    }

    /// The structure, with defaults and column filters applied as configured now.
    fn def(&self, filters: &Filters, modes: &Modes) -> TableDef {
        let columns = self
            .columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                kind: c.kind.clone(),
                optional: c.optional,
                default: default_value(&c.kind, modes, c.default.as_deref(), c.optional),
                default_text: c.default.clone(),
                captured: filters.column(&self.db, &self.table, &c.name),
            })
            .collect();
        TableDef { db: self.db.clone(), table: self.table.clone(), columns, key: self.key.clone() }.keyed(filters)
    }
}

/// Binlog order of two positions: by the file's sequence number, then by position.
pub fn before_or_at(a: &FilePos, b: &FilePos) -> bool {
    let seq = |f: &str| f.rsplit_once('.').and_then(|(_, n)| n.parse::<u64>().ok());
    let files = match (seq(&a.file), seq(&b.file)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.file.cmp(&b.file),
    };
    files.then(a.pos.cmp(&b.pos)).is_le()
}

pub struct SchemaHistory {
    log: Option<Arc<dyn StateLog>>,
    /// The last structure recorded for each table.
    last: HashMap<(String, String), Entry>,
}

fn log_error(e: StateLogError) -> BinlogError {
    BinlogError::History { path: e.log, message: e.message }
}

fn encode(entry: &Entry) -> Vec<u8> {
    serde_json::to_vec(entry).expect("entries serialize")
}

impl SchemaHistory {
    /// A history that is not kept (the offsets' store keeps no state log).
    pub fn none() -> SchemaHistory {
        SchemaHistory { log: None, last: HashMap::new() }
    }

    /// Reads the history for a restart at `resume`: keeps the entries up to it, drops the rest.
    /// An empty log is an empty history; an unreadable entry stops the reading there, with a
    /// warning (the catalogue then fills in).
    pub async fn open(log: Option<Arc<dyn StateLog>>, resume: &FilePos) -> Result<SchemaHistory, BinlogError> {
        let Some(log) = log else { return Ok(SchemaHistory::none()) };
        let entries = log.read().await.map_err(log_error)?;
        let mut kept = Vec::new();
        for (n, bytes) in entries.iter().enumerate() {
            match serde_json::from_slice::<Entry>(bytes) {
                Ok(e) if before_or_at(&e.at(), resume) => kept.push(e),
                Ok(_) => {}
                Err(e) => {
                    warn!(log = %log.describe(), entry = n + 1, error = %e, "unreadable schema history entry: the history is read up to it; the catalogue fills in the rest");
                    break;
                }
            }
        }
        if kept.len() != entries.len() {
            info!(kept = kept.len(), dropped = entries.len() - kept.len(), resume = %resume, "schema history cut back to the resume position");
            log.replace(kept.iter().map(encode).collect()).await.map_err(log_error)?;
        }
        let mut history = SchemaHistory { log: Some(log), last: HashMap::new() };
        for e in kept {
            history.last.insert((e.db.clone(), e.table.clone()), e);
        }
        Ok(history)
    }

    /// A new history (a new snapshot): the log is emptied.
    pub async fn fresh(log: Option<Arc<dyn StateLog>>) -> Result<SchemaHistory, BinlogError> {
        if let Some(log) = &log {
            log.replace(Vec::new()).await.map_err(log_error)?;
        }
        Ok(SchemaHistory { log, last: HashMap::new() })
    }

    /// The structures at the resume position, for the tables the history knows.
    pub fn defs(&self, filters: &Filters, modes: &Modes) -> Vec<TableDef> {
        self.last.values().filter(|e| filters.table(&e.db, &e.table)).map(|e| e.def(filters, modes)).collect()
    }

    /// Records `def` as the structure of its table from `at` on, unless it is already the last
    /// one recorded. Durable when it returns.
    pub async fn record(&mut self, at: &FilePos, def: &TableDef) -> Result<(), BinlogError> {
        let Some(log) = &self.log else { return Ok(()) };
        let entry = Entry::new(at, def);
        let key = (def.db.clone(), def.table.clone());
        if self.last.get(&key).is_some_and(|e| e.columns == entry.columns && e.key == entry.key) {
            return Ok(());
        }
        log.append(encode(&entry)).await.map_err(log_error)?;
        self.last.insert(key, entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::tests::MODES;

    fn def(columns: &[(&str, Kind, Option<&str>)]) -> TableDef {
        TableDef {
            db: "shop".into(),
            table: "orders".into(),
            columns: columns
                .iter()
                .map(|(name, kind, default)| ColumnDef {
                    name: (*name).into(),
                    kind: kind.clone(),
                    optional: false,
                    default: default_value(kind, &MODES, *default, false),
                    default_text: default.map(str::to_owned),
                    captured: true,
                })
                .collect(),
            key: vec![0],
        }
    }

    fn file_log(path: &std::path::Path) -> Option<Arc<dyn StateLog>> {
        Some(Arc::new(runtime::state_log::FileStateLog::new(path.to_owned())))
    }

    fn at(file: &str, pos: u64) -> FilePos {
        FilePos { file: file.into(), pos }
    }

    #[test]
    fn binlog_order() {
        assert!(before_or_at(&at("b.000009", 900), &at("b.000010", 4)));
        assert!(before_or_at(&at("b.000010", 4), &at("b.000010", 4)));
        assert!(!before_or_at(&at("b.000010", 5), &at("b.000010", 4)));
        assert!(!before_or_at(&at("b.000100", 4), &at("b.000099", 9999)));
    }

    #[tokio::test]
    async fn restart_reads_the_structure_at_the_offset_and_drops_later_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let filters = Filters::default();
        let v1 = def(&[("id", Kind::Int32, None), ("note", Kind::Json, None)]);
        let v2 = def(&[("id", Kind::Int32, None), ("note", Kind::Json, None), ("n", Kind::Int32, Some("7"))]);
        let mut h = SchemaHistory::fresh(file_log(&path)).await.unwrap();
        h.record(&at("b.000001", 100), &v1).await.unwrap();
        h.record(&at("b.000001", 150), &v1).await.unwrap(); // unchanged: no line
        h.record(&at("b.000002", 4), &v2).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);

        let back = SchemaHistory::open(file_log(&path), &at("b.000002", 4)).await.unwrap();
        assert_eq!(back.defs(&filters, &MODES), vec![v2.clone()]);
        assert_eq!(back.defs(&filters, &MODES)[0].columns[2].default, Some(runtime::data::Value::Int32(7)));

        // behind the DDL: the structure before it, and the line after the offset is gone
        let mut back = SchemaHistory::open(file_log(&path), &at("b.000001", 900)).await.unwrap();
        assert_eq!(back.defs(&filters, &MODES), vec![v1.clone()]);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        back.record(&at("b.000002", 4), &v2).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[tokio::test]
    async fn a_damaged_line_keeps_what_precedes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        let v1 = def(&[("id", Kind::Int32, None)]);
        let mut h = SchemaHistory::fresh(file_log(&path)).await.unwrap();
        h.record(&at("b.000001", 100), &v1).await.unwrap();
        drop(h);
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"file\":\"b.0000").unwrap();
        let back = SchemaHistory::open(file_log(&path), &at("b.000003", 4)).await.unwrap();
        assert_eq!(back.defs(&Filters::default(), &MODES), vec![v1]);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
