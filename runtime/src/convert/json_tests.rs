//! Golden bytes for JsonConverter: every type, every logical type, the envelope, and the worked
//! example of kafka-connect-runtime.md §6.4.

use super::*;
use crate::data::{Schema, Struct, Type, Value};

fn encode(c: &mut JsonConverter, schema: Option<&Schema>, value: &Value) -> String {
    let mut out = Vec::new();
    assert!(c.encode(schema, value, &mut out).unwrap());
    String::from_utf8(out).unwrap()
}

fn golden(schema: Schema, value: Value, expected: &str) {
    let mut c = JsonConverter::new(true);
    let text = encode(&mut c, Some(&schema), &value);
    assert_eq!(text, expected);
    // and back
    let (decoded_schema, decoded) = c.decode(Some(text.as_bytes())).unwrap();
    assert_eq!(decoded_schema.as_ref().map(|s| s.ty), Some(schema.ty));
    assert_eq!(decoded, value, "round trip of {expected}");
}

#[test]
fn primitive_types() {
    use Type::*;
    let cases: Vec<(Type, Value, &str)> = vec![
        (Int8, Value::Int8(-8), r#"{"schema":{"type":"int8","optional":false},"payload":-8}"#),
        (Int16, Value::Int16(300), r#"{"schema":{"type":"int16","optional":false},"payload":300}"#),
        (Int32, Value::Int32(i32::MIN), r#"{"schema":{"type":"int32","optional":false},"payload":-2147483648}"#),
        (
            Int64,
            Value::Int64(i64::MAX),
            r#"{"schema":{"type":"int64","optional":false},"payload":9223372036854775807}"#,
        ),
        (Float32, Value::Float32(1.5), r#"{"schema":{"type":"float","optional":false},"payload":1.5}"#),
        (Float64, Value::Float64(1e7), r#"{"schema":{"type":"double","optional":false},"payload":1.0E7}"#),
        (Float64, Value::Float64(0.1), r#"{"schema":{"type":"double","optional":false},"payload":0.1}"#),
        (Boolean, Value::Boolean(true), r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#),
        (
            String,
            Value::String("hé \"q\"\n\u{1}".into()),
            "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"hé \\\"q\\\"\\n\\u0001\"}",
        ),
        (Bytes, Value::Bytes(vec![1, 2]), r#"{"schema":{"type":"bytes","optional":false},"payload":"AQI="}"#),
    ];
    for (ty, value, expected) in cases {
        golden(Schema::primitive(ty, false), value, expected);
    }
}

#[test]
fn logical_types() {
    golden(
        Schema::decimal(2).build(),
        Value::Decimal(1234.into(), 2),
        r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"BNI="}"#,
    );
    for (unscaled, b64) in [(0, "AA=="), (128, "AIA="), (-1, "/w==")] {
        let mut c = JsonConverter::new(false);
        assert_eq!(
            encode(&mut c, Some(&Schema::decimal(0).build()), &Value::Decimal(unscaled.into(), 0)),
            format!("\"{b64}\"")
        );
    }
    golden(
        Schema::date().build(),
        Value::Date(19675),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":19675}"#,
    );
    golden(
        Schema::time().build(),
        Value::Time(3_723_004),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":3723004}"#,
    );
    golden(
        Schema::timestamp().build(),
        Value::Timestamp(1_700_000_000_000),
        r#"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":1700000000000}"#,
    );
}

#[test]
fn numeric_decimal_format() {
    let mut c = JsonConverter::new(false);
    c.decimal_format = DecimalFormat::Numeric;
    let s = Schema::decimal(2).build();
    assert_eq!(encode(&mut c, Some(&s), &Value::Decimal(1230.into(), 2)), "12.30");
    let s8 = Schema::decimal(8).build();
    assert_eq!(encode(&mut c, Some(&s8), &Value::Decimal(1.into(), 8)), "1E-8");
    assert_eq!(c.decode(Some(b"12.30")).unwrap().1, Value::Float64(12.3));
}

#[test]
fn containers() {
    let arr = Schema::array(Schema::primitive(Type::Int32, false)).optional().build();
    golden(
        arr,
        Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
        r#"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":true},"payload":[1,2]}"#,
    );
    let string_map = Schema::map(Schema::string(), Schema::primitive(Type::Int64, true)).build();
    golden(
        string_map,
        Value::Map(vec![(Value::String("b".into()), Value::Int64(1)), (Value::String("a".into()), Value::Null)]),
        r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":true},"optional":false},"payload":{"b":1,"a":null}}"#,
    );
    let int_map = Schema::map(Schema::primitive(Type::Int32, false), Schema::string()).build();
    golden(
        int_map,
        Value::Map(vec![(Value::Int32(7), Value::String("x".into()))]),
        r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false},"payload":[[7,"x"]]}"#,
    );
}

#[test]
fn schema_metadata_order_and_defaults() {
    let s = Schema::builder(Type::Int32)
        .optional()
        .name("n")
        .version(3)
        .doc("d")
        .parameter("p", "v")
        .default_value(Value::Int32(5))
        .build();
    let mut c = JsonConverter::new(true);
    assert_eq!(
        encode(&mut c, Some(&s), &Value::Null),
        r#"{"schema":{"type":"int32","optional":true,"name":"n","version":3,"doc":"d","parameters":{"p":"v"},"default":5},"payload":5}"#
    );
    c.replace_null_with_default = false;
    assert!(encode(&mut c, Some(&s), &Value::Null).ends_with(r#""payload":null}"#));
    let required = Schema::primitive(Type::Int32, false);
    assert!(c.encode(Some(&required), &Value::Null, &mut Vec::new()).is_err());
}

#[test]
fn worked_example_jdbc_row() {
    let schema = Schema::builder(Type::Struct)
        .name("orders")
        .field("id", Schema::primitive(Type::Int32, false))
        .field("qty", Schema::primitive(Type::Int64, true))
        .field("name", Schema::primitive(Type::String, true))
        .field("blob", Schema::primitive(Type::Bytes, true))
        .field("price", Schema::decimal(2).optional().parameter("connect.decimal.precision", "10").build())
        .field("updated_at", Schema::timestamp().build())
        .field("day", Schema::date().optional().build())
        .build();
    let mut row = Struct::new(schema.clone());
    row.put("id", Value::Int32(1))
        .put("qty", Value::Int64(5))
        .put("name", Value::String("a".into()))
        .put("blob", Value::Bytes(vec![1, 2]))
        .put("price", Value::Decimal(1234.into(), 2))
        .put("updated_at", Value::Timestamp(1_700_000_000_000))
        .put("day", Value::Date(19675));
    let expected = concat!(
        r#"{"schema":{"type":"struct","fields":["#,
        r#"{"type":"int32","optional":false,"field":"id"},"#,
        r#"{"type":"int64","optional":true,"field":"qty"},"#,
        r#"{"type":"string","optional":true,"field":"name"},"#,
        r#"{"type":"bytes","optional":true,"field":"blob"},"#,
        r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},"#,
        r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"updated_at"},"#,
        r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"day"}],"#,
        r#""optional":false,"name":"orders"},"#,
        r#""payload":{"id":1,"qty":5,"name":"a","blob":"AQI=","price":"BNI=","updated_at":1700000000000,"day":19675}}"#
    );
    let mut c = JsonConverter::new(true);
    assert_eq!(encode(&mut c, Some(&schema), &Value::Struct(row.clone())), expected);
    // second time through the schema cache
    assert_eq!(encode(&mut c, Some(&schema), &Value::Struct(row.clone())), expected);
    let (back_schema, back) = c.decode(Some(expected.as_bytes())).unwrap();
    let back_schema = back_schema.unwrap();
    assert_eq!(back_schema.fields.len(), 7);
    let Value::Struct(back) = back else { panic!() };
    assert_eq!(back.values, row.values);
    let mut again = Vec::new();
    c.encode(Some(&back_schema), &Value::Struct(back), &mut again).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), expected);
}

#[test]
fn null_handling_and_envelope_rules() {
    let mut c = JsonConverter::new(true);
    assert!(!c.encode(None, &Value::Null, &mut Vec::new()).unwrap());
    assert_eq!(encode(&mut c, None, &Value::String("x".into())), r#"{"schema":null,"payload":"x"}"#);
    let optional = Schema::primitive(Type::String, true);
    assert_eq!(
        encode(&mut c, Some(&optional), &Value::Null),
        r#"{"schema":{"type":"string","optional":true},"payload":null}"#
    );
    let mut plain = JsonConverter::new(false);
    assert_eq!(encode(&mut plain, Some(&Schema::string()), &Value::String("hello".into())), r#""hello""#);
    assert_eq!(c.decode(None).unwrap(), (None, Value::Null));
    let e = c.decode(Some(br#"{"a":1}"#)).unwrap_err().to_string();
    assert!(e.contains("requires \"schema\" and \"payload\" fields"), "{e}");
    let extra = c.decode(Some(br#"{"schema":null,"payload":1,"x":2}"#)).unwrap_err().to_string();
    assert!(extra.contains("may not contain additional fields"), "{extra}");
    let syntax = c.decode(Some(b"{\"schema\":")).unwrap_err().to_string();
    assert!(syntax.contains("serialization error"), "{syntax}");
    let required = c.decode(Some(br#"{"schema":{"type":"string","optional":false},"payload":null}"#));
    assert!(required.is_err());
    let (_, v) = plain.decode(Some(br#"{"a":1,"b":[2.5]}"#)).unwrap();
    assert_eq!(
        v,
        Value::Map(vec![
            (Value::String("a".into()), Value::Int64(1)),
            (Value::String("b".into()), Value::Array(vec![Value::Float64(2.5)]))
        ])
    );
}

mod round_trip {
    use proptest::prelude::*;

    use super::super::JsonConverter;
    use crate::data::{Schema, Struct, Type, Value};

    /// A primitive or logical schema with a matching value (or null when optional).
    fn field() -> impl Strategy<Value = (Schema, Value)> {
        let base = prop_oneof![
            any::<i8>().prop_map(|v| (Type::Int8, Value::Int8(v))),
            any::<i16>().prop_map(|v| (Type::Int16, Value::Int16(v))),
            any::<i32>().prop_map(|v| (Type::Int32, Value::Int32(v))),
            any::<i64>().prop_map(|v| (Type::Int64, Value::Int64(v))),
            any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| (Type::Float64, Value::Float64(v))),
            any::<bool>().prop_map(|v| (Type::Boolean, Value::Boolean(v))),
            "\\PC{0,12}".prop_map(|v| (Type::String, Value::String(v))),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(|v| (Type::Bytes, Value::Bytes(v))),
        ]
        .prop_map(|(ty, v)| (Schema::primitive(ty, false), v));
        let logical = prop_oneof![
            (any::<i64>(), 0..20i32).prop_map(|(u, s)| (Schema::decimal(s).build(), Value::Decimal(u.into(), s))),
            any::<i32>().prop_map(|d| (Schema::date().build(), Value::Date(d))),
            (0..86_400_000i32).prop_map(|t| (Schema::time().build(), Value::Time(t))),
            any::<i64>().prop_map(|t| (Schema::timestamp().build(), Value::Timestamp(t))),
        ];
        (prop_oneof![base, logical], any::<bool>()).prop_map(|((schema, value), null)| {
            if null {
                let mut def = (*schema).clone();
                def.optional = true;
                let mut b = Schema::builder(def.ty);
                b = b.optional();
                if let Some(n) = def.name {
                    b = b.name(n);
                }
                if let Some(v) = def.version {
                    b = b.version(v);
                }
                for (k, v) in def.parameters {
                    b = b.parameter(k, v);
                }
                (b.build(), Value::Null)
            } else {
                (schema, value)
            }
        })
    }

    proptest! {
        /// Any bytes, and JSON-shaped text inside a schema envelope: a value or an error, never
        /// a panic (issue 12).
        #[test]
        fn hostile_input_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
            schema in "[{}\\[\\]\":,0-9a-z .\\-]{0,60}",
            payload in "[{}\\[\\]\":,0-9a-zA-Z+/= .\\-]{0,40}",
        ) {
            for schemas in [true, false] {
                let mut c = JsonConverter::new(schemas);
                let _ = c.decode(Some(&bytes));
                let text = format!(r#"{{"schema":{schema},"payload":{payload}}}"#);
                let _ = c.decode(Some(text.as_bytes()));
                for ty in ["int8", "int32", "int64", "float32", "bytes", "string", "boolean", "array", "map", "struct"] {
                    let typed = format!(r#"{{"schema":{{"type":"{ty}","optional":true,"items":{schema}}},"payload":{payload}}}"#);
                    let _ = c.decode(Some(typed.as_bytes()));
                }
                for logical in ["org.apache.kafka.connect.data.Decimal", "org.apache.kafka.connect.data.Timestamp", "org.apache.kafka.connect.data.Date"] {
                    let typed = format!(r#"{{"schema":{{"type":"bytes","name":"{logical}","parameters":{{"scale":"{payload}"}}}},"payload":{payload}}}"#);
                    let _ = c.decode(Some(typed.as_bytes()));
                }
            }
        }

        /// The word-at-a-time string writer escapes exactly what Jackson escapes, wherever in
        /// the string (and the 8-byte word) the byte falls: checked against a byte-by-byte model.
        #[test]
        fn strings_escape_as_jackson_does(s in "[\\x00-\\x1f\"\\\\a-z\u{e9}\u{1f600}]{0,40}") {
            let mut model = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => model.push_str("\\\""),
                    '\\' => model.push_str("\\\\"),
                    '\n' => model.push_str("\\n"),
                    '\r' => model.push_str("\\r"),
                    '\t' => model.push_str("\\t"),
                    '\u{8}' => model.push_str("\\b"),
                    '\u{c}' => model.push_str("\\f"),
                    c if (c as u32) < 0x20 => model.push_str(&format!("\\u{:04X}", c as u32)),
                    c => model.push(c),
                }
            }
            model.push('"');
            let mut out = b"x".to_vec();
            super::super::write_string(&s, &mut out);
            prop_assert_eq!(String::from_utf8(out[1..].to_vec()).unwrap(), model);
        }

        /// A struct of random fields survives encode → decode → encode, bytes and values.
        #[test]
        fn structs_round_trip(fields in proptest::collection::vec(field(), 0..8)) {
            let mut b = Schema::builder(Type::Struct).name("row");
            for (i, (s, _)) in fields.iter().enumerate() {
                b = b.field(format!("f{i}"), s.clone());
            }
            let schema = b.build();
            let mut row = Struct::new(schema.clone());
            for (i, (_, v)) in fields.iter().enumerate() {
                row.values[i] = v.clone();
            }
            let mut c = JsonConverter::new(true);
            let mut bytes = Vec::new();
            c.encode(Some(&schema), &Value::Struct(row.clone()), &mut bytes).unwrap();
            let (back_schema, back) = c.decode(Some(&bytes)).unwrap();
            let Value::Struct(back) = back else { panic!("not a struct") };
            prop_assert_eq!(&back.values, &row.values);
            let mut again = Vec::new();
            c.encode(back_schema.as_ref(), &Value::Struct(back), &mut again).unwrap();
            prop_assert_eq!(again, bytes);
        }
    }
}

#[test]
fn envelopes_sharing_a_schema_decode_alike_on_the_fast_path() {
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"s"}],"optional":false}"#;
    let mut warm = JsonConverter::new(true);
    let inputs = [
        format!(r#"{{"schema":{schema},"payload":{{"id":1,"s":"a}}"}}}}"#),
        format!(r#"{{"schema":{schema},"payload":{{"id":2,"s":null}}}}"#),
        format!(r#"{{"schema":{schema}, "payload":{{"id":3,"s":"x"}}}}"#),
        format!("{{\"schema\":{schema},\"payload\":{{\"id\":4,\"s\":\"y\"}}}}\n"),
    ];
    for input in &inputs {
        let fresh = JsonConverter::new(true).decode(Some(input.as_bytes())).unwrap();
        assert_eq!(warm.decode(Some(input.as_bytes())).unwrap(), fresh, "{input}");
    }
    // what the full path refuses is refused after a warm-up too
    let extra = format!(r#"{{"schema":{schema},"payload":{{"id":5,"s":null}},"x":1}}"#);
    assert!(warm.decode(Some(extra.as_bytes())).unwrap_err().to_string().contains("may not contain additional fields"));
    let required = format!(r#"{{"schema":{schema},"payload":{{"s":"z"}}}}"#);
    assert!(warm.decode(Some(required.as_bytes())).is_err());
}

#[test]
fn the_schema_guided_reader_agrees_with_the_tree_reader() {
    let schema_json = r#"{"type":"struct","optional":false,"fields":[
        {"field":"i8","type":"int8","optional":true},
        {"field":"i64","type":"int64","optional":true},
        {"field":"f","type":"float","optional":true},
        {"field":"d","type":"double","optional":true},
        {"field":"b","type":"boolean","optional":true},
        {"field":"s","type":"string","optional":true,"default":"dflt"},
        {"field":"bytes","type":"bytes","optional":true},
        {"field":"dec","type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},
        {"field":"day","type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1},
        {"field":"ts","type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1},
        {"field":"arr","type":"array","optional":true,"items":{"type":"int32","optional":false}},
        {"field":"m","type":"map","optional":true,"keys":{"type":"string","optional":false},"values":{"type":"int32","optional":true}},
        {"field":"mi","type":"map","optional":true,"keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false}},
        {"field":"req","type":"int32","optional":false,"default":7}
    ]}"#;
    let schema = parse_schema(&serde_json::from_str(schema_json).unwrap()).unwrap();
    let payloads = [
        r#"{"i8":1,"i64":-5,"f":1.5,"d":2,"b":true,"s":"x","bytes":"AQI=","dec":"MDk=","day":19000,"ts":1700000000000,"arr":[1,2],"m":{"a":1,"b":null},"mi":[[1,"one"],[2,"two"]],"req":3}"#,
        r#"{"dec":123.45,"d":18446744073709551615,"f":1e3}"#,
        r#"{"dec":12,"s":null,"unknown":{"deep":[1,2,3]}}"#,
        r#"{"i8":300}"#,
        r#"{"i64":1.0}"#,
        r#"{"i64":18446744073709551615}"#,
        r#"{"m":{"a":1,"a":2}}"#,
        r#"{"s":"first","s":"second"}"#,
        r#"{"i8":"1"}"#,
        r#"{"bytes":"not base64!"}"#,
        r#"{"arr":[1,null]}"#,
        r#"{"mi":[[1,"a","extra"]]}"#,
        r#"{"req":null}"#,
        r#"[1,2]"#,
        r#"null"#,
    ];
    let tree = JsonConverter::new(true);
    for p in payloads {
        let by_tree = tree.decode_value(&schema, &serde_json::from_str(p).unwrap());
        match super::super::json_payload::read(&schema, true, p.as_bytes()) {
            Some(v) => assert_eq!(by_tree.ok(), Some(v), "{p}"),
            None => assert!(
                by_tree.is_err() || p.contains("\"a\":1,\"a\"") || p.contains("\"s\":\"first\""),
                "{p}: the guided reader gave up on a valid payload"
            ),
        }
    }
}
