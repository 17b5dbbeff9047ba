//! Golden schemas and bytes for AvroConverter, checked against the wire format and AvroData's
//! mapping in the reference; the encoder cross-checked against apache-avro's.

use super::schema::{to_connect, FromConnect};
use super::*;
use crate::data::Struct;
use num_bigint::BigInt;
use serde_json::json;

fn converter() -> AvroConverter {
    let raw = crate::config::RawConfig::from_map(
        "test",
        &[("schema.registry.url".to_owned(), "http://127.0.0.1:1".to_owned())].into_iter().collect(),
    );
    let mut r = ConfigReader::new(&raw);
    AvroConverter::from_config(&mut r, false).expect("a converter")
}

fn orders() -> Schema {
    Schema::builder(Type::Struct)
        .name("shop.Order")
        .version(3)
        .doc("an order")
        .field("id", Schema::primitive(Type::Int64, false))
        .field("qty", Schema::primitive(Type::Int16, false))
        .field("amount", Schema::decimal(2).build())
        .field("day", Schema::date().build())
        .field("at", Schema::timestamp().build())
        .field("note", Schema::primitive(Type::String, true))
        .build()
}

fn order(schema: &Schema, note: Option<&str>) -> Value {
    let mut s = Struct::new(schema.clone());
    s.put("id", Value::Int64(1))
        .put("qty", Value::Int16(3))
        .put("amount", Value::Decimal(BigInt::from(-12345), 2))
        .put("day", Value::Date(19_675))
        .put("at", Value::Timestamp(1_700_000_000_000))
        .put("note", note.map_or(Value::Null, |n| Value::String(n.into())));
    Value::Struct(s)
}

/// The Avro schema AvroData writes for every Connect type and logical type.
#[test]
fn connect_schemas_map_as_avro_data_does() {
    let json = FromConnect::new(true).convert(&orders());
    let expected = json!({
        "type": "record", "name": "Order", "namespace": "shop", "doc": "an order",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "qty", "type": {"type": "int", "connect.type": "int16"}},
            {"name": "amount", "type": {"type": "bytes", "scale": 2, "precision": 64, "connect.version": 1,
                "connect.parameters": {"scale": "2"}, "connect.name": "org.apache.kafka.connect.data.Decimal",
                "logicalType": "decimal"}},
            {"name": "day", "type": {"type": "int", "connect.version": 1,
                "connect.name": "org.apache.kafka.connect.data.Date", "logicalType": "date"}},
            {"name": "at", "type": {"type": "long", "connect.version": 1,
                "connect.name": "org.apache.kafka.connect.data.Timestamp", "logicalType": "timestamp-millis"}},
            {"name": "note", "type": ["null", "string"], "default": null}
        ],
        "connect.doc": "an order", "connect.version": 3, "connect.name": "shop.Order"
    });
    assert_eq!(json, expected);
    assert_eq!(json.to_string(), expected.to_string(), "key order as Java's Avro writes it");

    let others = Schema::builder(Type::Struct)
        .field("i8", Schema::primitive(Type::Int8, false))
        .field("f", Schema::primitive(Type::Float32, false))
        .field("d", Schema::primitive(Type::Float64, false))
        .field("b", Schema::primitive(Type::Boolean, false))
        .field("raw", Schema::primitive(Type::Bytes, false))
        .field("t", Schema::time().build())
        .field("prec", Schema::decimal(1).parameter(schema::PRECISION_PARAM, "5").optional().build())
        .field("dflt", Schema::builder(Type::Int32).default_value(Value::Int32(7)).build())
        .field("odflt", Schema::builder(Type::String).optional().default_value(Value::String("x".into())).build())
        .field("tags", Schema::array(Schema::string()).build())
        .field("attrs", Schema::map(Schema::string(), Schema::primitive(Type::Int32, true)).build())
        .field("byid", Schema::map(Schema::primitive(Type::Int32, false), Schema::string()).build())
        .build();
    let json = FromConnect::new(true).convert(&others);
    assert_eq!(json["name"], "ConnectDefault");
    assert_eq!(json["namespace"], "io.confluent.connect.avro");
    let field = |i: usize| json["fields"][i].clone();
    assert_eq!(field(0)["type"], json!({"type": "int", "connect.type": "int8"}));
    assert_eq!(field(1)["type"], "float");
    assert_eq!(field(2)["type"], "double");
    assert_eq!(field(3)["type"], "boolean");
    assert_eq!(field(4)["type"], "bytes");
    assert_eq!(field(5)["type"]["logicalType"], "time-millis");
    assert_eq!(field(6)["type"][0], "null");
    assert_eq!(field(6)["type"][1]["precision"], 5, "connect.decimal.precision gives the precision");
    assert_eq!(field(7), json!({"name": "dflt", "type": {"type": "int", "connect.default": 7}, "default": 7}));
    assert_eq!(field(8)["type"][1], "null", "an optional field with a default puts null second");
    assert_eq!(field(8)["default"], "x");
    assert_eq!(field(9)["type"], json!({"type": "array", "items": "string"}));
    assert_eq!(field(10)["type"], json!({"type": "map", "values": ["null", "int"]}));
    assert_eq!(field(11)["type"]["type"], "array");
    assert_eq!(field(11)["type"]["items"]["name"], "MapEntry");
    assert_eq!(field(11)["type"]["items"]["namespace"], "io.confluent.connect.avro");
    assert!(schema::parse(&json).is_ok());

    let plain = FromConnect::new(false).convert(&orders());
    assert_eq!(plain["fields"][1]["type"], json!({"type": "int", "connect.type": "int16"}));
    assert!(plain.get("connect.name").is_none() && plain["fields"][3]["type"].get("connect.name").is_none());
}

/// Debezium's `before` and `after` share one Value schema: defined once, then named.
#[test]
fn a_record_met_twice_is_referenced_by_name() {
    let row = Schema::builder(Type::Struct)
        .name("srv.db.t.Value")
        .field("id", Schema::primitive(Type::Int32, false))
        .optional()
        .build();
    let envelope = Schema::builder(Type::Struct)
        .name("srv.db.t.Envelope")
        .version(2)
        .field("before", row.clone())
        .field("after", row)
        .field("op", Schema::string())
        .build();
    let json = FromConnect::new(true).convert(&envelope);
    assert_eq!(json["fields"][0]["type"][1]["name"], "Value");
    assert!(json["fields"][0]["type"][1].get("namespace").is_none(), "same namespace as the envelope: left out");
    assert_eq!(json["fields"][1]["type"], json!(["null", "Value"]));
    let avro = schema::parse(&json).unwrap();
    assert!(matches!(avro, apache_avro::Schema::Record(_)));
    assert_eq!(to_connect(&json).unwrap(), envelope, "read back as the same Connect schema");
}

/// Connect → Avro → Connect gives the schema back, for every type.
#[test]
fn avro_schemas_read_back_as_their_connect_schemas() {
    for s in [
        orders(),
        Schema::primitive(Type::Int16, false),
        Schema::primitive(Type::String, true),
        Schema::decimal(3).parameter(schema::PRECISION_PARAM, "10").build(),
        Schema::array(Schema::timestamp().optional().build()).build(),
        Schema::map(Schema::string(), Schema::primitive(Type::Float64, false)).build(),
        Schema::map(Schema::primitive(Type::Int64, false), Schema::string()).build(),
        Schema::builder(Type::Struct)
            .name("a.B")
            .field("n", Schema::builder(Type::Int64).default_value(Value::Int64(5)).build())
            .field("s", Schema::builder(Type::String).optional().default_value(Value::String("d".into())).build())
            .build(),
    ] {
        let json = FromConnect::new(true).convert(&s);
        assert_eq!(to_connect(&json).unwrap(), s, "{json}");
    }
}

/// The wire format: magic byte, 4-byte big-endian id, the Avro binary datum.
#[test]
fn golden_bytes_of_a_record() {
    let mut c = converter();
    let schema = orders();
    let value = order(&schema, None);
    let mut out = Vec::new();
    let Err(ConvertError::Unresolved(need)) = c.encode("orders", Some(&schema), &value, &mut out) else {
        panic!("a schema the converter has not registered yet needs the registry")
    };
    let Need::Id { subject, text } = *need else { panic!("an id") };
    assert_eq!(subject, "orders-value");
    assert_eq!(text, FromConnect::new(true).convert(&schema).to_string());
    c.ids.insert((subject, text), 7);
    assert!(c.encode("orders", Some(&schema), &value, &mut out).unwrap());
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x00, 0x00, 0x00, 0x00, 0x07, // magic, id 7
        0x02,                         // id 1
        0x06,                         // qty 3
        0x04, 0xcf, 0xc7,             // amount -123.45: 2 bytes, unscaled -12345 big-endian
        0xb6, 0xb3, 0x02,             // day 19675
        0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, // at 1700000000000
        0x00,                         // note: union branch 0 (null)
    ];
    assert_eq!(out, expected);
    out.clear();
    assert!(c.encode("orders", Some(&schema), &order(&schema, Some("hi")), &mut out).unwrap());
    assert_eq!(&out[out.len() - 4..], &[0x02, 0x04, b'h', b'i'], "branch 1, then the string");
    // a tombstone stays a tombstone, and registers nothing
    assert!(!c.encode("other", Some(&schema), &Value::Null, &mut out).unwrap());
    // the key subject
    let mut k = converter();
    k.is_key = true;
    let Err(ConvertError::Unresolved(need)) =
        k.encode("orders", Some(&Schema::string()), &Value::String("k".into()), &mut out)
    else {
        panic!()
    };
    assert!(matches!(*need, Need::Id { ref subject, .. } if subject == "orders-key"));
}

#[test]
fn subject_strategies() {
    let mut c = converter();
    assert_eq!(c.subject("t", Some("shop.Order")).unwrap(), "t-value");
    c.strategy = SubjectStrategy::RecordName;
    assert_eq!(c.subject("t", Some("shop.Order")).unwrap(), "shop.Order");
    assert!(c.subject("t", None).is_err(), "a primitive has no record name");
    c.strategy = SubjectStrategy::TopicRecordName;
    assert_eq!(c.subject("t", Some("shop.Order")).unwrap(), "t-shop.Order");
}

/// Reading: the id picks the schema; unknown ids ask the registry; bad bytes are a bad record.
#[test]
fn decoding_reads_the_datum_with_the_registry_schema() {
    let mut c = converter();
    let schema = orders();
    let text = FromConnect::new(true).convert(&schema).to_string();
    c.ids.insert(("orders-value".into(), text.clone()), 7);
    let mut bytes = Vec::new();
    c.encode("orders", Some(&schema), &order(&schema, Some("gift")), &mut bytes).unwrap();
    let mut reader = converter();
    let Err(ConvertError::Unresolved(need)) = reader.decode("orders", Some(&bytes)) else { panic!() };
    assert_eq!(*need, Need::Schema { id: 7, subject: "orders-value".into() });
    reader.reads.insert(7, Arc::new(read_schema(7, &text).unwrap()));
    let (read_schema_back, value) = reader.decode("orders", Some(&bytes)).unwrap();
    assert_eq!(read_schema_back.as_ref(), Some(&schema));
    assert_eq!(value, order(&schema, Some("gift")));
    assert_eq!(reader.decode("orders", None).unwrap(), (None, Value::Null));
    let e = reader.decode("orders", Some(b"{\"json\":1}")).unwrap_err();
    assert!(e.to_string().contains("Unknown magic byte"), "{e}");
    let e = reader.decode("orders", Some(&bytes[..8])).unwrap_err();
    assert!(e.to_string().contains("schema id 7"), "{e}");
}

#[test]
fn values_that_do_not_fit_their_schema_are_bad_records() {
    let mut c = converter();
    let schema = Schema::builder(Type::Struct).field("n", Schema::primitive(Type::Int32, false)).build();
    let text = FromConnect::new(true).convert(&schema).to_string();
    c.ids.insert(("t-value".into(), text), 1);
    let mut s = Struct::new(schema.clone());
    s.put("n", Value::String("x".into()));
    let mut out = vec![9];
    let e = c.encode("t", Some(&schema), &Value::Struct(s), &mut out).unwrap_err();
    assert!(e.to_string().contains("field n"), "{e}");
    assert_eq!(out, [9], "nothing of the bad record is left in the buffer");
    let e = c.encode("t", None, &Value::Int32(1), &mut out).unwrap_err();
    assert!(e.to_string().contains("needs a schema"), "{e}");
}

#[test]
fn names_avro_refuses_are_errors_or_scrubbed() {
    let bad = Schema::builder(Type::Struct).name("my-server.db.t.Value").field("a b", Schema::string()).build();
    let mut c = converter();
    let e = c.encode("t", Some(&bad), &Value::Struct(Struct::new(bad.clone())), &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("not a valid Avro"), "{e}");
    let json = FromConnect::new(true).scrub_invalid_names(true).convert(&bad);
    assert_eq!(json["namespace"], "my_server.db.t");
    assert_eq!(json["fields"][0]["name"], "a_b");
    assert!(schema::parse(&json).is_ok());
}

mod cross_check {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = (Schema, Value)> {
        prop_oneof![
            any::<i64>().prop_map(|n| (Schema::primitive(Type::Int64, false), Value::Int64(n))),
            any::<i32>().prop_map(|n| (Schema::primitive(Type::Int32, false), Value::Int32(n))),
            any::<i16>().prop_map(|n| (Schema::primitive(Type::Int16, false), Value::Int16(n))),
            any::<i8>().prop_map(|n| (Schema::primitive(Type::Int8, false), Value::Int8(n))),
            any::<bool>().prop_map(|b| (Schema::primitive(Type::Boolean, false), Value::Boolean(b))),
            (-1e300f64..1e300).prop_map(|f| (Schema::primitive(Type::Float64, false), Value::Float64(f))),
            (-1e30f32..1e30).prop_map(|f| (Schema::primitive(Type::Float32, false), Value::Float32(f))),
            "\\PC{0,20}".prop_map(|s| (Schema::primitive(Type::String, true), Value::String(s))),
            Just((Schema::primitive(Type::String, true), Value::Null)),
            proptest::collection::vec(any::<u8>(), 0..40)
                .prop_map(|b| (Schema::primitive(Type::Bytes, false), Value::Bytes(b))),
            (any::<i64>(), 0i32..6).prop_map(|(n, s)| (Schema::decimal(s).build(), Value::Decimal(BigInt::from(n), s))),
            any::<i32>().prop_map(|d| (Schema::date().build(), Value::Date(d))),
            any::<i64>().prop_map(|t| (Schema::timestamp().build(), Value::Timestamp(t))),
            proptest::collection::vec(any::<i32>(), 0..5).prop_map(|v| (
                Schema::array(Schema::primitive(Type::Int32, false)).build(),
                Value::Array(v.into_iter().map(Value::Int32).collect())
            )),
            proptest::collection::vec((any::<i64>(), "[a-z]{0,4}"), 0..4).prop_map(|v| (
                Schema::map(Schema::primitive(Type::Int64, false), Schema::primitive(Type::String, false)).build(),
                Value::Map(v.into_iter().map(|(k, s)| (Value::Int64(k), Value::String(s))).collect())
            )),
        ]
    }

    proptest! {
        /// sluice's encoder writes the bytes apache-avro writes for the same schema and value,
        /// and apache-avro reads them back to the same Connect value.
        #[test]
        fn encoder_matches_apache_avro(fields in proptest::collection::vec(leaf(), 1..8)) {
            let mut b = Schema::builder(Type::Struct).name("p.Row");
            for (i, (s, _)) in fields.iter().enumerate() {
                b = b.field(format!("f{i}"), s.clone());
            }
            let schema = b.build();
            let value = Value::Struct(Struct { schema: schema.clone(), values: fields.into_iter().map(|(_, v)| v).collect() });
            let json = FromConnect::new(true).convert(&schema);
            let avro = schema::parse(&json).unwrap();
            let mut ours = Vec::new();
            encode::write_datum(&schema, &value, &mut ours).unwrap();
            let theirs = apache_avro::to_avro_datum(&avro, value::to_avro(&schema, &value).unwrap()).unwrap();
            prop_assert_eq!(&ours, &theirs);
            let back = apache_avro::from_avro_datum(&avro, &mut &ours[..], None).unwrap();
            let connect = to_connect(&json).unwrap();
            let read = value::from_avro(&connect, back).unwrap();
            // maps come back sorted by key; compare after the same sort
            let sort = |v: Value| match v {
                Value::Struct(mut s) => {
                    for x in &mut s.values {
                        if let Value::Map(m) = x {
                            m.sort_by_key(|e| e.0.to_java_string());
                        }
                    }
                    Value::Struct(Struct { schema: connect.clone(), values: s.values })
                }
                v => v,
            };
            let expected = sort(value);
            let read = sort(read);
            prop_assert_eq!(read, expected);
        }
    }
}

/// `enhanced.avro.schema.support=true`: an Avro enum read as a Connect string (its symbols kept as
/// parameters) is written back as the same enum, its value as the symbol's index; without it, a
/// string.
#[test]
fn enhanced_schema_support_writes_enums_back_as_enums() {
    let avro = json!({"type": "record", "name": "Shirt", "fields": [
        {"name": "size", "type": {"type": "enum", "name": "shop.Size", "symbols": ["S", "M", "L"]}},
        {"name": "alt", "type": "shop.Size"}
    ]});
    let connect = to_connect(&avro).unwrap();
    let size = &connect.field("size").unwrap().schema;
    assert_eq!(size.ty, Type::String);
    let enhanced = FromConnect::new(false).enhanced_schema_support(true).convert(&connect);
    assert_eq!(
        enhanced["fields"][0]["type"],
        json!({"type": "enum", "name": "Size", "namespace": "shop", "symbols": ["S", "M", "L"]})
    );
    assert_eq!(enhanced["fields"][1]["type"], json!("shop.Size"), "defined once, then referenced");
    assert!(schema::parse(&enhanced).is_ok(), "{enhanced}: {:?}", schema::parse(&enhanced).err());
    assert_eq!(FromConnect::new(false).convert(&connect)["fields"][0]["type"], json!("string"));
    let mut row = Struct::new(connect.clone());
    row.put("size", Value::String("M".into())).put("alt", Value::String("L".into()));
    let mut out = Vec::new();
    encode::write_value(&connect, &Value::Struct(row.clone()), true, &mut out).unwrap();
    let parsed = schema::parse(&enhanced).unwrap();
    let expected = apache_avro::to_avro_datum(
        &parsed,
        apache_avro::types::Value::Record(vec![
            ("size".into(), apache_avro::types::Value::Enum(1, "M".into())),
            ("alt".into(), apache_avro::types::Value::Enum(2, "L".into())),
        ]),
    )
    .unwrap();
    assert_eq!(out, expected);
    assert_eq!(out, [2, 4]);
    let mut bad = row;
    bad.put("size", Value::String("XL".into()));
    let err = encode::write_value(&connect, &Value::Struct(bad), true, &mut Vec::new()).unwrap_err();
    assert!(err.contains("\"XL\" is not a symbol"), "{err}");
}
