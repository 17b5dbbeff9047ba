use proptest::prelude::*;

use super::*;

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn values_are_kafkas_bytes() {
    assert_eq!(value::commit(3), br#"{"tasks":3}"#);
    assert_eq!(value::target_state(TargetState::Stopped), br#"{"state":"PAUSED","state.v2":"STOPPED"}"#);
    assert_eq!(value::target_state(TargetState::Started), br#"{"state":"STARTED","state.v2":"STARTED"}"#);
    assert_eq!(
        value::properties(&props(&[("tasks.max", "1"), ("connector.class", "FileStreamSource")])),
        br#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"1"}}"#
    );
    let key = SessionKey { key: vec![1, 2, 3, 4], algorithm: "HmacSHA256".into(), created_ms: 1_700_000_000_000 };
    assert_eq!(
        value::session_key(&key),
        br#"{"key":"AQIDBA==","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#
    );
    assert_eq!(
        value::restart(RestartFlags { include_tasks: true, only_failed: false }),
        br#"{"include-tasks":true,"only-failed":false}"#
    );
    assert_eq!(value::task_count(2), br#"{"task-count":2}"#);
    assert_eq!(value::logger_level("DEBUG"), br#"{"level":"DEBUG"}"#);
}

#[test]
fn keys_parse_by_kafkas_prefixes() {
    assert_eq!(ConfigKey::parse("task-my-conn-12"), Some(ConfigKey::Task("my-conn".into(), 12)));
    assert_eq!(ConfigKey::parse("task-bad"), None);
    assert_eq!(ConfigKey::parse("task-c-x"), None);
    assert_eq!(ConfigKey::parse("tasks-fencing-c"), Some(ConfigKey::TasksFencing("c".into())));
    assert_eq!(ConfigKey::parse("target-state-a-b"), Some(ConfigKey::TargetState("a-b".into())));
    assert_eq!(ConfigKey::parse("session-key"), Some(ConfigKey::SessionKey));
    assert_eq!(ConfigKey::parse("restart-connector-c"), Some(ConfigKey::Restart("c".into())));
    assert_eq!(ConfigKey::parse("whatever"), None);
    for key in [ConfigKey::Task("a-b".into(), 3), ConfigKey::Commit("c".into()), ConfigKey::SessionKey] {
        assert_eq!(ConfigKey::parse(&key.key()), Some(key));
    }
}

/// A topic as a Java 3.x cluster writes it: create, tasks, commit, pause, then stop.
#[test]
fn a_java_written_topic_replays() {
    let records: Vec<(&str, Option<&str>)> = vec![
        (
            "connector-orders",
            Some(
                r#"{"properties":{"connector.class":"io.confluent.connect.jdbc.JdbcSourceConnector","tasks.max":"2","name":"orders"}}"#,
            ),
        ),
        ("task-orders-0", Some(r#"{"properties":{"tables":"a"}}"#)),
        ("task-orders-1", Some(r#"{"properties":{"tables":"b"}}"#)),
        ("commit-orders", Some(r#"{"tasks":2}"#)),
        ("target-state-orders", Some(r#"{"state":"PAUSED"}"#)),
        ("session-key", Some(r#"{"key":"AQIDBA==","algorithm":"HmacSHA256","creation-timestamp":1}"#)),
    ];
    let mut state = ConfigState::new();
    assert_eq!(state.offset(), -1);
    for (i, (k, v)) in records.iter().enumerate() {
        assert_eq!(state.apply(i as i64, k, v.map(str::as_bytes)), Ok(None), "no events during the replay");
    }
    assert_eq!(state.offset(), 6);
    assert_eq!(state.tasks("orders"), [0, 1]);
    assert_eq!(state.task_config("orders", 1), Some(&props(&[("tables", "b")])));
    assert_eq!(state.target_state("orders"), Some(TargetState::Paused));
    assert_eq!(state.task_generation("orders"), 1);
    assert_eq!(state.session_key().unwrap().key, [1, 2, 3, 4]);
    let configured = state.configured();
    assert_eq!(configured.connectors.len(), 1);
    assert_eq!(configured.tasks.len(), 2);

    state.mark_started();
    let stop = value::target_state(TargetState::Stopped);
    assert_eq!(
        state.apply(6, "commit-orders", Some(&value::commit(0))),
        Ok(Some(ConfigEvent::TasksCommitted("orders".into())))
    );
    assert_eq!(
        state.apply(7, "target-state-orders", Some(&stop)),
        Ok(Some(ConfigEvent::TargetStateChanged("orders".into())))
    );
    assert_eq!(state.target_state("orders"), Some(TargetState::Stopped));
    assert!(state.tasks("orders").is_empty());
}

#[test]
fn tasks_take_effect_only_on_a_complete_commit() {
    let mut state = ConfigState::new();
    state.apply(0, "connector-c", Some(&value::properties(&props(&[("k", "v")])))).unwrap();
    state.apply(1, "task-c-0", Some(&value::properties(&props(&[("t", "0")])))).unwrap();
    assert!(state.tasks("c").is_empty(), "a task record alone changes nothing");
    // the leader died before task 1: a commit naming two tasks leaves the connector inconsistent
    state.apply(2, "commit-c", Some(&value::commit(2))).unwrap();
    assert!(state.is_inconsistent("c"));
    assert!(state.tasks("c").is_empty());
    assert_eq!(state.task_generation("c"), 0);
    // regenerated tasks, committed whole
    state.apply(3, "task-c-0", Some(&value::properties(&props(&[("t", "0")])))).unwrap();
    state.apply(4, "task-c-1", Some(&value::properties(&props(&[("t", "1")])))).unwrap();
    state.apply(5, "commit-c", Some(&value::commit(2))).unwrap();
    assert!(!state.is_inconsistent("c"));
    assert_eq!(state.tasks("c"), [0, 1]);
    assert_eq!(state.applied_config("c"), Some(&props(&[("k", "v")])));
    // trailing task records with no commit stay deferred and harmless
    state.apply(6, "task-c-0", Some(&value::properties(&props(&[("t", "new")])))).unwrap();
    assert_eq!(state.task_config("c", 0), Some(&props(&[("t", "0")])));
}

#[test]
fn deletes_drop_everything_and_late_commits_are_ignored() {
    let mut state = ConfigState::new();
    state.apply(0, "connector-c", Some(&value::properties(&props(&[])))).unwrap();
    state.apply(1, "task-c-0", Some(&value::properties(&props(&[])))).unwrap();
    state.apply(2, "commit-c", Some(&value::commit(1))).unwrap();
    state.apply(3, "target-state-c", Some(&value::target_state(TargetState::Paused))).unwrap();
    state.mark_started();
    assert_eq!(state.apply(4, "connector-c", None), Ok(Some(ConfigEvent::ConnectorRemoved("c".into()))));
    state.apply(5, "target-state-c", None).unwrap();
    assert_eq!(state.target_state("c"), None);
    assert!(state.tasks("c").is_empty());
    // a commit for a connector without a config (its tombstone compacted away)
    state.apply(6, "task-c-0", Some(&value::properties(&props(&[])))).unwrap();
    assert_eq!(state.apply(7, "commit-c", Some(&value::commit(1))), Ok(None));
    assert!(state.configured().is_empty());
}

#[test]
fn target_state_prefers_v2_and_ignores_unknown_values() {
    let mut state = ConfigState::new();
    state.apply(0, "connector-c", Some(&value::properties(&props(&[])))).unwrap();
    assert_eq!(state.target_state("c"), Some(TargetState::Started), "no record: STARTED");
    state.apply(1, "target-state-c", Some(br#"{"state":"PAUSED","state.v2":"STOPPED"}"#)).unwrap();
    assert_eq!(state.target_state("c"), Some(TargetState::Stopped));
    state.apply(2, "target-state-c", Some(br#"{"state":"RUNNING"}"#)).unwrap();
    assert_eq!(state.target_state("c"), Some(TargetState::Stopped), "unknown value ignored");
}

#[test]
fn bad_records_are_skipped_and_the_offset_moves() {
    let mut state = ConfigState::new();
    assert!(state.apply(0, "connector-c", Some(b"not json")).is_err());
    assert!(state.apply(1, "unknown-key", Some(b"{}")).is_err());
    assert!(state.apply(2, "commit-c", Some(br#"{"tasks":-1}"#)).is_err());
    assert_eq!(state.offset(), 3);
    assert!(state.configured().is_empty());
}

#[test]
fn restarts_during_the_replay_are_ignored() {
    let mut state = ConfigState::new();
    let flags = RestartFlags { include_tasks: true, only_failed: true };
    assert_eq!(state.apply(0, "restart-connector-c", Some(&value::restart(flags))), Ok(None));
    state.mark_started();
    assert_eq!(
        state.apply(1, "restart-connector-c", Some(br#"{"include-tasks":"yes"}"#)),
        Ok(Some(ConfigEvent::RestartRequested("c".into(), RestartFlags::default()))),
        "a missing or invalid flag is false"
    );
}

#[test]
fn cluster_log_levels_count_only_after_the_replay() {
    let mut state = ConfigState::new();
    assert_eq!(
        state.apply(0, "logger-cluster-org.apache.kafka.connect", Some(&value::logger_level("TRACE"))),
        Ok(None)
    );
    state.mark_started();
    assert_eq!(
        state.apply(1, "logger-cluster-connector_jdbc", Some(&value::logger_level("DEBUG"))),
        Ok(Some(ConfigEvent::LoggerLevel("connector_jdbc".into(), "DEBUG".into())))
    );
    assert_eq!(state.apply(2, "logger-cluster-connector_jdbc", Some(br#"{"level":7}"#)), Ok(None));
    assert_eq!(state.offset(), 3);
}

proptest! {
    /// Any key and value: applied or skipped, never a panic, and the offset always advances.
    #[test]
    fn any_record_never_panics(
        records in proptest::collection::vec(("(connector-|task-|commit-|target-state-|session-key|restart-connector-)?\\PC{0,8}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))), 0..20)
    ) {
        let mut state = ConfigState::new();
        for (i, (k, v)) in records.iter().enumerate() {
            let _ = state.apply(i as i64, k, v.as_deref());
            prop_assert_eq!(state.offset(), i as i64 + 1);
        }
        let _ = state.configured();
    }

    /// Tasks are visible exactly when the last commit found every id below its count.
    #[test]
    fn commits_need_every_task(present in proptest::collection::btree_set(0u32..6, 0..6), count in 0u32..6) {
        let mut state = ConfigState::new();
        state.apply(0, "connector-c", Some(&value::properties(&Properties::new()))).unwrap();
        let mut offset = 1;
        for id in &present {
            state.apply(offset, &format!("task-c-{id}"), Some(&value::properties(&Properties::new()))).unwrap();
            offset += 1;
        }
        state.apply(offset, "commit-c", Some(&value::commit(count))).unwrap();
        let complete = (0..count).all(|id| present.contains(&id));
        let want: Vec<u32> = if complete { (0..count).collect() } else { Vec::new() };
        prop_assert_eq!(state.tasks("c"), want);
    }
}
