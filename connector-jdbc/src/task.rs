//! `JdbcSourceTask`: one querier per assigned table (or the one query), polled concurrently on a
//! small pool, their records merged into a bounded buffer that `poll` drains up to
//! `batch.max.rows` at a time.

use std::sync::Arc;
use std::time::Duration;

use runtime::connector::PollResult;
use runtime::{OffsetReader, SourceTask, TaskError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn, Instrument};

use crate::config::{JdbcSourceConfig, Mode, ModeKind};
use crate::connection::{check_clock, Pool};
use crate::dialect::TableId;
use crate::error::JdbcError;
use crate::position::{Instant, JdbcOffset, JdbcPartition};
use crate::querier::{Querier, Record};
use crate::query::{self, Names, Source};
use crate::row::LayoutSpec;
use crate::schema::{self, ColumnMeta};

/// At most this many queries of one task run at once.
const MAX_CONNECTIONS: usize = 4;

pub struct JdbcSourceTask {
    config: Arc<JdbcSourceConfig>,
    tables: Vec<TableId>,
    task_id: usize,
    tolerate_bad_rows: bool,
    pool: Option<Pool>,
    rx: Option<mpsc::Receiver<Result<Vec<Record>, TaskError>>>,
    /// Records received and not yet returned by `poll` (chunks may exceed `batch.max.rows`).
    ready: std::collections::VecDeque<Record>,
    readers: Vec<JoinHandle<()>>,
    pending_error: Option<TaskError>,
}

/// The column named in the config, matched exactly, else case-insensitively when only one
/// column matches (jdbc-source.md §8.12).
fn resolve(meta: &[ColumnMeta], table: &TableId, name: &str, key: &'static str) -> Result<ColumnMeta, JdbcError> {
    if let Some(c) = meta.iter().find(|c| c.name == name) {
        return Ok(c.clone());
    }
    let similar: Vec<&ColumnMeta> = meta.iter().filter(|c| c.name.eq_ignore_ascii_case(name)).collect();
    match similar.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(JdbcError::MissingColumn {
            table: table.to_string(),
            column: name.to_owned(),
            key,
            found: meta.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
        }),
        many => Err(JdbcError::AmbiguousColumn {
            table: table.to_string(),
            column: name.to_owned(),
            candidates: many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// The reference starts incrementing reads at `> -1`: rows with lower ids are never read. Said
/// once at start when the table has some (jdbc-source.md §8.8).
async fn warn_negative_ids(pool: &Pool, names: Names, t: &TableId, column: &str) {
    let sql = format!("SELECT MIN({}) < -1 FROM {}", names.column_of(t, column), names.table(t));
    let below = match pool {
        Pool::MySql(p) => sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .ok()
            .flatten()
            .map(|v| v != 0),
        Pool::Postgres(p) => {
            sqlx::query_scalar::<_, Option<bool>>(sqlx::AssertSqlSafe(sql)).fetch_one(p).await.ok().flatten()
        }
    };
    if below == Some(true) {
        warn!(table = %t, column, "the incrementing column has values below -1: those rows are never read (reading starts after -1, as Confluent's connector); set an offset with `sluice offsets set` to start lower");
    }
}

impl JdbcSourceTask {
    pub fn new(config: Arc<JdbcSourceConfig>, tables: Vec<TableId>, task_id: usize, tolerate_bad_rows: bool) -> Self {
        JdbcSourceTask {
            config,
            tables,
            task_id,
            tolerate_bad_rows,
            pool: None,
            rx: None,
            readers: Vec::new(),
            ready: Default::default(),
            pending_error: None,
        }
    }

    fn is_query_mode(&self) -> bool {
        self.config.query.is_some()
    }

    /// The stored offset: protocol v1 first, then the legacy `{"table": name}`, then
    /// `timestamp.initial`.
    async fn stored_offset(
        &self,
        pool: &Pool,
        partitions: &[JdbcPartition],
        offsets: &impl OffsetReader,
    ) -> Result<JdbcOffset, TaskError> {
        for p in partitions {
            if let Some(o) = offsets.offset::<JdbcPartition, JdbcOffset>(p).map_err(TaskError::fatal)? {
                info!(partition = ?p, offset = ?o, "resuming from the stored offset");
                return Ok(o);
            }
        }
        Ok(match self.config.timestamp_initial {
            Some(-1) => {
                let now = pool.now().await.map_err(|e| JdbcError::Query { table: "now()".into(), source: e })?;
                JdbcOffset::new(Some(Instant { seconds: now.timestamp(), nanos: now.timestamp_subsec_nanos() }), None)
            }
            Some(ms) => JdbcOffset { timestamp: Some(ms), ..JdbcOffset::default() },
            None => JdbcOffset::default(),
        })
    }

    async fn table_querier(&self, pool: &Pool, t: &TableId, offsets: &impl OffsetReader) -> Result<Querier, TaskError> {
        let c = &self.config;
        let dialect = c.connection.dialect;
        let meta = schema::columns(pool, t).await.map_err(|e| JdbcError::Query { table: t.to_string(), source: e })?;
        if meta.is_empty() {
            return Err(JdbcError::MissingTable { table: t.to_string() }.into());
        }
        let incrementing = match (c.mode, &c.incrementing_column) {
            (ModeKind::Incrementing | ModeKind::TimestampIncrementing, Some(name)) => {
                Some(resolve(&meta, t, name, "incrementing.column.name")?)
            }
            (ModeKind::Incrementing | ModeKind::TimestampIncrementing, None) => Some(
                meta.iter()
                    .find(|m| m.auto_increment)
                    .cloned()
                    .ok_or_else(|| JdbcError::NoIncrementing { table: t.to_string() })?,
            ),
            _ => None,
        };
        let timestamps: Vec<ColumnMeta> = match c.mode {
            ModeKind::Timestamp | ModeKind::TimestampIncrementing => c
                .timestamp_columns
                .iter()
                .map(|n| resolve(&meta, t, n, "timestamp.column.name"))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        if c.validate_non_null {
            if let Some(m) = incrementing.as_ref().filter(|m| m.nullable) {
                let e = JdbcError::Nullable { table: t.to_string(), column: m.name.clone(), key: "incrementing" };
                return Err(e.into());
            }
            if let Some(m) = timestamps.iter().find(|m| m.nullable) {
                let e = JdbcError::Nullable { table: t.to_string(), column: m.name.clone(), key: "timestamp" };
                return Err(e.into());
            }
        }
        let ts_names: Vec<String> = timestamps.iter().map(|m| m.name.clone()).collect();
        let inc_name = incrementing.as_ref().map(|m| m.name.clone());
        let mode = c.mode(inc_name.as_deref()).expect("the incrementing column is resolved");
        let mode = match mode {
            Mode::Timestamp { .. } => Mode::Timestamp { columns: ts_names.clone() },
            Mode::TimestampIncrementing { incrementing, .. } => {
                Mode::TimestampIncrementing { timestamp: ts_names.clone(), incrementing }
            }
            m => m,
        };
        let bind_instants = timestamps.first().is_some_and(|m| {
            let kind = match dialect {
                crate::dialect::Dialect::MySql => schema::mysql_kind(m),
                crate::dialect::Dialect::Postgres => schema::postgres_kind(m, c.numeric_mapping),
            };
            kind.is_some_and(|k| k.is_instant())
        });
        let names = Names { dialect, quote: c.quote_identifiers };
        let statement = query::build(names, &Source::Table(t.clone()), &mode, c.query_suffix.as_deref());
        let legacy = JdbcPartition::Legacy { table: t.table.clone() };
        let (partition, offset) = if mode == Mode::Bulk {
            (legacy, JdbcOffset::default())
        } else {
            let v1 = JdbcPartition::table(t.to_string());
            let offset = self.stored_offset(pool, &[v1.clone(), legacy], offsets).await?;
            (v1, offset)
        };
        if let (Some(inc), None) = (&inc_name, offset.incrementing) {
            warn_negative_ids(pool, names, t, inc).await;
        }
        info!(table = %t, mode = ?mode, sql = %statement.sql, "querier ready");
        Ok(Querier {
            label: t.to_string(),
            masked: false,
            pool: pool.clone(),
            spec: LayoutSpec {
                schema_name: Some(t.table.clone()),
                meta: Some(Arc::new(meta)),
                timestamp_columns: ts_names,
                incrementing_column: inc_name,
                numeric_mapping: c.numeric_mapping,
                unsigned_mapping: c.unsigned_mapping,
                zone: c.db_timezone,
                granularity: c.timestamp_granularity,
                mysql: dialect == crate::dialect::Dialect::MySql,
            },
            mode,
            statement,
            partition,
            topic: format!("{}{}", c.topic_prefix, t.table).into(),
            offset,
            bind_instants,
            delay: c.timestamp_delay,
            poll_interval: c.poll_interval,
            retry_attempts: c.query_retry_attempts,
            tolerate_bad_rows: self.tolerate_bad_rows,
        })
    }

    async fn query_querier(&self, pool: &Pool, sql: &str, offsets: &impl OffsetReader) -> Result<Querier, TaskError> {
        let c = &self.config;
        let mode = c.mode(None).ok_or_else(|| {
            TaskError::fatal("query mode with an incrementing mode needs incrementing.column.name (no table to find the auto-increment column in)")
        })?;
        let names = Names { dialect: c.connection.dialect, quote: c.quote_identifiers };
        let statement = query::build(names, &Source::Query(sql.to_owned()), &mode, c.query_suffix.as_deref());
        let shown = if c.query_masked { "<masked: query.masked=true>" } else { statement.sql.as_str() };
        info!(mode = ?mode, sql = %shown, "querier ready");
        let partition = JdbcPartition::query();
        let offset = match mode {
            Mode::Bulk => JdbcOffset::default(),
            _ => self.stored_offset(pool, std::slice::from_ref(&partition), offsets).await?,
        };
        let (timestamp_columns, incrementing_column) = match &mode {
            Mode::Bulk => (vec![], None),
            Mode::Incrementing { column } => (vec![], Some(column.clone())),
            Mode::Timestamp { columns } => (columns.clone(), None),
            Mode::TimestampIncrementing { timestamp, incrementing } => (timestamp.clone(), Some(incrementing.clone())),
        };
        Ok(Querier {
            label: "query".into(),
            masked: c.query_masked,
            pool: pool.clone(),
            spec: LayoutSpec {
                schema_name: None,
                meta: None,
                timestamp_columns,
                incrementing_column,
                numeric_mapping: c.numeric_mapping,
                unsigned_mapping: c.unsigned_mapping,
                zone: c.db_timezone,
                granularity: c.timestamp_granularity,
                mysql: c.connection.dialect == crate::dialect::Dialect::MySql,
            },
            mode,
            statement,
            partition,
            topic: c.topic_prefix.clone().into(),
            offset,
            bind_instants: false,
            delay: c.timestamp_delay,
            poll_interval: c.poll_interval,
            retry_attempts: c.query_retry_attempts,
            tolerate_bad_rows: self.tolerate_bad_rows,
        })
    }
}

impl SourceTask for JdbcSourceTask {
    type Partition = JdbcPartition;
    type Offset = Option<JdbcOffset>;

    async fn start(&mut self, offsets: &impl OffsetReader) -> Result<(), TaskError> {
        let units = if self.is_query_mode() { 1 } else { self.tables.len() };
        if units == 0 {
            info!("no table assigned: idle until the table monitor finds one");
            return Ok(());
        }
        let c = self.config.clone();
        let size = units.min(MAX_CONNECTIONS) as u32;
        let pool = Pool::open(&c.connection, size, c.attempts, c.backoff).await?;
        if self.task_id == 0 {
            check_clock(&pool).await;
        }
        let mut queriers = Vec::new();
        if let Some(sql) = &c.query {
            queriers.push(self.query_querier(&pool, sql, offsets).await?);
        } else {
            for t in &self.tables {
                queriers.push(self.table_querier(&pool, t, offsets).await?);
            }
        }
        // chunks of up to 256 records: about 1,000 records waiting per task (the producer's queue
        // holds the rest; more only adds memory)
        let (tx, rx) = mpsc::channel(4);
        self.readers = queriers
            .into_iter()
            .map(|q| tokio::spawn(q.run(tx.clone()).instrument(tracing::Span::current())))
            .collect();
        self.rx = Some(rx);
        self.pool = Some(pool);
        Ok(())
    }

    async fn poll(&mut self) -> PollResult<JdbcPartition, Option<JdbcOffset>> {
        let max = self.config.batch_max_rows;
        if self.ready.is_empty() {
            if let Some(e) = self.pending_error.take() {
                return Err(e);
            }
            let Some(rx) = self.rx.as_mut() else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                return Ok(Vec::new());
            };
            match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                Err(_) => return Ok(Vec::new()),
                Ok(None) => return Err(TaskError::fatal("every querier stopped")),
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(chunk))) => self.ready.extend(chunk),
            }
        }
        // top up from chunks already waiting, up to batch.max.rows
        while self.ready.len() < max && self.pending_error.is_none() {
            match self.rx.as_mut().map(|rx| rx.try_recv()) {
                Some(Ok(Ok(chunk))) => self.ready.extend(chunk),
                Some(Ok(Err(e))) => self.pending_error = Some(e),
                _ => break,
            }
        }
        let n = self.ready.len().min(max);
        let batch: Vec<Record> = self.ready.drain(..n).collect();
        debug!(records = batch.len(), "poll");
        Ok(batch)
    }

    async fn stop(&mut self) {
        for r in self.readers.drain(..) {
            r.abort();
        }
        self.rx = None;
        if let Some(p) = self.pool.take() {
            p.close().await;
        }
    }
}
