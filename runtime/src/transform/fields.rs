//! Field transforms: `InsertField`, `ReplaceField`, `ExtractField`, `ValueToKey`. With a schema
//! they work on structs (the new struct schema keeps the name, version, doc and parameters, as
//! Kafka's `SchemaUtil.copySchemaBasics`); without one, on maps with string keys.

use super::field_path::FieldPath;
use super::Side;
use crate::config::{ConfigReader, ConnectorKind};
use crate::data::{Schema, SchemaBuilder, Struct, Type, Value};
use crate::record::ConnectRecord;

/// Output schemas by input schema (identity), for the last few schemas seen.
#[derive(Debug, Clone, Default)]
pub(super) struct SchemaCache(Vec<(Schema, Schema)>);

impl SchemaCache {
    pub(super) fn get_or(
        &mut self,
        input: &Schema,
        make: impl FnOnce() -> Result<Schema, String>,
    ) -> Result<Schema, String> {
        if let Some((_, out)) = self.0.iter().find(|(i, _)| i.ptr() == input.ptr() || i == input) {
            return Ok(out.clone());
        }
        let out = make()?;
        if self.0.len() >= 16 {
            self.0.remove(0);
        }
        self.0.push((input.clone(), out.clone()));
        Ok(out)
    }
}

/// A struct schema builder with the basics of `schema` (not its optionality, as Kafka).
pub(super) fn struct_like(schema: &Schema) -> SchemaBuilder {
    schema.basics_onto(Schema::builder(Type::Struct))
}

pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Struct(_) => "Struct",
        Value::Map(_) => "Map",
        Value::String(_) => "String",
        Value::Array(_) => "List",
        _ => "a primitive value",
    }
}

fn map_get<'a>(entries: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| matches!(k, Value::String(s) if s == name)).map(|(_, v)| v)
}

fn map_put(entries: &mut Vec<(Value, Value)>, name: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| matches!(k, Value::String(s) if s == name)) {
        Some(slot) => slot.1 = value,
        None => entries.push((Value::String(name.to_owned()), value)),
    }
}

/// `name?` (optional, the default) or `name!` (required).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    name: String,
    optional: bool,
}

fn spec(text: Option<String>) -> Option<Spec> {
    let t = text?;
    Some(match (t.strip_suffix('!'), t.strip_suffix('?')) {
        (Some(n), _) => Spec { name: n.to_owned(), optional: false },
        (_, Some(n)) => Spec { name: n.to_owned(), optional: true },
        _ => Spec { name: t, optional: true },
    })
}

/// `InsertField$Key` / `InsertField$Value`: topic, partition, offset (sinks), timestamp and a
/// static string as new fields. A null value (tombstone) passes through.
#[derive(Debug, Clone)]
pub struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    cache: SchemaCache,
}

impl InsertField {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side, kind: ConnectorKind) -> Option<InsertField> {
        let t = InsertField {
            side,
            topic: spec(r.non_empty("topic.field")),
            partition: spec(r.non_empty("partition.field")),
            offset: spec(r.non_empty("offset.field")),
            timestamp: spec(r.non_empty("timestamp.field")),
            static_field: spec(r.non_empty("static.field")),
            static_value: r.string("static.value"),
            cache: SchemaCache::default(),
        };
        r.accept(&["replace.null.with.default"]);
        if kind == ConnectorKind::Source {
            if let Some(o) = &t.offset {
                r.invalid(
                    "offset.field",
                    "no offset field (offset insertion is only supported for sink connectors)",
                    o.name.as_str(),
                );
            }
        }
        Some(t)
    }

    fn added(&self) -> impl Iterator<Item = (&Spec, Schema)> {
        let ts = |optional: bool| {
            let b = Schema::timestamp();
            if optional { b.optional() } else { b }.build()
        };
        [
            self.topic.as_ref().map(|s| (s, Schema::primitive(Type::String, s.optional))),
            self.partition.as_ref().map(|s| (s, Schema::primitive(Type::Int32, s.optional))),
            self.offset.as_ref().map(|s| (s, Schema::primitive(Type::Int64, s.optional))),
            self.timestamp.as_ref().map(|s| (s, ts(s.optional))),
            self.static_field.as_ref().map(|s| (s, Schema::primitive(Type::String, s.optional))),
        ]
        .into_iter()
        .flatten()
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let topic = r.topic().clone();
        let (partition, offset, timestamp) = (r.kafka_partition(), r.kafka_offset(), r.timestamp());
        // (field, value) pairs to insert; `None` leaves the field null
        let inserts: Vec<(String, Option<Value>, Option<i64>)> = [
            self.topic.as_ref().map(|s| (s.name.clone(), Some(Value::String(topic.to_string())), None)),
            self.partition.as_ref().map(|s| (s.name.clone(), partition.map(Value::Int32), None)),
            self.offset.as_ref().map(|s| (s.name.clone(), offset.map(Value::Int64), None)),
            self.timestamp.as_ref().map(|s| (s.name.clone(), None, timestamp)),
            self.static_field.as_ref().map(|s| (s.name.clone(), self.static_value.clone().map(Value::String), None)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (schema, value) = self.side.of(r);
        match (schema.as_ref(), &mut *value) {
            (_, Value::Null) => Ok(()),
            (None, Value::Map(entries)) => {
                for (name, v, ts) in inserts {
                    match (v, ts) {
                        (Some(v), _) => map_put(entries, &name, v),
                        (None, Some(ts)) => map_put(entries, &name, Value::Int64(ts)),
                        (None, None) => {}
                    }
                }
                Ok(())
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [field insertion], found: {}",
                kind_of(other)
            )),
            (Some(s), Value::Struct(old)) if s.ty == Type::Struct => {
                let added: Vec<(String, Schema)> =
                    self.added().map(|(spec, schema)| (spec.name.clone(), schema)).collect();
                let updated = self.cache.get_or(s, || {
                    let mut b = struct_like(s);
                    for f in &s.fields {
                        b = b.field(f.name.clone(), f.schema.clone());
                    }
                    for (name, schema) in added {
                        b = b.field(name, schema);
                    }
                    Ok(b.build())
                })?;
                let mut new = Struct::new(updated.clone());
                new.values[..old.values.len()].clone_from_slice(&old.values);
                for (name, v, ts) in inserts {
                    match (v, ts) {
                        (Some(v), _) => new.put(&name, v),
                        (None, Some(ts)) => new.put(&name, Value::Timestamp(ts)),
                        (None, None) => &mut new,
                    };
                }
                *schema = Some(updated);
                *value = Value::Struct(new);
                Ok(())
            }
            (Some(_), other) => {
                Err(format!("Only Struct objects supported for [field insertion], found: {}", kind_of(other)))
            }
        }
    }
}

/// Which fields `ReplaceField` keeps, and their new names.
#[derive(Debug, Clone)]
struct Selection {
    include: Vec<String>,
    exclude: Vec<String>,
    renames: Vec<(String, String)>,
}

impl Selection {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name) && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.iter().find(|(from, _)| from == name).map_or(name, |(_, to)| to.as_str())
    }
}

/// `ReplaceField$Key` / `ReplaceField$Value`: `include`, `exclude`, `renames` (`old:new`), with the
/// legacy `whitelist`/`blacklist`. The original field order is kept.
#[derive(Debug, Clone)]
pub struct ReplaceField {
    side: Side,
    selection: Selection,
    cache: SchemaCache,
}

impl ReplaceField {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<ReplaceField> {
        let mut exclude = r.list("exclude");
        exclude.extend(r.list("blacklist"));
        let mut include = r.list("include");
        include.extend(r.list("whitelist"));
        let mut renames = Vec::new();
        for pair in r.list("renames") {
            match pair.split_once(':') {
                Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                    renames.push((from.to_owned(), to.to_owned()))
                }
                _ => r.invalid("renames", "a list of old:new field name pairs", pair.as_str()),
            }
        }
        r.accept(&["replace.null.with.default"]);
        Some(ReplaceField { side, selection: Selection { include, exclude, renames }, cache: SchemaCache::default() })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let sel = &self.selection;
        let (schema, value) = self.side.of(r);
        match (schema.clone(), std::mem::replace(value, Value::Null)) {
            (_, Value::Null) => Ok(()),
            (None, Value::Map(entries)) => {
                let kept = entries
                    .into_iter()
                    .filter_map(|(k, v)| match &k {
                        Value::String(name) if !sel.keep(name) => None,
                        Value::String(name) => Some((Value::String(sel.renamed(name).to_owned()), v)),
                        _ => Some((k, v)),
                    })
                    .collect();
                *value = Value::Map(kept);
                Ok(())
            }
            (Some(s), Value::Struct(old)) if s.ty == Type::Struct => {
                let updated = self.cache.get_or(&s, || {
                    let mut b = struct_like(&s);
                    for f in s.fields.iter().filter(|f| sel.keep(&f.name)) {
                        b = b.field(sel.renamed(&f.name), f.schema.clone());
                    }
                    Ok(b.build())
                })?;
                let kept = s.fields.iter().zip(old.values).filter(|(f, _)| sel.keep(&f.name)).map(|(_, v)| v);
                let values: Vec<Value> = kept.collect();
                *schema = Some(updated.clone());
                *value = Value::Struct(Struct { schema: updated, values });
                Ok(())
            }
            (None, other) => {
                let found = kind_of(&other);
                *value = other;
                Err(format!("Only Map objects supported in absence of schema for [field replacement], found: {found}"))
            }
            (Some(_), other) => {
                let found = kind_of(&other);
                *value = other;
                Err(format!("Only Struct objects supported for [field replacement], found: {found}"))
            }
        }
    }
}

/// `ExtractField$Key` / `ExtractField$Value`: the record's key or value becomes one of its fields,
/// or with `field.syntax.version=V2` a field nested in structs or maps (KIP-821).
#[derive(Debug, Clone)]
pub struct ExtractField {
    side: Side,
    /// The path as configured, for errors.
    field: String,
    path: FieldPath,
}

impl ExtractField {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<ExtractField> {
        let field = r.required("field", "the name of the field to extract")?;
        let path = match r.one_of("field.syntax.version", "V1", &["V1", "V2"]) {
            "V2" => match FieldPath::v2(&field) {
                Ok(path) => path,
                Err(e) => {
                    r.invalid("field", format!("a field path ({e})"), field.as_str());
                    return None;
                }
            },
            _ => FieldPath::v1(&field),
        };
        Some(ExtractField { side, field, path })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        match (schema.clone(), std::mem::replace(value, Value::Null)) {
            (_, Value::Null) => Ok(()),
            (None, map @ Value::Map(_)) => match self.path.value_from_map(&map) {
                Ok(v) => {
                    *value = v;
                    Ok(())
                }
                Err(e) => {
                    *value = map;
                    Err(e)
                }
            },
            (Some(s), v @ Value::Struct(_)) if s.ty == Type::Struct => {
                let Some(field) = self.path.field_from(&s) else {
                    *value = v;
                    return Err(format!("Unknown field: {}", self.field));
                };
                *schema = Some(field.schema.clone());
                *value = match (self.path.steps(), v) {
                    // the common case: move the top-level field out rather than clone it
                    ([_], Value::Struct(old)) => {
                        let i = s.fields.iter().position(|f| f.name == field.name).unwrap_or(usize::MAX);
                        old.values.into_iter().nth(i).unwrap_or(Value::Null)
                    }
                    (_, v) => self.path.value_from_struct(&v),
                };
                Ok(())
            }
            (_, other) => {
                let found = kind_of(&other);
                *value = other;
                Err(format!("Only Struct objects (with a schema) or Map objects (without) supported for [field extraction], found: {found}"))
            }
        }
    }
}

/// `ValueToKey`: the key becomes a struct (or map) of the listed value fields, in list order.
#[derive(Debug, Clone)]
pub struct ValueToKey {
    fields: Vec<String>,
    cache: SchemaCache,
}

impl ValueToKey {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<ValueToKey> {
        let fields = r.list("fields");
        if fields.is_empty() {
            r.missing("fields", "a non-empty list of value field names");
            return None;
        }
        r.accept(&["replace.null.with.default"]);
        Some(ValueToKey { fields, cache: SchemaCache::default() })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (value_schema, value) = {
            let (s, v) = r.value_mut();
            (s.clone(), v.clone())
        };
        let (key_schema, key) = match (value_schema, value) {
            (None, Value::Map(entries)) => {
                let key = self
                    .fields
                    .iter()
                    .map(|f| (Value::String(f.clone()), map_get(&entries, f).cloned().unwrap_or(Value::Null)))
                    .collect();
                (None, Value::Map(key))
            }
            (Some(s), Value::Struct(v)) if s.ty == Type::Struct => {
                let fields = &self.fields;
                let key_schema = self.cache.get_or(&s, || {
                    let mut b = Schema::builder(Type::Struct);
                    for f in fields {
                        let field = s.field(f).ok_or_else(|| format!("Field does not exist: {f}"))?;
                        b = b.field(f.clone(), field.schema.clone());
                    }
                    Ok(b.build())
                })?;
                let mut key = Struct::new(key_schema.clone());
                for (i, f) in self.fields.iter().enumerate() {
                    key.values[i] = v.get(f).cloned().unwrap_or(Value::Null);
                }
                (Some(key_schema), Value::Struct(key))
            }
            (None, other) => {
                return Err(format!(
                    "Only Map objects supported in absence of schema for [copying fields from value to key], found: {}",
                    kind_of(&other)
                ))
            }
            (Some(_), other) => {
                return Err(format!(
                    "Only Struct objects supported for [copying fields from value to key], found: {}",
                    kind_of(&other)
                ))
            }
        };
        let (ks, k) = r.key_mut();
        *ks = key_schema;
        *k = key;
        Ok(())
    }
}
