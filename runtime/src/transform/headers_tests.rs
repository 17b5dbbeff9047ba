//! The header transforms under each header converter, and `header.converter`'s classes.

use super::super::tests::{chain, envelope, sink_record};
use crate::config::{ConfigReader, ConnectorKind, RawConfig};
use crate::convert::HeaderConverter;
use crate::transform::Transforms;

#[test]
fn header_transforms_write_with_the_header_converter() {
    let pairs = [
        ("transforms", "whole,lit,nul"),
        ("transforms.whole.type", "org.apache.kafka.connect.transforms.HeaderFrom$Value"),
        ("transforms.whole.fields", "after,op"),
        ("transforms.whole.headers", "row,op"),
        ("transforms.whole.operation", "copy"),
        ("transforms.lit.type", "org.apache.kafka.connect.transforms.InsertHeader"),
        ("transforms.lit.header", "version"),
        ("transforms.lit.value.literal", "007"),
        ("transforms.nul.type", "org.apache.kafka.connect.transforms.InsertHeader"),
        ("transforms.nul.header", "none"),
        ("transforms.nul.value.literal", "null"),
    ];
    let (schema, value) = envelope();
    let headers = |t: &mut Transforms| {
        let mut r = sink_record("t", Some(schema.clone()), value.clone());
        t.apply(&mut r).map(|_| {
            r.headers
                .iter()
                .map(|h| (h.key.clone(), h.value.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())))
                .collect::<Vec<_>>()
        })
    };
    // SimpleHeaderConverter (the default): Values.convertToString
    let mut simple = chain(&pairs, ConnectorKind::Sink);
    let got = headers(&mut simple).unwrap();
    let want = [
        ("row", Some(r#"{"id":5,"name":null,"secret":null}"#)),
        ("op", Some("c")),
        ("version", Some("7")),
        ("none", None),
    ];
    let want: Vec<(String, Option<String>)> = want.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned))).collect();
    assert_eq!(got, want);
    // StringConverter: Java's toString()
    let mut string = chain(&pairs, ConnectorKind::Sink);
    string.set_header_converter(HeaderConverter::String);
    assert_eq!(headers(&mut string).unwrap()[0].1.as_deref(), Some("Struct{id=5}"));
    // ByteArrayConverter: only bytes, so a struct fails the record
    let mut bytes = chain(&pairs, ConnectorKind::Sink);
    bytes.set_header_converter(HeaderConverter::ByteArray);
    let err = headers(&mut bytes).unwrap_err().to_string();
    assert!(err.contains("ByteArrayConverter is not compatible with objects of type Struct"), "{err}");
}

#[test]
fn header_converter_is_read_from_the_connector_and_unknown_classes_refused() {
    let mut raw = RawConfig::new("c.properties");
    raw.insert("header.converter", "io.confluent.connect.avro.AvroConverter", Some(3));
    let mut r = ConfigReader::new(&raw);
    assert!(HeaderConverter::from_config(&mut r).is_none());
    let (errors, _) = r.finish();
    assert!(errors[0].to_string().contains("header.converter: expected one of"), "{errors:?}");
    let mut raw = RawConfig::new("c.properties");
    raw.insert("header.converter", "org.apache.kafka.connect.storage.StringConverter", None);
    raw.insert("header.converter.converter.encoding", "UTF-8", None);
    let mut r = ConfigReader::new(&raw);
    assert_eq!(HeaderConverter::from_config(&mut r), Some(Some(HeaderConverter::String)));
    let (errors, unknown) = r.finish();
    assert!(errors.is_empty() && unknown.is_empty(), "{errors:?} {unknown:?}");
}
