//! Record formats of the object files (s3-sink.md §8): JSON lines, raw bytes with a separator,
//! Avro object container files and Parquet files.
//!
//! Every encoder writes into memory and hands its encoded bytes out in pieces ([`FileEncoder::drain`]),
//! so a large file is uploaded part by part while it is written and never held whole.

pub mod avro;
pub mod bytearray;
pub mod json;
pub mod parquet;

use std::io::Write;
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use runtime::data::Schema;
use runtime::SinkRecord;

use crate::config::{Format, S3SinkConfig};

/// A record that cannot be written in this format.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("record {at}: {reason}")]
    Record { at: String, reason: String },
    #[error("{format} encoder failed: {reason}")]
    Encoder { format: &'static str, reason: String },
}

pub(crate) fn at(record: &SinkRecord) -> String {
    format!("{}-{}@{}", record.topic, record.kafka_partition, record.kafka_offset)
}

/// A `Write` whose bytes the owner can take out while a library encoder keeps writing to it.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The byte stream of a line format, gzip-compressed or not (`s3.compression.type`). Lines
/// for gzip are gathered into 64 KiB chunks first: the compressor's per-call cost is paid per
/// chunk, not per line.
pub(crate) enum ByteSink {
    Plain(Vec<u8>),
    Gzip { staged: Vec<u8>, encoder: Box<GzEncoder<Vec<u8>>> },
}

const GZIP_CHUNK: usize = 64 * 1024;

impl ByteSink {
    pub(crate) fn new(gzip: bool, level: i32) -> ByteSink {
        if gzip {
            let level = if level < 0 { flate2::Compression::default() } else { flate2::Compression::new(level as u32) };
            ByteSink::Gzip {
                staged: Vec::with_capacity(GZIP_CHUNK),
                encoder: Box::new(GzEncoder::new(Vec::new(), level)),
            }
        } else {
            ByteSink::Plain(Vec::new())
        }
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        match self {
            ByteSink::Plain(v) => v.extend_from_slice(bytes),
            ByteSink::Gzip { staged, encoder } => {
                staged.extend_from_slice(bytes);
                if staged.len() >= GZIP_CHUNK {
                    encoder.write_all(staged).expect("writing to memory");
                    staged.clear();
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            ByteSink::Plain(v) => v.len(),
            ByteSink::Gzip { staged, encoder } => encoder.get_ref().len() + staged.len(),
        }
    }

    /// Bytes that [`Self::drain`] would hand out now.
    pub(crate) fn encoded_len(&self) -> usize {
        match self {
            ByteSink::Plain(v) => v.len(),
            ByteSink::Gzip { encoder, .. } => encoder.get_ref().len(),
        }
    }

    pub(crate) fn drain(&mut self) -> Vec<u8> {
        match self {
            ByteSink::Plain(v) => std::mem::take(v),
            ByteSink::Gzip { encoder, .. } => std::mem::take(encoder.get_mut()),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            ByteSink::Plain(v) => v,
            ByteSink::Gzip { staged, mut encoder } => {
                encoder.write_all(&staged).expect("writing to memory");
                (*encoder).finish().expect("writing to memory")
            }
        }
    }
}

/// Settings the encoders need, taken from the connector config.
#[derive(Debug, Clone)]
pub struct FormatSettings {
    pub format: Format,
    pub gzip: bool,
    pub gzip_level: i32,
    pub json_decimal: runtime::convert::DecimalFormat,
    pub bytearray_separator: Vec<u8>,
    pub avro_codec: String,
    pub parquet_codec: String,
    pub parquet_row_group_bytes: usize,
    pub connect_meta_data: bool,
    /// `store.kafka.keys`: the keys files' settings (their format in `format`).
    pub keys: Option<Box<FormatSettings>>,
    /// `store.kafka.headers`: the headers files' settings.
    pub headers: Option<Box<FormatSettings>>,
}

impl FormatSettings {
    pub fn of(c: &S3SinkConfig) -> FormatSettings {
        let value = FormatSettings {
            format: c.format,
            gzip: c.gzip,
            gzip_level: c.gzip_level,
            json_decimal: c.json_decimal,
            bytearray_separator: c.bytearray_separator.clone(),
            avro_codec: c.avro_codec.clone(),
            parquet_codec: c.parquet_codec.clone(),
            parquet_row_group_bytes: c.parquet_row_group_bytes,
            connect_meta_data: c.connect_meta_data,
            keys: None,
            headers: None,
        };
        let keys = c.keys.as_ref().map(|(format, _)| Box::new(FormatSettings { format: *format, ..value.clone() }));
        let headers =
            c.headers.as_ref().map(|(format, _)| Box::new(FormatSettings { format: *format, ..value.clone() }));
        FormatSettings { keys, headers, ..value }
    }
}

/// The encoder of one object file.
pub enum FileEncoder {
    Json(json::JsonLines),
    ByteArray(bytearray::ByteArrayFile),
    Avro(Box<avro::AvroFile>),
    Parquet(Box<parquet::ParquetFile>),
}

impl FileEncoder {
    /// A new file; Avro and Parquet take their file schema from its first record.
    pub fn open(settings: &FormatSettings, first: &SinkRecord) -> Result<FileEncoder, FormatError> {
        Ok(match settings.format {
            Format::Json => FileEncoder::Json(json::JsonLines::new(settings)),
            Format::ByteArray => FileEncoder::ByteArray(bytearray::ByteArrayFile::new(settings)),
            Format::Avro => FileEncoder::Avro(Box::new(avro::AvroFile::new(settings, first)?)),
            Format::Parquet => FileEncoder::Parquet(Box::new(parquet::ParquetFile::new(settings, first)?)),
        })
    }

    pub fn is_parquet(&self) -> bool {
        matches!(self, FileEncoder::Parquet(_))
    }

    pub fn write(&mut self, record: &SinkRecord) -> Result<(), FormatError> {
        match self {
            FileEncoder::Json(f) => f.write(record),
            FileEncoder::ByteArray(f) => f.write(record),
            FileEncoder::Avro(f) => f.write(record),
            FileEncoder::Parquet(f) => f.write(record),
        }
    }

    /// Bytes held in memory for this file (encoded and not yet taken, plus rows not yet encoded).
    pub fn buffered_bytes(&self) -> usize {
        match self {
            FileEncoder::Json(f) => f.out.len(),
            FileEncoder::ByteArray(f) => f.out.len(),
            FileEncoder::Avro(f) => f.buffered_bytes(),
            FileEncoder::Parquet(f) => f.buffered_bytes(),
        }
    }

    /// Encoded bytes ready to upload (the prefix of the file not taken before).
    pub fn encoded_bytes(&self) -> usize {
        match self {
            FileEncoder::Json(f) => f.out.encoded_len(),
            FileEncoder::ByteArray(f) => f.out.encoded_len(),
            FileEncoder::Avro(f) => f.encoded_bytes(),
            FileEncoder::Parquet(f) => f.encoded_bytes(),
        }
    }

    /// Takes the encoded bytes so far (the next piece of the file).
    pub fn drain(&mut self) -> Vec<u8> {
        match self {
            FileEncoder::Json(f) => f.out.drain(),
            FileEncoder::ByteArray(f) => f.out.drain(),
            FileEncoder::Avro(f) => f.drain(),
            FileEncoder::Parquet(f) => f.drain(),
        }
    }

    /// Ends the file: the rest of its bytes.
    pub fn finish(self) -> Result<Vec<u8>, FormatError> {
        match self {
            FileEncoder::Json(f) => Ok(f.out.finish()),
            FileEncoder::ByteArray(f) => Ok(f.out.finish()),
            FileEncoder::Avro(f) => f.finish(),
            FileEncoder::Parquet(f) => f.finish(),
        }
    }

    /// Whether a record with this value schema can go into this file (Avro and Parquet files
    /// have one schema; a change rotates, as `schema.compatibility=NONE`).
    pub fn accepts(&self, schema: Option<&Schema>) -> bool {
        match self {
            FileEncoder::Json(_) | FileEncoder::ByteArray(_) => true,
            FileEncoder::Avro(f) => f.accepts(schema),
            FileEncoder::Parquet(f) => f.accepts(schema),
        }
    }
}

/// `Schema` equality with the cheap pointer check first (converters cache schemas).
pub(crate) fn same_schema(a: Option<&Schema>, b: Option<&Schema>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => std::ptr::eq(&**a, &**b) || a == b,
        _ => false,
    }
}
