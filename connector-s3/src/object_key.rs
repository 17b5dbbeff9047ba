//! Object keys exactly as the reference (s3-sink.md §2):
//! `[topics.dir/]<topic>/<encodedPartition>/<topic>+<kafkaPartition>+<startOffset, zero-padded><ext>`.

/// The parts of a key that come from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    /// `topics.dir`; blank → no prefix.
    pub topics_dir: String,
    pub directory_delim: String,
    pub file_delim: String,
    /// `filename.offset.zero.pad.width`.
    pub pad: usize,
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout { topics_dir: "topics".into(), directory_delim: "/".into(), file_delim: "+".into(), pad: 10 }
    }
}

/// The file extension of a format (`format.class`), compression and Parquet codec.
pub fn extension(format: &str, gzip: bool, parquet_codec: &str, bytearray_extension: &str) -> String {
    match format {
        "json" => if gzip { ".json.gz" } else { ".json" }.to_owned(),
        "avro" => ".avro".to_owned(),
        // parquet-mr's CompressionCodecName extensions
        "parquet" => match parquet_codec {
            "snappy" => ".snappy.parquet",
            "gzip" => ".gz.parquet",
            "zstd" => ".zstd.parquet",
            "lz4" => ".lz4hadoop.parquet",
            "brotli" => ".br.parquet",
            "lzo" => ".lzo.parquet",
            _ => ".parquet",
        }
        .to_owned(),
        _ => format!("{bytearray_extension}{}", if gzip { ".gz" } else { "" }),
    }
}

impl KeyLayout {
    /// The key of the file of `topic`/`partition` whose first record has `start_offset`; `dir`
    /// is the partitioner's `generatePartitionedPath` (`<topic><delim><encoded>`).
    pub fn key(&self, dir: &str, topic: &str, partition: i32, start_offset: i64, ext: &str) -> String {
        let d = &self.directory_delim;
        let f = &self.file_delim;
        let name = format!("{topic}{f}{partition}{f}{start_offset:0width$}{ext}", width = self.pad);
        if self.topics_dir.trim().is_empty() {
            format!("{dir}{d}{name}")
        } else {
            format!("{}{d}{dir}{d}{name}", self.topics_dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        let k = KeyLayout::default();
        let key = |ext: &str| k.key("orders/partition=3", "orders", 3, 1200, ext);
        assert_eq!(
            key(&extension("json", false, "snappy", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.json"
        );
        assert_eq!(
            key(&extension("json", true, "snappy", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.json.gz"
        );
        assert_eq!(
            key(&extension("avro", false, "snappy", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.avro"
        );
        assert_eq!(
            key(&extension("parquet", false, "snappy", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.snappy.parquet"
        );
        assert_eq!(
            key(&extension("parquet", false, "none", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.parquet"
        );
        assert_eq!(extension("parquet", false, "gzip", ""), ".gz.parquet");
        assert_eq!(extension("parquet", false, "lz4", ""), ".lz4hadoop.parquet");
        assert_eq!(extension("parquet", false, "zstd", ""), ".zstd.parquet");
        assert_eq!(
            key(&extension("bytearray", false, "snappy", ".bin")),
            "topics/orders/partition=3/orders+3+0000001200.bin"
        );
        let blank = KeyLayout { topics_dir: String::new(), ..KeyLayout::default() };
        assert_eq!(
            blank.key("orders/partition=3", "orders", 3, 1200, ".json"),
            "orders/partition=3/orders+3+0000001200.json"
        );
        assert_eq!(
            k.key("orders/partition=3", "orders", 3, 12_345_678_901, ".json"),
            "topics/orders/partition=3/orders+3+12345678901.json"
        );
        assert_eq!(
            k.key("orders/year=2023/month=11/day=14/hour=22", "orders", 3, 1200, ".json"),
            "topics/orders/year=2023/month=11/day=14/hour=22/orders+3+0000001200.json"
        );
    }
}
