//! `HoistField$Key` / `HoistField$Value` (transforms-converters.md §1.2(f)): the whole key or
//! value becomes the one field `field` of a new struct (a map without a schema). A null is
//! wrapped, not skipped; with a required schema that fails, as Kafka's `Struct.put` does.

use super::fields::SchemaCache;
use super::Side;
use crate::config::ConfigReader;
use crate::data::{Schema, Struct, Type, Value};
use crate::record::ConnectRecord;

#[derive(Debug, Clone)]
pub struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

impl HoistField {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<HoistField> {
        let field = r.required("field", "the name of the field that will hold the original key or value")?;
        Some(HoistField { side, field, cache: SchemaCache::default() })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        let inner = std::mem::replace(value, Value::Null);
        match schema.as_ref() {
            None => *value = Value::Map(vec![(Value::String(self.field.clone()), inner)]),
            Some(s) => {
                if inner.is_null() && !s.optional {
                    return Err(format!(
                        "Invalid value: null used for required field: \"{}\", schema type: {}",
                        self.field,
                        s.ty.json_name().to_ascii_uppercase()
                    ));
                }
                let field = self.field.clone();
                let wrapped =
                    self.cache.get_or(s, || Ok(Schema::builder(Type::Struct).field(field, s.clone()).build()))?;
                *value = Value::Struct(Struct { schema: wrapped.clone(), values: vec![inner] });
                *schema = Some(wrapped);
            }
        }
        Ok(())
    }
}
