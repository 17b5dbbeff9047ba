//! Debezium's `io.debezium.transforms.ByLogicalTableRouter` (transforms-converters.md §1.2(i)):
//! the change events of several physical tables (shards) go to one logical topic.
//!
//! When `topic.regex` matches the whole topic (Java's replacement syntax in
//! `topic.replacement`; an empty result leaves the record as it is): the topic is replaced; a
//! struct key is renamed `<topic>.Key` and, with `key.enforce.uniqueness` (true), gets a required
//! string field `key.field.name` (`__dbz__physicalTableIdentifier`) holding the old topic, or
//! `key.field.regex` / `key.field.replacement` applied to it; an envelope is renamed
//! `<topic>.Envelope` and its `before`/`after` schemas `<topic>.Value`. Tombstones and records
//! that are not envelopes get only the topic and key change. `schema.name.adjustment.mode=avro`
//! replaces characters Avro names cannot hold with `_`.

use std::sync::Arc;

use super::fields::SchemaCache;
use super::router::RegexRouter;
use crate::config::ConfigReader;
use crate::data::{Schema, SchemaBuilder, Struct, Type, Value};
use crate::record::ConnectRecord;

pub const CLASS: &str = "io.debezium.transforms.ByLogicalTableRouter";

#[derive(Debug, Clone)]
pub struct ByLogicalTableRouter {
    topic: RegexRouter,
    key_field: Option<RegexRouter>,
    key_field_name: String,
    enforce_uniqueness: bool,
    avro_names: bool,
    /// Renamed key and envelope schemas by input schema (a shard's schemas name its table).
    keys: SchemaCache,
    envelopes: SchemaCache,
}

/// Debezium's `copySchemaExcludingName`: version, doc, parameters, optionality, and the fields.
fn renamed(source: &Schema, name: String, fields: bool) -> SchemaBuilder {
    let mut b = source.basics_onto(Schema::builder(Type::Struct)).name(name).optionality(source.optional);
    if fields {
        for f in &source.fields {
            b = b.field(f.name.clone(), f.schema.clone());
        }
    }
    b
}

/// Debezium's Avro name adjustment: letters, digits and `_` (not a digit first), dots kept.
fn avro_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for c in name.chars() {
        let ok = c.is_ascii_alphabetic() || c == '_' || (c.is_ascii_digit() && !first) || c == '.';
        out.push(if ok { c } else { '_' });
        first = c == '.';
    }
    out
}

impl ByLogicalTableRouter {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<ByLogicalTableRouter> {
        let topic = RegexRouter::parse_keys(r, "topic.regex", "topic.replacement");
        let key_field = match r.non_empty("key.field.regex") {
            Some(_) => RegexRouter::parse_keys(r, "key.field.regex", "key.field.replacement"),
            None => None,
        };
        let key_field_name = r.string_or("key.field.name", "__dbz__physicalTableIdentifier");
        let enforce_uniqueness = r.bool("key.enforce.uniqueness", true);
        let avro_names = r.one_of("schema.name.adjustment.mode", "none", &["none", "avro"]) == "avro";
        r.accept(&["logical.table.cache.size"]);
        Some(ByLogicalTableRouter {
            topic: topic?,
            key_field,
            key_field_name,
            enforce_uniqueness,
            avro_names,
            keys: SchemaCache::default(),
            envelopes: SchemaCache::default(),
        })
    }

    fn name(avro_names: bool, text: String) -> String {
        if avro_names {
            avro_name(&text)
        } else {
            text
        }
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let old_topic = r.topic().clone();
        let Some(new_topic) = self.topic.replaced(&old_topic) else { return Ok(()) };
        if new_topic.is_empty() {
            tracing::warn!(topic = %old_topic, "topic.regex gave an empty topic name; the record keeps its topic");
            return Ok(());
        }
        let identifier: Arc<str> = match &mut self.key_field {
            Some(k) => k.replaced(&old_topic).unwrap_or_else(|| old_topic.clone()),
            None => old_topic.clone(),
        };
        let (key_schema, key) = r.key_mut();
        match (&*key_schema, &mut *key) {
            (_, Value::Null) => {}
            (Some(s), Value::Struct(old)) => {
                let (avro, unique, field) = (self.avro_names, self.enforce_uniqueness, &self.key_field_name);
                let schema = self.keys.get_or(s, || {
                    let mut b = renamed(s, Self::name(avro, format!("{new_topic}.Key")), true);
                    if unique {
                        b = b.field(field.clone(), Schema::primitive(Type::String, false));
                    }
                    Ok(b.build())
                })?;
                let mut values = std::mem::take(&mut old.values);
                if self.enforce_uniqueness {
                    values.push(Value::String(identifier.to_string()));
                }
                *key = Value::Struct(Struct { schema: schema.clone(), values });
                *key_schema = Some(schema);
            }
            _ => {
                return Err(
                    "Only Struct objects supported for [Updating schema], found: a key that is not a struct".into()
                )
            }
        }
        let (value_schema, value) = r.value_mut();
        let envelope = value_schema.as_ref().filter(|s| s.name.as_deref().is_some_and(|n| n.ends_with(".Envelope")));
        if let (Some(env), Value::Struct(old)) = (envelope.cloned(), &mut *value) {
            let avro = self.avro_names;
            let new_env = self.envelopes.get_or(&env, || {
                let row = env
                    .field("before")
                    .map(|f| f.schema.clone())
                    .ok_or_else(|| "the envelope has no before field".to_owned())?;
                let row = renamed(&row, Self::name(avro, format!("{new_topic}.Value")), true).build();
                let mut b = renamed(&env, Self::name(avro, format!("{new_topic}.Envelope")), false);
                for f in &env.fields {
                    let moved = f.name == "before" || f.name == "after";
                    b = b.field(f.name.clone(), if moved { row.clone() } else { f.schema.clone() });
                }
                Ok(b.build())
            })?;
            let row = new_env.field("before").map(|f| f.schema.clone()).expect("built with before");
            let mut values = std::mem::take(&mut old.values);
            for (v, f) in values.iter_mut().zip(&env.fields) {
                if let (true, Value::Struct(s)) = (f.name == "before" || f.name == "after", &mut *v) {
                    s.schema = row.clone();
                }
            }
            *value = Value::Struct(Struct { schema: new_env.clone(), values });
            *value_schema = Some(new_env);
        }
        r.set_topic(new_topic);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_names_replace_what_avro_refuses() {
        assert_eq!(avro_name("shop-1.inventory.orders.Key"), "shop_1.inventory.orders.Key");
        assert_eq!(avro_name("db.1table"), "db._table");
    }
}
