//! The initial snapshot: every captured row as an `op=r` record, read inside one consistent
//! transaction whose binlog coordinates are where streaming starts.
//!
//! **Why nothing is lost or doubled at the seam (MariaDB).** `START TRANSACTION WITH CONSISTENT
//! SNAPSHOT` opens an InnoDB read view and, in the same step under the binlog lock, records the
//! binlog position of that view (`Binlog_snapshot_file` / `Binlog_snapshot_position`, the
//! status variables MariaDB provides for exactly this). Every transaction committed before that
//! position is visible to the view and none after it is, because MariaDB commits to InnoDB and
//! writes the binlog in the same order (group commit). So the snapshot reads the state *at* the
//! position, and streaming from the position delivers exactly the later transactions. No
//! `FLUSH TABLES WITH READ LOCK` and no `RELOAD` privilege are needed (binlog-cdc.md B7). The
//! e2e test `cdc_snapshot_seam` checks it with a writer running during the snapshot.
//!
//! MySQL has no such status variables: with `snapshot.locking.mode=minimal` a global read lock
//! is held only while the transaction opens and `SHOW MASTER STATUS` is read, as Debezium does.
//! This path is not tested here (no MySQL server on the test machine).
//!
//! Offsets: every snapshot record carries the coordinates with `"snapshot":"INITIAL"`, except
//! the last, which carries them plain; so a crash during the snapshot restarts it, and one
//! after it streams from the coordinates.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use mysql_common::value::Value as MyValue;
use runtime::data::Value;
use tracing::info;

use crate::catalogue;
use crate::column::{Modes, Origin};
use crate::config::{BinlogConfig, Flavor};
use crate::error::BinlogError;
use crate::event::{Events, Record};
use crate::position::{BinlogOffset, FilePos, GtidSet};
use crate::schema::{SourceInfo, TableDef, TableSchemas};

/// Where the snapshot was taken.
#[derive(Debug, Clone)]
pub struct Coordinates {
    pub at: FilePos,
    pub gtids: GtidSet,
}

/// Receives the snapshot's records in batches; `false` stops the snapshot (the task stops).
pub trait Sink {
    fn send(&mut self, batch: Vec<Record>) -> impl std::future::Future<Output = bool> + Send;

    /// An empty buffer for the next batch (one the consumer has emptied, when there is one).
    fn spare(&mut self) -> Vec<Record> {
        Vec::new()
    }
}

async fn coordinates(conn: &mut Conn, c: &BinlogConfig) -> Result<Coordinates, BinlogError> {
    let q = |what: &'static str| move |e| BinlogError::query(what, e);
    match c.flavor {
        Flavor::MariaDb => {
            conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await
                .map_err(q("set the isolation level"))?;
            conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .await
                .map_err(q("start the snapshot transaction"))?;
            let rows: Vec<(String, String)> = conn
                .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
                .await
                .map_err(q("read the snapshot's binlog position"))?;
            let get = |name: &str| rows.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
            let file = get("Binlog_snapshot_file").unwrap_or_default();
            let pos: u64 = get("Binlog_snapshot_position").and_then(|p| p.parse().ok()).unwrap_or(4);
            let gtids: Option<String> = conn
                .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file.clone(), pos))
                .await
                .map_err(q("convert the snapshot position to a GTID position"))?;
            let gtids = GtidSet::parse(&gtids.unwrap_or_default()).unwrap_or_default();
            Ok(Coordinates { at: FilePos { file, pos }, gtids })
        }
        Flavor::MySql => {
            if c.snapshot_lock {
                conn.query_drop("FLUSH TABLES WITH READ LOCK")
                    .await
                    .map_err(q("take the global read lock (needs RELOAD)"))?;
            }
            let opened = async {
                conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").await?;
                conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT").await?;
                conn.query_first::<mysql_async::Row, _>("SHOW MASTER STATUS").await
            }
            .await;
            if c.snapshot_lock {
                conn.query_drop("UNLOCK TABLES").await.map_err(q("release the global read lock"))?;
            }
            let row = opened.map_err(q("read the binlog position (SHOW MASTER STATUS)"))?;
            let row = row.ok_or_else(|| BinlogError::Settings {
                problems: vec!["  SHOW MASTER STATUS is empty: the binlog is off".into()],
            })?;
            let file: String = row.get(0).unwrap_or_default();
            let pos: u64 = row.get(1).unwrap_or(4);
            Ok(Coordinates { at: FilePos { file, pos }, gtids: GtidSet::default() })
        }
    }
}

/// The source block of a snapshot record: the read time and the snapshot's coordinates.
fn snapshot_source<'a>(t: &'a TableSchemas, coords: &'a Coordinates, marker: &'static str) -> SourceInfo<'a> {
    SourceInfo {
        ts_ms: crate::schema::now().0,
        snapshot: Some(marker),
        db: &t.def.db,
        table: &t.def.table,
        server_id: 0,
        gtid: None,
        file: &coords.at.file,
        pos: coords.at.pos,
        row: 0,
        thread: None,
    }
}

fn marker(first_overall: bool, last_overall: bool, first_in_table: bool, last_in_table: bool) -> &'static str {
    if first_overall {
        "first"
    } else if last_overall {
        "last"
    } else if last_in_table {
        "last_in_data_collection"
    } else if first_in_table {
        "first_in_data_collection"
    } else {
        "true"
    }
}

/// A record waiting for the next one, which decides its `snapshot` marker.
struct Pending {
    row: Vec<Value>,
    table: usize,
    first_in_table: bool,
}

/// The structure of every captured table, as `CREATE TABLE` schema changes ahead of the rows.
async fn table_creates(
    conn: &mut Conn,
    sc: &crate::schema_change::SchemaChanges,
    events: &Events,
    schemas: &[TableSchemas],
    coords: &Coordinates,
    offset: BinlogOffset,
    batch: &mut Vec<Record>,
) -> Result<(), BinlogError> {
    for t in schemas {
        let (db, table) = (&t.def.db, &t.def.table);
        let ddl: Option<(String, String)> = conn
            .query_first(format!("SHOW CREATE TABLE `{}`.`{}`", db.replace('`', "``"), table.replace('`', "``")))
            .await
            .map_err(|e| BinlogError::query(format!("read the DDL of {db}.{table}"), e))?;
        let info = crate::schema_change::read_info(conn, db, table).await?;
        let change = crate::schema_change::TableChange { kind: "CREATE", db: db.clone(), table: table.clone(), info };
        let info = snapshot_source(t, coords, "true");
        let ddl = ddl.map(|(_, d)| d).unwrap_or_default();
        batch.push(sc.record(db, &ddl, &[change], events.source.build(&info), info.ts_ms, offset.clone()));
    }
    Ok(())
}

/// One selected row as Connect values, in the table definition's column order.
fn row_values(
    raw: Vec<MyValue>,
    t: &TableSchemas,
    modes: &Modes,
    coords: &Coordinates,
) -> Result<Vec<Value>, BinlogError> {
    let mut values = Vec::with_capacity(raw.len());
    for (v, col) in raw.into_iter().zip(&t.def.columns) {
        let v = col.kind.convert(v, Origin::Snapshot, modes, col.optional).map_err(|message| BinlogError::Value {
            table: t.def.id(),
            column: col.name.clone(),
            file: coords.at.file.clone(),
            pos: coords.at.pos,
            message,
        })?;
        values.push(v);
    }
    Ok(values)
}

/// Runs the snapshot (rows only when the mode reads data) and returns its coordinates and the
/// table structures it read.
pub async fn run(
    c: &BinlogConfig,
    events: &Events,
    modes: &Modes,
    read_rows: bool,
    sink: &mut impl Sink,
) -> Result<Option<(Coordinates, Vec<TableDef>)>, BinlogError> {
    let mut conn = crate::server::connect(c).await?;
    let coords = coordinates(&mut conn, c).await?;
    info!(file = %coords.at.file, pos = coords.at.pos, gtids = %coords.gtids, read_rows, "snapshot started");
    let tables = catalogue::list_tables(&mut conn, &c.filters).await?;
    let mut defs = Vec::new();
    for (db, table) in &tables {
        if let Some(def) = catalogue::read_table(&mut conn, db, table, &c.filters, modes).await? {
            defs.push(def);
        }
    }
    if !read_rows {
        let _ = conn.query_drop("COMMIT").await;
        return Ok(Some((coords, defs)));
    }
    let schemas: Vec<TableSchemas> =
        defs.iter().map(|d| TableSchemas::new(d.clone(), &c.topic_prefix, &events.source.schema, modes)).collect();
    let ts_sec = crate::schema::now().0 / 1000;
    let offset = |done: bool| BinlogOffset {
        ts_sec: Some(ts_sec),
        file: coords.at.file.clone(),
        pos: coords.at.pos,
        gtids: (!coords.gtids.is_empty()).then(|| coords.gtids.to_string()),
        snapshot: (!done).then(|| serde_json::Value::String("INITIAL".into())),
        ..Default::default()
    };
    let record = |p: Pending, marker: &'static str, done: bool| -> Record {
        let t = &schemas[p.table];
        events.read(t, p.row, &snapshot_source(t, &coords, marker), offset(done))
    };
    let mut batch = Vec::with_capacity(c.max_batch_size);
    if let Some(sc) = &events.schema_changes {
        table_creates(&mut conn, sc, events, &schemas, &coords, offset(false), &mut batch).await?;
    }
    let mut pending: Option<Pending> = None;
    let mut first_overall = true;
    let mut total = 0u64;
    for (ti, t) in schemas.iter().enumerate() {
        let sql = format!("SELECT * FROM `{}`.`{}`", t.def.db.replace('`', "``"), t.def.table.replace('`', "``"));
        let mut result =
            conn.exec_iter(sql, ()).await.map_err(|e| BinlogError::query(format!("read {}", t.def.id()), e))?;
        let mut first_in_table = true;
        let mut rows = 0u64;
        while let Some(row) = result.next().await.map_err(|e| BinlogError::query(format!("read {}", t.def.id()), e))? {
            let values = row_values(row.unwrap(), t, modes, &coords)?;
            if let Some(p) = pending.take() {
                let last_in_table = p.table != ti;
                let m = marker(first_overall, false, p.first_in_table, last_in_table);
                batch.push(record(p, m, false));
                first_overall = false;
            }
            pending = Some(Pending { row: values, table: ti, first_in_table });
            first_in_table = false;
            rows += 1;
            if batch.len() >= c.max_batch_size {
                let full = std::mem::replace(&mut batch, sink.spare());
                if !sink.send(full).await {
                    return Ok(None);
                }
            }
        }
        total += rows;
        info!(table = %t.def.id(), rows, "snapshot of table done");
    }
    if let Some(p) = pending.take() {
        let m = marker(first_overall, true, p.first_in_table, true);
        batch.push(record(p, m, true));
    }
    let _ = conn.query_drop("COMMIT").await;
    if !batch.is_empty() && !sink.send(batch).await {
        return Ok(None);
    }
    info!(rows = total, tables = schemas.len(), "snapshot completed");
    Ok(Some((coords, defs)))
}
