//! Streaming: the binlog read as a replica (`COM_BINLOG_DUMP`, MariaDB GTID positioning through
//! `@slave_connect_state`), events turned into change records, positions tracked as Debezium
//! does (binlog-cdc.md A3, B2–B6).
//!
//! Position rules: inside a transaction every record's offset is the transaction's start
//! (its GTID or `BEGIN` event) with the GTID set *before* it, plus `event` (events of the
//! transaction completed before the record's rows event) and `row` (rows of that event emitted
//! up to and including the record). After the commit (XID, `COMMIT`, or a standalone DDL) the
//! position is the end of the committing event. On resume, the first transaction's first
//! `event` events and then `row` rows are read again but not emitted.

use std::collections::HashMap;
use std::mem::discriminant;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mysql_async::binlog::events::{BinlogEventHeader, Event, EventData, QueryEvent};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use runtime::retry::Backoff;
use tracing::{debug, info, warn};

use crate::catalogue;
use crate::column::{Kind, Modes};
use crate::config::{BinlogConfig, Flavor};
use crate::error::{code, server_code, BinlogError};
use crate::event::{Events, Record};
use crate::history::SchemaHistory;
use crate::position::{BinlogOffset, FilePos, Gtid, GtidSet, ResumePoint};
use crate::rows::{self, Change, TableMap};
use crate::schema::{SourceInfo, TableDef, TableSchemas};
use crate::server::clean_rotate_name;
use crate::snapshot::Sink;

/// What an event means for the batch: hand it over now, with whether anything is to hand over
/// (`Now`: the position moved past the event already), or count the event in the current
/// transaction first, with whether the batch is full (`Count`).
enum Step {
    Now(bool),
    Count(bool),
}

/// MariaDB event types mysql_common does not parse.
const MARIADB_ANNOTATE_ROWS: u8 = 0xa0;
const MARIADB_BINLOG_CHECKPOINT: u8 = 0xa1;
const MARIADB_GTID: u8 = 0xa2;
const MARIADB_GTID_LIST: u8 = 0xa3;
const MARIADB_START_ENCRYPTION: u8 = 0xa4;
const MARIADB_COMPRESSED_FIRST: u8 = 0xa5;
const MARIADB_COMPRESSED_LAST: u8 = 0xab;
/// `LOG_EVENT_ARTIFICIAL_F`: made up by the server for this stream, not in the file.
const ARTIFICIAL: u16 = 0x20;

/// Why a stream ended without an error.
enum Ended {
    /// The task is stopping.
    SinkGone,
    /// The server closed the stream: a clean shutdown or restart, or a server-side KILL.
    ByServer,
}

/// The open transaction.
#[derive(Debug, Clone)]
struct Txn {
    start: u64,
    gtid: Option<Gtid>,
    /// MySQL: the GTID text (`uuid:n`).
    gtid_text: Option<String>,
    standalone: bool,
    thread: Option<i64>,
    /// Events of this transaction completed so far.
    events: u64,
}

/// A captured table as the last TABLE_MAP for its id described it.
struct Mapped {
    map: TableMap,
    schemas: Arc<TableSchemas>,
}

/// The streaming state; survives reconnections.
pub struct Replication<'a> {
    c: &'a BinlogConfig,
    events: &'a mut Events,
    modes: Modes,
    catalogue: Option<Conn>,
    /// The structures in use, dropped at every DDL.
    defs: HashMap<(String, String), TableDef>,
    history: SchemaHistory,
    /// Schemas by structure, so that records of a table share schema objects across TABLE_MAPs.
    schemas: HashMap<(String, String), Arc<TableSchemas>>,
    maps: HashMap<u64, Mapped>,
    file: String,
    pos: u64,
    gtids: GtidSet,
    txn: Option<Txn>,
    /// `(events, rows)` still to skip in the first transaction after a (re)connection.
    skip: Option<(u64, u64)>,
    /// What the records handed to the sink cover.
    sent: ResumePoint,
    batch: Vec<Record>,
    last_heartbeat: Instant,
    warned_fallback: std::collections::HashSet<String>,
}

impl<'a> Replication<'a> {
    pub fn new(
        c: &'a BinlogConfig,
        events: &'a mut Events,
        modes: Modes,
        resume: ResumePoint,
        defs: Vec<TableDef>,
        history: SchemaHistory,
    ) -> Self {
        Replication {
            c,
            events,
            modes,
            catalogue: None,
            defs: defs.into_iter().map(|d| ((d.db.clone(), d.table.clone()), d)).collect(),
            history,
            schemas: HashMap::new(),
            maps: HashMap::new(),
            file: resume.at.file.clone(),
            pos: resume.at.pos,
            gtids: resume.gtids.clone(),
            txn: None,
            skip: None,
            sent: resume,
            batch: Vec::new(),
            last_heartbeat: Instant::now(),
            warned_fallback: Default::default(),
        }
    }

    /// Streams until the sink goes away, reconnecting with backoff after transient failures and
    /// whenever the server ends the stream (a clean shutdown closes it without an error).
    pub async fn run(&mut self, sink: &mut impl Sink) -> Result<(), BinlogError> {
        let mut backoff = Backoff::reconnect();
        loop {
            let cause = match self.stream_once(sink, &mut backoff).await {
                Ok(Ended::SinkGone) => return Ok(()),
                Ok(Ended::ByServer) => "the server ended the binlog stream (shut down or restarting?)".to_string(),
                Err(e) if e.is_retriable() => e.to_string(),
                Err(e) => return Err(e),
            };
            let wait = backoff.fail();
            if backoff.should_log() {
                warn!(
                    error = %cause,
                    attempt = backoff.attempts(),
                    failing_for_s = backoff.failing_for().as_secs(),
                    retry_in_ms = wait.as_millis() as u64,
                    resume = %self.sent.at,
                    "waiting for the database to stream the binlog again"
                );
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn open(&self, resume: &ResumePoint) -> Result<BinlogStream, BinlogError> {
        let mut conn = crate::server::connect(self.c).await?;
        let q = |what: &'static str| move |e| BinlogError::query(what, e);
        let use_gtid = self.c.flavor == Flavor::MariaDb && !resume.gtids.is_empty();
        if self.c.flavor == Flavor::MariaDb {
            conn.query_drop("SET @mariadb_slave_capability=4").await.map_err(q("announce GTID support"))?;
            if use_gtid {
                conn.query_drop(format!("SET @slave_connect_state='{}'", resume.gtids))
                    .await
                    .map_err(q("set the GTID start"))?;
                conn.query_drop("SET @slave_gtid_strict_mode=1").await.map_err(q("set GTID strict mode"))?;
            }
        }
        // at most 1 s: idle positions advance, and the server notices a vanished client quickly
        let period = match self.c.heartbeat_interval {
            d if d.is_zero() => Duration::from_secs(1),
            d => d.min(Duration::from_secs(1)),
        };
        conn.query_drop(format!("SET @master_heartbeat_period={}", period.as_nanos()))
            .await
            .map_err(q("set the heartbeat period"))?;
        let (file, pos) = if use_gtid { (&b""[..], 4) } else { (resume.at.file.as_bytes(), resume.at.pos) };
        let request = BinlogStreamRequest::new(self.c.server_id).with_filename(file).with_pos(pos);
        info!(file = %resume.at.file, pos = resume.at.pos, gtids = %resume.gtids, skip_events = resume.skip_events, skip_rows = resume.skip_rows, "streaming the binlog");
        conn.get_binlog_stream(request).await.map_err(|e| self.classify(e))
    }

    fn classify(&self, e: mysql_async::Error) -> BinlogError {
        match server_code(&e) {
            Some(code::SAME_SERVER_ID) => {
                BinlogError::ServerIdInUse { server_id: self.c.server_id, by: format!("another replica ({e})") }
            }
            Some(code::FATAL_READING_BINLOG) => BinlogError::Purged {
                wanted: if self.sent.gtids.is_empty() {
                    self.sent.at.to_string()
                } else {
                    format!("GTID {}", self.sent.gtids)
                },
                oldest: format!("the server said: {e}"),
                server: self.c.topic_prefix.clone(),
            },
            Some(code::ACCESS_DENIED | code::SPECIFIC_ACCESS_DENIED) => BinlogError::Privileges {
                user: self.c.user.clone(),
                missing: "REPLICATION SLAVE".into(),
                grants: e.to_string(),
            },
            _ => BinlogError::Stream { source: e },
        }
    }

    /// One connection's stream, until the sink goes away or the server ends it.
    async fn stream_once(&mut self, sink: &mut impl Sink, backoff: &mut Backoff) -> Result<Ended, BinlogError> {
        let resume = self.sent.clone();
        self.batch.clear();
        self.txn = None;
        self.maps.clear();
        self.file = resume.at.file.clone();
        self.pos = resume.at.pos;
        self.gtids = resume.gtids.clone();
        self.skip = (resume.skip_events > 0 || resume.skip_rows > 0).then_some((resume.skip_events, resume.skip_rows));
        let mut stream = self.open(&resume).await?;
        if let Some((attempts, down)) = backoff.succeed() {
            info!(attempts, after_s = down.as_secs(), resume = %resume.at, "streaming the binlog again");
        }
        while let Some(ev) = stream.next().await {
            let ev = ev.map_err(|e| self.classify(e))?;
            if !self.handle(&ev).await? {
                continue;
            }
            if !self.flush(sink).await {
                return Ok(Ended::SinkGone);
            }
        }
        Ok(Ended::ByServer)
    }

    /// Hands the batch over; after a commit with nothing pending, the commit point is covered.
    async fn flush(&mut self, sink: &mut impl Sink) -> bool {
        let committed = self.txn.is_none();
        if !self.batch.is_empty() {
            let last = self.batch.last().map(|r| r.offset.clone()).unwrap_or_default();
            let batch = std::mem::replace(&mut self.batch, sink.spare());
            if !sink.send(batch).await {
                return false;
            }
            self.sent = ResumePoint::from_offset(&last).unwrap_or_else(|_| self.sent.clone());
        }
        if committed {
            self.sent = ResumePoint {
                at: FilePos { file: self.file.clone(), pos: self.pos },
                gtids: self.gtids.clone(),
                skip_events: 0,
                skip_rows: 0,
            };
        }
        true
    }

    fn committed_offset(&self, ts_sec: i64, server_id: u32) -> BinlogOffset {
        BinlogOffset {
            ts_sec: Some(ts_sec),
            file: self.file.clone(),
            pos: self.pos,
            gtids: (!self.gtids.is_empty()).then(|| self.gtids.to_string()),
            server_id: (server_id != 0).then_some(server_id as u64),
            ..Default::default()
        }
    }

    fn begin(&mut self, start: u64, gtid: Option<Gtid>, gtid_text: Option<String>, standalone: bool) {
        self.txn = Some(Txn { start, gtid, gtid_text, standalone, thread: None, events: 0 });
    }

    fn commit(&mut self, end: u64) {
        if let Some(t) = self.txn.take() {
            if let Some(g) = t.gtid {
                self.gtids.add(g);
            }
        }
        self.pos = end;
        self.skip = None;
    }

    /// Processes one event; `true` when the batch should be handed over now.
    async fn handle(&mut self, ev: &Event) -> Result<bool, BinlogError> {
        let h = ev.header();
        let artificial = h.flags_raw() & ARTIFICIAL != 0 || h.log_pos() == 0;
        let end = h.log_pos() as u64;
        let start = end.saturating_sub(h.event_size() as u64);
        let step = match h.event_type_raw() {
            MARIADB_GTID => {
                self.mariadb_gtid(ev.data(), &h, start)?;
                Step::Count(false)
            }
            MARIADB_GTID_LIST | MARIADB_BINLOG_CHECKPOINT | MARIADB_ANNOTATE_ROWS | MARIADB_START_ENCRYPTION => {
                Step::Count(false)
            }
            MARIADB_COMPRESSED_FIRST..=MARIADB_COMPRESSED_LAST => {
                return Err(self.decode_error(
                    "compressed",
                    "compressed binlog events cannot be decoded: SET GLOBAL log_bin_compress=OFF, then take a new snapshot (the compressed range is lost to CDC)".into(),
                    start,
                ))
            }
            _ => match ev.read_data().map_err(|e| self.decode_error("binlog", e.to_string(), start))? {
                Some(data) => self.decoded(data, &h, start, end, artificial).await?,
                None => Step::Count(false),
            },
        };
        let flush = match step {
            Step::Now(flush) => return Ok(flush),
            Step::Count(flush) => flush,
        };
        if !artificial {
            match self.txn.as_mut() {
                Some(t) => t.events += 1,
                None => self.pos = end.max(self.pos),
            }
        }
        Ok(flush)
    }

    fn decode_error(&self, event: &'static str, message: String, pos: u64) -> BinlogError {
        BinlogError::Decode { event, file: self.file.clone(), pos, message }
    }

    /// MariaDB's GTID event (mysql_common does not parse it): a transaction starts.
    fn mariadb_gtid(&mut self, d: &[u8], h: &BinlogEventHeader, start: u64) -> Result<(), BinlogError> {
        if d.len() < 13 {
            return Err(self.decode_error("GTID", "short event".into(), start));
        }
        let seq = u64::from_le_bytes(d[0..8].try_into().unwrap_or_default());
        let domain = u32::from_le_bytes(d[8..12].try_into().unwrap_or_default());
        let standalone = d[12] & 0x01 != 0;
        self.begin(start, Some(Gtid { domain, server: h.server_id(), seq }), None, standalone);
        Ok(())
    }

    /// An event mysql_common decoded.
    async fn decoded(
        &mut self,
        data: EventData<'_>,
        h: &BinlogEventHeader,
        start: u64,
        end: u64,
        artificial: bool,
    ) -> Result<Step, BinlogError> {
        match data {
            EventData::RotateEvent(r) => {
                self.file = if artificial { clean_rotate_name(r.name_raw()) } else { r.name().into_owned() };
                self.pos = r.position();
                return Ok(Step::Now(false));
            }
            EventData::HeartbeatEvent => {
                if self.txn.is_none() && end > 0 {
                    self.pos = end;
                }
                let flush = self.maybe_heartbeat(h.timestamp() as i64, h.server_id());
                return Ok(Step::Now(flush || self.txn.is_none()));
            }
            EventData::GtidEvent(g) => {
                let uuid: String = g.sid().iter().map(|b| format!("{b:02x}")).collect();
                let text = format!(
                    "{}-{}-{}-{}-{}:{}",
                    &uuid[0..8],
                    &uuid[8..12],
                    &uuid[12..16],
                    &uuid[16..20],
                    &uuid[20..32],
                    g.gno()
                );
                self.begin(start, None, Some(text), false);
            }
            EventData::AnonymousGtidEvent(_) => self.begin(start, None, None, false),
            EventData::QueryEvent(q) => return self.query(&q, h, start, end).await,
            EventData::TableMapEvent(tme) => {
                let (db, table) = (tme.database_name().into_owned(), tme.table_name().into_owned());
                if self.c.filters.table(&db, &table) {
                    self.table_map(tme.table_id(), &tme).await?;
                }
            }
            EventData::RowsEvent(rows) => {
                self.rows(&rows, h)?;
                return Ok(Step::Count(self.batch.len() >= crate::task::CHUNK.min(self.c.max_batch_size)));
            }
            EventData::XidEvent(_) => {
                self.commit(end);
                self.maybe_heartbeat(h.timestamp() as i64, h.server_id());
                return Ok(Step::Now(true));
            }
            _ => {}
        }
        Ok(Step::Count(false))
    }

    /// A query event: a transaction's `BEGIN`/`XA`, `COMMIT` or `ROLLBACK`, or a statement (a
    /// DDL, committed on its own unless inside a transaction).
    async fn query(
        &mut self,
        q: &QueryEvent<'_>,
        h: &BinlogEventHeader,
        start: u64,
        end: u64,
    ) -> Result<Step, BinlogError> {
        let sql = q.query();
        let head = sql.trim_start();
        let word = head.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match word.as_str() {
            "BEGIN" | "XA" if !head.to_ascii_uppercase().starts_with("XA END") => {
                if self.txn.is_none() {
                    self.begin(start, None, None, false);
                }
                if let Some(t) = self.txn.as_mut() {
                    t.thread = Some(q.thread_id() as i64);
                }
                Ok(Step::Count(false))
            }
            "COMMIT" => {
                self.commit(end);
                Ok(Step::Now(true))
            }
            "ROLLBACK" => {
                self.txn = None;
                self.pos = end;
                Ok(Step::Now(true))
            }
            _ => {
                let ddl = matches!(word.as_str(), "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE");
                if ddl {
                    debug!(schema = %q.schema(), ddl = %sql, "DDL");
                    self.defs.clear();
                }
                if !self.txn.as_ref().is_none_or(|t| t.standalone) {
                    return Ok(Step::Count(false));
                }
                let gtid = self.txn.as_ref().and_then(|t| t.gtid.map(|g| g.to_string()));
                let thread = q.thread_id() as i64;
                self.commit(end);
                if word == "TRUNCATE" {
                    self.truncate(&q.schema(), &sql, h, start, gtid.clone(), thread).await?;
                }
                if ddl {
                    let (schema, sql) = (q.schema().into_owned(), sql.into_owned());
                    self.schema_change(&schema, &sql, h, start, gtid, thread).await?;
                }
                Ok(Step::Now(true))
            }
        }
    }

    /// A truncate record for `TRUNCATE TABLE` on a captured table (after its commit), on the
    /// table's topic with its current envelope schema.
    async fn truncate(
        &mut self,
        default_db: &str,
        ddl: &str,
        h: &mysql_async::binlog::events::BinlogEventHeader,
        start: u64,
        gtid: Option<String>,
        thread: i64,
    ) -> Result<(), BinlogError> {
        if self.c.skip_truncates {
            return Ok(());
        }
        let Some((db, table)) = crate::schema_change::truncated_table(ddl, default_db) else { return Ok(()) };
        if !self.c.filters.table(&db, &table) {
            return Ok(());
        }
        let schemas = match self.schemas.get(&(db.clone(), table.clone())) {
            Some(s) => s.clone(),
            None => {
                let Some(def) = self.read_catalogue(&db, &table).await? else { return Ok(()) };
                self.table_schemas(def)
            }
        };
        let offset = self.committed_offset(h.timestamp() as i64, h.server_id());
        let source = self.statement_source(&db, &table, h, start, gtid, thread);
        self.batch.push(self.events.truncate(&schemas, source, offset));
        Ok(())
    }

    /// The `source` block of a statement (DDL, TRUNCATE) on `db.table`, after its commit.
    fn statement_source(
        &self,
        db: &str,
        table: &str,
        h: &mysql_async::binlog::events::BinlogEventHeader,
        start: u64,
        gtid: Option<String>,
        thread: i64,
    ) -> runtime::data::Struct {
        self.events.source.build(&SourceInfo {
            ts_ms: h.timestamp() as i64 * 1000,
            snapshot: None,
            db,
            table,
            server_id: h.server_id(),
            gtid: gtid.as_deref(),
            file: &self.file,
            pos: start,
            row: 0,
            thread: Some(thread),
        })
    }

    /// The schemas of a structure, shared with earlier records of the same structure.
    fn table_schemas(&mut self, def: TableDef) -> Arc<TableSchemas> {
        let key = (def.db.clone(), def.table.clone());
        match self.schemas.get(&key) {
            Some(s) if s.def == def => s.clone(),
            _ => {
                let s = Arc::new(TableSchemas::new(def, &self.c.topic_prefix, &self.events.source.schema, &self.modes));
                self.schemas.insert(key, s.clone());
                s
            }
        }
    }

    /// A schema change record for a DDL statement on captured tables (after its commit).
    async fn schema_change(
        &mut self,
        default_db: &str,
        ddl: &str,
        h: &mysql_async::binlog::events::BinlogEventHeader,
        start: u64,
        gtid: Option<String>,
        thread: i64,
    ) -> Result<(), BinlogError> {
        if self.events.schema_changes.is_none() {
            return Ok(());
        }
        let tables: Vec<_> = crate::schema_change::affected_tables(ddl, default_db)
            .into_iter()
            .filter(|(_, db, t)| self.c.filters.table(db, t))
            .collect();
        let Some((_, db, first)) = tables.first().cloned() else { return Ok(()) };
        let mut changes = Vec::with_capacity(tables.len());
        for (kind, db, table) in tables {
            let info = if kind == "DROP" { None } else { self.read_info(&db, &table).await? };
            changes.push(crate::schema_change::TableChange { kind, db, table, info });
        }
        let ts_sec = h.timestamp() as i64;
        let offset = self.committed_offset(ts_sec, h.server_id());
        let source = self.statement_source(&db, &first, h, start, gtid, thread);
        let sc = self.events.schema_changes.as_ref().expect("checked above");
        let record = sc.record(&db, ddl, &changes, source, ts_sec * 1000, offset);
        self.batch.push(record);
        Ok(())
    }

    async fn read_info(
        &mut self,
        db: &str,
        table: &str,
    ) -> Result<Option<crate::schema_change::TableInfo>, BinlogError> {
        if self.catalogue.is_none() {
            self.catalogue = Some(crate::server::connect(self.c).await?);
        }
        let conn = self.catalogue.as_mut().expect("connected above");
        crate::schema_change::read_info(conn, db, table).await
    }

    fn maybe_heartbeat(&mut self, ts_sec: i64, server_id: u32) -> bool {
        if self.c.heartbeat_interval.is_zero()
            || self.txn.is_some()
            || self.last_heartbeat.elapsed() < self.c.heartbeat_interval
        {
            return false;
        }
        self.last_heartbeat = Instant::now();
        let offset = self.committed_offset(ts_sec, server_id);
        self.batch.push(self.events.heartbeat(offset));
        true
    }

    async fn table_map(
        &mut self,
        id: u64,
        tme: &mysql_async::binlog::events::TableMapEvent<'_>,
    ) -> Result<(), BinlogError> {
        let map = TableMap::from_event(tme).map_err(|message| BinlogError::Decode {
            event: "TABLE_MAP",
            file: self.file.clone(),
            pos: self.pos,
            message,
        })?;
        if let Some(m) = self.maps.get(&id) {
            if m.map.db == map.db && m.map.table == map.table && m.map.plans == map.plans && m.map.names == map.names {
                return Ok(());
            }
        }
        let def = self.resolve(&map).await?;
        let schemas = self.table_schemas(def);
        self.maps.insert(id, Mapped { map, schemas });
        Ok(())
    }

    /// The known structure (snapshot, schema history, catalogue read since the last DDL) or
    /// the catalogue's when it describes the same columns as the TABLE_MAP, else the TABLE_MAP's
    /// own (the catalogue is ahead of this binlog position). A new structure goes into the
    /// schema history, from the current transaction's start on.
    async fn resolve(&mut self, map: &TableMap) -> Result<TableDef, BinlogError> {
        let key = (map.db.clone(), map.table.clone());
        if let Some(d) = self.defs.get(&key) {
            if matches(d, map) {
                return Ok(d.clone());
            }
        }
        let def = self.read_structure(map).await?;
        let at = FilePos { file: self.file.clone(), pos: self.pos };
        self.history.record(&at, &def).await?;
        self.defs.insert(key, def.clone());
        Ok(def)
    }

    async fn read_structure(&mut self, map: &TableMap) -> Result<TableDef, BinlogError> {
        let fresh = self.read_catalogue(&map.db, &map.table).await?;
        if let Some(d) = &fresh {
            if matches(d, map) {
                return Ok(d.clone());
            }
        }
        let mut def = map.fallback.clone().map_err(|message| BinlogError::Unsupported {
            table: format!("{}.{}", map.db, map.table),
            column: String::new(),
            message,
        })?;
        for col in &mut def.columns {
            col.captured = self.c.filters.column(&def.db, &def.table, &col.name);
            // a column the catalogue still has with a compatible type keeps its kind and default
            let now = fresh.as_ref().and_then(|d| d.columns.iter().find(|c| c.name == col.name));
            if let Some(now) = now.filter(|now| compatible(&col.kind, &now.kind)) {
                col.kind = now.kind.clone();
                col.default = now.default.clone();
            }
        }
        let def = def.keyed(&self.c.filters);
        if self.warned_fallback.insert(def.id()) {
            warn!(table = %def.id(), "the catalogue no longer matches this table's binlog events (a later DDL): using the binlog's own column types (no defaults; JSON, UUID and INET6 read as text/bytes) until it matches again");
        }
        Ok(def)
    }

    async fn read_catalogue(&mut self, db: &str, table: &str) -> Result<Option<TableDef>, BinlogError> {
        for attempt in 0..2 {
            if self.catalogue.is_none() {
                self.catalogue = Some(crate::server::connect(self.c).await?);
            }
            let conn = self.catalogue.as_mut().expect("connected above");
            match catalogue::read_table(conn, db, table, &self.c.filters, &self.modes).await {
                Ok(d) => return Ok(d),
                Err(e) if e.is_retriable() && attempt == 0 => self.catalogue = None,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn rows(
        &mut self,
        ev: &mysql_async::binlog::events::RowsEventData<'_>,
        h: &mysql_async::binlog::events::BinlogEventHeader,
    ) -> Result<(), BinlogError> {
        let Some(mapped) = self.maps.get(&ev.table_id()) else { return Ok(()) };
        let schemas = mapped.schemas.clone();
        let event_start = (h.log_pos() as u64).saturating_sub(h.event_size() as u64);
        let (txn_start, event_index, gtid, thread) = match &self.txn {
            Some(t) => (t.start, t.events, t.gtid.map(|g| g.to_string()).or_else(|| t.gtid_text.clone()), t.thread),
            None => (event_start, 0, None, None),
        };
        let skip_rows = match self.skip {
            Some((events, _)) if event_index < events => u64::MAX,
            Some((events, rows)) if event_index == events => rows,
            _ => 0,
        };
        if skip_rows == u64::MAX {
            return Ok(());
        }
        let gtids = (!self.gtids.is_empty()).then(|| self.gtids.to_string());
        let ts_sec = h.timestamp() as i64;
        let mut index = 0u64;
        let file = self.file.clone();
        let events = &mut *self.events;
        let batch = &mut self.batch;
        let result = rows::decode(ev, &mapped.map, &schemas.def, &self.modes, |change| {
            index += 1;
            if index <= skip_rows {
                return true;
            }
            let info = SourceInfo {
                ts_ms: ts_sec * 1000,
                snapshot: None,
                db: &schemas.def.db,
                table: &schemas.def.table,
                server_id: h.server_id(),
                gtid: gtid.as_deref(),
                file: &file,
                pos: event_start,
                row: (index - 1) as i32,
                thread,
            };
            let offset = BinlogOffset {
                ts_sec: Some(ts_sec),
                file: file.clone(),
                pos: txn_start,
                gtids: gtids.clone(),
                row: index,
                server_id: Some(h.server_id() as u64),
                event: event_index,
                snapshot: None,
                snapshot_completed: None,
            };
            match change {
                Change::Insert(after) => events.insert(&schemas, after, &info, offset, batch),
                Change::Delete(before) => events.delete(&schemas, before, &info, offset, batch),
                Change::Update(before, after) => events.update(&schemas, before, after, &info, offset, batch),
            }
            true
        });
        result.map_err(|e| BinlogError::Value {
            table: schemas.def.id(),
            column: e.column,
            file: self.file.clone(),
            pos: event_start,
            message: e.message,
        })?;
        Ok(())
    }
}

/// Same column names in the same order, and compatible kinds.
fn matches(d: &TableDef, map: &TableMap) -> bool {
    let Ok(fallback) = &map.fallback else { return d.columns.len() == map.plans.len() };
    d.columns.len() == fallback.columns.len()
        && d.columns.iter().zip(&fallback.columns).all(|(c, f)| c.name == f.name && compatible(&f.kind, &c.kind))
}

/// Whether the catalogue's kind can read what the binlog column type holds.
fn compatible(binlog: &Kind, catalogue: &Kind) -> bool {
    let texty = |k: &Kind| matches!(k, Kind::Text { .. } | Kind::Binary { .. } | Kind::Json | Kind::Uuid | Kind::Inet6);
    match (binlog, catalogue) {
        (Kind::Text { .. } | Kind::Binary { .. }, c) => texty(c),
        (Kind::Json, c) => texty(c),
        (b, c) => discriminant(b) == discriminant(c) && (b == c || matches!(b, Kind::Enum(_) | Kind::Set(_))),
    }
}
