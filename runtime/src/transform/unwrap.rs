//! Debezium's `io.debezium.transforms.ExtractNewRecordState` ("unwrap", transforms-converters.md
//! §1.2(a)): a change event's envelope becomes the row it describes, the state after the change.
//!
//! - create, read, update: the `after` struct; in the rewrite modes with `__deleted="false"`.
//! - delete, by `delete.tombstone.handling.mode`: `drop` drops it; `tombstone` (the default)
//!   gives a null value that keeps the `after` schema (JsonConverter then writes
//!   `{"schema":…,"payload":null}`, as Debezium does); `rewrite` / `rewrite-with-tombstone` give
//!   the `before` struct with `__deleted="true"`; `delete-to-tombstone` a null value and schema.
//! - Debezium's own tombstones (null value) are kept only by `rewrite-with-tombstone`;
//!   truncates are dropped; records that are not envelopes (schema name not ending in
//!   `.Envelope`: heartbeats, schema changes, schemaless data) pass unchanged.
//! - `add.fields` / `add.headers`: `op`, `ts_ms`, `ts_us`, `ts_ns` from the envelope, `id`,
//!   `total_order`, `data_collection_order` from `transaction`, any other name from `source`;
//!   `struct.field` names the struct, `field:name` renames; each added field is an optional copy
//!   of its schema, after the row's columns and `__deleted`; a name the envelope lacks is skipped.
//! - `route.by.field`: the topic becomes that column's string (`before`'s for deletes).
//!
//! Versions: with `delete.tombstone.handling.mode` unset, sluice does what Debezium 3.2 and
//! later do (`tombstone`). A file that sets the keys Debezium 3.2 removed, `delete.handling.mode`
//! (`drop`/`none`/`rewrite`) and `drop.tombstones`, gets what they meant up to Debezium 3.1
//! (defaults drop/true), with a warning naming the replacement; Debezium 3.2 would silently
//! ignore them.

use super::fields::{struct_like, SchemaCache};
use crate::config::ConfigReader;
use crate::connector::KeyDoc;
use crate::convert::HeaderConverter;
use crate::data::{Schema, Struct, Type, Value};
use crate::record::{ConnectRecord, Header};

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

const MODE: &str = "delete.tombstone.handling.mode";
const LEGACY_DELETES: &str = "delete.handling.mode";
const LEGACY_TOMBSTONES: &str = "drop.tombstones";
const DELETED: &str = "__deleted";

/// What a delete event becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletes {
    Drop,
    /// A null value with the `after` schema.
    NullValue,
    /// The `before` row with `__deleted="true"`.
    Rewrite,
    /// A null value and a null schema.
    Tombstone,
}

/// An `add.fields` / `add.headers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRef {
    /// The struct holding the field (`None`: the envelope itself).
    parent: Option<String>,
    field: String,
    /// The added field's or header's name, prefix included.
    name: String,
}

impl FieldRef {
    fn parse(prefix: &str, entry: &str) -> Result<FieldRef, String> {
        let (path, renamed) = match entry.split_once(':') {
            Some((_, r)) if r.contains(':') => return Err("at most one ':' (field:newName)".into()),
            Some((p, r)) => (p, Some(r)),
            None => (entry, None),
        };
        let (parent, field, qualified) = match path.split_once('.') {
            Some((_, f)) if f.contains('.') => return Err("a field or struct.field".into()),
            Some((p, f)) => (Some(p.to_owned()), f.to_owned(), true),
            None => (default_parent(path).map(str::to_owned), path.to_owned(), false),
        };
        if field.is_empty() || parent.as_deref() == Some("") || renamed == Some("") {
            return Err("a field or struct.field, optionally :newName".into());
        }
        let name = match (renamed, &parent) {
            (Some(r), _) => format!("{prefix}{r}"),
            (None, Some(p)) if qualified => format!("{prefix}{p}_{field}"),
            _ => format!("{prefix}{field}"),
        };
        Ok(FieldRef { parent, field, name })
    }

    /// The envelope's field; `None` when the envelope lacks it.
    fn found<'s>(&self, envelope: &'s Schema) -> Option<&'s crate::data::Field> {
        let in_parent = self.parent.as_ref().and_then(|p| envelope.field(p)).and_then(|p| p.schema.field(&self.field));
        in_parent.or_else(|| envelope.field(&self.field))
    }

    /// The field's value in the envelope (nulls stay null: no defaults).
    /// [`FieldRef::value`] of an envelope value (null for anything else).
    fn value_in(&self, envelope: &Value) -> Value {
        match envelope {
            Value::Struct(s) => self.value(s),
            _ => Value::Null,
        }
    }

    fn value(&self, envelope: &Struct) -> Value {
        let parent = match &self.parent {
            None => Some(envelope),
            Some(p) => match envelope.get(p) {
                Some(Value::Struct(s)) => Some(s),
                _ => None,
            },
        };
        match parent {
            None => Value::Null,
            Some(p) if p.schema.field(&self.field).is_some() => p.get(&self.field).cloned().unwrap_or(Value::Null),
            Some(_) => envelope.get(&self.field).cloned().unwrap_or(Value::Null),
        }
    }
}

/// Where Debezium looks for an unqualified name.
fn default_parent(field: &str) -> Option<&'static str> {
    match field {
        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
        "id" | "total_order" | "data_collection_order" => Some("transaction"),
        _ => Some("source"),
    }
}

/// `schema` as an optional field without a default (Kafka's `copySchemaBasics(…).optional()`).
fn optional_copy(schema: &Schema) -> Schema {
    let mut b = schema.basics();
    for f in &schema.fields {
        b = b.field(f.name.clone(), f.schema.clone());
    }
    b.optional().build()
}

fn is_envelope(schema: &Schema) -> bool {
    schema.ty == Type::Struct && schema.name.as_deref().is_some_and(|n| n.ends_with(".Envelope"))
}

/// `ExtractNewRecordState`.
#[derive(Debug, Clone)]
pub struct ExtractNewRecordState {
    deletes: Deletes,
    keep_tombstones: bool,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    route_by_field: Option<String>,
    replace_null_with_default: bool,
    /// How `add.headers` values become bytes.
    pub(super) header_converter: HeaderConverter,
    deleted_schemas: SchemaCache,
    added_schemas: SchemaCache,
}

impl ExtractNewRecordState {
    /// The keys, as Debezium documents them.
    pub const KEYS: &'static [KeyDoc] = &[
        KeyDoc {
            name: MODE,
            default: Some("tombstone"),
            doc: "deletes and tombstones: drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone",
        },
        KeyDoc { name: "add.fields", default: Some(""), doc: "envelope fields added to the row: field, struct.field, field:name" },
        KeyDoc { name: "add.fields.prefix", default: Some("__"), doc: "prefix of the added fields' names" },
        KeyDoc { name: "add.headers", default: Some(""), doc: "envelope fields added as headers (as add.fields)" },
        KeyDoc { name: "add.headers.prefix", default: Some("__"), doc: "prefix of the added headers' names" },
        KeyDoc { name: "route.by.field", default: Some(""), doc: "a column whose value becomes the topic" },
        KeyDoc {
            name: "replace.null.with.default",
            default: Some("true"),
            doc: "in the rewrite modes, a null column with a default becomes the default",
        },
        KeyDoc {
            name: LEGACY_DELETES,
            default: Some("drop"),
            doc: "before Debezium 3.2: drop, none or rewrite (used only when delete.tombstone.handling.mode is unset)",
        },
        KeyDoc {
            name: LEGACY_TOMBSTONES,
            default: Some("true"),
            doc: "before Debezium 3.2: drop Debezium's tombstones (used only when delete.tombstone.handling.mode is unset)",
        },
    ];

    pub fn parse(r: &mut ConfigReader<'_>) -> Option<ExtractNewRecordState> {
        let set = |r: &ConfigReader<'_>, key: &str| r.raw().get(key).is_some_and(|v| !v.trim().is_empty());
        let (deletes, keep_tombstones) = if set(r, MODE) {
            // as Debezium: with the new key set, the old ones are not read
            r.accept(&[LEGACY_DELETES, LEGACY_TOMBSTONES]);
            let modes = ["drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"];
            match r.one_of(MODE, "tombstone", &modes) {
                "drop" => (Deletes::Drop, false),
                "rewrite" => (Deletes::Rewrite, false),
                "rewrite-with-tombstone" => (Deletes::Rewrite, true),
                "delete-to-tombstone" => (Deletes::Tombstone, false),
                _ => (Deletes::NullValue, false),
            }
        } else if set(r, LEGACY_DELETES) || set(r, LEGACY_TOMBSTONES) {
            let deletes = match r.one_of(LEGACY_DELETES, "drop", &["drop", "none", "rewrite"]) {
                "none" => Deletes::NullValue,
                "rewrite" => Deletes::Rewrite,
                _ => Deletes::Drop,
            };
            let keep = !r.bool(LEGACY_TOMBSTONES, true);
            tracing::warn!(
                "{}: {LEGACY_DELETES} and {LEGACY_TOMBSTONES} were removed in Debezium 3.2 (which ignores them); \
                 sluice keeps their meaning as up to Debezium 3.1: set {MODE} instead",
                r.raw().origin
            );
            (deletes, keep)
        } else {
            (Deletes::NullValue, false)
        };
        let refs = |r: &mut ConfigReader<'_>, key: &str, prefix_key: &str| {
            let prefix = r.string_or(prefix_key, "__");
            let mut out = Vec::new();
            for entry in r.list(key) {
                match FieldRef::parse(&prefix, &entry) {
                    Ok(f) => out.push(f),
                    Err(expected) => r.invalid(key, expected, entry),
                }
            }
            out
        };
        let add_fields = refs(r, "add.fields", "add.fields.prefix");
        let add_headers = refs(r, "add.headers", "add.headers.prefix");
        if let Some(h) = r.non_empty("drop.fields.header.name") {
            r.invalid(
                "drop.fields.header.name",
                "unset (it reads the header ExtractChangedRecordState writes, which sluice does not have)",
                h,
            );
        }
        r.accept(&["drop.fields.from.key", "drop.fields.keep.schema.compatible"]);
        Some(ExtractNewRecordState {
            deletes,
            keep_tombstones,
            add_fields,
            add_headers,
            route_by_field: r.non_empty("route.by.field"),
            replace_null_with_default: r.bool("replace.null.with.default", true),
            header_converter: HeaderConverter::default(),
            deleted_schemas: SchemaCache::default(),
            added_schemas: SchemaCache::default(),
        })
    }

    /// `Ok(false)` drops the record.
    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<bool, String> {
        let (schema, value) = r.value_mut();
        if value.is_null() {
            // a Debezium tombstone: only an `op` header, "d"
            let headers: Vec<Header> = self
                .add_headers
                .iter()
                .filter(|h| h.parent.is_none() && h.field == "op")
                .map(|h| Header { key: h.name.clone(), value: Some(b"d".to_vec()) })
                .collect();
            r.headers_mut().extend(headers);
            return Ok(self.keep_tombstones);
        }
        let envelope_schema = match (&*schema, &*value) {
            (Some(s), Value::Struct(_)) if is_envelope(s) => s.clone(),
            _ => return Ok(true),
        };
        // headers first: a value the header converter refuses leaves the record as it was
        let headers = self
            .add_headers
            .iter()
            .filter(|h| h.found(&envelope_schema).is_some())
            .map(|h| Ok(Header { key: h.name.clone(), value: self.header_converter.encode(&h.value_in(value))? }))
            .collect::<Result<Vec<Header>, String>>()?;
        let Value::Struct(mut envelope) = std::mem::replace(value, Value::Null) else { unreachable!("checked above") };
        // the values of the added fields the envelope has (their schemas are built once, cached)
        let added: Vec<Value> = self
            .add_fields
            .iter()
            .filter(|f| f.found(&envelope_schema).is_some())
            .map(|f| f.value(&envelope))
            .collect();
        let after = take(&mut envelope, "after")?;
        let before = take(&mut envelope, "before")?;
        let after_schema = envelope_schema.field("after").map(|f| f.schema.clone());
        r.headers_mut().extend(headers);
        let (row, deleted) = match (after, before) {
            (Value::Null, Value::Null) => return Ok(false), // a truncate
            (Value::Null, before) => match self.deletes {
                Deletes::Drop => return Ok(false),
                Deletes::NullValue | Deletes::Tombstone => {
                    self.route(r, &before)?;
                    let (schema, _) = r.value_mut();
                    *schema = if self.deletes == Deletes::Tombstone { None } else { after_schema };
                    return Ok(true);
                }
                Deletes::Rewrite => (before, "true"),
            },
            (after, _) => (after, "false"),
        };
        self.route(r, &row)?;
        let Value::Struct(mut row) = row else {
            // not a row struct: passed as extracted
            let (schema, value) = r.value_mut();
            *schema = after_schema;
            *value = row;
            return Ok(true);
        };
        if self.deletes == Deletes::Rewrite {
            row = self.with_deleted(row, deleted)?;
        }
        if !added.is_empty() {
            row = self.with_added(row, added, &envelope_schema)?;
        }
        let (schema, value) = r.value_mut();
        *schema = Some(row.schema.clone());
        *value = Value::Struct(row);
        Ok(true)
    }

    /// The row with `__deleted` (an optional string) after its columns; in the rewrite paths a
    /// null column with a default becomes the default (`replace.null.with.default`, as Kafka's
    /// InsertField copies values).
    fn with_deleted(&mut self, row: Struct, deleted: &str) -> Result<Struct, String> {
        let schema = self.deleted_schemas.get_or(&row.schema, || {
            let mut b = struct_like(&row.schema);
            for f in &row.schema.fields {
                b = b.field(f.name.clone(), f.schema.clone());
            }
            Ok(b.field(DELETED, Schema::primitive(Type::String, true)).build())
        })?;
        let mut values = row.values;
        if self.replace_null_with_default {
            for (v, f) in values.iter_mut().zip(&row.schema.fields) {
                if let (Value::Null, Some(d)) = (&*v, &f.schema.default) {
                    *v = d.clone();
                }
            }
        }
        values.push(Value::String(deleted.to_owned()));
        Ok(Struct { schema, values })
    }

    /// The row with the `add.fields` after its columns.
    fn with_added(&mut self, row: Struct, added: Vec<Value>, envelope: &Schema) -> Result<Struct, String> {
        let refs = &self.add_fields;
        let schema = self.added_schemas.get_or(&row.schema, || {
            let mut b = struct_like(&row.schema);
            for f in &row.schema.fields {
                b = b.field(f.name.clone(), f.schema.clone());
            }
            // each added field is an optional copy of the envelope's
            for (r, f) in refs.iter().filter_map(|r| r.found(envelope).map(|f| (r, f))) {
                b = b.field(r.name.clone(), optional_copy(&f.schema));
            }
            Ok(b.build())
        })?;
        if schema.fields.len() != row.values.len() + added.len() {
            return Err("the added fields differ from the cached schema's".into());
        }
        let mut values = row.values;
        values.extend(added);
        Ok(Struct { schema, values })
    }

    /// `route.by.field`: the topic becomes the row's column (unchanged when it is null).
    fn route<R: ConnectRecord>(&self, r: &mut R, row: &Value) -> Result<(), String> {
        let Some(field) = &self.route_by_field else { return Ok(()) };
        let Value::Struct(s) = row else { return Err(format!("route.by.field={field}: the row is not a struct")) };
        match s.get(field) {
            None => Err(format!("route.by.field={field}: the row has no such field")),
            Some(Value::Null) => Ok(()),
            Some(Value::String(topic)) => {
                r.set_topic(topic.as_str().into());
                Ok(())
            }
            Some(_) => Err(format!("route.by.field={field}: the field is not a string")),
        }
    }
}

/// Takes a field out of the envelope.
fn take(envelope: &mut Struct, name: &str) -> Result<Value, String> {
    let i =
        envelope.schema.fields.iter().position(|f| f.name == name).ok_or_else(|| {
            format!("the envelope {} has no {name} field", envelope.schema.name.as_deref().unwrap_or(""))
        })?;
    Ok(std::mem::replace(&mut envelope.values[i], Value::Null))
}

#[cfg(test)]
#[path = "unwrap_tests.rs"]
mod tests;
