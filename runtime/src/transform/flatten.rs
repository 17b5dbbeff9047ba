//! `Flatten$Key` / `Flatten$Value` (transforms-converters.md §1.2(c)): nested structs (maps,
//! without a schema) become top-level fields named `parent<delimiter>child`.
//!
//! With a schema: a field is optional when it or any ancestor is optional; it keeps its own
//! default, or takes its parent's default's value; logical types keep their names; arrays are
//! left as they are; a map fails, as in Kafka; a null nested struct leaves its fields null.
//! Without a schema: nested maps with string keys are flattened, null entries kept. A null value
//! (a tombstone) passes unchanged.

use super::fields::{kind_of, struct_like, SchemaCache};
use super::Side;
use crate::config::ConfigReader;
use crate::data::{Schema, SchemaBuilder, Struct, Type, Value};
use crate::record::ConnectRecord;

#[derive(Debug, Clone)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache,
}

fn name(delimiter: &str, prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}{delimiter}{field}")
    }
}

/// Adds the flattened fields of `schema` to `b`.
fn flat_schema(
    delimiter: &str,
    schema: &Schema,
    prefix: &str,
    b: &mut Option<SchemaBuilder>,
    optional: bool,
    parent_default: Option<&Struct>,
) -> Result<(), String> {
    for f in &schema.fields {
        let name = name(delimiter, prefix, &f.name);
        let field_optional = optional || f.schema.optional;
        let default = f.schema.default.clone().or_else(|| parent_default.and_then(|d| d.get(&f.name)).cloned());
        match f.schema.ty {
            Type::Struct => {
                let nested = match &default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                flat_schema(delimiter, &f.schema, &name, b, field_optional, nested)?;
            }
            Type::Map => {
                return Err(format!(
                    "Flatten transformation does not support MAP for record with schemas (for field {name})."
                ))
            }
            _ => {
                let mut fb = f.schema.basics();
                if field_optional {
                    fb = fb.optional();
                }
                if let Some(d) = default.filter(|d| !d.is_null()) {
                    fb = fb.default_value(d);
                }
                *b = Some(b.take().expect("a builder").field(name, fb.build()));
            }
        }
    }
    Ok(())
}

impl Flatten {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<Flatten> {
        let delimiter = r.string_or("delimiter", ".");
        Some(Flatten { side, delimiter, cache: SchemaCache::default() })
    }

    /// The leaves of `value` (a struct of `schema`, or null) in field order.
    fn flat_values(schema: &Schema, value: Option<&Struct>, out: &mut Vec<Value>) {
        for (i, f) in schema.fields.iter().enumerate() {
            let v = value.map(|s| &s.values[i]);
            match (f.schema.ty, v) {
                (Type::Struct, Some(Value::Struct(nested))) => Self::flat_values(&f.schema, Some(nested), out),
                (Type::Struct, _) => Self::flat_values(&f.schema, None, out),
                // Struct.get: a null field with a default reads as the default
                (_, Some(Value::Null)) | (_, None) => out.push(if value.is_some() {
                    f.schema.default.clone().unwrap_or(Value::Null)
                } else {
                    Value::Null
                }),
                (_, Some(v)) => out.push(v.clone()),
            }
        }
    }

    fn flat_map(
        &self,
        entries: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), String> {
        for (k, v) in entries {
            let Value::String(key) = k else {
                return Err(format!(
                    "Only Map objects with string keys supported for [flattening], found key: {}",
                    kind_of(&k)
                ));
            };
            let name = name(&self.delimiter, prefix, &key);
            match v {
                Value::Map(nested) => self.flat_map(nested, &name, out)?,
                Value::Struct(_) => {
                    return Err(format!(
                        "Flatten transformation does not support Struct for record without schemas (for field {name})."
                    ))
                }
                other => out.push((Value::String(name), other)),
            }
        }
        Ok(())
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        match (schema.as_ref(), &*value) {
            (_, Value::Null) => Ok(()),
            (None, Value::Map(_)) => {
                let Value::Map(entries) = std::mem::replace(value, Value::Null) else { unreachable!() };
                let mut out = Vec::with_capacity(entries.len());
                self.flat_map(entries, "", &mut out)?;
                *value = Value::Map(out);
                Ok(())
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [flattening], found: {}",
                kind_of(other)
            )),
            (Some(s), Value::Struct(old)) => {
                let delimiter = self.delimiter.clone();
                let flat = self.cache.get_or(s, || {
                    let mut b = Some(struct_like(s));
                    let parent_default = match &s.default {
                        Some(Value::Struct(d)) => Some(d),
                        _ => None,
                    };
                    flat_schema(&delimiter, s, "", &mut b, s.optional, parent_default)?;
                    Ok(b.expect("a builder").build())
                })?;
                let mut values = Vec::with_capacity(flat.fields.len());
                Self::flat_values(s, Some(old), &mut values);
                *value = Value::Struct(Struct { schema: flat.clone(), values });
                *schema = Some(flat);
                Ok(())
            }
            (Some(_), other) => {
                Err(format!("Only Struct objects supported for [flattening], found: {}", kind_of(other)))
            }
        }
    }
}
