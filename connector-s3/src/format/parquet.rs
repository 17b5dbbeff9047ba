//! `io.confluent.connect.s3.format.parquet.ParquetFormat`: Parquet files typed from the Connect
//! schema of the file's first record, as parquet-avro maps Confluent's Avro schema: a struct is a
//! group, an optional field is `OPTIONAL`, int8/int16/int32 are `INT32`, int64 `INT64`, strings
//! `BINARY (STRING)`, bytes `BINARY`, Decimal `BINARY (DECIMAL(precision, scale))`, Date
//! `INT32 (DATE)`, Time `INT32 (TIME(MILLIS))`, Timestamp `INT64 (TIMESTAMP(MILLIS, UTC))`.
//! Dictionary encoding on, 64 KiB pages, `parquet.codec` compression. Row groups are cut by size
//! (`parquet.row.group.size.bytes`, an extension); until then a row group's values are held in
//! typed column buffers, not as records.
//! Arrays and maps are not written yet (the record is refused with a clear error).

use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type as PqType;
use runtime::data::{Schema, Type, Value, DATE, DECIMAL, SCALE, TIME, TIMESTAMP};
use runtime::SinkRecord;

use super::{at, same_schema, FormatError, FormatSettings, SharedBuf};

/// One leaf column: the field indexes leading to it and which of those levels are optional.
#[derive(Debug, Clone)]
struct Leaf {
    path: Vec<usize>,
    optional: Vec<bool>,
    kind: Kind,
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

/// The Parquet type of a field, and its leaves (appended to `leaves`).
fn field_type(
    name: &str,
    schema: &Schema,
    path: &mut Vec<usize>,
    optional: &mut Vec<bool>,
    leaves: &mut Vec<Leaf>,
) -> Result<PqType, String> {
    let repetition = if schema.optional { Repetition::OPTIONAL } else { Repetition::REQUIRED };
    optional.push(schema.optional);
    let result = (|| {
        if schema.ty == Type::Struct {
            let mut fields = Vec::with_capacity(schema.fields.len());
            for (i, f) in schema.fields.iter().enumerate() {
                path.push(i);
                let t = field_type(&f.name, &f.schema, path, optional, leaves);
                path.pop();
                fields.push(Arc::new(t?));
            }
            return PqType::group_type_builder(name)
                .with_repetition(repetition)
                .with_fields(fields)
                .build()
                .map_err(|e| e.to_string());
        }
        let logical = schema.name.as_deref();
        let (physical, logical_type, kind) = match (schema.ty, logical) {
            (Type::Bytes, Some(DECIMAL)) => {
                let scale: i32 = param(schema, SCALE).and_then(|s| s.parse().ok()).unwrap_or(0);
                let precision: i32 =
                    param(schema, "connect.decimal.precision").and_then(|s| s.parse().ok()).unwrap_or(64);
                let b = PqType::primitive_type_builder(name, Physical::BYTE_ARRAY)
                    .with_repetition(repetition)
                    .with_logical_type(Some(LogicalType::decimal(scale, precision)))
                    .with_precision(precision)
                    .with_scale(scale)
                    .build()
                    .map_err(|e| e.to_string())?;
                leaves.push(Leaf { path: path.clone(), optional: optional.clone(), kind: Kind::Binary });
                return Ok(b);
            }
            (Type::Int32, Some(DATE)) => (Physical::INT32, Some(LogicalType::Date), Kind::Int32),
            (Type::Int32, Some(TIME)) => {
                (Physical::INT32, Some(LogicalType::time(true, TimeUnit::MILLIS)), Kind::Int32)
            }
            (Type::Int64, Some(TIMESTAMP)) => {
                (Physical::INT64, Some(LogicalType::timestamp(true, TimeUnit::MILLIS)), Kind::Int64)
            }
            (Type::Int8 | Type::Int16 | Type::Int32, _) => (Physical::INT32, None, Kind::Int32),
            (Type::Int64, _) => (Physical::INT64, None, Kind::Int64),
            (Type::Float32, _) => (Physical::FLOAT, None, Kind::Float),
            (Type::Float64, _) => (Physical::DOUBLE, None, Kind::Double),
            (Type::Boolean, _) => (Physical::BOOLEAN, None, Kind::Bool),
            (Type::String, _) => (Physical::BYTE_ARRAY, Some(LogicalType::String), Kind::Binary),
            (Type::Bytes, _) => (Physical::BYTE_ARRAY, None, Kind::Binary),
            (ty, _) => return Err(format!("field {name}: {} values are not written to Parquet yet", ty.json_name())),
        };
        leaves.push(Leaf { path: path.clone(), optional: optional.clone(), kind });
        PqType::primitive_type_builder(name, physical)
            .with_repetition(repetition)
            .with_logical_type(logical_type)
            .build()
            .map_err(|e| e.to_string())
    })();
    optional.pop();
    result
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

    /// Appends a present value; returns the bytes it takes.
    fn push(&mut self, v: &Value) -> usize {
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
                return s.len() + 32;
            }
            (Column::Binary(c), Value::Bytes(b)) => {
                c.push(ByteArray::from(b.clone()));
                return b.len() + 32;
            }
            (Column::Binary(c), Value::Decimal(unscaled, _)) => {
                c.push(ByteArray::from(unscaled.to_signed_bytes_be()));
                return 48;
            }
            _ => {}
        }
        8
    }
}

pub struct ParquetFile {
    schema: Schema,
    leaves: Vec<Leaf>,
    writer: Option<SerializedFileWriter<SharedBuf>>,
    out: SharedBuf,
    columns: Vec<(Column, Vec<i16>)>,
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
        let mut leaves = Vec::new();
        let mut fields = Vec::new();
        for (i, f) in schema.fields.iter().enumerate() {
            let t = field_type(&f.name, &f.schema, &mut vec![i], &mut Vec::new(), &mut leaves)
                .map_err(|reason| FormatError::Record { at: at(first), reason })?;
            fields.push(Arc::new(t));
        }
        let name = schema.name.as_deref().and_then(|n| n.rsplit('.').next()).unwrap_or("ConnectDefault");
        let root = PqType::group_type_builder(name).with_fields(fields).build().map_err(encoder_error)?;
        let props = WriterProperties::builder()
            .set_compression(compression(&settings.parquet_codec))
            .set_dictionary_enabled(true)
            .set_data_page_size_limit(64 * 1024)
            .set_created_by(format!("sluice version {}", env!("CARGO_PKG_VERSION")))
            .build();
        let columns = leaves.iter().map(|l| (Column::new(l.kind), Vec::new())).collect();
        let out = SharedBuf::default();
        let writer = SerializedFileWriter::new(out.clone(), Arc::new(root), Arc::new(props)).map_err(encoder_error)?;
        Ok(ParquetFile {
            schema,
            leaves,
            writer: Some(writer),
            out,
            columns,
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
        // required fields must be present (Parquet cannot hold a null there): checked first, so
        // a refused record leaves the columns as they were
        let mut levels = Vec::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            match leaf_value(leaf, &s.values, &self.schema) {
                Ok(level) => levels.push(level),
                Err(field) => {
                    return Err(FormatError::Record {
                        at: at(record),
                        reason: format!("required field {field} is null"),
                    })
                }
            }
        }
        for ((def, value), (column, defs)) in levels.into_iter().zip(&mut self.columns) {
            defs.push(def);
            self.rows_bytes += 2 + value.map_or(0, |v| column.push(v));
        }
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
        for (leaf, (column, defs)) in self.leaves.iter().zip(&mut self.columns) {
            let mut col = rg.next_column().map_err(encoder_error)?.expect("a column per leaf");
            let optional = leaf.optional.iter().any(|o| *o);
            let levels = optional.then_some(&defs[..]);
            let written = match column {
                Column::Bool(v) => col.typed::<BoolType>().write_batch(v, levels, None).map(|_| v.clear()),
                Column::Int32(v) => col.typed::<Int32Type>().write_batch(v, levels, None).map(|_| v.clear()),
                Column::Int64(v) => col.typed::<Int64Type>().write_batch(v, levels, None).map(|_| v.clear()),
                Column::Float(v) => col.typed::<FloatType>().write_batch(v, levels, None).map(|_| v.clear()),
                Column::Double(v) => col.typed::<DoubleType>().write_batch(v, levels, None).map(|_| v.clear()),
                Column::Binary(v) => col.typed::<ByteArrayType>().write_batch(v, levels, None).map(|_| v.clear()),
            };
            written.map_err(encoder_error)?;
            defs.clear();
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

/// The definition level and value of a leaf in a row; `Err(field)` when a required level is null.
fn leaf_value<'a>(leaf: &Leaf, row: &'a [Value], schema: &Schema) -> Result<(i16, Option<&'a Value>), String> {
    let mut values = row;
    let mut fields = &schema.fields;
    let mut def = 0i16;
    for (depth, (&i, &optional)) in leaf.path.iter().zip(&leaf.optional).enumerate() {
        let v = &values[i];
        if v.is_null() {
            if optional {
                return Ok((def, None));
            }
            return Err(fields[i].name.clone());
        }
        if optional {
            def += 1;
        }
        if depth + 1 == leaf.path.len() {
            return Ok((def, Some(v)));
        }
        let Value::Struct(s) = v else { return Err(fields[i].name.clone()) };
        values = &s.values;
        fields = &fields[i].schema.fields;
    }
    unreachable!("a leaf path is never empty")
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
        let arrays = Schema::builder(Type::Struct).field("tags", Schema::array(Schema::string()).build()).build();
        let r = sink_record("t", 0, 0, Some(arrays.clone()), Value::Struct(runtime::data::Struct::new(arrays)));
        assert!(ParquetFile::new(&s, &r).err().unwrap().to_string().contains("array values are not written"));
    }
}
