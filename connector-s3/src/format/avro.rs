//! `io.confluent.connect.s3.format.avro.AvroFormat`: Avro object container files (`avro.codec`),
//! one file schema taken from the first record's Connect schema.
//!
//! The Connect → Avro schema follows Confluent's `AvroData` conventions: a struct is a record
//! named after the Connect schema (`ConnectDefault` in `io.confluent.connect.avro` when it has no
//! name), an optional schema is the union `["null", T]` with default `null`, int8/int16 are Avro
//! ints with `connect.type`, Decimal is `bytes` with the `decimal` logical type (precision from
//! `connect.decimal.precision`, else 64), Date is `date`, Time is `time-millis`, Timestamp is
//! `timestamp-millis`, maps with string keys are Avro maps and others arrays of `MapEntry`
//! records. Byte-for-byte identity with files written by Java is not verified.

use std::collections::HashMap;
use std::sync::Mutex;

use apache_avro::types::Value as Avro;
use apache_avro::{Codec, Schema as AvroSchema, Writer};
use runtime::data::{Schema, Type, Value, DATE, DECIMAL, SCALE, TIME, TIMESTAMP};
use runtime::SinkRecord;
use serde_json::{json, Map, Value as Json};

use super::{at, same_schema, FormatError, FormatSettings, SharedBuf};

const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_PRECISION: &str = "64";

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
    check_names(json)?;
    // apache-avro 0.21 panics on some invalid names (a digit first); `check_names` refuses
    // those, and a panic left anywhere in its parser is this schema's error, not the task's crash
    let schema = std::panic::catch_unwind(|| AvroSchema::parse(json))
        .map_err(|_| format!("the Avro library could not parse the schema {}", runtime::error::cut(&text, 300)))?
        .map_err(|e| e.to_string())?;
    let leaked: &'static AvroSchema = Box::leak(Box::new(schema));
    map.insert(text, leaked);
    Ok(leaked)
}

/// Refuses names Avro does not allow (`[A-Za-z_][A-Za-z0-9_]*`, namespaces dot-separated names)
/// with the name and the rule, before the Avro library sees them.
fn check_names(json: &Json) -> Result<(), String> {
    fn valid(name: &str) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
    match json {
        Json::Object(o) => {
            if let Some(Json::String(name)) = o.get("name") {
                if !valid(name) {
                    return Err(format!(
                        "{name:?} is not a valid Avro name (a letter or '_', then letters, digits or '_'): \
                         rename the field or the schema (e.g. Debezium's schema.name.adjustment.mode=avro)"
                    ));
                }
            }
            if let Some(Json::String(ns)) = o.get("namespace") {
                if !ns.is_empty() && !ns.split('.').all(valid) {
                    return Err(format!(
                        "{ns:?} is not a valid Avro namespace (dot-separated names of letters, digits and '_', \
                         not starting with a digit): rename the schema (e.g. Debezium's \
                         schema.name.adjustment.mode=avro)"
                    ));
                }
            }
            o.values().try_for_each(check_names)
        }
        Json::Array(a) => a.iter().try_for_each(check_names),
        _ => Ok(()),
    }
}

/// Builds the Avro schema JSON of a Connect schema.
pub struct SchemaConverter {
    meta: bool,
    names: HashMap<String, usize>,
}

impl SchemaConverter {
    pub fn new(connect_meta_data: bool) -> SchemaConverter {
        SchemaConverter { meta: connect_meta_data, names: HashMap::new() }
    }

    fn unique(&mut self, name: &str) -> String {
        let n = self.names.entry(name.to_owned()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name.to_owned()
        } else {
            format!("{name}{n}")
        }
    }

    fn props(&self, schema: &Schema, out: &mut Map<String, Json>) {
        if !self.meta {
            return;
        }
        if let Some(d) = &schema.doc {
            out.insert("connect.doc".into(), json!(d));
        }
        if let Some(v) = schema.version {
            out.insert("connect.version".into(), json!(v));
        }
        if !schema.parameters.is_empty() {
            let params: Map<String, Json> = schema.parameters.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            out.insert("connect.parameters".into(), Json::Object(params));
        }
        if let Some(n) = &schema.name {
            out.insert("connect.name".into(), json!(n));
        }
    }

    /// The non-null branch of a schema.
    fn base(&mut self, schema: &Schema) -> Json {
        let mut o = Map::new();
        let logical = schema.name.as_deref();
        match (schema.ty, logical) {
            (Type::Bytes, Some(DECIMAL)) => {
                let scale: i64 = param(schema, SCALE).and_then(|s| s.parse().ok()).unwrap_or(0);
                let precision: i64 =
                    param(schema, "connect.decimal.precision").unwrap_or(DEFAULT_PRECISION).parse().unwrap_or(64);
                o.insert("type".into(), json!("bytes"));
                o.insert("scale".into(), json!(scale));
                o.insert("precision".into(), json!(precision));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("decimal"));
            }
            (Type::Int32, Some(DATE)) => {
                o.insert("type".into(), json!("int"));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("date"));
            }
            (Type::Int32, Some(TIME)) => {
                o.insert("type".into(), json!("int"));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("time-millis"));
            }
            (Type::Int64, Some(TIMESTAMP)) => {
                o.insert("type".into(), json!("long"));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("timestamp-millis"));
            }
            (Type::Struct, _) => {
                let full = schema.name.clone().unwrap_or_else(|| format!("{NAMESPACE}.ConnectDefault"));
                let (namespace, name) = match full.rsplit_once('.') {
                    Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
                    None => (None, full.clone()),
                };
                let name = self.unique(&name);
                o.insert("type".into(), json!("record"));
                o.insert("name".into(), json!(name));
                if let Some(ns) = namespace {
                    o.insert("namespace".into(), json!(ns));
                }
                if let Some(d) = &schema.doc {
                    o.insert("doc".into(), json!(d));
                }
                let fields: Vec<Json> = schema
                    .fields
                    .iter()
                    .map(|f| {
                        let mut field = Map::new();
                        field.insert("name".into(), json!(f.name));
                        field.insert("type".into(), self.convert(&f.schema));
                        if f.schema.optional {
                            field.insert("default".into(), Json::Null);
                        }
                        Json::Object(field)
                    })
                    .collect();
                o.insert("fields".into(), Json::Array(fields));
                self.props(schema, &mut o);
            }
            (Type::Array, _) => {
                o.insert("type".into(), json!("array"));
                let items = schema.value.as_ref().map(|s| self.convert(s)).unwrap_or(json!("null"));
                o.insert("items".into(), items);
                self.props(schema, &mut o);
            }
            (Type::Map, _) => {
                let key = schema.key.clone();
                let value = schema.value.clone();
                if key.as_ref().is_some_and(|k| k.ty == Type::String && !k.optional) {
                    o.insert("type".into(), json!("map"));
                    o.insert("values".into(), value.map(|v| self.convert(&v)).unwrap_or(json!("null")));
                } else {
                    let entry = self.unique("MapEntry");
                    let k = key.map(|k| self.convert(&k)).unwrap_or(json!("null"));
                    let v = value.map(|v| self.convert(&v)).unwrap_or(json!("null"));
                    o.insert("type".into(), json!("array"));
                    o.insert(
                        "items".into(),
                        json!({"type": "record", "name": entry, "namespace": NAMESPACE,
                               "fields": [{"name": "key", "type": k}, {"name": "value", "type": v}]}),
                    );
                }
                self.props(schema, &mut o);
            }
            (ty, _) => {
                let (avro, connect_type) = match ty {
                    Type::Int8 => ("int", Some("int8")),
                    Type::Int16 => ("int", Some("int16")),
                    Type::Int32 => ("int", None),
                    Type::Int64 => ("long", None),
                    Type::Float32 => ("float", None),
                    Type::Float64 => ("double", None),
                    Type::Boolean => ("boolean", None),
                    Type::String => ("string", None),
                    _ => ("bytes", None),
                };
                o.insert("type".into(), json!(avro));
                if let Some(t) = connect_type {
                    o.insert("connect.type".into(), json!(t));
                }
                self.props(schema, &mut o);
                if o.len() == 1 {
                    return json!(avro);
                }
            }
        }
        Json::Object(o)
    }

    pub fn convert(&mut self, schema: &Schema) -> Json {
        let base = self.base(schema);
        if schema.optional {
            json!(["null", base])
        } else {
            base
        }
    }
}

fn param<'a>(schema: &'a Schema, key: &str) -> Option<&'a str> {
    schema.parameters.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A Connect value as an Avro value of the schema built by [`SchemaConverter`].
pub fn to_avro(schema: &Schema, value: &Value) -> Result<Avro, String> {
    if schema.optional {
        return Ok(match value {
            Value::Null => Avro::Union(0, Box::new(Avro::Null)),
            v => Avro::Union(1, Box::new(base_value(schema, v)?)),
        });
    }
    base_value(schema, value)
}

fn base_value(schema: &Schema, value: &Value) -> Result<Avro, String> {
    Ok(match value {
        Value::Null => return Err(format!("a null value for the required {} schema", schema.ty.json_name())),
        Value::Boolean(b) => Avro::Boolean(*b),
        Value::Int8(n) => Avro::Int(*n as i32),
        Value::Int16(n) => Avro::Int(*n as i32),
        Value::Int32(n) => Avro::Int(*n),
        Value::Int64(n) => Avro::Long(*n),
        Value::Float32(f) => Avro::Float(*f),
        Value::Float64(f) => Avro::Double(*f),
        Value::String(s) => Avro::String(s.clone()),
        Value::Bytes(b) => Avro::Bytes(b.clone()),
        Value::Decimal(unscaled, _) => Avro::Decimal(apache_avro::Decimal::from(unscaled.to_signed_bytes_be())),
        Value::Date(d) => Avro::Date(*d),
        Value::Time(t) => Avro::TimeMillis(*t),
        Value::Timestamp(t) => Avro::TimestampMillis(*t),
        Value::Array(items) => {
            let item_schema = schema.value.as_ref().ok_or("an array schema without items")?;
            Avro::Array(items.iter().map(|v| to_avro(item_schema, v)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => {
            let (Some(ks), Some(vs)) = (&schema.key, &schema.value) else {
                return Err("a map schema without key or value".into());
            };
            if ks.ty == Type::String && !ks.optional {
                let mut m = HashMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else { return Err("a map key that is not a string".into()) };
                    m.insert(k.clone(), to_avro(vs, v)?);
                }
                Avro::Map(m)
            } else {
                Avro::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Avro::Record(vec![("key".into(), to_avro(ks, k)?), ("value".into(), to_avro(vs, v)?)]))
                        })
                        .collect::<Result<_, String>>()?,
                )
            }
        }
        Value::Struct(s) => Avro::Record(
            s.schema
                .fields
                .iter()
                .zip(&s.values)
                .map(|(f, v)| {
                    Ok((f.name.clone(), to_avro(&f.schema, v).map_err(|e| format!("field {}: {e}", f.name))?))
                })
                .collect::<Result<_, String>>()?,
        ),
    })
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
        let json = SchemaConverter::new(settings.connect_meta_data).convert(&schema);
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
    use num_bigint::BigInt;
    use runtime::data::Struct;
    use runtime::testkit::sink_record;

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
            let e = intern(&SchemaConverter::new(true).convert(&s)).err().unwrap_or_else(|| panic!("{name} / {field}"));
            assert!(e.contains(bad) && e.contains("not a valid Avro"), "{name} / {field}: {e}");
        }
        assert!(intern(&SchemaConverter::new(true).convert(&orders_schema())).is_ok());
    }

    proptest::proptest! {
        /// Any schema and field name: a schema or an error, never a panic (issue 12).
        #[test]
        fn any_names_never_panic(name in "\\PC{0,12}", field in "\\PC{0,8}") {
            let s = Schema::builder(Type::Struct).name(name).field(field, Schema::primitive(Type::Int64, true)).build();
            let _ = intern(&SchemaConverter::new(true).convert(&s));
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
        let json = SchemaConverter::new(true).convert(&orders_schema());
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
        assert_eq!(SchemaConverter::new(true).convert(&anonymous)["name"], "ConnectDefault");
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
