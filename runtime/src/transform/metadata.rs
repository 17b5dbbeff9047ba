//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value` (transforms-converters.md §1.2(g)): the
//! top-level schema's name and/or version are replaced (nested schemas keep theirs); a struct
//! value is rebuilt on the new schema, its null fields with defaults given the default unless
//! `replace.null.with.default=false`. A record without a schema fails unless its value is null.

use super::fields::SchemaCache;
use super::Side;
use crate::config::ConfigReader;
use crate::data::{Struct, Value};
use crate::record::ConnectRecord;

#[derive(Debug, Clone)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl SetSchemaMetadata {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<SetSchemaMetadata> {
        let name = r.non_empty("schema.name");
        let version = r.non_empty("schema.version").and_then(|v| match v.trim().parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                r.invalid("schema.version", "an integer", v);
                None
            }
        });
        if name.is_none() && version.is_none() && !r.has_errors() {
            r.missing("schema.name", "schema.name or schema.version (neither schema name nor version configured)");
        }
        let replace_null_with_default = r.bool("replace.null.with.default", true);
        Some(SetSchemaMetadata { side, name, version, replace_null_with_default, cache: SchemaCache::default() })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        let Some(s) = schema.as_ref() else {
            return match value {
                Value::Null => Ok(()),
                _ => Err("Schema required for [updating schema metadata]".into()),
            };
        };
        let (name, version) = (self.name.clone(), self.version);
        let updated = self.cache.get_or(s, || {
            let mut b = s.to_builder();
            if let Some(n) = name {
                b = b.name(n);
            }
            if let Some(v) = version {
                b = b.version(v);
            }
            Ok(b.build())
        })?;
        if let Value::Struct(old) = value {
            let mut values = std::mem::take(&mut old.values);
            if self.replace_null_with_default {
                for (v, f) in values.iter_mut().zip(&updated.fields) {
                    if let (Value::Null, Some(d)) = (&*v, &f.schema.default) {
                        *v = d.clone();
                    }
                }
            }
            *old = Struct { schema: updated.clone(), values };
        }
        *schema = Some(updated);
        Ok(())
    }
}
