//! Converters between Connect data and Kafka bytes: JsonConverter (byte-identical to Kafka's),
//! StringConverter, ByteArrayConverter, the number and boolean converters ([`primitive`]), and
//! Confluent's AvroConverter with a schema registry ([`avro`]).

pub mod avro;
pub mod header;
pub mod json;
mod json_payload;
pub mod number;
pub mod primitive;
pub mod time;

use crate::config::ConfigReader;
use crate::data::{Schema, Type, Value};
pub use avro::AvroConverter;
pub use header::HeaderConverter;
pub use json::{DecimalFormat, JsonConverter};
pub use primitive::Primitive;

/// A record could not be converted (a bad record, in `errors.tolerance` terms).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{message}")]
    Data { message: String },
    /// The converter needs a schema registry's answer first: the caller awaits
    /// [`Converter::resolve`] and converts again ([`Converter::encode_resolving`] does both).
    #[error("waiting for the schema registry: {0:?}")]
    Unresolved(Box<avro::Need>),
}

pub const JSON_CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const STRING_CLASS: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const BYTE_ARRAY_CLASS: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// A converter, with its settings.
#[derive(Debug, Clone)]
pub enum Converter {
    Json(JsonConverter),
    String,
    ByteArray,
    /// `IntegerConverter`, `LongConverter`, … `BooleanConverter`.
    Primitive(Primitive),
    /// `io.confluent.connect.avro.AvroConverter`.
    Avro(Box<AvroConverter>),
}

impl Converter {
    /// Reads `<prefix>` (the class) and `<prefix>.*` settings, e.g. `value.converter`.
    /// `None` (with an error recorded) for an unsupported class; `Ok(None)` when the key is absent.
    pub fn from_config(reader: &mut ConfigReader<'_>, prefix: &str) -> Option<Option<Converter>> {
        let class = reader.non_empty(prefix)?;
        let section_prefix = format!("{prefix}.");
        let section = reader.section(&section_prefix);
        let short = class.rsplit('.').next().unwrap_or_default();
        let converter = match short {
            "JsonConverter" => {
                let mut c = JsonConverter::new(true);
                let mut r = ConfigReader::new(&section);
                c.schemas_enable = r.bool("schemas.enable", true);
                c.replace_null_with_default = r.bool("replace.null.with.default", true);
                c.cache_size = r.int_in("schemas.cache.size", 1000, 0, i64::MAX) as usize;
                c.decimal_format = match r.one_of("decimal.format", "BASE64", &["BASE64", "NUMERIC"]) {
                    "NUMERIC" => DecimalFormat::Numeric,
                    _ => DecimalFormat::Base64,
                };
                let (errors, _) = r.finish();
                reader.absorb(&section_prefix, errors);
                Converter::Json(c)
            }
            "AvroConverter" => {
                let mut r = ConfigReader::new(&section);
                let avro = AvroConverter::from_config(&mut r, prefix.starts_with("key"));
                let (errors, _) = r.finish();
                reader.absorb(&section_prefix, errors);
                Converter::Avro(Box::new(avro?))
            }
            "StringConverter" => Converter::String,
            "ByteArrayConverter" => Converter::ByteArray,
            other => match Primitive::from_class(other) {
                Some(p) => Converter::Primitive(p),
                None => {
                    reader.invalid(
                        prefix,
                        format!(
                            "one of {JSON_CLASS}, {STRING_CLASS}, {BYTE_ARRAY_CLASS}, {}, \
                             org.apache.kafka.connect.converters.{{Short,Integer,Long,Float,Double,Boolean}}Converter",
                            avro::AVRO_CLASS
                        ),
                        class.as_str(),
                    );
                    return None;
                }
            },
        };
        Some(Some(converter))
    }

    /// The Java class users know this converter by (for `__connect.errors.class.name`).
    pub fn java_class(&self) -> &'static str {
        match self {
            Converter::Json(_) => JSON_CLASS,
            Converter::String => STRING_CLASS,
            Converter::ByteArray => BYTE_ARRAY_CLASS,
            Converter::Primitive(p) => p.java_class(),
            Converter::Avro(_) => avro::AVRO_CLASS,
        }
    }

    /// Connect data for `topic` → bytes into `out`; `Ok(false)` for null bytes, and
    /// [`ConvertError::Unresolved`] when a registry must be asked first.
    pub fn encode(
        &mut self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        match self {
            Converter::Avro(c) => c.encode(topic, schema, value, out),
            Converter::Json(c) => c.encode(schema, value, out),
            Converter::String => match value {
                Value::Null => Ok(false),
                v => {
                    v.write_text(out);
                    Ok(true)
                }
            },
            Converter::ByteArray => {
                if let Some(s) = schema {
                    if s.ty != Type::Bytes {
                        return Err(ConvertError::Data {
                            message: "Invalid schema type for ByteArrayConverter.".into(),
                        });
                    }
                }
                match value {
                    Value::Null => Ok(false),
                    Value::Bytes(b) => {
                        out.extend_from_slice(b);
                        Ok(true)
                    }
                    _ => Err(ConvertError::Data {
                        message: "ByteArrayConverter is not compatible with objects of type other than byte[]".into(),
                    }),
                }
            }
            Converter::Primitive(p) => p.encode(schema, value, out),
        }
    }

    /// Bytes of `topic` → Connect data, or [`ConvertError::Unresolved`].
    pub fn decode(&mut self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value), ConvertError> {
        match self {
            Converter::Avro(c) => c.decode(topic, bytes),
            Converter::Json(c) => c.decode(bytes),
            Converter::String => Ok((
                Some(Schema::primitive(Type::String, true)),
                bytes.map_or(Value::Null, |b| Value::String(String::from_utf8_lossy(b).into_owned())),
            )),
            Converter::ByteArray => Ok((
                Some(Schema::primitive(Type::Bytes, true)),
                bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec())),
            )),
            Converter::Primitive(p) => p.decode(bytes),
        }
    }

    /// Answers what [`ConvertError::Unresolved`] asked for (only converters with a registry
    /// ever ask).
    pub async fn resolve(&mut self, need: avro::Need) -> Result<(), ConvertError> {
        match self {
            Converter::Avro(c) => c.resolve(need).await,
            _ => Err(ConvertError::Data { message: format!("{} needs no schema registry", self.java_class()) }),
        }
    }

    /// [`Converter::encode`], asking the registry as often as it needs.
    pub async fn encode_resolving(
        &mut self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        loop {
            match self.encode(topic, schema, value, out) {
                Err(ConvertError::Unresolved(need)) => self.resolve(*need).await?,
                done => return done,
            }
        }
    }

    /// [`Converter::decode`], asking the registry as often as it needs.
    pub async fn decode_resolving(
        &mut self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        loop {
            match self.decode(topic, bytes) {
                Err(ConvertError::Unresolved(need)) => self.resolve(*need).await?,
                done => return done,
            }
        }
    }
}
