//! The S3 sink's `schema.compatibility` with AvroConverter: the Connect schema version comes from
//! the registry (the subject's version of the record's schema id, as Java's converter looks it
//! up); with `BACKWARD` a higher version starts a new file and an older record is projected to
//! the newer schema (the added field's default filled in).

use std::time::Duration;

use apache_avro::types::Value as Avro;

use crate::avro::registry;
use crate::harness::*;
use crate::s3_sink::s3_connector;
use crate::s3_store::Bucket;

fn register(subject: &str, schema: &str) -> i32 {
    let port: u16 = registry().rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap();
    let body = serde_json::json!({ "schema": schema }).to_string();
    let (status, text) = request_with(port, "POST", &format!("/subjects/{subject}/versions"), &body);
    assert_eq!(status, 200, "{text}");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"].as_i64().unwrap() as i32
}

/// Confluent's framing: byte 0, the schema id, the Avro datum.
fn framed(id: i32, schema: &apache_avro::Schema, value: Avro) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend(apache_avro::to_avro_datum(schema, value).unwrap());
    out
}

#[test]
fn backward_compatibility_rotates_on_a_newer_version_and_projects_older_records() {
    require_kafka();
    let url = registry();
    let topic = unique("avro-versions");
    create_topic(&topic);
    // a record name of this run's own: rivven-schema 0.0.22 answers a known schema's id for a
    // second subject without adding it to that subject's versions
    let name = format!("Order_{}", topic.replace('-', "_"));
    let v1_text = format!(r#"{{"type":"record","name":"{name}","fields":[{{"name":"id","type":"int"}}]}}"#);
    let v2_text = format!(
        r#"{{"type":"record","name":"{name}","fields":[{{"name":"id","type":"int"}},{{"name":"qty","type":"int","default":1}}]}}"#
    );
    let subject = format!("{topic}-value");
    let (id1, id2) = (register(&subject, &v1_text), register(&subject, &v2_text));
    let v1 = apache_avro::Schema::parse_str(&v1_text).unwrap();
    let v2 = apache_avro::Schema::parse_str(&v2_text).unwrap();
    let r0 = framed(id1, &v1, Avro::Record(vec![("id".into(), Avro::Int(10))]));
    let r1 = framed(id2, &v2, Avro::Record(vec![("id".into(), Avro::Int(11)), ("qty".into(), Avro::Int(5))]));
    let r2 = framed(id1, &v1, Avro::Record(vec![("id".into(), Avro::Int(12))]));
    produce(&topic, &[(&r0, &[]), (&r1, &[]), (&r2, &[])]);

    let bucket = Bucket::create("s3versions");
    let dir = Dir::new();
    let file = s3_connector(
        &dir,
        "s3.properties",
        &unique("versions"),
        &topic,
        &bucket,
        &crate::s3_store::endpoint(),
        &format!(
            "value.converter=io.confluent.connect.avro.AvroConverter\nvalue.converter.schema.registry.url={url}\n\
             format.class=io.confluent.connect.s3.format.avro.AvroFormat\nschema.compatibility=BACKWARD\nflush.size=2\n"
        ),
    );
    let log = dir.path("sluice.log");
    let mut child = spawn(&[&dir.worker(free_port(), ""), &file], &log);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while bucket.keys("").len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no 2 objects after 90 s:\n{}", log_text(&log));
        std::thread::sleep(Duration::from_millis(200));
    }
    sigterm(&mut child);
    let t = &topic;
    let first = format!("topics/{t}/partition=0/{t}+0+0000000000.avro");
    let second = format!("topics/{t}/partition=0/{t}+0+0000000001.avro");
    assert_eq!(bucket.keys(""), [first.clone(), second.clone()], "{}", log_text(&log));
    let read = |key: &str| -> (String, Vec<Avro>) {
        let bytes = bucket.get(key);
        let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
        let schema = reader.writer_schema().canonical_form();
        (schema, reader.map(Result::unwrap).collect())
    };
    let (schema0, rows0) = read(&first);
    assert!(!schema0.contains("qty"), "{schema0}");
    assert_eq!(rows0.len(), 1);
    let (schema1, rows1) = read(&second);
    assert!(schema1.contains("qty"), "{schema1}");
    let ids_and_qty: Vec<(Avro, Avro)> = rows1
        .iter()
        .map(|r| match r {
            Avro::Record(f) => (f[0].1.clone(), f[1].1.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ids_and_qty,
        [(Avro::Int(11), Avro::Int(5)), (Avro::Int(12), Avro::Int(1))],
        "the version-1 record projected to version 2, qty taking its default"
    );
}
