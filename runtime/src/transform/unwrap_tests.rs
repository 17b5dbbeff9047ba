//! ExtractNewRecordState on Debezium-shaped change events (binlog-cdc.md §3's envelope).

use super::*;
use crate::config::{ConfigReader, ConnectorKind, RawConfig};
use crate::record::SinkRecord;
use crate::transform::Transforms;

fn row_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("shop.inventory.orders.Value")
        .optional()
        .field("id", Schema::primitive(Type::Int32, false))
        .field("name", Schema::primitive(Type::String, true))
        .field("qty", Schema::builder(Type::Int32).optional().default_value(Value::Int32(5)).build())
        .build()
}

fn source_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("io.debezium.connector.mysql.Source")
        .field("version", Schema::primitive(Type::String, false))
        .field("ts_ms", Schema::primitive(Type::Int64, false))
        .field("db", Schema::primitive(Type::String, false))
        .field("table", Schema::primitive(Type::String, true))
        .build()
}

fn transaction_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("event.block")
        .version(1)
        .optional()
        .field("id", Schema::primitive(Type::String, false))
        .field("total_order", Schema::primitive(Type::Int64, false))
        .field("data_collection_order", Schema::primitive(Type::Int64, false))
        .build()
}

fn envelope_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("shop.inventory.orders.Envelope")
        .version(2)
        .field("before", row_schema())
        .field("after", row_schema())
        .field("source", source_schema())
        .field("transaction", transaction_schema())
        .field("op", Schema::primitive(Type::String, false))
        .field("ts_ms", Schema::primitive(Type::Int64, true))
        .build()
}

fn row(id: i32, name: Option<&str>, qty: Option<i32>) -> Value {
    let mut s = Struct::new(row_schema());
    s.put("id", Value::Int32(id))
        .put("name", name.map_or(Value::Null, |n| Value::String(n.into())))
        .put("qty", qty.map_or(Value::Null, Value::Int32));
    Value::Struct(s)
}

fn event(op: &str, before: Value, after: Value) -> SinkRecord {
    let mut source = Struct::new(source_schema());
    source
        .put("version", Value::String("3.1".into()))
        .put("ts_ms", Value::Int64(1_700_000_000_000))
        .put("db", Value::String("inventory".into()))
        .put("table", Value::String("orders".into()));
    let mut e = Struct::new(envelope_schema());
    e.put("before", before)
        .put("after", after)
        .put("source", Value::Struct(source))
        .put("op", Value::String(op.into()))
        .put("ts_ms", Value::Int64(1_700_000_000_123));
    record(Some(envelope_schema()), Value::Struct(e))
}

fn record(value_schema: Option<Schema>, value: Value) -> SinkRecord {
    SinkRecord {
        topic: "shop.inventory.orders".into(),
        kafka_partition: 0,
        kafka_offset: 7,
        key_schema: None,
        key: Value::Null,
        value_schema,
        value,
        timestamp: None,
        headers: Vec::new(),
    }
}

fn try_unwrap(pairs: &[(&str, &str)]) -> Result<Transforms, Vec<String>> {
    let mut raw = RawConfig::new("unwrap.properties");
    raw.insert("transforms", "unwrap", None);
    raw.insert("transforms.unwrap.type", CLASS, None);
    for (k, v) in pairs {
        raw.insert(format!("transforms.unwrap.{k}"), *v, None);
    }
    let mut r = ConfigReader::new(&raw);
    let t = Transforms::parse(&mut r, ConnectorKind::Sink);
    let (errors, _) = r.finish();
    match t {
        Some(t) if errors.is_empty() => Ok(t),
        _ => Err(errors.iter().map(ToString::to_string).collect()),
    }
}

fn unwrap(pairs: &[(&str, &str)]) -> Transforms {
    try_unwrap(pairs).expect("a valid configuration")
}

/// The record after the chain, or `None` when it was dropped.
fn apply(t: &mut Transforms, mut r: SinkRecord) -> Option<SinkRecord> {
    t.apply(&mut r).expect("applies").then_some(r)
}

fn fields(v: &Value) -> Vec<(String, Value)> {
    let Value::Struct(s) = v else { panic!("a struct, got {v:?}") };
    s.schema.fields.iter().map(|f| f.name.clone()).zip(s.values.iter().cloned()).collect()
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

#[test]
fn by_default_a_change_becomes_its_row_and_a_delete_a_null_value_with_the_row_schema() {
    let mut t = unwrap(&[]);
    let out = apply(&mut t, event("c", Value::Null, row(1, Some("a"), Some(2)))).unwrap();
    assert_eq!(out.value, row(1, Some("a"), Some(2)));
    assert_eq!(out.value_schema, Some(row_schema()));
    let out = apply(&mut t, event("u", row(1, Some("a"), Some(2)), row(1, Some("b"), None))).unwrap();
    // no defaults outside the rewrite modes
    assert_eq!(out.value, row(1, Some("b"), None));
    let out = apply(&mut t, event("d", row(1, Some("b"), None), Value::Null)).unwrap();
    assert_eq!(out.value, Value::Null);
    assert_eq!(out.value_schema, Some(row_schema()), "tombstone mode keeps the after schema");
    // Debezium's own tombstone and a truncate are dropped
    assert!(apply(&mut t, record(None, Value::Null)).is_none());
    assert!(apply(&mut t, event("t", Value::Null, Value::Null)).is_none());
}

#[test]
fn tombstone_mode_writes_a_json_envelope_with_a_null_payload() {
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "tombstone")]);
    let out = apply(&mut t, event("d", row(1, None, None), Value::Null)).unwrap();
    let mut bytes = Vec::new();
    let written =
        crate::convert::JsonConverter::new(true).encode(out.value_schema.as_ref(), &out.value, &mut bytes).unwrap();
    assert!(written, "not a Kafka tombstone: JsonConverter writes the schema");
    assert!(String::from_utf8(bytes).unwrap().ends_with(r#""name":"shop.inventory.orders.Value"},"payload":null}"#));
}

#[test]
fn rewrite_adds_deleted_then_the_added_fields_in_order() {
    let mut t = unwrap(&[
        ("delete.tombstone.handling.mode", "rewrite"),
        ("add.fields", "op,table,source.ts_ms,ts_ms,id,nonexistent"),
    ]);
    let out = apply(&mut t, event("c", Value::Null, row(1, Some("a"), Some(2)))).unwrap();
    assert_eq!(
        fields(&out.value),
        vec![
            ("id".into(), Value::Int32(1)),
            ("name".into(), s("a")),
            ("qty".into(), Value::Int32(2)),
            ("__deleted".into(), s("false")),
            ("__op".into(), s("c")),
            ("__table".into(), s("orders")),
            ("__source_ts_ms".into(), Value::Int64(1_700_000_000_000)),
            ("__ts_ms".into(), Value::Int64(1_700_000_000_123)),
            // transaction.id: the struct is null (no transaction metadata)
            ("__id".into(), Value::Null),
        ]
    );
    let schema = out.value_schema.unwrap();
    assert_eq!(schema.name.as_deref(), Some("shop.inventory.orders.Value"));
    assert!(!schema.optional, "Kafka's copySchemaBasics does not copy optionality");
    assert_eq!(schema.field("__deleted").unwrap().schema, Schema::primitive(Type::String, true));
    for added in ["__op", "__table", "__source_ts_ms", "__ts_ms", "__id"] {
        let f = &schema.field(added).unwrap().schema;
        assert!(f.optional && f.default.is_none(), "{added}: an optional copy");
    }
    // a delete: the row before, deleted, op d; the null qty becomes its default
    let out = apply(&mut t, event("d", row(1, Some("a"), None), Value::Null)).unwrap();
    let f = fields(&out.value);
    assert_eq!(f[2], ("qty".into(), Value::Int32(5)));
    assert_eq!(f[3], ("__deleted".into(), s("true")));
    assert_eq!(f[4], ("__op".into(), s("d")));
    // rewrite drops Debezium's tombstones
    assert!(apply(&mut t, record(None, Value::Null)).is_none());
}

#[test]
fn replace_null_with_default_false_keeps_nulls_in_rewrites() {
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "rewrite"), ("replace.null.with.default", "false")]);
    let out = apply(&mut t, event("d", row(1, None, None), Value::Null)).unwrap();
    assert_eq!(fields(&out.value)[2], ("qty".into(), Value::Null));
}

#[test]
fn each_mode_for_deletes_and_tombstones() {
    let delete = || event("d", row(1, None, None), Value::Null);
    let tombstone = || record(None, Value::Null);
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "drop")]);
    assert!(apply(&mut t, delete()).is_none());
    assert!(apply(&mut t, tombstone()).is_none());
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "rewrite-with-tombstone")]);
    assert_eq!(fields(&apply(&mut t, delete()).unwrap().value)[3], ("__deleted".into(), s("true")));
    assert!(apply(&mut t, tombstone()).is_some(), "rewrite-with-tombstone keeps tombstones");
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "delete-to-tombstone")]);
    let out = apply(&mut t, delete()).unwrap();
    assert_eq!((out.value_schema, out.value), (None, Value::Null), "a real tombstone");
    assert!(apply(&mut t, tombstone()).is_none());
    assert!(try_unwrap(&[("delete.tombstone.handling.mode", "keep")]).is_err());
}

#[test]
fn legacy_keys_keep_their_meaning_up_to_debezium_3_1() {
    let delete = || event("d", row(1, None, None), Value::Null);
    let tombstone = || record(None, Value::Null);
    // rewrite + drop.tombstones=false = rewrite-with-tombstone
    let mut t = unwrap(&[("delete.handling.mode", "rewrite"), ("drop.tombstones", "false")]);
    assert_eq!(fields(&apply(&mut t, delete()).unwrap().value)[3], ("__deleted".into(), s("true")));
    assert!(apply(&mut t, tombstone()).is_some());
    // the legacy defaults: deletes and tombstones dropped
    let mut t = unwrap(&[("drop.tombstones", "true")]);
    assert!(apply(&mut t, delete()).is_none());
    assert!(apply(&mut t, tombstone()).is_none());
    // none = tombstone
    let mut t = unwrap(&[("delete.handling.mode", "none")]);
    assert_eq!(apply(&mut t, delete()).unwrap().value_schema, Some(row_schema()));
    // the new key wins over the old ones
    let mut t = unwrap(&[("delete.tombstone.handling.mode", "drop"), ("delete.handling.mode", "rewrite")]);
    assert!(apply(&mut t, delete()).is_none());
    assert!(try_unwrap(&[("delete.handling.mode", "keep")]).is_err());
}

#[test]
fn headers_from_the_envelope_and_op_on_tombstones() {
    let mut t = unwrap(&[
        ("add.headers", "op,source.db:database,ts_ms"),
        ("add.headers.prefix", "dbz."),
        ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
    ]);
    let out = apply(&mut t, event("u", row(1, None, None), row(1, Some("b"), None))).unwrap();
    let headers: Vec<(&str, Option<&[u8]>)> =
        out.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect();
    assert_eq!(
        headers,
        vec![
            ("dbz.op", Some(&b"u"[..])),
            ("dbz.database", Some(&b"inventory"[..])),
            ("dbz.ts_ms", Some(&b"1700000000123"[..]))
        ]
    );
    let out = apply(&mut t, record(None, Value::Null)).unwrap();
    assert_eq!(out.headers.len(), 1);
    assert_eq!((out.headers[0].key.as_str(), out.headers[0].value.as_deref()), ("dbz.op", Some(&b"d"[..])));
}

#[test]
fn add_fields_renames_and_refuses_malformed_entries() {
    let mut t = unwrap(&[("add.fields", "source.ts_ms:EVENT_TS,db"), ("add.fields.prefix", "")]);
    let out = apply(&mut t, event("r", Value::Null, row(1, None, None))).unwrap();
    let names: Vec<String> = fields(&out.value).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["id", "name", "qty", "EVENT_TS", "db"]);
    for bad in ["a:b:c", "a.b.c", ".x", "x:"] {
        let errors = try_unwrap(&[("add.fields", bad)]).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("add.fields")), "{bad}: {errors:?}");
    }
    assert!(try_unwrap(&[("drop.fields.header.name", "h")]).is_err());
}

#[test]
fn route_by_field_and_records_that_are_not_envelopes() {
    let mut t = unwrap(&[("route.by.field", "name")]);
    let out = apply(&mut t, event("c", Value::Null, row(1, Some("eu_orders"), None))).unwrap();
    assert_eq!(&*out.topic, "eu_orders");
    let out = apply(&mut t, event("d", row(1, Some("us_orders"), None), Value::Null)).unwrap();
    assert_eq!(&*out.topic, "us_orders", "deletes route by the row before");
    let out = apply(&mut t, event("c", Value::Null, row(2, None, None))).unwrap();
    assert_eq!(&*out.topic, "shop.inventory.orders", "a null column keeps the topic");
    // a heartbeat or schema change (not an Envelope) and schemaless data pass unchanged
    let plain = record(Some(row_schema()), row(1, Some("x"), None));
    assert_eq!(apply(&mut t, plain.clone()).unwrap().value, plain.value);
    let schemaless = record(None, Value::Map(vec![(s("op"), s("c"))]));
    assert_eq!(apply(&mut t, schemaless.clone()).unwrap().value, schemaless.value);
}

fn key_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("shop.inventory.orders.Key")
        .field("id", Schema::primitive(Type::Int32, false))
        .build()
}

fn router(pairs: &[(&str, &str)]) -> Transforms {
    let mut raw = RawConfig::new("router.properties");
    raw.insert("transforms", "route", None);
    raw.insert("transforms.route.type", "io.debezium.transforms.ByLogicalTableRouter", None);
    for (k, v) in pairs {
        raw.insert(format!("transforms.route.{k}"), *v, None);
    }
    let mut r = ConfigReader::new(&raw);
    let t = Transforms::parse(&mut r, ConnectorKind::Source);
    let (errors, _) = r.finish();
    assert!(errors.is_empty(), "{errors:?}");
    t.unwrap()
}

#[test]
fn by_logical_table_router_merges_shards_into_one_topic() {
    let mut t = router(&[("topic.regex", "shop\\.inventory\\.(orders)"), ("topic.replacement", "all_$1")]);
    let mut r = event("c", Value::Null, row(1, Some("a"), None));
    let mut key = Struct::new(key_schema());
    key.put("id", Value::Int32(1));
    (r.key_schema, r.key) = (Some(key_schema()), Value::Struct(key));
    assert!(t.apply(&mut r).unwrap());
    assert_eq!(&*r.topic, "all_orders");
    let ks = r.key_schema.clone().unwrap();
    assert_eq!(ks.name.as_deref(), Some("all_orders.Key"));
    assert_eq!(
        fields(&r.key),
        vec![("id".into(), Value::Int32(1)), ("__dbz__physicalTableIdentifier".into(), s("shop.inventory.orders"))]
    );
    let vs = r.value_schema.clone().unwrap();
    assert_eq!(vs.name.as_deref(), Some("all_orders.Envelope"));
    assert_eq!(vs.version, Some(2));
    assert_eq!(vs.field("after").unwrap().schema.name.as_deref(), Some("all_orders.Value"));
    assert!(vs.field("after").unwrap().schema.optional);
    let Value::Struct(env) = &r.value else { panic!() };
    let Some(Value::Struct(after)) = env.get("after") else { panic!() };
    assert_eq!(after.schema.name.as_deref(), Some("all_orders.Value"), "the row carries the renamed schema");
    // a topic the regex does not match keeps everything; a tombstone gets the topic and key only
    let mut other = event("c", Value::Null, row(1, None, None));
    other.topic = "shop.inventory.customers".into();
    t.apply(&mut other).unwrap();
    assert_eq!(other.value_schema, Some(envelope_schema()));
    let mut tombstone = record(None, Value::Null);
    let mut key = Struct::new(key_schema());
    key.put("id", Value::Int32(2));
    (tombstone.key_schema, tombstone.key) = (Some(key_schema()), Value::Struct(key));
    t.apply(&mut tombstone).unwrap();
    assert_eq!((&*tombstone.topic, tombstone.value), ("all_orders", Value::Null));
    // key.field.regex names the shard; uniqueness off leaves the key's fields alone
    let mut t = router(&[
        ("topic.regex", "(.*)\\.inventory\\.orders"),
        ("topic.replacement", "orders"),
        ("key.field.regex", "(.*)\\.inventory\\.orders"),
        ("key.field.replacement", "$1"),
        ("key.field.name", "shard"),
    ]);
    let mut r = event("c", Value::Null, row(1, None, None));
    let mut key = Struct::new(key_schema());
    key.put("id", Value::Int32(1));
    (r.key_schema, r.key) = (Some(key_schema()), Value::Struct(key));
    t.apply(&mut r).unwrap();
    assert_eq!(fields(&r.key)[1], ("shard".into(), s("shop")));
}
