//! The worker's task loops against librdkafka's in-process mock cluster (fast, no services):
//! source offsets advance only with broker acknowledgements, and a sink's group offsets are
//! exactly what its `pre_commit` returned. Pipelines against the real broker are in `tests/e2e`.
//!
//! Run: `cargo test -p sluice-runtime --test mock_cluster`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use runtime::config::{ConfigErrors, ConfigReader, RawConfig, WorkerConfig};
use runtime::data::{Schema, Type, Value};
use runtime::offset::OffsetStore;
use runtime::worker::{prepare_sink, prepare_source, Exit, Worker};
use runtime::{
    ConnectorContext, ConnectorInfo, KeyDoc, OffsetMap, OffsetReader, SinkConnector, SinkRecord, SinkTask,
    SourceConnector, SourceRecord, SourceTask, TaskConfig, TaskError,
};
use serde::{Deserialize, Serialize};

/// Emits `count` records `{"n": i}` for partition `{"stream":"s"}`, offset `{"i": i}`.
struct CountingSource {
    count: u64,
    topic: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Stream {
    stream: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Index {
    i: u64,
}

struct CountingTask {
    next: u64,
    count: u64,
    topic: Arc<str>,
}

impl ConnectorInfo for CountingSource {
    const CLASS: &'static str = "test.CountingSource";
    const KEYS: &'static [KeyDoc] = &[];
}

impl SourceConnector for CountingSource {
    type Task = CountingTask;
    fn from_config(reader: &mut ConfigReader<'_>) -> Option<Self> {
        let count = reader.int_in("count", 10, 0, i64::MAX) as u64;
        let topic = reader.required("topic", "a topic")?;
        Some(CountingSource { count, topic: topic.into() })
    }
    fn task_configs(&self, _max: usize) -> Vec<TaskConfig> {
        vec![TaskConfig::new()]
    }
    fn create_task(&self, _config: &TaskConfig) -> Result<CountingTask, ConfigErrors> {
        Ok(CountingTask { next: 0, count: self.count, topic: self.topic.clone() })
    }
}

impl SourceTask for CountingTask {
    type Partition = Stream;
    type Offset = Index;

    async fn start(&mut self, offsets: &impl OffsetReader) -> Result<(), TaskError> {
        let stored: Option<Index> = offsets.offset(&Stream { stream: "s".into() }).map_err(TaskError::fatal)?;
        self.next = stored.map_or(0, |o| o.i + 1);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord<Stream, Index>>, TaskError> {
        if self.next >= self.count {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(Vec::new());
        }
        let end = (self.next + 100).min(self.count);
        let schema =
            Schema::builder(Type::Struct).name("counter").field("n", Schema::primitive(Type::Int64, false)).build();
        let batch = (self.next..end)
            .map(|i| {
                let mut s = runtime::data::Struct::new(schema.clone());
                s.put("n", Value::Int64(i as i64));
                SourceRecord::new(
                    Stream { stream: "s".into() },
                    Index { i },
                    self.topic.clone(),
                    Some(schema.clone()),
                    Value::Struct(s),
                )
            })
            .collect();
        self.next = end;
        Ok(batch)
    }
}

fn worker_config(bootstrap: &str, dir: &std::path::Path, flush_ms: u64) -> WorkerConfig {
    let offsets = dir.join("connect.offsets").display().to_string();
    let flush = flush_ms.to_string();
    WorkerConfig::from_pairs(&[
        ("bootstrap.servers", bootstrap),
        ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("offset.storage.file.filename", &offsets),
        ("offset.flush.interval.ms", &flush),
        ("listeners", ""),
        ("consumer.session.timeout.ms", "6000"),
    ])
    .unwrap()
}

fn raw(pairs: &[(&str, &str)]) -> RawConfig {
    let mut r = RawConfig::new("test.properties");
    for (k, v) in pairs {
        r.insert(*k, *v, None);
    }
    r
}

fn stored_index(dir: &std::path::Path, connector: &str) -> Option<u64> {
    let store = OffsetStore::open(&dir.join("connect.offsets")).unwrap();
    store.get(connector, &serde_json::json!({"stream": "s"})).and_then(|v| v["i"].as_u64())
}

fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn source_offsets_follow_broker_acks() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("counts", 1, 1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _entered = rt.enter();

    // broker down: records are produced but never acknowledged, so no offset may be committed
    mock.broker_down(1).unwrap();
    let mut worker = Worker::new(worker_config(&bootstrap, dir.path(), 100)).unwrap();
    let config =
        raw(&[("name", "counter"), ("connector.class", "test.CountingSource"), ("topic", "counts"), ("count", "500")]);
    rt.block_on(prepare_source::<CountingSource>(&config).unwrap().start(&mut worker)).unwrap();
    let handle = worker.shutdown_handle();
    let offsets = worker.offsets();
    let run = rt.spawn(worker.run(false));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(offsets.get("counter", &serde_json::json!({"stream": "s"})), None, "offsets advanced without acks");

    // broker back: every record is acknowledged and the last offset is committed
    mock.broker_up(1).unwrap();
    wait_for(Duration::from_secs(30), "offset 499", || {
        offsets.get("counter", &serde_json::json!({"stream": "s"})) == Some(serde_json::json!({"i": 499}))
    });
    handle.shutdown();
    assert_eq!(rt.block_on(run).unwrap().unwrap(), Exit::Clean);
    drop(offsets);
    assert_eq!(stored_index(dir.path(), "counter"), Some(499));

    // the records, as JsonConverter bytes, in order
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("counts", 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while values.len() < 500 && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            values.push(m.payload().unwrap().to_vec());
        }
    }
    assert_eq!(values.len(), 500);
    assert_eq!(
        String::from_utf8(values[7].clone()).unwrap(),
        r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"n"}],"optional":false,"name":"counter"},"payload":{"n":7}}"#
    );

    // a restart resumes after the committed offset: nothing more is produced
    let mut worker = Worker::new(worker_config(&bootstrap, dir.path(), 100)).unwrap();
    rt.block_on(prepare_source::<CountingSource>(&config).unwrap().start(&mut worker)).unwrap();
    let handle = worker.shutdown_handle();
    let run = rt.spawn(worker.run(false));
    std::thread::sleep(Duration::from_millis(500));
    handle.shutdown();
    assert_eq!(rt.block_on(run).unwrap().unwrap(), Exit::Clean);
    if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
        panic!("record {} produced again after a clean restart", m.offset());
    }
}

/// A sink whose `pre_commit` reports only part of what it was given as durable: half the next
/// offset, rounded down to a multiple of 10.
struct HalfDurableSink;

struct HalfDurableTask;

/// Offsets of the records put, in order.
static SEEN: Mutex<Vec<i64>> = Mutex::new(Vec::new());

impl ConnectorInfo for HalfDurableSink {
    const CLASS: &'static str = "test.HalfDurableSink";
    const KEYS: &'static [KeyDoc] = &[];
}

impl SinkConnector for HalfDurableSink {
    type Task = HalfDurableTask;
    fn from_config(_reader: &mut ConfigReader<'_>) -> Option<Self> {
        Some(HalfDurableSink)
    }
    fn task_configs(&self, _max: usize) -> Vec<TaskConfig> {
        vec![TaskConfig::new()]
    }
    fn create_task(&self, _config: &TaskConfig) -> Result<HalfDurableTask, ConfigErrors> {
        Ok(HalfDurableTask)
    }
}

impl SinkTask for HalfDurableTask {
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), TaskError> {
        for r in records {
            assert_eq!(r.value, Value::String(format!("v{}", r.kafka_offset)));
            SEEN.lock().unwrap().push(r.kafka_offset);
        }
        Ok(())
    }
    async fn flush(&mut self, _offsets: &OffsetMap) -> Result<(), TaskError> {
        Ok(())
    }
    async fn pre_commit(&mut self, offsets: &OffsetMap) -> Result<OffsetMap, TaskError> {
        Ok(offsets.iter().map(|(tp, o)| (tp.clone(), (o / 2) / 10 * 10)).collect())
    }
}

#[test]
fn sink_commits_only_what_pre_commit_returns() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("words", 1, 1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    for i in 0..100 {
        let value = format!(r#"{{"schema":{{"type":"string","optional":false}},"payload":"v{i}"}}"#);
        producer.send(BaseRecord::<[u8], [u8]>::to("words").payload(value.as_bytes())).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _entered = rt.enter();
    let mut worker = Worker::new(worker_config(&bootstrap, dir.path(), 200)).unwrap();
    let config = raw(&[("name", "half"), ("connector.class", "test.HalfDurableSink"), ("topics", "words")]);
    rt.block_on(prepare_sink::<HalfDurableSink>(&config).unwrap().start(&mut worker)).unwrap();
    let handle = worker.shutdown_handle();
    let run = rt.spawn(worker.run(false));
    wait_for(Duration::from_secs(30), "100 records put", || SEEN.lock().unwrap().len() >= 100);
    std::thread::sleep(Duration::from_millis(600));
    handle.shutdown();
    assert_eq!(rt.block_on(run).unwrap().unwrap(), Exit::Clean);
    assert_eq!(*SEEN.lock().unwrap(), (0..100).collect::<Vec<i64>>());

    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).set("group.id", "connect-half").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("words", 0);
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let offset = committed.find_partition("words", 0).unwrap().offset();
    // 100 records handed over (next offset 100); pre_commit said 50 are durable
    assert_eq!(offset, Offset::Offset(50));
}

/// A connector whose units of work grow while it runs (as a JDBC source finding a new table).
struct Growing;

static UNITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
static CONTEXT: Mutex<Option<ConnectorContext>> = Mutex::new(None);

struct Idle;

impl ConnectorInfo for Growing {
    const CLASS: &'static str = "test.Growing";
    const KEYS: &'static [KeyDoc] = &[];
}

impl SourceConnector for Growing {
    type Task = Idle;
    fn from_config(_reader: &mut ConfigReader<'_>) -> Option<Self> {
        Some(Growing)
    }
    async fn start(&mut self, ctx: ConnectorContext) -> Result<(), TaskError> {
        *CONTEXT.lock().unwrap() = Some(ctx);
        Ok(())
    }
    fn task_configs(&self, max_tasks: usize) -> Vec<TaskConfig> {
        let units: Vec<String> = (0..UNITS.load(std::sync::atomic::Ordering::SeqCst)).map(|u| u.to_string()).collect();
        runtime::group_partitions(&units, units.len().min(max_tasks))
            .into_iter()
            .map(|g| TaskConfig::from([("units".to_owned(), g.join(","))]))
            .collect()
    }
    fn create_task(&self, _config: &TaskConfig) -> Result<Idle, ConfigErrors> {
        Ok(Idle)
    }
}

impl SourceTask for Idle {
    type Partition = Stream;
    type Offset = Index;
    async fn start(&mut self, _offsets: &impl OffsetReader) -> Result<(), TaskError> {
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord<Stream, Index>>, TaskError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(Vec::new())
    }
}

#[test]
fn a_connector_can_ask_for_new_task_configs() {
    let mock = MockCluster::new(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _entered = rt.enter();
    let mut worker = Worker::new(worker_config(&mock.bootstrap_servers(), dir.path(), 100)).unwrap();
    let config = raw(&[("name", "growing"), ("connector.class", "test.Growing"), ("tasks.max", "2")]);
    rt.block_on(prepare_source::<Growing>(&config).unwrap().start(&mut worker)).unwrap();
    let state = worker.state();
    let handle = worker.shutdown_handle();
    let run = rt.spawn(worker.run(false));
    let units = |state: &runtime::worker::WorkerState| -> Vec<String> {
        state.connector("growing").unwrap().tasks().iter().map(|t| t.config["units"].clone()).collect()
    };
    assert_eq!(units(&state), vec!["0"]);
    UNITS.store(5, std::sync::atomic::Ordering::SeqCst);
    CONTEXT.lock().unwrap().as_ref().unwrap().request_task_reconfiguration();
    wait_for(Duration::from_secs(20), "two tasks", || units(&state).len() == 2);
    // groupPartitions: contiguous, the first group one larger
    assert_eq!(units(&state), vec!["0,1,2", "3,4"]);
    handle.shutdown();
    assert_eq!(rt.block_on(run).unwrap().unwrap(), Exit::Clean);
}
