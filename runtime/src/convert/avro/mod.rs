//! `io.confluent.connect.avro.AvroConverter`: Connect data as Confluent's wire format (byte `0`,
//! the schema id as a 4-byte big-endian int, the Avro binary datum), with the schema registered
//! in a Confluent-compatible schema registry; and back.
//!
//! Conversion is synchronous and cached: a record whose schema (or schema id) the converter has
//! not met yet returns [`ConvertError::Unresolved`], and the task awaits
//! [`AvroConverter::resolve`], which asks the registry (retrying with backoff while it does not
//! answer, so an outage delays records and loses none), then converts again. Each distinct
//! schema costs one registry call per task.

pub mod encode;
pub mod registry;
pub mod schema;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigReader;
use crate::data::{Schema, Type, Value, DECIMAL};
use crate::retry::Backoff;
use registry::{Auth, Registry, RegistryError};
use schema::FromConnect;

use super::ConvertError;

pub const AVRO_CLASS: &str = "io.confluent.connect.avro.AvroConverter";
const MAGIC: u8 = 0;

/// `key.subject.name.strategy` / `value.subject.name.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectStrategy {
    /// `<topic>-key` / `<topic>-value` (also what `AssociatedNameStrategy` falls back to).
    TopicName,
    /// The record's full name.
    RecordName,
    /// `<topic>-<record full name>`.
    TopicRecordName,
}

/// What the converter needs from the registry before it can convert a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The id of the schema `text` under `subject` (register or look up).
    Id { subject: String, text: String },
    /// The schema with this id.
    Schema { id: i32, subject: String },
}

/// A Connect schema's Avro form (for writing).
#[derive(Debug)]
struct Written {
    text: String,
    record_name: Option<String>,
}

/// A registry schema's Connect form (for reading).
#[derive(Debug)]
struct Read {
    avro: apache_avro::Schema,
    connect: Schema,
    raw_bytes: bool,
}

/// The last schema written, its topic and id: the per-record fast path.
#[derive(Debug, Clone)]
struct Hot {
    schema: Schema,
    topic: String,
    id: i32,
}

#[derive(Debug, Clone)]
pub struct AvroConverter {
    is_key: bool,
    registry: Registry,
    auto_register: bool,
    use_latest: bool,
    normalize: bool,
    strategy: SubjectStrategy,
    meta: bool,
    scrub: bool,
    /// `enhanced.avro.schema.support`: enums written back as Avro enums.
    enhanced: bool,
    cache_size: usize,
    retry_wait: Duration,
    written: Vec<(Schema, Arc<Written>)>,
    ids: HashMap<(String, String), i32>,
    reads: HashMap<i32, Arc<Read>>,
    hot: Option<Hot>,
}

impl AvroConverter {
    /// Reads the converter's section (`value.converter.` keys without the prefix).
    pub fn from_config(r: &mut ConfigReader<'_>, is_key: bool) -> Option<AvroConverter> {
        let urls = r.list("schema.registry.url");
        if urls.is_empty() {
            r.missing("schema.registry.url", "the schema registry's URL (a comma-separated list)");
        }
        let strategy_key = if is_key { "key.subject.name.strategy" } else { "value.subject.name.strategy" };
        let strategy = match r.string_or(strategy_key, "TopicNameStrategy").rsplit('.').next().unwrap_or_default() {
            "TopicNameStrategy" | "AssociatedNameStrategy" => SubjectStrategy::TopicName,
            "RecordNameStrategy" => SubjectStrategy::RecordName,
            "TopicRecordNameStrategy" => SubjectStrategy::TopicRecordName,
            other => {
                r.invalid(
                    strategy_key,
                    "io.confluent.kafka.serializers.subject.{TopicName,RecordName,TopicRecordName}Strategy",
                    other,
                );
                SubjectStrategy::TopicName
            }
        };
        let auth = Self::auth(r);
        let mut headers = Vec::new();
        for (k, v) in r.prefixed("request.header.") {
            headers.push((k, v));
        }
        let timeout = r.millis("http.read.timeout.ms", 60_000) + r.millis("http.connect.timeout.ms", 60_000);
        r.accept(&["latest.compatibility.strict", "max.schemas.per.subject", "max.retries"]);
        let converter = AvroConverter {
            is_key,
            registry: Registry::new(&urls, auth, headers, timeout),
            auto_register: r.bool("auto.register.schemas", true),
            use_latest: r.bool("use.latest.version", false),
            normalize: r.bool("normalize.schemas", false),
            strategy,
            meta: r.bool("connect.meta.data", true),
            scrub: r.bool("scrub.invalid.names", false),
            enhanced: r.bool("enhanced.avro.schema.support", false),
            cache_size: r.int_in("schemas.cache.config", 1000, 1, i64::MAX) as usize,
            retry_wait: r.millis("retries.wait.ms", 1000),
            written: Vec::new(),
            ids: HashMap::new(),
            reads: HashMap::new(),
            hot: None,
        };
        (!r.has_errors()).then_some(converter)
    }

    fn auth(r: &mut ConfigReader<'_>) -> Auth {
        let user_info =
            r.password("basic.auth.user.info").or_else(|| r.password("schema.registry.basic.auth.user.info"));
        let auth = match r.one_of("basic.auth.credentials.source", "URL", &["URL", "USER_INFO"]) {
            "USER_INFO" => match user_info {
                Some(u) => Auth::Basic(u),
                None => {
                    r.missing("basic.auth.user.info", "user:password (basic.auth.credentials.source=USER_INFO)");
                    Auth::None
                }
            },
            _ => Auth::None,
        };
        match (r.string("bearer.auth.credentials.source").as_deref(), r.password("bearer.auth.token")) {
            (Some("STATIC_TOKEN"), Some(token)) => Auth::Bearer(token),
            (Some("STATIC_TOKEN"), None) => {
                r.missing("bearer.auth.token", "the token (bearer.auth.credentials.source=STATIC_TOKEN)");
                auth
            }
            (Some(other), _) => {
                r.invalid("bearer.auth.credentials.source", "STATIC_TOKEN", other);
                auth
            }
            (None, _) => auth,
        }
    }

    fn subject(&self, topic: &str, record_name: Option<&str>) -> Result<String, ConvertError> {
        let suffix = if self.is_key { "key" } else { "value" };
        let record = || {
            record_name.ok_or_else(|| ConvertError::Data {
                message: "RecordNameStrategy needs a struct (Avro record) schema; use TopicNameStrategy for this topic"
                    .into(),
            })
        };
        Ok(match self.strategy {
            SubjectStrategy::TopicName => format!("{topic}-{suffix}"),
            SubjectStrategy::RecordName => record()?.to_owned(),
            SubjectStrategy::TopicRecordName => format!("{topic}-{}", record()?),
        })
    }

    /// The Avro form of `schema`, from the cache or built (and checked by the Avro library).
    fn written(&mut self, schema: &Schema) -> Result<Arc<Written>, ConvertError> {
        if let Some(i) = self.written.iter().position(|(s, _)| s.ptr() == schema.ptr() || s == schema) {
            let entry = self.written.remove(i);
            let found = entry.1.clone();
            self.written.insert(0, entry);
            return Ok(found);
        }
        let json = FromConnect::new(self.meta)
            .scrub_invalid_names(self.scrub)
            .enhanced_schema_support(self.enhanced)
            .convert(schema);
        schema::parse(&json)
            .map_err(|e| ConvertError::Data { message: format!("cannot build the Avro schema: {e}") })?;
        let record_name = match &json {
            serde_json::Value::Object(o) if o.get("type").is_some_and(|t| t == "record") => {
                let name = o.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                Some(match o.get("namespace").and_then(|n| n.as_str()) {
                    Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
                    _ => name.to_owned(),
                })
            }
            _ => None,
        };
        let written = Arc::new(Written { text: json.to_string(), record_name });
        self.written.insert(0, (schema.clone(), written.clone()));
        self.written.truncate(self.cache_size);
        Ok(written)
    }

    /// Connect data → the wire format in `out`; `Ok(false)` for null (a tombstone).
    pub fn encode(
        &mut self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        if matches!(value, Value::Null) {
            return Ok(false);
        }
        let Some(schema) = schema else {
            return Err(ConvertError::Data {
                message:
                    "AvroConverter needs a schema: this record has none (schemaless data cannot be written as Avro)"
                        .into(),
            });
        };
        let id = match &self.hot {
            Some(h) if h.schema.ptr() == schema.ptr() && h.topic == topic => h.id,
            _ => {
                let written = self.written(schema)?;
                let subject = self.subject(topic, written.record_name.as_deref())?;
                let key = (subject, written.text.clone());
                let Some(&id) = self.ids.get(&key) else {
                    return Err(ConvertError::Unresolved(Box::new(Need::Id { subject: key.0, text: key.1 })));
                };
                self.hot = Some(Hot { schema: schema.clone(), topic: topic.to_owned(), id });
                id
            }
        };
        let start = out.len();
        out.push(MAGIC);
        out.extend_from_slice(&id.to_be_bytes());
        let raw = match value {
            Value::Bytes(b) if schema.ty == Type::Bytes && !schema.is_logical(DECIMAL) && !schema.optional => Some(b),
            _ => None,
        };
        let written = match raw {
            Some(b) => {
                out.extend_from_slice(b);
                Ok(())
            }
            None => encode::write_value(schema, value, self.enhanced, out),
        };
        written.map(|()| true).map_err(|message| {
            out.truncate(start);
            ConvertError::Data { message: format!("cannot write the record as Avro: {message}") }
        })
    }

    /// The wire format → Connect data.
    pub fn decode(&mut self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value), ConvertError> {
        let Some(bytes) = bytes else { return Ok((None, Value::Null)) };
        if bytes.len() < 5 || bytes[0] != MAGIC {
            return Err(ConvertError::Data {
                message: format!(
                    "Unknown magic byte! The data is not in Confluent's Avro wire format (byte 0, a 4-byte schema id): \
                     {} bytes starting {:02x?}",
                    bytes.len(),
                    &bytes[..bytes.len().min(5)]
                ),
            });
        }
        let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let Some(read) = self.reads.get(&id) else {
            let subject = self.subject(topic, None).unwrap_or_else(|_| topic.to_owned());
            return Err(ConvertError::Unresolved(Box::new(Need::Schema { id, subject })));
        };
        let mut datum = &bytes[5..];
        if read.raw_bytes {
            return Ok((Some(read.connect.clone()), Value::Bytes(datum.to_vec())));
        }
        let avro = apache_avro::from_avro_datum(&read.avro, &mut datum, None)
            .map_err(|e| ConvertError::Data { message: format!("cannot read Avro data with schema id {id}: {e}") })?;
        let value = value::from_avro(&read.connect, avro)
            .map_err(|e| ConvertError::Data { message: format!("cannot read Avro data with schema id {id}: {e}") })?;
        Ok((Some(read.connect.clone()), value))
    }

    /// Asks the registry for what `need` names, retrying while it does not answer.
    pub async fn resolve(&mut self, need: Need) -> Result<(), ConvertError> {
        let mut backoff = Backoff::new(self.retry_wait, crate::retry::RECONNECT_MAX);
        loop {
            let answer = match &need {
                Need::Id { subject, text } => self.fetch_id(subject, text).await.map(|id| {
                    self.ids.insert((subject.clone(), text.clone()), id);
                }),
                Need::Schema { id, subject } => match self.fetch_schema(*id, subject).await {
                    Ok(Ok(read)) => {
                        self.reads.insert(*id, Arc::new(read));
                        Ok(())
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(e) => Err(e),
                },
            };
            match answer {
                Ok(()) => {
                    if let Some((attempts, took)) = backoff.succeed() {
                        tracing::info!(attempts, ?took, "schema registry answers again");
                    }
                    return Ok(());
                }
                Err(e @ RegistryError::Unavailable { .. }) => {
                    let wait = backoff.fail();
                    if backoff.should_log() {
                        tracing::warn!(
                            attempts = backoff.attempts(),
                            ?wait,
                            "{e}; retrying (records wait, none are lost)"
                        );
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(ConvertError::Data { message: self.refused(&need, &e) }),
            }
        }
    }

    fn refused(&self, need: &Need, e: &RegistryError) -> String {
        match need {
            Need::Schema { id, .. } if e.is_not_found() => {
                format!("schema id {id} is not in the schema registry ({e}): the record was written against another registry, or its schema was deleted")
            }
            Need::Id { subject, .. } if !self.auto_register && e.is_not_found() => {
                format!("the record's schema is not registered under subject {subject} and auto.register.schemas=false ({e})")
            }
            Need::Id { subject, .. } => format!("cannot register the record's schema under subject {subject}: {e}"),
            Need::Schema { id, .. } => format!("cannot fetch schema id {id}: {e}"),
        }
    }

    async fn fetch_id(&self, subject: &str, text: &str) -> Result<i32, RegistryError> {
        if self.use_latest {
            let latest = self.registry.latest(subject).await?;
            let same = serde_json::from_str(&latest.schema)
                .ok()
                .and_then(|j| schema::parse(&j).ok())
                .zip(serde_json::from_str(text).ok().and_then(|j| schema::parse(&j).ok()))
                .is_some_and(|(a, b)| a.canonical_form() == b.canonical_form());
            if !same {
                return Err(RegistryError::Refused {
                    url: self.registry.urls()[0].clone(),
                    call: format!("GET subjects/{subject}/versions/latest"),
                    status: 200,
                    code: 0,
                    message: format!(
                        "use.latest.version=true: the latest schema (id {}) differs from the record's; sluice writes \
                         with the latest schema only when it is the record's own",
                        latest.id
                    ),
                });
            }
            return Ok(latest.id);
        }
        if self.auto_register {
            self.registry.register(subject, text, self.normalize).await
        } else {
            Ok(self.registry.lookup(subject, text, self.normalize).await?.id)
        }
    }

    /// The registry's schema `id`, parsed; an inner error for a schema sluice cannot read. A
    /// schema without `connect.version` takes its version under `subject` from the registry, as
    /// Java's AvroConverter does (the S3 sink's `schema.compatibility` compares these versions);
    /// a registry that cannot say leaves it without one.
    async fn fetch_schema(&self, id: i32, subject: &str) -> Result<Result<Read, ConvertError>, RegistryError> {
        let text = self.registry.schema_by_id(id, Some(subject)).await?;
        let mut read = match read_schema(id, &text) {
            Ok(read) => read,
            Err(e) => return Ok(Err(e)),
        };
        if read.connect.version.is_none() && !read.raw_bytes {
            match self.registry.version_of(id, subject).await {
                Ok(Some(v)) => read.connect = read.connect.to_builder().version(v).build(),
                Ok(None) => {
                    tracing::debug!(id, subject, "the schema is not a version of its subject: no Connect version")
                }
                Err(e @ RegistryError::Unavailable { .. }) => return Err(e),
                Err(e) => {
                    tracing::debug!(id, error = %e, "no version for the schema (the registry cannot list an id's versions)")
                }
            }
        }
        Ok(Ok(read))
    }
}

fn read_schema(id: i32, text: &str) -> Result<Read, ConvertError> {
    let bad = |e: String| ConvertError::Data { message: format!("schema id {id} cannot be read: {e}") };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let avro = schema::parse(&json).map_err(|e| bad(e.to_string()))?;
    let connect = schema::to_connect(&json).map_err(|e| bad(e.to_string()))?;
    let raw_bytes = matches!(avro, apache_avro::Schema::Bytes);
    Ok(Read { avro, connect, raw_bytes })
}

#[cfg(test)]
mod tests;
