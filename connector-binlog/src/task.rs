//! `BinlogSourceTask`: the one task of a binlog connector. `start` checks the server and
//! decides between snapshot and streaming from the stored offset; a reader task then snapshots
//! and/or streams into a bounded queue that `poll` drains in batches of up to `max.batch.size`:
//! chunks of 256 records, half a batch deep (within `max.queue.size`), and at most
//! `max.queue.size.in.bytes` when set. A full queue stops reading the binlog, so memory stays
//! bounded whatever the transaction size.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use runtime::connector::PollResult;
use runtime::{OffsetReader, SourceTask, TaskError};
use std::sync::atomic::{AtomicUsize, Ordering};

use runtime::retry::Backoff;
use runtime::state_log::StateLog;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::{info, warn, Instrument};

use crate::column::Modes;
use crate::config::{BinlogConfig, SnapshotMode};
use crate::error::BinlogError;
use crate::event::{approx_size, Events, Record};
use crate::history::SchemaHistory;
use crate::position::{BinlogOffset, BinlogPartition, FilePos, GtidSet, ResumePoint};
use crate::replication::Replication;
use crate::schema::TableDef;
use crate::server;
use crate::snapshot::{self, Sink};

/// Records per queued chunk: the memory bound applies at this granularity, and the binlog
/// reader hands over this many records at a time inside a large transaction.
pub const CHUNK: usize = 256;

/// A batch of records with their approximate size.
type Batch = Result<(Vec<Record>, usize), TaskError>;

/// The queue's memory bound (`max.queue.size.in.bytes`): the reader waits while the queued
/// chunks hold more than `limit` bytes (one chunk always passes). Without a limit no record is
/// sized.
struct Budget {
    used: AtomicUsize,
    limit: Option<usize>,
    freed: Notify,
    /// The emptied chunk buffers, back from `poll` to the reader.
    spares: Spares,
}

/// Emptied chunk buffers on their way back from `poll` to the reader, so a chunk's ~100 KB are
/// filled again rather than freed on one thread and allocated on another (mimalloc gives such
/// memory back to the OS at once and faults it in again). A buffer grown past two chunks (a
/// snapshot's `max.batch.size` batch) is freed instead, so the pool holds at most ~1.7 MB
/// (8 buffers of 512 records of 424 bytes).
#[derive(Default)]
struct Spares(std::sync::Mutex<Vec<Vec<Record>>>);

/// At most this many emptied buffers wait to be filled again.
const SPARES: usize = 8;

impl Spares {
    fn put(&self, emptied: Vec<Record>) {
        debug_assert!(emptied.is_empty());
        let mut spares = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < SPARES && emptied.capacity() > 0 && emptied.capacity() <= 2 * CHUNK {
            spares.push(emptied);
        }
    }

    fn get(&self) -> Vec<Record> {
        let spare = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }
}

/// What the reader does first.
#[derive(Debug, Clone)]
enum Plan {
    Snapshot {
        rows: bool,
    },
    Stream(ResumePoint),
    /// `initial_only` after a completed snapshot.
    Nothing,
}

pub struct BinlogSourceTask {
    config: Arc<BinlogConfig>,
    budget: Arc<Budget>,
    rx: Option<mpsc::Receiver<Batch>>,
    reader: Option<JoinHandle<()>>,
    ready: VecDeque<Record>,
    pending_error: Option<TaskError>,
    /// The emptied buffer of the previous batch (`SourceTask::recycle`).
    spare: Vec<Record>,
}

struct ChannelSink {
    tx: mpsc::Sender<Batch>,
    budget: Arc<Budget>,
}

impl Sink for ChannelSink {
    /// Queues the batch in chunks of at most [`CHUNK`] records, each waiting for room in the
    /// memory bound (`poll` puts them back together up to `max.batch.size`).
    async fn send(&mut self, mut batch: Vec<Record>) -> bool {
        if batch.len() <= CHUNK {
            return batch.is_empty() || self.send_chunk(batch).await;
        }
        let mut records = batch.drain(..);
        loop {
            let mut chunk = self.budget.spares.get();
            chunk.extend(records.by_ref().take(CHUNK));
            if chunk.is_empty() {
                self.budget.spares.put(chunk);
                break;
            }
            if !self.send_chunk(chunk).await {
                return false;
            }
        }
        drop(records);
        self.budget.spares.put(batch);
        true
    }

    fn spare(&mut self) -> Vec<Record> {
        self.budget.spares.get()
    }
}

impl ChannelSink {
    /// Queues one chunk once the memory bound has room for it.
    async fn send_chunk(&mut self, chunk: Vec<Record>) -> bool {
        let mut bytes = 0;
        if let Some(limit) = self.budget.limit {
            bytes = chunk.iter().map(approx_size).sum();
            loop {
                let used = self.budget.used.load(Ordering::Acquire);
                if used == 0 || used + bytes <= limit {
                    break;
                }
                self.budget.freed.notified().await;
            }
            self.budget.used.fetch_add(bytes, Ordering::AcqRel);
        }
        self.tx.send(Ok((chunk, bytes))).await.is_ok()
    }
}

pub fn modes(c: &BinlogConfig) -> Modes {
    Modes { decimal: c.decimal_mode, time: c.time_mode, unsigned_precise: c.unsigned_precise, binary: c.binary_mode }
}

impl BinlogSourceTask {
    pub fn new(config: Arc<BinlogConfig>) -> Self {
        let budget = Arc::new(Budget {
            used: AtomicUsize::new(0),
            limit: config.max_queue_bytes,
            freed: Notify::new(),
            spares: Spares::default(),
        });
        BinlogSourceTask {
            config,
            budget,
            rx: None,
            reader: None,
            ready: VecDeque::new(),
            pending_error: None,
            spare: Vec::new(),
        }
    }

    /// Connects (retrying while the server is unreachable) and checks the server id.
    async fn checked_connection(&self) -> Result<mysql_async::Conn, BinlogError> {
        let mut conn = connect_with_retries(&self.config).await?;
        server::check_server_id(&mut conn, &self.config).await?;
        Ok(conn)
    }

    async fn plan(&self, conn: &mut mysql_async::Conn, stored: Option<BinlogOffset>) -> Result<Plan, BinlogError> {
        let c = &self.config;
        let mode = c.snapshot_mode;
        let Some(offset) = stored else {
            return Ok(match mode {
                SnapshotMode::Never => {
                    let first = server::binary_logs(conn).await?.into_iter().next().unwrap_or_default();
                    info!(file = %first, "snapshot.mode=never and no offset: streaming from the oldest binlog");
                    Plan::Stream(ResumePoint {
                        at: FilePos { file: first, pos: 4 },
                        gtids: GtidSet::default(),
                        skip_events: 0,
                        skip_rows: 0,
                    })
                }
                m => Plan::Snapshot { rows: m.reads_data() },
            });
        };
        if offset.snapshot_in_progress() && mode != SnapshotMode::Never {
            info!("the stored offset is from a snapshot that did not finish: snapshotting again");
            return Ok(Plan::Snapshot { rows: mode.reads_data() });
        }
        if mode == SnapshotMode::Always {
            info!("snapshot.mode=always: snapshotting again");
            return Ok(Plan::Snapshot { rows: true });
        }
        if mode == SnapshotMode::InitialOnly {
            info!("snapshot.mode=initial_only and the snapshot is complete: nothing to do");
            return Ok(Plan::Nothing);
        }
        let resume = ResumePoint::from_offset(&offset).map_err(|message| BinlogError::BadOffset { message })?;
        match server::check_retained(conn, c, &resume).await {
            Ok(()) => Ok(Plan::Stream(resume)),
            Err(BinlogError::Purged { wanted, oldest, .. }) if mode == SnapshotMode::WhenNeeded => {
                warn!(%wanted, %oldest, "the stored position was purged from the server: snapshot.mode=when_needed takes a new snapshot");
                Ok(Plan::Snapshot { rows: true })
            }
            Err(e) => Err(e),
        }
    }
}

/// Moves a received chunk into the batch, up to `max` records (the rest to `ready`), frees its
/// share of the memory bound and hands its emptied buffer back to the reader.
fn add(
    batch: &mut Vec<Record>,
    ready: &mut VecDeque<Record>,
    budget: &Budget,
    mut chunk: Vec<Record>,
    bytes: usize,
    max: usize,
) {
    let room = max.saturating_sub(batch.len());
    if chunk.len() > room {
        ready.extend(chunk.drain(room..));
    }
    batch.append(&mut chunk);
    budget.spares.put(chunk);
    if budget.limit.is_some() {
        budget.used.fetch_sub(bytes, Ordering::AcqRel);
        budget.freed.notify_one();
    }
}

/// A connection, retried with backoff (about 15 s in all) while the server does not answer.
pub async fn connect_with_retries(c: &BinlogConfig) -> Result<mysql_async::Conn, BinlogError> {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
    loop {
        match server::connect(c).await {
            Ok(conn) => return Ok(conn),
            Err(e) if e.is_retriable() && backoff.attempts() < 4 => {
                let wait = backoff.fail();
                warn!(error = %e, attempt = backoff.attempts(), retry_in_ms = wait.as_millis() as u64, "cannot reach the database; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the reader starts, with the schema history for it.
struct Start {
    plan: Plan,
    /// Read at start for a restart; `None` when a snapshot starts a new one.
    history: Option<SchemaHistory>,
    history_log: Option<Arc<dyn StateLog>>,
}

async fn read(config: Arc<BinlogConfig>, start: Start, tx: mpsc::Sender<Batch>, budget: Arc<Budget>) {
    let c = &*config;
    let modes = modes(c);
    let mut events = Events::new(c);
    let mut sink = ChannelSink { tx: tx.clone(), budget };
    let fail = |e: BinlogError| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Err(TaskError::fatal(e))).await;
        }
    };
    let (resume, defs, history) = match (start.plan, start.history) {
        (Plan::Nothing, _) => return,
        (Plan::Stream(r), history) => {
            let history = history.unwrap_or_else(SchemaHistory::none);
            (r, history.defs(&c.filters, &modes), history)
        }
        (Plan::Snapshot { rows }, _) => {
            let mut backoff = Backoff::reconnect();
            loop {
                match snapshot::run(c, &events, &modes, rows, &mut sink).await {
                    Ok(Some((coords, defs))) => {
                        let history = match new_history(start.history_log.clone(), &coords.at, &defs).await {
                            Ok(h) => h,
                            Err(e) => return fail(e).await,
                        };
                        let resume = ResumePoint { at: coords.at, gtids: coords.gtids, skip_events: 0, skip_rows: 0 };
                        break (resume, defs, history);
                    }
                    Ok(None) => return,
                    Err(e) if e.is_retriable() => {
                        let wait = backoff.fail();
                        if backoff.should_log() {
                            warn!(error = %e, attempt = backoff.attempts(), retry_in_ms = wait.as_millis() as u64, "the snapshot failed; starting it again");
                        }
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => return fail(e).await,
                }
            }
        }
    };
    if c.snapshot_mode == SnapshotMode::InitialOnly {
        info!("snapshot.mode=initial_only: the snapshot is complete; not streaming");
        return;
    }
    let mut replication = Replication::new(c, &mut events, modes, resume, defs, history);
    if let Err(e) = replication.run(&mut sink).await {
        fail(e).await;
    }
}

/// The schema history a snapshot starts: its tables' structures at its position.
async fn new_history(
    log: Option<Arc<dyn StateLog>>,
    at: &FilePos,
    defs: &[TableDef],
) -> Result<SchemaHistory, BinlogError> {
    let mut history = SchemaHistory::fresh(log).await?;
    for d in defs {
        history.record(at, d).await?;
    }
    Ok(history)
}

impl SourceTask for BinlogSourceTask {
    type Partition = BinlogPartition;
    type Offset = BinlogOffset;

    async fn start(&mut self, offsets: &impl OffsetReader) -> Result<(), TaskError> {
        let c = self.config.clone();
        let partition = BinlogPartition { server: c.topic_prefix.as_str().into() };
        let stored: Option<BinlogOffset> = offsets.offset(&partition).map_err(TaskError::fatal)?;
        let mut conn = self.checked_connection().await.map_err(TaskError::fatal)?;
        let plan = self.plan(&mut conn, stored.clone()).await.map_err(TaskError::fatal)?;
        let _ = conn.disconnect().await;
        let history_log = offsets.state_log("schema-history");
        let history = match &plan {
            Plan::Stream(r) => Some(SchemaHistory::open(history_log.clone(), &r.at).await.map_err(TaskError::fatal)?),
            _ => None,
        };
        info!(
            connector = c.flavor.name(),
            server_id = c.server_id,
            offset = %stored.as_ref().map(|o| serde_json::to_string(o).unwrap_or_default()).unwrap_or_else(|| "none".into()),
            plan = ?plan,
            delivery = "at-least-once",
            "binlog source starting"
        );
        // The reader decodes an order of magnitude faster than the producer sends, so half a
        // batch queued ahead of `poll` keeps the producer fed; every record queued beyond that
        // is only memory. With the batch being polled and the chunk being read this stays
        // within max.queue.size.
        let bound = (c.max_queue_size.saturating_sub(2 * c.max_batch_size) / CHUNK).max(1);
        let depth = (c.max_batch_size / (2 * CHUNK)).clamp(1, bound);
        let (tx, rx) = mpsc::channel(depth);
        let span = tracing::Span::current();
        let start = Start { plan, history, history_log };
        self.reader = Some(tokio::spawn(read(c, start, tx, self.budget.clone()).instrument(span)));
        self.rx = Some(rx);
        Ok(())
    }

    async fn poll(&mut self) -> PollResult<BinlogPartition, BinlogOffset> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        let max = self.config.max_batch_size;
        let mut batch = std::mem::take(&mut self.spare);
        let Some(rx) = self.rx.as_mut() else { return Ok(batch) };
        let n = self.ready.len().min(max);
        batch.extend(self.ready.drain(..n));
        if batch.is_empty() {
            match tokio::time::timeout(self.config.poll_interval, rx.recv()).await {
                Ok(Some(Ok((chunk, bytes)))) => add(&mut batch, &mut self.ready, &self.budget, chunk, bytes, max),
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) => {
                    tokio::time::sleep(self.config.poll_interval).await;
                    return Ok(batch);
                }
                Err(_) => return Ok(batch),
            }
        }
        while batch.len() < max {
            match rx.try_recv() {
                Ok(Ok((chunk, bytes))) => add(&mut batch, &mut self.ready, &self.budget, chunk, bytes, max),
                Ok(Err(e)) => {
                    self.pending_error = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    fn recycle(&mut self, emptied: Vec<Record>) {
        self.spare = emptied;
    }

    async fn stop(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
        }
    }
}

impl Drop for BinlogSourceTask {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use runtime::data::Value;

    use super::*;

    fn records(from: i64, n: i64) -> Vec<Record> {
        let partition = BinlogPartition { server: "db".into() };
        (from..from + n)
            .map(|i| Record::new(partition.clone(), BinlogOffset::default(), "t".into(), None, Value::Int64(i)))
            .collect()
    }

    fn budget(limit: Option<usize>) -> Budget {
        Budget { used: AtomicUsize::new(0), limit, freed: Notify::new(), spares: Spares::default() }
    }

    /// A chunk that does not fit the batch leaves its rest, in order, for the next poll; the
    /// emptied chunk buffer goes back to the reader and the memory bound is freed.
    #[test]
    fn chunks_fill_the_batch_in_order_and_their_buffers_go_back_to_the_reader() {
        let budget = budget(Some(1 << 20));
        budget.used.store(300, Ordering::Release);
        let (mut batch, mut ready) = (Vec::with_capacity(4), VecDeque::new());
        let chunk = records(0, 3);
        let buffer = chunk.as_ptr();
        add(&mut batch, &mut ready, &budget, chunk, 100, 4);
        add(&mut batch, &mut ready, &budget, records(3, 3), 200, 4);
        let values = |v: &mut dyn Iterator<Item = &Record>| v.map(|r| r.value.clone()).collect::<Vec<_>>();
        assert_eq!(values(&mut batch.iter()), (0..4).map(Value::Int64).collect::<Vec<_>>());
        assert_eq!(values(&mut ready.iter()), vec![Value::Int64(4), Value::Int64(5)]);
        assert_eq!(budget.used.load(Ordering::Acquire), 0);
        let spares = budget.spares.0.lock().unwrap().iter().map(|v| v.as_ptr()).collect::<Vec<_>>();
        assert_eq!(spares.len(), 2);
        assert!(spares.contains(&buffer));
        assert_eq!(budget.spares.get().capacity(), 3);
    }

    /// The pool keeps at most [`SPARES`] buffers of at most two chunks and hands out a
    /// chunk-sized one when empty.
    #[test]
    fn the_spare_pool_is_bounded() {
        let spares = Spares::default();
        spares.put(Vec::with_capacity(2 * CHUNK + 1));
        assert!(spares.0.lock().unwrap().is_empty(), "a snapshot-sized buffer is freed, not kept");
        for _ in 0..SPARES + 3 {
            spares.put(Vec::with_capacity(10));
        }
        assert_eq!(spares.0.lock().unwrap().len(), SPARES);
        for _ in 0..SPARES {
            assert_eq!(spares.get().capacity(), 10);
        }
        assert!(spares.get().capacity() >= CHUNK);
    }
}
