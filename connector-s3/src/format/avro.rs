//! `io.confluent.connect.s3.format.avro.AvroFormat`: Avro object container files (`avro.codec`),
//! one file schema taken from the first record's Connect schema.
//!
//! The Connect → Avro schema is the runtime's port of Confluent's `AvroData`
//! ([`runtime::convert::avro::schema`]), the one AvroConverter registers, as the Java sink
//! shares AvroData with the converter. Byte-for-byte identity with files written by Java is not
//! verified (the container's sync marker is random in both).

use std::collections::HashMap;
use std::sync::Mutex;

use apache_avro::{Codec, Schema as AvroSchema, Writer};
use runtime::convert::avro::schema::{parse, FromConnect};
use runtime::convert::avro::value::to_avro;
use runtime::data::Schema;
use runtime::SinkRecord;
use serde_json::Value as Json;

use super::{at, same_schema, FormatError, FormatSettings, SharedBuf};

/// Avro schemas live as long as the process: `Writer` borrows its schema, and a sink meets few
/// distinct schemas, so each is parsed once and kept (by its JSON text).
fn intern(json: &Json) -> Result<&'static AvroSchema, String> {
    static SCHEMAS: Mutex<Option<HashMap<String, &'static AvroSchema>>> = Mutex::new(None);
    let text = json.to_string();
    let mut guard = SCHEMAS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(s) = map.get(&text) {
        return Ok(s);
    }
    let schema = parse(json).map_err(|e| e.to_string())?;
    let leaked: &'static AvroSchema = Box::leak(Box::new(schema));
    map.insert(text, leaked);
    Ok(leaked)
}

pub struct AvroFile {
    connect_schema: Option<Schema>,
    writer: Writer<'static, SharedBuf>,
    out: SharedBuf,
}

fn codec(name: &str) -> Codec {
    match name {
        "deflate" => Codec::Deflate(Default::default()),
        "snappy" => Codec::Snappy,
        _ => Codec::Null,
    }
}

impl AvroFile {
    pub fn new(settings: &FormatSettings, first: &SinkRecord) -> Result<AvroFile, FormatError> {
        let Some(schema) = first.value_schema.clone() else {
            return Err(FormatError::Record {
                at: at(first),
                reason: "AvroFormat needs records with a value schema (JsonConverter with schemas.enable=true)".into(),
            });
        };
        let json = FromConnect::new(settings.connect_meta_data).convert(&schema);
        let avro_schema = intern(&json)
            .map_err(|reason| FormatError::Encoder { format: "Avro", reason: format!("schema {json}: {reason}") })?;
        let out = SharedBuf::default();
        let writer = Writer::with_codec(avro_schema, out.clone(), codec(&settings.avro_codec));
        Ok(AvroFile { connect_schema: Some(schema), writer, out })
    }

    pub fn accepts(&self, schema: Option<&Schema>) -> bool {
        same_schema(self.connect_schema.as_ref(), schema)
    }

    pub fn write(&mut self, record: &SinkRecord) -> Result<(), FormatError> {
        let schema = self.connect_schema.as_ref().expect("a schema");
        let value = to_avro(schema, &record.value).map_err(|reason| FormatError::Record { at: at(record), reason })?;
        self.writer.append(value).map_err(|e| FormatError::Record { at: at(record), reason: e.to_string() })?;
        Ok(())
    }

    pub fn buffered_bytes(&self) -> usize {
        // the writer's current block is small (it is written out at about 16 KB)
        self.out.len() + 16 * 1024
    }

    pub fn encoded_bytes(&self) -> usize {
        self.out.len()
    }

    pub fn drain(&mut self) -> Vec<u8> {
        self.out.take()
    }

    pub fn finish(mut self) -> Result<Vec<u8>, FormatError> {
        self.writer.flush().map_err(|e| FormatError::Encoder { format: "Avro", reason: e.to_string() })?;
        drop(self.writer);
        Ok(self.out.take())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Format;
    use apache_avro::types::Value as Avro;
    use num_bigint::BigInt;
    use runtime::data::{Struct, Type, Value};
    use runtime::testkit::sink_record;
    use serde_json::json;

    /// Names Avro refuses give an error naming them, never a panic, and the cache stays usable.
    #[test]
    fn invalid_avro_names_are_refused_with_the_name() {
        for (name, field, bad) in [
            ("my-server.db.t.Value", "id", "my-server.db.t"),
            ("shop.Order", "my col", "my col"),
            ("shop.1abc", "ok", "1abc"),
            ("a..b", "x", "a."),
            ("é.x", "y", "é"),
        ] {
            let s =
                Schema::builder(Type::Struct).name(name).field(field, Schema::primitive(Type::Int64, false)).build();
            let e = intern(&FromConnect::new(true).convert(&s)).err().unwrap_or_else(|| panic!("{name} / {field}"));
            assert!(e.contains(bad) && e.contains("not a valid Avro"), "{name} / {field}: {e}");
        }
        assert!(intern(&FromConnect::new(true).convert(&orders_schema())).is_ok());
    }

    proptest::proptest! {
        /// Any schema and field name: a schema or an error, never a panic (issue 12).
        #[test]
        fn any_names_never_panic(name in "\\PC{0,12}", field in "\\PC{0,8}") {
            let s = Schema::builder(Type::Struct).name(name).field(field, Schema::primitive(Type::Int64, true)).build();
            let _ = intern(&FromConnect::new(true).convert(&s));
        }
    }

    pub(crate) fn orders_schema() -> Schema {
        Schema::builder(Type::Struct)
            .name("shop.Order")
            .field("id", Schema::primitive(Type::Int64, false))
            .field("qty", Schema::primitive(Type::Int16, false))
            .field("amount", Schema::decimal(2).build())
            .field("day", Schema::date().build())
            .field("at", Schema::timestamp().build())
            .field("note", Schema::primitive(Type::String, true))
            .build()
    }

    pub(crate) fn order(schema: &Schema, id: i64, note: Option<&str>) -> Value {
        let mut s = Struct::new(schema.clone());
        s.put("id", Value::Int64(id))
            .put("qty", Value::Int16(3))
            .put("amount", Value::Decimal(BigInt::from(-12345), 2))
            .put("day", Value::Date(19_675))
            .put("at", Value::Timestamp(1_700_000_000_000))
            .put("note", note.map_or(Value::Null, |n| Value::String(n.into())));
        Value::Struct(s)
    }

    #[test]
    fn schema_follows_avro_data_conventions() {
        let json = FromConnect::new(true).convert(&orders_schema());
        assert_eq!(json["name"], "Order");
        assert_eq!(json["namespace"], "shop");
        assert_eq!(json["fields"][1]["type"], json!({"type": "int", "connect.type": "int16"}));
        assert_eq!(json["fields"][2]["type"]["logicalType"], "decimal");
        assert_eq!(json["fields"][2]["type"]["precision"], 64);
        assert_eq!(json["fields"][2]["type"]["scale"], 2);
        assert_eq!(json["fields"][3]["type"]["logicalType"], "date");
        assert_eq!(json["fields"][4]["type"]["logicalType"], "timestamp-millis");
        assert_eq!(json["fields"][5], json!({"name": "note", "type": ["null", "string"], "default": null}));
        let anonymous = Schema::builder(Type::Struct).field("a", Schema::string()).build();
        assert_eq!(FromConnect::new(true).convert(&anonymous)["name"], "ConnectDefault");
    }

    #[test]
    fn container_file_reads_back_with_apache_avro() {
        let schema = orders_schema();
        let mut s = crate::format::json::tests::settings(runtime::convert::DecimalFormat::Base64, false);
        s.format = Format::Avro;
        for codec_name in ["null", "deflate", "snappy"] {
            s.avro_codec = codec_name.into();
            let first = sink_record("orders", 0, 0, Some(schema.clone()), order(&schema, 1, None));
            let mut f = AvroFile::new(&s, &first).unwrap();
            f.write(&first).unwrap();
            f.write(&sink_record("orders", 0, 1, Some(schema.clone()), order(&schema, 2, Some("gift")))).unwrap();
            let bytes = f.finish().unwrap();
            let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
            let rows: Vec<Avro> = reader.map(Result::unwrap).collect();
            assert_eq!(rows.len(), 2, "{codec_name}");
            let Avro::Record(fields) = &rows[1] else { panic!("a record") };
            assert_eq!(fields[0], ("id".into(), Avro::Long(2)));
            assert_eq!(fields[1], ("qty".into(), Avro::Int(3)));
            assert_eq!(
                fields[2],
                ("amount".into(), Avro::Decimal(apache_avro::Decimal::from(BigInt::from(-12345).to_signed_bytes_be())))
            );
            assert_eq!(fields[3], ("day".into(), Avro::Date(19_675)));
            assert_eq!(fields[4], ("at".into(), Avro::TimestampMillis(1_700_000_000_000)));
            assert_eq!(fields[5], ("note".into(), Avro::Union(1, Box::new(Avro::String("gift".into())))));
        }
    }
}
