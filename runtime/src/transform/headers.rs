//! `InsertHeader`, `DropHeaders` and `HeaderFrom$Key`/`$Value` (KIP-145,
//! transforms-converters.md §1.2(j)).
//!
//! `InsertHeader` adds `header` with the value Kafka's `Values.parseString` infers from
//! `value.literal`, written by the header converter (so `007` becomes `7` and `null` a null
//! header). `DropHeaders` removes every header whose key is in `headers`. `HeaderFrom` copies or
//! moves fields (`fields`) into headers (`headers`, paired by position), written by the header
//! converter ([`HeaderConverter`]); `move` removes the fields from the struct and its schema (or
//! the map); a tombstone fails, as in Kafka.

use super::fields::{kind_of, struct_like, SchemaCache};
use super::Side;
use crate::config::ConfigReader;
use crate::convert::HeaderConverter;
use crate::data::{Struct, Value};
use crate::record::{ConnectRecord, Header};

#[derive(Debug, Clone)]
pub struct InsertHeader {
    header: String,
    literal: String,
    pub(super) header_converter: HeaderConverter,
}

impl InsertHeader {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<InsertHeader> {
        let header = r.required("header", "the name of the header to add");
        let literal = r.required("value.literal", "the header's value");
        Some(InsertHeader { header: header?, literal: literal?, header_converter: HeaderConverter::default() })
    }

    pub fn apply<R: ConnectRecord>(&self, r: &mut R) -> Result<(), String> {
        let value = self.header_converter.encode_literal(&self.literal)?;
        r.headers_mut().push(Header { key: self.header.clone(), value });
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<DropHeaders> {
        let headers = r.list("headers");
        if headers.is_empty() {
            r.missing("headers", "a non-empty list of header names");
            return None;
        }
        Some(DropHeaders { headers })
    }

    pub fn apply<R: ConnectRecord>(&self, r: &mut R) {
        r.headers_mut().retain(|h| !self.headers.contains(&h.key));
    }
}

#[derive(Debug, Clone)]
pub struct HeaderFrom {
    side: Side,
    /// (field, header) pairs.
    pairs: Vec<(String, String)>,
    moving: bool,
    replace_null_with_default: bool,
    pub(super) header_converter: HeaderConverter,
    cache: SchemaCache,
}

impl HeaderFrom {
    pub fn parse(r: &mut ConfigReader<'_>, side: Side) -> Option<HeaderFrom> {
        let fields = r.list("fields");
        let headers = r.list("headers");
        let operation = r.required("operation", "move or copy");
        let moving = match operation.as_deref() {
            Some("move") => true,
            Some("copy") => false,
            Some(other) => {
                r.invalid("operation", "move or copy", other);
                false
            }
            None => false,
        };
        if fields.is_empty() {
            r.missing("fields", "a non-empty list of field names");
        } else if fields.len() != headers.len() {
            r.invalid(
                "headers",
                format!("as many header names as fields ({}), paired by position", fields.len()),
                headers.join(","),
            );
        }
        let replace_null_with_default = r.bool("replace.null.with.default", true);
        let pairs = fields.into_iter().zip(headers).collect();
        Some(HeaderFrom {
            side,
            pairs,
            moving,
            replace_null_with_default,
            header_converter: HeaderConverter::default(),
            cache: SchemaCache::default(),
        })
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let (schema, value) = self.side.of(r);
        let mut added = Vec::with_capacity(self.pairs.len());
        match (schema.as_ref(), &mut *value) {
            (None, Value::Map(entries)) => {
                for (field, header) in &self.pairs {
                    let v = entries.iter().find(|(k, _)| matches!(k, Value::String(s) if s == field)).map(|(_, v)| v);
                    let value = match v {
                        Some(v) => self.header_converter.encode(v)?,
                        None => None,
                    };
                    added.push(Header { key: header.clone(), value });
                }
                if self.moving {
                    entries.retain(|(k, _)| !matches!(k, Value::String(s) if self.pairs.iter().any(|(f, _)| f == s)));
                }
            }
            (None, other) => {
                return Err(format!(
                    "Only Map objects supported in absence of schema for [header extraction], found: {}",
                    kind_of(other)
                ))
            }
            (Some(s), Value::Struct(old)) => {
                for (field, header) in &self.pairs {
                    let f = s.field(field).ok_or_else(|| format!("{field} is not a valid field name"))?;
                    let v = old.get(field).cloned().unwrap_or(Value::Null);
                    let v = match (&v, &f.schema.default, self.replace_null_with_default) {
                        (Value::Null, Some(d), true) => d.clone(),
                        _ => v,
                    };
                    added.push(Header { key: header.clone(), value: self.header_converter.encode(&v)? });
                }
                if self.moving {
                    let pairs = &self.pairs;
                    let moved = |name: &str| pairs.iter().any(|(f, _)| f == name);
                    let kept = self.cache.get_or(s, || {
                        let mut b = struct_like(s);
                        for f in s.fields.iter().filter(|f| !moved(&f.name)) {
                            b = b.field(f.name.clone(), f.schema.clone());
                        }
                        Ok(if s.optional { b.optional() } else { b }.build())
                    })?;
                    let values = s
                        .fields
                        .iter()
                        .zip(std::mem::take(&mut old.values))
                        .filter(|(f, _)| !moved(&f.name))
                        .map(|(_, v)| v)
                        .collect();
                    *old = Struct { schema: kept.clone(), values };
                    *schema = Some(kept);
                }
            }
            (Some(_), other) => {
                return Err(format!("Only Struct objects supported for [header extraction], found: {}", kind_of(other)))
            }
        }
        r.headers_mut().extend(added);
        Ok(())
    }
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
