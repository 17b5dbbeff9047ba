//! The transforms on source and sink records, with and without schemas.

use std::sync::Arc;

use super::*;
use crate::config::RawConfig;
use crate::data::{Struct, Type};
use crate::record::{SinkRecord, SourceRecord};

pub(super) fn chain(pairs: &[(&str, &str)], kind: ConnectorKind) -> Transforms {
    let mut raw = RawConfig::new("t.properties");
    for (k, v) in pairs {
        raw.insert(*k, *v, None);
    }
    let mut r = ConfigReader::new(&raw);
    let t = Transforms::parse(&mut r, kind);
    let (errors, _) = r.finish();
    assert!(errors.is_empty(), "{errors:?}");
    t.unwrap()
}

fn order_schema() -> Schema {
    Schema::builder(Type::Struct)
        .name("orders")
        .field("id", Schema::primitive(Type::Int32, false))
        .field("name", Schema::primitive(Type::String, true))
        .field("secret", Schema::primitive(Type::String, true))
        .build()
}

fn order(id: i32) -> Value {
    let mut s = Struct::new(order_schema());
    s.put("id", Value::Int32(id)).put("name", Value::String("a".into())).put("secret", Value::String("x".into()));
    Value::Struct(s)
}

pub(super) fn sink_record(topic: &str, value_schema: Option<Schema>, value: Value) -> SinkRecord {
    SinkRecord {
        topic: topic.into(),
        kafka_partition: 3,
        kafka_offset: 42,
        key_schema: None,
        key: Value::Null,
        value_schema,
        value,
        timestamp: Some(1_700_000_000_000),
        headers: Vec::new(),
    }
}

fn json(schema: Option<&Schema>, value: &Value) -> String {
    let mut out = Vec::new();
    crate::convert::JsonConverter::new(true).encode(schema, value, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn insert_field_with_schema_appends_in_kafka_order() {
    let mut t = chain(
        &[
            ("transforms", "ins"),
            ("transforms.ins.type", "org.apache.kafka.connect.transforms.InsertField$Value"),
            ("transforms.ins.topic.field", "t!"),
            ("transforms.ins.partition.field", "p"),
            ("transforms.ins.offset.field", "o"),
            ("transforms.ins.timestamp.field", "ts"),
            ("transforms.ins.static.field", "dc"),
            ("transforms.ins.static.value", "eu-1"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("orders", Some(order_schema()), order(7));
    t.apply(&mut r).unwrap();
    assert_eq!(
        json(r.value_schema.as_ref(), &r.value),
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},{"type":"string","optional":true,"field":"secret"},"#,
            r#"{"type":"string","optional":false,"field":"t"},{"type":"int32","optional":true,"field":"p"},"#,
            r#"{"type":"int64","optional":true,"field":"o"},"#,
            r#"{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},"#,
            r#"{"type":"string","optional":true,"field":"dc"}],"optional":false,"name":"orders"},"#,
            r#""payload":{"id":7,"name":"a","secret":"x","t":"orders","p":3,"o":42,"ts":1700000000000,"dc":"eu-1"}}"#
        )
    );
    // tombstones pass through
    let mut tomb = sink_record("orders", Some(order_schema()), Value::Null);
    t.apply(&mut tomb).unwrap();
    assert_eq!(tomb.value, Value::Null);
}

#[test]
fn insert_field_schemaless_and_errors() {
    let mut t = chain(
        &[("transforms", "i"), ("transforms.i.type", "InsertField$Value"), ("transforms.i.topic.field", "topic")],
        ConnectorKind::Source,
    );
    let mut r = SourceRecord::new(
        (),
        (),
        Arc::from("t1"),
        None,
        Value::Map(vec![(Value::String("a".into()), Value::Int64(1))]),
    );
    t.apply(&mut r).unwrap();
    assert_eq!(json(None, &r.value), r#"{"schema":null,"payload":{"a":1,"topic":"t1"}}"#);
    let mut bad = SourceRecord::new((), (), Arc::from("t1"), Some(Schema::string()), Value::String("line".into()));
    let e = t.apply(&mut bad).unwrap_err();
    assert_eq!(e.alias, "i");
    assert_eq!(e.class, "org.apache.kafka.connect.transforms.InsertField$Value");
    assert!(e.message.contains("Only Struct objects supported"), "{e}");
    // offset insertion is for sinks only, refused at start
    let mut raw = RawConfig::new("t.properties");
    raw.insert("transforms", "i", Some(1));
    raw.insert("transforms.i.type", "InsertField$Value", Some(2));
    raw.insert("transforms.i.offset.field", "o", Some(3));
    let mut reader = ConfigReader::new(&raw);
    assert!(Transforms::parse(&mut reader, ConnectorKind::Source).is_none());
    let (errors, _) = reader.finish();
    assert!(errors[0].to_string().starts_with("t.properties:3: transforms.i.offset.field: expected no offset field"));
}

#[test]
fn replace_field_include_exclude_renames() {
    let mut t = chain(
        &[
            ("transforms", "r"),
            ("transforms.r.type", "org.apache.kafka.connect.transforms.ReplaceField$Value"),
            ("transforms.r.exclude", "secret"),
            ("transforms.r.renames", "id:order_id"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("orders", Some(order_schema()), order(1));
    t.apply(&mut r).unwrap();
    assert_eq!(
        json(r.value_schema.as_ref(), &r.value),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"order_id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"orders"},"payload":{"order_id":1,"name":"a"}}"#
    );
    let mut include = chain(
        &[("transforms", "r"), ("transforms.r.type", "ReplaceField$Value"), ("transforms.r.whitelist", "name")],
        ConnectorKind::Sink,
    );
    let mut m = sink_record(
        "t",
        None,
        Value::Map(vec![
            (Value::String("id".into()), Value::Int64(1)),
            (Value::String("name".into()), Value::Int64(2)),
        ]),
    );
    include.apply(&mut m).unwrap();
    assert_eq!(json(None, &m.value), r#"{"schema":null,"payload":{"name":2}}"#);
}

#[test]
fn value_to_key_then_extract_field_key() {
    let mut t = chain(
        &[
            ("transforms", "createKey,extractInt"),
            ("transforms.createKey.type", "org.apache.kafka.connect.transforms.ValueToKey"),
            ("transforms.createKey.fields", "id"),
            ("transforms.extractInt.type", "org.apache.kafka.connect.transforms.ExtractField$Key"),
            ("transforms.extractInt.field", "id"),
        ],
        ConnectorKind::Source,
    );
    let mut r = SourceRecord::new((), (), Arc::from("orders"), Some(order_schema()), order(9));
    t.apply(&mut r).unwrap();
    assert_eq!(json(r.key_schema.as_ref(), &r.key), r#"{"schema":{"type":"int32","optional":false},"payload":9}"#);
    let mut only_key = chain(
        &[("transforms", "k"), ("transforms.k.type", "ValueToKey"), ("transforms.k.fields", "id,name")],
        ConnectorKind::Source,
    );
    let mut r = SourceRecord::new((), (), Arc::from("orders"), Some(order_schema()), order(9));
    only_key.apply(&mut r).unwrap();
    assert_eq!(
        json(r.key_schema.as_ref(), &r.key),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false},"payload":{"id":9,"name":"a"}}"#
    );
}

#[test]
fn regex_router_uses_java_semantics() {
    let mut t = chain(
        &[
            ("transforms", "route"),
            ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
            ("transforms.route.regex", "(.*)orders"),
            ("transforms.route.replacement", "$1orders_v2"),
        ],
        ConnectorKind::Source,
    );
    let mut r = SourceRecord::new((), (), Arc::from("shop.orders"), None, Value::Null);
    t.apply(&mut r).unwrap();
    assert_eq!(&*r.topic, "shop.orders_v2");
    // the whole topic must match
    let mut other = SourceRecord::new((), (), Arc::from("orders.archive"), None, Value::Null);
    t.apply(&mut other).unwrap();
    assert_eq!(&*other.topic, "orders.archive");
    // Java reads $12 as group 1 then "2" when there is no group 12; \$ is a dollar; ${name}
    let re = regex::Regex::new("^(?:(a)(?<rest>.*))$").unwrap();
    let names: Vec<&str> = re.capture_names().flatten().collect();
    let rep = JavaReplacement::parse("$12-\\$-${rest}", 2, &names).unwrap();
    let caps = re.captures("abc").unwrap();
    assert_eq!(rep.expand(&caps), "a2-$-bc");
    assert!(JavaReplacement::parse("$3", 2, &[]).is_err());
    assert!(JavaReplacement::parse("a$", 2, &[]).is_err());
}

#[test]
fn timestamp_router_formats_in_utc() {
    let mut t = chain(&[("transforms", "ts"), ("transforms.ts.type", "TimestampRouter")], ConnectorKind::Sink);
    let mut r = sink_record("events", None, Value::Null);
    t.apply(&mut r).unwrap();
    assert_eq!(&*r.topic, "events-20231114");
    let f = java_date_format("yyyy-MM-dd'T'HH:mm:ss.SSS E MMM yy D a hh").unwrap();
    assert_eq!(f.format(1_700_000_000_123), "2023-11-14T22:13:20.123 Tue Nov 23 318 PM 10");
    assert!(java_date_format("YYYY").unwrap_err().contains("week year"));
    let mut missing = sink_record("events", None, Value::Null);
    missing.timestamp = None;
    assert!(t.apply(&mut missing).unwrap_err().message.contains("Timestamp missing"));
}

#[test]
fn filter_with_predicates_and_negation() {
    let mut t = chain(
        &[
            ("transforms", "dropTombstones,onlyOrders,route"),
            ("transforms.dropTombstones.type", "org.apache.kafka.connect.transforms.Filter"),
            ("transforms.dropTombstones.predicate", "isTombstone"),
            ("transforms.onlyOrders.type", "Filter"),
            ("transforms.onlyOrders.predicate", "isOrders"),
            ("transforms.onlyOrders.negate", "true"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", ".*"),
            ("transforms.route.replacement", "audited"),
            ("transforms.route.predicate", "hasAudit"),
            ("predicates", "isTombstone,isOrders,hasAudit"),
            ("predicates.isTombstone.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
            ("predicates.isOrders.type", "TopicNameMatches"),
            ("predicates.isOrders.pattern", "orders.*"),
            ("predicates.hasAudit.type", "HasHeaderKey"),
            ("predicates.hasAudit.name", "audit"),
        ],
        ConnectorKind::Sink,
    );
    let mut tomb = sink_record("orders", None, Value::Null);
    assert!(!t.apply(&mut tomb).unwrap(), "tombstones are dropped");
    let mut other = sink_record("users", None, Value::String("x".into()));
    assert!(!t.apply(&mut other).unwrap(), "non-orders topics are dropped");
    let mut kept = sink_record("orders-eu", None, Value::String("x".into()));
    assert!(t.apply(&mut kept).unwrap());
    assert_eq!(&*kept.topic, "orders-eu", "no audit header: not routed");
    let mut audited = sink_record("orders-eu", None, Value::String("x".into()));
    audited.headers.push(crate::record::Header { key: "audit".into(), value: None });
    assert!(t.apply(&mut audited).unwrap());
    assert_eq!(&*audited.topic, "audited");
    // an unknown predicate alias is a config error
    let mut raw = RawConfig::new("t.properties");
    raw.insert("transforms", "f", Some(1));
    raw.insert("transforms.f.type", "Filter", Some(2));
    raw.insert("transforms.f.predicate", "nope", Some(3));
    let mut reader = ConfigReader::new(&raw);
    assert!(Transforms::parse(&mut reader, ConnectorKind::Sink).is_none());
    let (errors, _) = reader.finish();
    assert_eq!(
        errors[0].to_string(),
        "t.properties:3: transforms.f.predicate: expected the alias of a predicate listed in predicates, got \"nope\""
    );
}

proptest::proptest! {
    /// Any pattern and any instant: a string or an error, never a panic (issue 12).
    #[test]
    fn any_pattern_any_instant_never_panics(pattern in "\\PC{0,40}", ms in proptest::num::i64::ANY) {
        if let Ok(f) = super::router::java_date_format(&pattern) {
            let _ = f.format(ms);
        }
    }
}

#[test]
fn mask_field_with_schema_schemaless_and_a_tombstone() {
    let mut t = chain(
        &[
            ("transforms", "m"),
            ("transforms.m.type", "org.apache.kafka.connect.transforms.MaskField$Value"),
            ("transforms.m.fields", "secret,id"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", Some(order_schema()), order(7));
    assert!(t.apply(&mut r).unwrap());
    assert_eq!(
        json(r.value_schema.as_ref(), &r.value).rsplit_once("\"payload\":").unwrap().1,
        r#"{"id":0,"name":"a","secret":""}}"#
    );
    assert_eq!(r.value_schema, Some(order_schema()), "the schema is unchanged");
    let mut r = sink_record("t", None, Value::Map(vec![(Value::String("secret".into()), Value::Int64(5))]));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Map(vec![(Value::String("secret".into()), Value::Int64(0))]));
    let mut r = sink_record("t", Some(order_schema()), Value::Null);
    assert!(t.apply(&mut r).unwrap_err().message.contains("Only Struct objects supported"), "a tombstone fails");
    let mut t = chain(
        &[
            ("transforms", "m"),
            ("transforms.m.type", "org.apache.kafka.connect.transforms.MaskField$Value"),
            ("transforms.m.fields", "secret"),
            ("transforms.m.replacement", "***"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", Some(order_schema()), order(7));
    t.apply(&mut r).unwrap();
    let Value::Struct(s) = &r.value else { panic!() };
    assert_eq!(s.get("secret"), Some(&Value::String("***".into())));
}

#[test]
fn hoist_field_wraps_key_and_value() {
    let mut t = chain(
        &[
            ("transforms", "h"),
            ("transforms.h.type", "org.apache.kafka.connect.transforms.HoistField$Key"),
            ("transforms.h.field", "id"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", None, Value::Null);
    r.key_schema = Some(Schema::primitive(Type::Int32, false));
    r.key = Value::Int32(42);
    t.apply(&mut r).unwrap();
    assert_eq!(
        json(r.key_schema.as_ref(), &r.key),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"id":42}}"#
    );
    let mut r = sink_record("t", None, Value::Null);
    r.key = Value::String("k".into());
    t.apply(&mut r).unwrap();
    assert_eq!(r.key, Value::Map(vec![(Value::String("id".into()), Value::String("k".into()))]));
    let mut r = sink_record("t", None, Value::Null);
    r.key_schema = Some(Schema::primitive(Type::Int32, false));
    assert!(t.apply(&mut r).unwrap_err().message.contains("null used for required field"));
}

#[test]
fn set_schema_metadata_renames_the_top_level_schema() {
    let mut t = chain(
        &[
            ("transforms", "s"),
            ("transforms.s.type", "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value"),
            ("transforms.s.schema.name", "com.example.Order"),
            ("transforms.s.schema.version", "3"),
        ],
        ConnectorKind::Source,
    );
    let mut r = sink_record("t", Some(order_schema()), order(1));
    t.apply(&mut r).unwrap();
    let s = r.value_schema.clone().unwrap();
    assert_eq!((s.name.as_deref(), s.version), (Some("com.example.Order"), Some(3)));
    let Value::Struct(v) = &r.value else { panic!() };
    assert_eq!(v.schema, s, "the struct carries the new schema");
    let mut r = sink_record("t", None, Value::String("x".into()));
    assert!(t.apply(&mut r).unwrap_err().message.contains("Schema required"));
    let mut r = sink_record("t", None, Value::Null);
    assert!(t.apply(&mut r).unwrap(), "a schemaless tombstone passes");
    let mut raw = RawConfig::new("t.properties");
    raw.insert("transforms", "s", None);
    raw.insert("transforms.s.type", "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value", None);
    let mut reader = ConfigReader::new(&raw);
    let _ = Transforms::parse(&mut reader, ConnectorKind::Sink);
    let (errors, _) = reader.finish();
    assert!(errors.iter().any(|e| e.to_string().contains("schema.name")), "{errors:?}");
}

#[test]
fn insert_and_drop_headers() {
    let mut t = chain(
        &[
            ("transforms", "i,d"),
            ("transforms.i.type", "org.apache.kafka.connect.transforms.InsertHeader"),
            ("transforms.i.header", "source"),
            ("transforms.i.value.literal", "42"),
            ("transforms.d.type", "org.apache.kafka.connect.transforms.DropHeaders"),
            ("transforms.d.headers", "trace,span"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", None, Value::Null);
    r.headers = vec![
        crate::record::Header { key: "trace".into(), value: Some(b"1".to_vec()) },
        crate::record::Header { key: "keep".into(), value: None },
        crate::record::Header { key: "trace".into(), value: Some(b"2".to_vec()) },
    ];
    t.apply(&mut r).unwrap();
    let got: Vec<(&str, Option<&[u8]>)> = r.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect();
    assert_eq!(got, [("keep", None), ("source", Some(&b"42"[..]))]);
}

#[test]
fn flatten_with_schema_optional_defaults_and_null_structs() {
    let address = Schema::builder(Type::Struct)
        .optional()
        .field("city", Schema::primitive(Type::String, false))
        .field("zip", Schema::builder(Type::Int32).default_value(Value::Int32(0)).build())
        .field("tags", Schema::array(Schema::primitive(Type::String, false)).build())
        .build();
    let schema = Schema::builder(Type::Struct)
        .name("customer")
        .field("id", Schema::primitive(Type::Int64, false))
        .field("address", address.clone())
        .build();
    let mut t = chain(
        &[
            ("transforms", "f"),
            ("transforms.f.type", "org.apache.kafka.connect.transforms.Flatten$Value"),
            ("transforms.f.delimiter", "_"),
        ],
        ConnectorKind::Sink,
    );
    let mut a = Struct::new(address.clone());
    a.put("city", Value::String("Oslo".into())).put("tags", Value::Array(vec![Value::String("x".into())]));
    let mut v = Struct::new(schema.clone());
    v.put("id", Value::Int64(1)).put("address", Value::Struct(a));
    let mut r = sink_record("t", Some(schema.clone()), Value::Struct(v));
    t.apply(&mut r).unwrap();
    assert_eq!(
        json(r.value_schema.as_ref(), &r.value),
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"address_city"},"#,
            r#"{"type":"int32","optional":true,"default":0,"field":"address_zip"},"#,
            r#"{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"address_tags"}],"#,
            r#""optional":false,"name":"customer"},"payload":{"id":1,"address_city":"Oslo","address_zip":0,"address_tags":["x"]}}"#
        )
    );
    // a null nested struct leaves its fields null; a tombstone passes
    let mut v = Struct::new(schema.clone());
    v.put("id", Value::Int64(2));
    let mut r = sink_record("t", Some(schema.clone()), Value::Struct(v));
    t.apply(&mut r).unwrap();
    assert!(json(r.value_schema.as_ref(), &r.value)
        .ends_with(r#""payload":{"id":2,"address_city":null,"address_zip":0,"address_tags":null}}"#));
    let mut r = sink_record("t", Some(schema), Value::Null);
    assert!(t.apply(&mut r).unwrap());
    assert_eq!(r.value, Value::Null);
    // a map inside a record with a schema fails, as in Kafka
    let with_map =
        Schema::builder(Type::Struct).field("m", Schema::map(Schema::string(), Schema::string()).build()).build();
    let mut r = sink_record("t", Some(with_map.clone()), Value::Struct(Struct::new(with_map)));
    assert!(t.apply(&mut r).unwrap_err().message.contains("does not support MAP"));
}

#[test]
fn flatten_schemaless_maps() {
    let mut t = chain(
        &[("transforms", "f"), ("transforms.f.type", "org.apache.kafka.connect.transforms.Flatten$Value")],
        ConnectorKind::Sink,
    );
    let s = |t: &str| Value::String(t.into());
    let nested = Value::Map(vec![(s("b"), Value::Int32(1)), (s("c"), Value::Null)]);
    let mut r =
        sink_record("t", None, Value::Map(vec![(s("a"), nested), (s("d"), Value::Array(vec![Value::Int32(2)]))]));
    t.apply(&mut r).unwrap();
    assert_eq!(
        r.value,
        Value::Map(vec![
            (s("a.b"), Value::Int32(1)),
            (s("a.c"), Value::Null),
            (s("d"), Value::Array(vec![Value::Int32(2)]))
        ])
    );
    let mut r = sink_record("t", None, s("x"));
    assert!(t.apply(&mut r).unwrap_err().message.contains("Only Map objects"));
}

#[test]
fn cast_struct_fields_and_the_whole_value() {
    let schema = Schema::builder(Type::Struct)
        .name("item")
        .field("id", Schema::primitive(Type::Int64, false))
        .field("price", Schema::decimal(2).optional().build())
        .field("qty", Schema::builder(Type::Int32).optional().default_value(Value::Int32(1)).build())
        .build();
    let mut t = chain(
        &[
            ("transforms", "c"),
            ("transforms.c.type", "org.apache.kafka.connect.transforms.Cast$Value"),
            ("transforms.c.spec", "price:float64,qty:string,id:STRING"),
        ],
        ConnectorKind::Sink,
    );
    let mut v = Struct::new(schema.clone());
    v.put("id", Value::Int64(7)).put("price", Value::Decimal(num_bigint::BigInt::from(1999), 2));
    let mut r = sink_record("t", Some(schema), Value::Struct(v));
    t.apply(&mut r).unwrap();
    assert_eq!(
        json(r.value_schema.as_ref(), &r.value),
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},"#,
            r#"{"type":"double","optional":true,"field":"price"},"#,
            r#"{"type":"string","optional":true,"default":"1","field":"qty"}],"optional":false,"name":"item"},"#,
            r#""payload":{"id":"7","price":19.99,"qty":"1"}}"#
        ),
        "the decimal's logical name is dropped; the null qty takes its default, cast"
    );
    let mut t = chain(
        &[
            ("transforms", "c"),
            ("transforms.c.type", "org.apache.kafka.connect.transforms.Cast$Key"),
            ("transforms.c.spec", "int32"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", None, Value::Null);
    r.key_schema = Some(Schema::primitive(Type::String, false));
    r.key = Value::String("12".into());
    t.apply(&mut r).unwrap();
    assert_eq!((r.key_schema.unwrap().ty, r.key), (Type::Int32, Value::Int32(12)));
    let mut t = chain(
        &[
            ("transforms", "c"),
            ("transforms.c.type", "org.apache.kafka.connect.transforms.Cast$Value"),
            ("transforms.c.spec", "n:int8"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", None, Value::Map(vec![]));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Map(vec![(Value::String("n".into()), Value::Null)]), "a missing field is added as null");
}

#[test]
fn header_from_copies_and_moves_fields() {
    let mut t = chain(
        &[
            ("transforms", "h"),
            ("transforms.h.type", "org.apache.kafka.connect.transforms.HeaderFrom$Value"),
            ("transforms.h.fields", "id,secret"),
            ("transforms.h.headers", "order-id,s"),
            ("transforms.h.operation", "move"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", Some(order_schema()), order(9));
    t.apply(&mut r).unwrap();
    let got: Vec<(&str, Option<&[u8]>)> = r.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect();
    assert_eq!(got, [("order-id", Some(&b"9"[..])), ("s", Some(&b"x"[..]))]);
    assert!(json(r.value_schema.as_ref(), &r.value).ends_with(r#""payload":{"name":"a"}}"#), "moved out of the value");
    let mut r = sink_record("t", Some(order_schema()), Value::Null);
    assert!(t.apply(&mut r).is_err(), "a tombstone fails, as in Kafka");
    let mut raw = RawConfig::new("t.properties");
    for (k, v) in [
        ("transforms", "h"),
        ("transforms.h.type", "org.apache.kafka.connect.transforms.HeaderFrom$Key"),
        ("transforms.h.fields", "a,b"),
        ("transforms.h.headers", "a"),
        ("transforms.h.operation", "copy"),
    ] {
        raw.insert(k, v, None);
    }
    let mut reader = ConfigReader::new(&raw);
    let _ = Transforms::parse(&mut reader, ConnectorKind::Sink);
    let (errors, _) = reader.finish();
    assert!(errors.iter().any(|e| e.to_string().contains("as many header names as fields")), "{errors:?}");
}

fn timestamp_converter(side: &str, pairs: &[(&str, &str)]) -> Transforms {
    let class = format!("org.apache.kafka.connect.transforms.TimestampConverter${side}");
    let mut all = vec![("transforms", "tc"), ("transforms.tc.type", class.as_str())];
    let keys: Vec<(String, &str)> = pairs.iter().map(|(k, v)| (format!("transforms.tc.{k}"), *v)).collect();
    all.extend(keys.iter().map(|(k, v)| (k.as_str(), *v)));
    chain(&all, ConnectorKind::Sink)
}

#[test]
fn timestamp_converter_between_kinds() {
    const TS: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z
    let schema = Schema::builder(Type::Struct)
        .field("id", Schema::primitive(Type::Int32, false))
        .field("ts", Schema::timestamp().optional().build())
        .build();
    let row = |ts: Value| {
        let mut s = Struct::new(schema.clone());
        s.put("id", Value::Int32(1)).put("ts", ts);
        Value::Struct(s)
    };
    let mut t = timestamp_converter(
        "Value",
        &[("field", "ts"), ("target.type", "string"), ("format", "yyyy-MM-dd HH:mm:ss.SSS")],
    );
    let mut r = sink_record("t", Some(schema.clone()), row(Value::Timestamp(TS)));
    t.apply(&mut r).unwrap();
    assert!(json(r.value_schema.as_ref(), &r.value).ends_with(
        r#"{"type":"string","optional":true,"field":"ts"}],"optional":false},"payload":{"id":1,"ts":"2023-11-14 22:13:20.123"}}"#
    ));
    let mut r = sink_record("t", Some(schema.clone()), row(Value::Null));
    t.apply(&mut r).unwrap();
    let Value::Struct(s) = &r.value else { panic!() };
    assert_eq!(s.get("ts"), Some(&Value::Null), "a null stays null");
    for (target, expected) in [
        ("unix", Value::Int64(TS)),
        ("Date", Value::Date(19_675)),
        ("Time", Value::Time((TS % 86_400_000) as i32)),
        ("Timestamp", Value::Timestamp(TS)),
    ] {
        let mut t = timestamp_converter("Value", &[("field", "ts"), ("target.type", target)]);
        let mut r = sink_record("t", Some(schema.clone()), row(Value::Timestamp(TS)));
        t.apply(&mut r).unwrap();
        let Value::Struct(s) = &r.value else { panic!() };
        assert_eq!(s.get("ts"), Some(&expected), "{target}");
    }
    // unix microseconds in, seconds out; a string parsed with the format
    let mut t = timestamp_converter("Key", &[("target.type", "Timestamp"), ("unix.precision", "microseconds")]);
    let mut r = sink_record("t", None, Value::Null);
    (r.key_schema, r.key) = (Some(Schema::primitive(Type::Int64, false)), Value::Int64(TS * 1000 + 456));
    t.apply(&mut r).unwrap();
    assert_eq!((r.key_schema.unwrap().name.as_deref(), r.key), (Some(crate::data::TIMESTAMP), Value::Timestamp(TS)));
    let mut t = timestamp_converter(
        "Value",
        &[("target.type", "unix"), ("unix.precision", "seconds"), ("format", "dd MMM yy hh:mm:ss a")],
    );
    let mut r = sink_record("t", None, Value::String("14 Nov 23 10:13:20 PM".into()));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Int64(1_700_000_000));
    let mut r = sink_record("t", None, Value::String("yesterday".into()));
    assert!(t.apply(&mut r).unwrap_err().message.contains("does not match pattern (dd MMM yy hh:mm:ss a)"));
    // Debezium's INT32 io.debezium.time.Date is not a timestamp type, as in Kafka
    let mut t = timestamp_converter("Value", &[("target.type", "Timestamp")]);
    let mut r =
        sink_record("t", Some(Schema::builder(Type::Int32).name("io.debezium.time.Date").build()), Value::Int32(1));
    assert!(t.apply(&mut r).unwrap_err().message.contains("does not correspond to a known timestamp type"));
    // schemaless map field
    let mut t = timestamp_converter("Value", &[("field", "at"), ("target.type", "string"), ("format", "yyyy-MM-dd")]);
    let mut r = sink_record("t", None, Value::Map(vec![(Value::String("at".into()), Value::Int64(TS))]));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Map(vec![(Value::String("at".into()), Value::String("2023-11-14".into()))]));
}

pub(super) fn envelope() -> (Schema, Value) {
    let after = Schema::builder(Type::Struct)
        .name("orders")
        .field("id", Schema::primitive(Type::Int32, false))
        .field("name", Schema::primitive(Type::String, true))
        .field("secret", Schema::primitive(Type::String, true))
        .optional()
        .build();
    let mut row = Struct::new(after.clone());
    row.put("id", Value::Int32(5));
    let schema = Schema::builder(Type::Struct)
        .name("shop.orders.Envelope")
        .field("after", after)
        .field("op", Schema::primitive(Type::String, false))
        .build();
    let mut s = Struct::new(schema.clone());
    s.put("after", Value::Struct(row)).put("op", Value::String("c".into()));
    (schema, Value::Struct(s))
}

#[test]
fn extract_field_v2_reaches_nested_fields_with_and_without_schema() {
    let mut t = chain(
        &[
            ("transforms", "id"),
            ("transforms.id.type", "org.apache.kafka.connect.transforms.ExtractField$Value"),
            ("transforms.id.field", "after.id"),
            ("transforms.id.field.syntax.version", "V2"),
        ],
        ConnectorKind::Sink,
    );
    let (schema, value) = envelope();
    let mut r = sink_record("t", Some(schema.clone()), value);
    t.apply(&mut r).unwrap();
    assert_eq!(json(r.value_schema.as_ref(), &r.value), r#"{"schema":{"type":"int32","optional":false},"payload":5}"#);

    // a null struct on the way gives null with the nested field's schema
    let mut s = Struct::new(schema.clone());
    s.put("op", Value::String("d".into()));
    let mut r = sink_record("t", Some(schema), Value::Struct(s));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Null);
    assert_eq!(r.value_schema.as_ref().map(|s| s.ty), Some(Type::Int32));

    // schemaless: maps all the way down; a missing step gives null
    let inner = Value::Map(vec![(Value::String("id".into()), Value::Int64(7))]);
    let mut r = sink_record("t", None, Value::Map(vec![(Value::String("after".into()), inner)]));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Int64(7));
    let mut r = sink_record("t", None, Value::Map(vec![(Value::String("before".into()), Value::Null)]));
    t.apply(&mut r).unwrap();
    assert_eq!(r.value, Value::Null);
    // a step that is neither a map nor null fails the record
    let mut r = sink_record("t", None, Value::Map(vec![(Value::String("after".into()), Value::Int64(1))]));
    let err = t.apply(&mut r).unwrap_err().to_string();
    assert!(err.contains("Only Map objects supported in absence of schema for [nested field access]"), "{err}");
}

#[test]
fn extract_field_v1_takes_dots_literally_and_v2_escapes_them_with_backticks() {
    let schema = Schema::builder(Type::Struct)
        .field("a.b", Schema::primitive(Type::String, false))
        .field("a", Schema::builder(Type::Struct).field("b", Schema::primitive(Type::Int64, false)).build())
        .build();
    let mut inner = Struct::new(schema.field("a").unwrap().schema.clone());
    inner.put("b", Value::Int64(2));
    let mut outer = Struct::new(schema.clone());
    outer.put("a.b", Value::String("dotted".into())).put("a", Value::Struct(inner));
    let value = Value::Struct(outer);
    for (version, field, want) in [
        ("V1", "a.b", Value::String("dotted".into())),
        ("V2", "`a.b`", Value::String("dotted".into())),
        ("V2", "a.b", Value::Int64(2)),
    ] {
        let mut t = chain(
            &[
                ("transforms", "x"),
                ("transforms.x.type", "org.apache.kafka.connect.transforms.ExtractField$Value"),
                ("transforms.x.field", field),
                ("transforms.x.field.syntax.version", version),
            ],
            ConnectorKind::Sink,
        );
        let mut r = sink_record("t", Some(schema.clone()), value.clone());
        t.apply(&mut r).unwrap();
        assert_eq!(r.value, want, "{version} {field}");
    }
    let mut t = chain(
        &[
            ("transforms", "x"),
            ("transforms.x.type", "org.apache.kafka.connect.transforms.ExtractField$Value"),
            ("transforms.x.field", "a.c"),
            ("transforms.x.field.syntax.version", "V2"),
        ],
        ConnectorKind::Sink,
    );
    let mut r = sink_record("t", Some(schema), value);
    assert!(t.apply(&mut r).unwrap_err().to_string().contains("Unknown field: a.c"));
}

#[test]
fn extract_field_v2_refuses_an_unclosed_backtick_at_start() {
    let mut raw = RawConfig::new("t.properties");
    for (k, v) in [
        ("transforms", "x"),
        ("transforms.x.type", "org.apache.kafka.connect.transforms.ExtractField$Value"),
        ("transforms.x.field", "`a.b"),
        ("transforms.x.field.syntax.version", "V2"),
    ] {
        raw.insert(k, v, None);
    }
    let mut r = ConfigReader::new(&raw);
    assert!(Transforms::parse(&mut r, ConnectorKind::Sink).is_none());
    let (errors, _) = r.finish();
    let text = format!("{errors:?}");
    assert!(text.contains("Incomplete backtick pair in path: [`a.b]"), "{text}");
}
