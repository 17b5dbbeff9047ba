//! The S3 sinks' encoding references: the physical work of turning the records into the
//! objects' bytes, done directly with the same libraries sluice uses, in this process.
//!
//! - `gzip-same-bytes`: the JSON lines of the objects sluice wrote (downloaded and decompressed
//!   untimed), compressed again with flate2 at the default level (`s3.compression.level=-1`).
//! - `parquet-encode-same-rows`: the bench's rows (id int64, status string, amount double), one
//!   file per partition, written with the parquet crate's column writers and the writer settings
//!   of sluice's ParquetFormat (snappy, dictionary, 64 KiB pages).

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use parquet::basic::{Compression, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::runs::{in_process, Run};

/// Gzips each of `files` (uncompressed bytes) at the default level.
pub fn gzip_same_bytes(files: &[Vec<u8>]) -> Result<Run> {
    in_process(|| {
        for f in files {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(f)?;
            std::hint::black_box(gz.finish()?);
        }
        Ok(())
    })
}

/// Decompresses a gzip object (untimed preparation of [`gzip_same_bytes`]).
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    std::io::copy(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)?;
    Ok(out)
}

/// Writes `partitions` Parquet files holding rows `first..first+rows` of each partition (the
/// bench's records go round-robin: partition p holds i where i % partitions == p).
pub fn parquet_same_rows(partitions: usize, rows: usize, status: &[&str]) -> Result<Run> {
    let field = |name: &str, ty: Physical| -> Result<Arc<Type>> {
        let mut b = Type::primitive_type_builder(name, ty).with_repetition(Repetition::REQUIRED);
        if ty == Physical::BYTE_ARRAY {
            b = b.with_logical_type(Some(parquet::basic::LogicalType::String));
        }
        Ok(Arc::new(b.build()?))
    };
    let root = Arc::new(
        Type::group_type_builder("Order")
            .with_fields(vec![
                field("id", Physical::INT64)?,
                field("status", Physical::BYTE_ARRAY)?,
                field("amount", Physical::DOUBLE)?,
            ])
            .build()?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(true)
            .set_data_page_size_limit(64 * 1024)
            .build(),
    );
    in_process(|| {
        for p in 0..partitions {
            let ids: Vec<i64> = (0..rows).map(|r| (r * partitions + p) as i64).collect();
            let statuses: Vec<ByteArray> =
                ids.iter().map(|i| ByteArray::from(status[*i as usize % status.len()])).collect();
            let amounts: Vec<f64> = ids.iter().map(|i| (i % 1000) as f64 + 0.5).collect();
            let mut w = SerializedFileWriter::new(Vec::new(), root.clone(), props.clone())?;
            let mut rg = w.next_row_group()?;
            let mut col = rg.next_column()?.expect("id");
            col.typed::<Int64Type>().write_batch(&ids, None, None)?;
            col.close()?;
            let mut col = rg.next_column()?.expect("status");
            col.typed::<ByteArrayType>().write_batch(&statuses, None, None)?;
            col.close()?;
            let mut col = rg.next_column()?.expect("amount");
            col.typed::<DoubleType>().write_batch(&amounts, None, None)?;
            col.close()?;
            rg.close()?;
            std::hint::black_box(w.into_inner()?);
        }
        Ok(())
    })
}
