//! Connect schemas: type, optional, name, version, doc, parameters, default; struct fields, array
//! items, map keys/values; the logical types Decimal, Date, Time and Timestamp.

use std::sync::Arc;

use super::value::Value;

/// Connect's schema types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// The name JsonConverter writes (`float`/`double` for the floating types).
    pub fn json_name(self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float",
            Type::Float64 => "double",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    pub fn from_json_name(name: &str) -> Option<Type> {
        Some(match name {
            "int8" => Type::Int8,
            "int16" => Type::Int16,
            "int32" => Type::Int32,
            "int64" => Type::Int64,
            "float" => Type::Float32,
            "double" => Type::Float64,
            "boolean" => Type::Boolean,
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "array" => Type::Array,
            "map" => Type::Map,
            "struct" => Type::Struct,
            _ => return None,
        })
    }
}

pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// Decimal's scale parameter.
pub const SCALE: &str = "scale";

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
    /// `"name":` as JsonConverter writes it, escaped once when the schema is built.
    pub(crate) json_key: Box<[u8]>,
}

/// The contents of a schema; share it through [`Schema`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    pub ty: Type,
    pub optional: bool,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// In insertion order, as Kafka's `LinkedHashMap`.
    pub parameters: Vec<(String, String)>,
    pub default: Option<Value>,
    pub fields: Vec<Field>,
    pub key: Option<Schema>,
    pub value: Option<Schema>,
}

/// A cheaply cloned, immutable schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema(Arc<SchemaDef>);

impl std::ops::Deref for Schema {
    type Target = SchemaDef;
    fn deref(&self) -> &SchemaDef {
        &self.0
    }
}

impl Schema {
    pub fn builder(ty: Type) -> SchemaBuilder {
        SchemaBuilder(SchemaDef {
            ty,
            optional: false,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            default: None,
            fields: Vec::new(),
            key: None,
            value: None,
        })
    }

    pub fn primitive(ty: Type, optional: bool) -> Schema {
        let b = Schema::builder(ty);
        if optional { b.optional() } else { b }.build()
    }

    /// `Schema.STRING_SCHEMA`.
    pub fn string() -> Schema {
        Schema::primitive(Type::String, false)
    }

    pub fn decimal(scale: i32) -> SchemaBuilder {
        Schema::builder(Type::Bytes).name(DECIMAL).version(1).parameter(SCALE, scale.to_string())
    }

    pub fn date() -> SchemaBuilder {
        Schema::builder(Type::Int32).name(DATE).version(1)
    }

    pub fn time() -> SchemaBuilder {
        Schema::builder(Type::Int32).name(TIME).version(1)
    }

    pub fn timestamp() -> SchemaBuilder {
        Schema::builder(Type::Int64).name(TIMESTAMP).version(1)
    }

    pub fn array(items: Schema) -> SchemaBuilder {
        let mut b = Schema::builder(Type::Array);
        b.0.value = Some(items);
        b
    }

    pub fn map(key: Schema, value: Schema) -> SchemaBuilder {
        let mut b = Schema::builder(Type::Map);
        b.0.key = Some(key);
        b.0.value = Some(value);
        b
    }

    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Decimal's scale; 0 when the parameter is missing or not a number.
    pub fn scale(&self) -> i32 {
        self.parameter(SCALE).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_logical(&self, logical: &str) -> bool {
        self.name.as_deref() == Some(logical)
    }

    /// Kafka's `SchemaUtil.copySchemaBasics(source, builder)`: this schema's name, version, doc
    /// and parameters onto `b` (not its optionality, default or fields).
    pub fn basics_onto(&self, mut b: SchemaBuilder) -> SchemaBuilder {
        b.0.name = self.name.clone();
        b.0.version = self.version;
        b.0.doc = self.doc.clone();
        b.0.parameters = self.parameters.clone();
        b
    }

    /// Kafka's `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (an array's
    /// items, a map's key and value) with the basics.
    pub fn basics(&self) -> SchemaBuilder {
        let mut b = Schema::builder(self.ty);
        b.0.key = self.key.clone();
        b.0.value = self.value.clone();
        self.basics_onto(b)
    }

    /// A builder holding everything of this schema, to change a part of it.
    pub fn to_builder(&self) -> SchemaBuilder {
        SchemaBuilder((*self.0).clone())
    }

    /// Identity, for caches: two clones of one schema share it.
    pub fn ptr(&self) -> *const SchemaDef {
        Arc::as_ptr(&self.0)
    }
}

/// Builds a [`Schema`].
#[derive(Debug, Clone)]
pub struct SchemaBuilder(SchemaDef);

impl SchemaBuilder {
    pub fn optional(mut self) -> Self {
        self.0.optional = true;
        self
    }
    pub fn optionality(mut self, optional: bool) -> Self {
        self.0.optional = optional;
        self
    }
    pub fn without_default(mut self) -> Self {
        self.0.default = None;
        self
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }
    pub fn version(mut self, version: i32) -> Self {
        self.0.version = Some(version);
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.0.doc = Some(doc.into());
        self
    }
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.parameters.push((name.into(), value.into()));
        self
    }
    /// Sets a parameter, replacing one of the same name.
    pub fn replace_parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.0.parameters.iter_mut().find(|(k, _)| *k == name) {
            Some(p) => p.1 = value,
            None => self.0.parameters.push((name, value)),
        }
        self
    }
    pub fn default_value(mut self, value: Value) -> Self {
        self.0.default = Some(value);
        self
    }
    pub fn field(mut self, name: impl Into<String>, schema: Schema) -> Self {
        let name = name.into();
        let mut json_key = Vec::with_capacity(name.len() + 3);
        crate::convert::json::write_string(&name, &mut json_key);
        json_key.push(b':');
        self.0.fields.push(Field { name, schema, json_key: json_key.into() });
        self
    }
    pub fn build(self) -> Schema {
        Schema(Arc::new(self.0))
    }
}
