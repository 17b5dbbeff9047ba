//! One querier per table (or the one query): it runs the mode's statement every
//! `poll.interval.ms` (counted from the end of the previous query), streams the rows, and sends
//! records with their offsets to the task's buffer (jdbc-source.md §3–§5).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use runtime::retry::Backoff;
use runtime::{SourceRecord, TaskError};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::config::Mode;
use crate::connection::{is_transient, Pool};
use crate::error::JdbcError;
use crate::position::{Instant, JdbcOffset, JdbcPartition};
use crate::query::{Bind, Statement};
use crate::row::{instant_to_local, Decoded, Layout, LayoutSpec};

pub type Record = SourceRecord<JdbcPartition, Option<JdbcOffset>>;
pub type Sender = mpsc::Sender<Result<Vec<Record>, TaskError>>;

/// Everything a querier needs, resolved at task start.
pub struct Querier {
    pub label: String,
    /// `query.masked`: the statement is not logged.
    pub masked: bool,
    pub pool: Pool,
    pub mode: Mode,
    pub statement: Statement,
    pub spec: LayoutSpec,
    pub partition: JdbcPartition,
    pub topic: Arc<str>,
    /// Where the next query starts (the last row sent).
    pub offset: JdbcOffset,
    /// Bind the time bounds as instants (zone-aware column) or wall-clock in `db.timezone`.
    pub bind_instants: bool,
    pub delay: Duration,
    pub poll_interval: Duration,
    pub retry_attempts: i64,
    /// `errors.tolerance=all`: a row with a value that cannot be represented is skipped.
    pub tolerate_bad_rows: bool,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
enum BindValue {
    Int(i64),
    Time(DateTime<Utc>),
}

impl Querier {
    /// Runs until the task stops (the task aborts it) or a fatal error, which it sends.
    pub async fn run(mut self, tx: Sender) {
        while self.query_once(&tx).await.is_ok() {
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    fn binds(&self, end: Option<DateTime<Utc>>) -> Vec<BindValue> {
        let last_ts = {
            let t = self.offset.timestamp_or_epoch();
            DateTime::<Utc>::from_timestamp(t.seconds, t.nanos).unwrap_or_default()
        };
        self.statement
            .binds
            .iter()
            .map(|b| match b {
                Bind::EndBound => BindValue::Time(end.unwrap_or_default()),
                Bind::LastTimestamp => BindValue::Time(last_ts),
                Bind::LastIncrementing => BindValue::Int(self.offset.incrementing_or_default()),
            })
            .collect()
    }

    /// One execution with its retries; `Err(Stop)` when the task must stop (fatal error sent,
    /// or the task is gone).
    async fn query_once(&mut self, tx: &Sender) -> Result<(), Stop> {
        let mut backoff = Backoff::reconnect();
        loop {
            match self.execute(tx).await {
                Ok(rows) => {
                    debug!(table = %self.label, rows, "query done");
                    if let Some((attempts, down)) = backoff.succeed() {
                        info!(table = %self.label, attempts, after_s = down.as_secs(), "the query runs again");
                    }
                    return Ok(());
                }
                Err(Failure::Stop) => return Err(Stop),
                Err(Failure::Sql(e)) if missing_table(&e) => {
                    warn!(table = %self.label, error = %e, "the table is gone; waiting for the table monitor to notice");
                    return Ok(());
                }
                Err(Failure::Sql(e))
                    if is_transient(&e)
                        && (self.retry_attempts < 0 || i64::from(backoff.attempts()) < self.retry_attempts) =>
                {
                    let wait = backoff.fail();
                    if backoff.should_log() {
                        warn!(table = %self.label, attempt = backoff.attempts(), failing_for_s = backoff.failing_for().as_secs(), retry_in_ms = wait.as_millis() as u64, error = %e, "waiting for the database; the query resumes from the last row sent");
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(Failure::Sql(e)) => {
                    let error = JdbcError::Query { table: self.label.clone(), source: e };
                    let _ = tx.send(Err(TaskError::fatal(error))).await;
                    return Err(Stop);
                }
            }
        }
    }

    async fn execute(&mut self, tx: &Sender) -> Result<u64, Failure> {
        let needs_end = self.statement.binds.contains(&Bind::EndBound);
        let end = if needs_end {
            let now = self.pool.now().await.map_err(Failure::Sql)?;
            Some(now - chrono::Duration::from_std(self.delay).unwrap_or_default())
        } else {
            None
        };
        let binds = self.binds(end);
        let shown = if self.masked { "<masked>" } else { self.statement.sql.as_str() };
        debug!(table = %self.label, sql = %shown, binds = ?binds, "query");
        let mut emitter = Emitter::new(self);
        let zone = self.spec.zone;
        let local = !self.bind_instants;
        let sql = self.statement.sql.as_str();
        match &self.pool {
            Pool::MySql(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = match *b {
                        BindValue::Int(v) => q.bind(v),
                        BindValue::Time(t) if local => q.bind(instant_to_local(t, zone)),
                        BindValue::Time(t) => q.bind(t.naive_utc()),
                    };
                }
                let mut rows = q.fetch(p);
                let mut layout: Option<Layout> = None;
                while let Some(row) = rows.try_next().await.map_err(Failure::Sql)? {
                    let l = match &layout {
                        Some(l) if l.matches(&row) => l,
                        _ => layout.insert(Layout::for_mysql(&self.spec, &row)),
                    };
                    emitter.row(self, l.decode_mysql(&row), tx).await?;
                }
            }
            Pool::Postgres(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = match *b {
                        BindValue::Int(v) => q.bind(v),
                        BindValue::Time(t) if local => q.bind(instant_to_local(t, zone)),
                        BindValue::Time(t) => q.bind(t),
                    };
                }
                let mut rows = q.fetch(p);
                let mut layout: Option<Layout> = None;
                while let Some(row) = rows.try_next().await.map_err(Failure::Sql)? {
                    let l = match &layout {
                        Some(l) if l.matches(&row) => l,
                        _ => layout.insert(Layout::for_postgres(&self.spec, &row)),
                    };
                    emitter.row(self, l.decode_postgres(&row), tx).await?;
                }
            }
        }
        emitter.finish(self, tx).await
    }

    fn record(&self, value: runtime::data::Value, schema: runtime::data::Schema, offset: Option<JdbcOffset>) -> Record {
        SourceRecord::new(self.partition.clone(), offset, self.topic.clone(), Some(schema), value)
    }
}

struct Stop;

enum Failure {
    Sql(sqlx::Error),
    Stop,
}

fn missing_table(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("1146") | Some("42P01")))
}

/// Records go to the task in chunks of at most this many (one channel hand-off per chunk)…
const CHUNK: usize = 256;
/// …or after this long, so a slow result set still flows.
const CHUNK_AGE: std::time::Duration = std::time::Duration::from_millis(50);

/// Turns decoded rows into records with the mode's offsets, sent in chunks. In `timestamp` mode
/// it holds one row back: a row's offset advances to its own timestamp only when the next row's
/// is later (or there is no next row), so a restart never skips rows sharing the committed
/// timestamp (the rule of [`crate::position::timestamp_offsets`]). The querier's own position
/// moves only when a chunk is handed over: after an error it re-reads what was not.
struct Emitter {
    held: Option<(Record, Instant)>,
    committable: Instant,
    rows: u64,
    chunk: Vec<Record>,
    chunk_started: Option<std::time::Instant>,
    /// Where the querier stands once the chunk is handed over.
    chunk_offset: Option<JdbcOffset>,
}

impl Emitter {
    fn new(q: &Querier) -> Emitter {
        Emitter {
            held: None,
            committable: q.offset.timestamp_or_epoch(),
            rows: 0,
            chunk: Vec::with_capacity(CHUNK),
            chunk_started: None,
            chunk_offset: None,
        }
    }

    async fn push(
        &mut self,
        q: &mut Querier,
        tx: &Sender,
        r: Record,
        resume: Option<JdbcOffset>,
    ) -> Result<(), Failure> {
        self.chunk.push(r);
        if resume.is_some() {
            self.chunk_offset = resume;
        }
        let started = *self.chunk_started.get_or_insert_with(std::time::Instant::now);
        // the clock is read every 16 records, not per record
        if self.chunk.len() >= CHUNK || (self.chunk.len().is_multiple_of(16) && started.elapsed() >= CHUNK_AGE) {
            self.flush(q, tx).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, q: &mut Querier, tx: &Sender) -> Result<(), Failure> {
        self.chunk_started = None;
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        tx.send(Ok(chunk)).await.map_err(|_| Failure::Stop)?;
        if let Some(o) = self.chunk_offset.take() {
            q.offset = o;
        }
        Ok(())
    }

    /// Sends what came before, then the error; the querier stops.
    async fn fail(&mut self, q: &mut Querier, tx: &Sender, e: JdbcError) -> Failure {
        if self.flush(q, tx).await.is_ok() {
            let _ = tx.send(Err(TaskError::fatal(e))).await;
        }
        Failure::Stop
    }

    async fn row(
        &mut self,
        q: &mut Querier,
        decoded: Result<Decoded, crate::row::BadValue>,
        tx: &Sender,
    ) -> Result<(), Failure> {
        self.rows += 1;
        let d = match decoded {
            Ok(d) => d,
            Err(bad) => {
                let e = JdbcError::Value { table: q.label.clone(), column: bad.column, message: bad.message };
                if q.tolerate_bad_rows {
                    warn!(error = %e, "row skipped (errors.tolerance=all)");
                    return Ok(());
                }
                return Err(self.fail(q, tx, e).await);
            }
        };
        let runtime::data::Value::Struct(s) = &d.value else { unreachable!("rows decode to structs") };
        let schema = s.schema.clone();
        match &q.mode {
            Mode::Bulk => {
                let r = q.record(d.value, schema, None);
                self.push(q, tx, r, None).await
            }
            Mode::Incrementing { column } | Mode::TimestampIncrementing { incrementing: column, .. } => {
                let Some(id) = d.incrementing else {
                    let e = JdbcError::NullIncrementing { table: q.label.clone(), column: column.clone() };
                    return Err(self.fail(q, tx, e).await);
                };
                let ts = match q.mode {
                    Mode::TimestampIncrementing { .. } => d.timestamp,
                    _ => None,
                };
                let offset = JdbcOffset::new(ts, Some(id));
                let r = q.record(d.value, schema, Some(offset));
                self.push(q, tx, r, Some(offset)).await
            }
            Mode::Timestamp { .. } => {
                let ts = d.timestamp.unwrap_or(self.committable);
                let record = q.record(d.value, schema, None);
                if let Some((mut prev, prev_ts)) = self.held.take() {
                    if ts > prev_ts {
                        self.committable = prev_ts;
                    }
                    let offset = JdbcOffset::new(Some(self.committable), None);
                    prev.offset = Some(offset);
                    // a retry after an error restarts at the committable timestamp: rows after
                    // it may be sent again, none is skipped
                    self.push(q, tx, prev, Some(offset)).await?;
                }
                self.held = Some((record, ts));
                Ok(())
            }
        }
    }

    async fn finish(mut self, q: &mut Querier, tx: &Sender) -> Result<u64, Failure> {
        if let Some((mut last, ts)) = self.held.take() {
            // the result is complete: every row with this timestamp before the end bound is read
            let offset = JdbcOffset::new(Some(ts), None);
            last.offset = Some(offset);
            self.chunk.push(last);
            self.chunk_offset = Some(offset);
        }
        self.flush(q, tx).await?;
        Ok(self.rows)
    }
}
