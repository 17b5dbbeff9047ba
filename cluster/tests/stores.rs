//! The internal topics on the real broker of `scripts/services`: created compacted, checked,
//! written by one worker's stores and replayed by another's, with Kafka's record formats.

use std::time::Duration;

use cluster::config::TopicSettings;
use cluster::config_log::{ConfigEvent, Properties, TargetState};
use cluster::status_log::{Status, StatusKey, StatusState};
use cluster::stores::{ConfigStore, OffsetTopic, StatusStore};
use cluster::topics::{ensure, InternalTopic, TopicError};
use rdkafka::config::ClientConfig;

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn base() -> ClientConfig {
    let addr = bootstrap();
    let up = addr
        .split(',')
        .any(|a| std::net::TcpStream::connect_timeout(&a.parse().unwrap(), Duration::from_secs(2)).is_ok());
    assert!(up, "no Kafka broker at {addr}: run `scripts/services up` (or set KAFKA_BOOTSTRAP)");
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr);
    c
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn topic(name: &str, partitions: i32) -> TopicSettings {
    TopicSettings { name: name.into(), partitions, replication_factor: 1, configs: Default::default() }
}

const T: Duration = Duration::from_secs(30);

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_replays_what_the_first_wrote() {
    let base = base();
    let configs = unique("sluice-test-configs");
    ensure(&base, InternalTopic::Config, &topic(&configs, 1), T).await.expect("config topic");
    ensure(&base, InternalTopic::Config, &topic(&configs, 1), T).await.expect("an existing compacted topic passes");

    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let first = ConfigStore::start(&base, &configs, "test-configs", events).await.expect("first store");
    assert_eq!(first.snapshot().offset(), -1, "an empty topic reports -1");
    let config = props(&[("connector.class", "FileStreamSource"), ("tasks.max", "2"), ("file", "${env:IN}")]);
    first.put_connector_config("orders", &config, Some(TargetState::Paused)).await.unwrap();
    first.put_task_configs("orders", &[props(&[("t", "0")]), props(&[("t", "1")])]).await.unwrap();
    let state = first.snapshot();
    assert_eq!(state.tasks("orders"), [0, 1]);
    assert_eq!(state.target_state("orders"), Some(TargetState::Paused));
    assert_eq!(state.connector_config("orders").unwrap()["file"], "${env:IN}", "references stay unresolved");

    let (events, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let second = ConfigStore::start(&base, &configs, "test-configs-2", events).await.expect("second store");
    let replayed = second.snapshot();
    assert_eq!(replayed.offset(), state.offset(), "same config offset on both workers");
    assert_eq!(replayed.tasks("orders"), [0, 1]);
    assert_eq!(replayed.task_config("orders", 1), Some(&props(&[("t", "1")])));
    assert!(changes.try_recv().is_err(), "no events for the replay");

    first.stop_connector("orders").await.unwrap();
    let seen = tokio::time::timeout(T, async {
        let mut all = Vec::new();
        while let Some(e) = changes.recv().await {
            all.push(e);
            if all.contains(&ConfigEvent::TargetStateChanged("orders".into())) {
                return all;
            }
        }
        all
    })
    .await
    .expect("the second worker follows the topic");
    assert!(seen.contains(&ConfigEvent::TasksCommitted("orders".into())), "{seen:?}");
    assert_eq!(second.snapshot().target_state("orders"), Some(TargetState::Stopped));
    first.remove_connector("orders").await.unwrap();
    assert!(first.snapshot().configured().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_statuses_round_trip() {
    let base = base();
    let offsets = unique("sluice-test-offsets");
    let statuses = unique("sluice-test-status");
    ensure(&base, InternalTopic::Offsets, &topic(&offsets, 3), T).await.unwrap();
    ensure(&base, InternalTopic::Status, &topic(&statuses, 2), T).await.unwrap();

    let store = OffsetTopic::start(&base, &offsets, "test-offsets").await.unwrap();
    let key = br#"["file-source",{"filename":"in.txt"}]"#.to_vec();
    let other = br#"["file-source",{"filename":"other.txt"}]"#.to_vec();
    store
        .put(&[(key.clone(), Some(br#"{"position":12}"#.to_vec())), (other.clone(), Some(b"{}".to_vec()))])
        .await
        .unwrap();
    store.put(&[(other.clone(), None)]).await.unwrap();
    let reader = OffsetTopic::start(&base, &offsets, "test-offsets-2").await.unwrap();
    tokio::time::timeout(T, async {
        while reader.get(&key).is_none() || reader.get(&other).is_some() {
            reader.refresh(T).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the offsets reach another reader");
    assert_eq!(reader.get(&key).unwrap(), br#"{"position":12}"#);

    let status = StatusStore::start(&base, &statuses, "test-status").await.unwrap();
    let task = StatusKey::Task("orders".into(), 0);
    let running = Status { state: StatusState::Running, trace: None, worker_id: "new:8083".into(), generation: 5 };
    status.put(&task, &running).await.unwrap();
    status.refresh(T).await.unwrap();
    tokio::time::timeout(T, async {
        while status.snapshot().task("orders", 0).is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    let stale = Status { state: StatusState::Unassigned, trace: None, worker_id: "old:8083".into(), generation: 4 };
    assert!(!status.put_safe(&task, &stale).await.unwrap(), "an older generation does not overwrite the owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_internal_topic_stops_the_start_with_the_fix() {
    let base = base();
    let wide = unique("sluice-test-wide-configs");
    ensure(&base, InternalTopic::Offsets, &topic(&wide, 3), T).await.unwrap();
    match ensure(&base, InternalTopic::Config, &topic(&wide, 1), T).await {
        Err(TopicError::ConfigPartitions { partitions: 3, .. }) => {}
        other => panic!("a 3-partition config topic must be refused: {other:?}"),
    }
    let deleting = unique("sluice-test-delete-policy");
    let admin: rdkafka::admin::AdminClient<_> = base.create().unwrap();
    let new = rdkafka::admin::NewTopic::new(&deleting, 1, rdkafka::admin::TopicReplication::Fixed(1))
        .set("cleanup.policy", "delete");
    admin.create_topics([&new], &rdkafka::admin::AdminOptions::new()).await.unwrap();
    match ensure(&base, InternalTopic::Status, &topic(&deleting, 1), T).await {
        Err(e @ TopicError::NotCompacted { .. }) => {
            assert!(e.to_string().contains("cleanup.policy=compact"), "{e}");
        }
        other => panic!("a delete-policy topic must be refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_offset_store_runs_on_the_topic() {
    use runtime::offset::OffsetStore;
    use serde_json::json;
    let base = base();
    let offsets = unique("sluice-test-runtime-offsets");
    ensure(&base, InternalTopic::Offsets, &topic(&offsets, 5), T).await.unwrap();
    let topic_a = OffsetTopic::start(&base, &offsets, "a-offsets").await.unwrap();
    let a = OffsetStore::new(Box::new(topic_a), Vec::new()).unwrap();
    a.put("jdbc", [(json!({"protocol": "1", "table": "shop.orders"}), Some(json!({"incrementing": 42})))]);
    a.flush().await.unwrap();

    let topic_b = OffsetTopic::start(&base, &offsets, "b-offsets").await.unwrap();
    let key = br#"["jdbc",{"protocol":"1","table":"shop.orders"}]"#;
    assert_eq!(topic_b.get(key).as_deref(), Some(&br#"{"incrementing":42}"#[..]), "Kafka's exact key and value bytes");
    let b = OffsetStore::new(Box::new(topic_b), Vec::new()).unwrap();
    b.refresh().await.unwrap();
    assert_eq!(b.get("jdbc", &json!({"table": "shop.orders", "protocol": "1"})), Some(json!({"incrementing": 42})));
    // a task moved to b resumes from what a wrote last
    a.put("jdbc", [(json!({"protocol": "1", "table": "shop.orders"}), Some(json!({"incrementing": 43})))]);
    a.flush().await.unwrap();
    tokio::time::timeout(T, async {
        loop {
            b.refresh().await.unwrap();
            if b.get("jdbc", &json!({"protocol": "1", "table": "shop.orders"})) == Some(json!({"incrementing": 43})) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("b reads a's newer offset");
}
