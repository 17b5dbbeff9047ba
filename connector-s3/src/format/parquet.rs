//! `io.confluent.connect.s3.format.parquet.ParquetFormat`: Parquet files typed from the Connect
//! schema of the file's first record, as parquet-avro maps Confluent's Avro schema: a struct is a
//! group, an optional field is `OPTIONAL`, int8/int16/int32 are `INT32`, int64 `INT64`, strings
//! `BINARY (STRING)`, bytes `BINARY`, Decimal `BINARY (DECIMAL(precision, scale))`, Date
//! `INT32 (DATE)`, Time `INT32 (TIME(MILLIS))`, Timestamp `INT64 (TIMESTAMP(MILLIS, UTC))`.
//! Dictionary encoding on, 64 KiB pages, `parquet.codec` compression. Row groups are cut by size
//! (`parquet.row.group.size.bytes`, an extension); until then a row group's values are held in
//! typed column buffers, not as records.
//! Arrays are the standard three-level `LIST` (`repeated group list { element }`) and maps
//! `MAP` (`repeated group key_value { required key; value }`), nested at any depth with
//! repetition and definition levels. (parquet-avro's default is the older two-level list,
//! `repeated <type> array`, which cannot hold null elements; readers take both.)

use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type as PqType;
use runtime::data::{Schema, Type, Value, DATE, DECIMAL, SCALE, TIME, TIMESTAMP};
use runtime::SinkRecord;

use super::{at, same_schema, FormatError, FormatSettings, SharedBuf};

/// The shape of a field, for shredding values into leaf columns (Dremel's repetition and
/// definition levels).
#[derive(Debug, Clone)]
enum Node {
    /// A primitive: its column index.
    Leaf {
        column: usize,
        optional: bool,
    },
    Group {
        optional: bool,
        fields: Vec<(String, Node)>,
    },
    /// `group (LIST) { repeated group list { element } }`; `rep` is the repetition level of its items.
    List {
        optional: bool,
        rep: i16,
        element: Box<Node>,
    },
    /// `group (MAP) { repeated group key_value { required key; value } }`.
    Map {
        optional: bool,
        rep: i16,
        key: Box<Node>,
        value: Box<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int32,
    Int64,
    Float,
    Double,
    Binary,
}

fn encoder_error(e: impl std::fmt::Display) -> FormatError {
    FormatError::Encoder { format: "Parquet", reason: e.to_string() }
}

fn param<'a>(schema: &'a Schema, key: &str) -> Option<&'a str> {
    schema.parameters.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Builds the Parquet types and the shredding tree of a Connect schema.
struct Builder {
    /// Each leaf column's kind and whether it has repetition and definition levels.
    leaves: Vec<(Kind, bool, bool)>,
}

impl Builder {
    /// The Parquet type of a field (`repeated` inside lists and maps is added by the caller),
    /// with `rep` repeated and `def` optional-or-repeated ancestors.
    fn field(
        &mut self,
        name: &str,
        schema: &Schema,
        required: bool,
        rep: i16,
        def: i16,
    ) -> Result<(PqType, Node), String> {
        let optional = schema.optional && !required;
        let repetition = if optional { Repetition::OPTIONAL } else { Repetition::REQUIRED };
        let def = def + optional as i16;
        let built = |b: parquet::schema::types::GroupTypeBuilder| {
            b.with_repetition(repetition).build().map_err(|e| e.to_string())
        };
        match schema.ty {
            Type::Struct => {
                let mut types = Vec::with_capacity(schema.fields.len());
                let mut nodes = Vec::with_capacity(schema.fields.len());
                for f in &schema.fields {
                    let (t, n) = self.field(&f.name, &f.schema, false, rep, def)?;
                    types.push(Arc::new(t));
                    nodes.push((f.name.clone(), n));
                }
                let t = built(PqType::group_type_builder(name).with_fields(types))?;
                Ok((t, Node::Group { optional, fields: nodes }))
            }
            Type::Array => {
                let item =
                    schema.value.as_ref().ok_or_else(|| format!("field {name}: an array schema without items"))?;
                let (element, node) = self.field("element", item, false, rep + 1, def + 1)?;
                let list = PqType::group_type_builder("list")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![Arc::new(element)])
                    .build()
                    .map_err(|e| e.to_string())?;
                let t = built(
                    PqType::group_type_builder(name)
                        .with_logical_type(Some(LogicalType::List))
                        .with_fields(vec![Arc::new(list)]),
                )?;
                Ok((t, Node::List { optional, rep: rep + 1, element: Box::new(node) }))
            }
            Type::Map => {
                let (Some(ks), Some(vs)) = (&schema.key, &schema.value) else {
                    return Err(format!("field {name}: a map schema without key or value"));
                };
                let (key, key_node) = self.field("key", ks, true, rep + 1, def + 1)?;
                let (value, value_node) = self.field("value", vs, false, rep + 1, def + 1)?;
                let entries = PqType::group_type_builder("key_value")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![Arc::new(key), Arc::new(value)])
                    .build()
                    .map_err(|e| e.to_string())?;
                let t = built(
                    PqType::group_type_builder(name)
                        .with_logical_type(Some(LogicalType::Map))
                        .with_fields(vec![Arc::new(entries)]),
                )?;
                let node = Node::Map { optional, rep: rep + 1, key: Box::new(key_node), value: Box::new(value_node) };
                Ok((t, node))
            }
            _ => {
                let (b, kind) = primitive(name, schema);
                let column = self.leaves.len();
                self.leaves.push((kind, rep > 0, def > 0));
                let t = b.with_repetition(repetition).build().map_err(|e| e.to_string())?;
                Ok((t, Node::Leaf { column, optional }))
            }
        }
    }
}

/// A primitive's Parquet type, as parquet-avro maps AvroData's Avro type.
fn primitive<'a>(name: &'a str, schema: &Schema) -> (parquet::schema::types::PrimitiveTypeBuilder<'a>, Kind) {
    let (physical, logical, kind) = match (schema.ty, schema.name.as_deref()) {
        (Type::Bytes, Some(DECIMAL)) => {
            let scale: i32 = param(schema, SCALE).and_then(|s| s.parse().ok()).unwrap_or(0);
            let precision: i32 = param(schema, "connect.decimal.precision").and_then(|s| s.parse().ok()).unwrap_or(64);
            let b = PqType::primitive_type_builder(name, Physical::BYTE_ARRAY)
                .with_logical_type(Some(LogicalType::decimal(scale, precision)))
                .with_precision(precision)
                .with_scale(scale);
            return (b, Kind::Binary);
        }
        (Type::Int32, Some(DATE)) => (Physical::INT32, Some(LogicalType::Date), Kind::Int32),
        (Type::Int32, Some(TIME)) => (Physical::INT32, Some(LogicalType::time(true, TimeUnit::MILLIS)), Kind::Int32),
        (Type::Int64, Some(TIMESTAMP)) => {
            (Physical::INT64, Some(LogicalType::timestamp(true, TimeUnit::MILLIS)), Kind::Int64)
        }
        (Type::Int8 | Type::Int16 | Type::Int32, _) => (Physical::INT32, None, Kind::Int32),
        (Type::Int64, _) => (Physical::INT64, None, Kind::Int64),
        (Type::Float32, _) => (Physical::FLOAT, None, Kind::Float),
        (Type::Float64, _) => (Physical::DOUBLE, None, Kind::Double),
        (Type::Boolean, _) => (Physical::BOOLEAN, None, Kind::Bool),
        (Type::String, _) => (Physical::BYTE_ARRAY, Some(LogicalType::String), Kind::Binary),
        _ => (Physical::BYTE_ARRAY, None, Kind::Binary),
    };
    (PqType::primitive_type_builder(name, physical).with_logical_type(logical), kind)
}

fn compression(codec: &str) -> Compression {
    match codec {
        "snappy" => Compression::SNAPPY,
        "gzip" => Compression::GZIP(Default::default()),
        "zstd" => Compression::ZSTD(Default::default()),
        "lz4" => Compression::LZ4,
        _ => Compression::UNCOMPRESSED,
    }
}

/// One leaf column's values of the row group being built, and their definition levels.
enum Column {
    Bool(Vec<bool>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    Binary(Vec<ByteArray>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Bool(v) => v.len(),
            Column::Int32(v) => v.len(),
            Column::Int64(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Double(v) => v.len(),
            Column::Binary(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Column::Bool(v) => v.truncate(n),
            Column::Int32(v) => v.truncate(n),
            Column::Int64(v) => v.truncate(n),
            Column::Float(v) => v.truncate(n),
            Column::Double(v) => v.truncate(n),
            Column::Binary(v) => v.truncate(n),
        }
    }

    fn new(kind: Kind) -> Column {
        match kind {
            Kind::Bool => Column::Bool(Vec::new()),
            Kind::Int32 => Column::Int32(Vec::new()),
            Kind::Int64 => Column::Int64(Vec::new()),
            Kind::Float => Column::Float(Vec::new()),
            Kind::Double => Column::Double(Vec::new()),
            Kind::Binary => Column::Binary(Vec::new()),
        }
    }

    /// Appends a present value; returns the bytes it takes, `None` for a value of another type.
    fn push(&mut self, v: &Value) -> Option<usize> {
        match (self, v) {
            (Column::Bool(c), Value::Boolean(b)) => c.push(*b),
            (Column::Int32(c), Value::Int8(n)) => c.push(*n as i32),
            (Column::Int32(c), Value::Int16(n)) => c.push(*n as i32),
            (Column::Int32(c), Value::Int32(n) | Value::Date(n) | Value::Time(n)) => c.push(*n),
            (Column::Int64(c), Value::Int64(n) | Value::Timestamp(n)) => c.push(*n),
            (Column::Float(c), Value::Float32(f)) => c.push(*f),
            (Column::Double(c), Value::Float64(f)) => c.push(*f),
            (Column::Binary(c), Value::String(s)) => {
                c.push(ByteArray::from(s.as_bytes().to_vec()));
                return Some(s.len() + 32);
            }
            (Column::Binary(c), Value::Bytes(b)) => {
                c.push(ByteArray::from(b.clone()));
                return Some(b.len() + 32);
            }
            (Column::Binary(c), Value::Decimal(unscaled, _)) => {
                c.push(ByteArray::from(unscaled.to_signed_bytes_be()));
                return Some(48);
            }
            _ => return None,
        }
        Some(8)
    }
}

/// A leaf column's values of the row group being built, with their levels.
struct LeafBuf {
    values: Column,
    defs: Vec<i16>,
    reps: Vec<i16>,
    has_def: bool,
    has_rep: bool,
}

impl LeafBuf {
    fn push(&mut self, rep: i16, def: i16, value: Option<&Value>) -> Result<usize, String> {
        let bytes = match value {
            Some(v) => {
                self.values.push(v).ok_or_else(|| format!("a value {} of the wrong type", v.to_java_string()))?
            }
            None => 0,
        };
        if self.has_def {
            self.defs.push(def);
        }
        if self.has_rep {
            self.reps.push(rep);
        }
        Ok(bytes + 2)
    }

    fn mark(&self) -> (usize, usize, usize) {
        (self.values.len(), self.defs.len(), self.reps.len())
    }

    fn reset(&mut self, (values, defs, reps): (usize, usize, usize)) {
        self.values.truncate(values);
        self.defs.truncate(defs);
        self.reps.truncate(reps);
    }
}

/// Shreds one record into the leaf buffers; `Err` holds the path of a required field found
/// null (or of a value of the wrong type).
struct Shredder<'a> {
    leaves: &'a mut [LeafBuf],
    bytes: usize,
}

fn in_field(name: &str) -> impl Fn(String) -> String + '_ {
    move |e| {
        if e.is_empty() {
            name.to_owned()
        } else if e.starts_with(' ') {
            format!("{name}{e}")
        } else {
            format!("{name}.{e}")
        }
    }
}

impl Shredder<'_> {
    fn value(&mut self, node: &Node, value: &Value, rep: i16, def: i16) -> Result<(), String> {
        let optional = match node {
            Node::Leaf { optional, .. }
            | Node::Group { optional, .. }
            | Node::List { optional, .. }
            | Node::Map { optional, .. } => *optional,
        };
        if value.is_null() {
            return if optional { self.nulls(node, rep, def) } else { Err(String::new()) };
        }
        let def = def + optional as i16;
        match (node, value) {
            (Node::Leaf { column, .. }, v) => {
                self.bytes += self.leaves[*column].push(rep, def, Some(v)).map_err(|e| format!(" ({e})"))?;
            }
            (Node::Group { fields, .. }, Value::Struct(s)) => {
                for ((name, f), v) in fields.iter().zip(&s.values) {
                    self.value(f, v, rep, def).map_err(in_field(name))?;
                }
            }
            (Node::List { rep: item_rep, element, .. }, Value::Array(items)) => {
                if items.is_empty() {
                    return self.nulls(element, rep, def);
                }
                for (i, item) in items.iter().enumerate() {
                    self.value(element, item, if i == 0 { rep } else { *item_rep }, def + 1)
                        .map_err(in_field("element"))?;
                }
            }
            (Node::Map { rep: entry_rep, key, value: value_node, .. }, Value::Map(entries)) => {
                if entries.is_empty() {
                    self.nulls(key, rep, def)?;
                    return self.nulls(value_node, rep, def);
                }
                for (i, (k, v)) in entries.iter().enumerate() {
                    let r = if i == 0 { rep } else { *entry_rep };
                    self.value(key, k, r, def + 1).map_err(in_field("key"))?;
                    self.value(value_node, v, r, def + 1).map_err(in_field("value"))?;
                }
            }
            (_, v) => return Err(format!(" (a value {} that does not fit its schema)", v.to_java_string())),
        }
        Ok(())
    }

    /// Every leaf under `node` absent at this level.
    fn nulls(&mut self, node: &Node, rep: i16, def: i16) -> Result<(), String> {
        match node {
            Node::Leaf { column, .. } => self.bytes += self.leaves[*column].push(rep, def, None)?,
            Node::Group { fields, .. } => {
                for (_, f) in fields {
                    self.nulls(f, rep, def)?;
                }
            }
            Node::List { element, .. } => self.nulls(element, rep, def)?,
            Node::Map { key, value, .. } => {
                self.nulls(key, rep, def)?;
                self.nulls(value, rep, def)?;
            }
        }
        Ok(())
    }
}

pub struct ParquetFile {
    schema: Schema,
    fields: Vec<(String, Node)>,
    writer: Option<SerializedFileWriter<SharedBuf>>,
    out: SharedBuf,
    leaves: Vec<LeafBuf>,
    rows: usize,
    rows_bytes: usize,
    row_group_bytes: usize,
}

impl ParquetFile {
    pub fn new(settings: &FormatSettings, first: &SinkRecord) -> Result<ParquetFile, FormatError> {
        let schema = match &first.value_schema {
            Some(s) if s.ty == Type::Struct => s.clone(),
            _ => {
                return Err(FormatError::Record {
                    at: at(first),
                    reason: "ParquetFormat needs struct values with a schema (JsonConverter with schemas.enable=true)"
                        .into(),
                })
            }
        };
        let mut builder = Builder { leaves: Vec::new() };
        let mut types = Vec::new();
        let mut fields = Vec::new();
        for f in &schema.fields {
            let (t, node) = builder
                .field(&f.name, &f.schema, false, 0, 0)
                .map_err(|reason| FormatError::Record { at: at(first), reason })?;
            types.push(Arc::new(t));
            fields.push((f.name.clone(), node));
        }
        let name = schema.name.as_deref().and_then(|n| n.rsplit('.').next()).unwrap_or("ConnectDefault");
        let root = PqType::group_type_builder(name).with_fields(types).build().map_err(encoder_error)?;
        let props = WriterProperties::builder()
            .set_compression(compression(&settings.parquet_codec))
            .set_dictionary_enabled(true)
            .set_data_page_size_limit(64 * 1024)
            .set_created_by(format!("sluice version {}", env!("CARGO_PKG_VERSION")))
            .build();
        let leaves = builder
            .leaves
            .iter()
            .map(|&(kind, has_rep, has_def)| LeafBuf {
                values: Column::new(kind),
                defs: Vec::new(),
                reps: Vec::new(),
                has_def,
                has_rep,
            })
            .collect();
        let out = SharedBuf::default();
        let writer = SerializedFileWriter::new(out.clone(), Arc::new(root), Arc::new(props)).map_err(encoder_error)?;
        Ok(ParquetFile {
            schema,
            fields,
            writer: Some(writer),
            out,
            leaves,
            rows: 0,
            rows_bytes: 0,
            row_group_bytes: settings.parquet_row_group_bytes.max(1),
        })
    }

    pub fn accepts(&self, schema: Option<&Schema>) -> bool {
        same_schema(Some(&self.schema), schema)
    }

    pub fn write(&mut self, record: &SinkRecord) -> Result<(), FormatError> {
        let Value::Struct(s) = &record.value else {
            return Err(FormatError::Record { at: at(record), reason: "ParquetFormat writes struct values".into() });
        };
        let marks: Vec<_> = self.leaves.iter().map(LeafBuf::mark).collect();
        let mut shredder = Shredder { leaves: &mut self.leaves, bytes: 0 };
        let mut shredded = Ok(());
        for ((name, node), v) in self.fields.iter().zip(&s.values) {
            shredded = shredder.value(node, v, 0, 0).map_err(in_field(name));
            if shredded.is_err() {
                break;
            }
        }
        let bytes = shredder.bytes;
        if let Err(field) = shredded {
            // a refused record leaves the columns as they were
            for (leaf, mark) in self.leaves.iter_mut().zip(marks) {
                leaf.reset(mark);
            }
            let reason = match field.split_once(" (") {
                Some((path, why)) => format!("field {path}: {}", why.trim_end_matches(')')),
                None => format!("required field {field} is null"),
            };
            return Err(FormatError::Record { at: at(record), reason });
        }
        self.rows_bytes += bytes;
        self.rows += 1;
        if self.rows_bytes >= self.row_group_bytes {
            self.write_row_group()?;
        }
        Ok(())
    }

    fn write_row_group(&mut self) -> Result<(), FormatError> {
        if self.rows == 0 {
            return Ok(());
        }
        self.rows = 0;
        self.rows_bytes = 0;
        let writer = self.writer.as_mut().expect("an open writer");
        let mut rg = writer.next_row_group().map_err(encoder_error)?;
        for leaf in &mut self.leaves {
            let mut col = rg.next_column().map_err(encoder_error)?.expect("a column per leaf");
            let defs = leaf.has_def.then_some(&leaf.defs[..]);
            let reps = leaf.has_rep.then_some(&leaf.reps[..]);
            let written = match &mut leaf.values {
                Column::Bool(v) => col.typed::<BoolType>().write_batch(v, defs, reps).map(|_| v.clear()),
                Column::Int32(v) => col.typed::<Int32Type>().write_batch(v, defs, reps).map(|_| v.clear()),
                Column::Int64(v) => col.typed::<Int64Type>().write_batch(v, defs, reps).map(|_| v.clear()),
                Column::Float(v) => col.typed::<FloatType>().write_batch(v, defs, reps).map(|_| v.clear()),
                Column::Double(v) => col.typed::<DoubleType>().write_batch(v, defs, reps).map(|_| v.clear()),
                Column::Binary(v) => col.typed::<ByteArrayType>().write_batch(v, defs, reps).map(|_| v.clear()),
            };
            written.map_err(encoder_error)?;
            leaf.defs.clear();
            leaf.reps.clear();
            col.close().map_err(encoder_error)?;
        }
        rg.close().map_err(encoder_error)?;
        Ok(())
    }

    pub fn buffered_bytes(&self) -> usize {
        self.out.len() + self.rows_bytes
    }

    pub fn encoded_bytes(&self) -> usize {
        self.out.len()
    }

    pub fn drain(&mut self) -> Vec<u8> {
        self.out.take()
    }

    pub fn finish(mut self) -> Result<Vec<u8>, FormatError> {
        self.write_row_group()?;
        self.writer.take().expect("an open writer").close().map_err(encoder_error)?;
        Ok(self.out.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;
    use crate::format::avro::tests::{order, orders_schema};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field as Pq;
    use runtime::testkit::sink_record;

    #[test]
    fn typed_file_reads_back_with_the_parquet_crate() {
        let schema = orders_schema();
        let mut s = crate::format::json::tests::settings(runtime::convert::DecimalFormat::Base64, false);
        s.format = Format::Parquet;
        s.parquet_row_group_bytes = 200; // several row groups
        for codec in ["none", "snappy", "gzip", "zstd", "lz4"] {
            s.parquet_codec = codec.into();
            let first = sink_record("orders", 0, 0, Some(schema.clone()), order(&schema, 0, None));
            let mut f = ParquetFile::new(&s, &first).unwrap();
            let mut bytes = Vec::new();
            for i in 0..10 {
                let note = (i % 2 == 1).then_some("gift");
                f.write(&sink_record("orders", 0, i, Some(schema.clone()), order(&schema, i, note))).unwrap();
                bytes.extend(f.drain());
            }
            bytes.extend(f.finish().unwrap());
            let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
            let meta = reader.metadata();
            assert!(meta.num_row_groups() > 1, "{codec}");
            let descr = meta.file_metadata().schema_descr();
            assert_eq!(descr.root_schema().name(), "Order");
            let amount = descr.column(2);
            assert_eq!(amount.logical_type_ref(), Some(&LogicalType::decimal(2, 64)));
            assert_eq!(descr.column(3).logical_type_ref(), Some(&LogicalType::Date));
            assert_eq!(descr.column(4).logical_type_ref(), Some(&LogicalType::timestamp(true, TimeUnit::MILLIS)));
            let rows: Vec<_> = reader.get_row_iter(None).unwrap().map(Result::unwrap).collect();
            assert_eq!(rows.len(), 10);
            let cols: Vec<(String, Pq)> = rows[3].get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
            assert_eq!(cols[0], ("id".into(), Pq::Long(3)));
            assert_eq!(cols[1], ("qty".into(), Pq::Int(3)));
            assert!(
                matches!(&cols[2].1, Pq::Decimal(d) if d.data() == num_bigint::BigInt::from(-12345).to_signed_bytes_be())
            );
            assert_eq!(cols[3], ("day".into(), Pq::Date(19_675)));
            assert_eq!(cols[4], ("at".into(), Pq::TimestampMillis(1_700_000_000_000)));
            assert_eq!(cols[5], ("note".into(), Pq::Str("gift".into())));
            assert_eq!(rows[2].get_column_iter().nth(5).unwrap().1, &Pq::Null);
        }
    }

    #[test]
    fn nested_optional_structs_and_refusals() {
        let inner = Schema::builder(Type::Struct)
            .name("Addr")
            .optional()
            .field("city", Schema::primitive(Type::String, true))
            .build();
        let schema = Schema::builder(Type::Struct)
            .field("id", Schema::primitive(Type::Int32, false))
            .field("addr", inner.clone())
            .build();
        let mut s = crate::format::json::tests::settings(runtime::convert::DecimalFormat::Base64, false);
        s.format = Format::Parquet;
        let mut a = runtime::data::Struct::new(inner.clone());
        a.put("city", Value::String("Oslo".into()));
        let mut with = runtime::data::Struct::new(schema.clone());
        with.put("id", Value::Int32(1)).put("addr", Value::Struct(a));
        let mut without = runtime::data::Struct::new(schema.clone());
        without.put("id", Value::Int32(2));
        let r1 = sink_record("t", 0, 0, Some(schema.clone()), Value::Struct(with));
        let mut f = ParquetFile::new(&s, &r1).unwrap();
        f.write(&r1).unwrap();
        f.write(&sink_record("t", 0, 1, Some(schema.clone()), Value::Struct(without))).unwrap();
        let missing_id = runtime::data::Struct::new(schema.clone());
        let err = f.write(&sink_record("t", 0, 2, Some(schema.clone()), Value::Struct(missing_id))).unwrap_err();
        assert!(err.to_string().contains("required field id is null"), "{err}");
        let reader = SerializedFileReader::new(bytes::Bytes::from(f.finish().unwrap())).unwrap();
        let rows: Vec<String> = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(rows, vec!["{id: 1, addr: {city: \"Oslo\"}}", "{id: 2, addr: null}"]);
    }

    /// Debezium's schema-change value in miniature: arrays of structs holding arrays, maps with
    /// string and integer keys, null and empty collections, null elements; read back by the
    /// parquet crate's record reader.
    /// The schema of [`nested_lists_and_maps_at_any_depth`], a struct builder for its
    /// `tableChanges` entries, and three rows.
    #[allow(clippy::type_complexity)]
    fn schema_changes(
    ) -> (Schema, impl Fn(&str, Option<Vec<&str>>) -> Value, impl Fn(&str, Vec<Value>) -> Value, Vec<Value>) {
        use runtime::data::Struct;
        let column = Schema::builder(Type::Struct)
            .name("Column")
            .field("name", Schema::string())
            .field("enums", Schema::array(Schema::string()).optional().build())
            .build();
        let table = Schema::builder(Type::Struct)
            .name("Table")
            .field("id", Schema::string())
            .field("columns", Schema::array(column.clone()).build())
            .build();
        let schema = Schema::builder(Type::Struct)
            .field("ddl", Schema::string())
            .field("tableChanges", Schema::array(table.clone()).build())
            .field("tags", Schema::array(Schema::primitive(Type::Int32, true)).optional().build())
            .field("attrs", Schema::map(Schema::string(), Schema::primitive(Type::Int64, true)).optional().build())
            .field("byid", Schema::map(Schema::primitive(Type::Int32, false), Schema::string()).build())
            .build();
        let col = move |name: &str, enums: Option<Vec<&str>>| {
            let mut c = Struct::new(column.clone());
            c.put("name", Value::String(name.into())).put(
                "enums",
                enums.map_or(Value::Null, |e| Value::Array(e.into_iter().map(|s| Value::String(s.into())).collect())),
            );
            Value::Struct(c)
        };
        let tbl = move |id: &str, cols: Vec<Value>| {
            let mut t = Struct::new(table.clone());
            t.put("id", Value::String(id.into())).put("columns", Value::Array(cols));
            Value::Struct(t)
        };
        let row = |ddl: &str, tables: Vec<Value>, tags: Value, attrs: Value, byid: Vec<(i32, &str)>| {
            let mut r = Struct::new(schema.clone());
            r.put("ddl", Value::String(ddl.into()))
                .put("tableChanges", Value::Array(tables))
                .put("tags", tags)
                .put("attrs", attrs)
                .put(
                    "byid",
                    Value::Map(byid.into_iter().map(|(k, v)| (Value::Int32(k), Value::String(v.into()))).collect()),
                );
            Value::Struct(r)
        };
        let rows = [
            row(
                "CREATE TABLE t",
                vec![tbl("db.t", vec![col("id", None), col("e", Some(vec!["a", "b"]))]), tbl("db.u", vec![])],
                Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]),
                Value::Map(vec![
                    (Value::String("k".into()), Value::Int64(9)),
                    (Value::String("n".into()), Value::Null),
                ]),
                vec![(1, "one"), (2, "two")],
            ),
            row("DROP TABLE t", vec![], Value::Null, Value::Map(vec![]), vec![]),
            row(
                "ALTER TABLE u",
                vec![tbl("db.u", vec![col("x", Some(vec![]))])],
                Value::Array(vec![]),
                Value::Null,
                vec![(3, "three")],
            ),
        ];
        (schema, col, tbl, rows.to_vec())
    }

    #[test]
    fn nested_lists_and_maps_at_any_depth() {
        use runtime::data::Struct;
        let (schema, col, tbl, rows) = schema_changes();
        let mut s = crate::format::json::tests::settings(runtime::convert::DecimalFormat::Base64, false);
        s.format = Format::Parquet;
        s.parquet_row_group_bytes = 1; // a row group per row
        let first = sink_record("t", 0, 0, Some(schema.clone()), rows[0].clone());
        let mut f = ParquetFile::new(&s, &first).unwrap();
        for (i, r) in rows.iter().enumerate() {
            f.write(&sink_record("t", 0, i as i64, Some(schema.clone()), r.clone())).unwrap();
        }
        // a null in a required place is refused and leaves the columns as they were
        let mut bad = Struct::new(schema.clone());
        bad.put("ddl", Value::String("x".into()))
            .put("tableChanges", Value::Array(vec![tbl("db.v", vec![col("a", None), Value::Null])]));
        bad.put("byid", Value::Map(vec![]));
        let e = f.write(&sink_record("t", 0, 3, Some(schema.clone()), Value::Struct(bad))).unwrap_err();
        assert!(e.to_string().contains("required field tableChanges.element.columns.element is null"), "{e}");
        let reader = SerializedFileReader::new(bytes::Bytes::from(f.finish().unwrap())).unwrap();
        let descr = reader.metadata().file_metadata().schema_descr_ptr();
        let paths: Vec<String> = (0..descr.num_columns()).map(|i| descr.column(i).path().string()).collect();
        assert_eq!(
            paths,
            [
                "ddl",
                "tableChanges.list.element.id",
                "tableChanges.list.element.columns.list.element.name",
                "tableChanges.list.element.columns.list.element.enums.list.element",
                "tags.list.element",
                "attrs.key_value.key",
                "attrs.key_value.value",
                "byid.key_value.key",
                "byid.key_value.value",
            ]
        );
        let got: Vec<String> = reader.get_row_iter(None).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(
            got,
            [
                r#"{ddl: "CREATE TABLE t", tableChanges: [{id: "db.t", columns: [{name: "id", enums: null}, {name: "e", enums: ["a", "b"]}]}, {id: "db.u", columns: []}], tags: [1, null, 3], attrs: {"k" -> 9, "n" -> null}, byid: {1 -> "one", 2 -> "two"}}"#,
                r#"{ddl: "DROP TABLE t", tableChanges: [], tags: null, attrs: {}, byid: {}}"#,
                r#"{ddl: "ALTER TABLE u", tableChanges: [{id: "db.u", columns: [{name: "x", enums: []}]}], tags: [], attrs: null, byid: {3 -> "three"}}"#,
            ]
        );
    }
}
