//! Confluent's `AvroData` schema mapping, both ways: a Connect schema as the Avro schema JSON
//! that Java's `AvroData.fromConnectSchema` writes, and an Avro schema (from a registry or a
//! file) as the Connect schema `toConnectSchema` reads.
//!
//! Connect → Avro: a struct is a record named after the Connect schema (the text before the last
//! `.` is the namespace; `io.confluent.connect.avro.ConnectDefault`, `…ConnectDefault2`, … when it
//! has no name); a record met again is written as a reference to its name, as Java's Avro does
//! for Debezium's `before`/`after`; an optional schema is the union `["null", T]` with default
//! `null`, or `[T, "null"]` with its default when it has one; int8/int16 are Avro ints with
//! `connect.type`; Decimal is `bytes` with the `decimal` logical type (precision from
//! `connect.decimal.precision`, else 64); Date is `date`, Time `time-millis`, Timestamp
//! `timestamp-millis`; maps with non-optional string keys are Avro maps, other maps arrays of
//! `MapEntry` records. `connect.meta.data=true` adds `connect.doc`, `connect.version`,
//! `connect.parameters`, `connect.default` and `connect.name`.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::data::{Schema, SchemaBuilder, Type, Value, DATE, DECIMAL, SCALE, TIME, TIMESTAMP};

pub const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_NAME: &str = "ConnectDefault";
const DEFAULT_PRECISION: i64 = 64;
pub const PRECISION_PARAM: &str = "connect.decimal.precision";
pub(crate) const ENUM_PARAM: &str = "io.confluent.connect.avro.Enum";
const UNION_NAME: &str = "io.confluent.connect.avro.Union";
const FIXED_SIZE_PARAM: &str = "connect.fixed.size";

/// Why a schema could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// Builds the Avro schema JSON of a Connect schema (one per top-level schema: names it has
/// defined are referenced afterwards).
pub struct FromConnect {
    meta: bool,
    scrub: bool,
    /// `enhanced.avro.schema.support`: strings carrying enum symbols become Avro enums.
    enums: bool,
    defaults: usize,
    map_entries: usize,
    /// Records already written, by full name, with the Connect schema they came from.
    defined: HashMap<String, Schema>,
    /// The namespace of the record being written (Java leaves out a nested one equal to it).
    namespace: Vec<String>,
}

impl FromConnect {
    pub fn new(connect_meta_data: bool) -> FromConnect {
        FromConnect {
            meta: connect_meta_data,
            scrub: false,
            enums: false,
            defaults: 0,
            map_entries: 0,
            defined: HashMap::new(),
            namespace: Vec::new(),
        }
    }

    /// `enhanced.avro.schema.support=true`: a string schema that came from an Avro enum (its
    /// `io.confluent.connect.avro.Enum` parameters) is written as that enum again.
    pub fn enhanced_schema_support(mut self, enhanced: bool) -> FromConnect {
        self.enums = enhanced;
        self
    }

    /// `scrub.invalid.names=true`: characters Avro does not allow in names become `_`.
    pub fn scrub_invalid_names(mut self, scrub: bool) -> FromConnect {
        self.scrub = scrub;
        self
    }

    /// The Avro schema JSON of `schema`.
    pub fn convert(&mut self, schema: &Schema) -> Json {
        let base = self.base(schema);
        if !schema.optional {
            return base;
        }
        if schema.default.as_ref().is_some_and(|d| *d != Value::Null) {
            json!([base, "null"])
        } else {
            json!(["null", base])
        }
    }

    fn name(&self, name: &str) -> String {
        if self.scrub {
            scrub(name)
        } else {
            name.to_owned()
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
        if let Some(d) = schema.default.as_ref().filter(|d| **d != Value::Null) {
            out.insert("connect.default".into(), default_json(schema, d));
        }
        if let Some(n) = &schema.name {
            out.insert("connect.name".into(), json!(n));
        }
    }

    /// The non-null branch of a schema.
    fn base(&mut self, schema: &Schema) -> Json {
        let mut o = Map::new();
        match (schema.ty, schema.name.as_deref()) {
            (Type::Bytes, Some(DECIMAL)) => {
                let scale: i64 = schema.parameter(SCALE).and_then(|s| s.parse().ok()).unwrap_or(0);
                let precision =
                    schema.parameter(PRECISION_PARAM).and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PRECISION);
                o.insert("type".into(), json!("bytes"));
                o.insert("scale".into(), json!(scale));
                o.insert("precision".into(), json!(precision));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("decimal"));
            }
            (Type::Int32, Some(logical @ (DATE | TIME))) => {
                o.insert("type".into(), json!("int"));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!(if logical == DATE { "date" } else { "time-millis" }));
            }
            (Type::Int64, Some(TIMESTAMP)) => {
                o.insert("type".into(), json!("long"));
                self.props(schema, &mut o);
                o.insert("logicalType".into(), json!("timestamp-millis"));
            }
            (Type::Struct, _) => return self.record(schema),
            (Type::Array, _) => {
                o.insert("type".into(), json!("array"));
                let items = schema.value.as_ref().map(|s| self.convert(s)).unwrap_or(json!("null"));
                o.insert("items".into(), items);
                self.props(schema, &mut o);
            }
            (Type::Map, _) => self.map(schema, &mut o),
            (Type::String, _) if self.enums && schema.parameter(ENUM_PARAM).is_some() => {
                return self.enumeration(schema)
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

    /// An Avro enum from a string schema's enum parameters (named once, then referenced).
    fn enumeration(&mut self, schema: &Schema) -> Json {
        let full = schema.parameter(ENUM_PARAM).unwrap_or_default().to_owned();
        let bare = schema.to_builder().optionality(false).without_default().build();
        if self.defined.get(&full).is_some_and(|seen| *seen == bare) {
            return json!(self.relative(&full));
        }
        self.defined.insert(full.clone(), bare);
        let prefix = format!("{ENUM_PARAM}.");
        let symbols: Vec<&str> =
            schema.parameters.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v.as_str()).collect();
        let (namespace, name) = full.rsplit_once('.').unwrap_or(("", full.as_str()));
        let mut o = Map::new();
        o.insert("type".into(), json!("enum"));
        o.insert("name".into(), json!(name));
        if self.namespace.last().map_or(!namespace.is_empty(), |enclosing| enclosing != namespace) {
            o.insert("namespace".into(), json!(namespace));
        }
        o.insert("symbols".into(), json!(symbols));
        if let Some(d) = &schema.doc {
            o.insert("doc".into(), json!(d));
        }
        self.props(schema, &mut o);
        Json::Object(o)
    }

    fn record(&mut self, schema: &Schema) -> Json {
        let full = match &schema.name {
            Some(n) => self.name(n),
            None => {
                self.defaults += 1;
                match self.defaults {
                    1 => format!("{NAMESPACE}.{DEFAULT_NAME}"),
                    n => format!("{NAMESPACE}.{DEFAULT_NAME}{n}"),
                }
            }
        };
        let bare = schema.to_builder().optionality(false).without_default().build();
        if self.defined.get(&full).is_some_and(|seen| *seen == bare) {
            return json!(self.relative(&full));
        }
        let (namespace, name) = match full.rsplit_once('.') {
            Some((ns, n)) => (ns.to_owned(), n.to_owned()),
            None => (String::new(), full.clone()),
        };
        self.defined.insert(full.clone(), bare);
        let mut o = Map::new();
        o.insert("type".into(), json!("record"));
        o.insert("name".into(), json!(name));
        if self.namespace.last().map_or(!namespace.is_empty(), |enclosing| *enclosing != namespace) {
            o.insert("namespace".into(), json!(namespace));
        }
        if let Some(d) = &schema.doc {
            o.insert("doc".into(), json!(d));
        }
        self.namespace.push(namespace);
        let fields: Vec<Json> = schema
            .fields
            .iter()
            .map(|f| {
                let mut field = Map::new();
                field.insert("name".into(), json!(self.name(&f.name)));
                field.insert("type".into(), self.convert(&f.schema));
                match &f.schema.default {
                    Some(d) if *d != Value::Null => {
                        field.insert("default".into(), default_json(&f.schema, d));
                    }
                    _ if f.schema.optional => {
                        field.insert("default".into(), Json::Null);
                    }
                    _ => {}
                }
                Json::Object(field)
            })
            .collect();
        self.namespace.pop();
        o.insert("fields".into(), Json::Array(fields));
        self.props(schema, &mut o);
        Json::Object(o)
    }

    fn map(&mut self, schema: &Schema, o: &mut Map<String, Json>) {
        let (key, value) = (schema.key.clone(), schema.value.clone());
        if key.as_ref().is_some_and(|k| k.ty == Type::String && !k.optional) {
            o.insert("type".into(), json!("map"));
            o.insert("values".into(), value.map(|v| self.convert(&v)).unwrap_or(json!("null")));
        } else {
            self.map_entries += 1;
            let entry = match self.map_entries {
                1 => "MapEntry".to_owned(),
                n => format!("MapEntry{n}"),
            };
            let k = key.map(|k| self.convert(&k)).unwrap_or(json!("null"));
            let v = value.map(|v| self.convert(&v)).unwrap_or(json!("null"));
            o.insert("type".into(), json!("array"));
            o.insert(
                "items".into(),
                json!({"type": "record", "name": entry, "namespace": NAMESPACE,
                       "fields": [{"name": "key", "type": k}, {"name": "value", "type": v}]}),
            );
        }
        self.props(schema, o);
    }

    fn relative(&self, full: &str) -> String {
        match (full.rsplit_once('.'), self.namespace.last()) {
            (Some((ns, name)), Some(enclosing)) if ns == enclosing => name.to_owned(),
            _ => full.to_owned(),
        }
    }
}

/// Avro's rule for names: a letter or `_`, then letters, digits or `_`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `scrub.invalid.names`: each dot-separated part made a valid Avro name.
fn scrub(name: &str) -> String {
    name.split('.')
        .map(|part| {
            let mut s: String =
                part.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                s.insert(0, '_');
            }
            s
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Refuses names Avro does not allow, with the name and the rule, before the Avro library sees
/// them (apache-avro 0.21 panics on an invalid record name).
pub fn check_names(json: &Json) -> Result<(), SchemaError> {
    match json {
        Json::Object(o) => {
            if let Some(Json::String(name)) = o.get("name") {
                if !valid_name(name) {
                    return Err(SchemaError(format!(
                        "{name:?} is not a valid Avro name (a letter or '_', then letters, digits or '_'): \
                         rename the field or the schema (e.g. Debezium's schema.name.adjustment.mode=avro, or \
                         the converter's scrub.invalid.names=true)"
                    )));
                }
            }
            if let Some(Json::String(ns)) = o.get("namespace") {
                if !ns.is_empty() && !ns.split('.').all(valid_name) {
                    return Err(SchemaError(format!(
                        "{ns:?} is not a valid Avro namespace (dot-separated names of letters, digits and '_', \
                         not starting with a digit): rename the schema (e.g. Debezium's \
                         schema.name.adjustment.mode=avro, or the converter's scrub.invalid.names=true)"
                    )));
                }
            }
            o.iter()
                .filter(|(k, _)| !k.starts_with("connect.") && *k != "default")
                .try_for_each(|(_, v)| check_names(v))
        }
        Json::Array(a) => a.iter().try_for_each(check_names),
        _ => Ok(()),
    }
}

/// Parses Avro schema JSON with the Avro library, names checked first and any panic left in
/// its parser turned into this schema's error.
pub fn parse(json: &Json) -> Result<apache_avro::Schema, SchemaError> {
    check_names(json)?;
    std::panic::catch_unwind(|| apache_avro::Schema::parse(json))
        .map_err(|_| {
            SchemaError(format!(
                "the Avro library could not parse the schema {}",
                crate::error::cut(&json.to_string(), 300)
            ))
        })?
        .map_err(|e| SchemaError(e.to_string()))
}

/// A default value in Avro's JSON encoding (bytes as ISO-8859-1 text).
pub fn default_json(schema: &Schema, value: &Value) -> Json {
    let latin1 = |b: &[u8]| Json::String(b.iter().map(|&c| c as char).collect());
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Int8(n) => json!(n),
        Value::Int16(n) => json!(n),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => json!(n),
        Value::Int64(n) | Value::Timestamp(n) => json!(n),
        Value::Float32(f) => json!(f),
        Value::Float64(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Bytes(b) => latin1(b),
        Value::Decimal(unscaled, _) => latin1(&unscaled.to_signed_bytes_be()),
        Value::Array(items) => {
            let item = schema.value.as_ref();
            Json::Array(items.iter().map(|v| item.map_or(Json::Null, |s| default_json(s, v))).collect())
        }
        Value::Map(entries) => {
            let vs = schema.value.as_ref();
            let as_map = schema.key.as_ref().is_some_and(|k| k.ty == Type::String && !k.optional);
            if as_map {
                Json::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.to_java_string(), vs.map_or(Json::Null, |s| default_json(s, v))))
                        .collect(),
                )
            } else {
                let ks = schema.key.as_ref();
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            json!({"key": ks.map_or(Json::Null, |s| default_json(s, k)),
                                   "value": vs.map_or(Json::Null, |s| default_json(s, v))})
                        })
                        .collect(),
                )
            }
        }
        Value::Struct(s) => Json::Object(
            s.schema.fields.iter().zip(&s.values).map(|(f, v)| (f.name.clone(), default_json(&f.schema, v))).collect(),
        ),
    }
}

/// Reads an Avro schema JSON as the Connect schema `AvroData.toConnectSchema` gives.
pub fn to_connect(json: &Json) -> Result<Schema, SchemaError> {
    ToConnect { named: HashMap::new(), namespace: Vec::new() }.schema(json, false)
}

struct ToConnect {
    named: HashMap<String, Schema>,
    namespace: Vec<String>,
}

fn err<T>(message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError(message.into()))
}

impl ToConnect {
    fn schema(&mut self, json: &Json, optional: bool) -> Result<Schema, SchemaError> {
        let b = match json {
            Json::String(name) => return self.named_or_primitive(name, optional),
            Json::Array(branches) => return self.union(branches, optional),
            Json::Object(o) => self.object(o)?,
            other => return err(format!("{other} is not an Avro schema")),
        };
        Ok(b.optionality(optional).build())
    }

    fn named_or_primitive(&mut self, name: &str, optional: bool) -> Result<Schema, SchemaError> {
        let ty = match name {
            "boolean" => Type::Boolean,
            "int" => Type::Int32,
            "long" => Type::Int64,
            "float" => Type::Float32,
            "double" => Type::Float64,
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "null" => return err("a null schema outside a union has no Connect type"),
            _ => {
                let full = match (name.contains('.'), self.namespace.last()) {
                    (false, Some(ns)) if !ns.is_empty() => format!("{ns}.{name}"),
                    _ => name.to_owned(),
                };
                let found = self.named.get(&full).or_else(|| self.named.get(name));
                let Some(s) = found else {
                    return err(format!("the Avro schema refers to {name:?}, which it does not define"));
                };
                return Ok(s.to_builder().optionality(optional).build());
            }
        };
        Ok(Schema::primitive(ty, optional))
    }

    fn union(&mut self, branches: &[Json], optional: bool) -> Result<Schema, SchemaError> {
        let is_null = |j: &Json| j == "null";
        let others: Vec<&Json> = branches.iter().filter(|b| !is_null(b)).collect();
        let has_null = others.len() < branches.len();
        if others.len() == 1 {
            return self.schema(others[0], optional || has_null);
        }
        // AvroData: a general union is a struct of optional fields, one per branch
        let mut b = Schema::builder(Type::Struct).name(UNION_NAME);
        for branch in others {
            let s = self.schema(branch, true)?;
            let field = match &s.name {
                Some(n) if s.ty == Type::Struct => n.rsplit('.').next().unwrap_or(n).to_owned(),
                _ => match s.ty {
                    Type::Int32 => "int".into(),
                    Type::Int64 => "long".into(),
                    Type::Float32 => "float".into(),
                    Type::Float64 => "double".into(),
                    other => other.json_name().to_owned(),
                },
            };
            b = b.field(field, s);
        }
        Ok(b.optionality(optional || has_null).build())
    }

    fn object(&mut self, o: &Map<String, Json>) -> Result<SchemaBuilder, SchemaError> {
        let ty = o
            .get("type")
            .ok_or_else(|| SchemaError(format!("an Avro schema without a type: {}", Json::Object(o.clone()))))?;
        let logical = o.get("logicalType").and_then(Json::as_str);
        let mut b = match (ty.as_str(), logical) {
            (Some("bytes" | "fixed"), Some("decimal")) => {
                let scale = o.get("scale").and_then(Json::as_i64).unwrap_or(0);
                let mut b = Schema::decimal(scale as i32);
                if !o.contains_key("connect.parameters") {
                    if let Some(p) = o.get("precision").and_then(Json::as_i64).filter(|p| *p != DEFAULT_PRECISION) {
                        b = b.parameter(PRECISION_PARAM, p.to_string());
                    }
                }
                b
            }
            (Some("int"), Some("date")) => Schema::date(),
            (Some("int"), Some("time-millis")) => Schema::time(),
            (Some("long"), Some("timestamp-millis")) => Schema::timestamp(),
            (Some("record" | "error"), _) => return self.record(o),
            (Some("enum"), _) => {
                let name = o.get("name").and_then(Json::as_str).unwrap_or_default();
                let mut b = Schema::builder(Type::String).name(self.full_name(o)).parameter(ENUM_PARAM, name);
                for s in o.get("symbols").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
                    b = b.parameter(format!("{ENUM_PARAM}.{s}"), s);
                }
                // a named type: later uses may refer to it by name
                self.named.insert(self.full_name(o), b.clone().build());
                b
            }
            (Some("fixed"), _) => {
                let size = o.get("size").and_then(Json::as_i64).unwrap_or(0);
                let b =
                    Schema::builder(Type::Bytes).name(self.full_name(o)).parameter(FIXED_SIZE_PARAM, size.to_string());
                self.named.insert(self.full_name(o), b.clone().build());
                b
            }
            (Some("array"), _) => {
                let items = o.get("items").ok_or_else(|| SchemaError("an Avro array without items".into()))?;
                let item = self.schema(items, false)?;
                if let Some(map) = map_entry(&item) {
                    map
                } else {
                    Schema::array(item)
                }
            }
            (Some("map"), _) => {
                let values = o.get("values").ok_or_else(|| SchemaError("an Avro map without values".into()))?;
                Schema::map(Schema::string(), self.schema(values, false)?)
            }
            (Some(t @ ("boolean" | "int" | "long" | "float" | "double" | "string" | "bytes")), _) => {
                match o.get("connect.type").and_then(Json::as_str) {
                    Some("int8") => Schema::builder(Type::Int8),
                    Some("int16") => Schema::builder(Type::Int16),
                    _ => Schema::builder(self.named_or_primitive(t, false)?.ty),
                }
            }
            (Some(named), _) => return Ok(self.named_or_primitive(named, false)?.to_builder()),
            (None, _) => return self.schema(ty, false).map(|s| s.to_builder()),
        };
        b = self.connect_props(o, b);
        Ok(b)
    }

    fn full_name(&self, o: &Map<String, Json>) -> String {
        let name = o.get("name").and_then(Json::as_str).unwrap_or_default();
        if name.contains('.') {
            return name.to_owned();
        }
        match o.get("namespace").and_then(Json::as_str).or(self.namespace.last().map(String::as_str)) {
            Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_owned(),
        }
    }

    fn record(&mut self, o: &Map<String, Json>) -> Result<SchemaBuilder, SchemaError> {
        let full = self.full_name(o);
        let namespace = full.rsplit_once('.').map_or(String::new(), |(ns, _)| ns.to_owned());
        let mut b = Schema::builder(Type::Struct);
        if !(full.starts_with(&format!("{NAMESPACE}.{DEFAULT_NAME}"))) {
            b = b.name(full.clone());
        }
        if let Some(d) = o.get("doc").and_then(Json::as_str) {
            b = b.doc(d);
        }
        self.namespace.push(namespace);
        for f in o.get("fields").and_then(Json::as_array).into_iter().flatten() {
            let name = f
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| SchemaError("a record field without a name".into()))?;
            let ty = f.get("type").ok_or_else(|| SchemaError(format!("field {name} has no type")))?;
            let mut s = self.schema(ty, false)?;
            if let Some(d) = f.get("default").filter(|d| !d.is_null()) {
                if let Some(v) = default_value(&s, d) {
                    s = s.to_builder().default_value(v).build();
                }
            }
            b = b.field(name, s);
        }
        self.namespace.pop();
        b = self.connect_props(o, b);
        let built = b.clone().build();
        self.named.insert(full, built);
        Ok(b)
    }

    /// `connect.name`, `connect.version`, `connect.doc`, `connect.parameters`, `connect.default`.
    fn connect_props(&self, o: &Map<String, Json>, mut b: SchemaBuilder) -> SchemaBuilder {
        if let Some(n) = o.get("connect.name").and_then(Json::as_str) {
            b = b.name(n);
        }
        if let Some(v) = o.get("connect.version").and_then(Json::as_i64) {
            b = b.version(v as i32);
        }
        if let Some(d) = o.get("connect.doc").and_then(Json::as_str) {
            b = b.doc(d);
        }
        if let Some(Json::Object(params)) = o.get("connect.parameters") {
            // parameters from the schema text replace the ones derived from it (scale, enum)
            for (k, v) in params {
                b = b.replace_parameter(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
        }
        if let Some(d) = o.get("connect.default") {
            let s = b.clone().build();
            if let Some(v) = default_value(&s, d) {
                b = b.default_value(v);
            }
        }
        b
    }
}

/// An array of `io.confluent.connect.avro.MapEntry*` records `{key, value}`: a Connect map.
fn map_entry(item: &Schema) -> Option<SchemaBuilder> {
    let name = item.name.as_deref()?;
    let is_entry = item.ty == Type::Struct
        && name.starts_with(&format!("{NAMESPACE}.MapEntry"))
        && item.fields.len() == 2
        && item.fields[0].name == "key"
        && item.fields[1].name == "value";
    is_entry.then(|| Schema::map(item.fields[0].schema.clone(), item.fields[1].schema.clone()))
}

/// A default value in Avro's JSON encoding, as a Connect value of `schema`.
pub fn default_value(schema: &Schema, json: &Json) -> Option<Value> {
    let bytes = |j: &Json| j.as_str().map(|s| s.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>());
    Some(match (schema.ty, schema.name.as_deref()) {
        (_, _) if json.is_null() => Value::Null,
        (Type::Bytes, Some(DECIMAL)) => {
            Value::Decimal(num_bigint::BigInt::from_signed_bytes_be(&bytes(json)?), schema.scale())
        }
        (Type::Int32, Some(DATE)) => Value::Date(json.as_i64()? as i32),
        (Type::Int32, Some(TIME)) => Value::Time(json.as_i64()? as i32),
        (Type::Int64, Some(TIMESTAMP)) => Value::Timestamp(json.as_i64()?),
        (Type::Boolean, _) => Value::Boolean(json.as_bool()?),
        (Type::Int8, _) => Value::Int8(json.as_i64()? as i8),
        (Type::Int16, _) => Value::Int16(json.as_i64()? as i16),
        (Type::Int32, _) => Value::Int32(json.as_i64()? as i32),
        (Type::Int64, _) => Value::Int64(json.as_i64()?),
        (Type::Float32, _) => Value::Float32(json.as_f64()? as f32),
        (Type::Float64, _) => Value::Float64(json.as_f64()?),
        (Type::String, _) => Value::String(json.as_str()?.to_owned()),
        (Type::Bytes, _) => Value::Bytes(bytes(json)?),
        (Type::Array, _) => {
            let item = schema.value.as_ref()?;
            Value::Array(json.as_array()?.iter().map(|j| default_value(item, j)).collect::<Option<_>>()?)
        }
        (Type::Map, _) => {
            let (ks, vs) = (schema.key.as_ref()?, schema.value.as_ref()?);
            match json {
                Json::Object(o) => Value::Map(
                    o.iter()
                        .map(|(k, v)| Some((Value::String(k.clone()), default_value(vs, v)?)))
                        .collect::<Option<_>>()?,
                ),
                Json::Array(a) => Value::Map(
                    a.iter()
                        .map(|e| Some((default_value(ks, e.get("key")?)?, default_value(vs, e.get("value")?)?)))
                        .collect::<Option<_>>()?,
                ),
                _ => return None,
            }
        }
        (Type::Struct, _) => {
            let o = json.as_object()?;
            let values = schema
                .fields
                .iter()
                .map(|f| match o.get(&f.name) {
                    Some(j) => default_value(&f.schema, j),
                    None => Some(f.schema.default.clone().unwrap_or(Value::Null)),
                })
                .collect::<Option<_>>()?;
            Value::Struct(crate::data::Struct { schema: schema.clone(), values })
        }
    })
}
