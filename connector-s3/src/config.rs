//! Keys of `io.confluent.connect.s3.S3SinkConnector` (s3-sink.md §1) with the reference's
//! defaults, parsed into types; the partitioner and the object-key layout are built here, so a
//! bad `path.format` or zone is a config error with its line.

use std::time::Duration;

use chrono_tz::Tz;
use runtime::config::{ConfigReader, Password};
use runtime::KeyDoc;

use crate::compatibility::Compatibility;
use crate::object_key::{extension, KeyLayout};
use crate::partitioner::{Partitioner, TimestampExtractor};
use crate::path_format::PathFormat;

pub const KEYS: &[KeyDoc] = &[
    KeyDoc { name: "s3.bucket.name", default: None, doc: "the bucket" },
    KeyDoc { name: "s3.region", default: Some("us-west-2"), doc: "the region" },
    KeyDoc { name: "store.url", default: None, doc: "an S3-compatible endpoint (path-style)" },
    KeyDoc { name: "aws.access.key.id", default: Some(""), doc: "static credentials (empty: the AWS default chain)" },
    KeyDoc { name: "aws.secret.access.key", default: None, doc: "static credentials (never logged)" },
    KeyDoc { name: "s3.part.size", default: Some("26214400"), doc: "multipart part size (at least 5 MiB)" },
    KeyDoc { name: "s3.part.retries", default: Some("3"), doc: "retries of a failed part" },
    KeyDoc { name: "s3.retry.backoff.ms", default: Some("200"), doc: "first retry backoff, doubled each time" },
    KeyDoc { name: "s3.compression.type", default: Some("none"), doc: "none or gzip (JSON, ByteArray)" },
    KeyDoc { name: "flush.size", default: None, doc: "records per file" },
    KeyDoc { name: "rotate.interval.ms", default: Some("-1"), doc: "record-time rotation (time-based partitioners)" },
    KeyDoc {
        name: "rotate.schedule.interval.ms",
        default: Some("-1"),
        doc: "wall-clock rotation (breaks exactly-once)",
    },
    KeyDoc { name: "topics.dir", default: Some("topics"), doc: "top-level prefix (blank: none)" },
    KeyDoc { name: "directory.delim", default: Some("/"), doc: "directory delimiter" },
    KeyDoc { name: "file.delim", default: Some("+"), doc: "delimiter in file names" },
    KeyDoc { name: "filename.offset.zero.pad.width", default: Some("10"), doc: "digits of the start offset" },
    KeyDoc { name: "format.class", default: None, doc: "JsonFormat, AvroFormat, ParquetFormat or ByteArrayFormat" },
    KeyDoc { name: "parquet.codec", default: Some("snappy"), doc: "none, snappy, gzip, zstd, lz4" },
    KeyDoc { name: "avro.codec", default: Some("null"), doc: "null, deflate, snappy" },
    KeyDoc { name: "format.bytearray.extension", default: Some(".bin"), doc: "ByteArrayFormat's extension" },
    KeyDoc { name: "format.bytearray.separator", default: Some("\\n"), doc: "ByteArrayFormat's record separator" },
    KeyDoc {
        name: "partitioner.class",
        default: Some("io.confluent.connect.storage.partitioner.DefaultPartitioner"),
        doc: "Default, Field, TimeBased, Daily or Hourly partitioner",
    },
    KeyDoc { name: "partition.field.name", default: Some(""), doc: "FieldPartitioner's fields (nested with .)" },
    KeyDoc { name: "path.format", default: Some(""), doc: "TimeBasedPartitioner's Joda pattern" },
    KeyDoc { name: "partition.duration.ms", default: Some("-1"), doc: "TimeBasedPartitioner's bucket length" },
    KeyDoc { name: "locale", default: Some(""), doc: "required by time-based partitioners" },
    KeyDoc { name: "timezone", default: Some(""), doc: "required by time-based partitioners" },
    KeyDoc { name: "timestamp.extractor", default: Some("Wallclock"), doc: "Wallclock, Record or RecordField" },
    KeyDoc { name: "timestamp.field", default: Some("timestamp"), doc: "RecordField's field (nested with .)" },
    KeyDoc {
        name: "behavior.on.null.values",
        default: Some("fail"),
        doc: "fail, ignore or write (tombstones' keys to the tombstone.encoded.partition folder; needs store.kafka.keys)",
    },
    KeyDoc {
        name: "tombstone.encoded.partition",
        default: Some("tombstone"),
        doc: "the encoded partition (folder) of tombstones with behavior.on.null.values=write",
    },
    KeyDoc {
        name: "store.kafka.keys",
        default: Some("false"),
        doc: "also write each file's record keys to <file>.keys<ext> (keys.format.class)",
    },
    KeyDoc {
        name: "keys.format.class",
        default: Some("io.confluent.connect.s3.format.avro.AvroFormat"),
        doc: "the format of the keys files",
    },
    KeyDoc {
        name: "store.kafka.headers",
        default: Some("false"),
        doc: "also write each file's record headers to <file>.headers<ext> (headers.format.class)",
    },
    KeyDoc {
        name: "headers.format.class",
        default: Some("io.confluent.connect.s3.format.avro.AvroFormat"),
        doc: "the format of the headers files: AvroFormat, JsonFormat or ParquetFormat",
    },
    KeyDoc { name: "json.decimal.format", default: Some("BASE64"), doc: "decimals in JSON files: BASE64 or NUMERIC" },
    KeyDoc { name: "s3.path.style.access.enabled", default: Some("true"), doc: "path-style addressing" },
    KeyDoc { name: "s3.compression.level", default: Some("-1"), doc: "gzip level, -1 (default) to 9" },
    KeyDoc {
        name: "s3.credentials.provider.class",
        default: Some("com.amazonaws.auth.DefaultAWSCredentialsProviderChain"),
        doc: "the AWS default chain (environment, profile, web identity, container, instance), or io.confluent.connect.s3.auth.AwsAssumeRoleCredentialsProvider",
    },
    KeyDoc { name: "sts.role.arn", default: None, doc: "AwsAssumeRoleCredentialsProvider: the role to assume" },
    KeyDoc { name: "sts.role.session.name", default: None, doc: "AwsAssumeRoleCredentialsProvider: the session's name" },
    KeyDoc { name: "sts.role.external.id", default: None, doc: "AwsAssumeRoleCredentialsProvider: the external id" },
    KeyDoc {
        name: "rotate.file.on.partition.change",
        default: Some("true"),
        doc: "with rotate.interval.ms, a record for another encoded partition rotates",
    },
    KeyDoc {
        name: "partitioner.max.open.files",
        default: Some("-1"),
        doc: "a new encoded partition past this rotates",
    },
    KeyDoc {
        name: "schema.compatibility",
        default: Some("NONE"),
        doc: "NONE: a new value schema rotates the file; BACKWARD/FULL: a higher version rotates, an older record is projected; FORWARD: the reverse",
    },
    KeyDoc { name: "connect.meta.data", default: Some("true"), doc: "connect.* properties in Avro schemas" },
    KeyDoc {
        name: "s3.memory.budget.bytes",
        default: Some("134217728"),
        doc: "extension: memory for all open files together; past it the largest files upload parts or rotate early",
    },
    KeyDoc {
        name: "rotate.idle.ms",
        default: Some("-1"),
        doc:
            "extension: commit a partition's open files after this much wall time without records (keeps exactly-once)",
    },
    KeyDoc {
        name: "parquet.row.group.size.bytes",
        default: Some("16777216"),
        doc: "extension: Parquet row groups are cut at about this many bytes of rows",
    },
];

/// Keys of the reference that sluice accepts and that do not change what it writes.
const ACCEPTED: &[&str] = &[
    "s3.wan.mode",
    "s3.http.send.expect.continue",
    "s3.elastic.buffer.enable",
    "s3.elastic.buffer.init.capacity",
    "s3.send.digest",
    "schema.cache.size",
    "enhanced.avro.schema.support",
    "retry.backoff.ms",
    "shutdown.timeout.ms",
    "report.null.values.to.dlq",
    "max.write.duration.ms",
    "enable.conditional.writes",
    "max.files.scan.limit",
    "s3.proxy.url",
    "s3.proxy.user",
    "s3.proxy.password",
    "storage.class",
];

/// Keys whose non-default values would change the objects; refused rather than ignored.
const REFUSED: &[(&str, &str)] = &[
    ("s3.object.tagging", "false"),
    ("s3.ssea.name", ""),
    ("s3.sse.kms.key.id", ""),
    ("s3.sse.customer.key", ""),
    ("s3.acl.canned", ""),
    ("s3.schema.partition.affix.type", "NONE"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Avro,
    Parquet,
    ByteArray,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    Fail,
    Ignore,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct S3SinkConfig {
    pub bucket: String,
    pub region: String,
    pub endpoint: Option<String>,
    /// The CAs for an HTTPS endpoint: the JVM trust store `KAFKA_OPTS` names (as Confluent's
    /// connector gets a private CA), else the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// `AwsAssumeRoleCredentialsProvider`: the role, session name and external id.
    pub assume_role: Option<AssumeRole>,
    pub access_key: Option<String>,
    pub secret_key: Option<Password>,
    pub part_size: usize,
    pub part_retries: u32,
    pub retry_backoff: Duration,
    pub gzip: bool,
    pub flush_size: u64,
    pub rotate_interval_ms: Option<i64>,
    pub rotate_schedule_interval_ms: Option<i64>,
    pub format: Format,
    pub parquet_codec: String,
    pub avro_codec: String,
    pub bytearray_separator: Vec<u8>,
    pub extension: String,
    /// `store.kafka.keys`: the keys files' format and extension (`.keys` + the format's).
    pub keys: Option<(Format, String)>,
    /// `store.kafka.headers`: the headers files' format and extension (`.headers` + the format's).
    pub headers: Option<(Format, String)>,
    pub layout: KeyLayout,
    pub partitioner: Partitioner,
    pub null_values: NullValues,
    /// `schema.compatibility`.
    pub compatibility: Compatibility,
    /// `tombstone.encoded.partition`: where `behavior.on.null.values=write` puts tombstones.
    pub tombstone_partition: String,
    pub json_decimal: runtime::convert::DecimalFormat,
    pub path_style: bool,
    pub gzip_level: i32,
    pub rotate_on_partition_change: bool,
    pub max_open_files: Option<usize>,
    pub connect_meta_data: bool,
    pub memory_budget: usize,
    pub rotate_idle_ms: Option<i64>,
    pub parquet_row_group_bytes: usize,
    /// `timezone`, for `rotate.schedule.interval.ms`.
    pub schedule_zone: Option<Tz>,
}

const PARTITIONERS: &str = "io.confluent.connect.storage.partitioner.";

fn format_of(class: &str) -> Option<Format> {
    let short = class.rsplit('.').next().unwrap_or(class);
    Some(match short {
        "JsonFormat" => Format::Json,
        "AvroFormat" => Format::Avro,
        "ParquetFormat" => Format::Parquet,
        "ByteArrayFormat" => Format::ByteArray,
        _ => return None,
    })
}

/// Java's unescaping of `format.bytearray.separator` (`\n`, `\r`, `\t`, `\\`).
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some(o) => {
                out.push(b'\\');
                let mut buf = [0u8; 4];
                out.extend_from_slice(o.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

fn positive(v: i64) -> Option<i64> {
    (v > 0).then_some(v)
}

impl S3SinkConfig {
    /// Whether a replay from the committed offset rebuilds the same objects (s3-sink.md §7),
    /// and if not, why.
    pub fn exactly_once(&self) -> Result<(), &'static str> {
        if let Partitioner::Time { extractor: TimestampExtractor::Wallclock, .. } = self.partitioner {
            return Err("timestamp.extractor=Wallclock puts records in buckets by processing time");
        }
        if self.rotate_schedule_interval_ms.is_some() {
            return Err("rotate.schedule.interval.ms cuts files by wall-clock time");
        }
        Ok(())
    }

    pub fn parse(r: &mut ConfigReader<'_>) -> Option<S3SinkConfig> {
        let bucket = r.required("s3.bucket.name", "the bucket to write to");
        let region = r.string_or("s3.region", "us-west-2");
        let endpoint = r.non_empty("store.url");
        let access_key = r.non_empty("aws.access.key.id");
        let secret_key = r.password("aws.secret.access.key");
        let part_size = r.int_in("s3.part.size", 26_214_400, 5 * 1024 * 1024, i32::MAX as i64) as usize;
        let part_retries = r.int_in("s3.part.retries", 3, 0, i32::MAX as i64) as u32;
        let retry_backoff = r.millis("s3.retry.backoff.ms", 200);
        let gzip = r.one_of("s3.compression.type", "none", &["none", "gzip"]) == "gzip";
        let flush_size = flush_size(r);
        let rotate_interval_ms = positive(r.int_in("rotate.interval.ms", -1, -1, i64::MAX));
        let rotate_schedule_interval_ms = positive(r.int_in("rotate.schedule.interval.ms", -1, -1, i64::MAX));
        let layout = KeyLayout::parse(r);
        let format = format_class(r);
        let parquet_codec =
            r.one_of("parquet.codec", "snappy", &["none", "uncompressed", "snappy", "gzip", "zstd", "lz4"]).to_owned();
        let avro_codec = r.one_of("avro.codec", "null", &["null", "deflate", "snappy"]).to_owned();
        let bytearray_extension = r.string_or("format.bytearray.extension", ".bin");
        let bytearray_separator = unescape(&r.string_or("format.bytearray.separator", "\\n"));
        if gzip && matches!(format, Some(Format::Avro | Format::Parquet)) {
            r.invalid("s3.compression.type", "none with Avro and Parquet (use avro.codec / parquet.codec)", "gzip");
        }
        let null_values = null_values(r);
        let json_decimal = match r.one_of("json.decimal.format", "BASE64", &["BASE64", "NUMERIC"]) {
            "NUMERIC" => runtime::convert::DecimalFormat::Numeric,
            _ => runtime::convert::DecimalFormat::Base64,
        };
        let path_style = r.bool("s3.path.style.access.enabled", true);
        let gzip_level = r.int_in("s3.compression.level", -1, -1, 9) as i32;
        let rotate_on_partition_change = r.bool("rotate.file.on.partition.change", true);
        let max_open_files = usize::try_from(r.int_in("partitioner.max.open.files", -1, -1, i32::MAX as i64)).ok();
        let connect_meta_data = r.bool("connect.meta.data", true);
        let memory_budget = r.int_in("s3.memory.budget.bytes", 134_217_728, 16 * 1024 * 1024, i64::MAX) as usize;
        let rotate_idle_ms = positive(r.int_in("rotate.idle.ms", -1, -1, i64::MAX));
        let parquet_row_group_bytes =
            r.int_in("parquet.row.group.size.bytes", 16 * 1024 * 1024, 1024, i32::MAX as i64) as usize;
        let compatibility =
            Compatibility::parse(r.one_of("schema.compatibility", "NONE", &["NONE", "BACKWARD", "FORWARD", "FULL"]));
        let (assume_role, ca_pem) = credentials_and_trust(r, endpoint.as_deref());
        refuse_unsupported(r);
        let schedule_zone = rotate_schedule_interval_ms.and_then(|_| schedule_zone(r));
        let partitioner = Self::partitioner(r, &layout.directory_delim);
        let extension = format_extension(format, gzip, &parquet_codec, &bytearray_extension);
        let ext = |f: Format| format_extension(Some(f), gzip, &parquet_codec, &bytearray_extension);
        let (keys, headers) = companion_files(r, null_values, ext);
        let tombstone_partition = r.string_or("tombstone.encoded.partition", "tombstone");
        if r.has_errors() {
            return None;
        }
        Some(S3SinkConfig {
            bucket: bucket?,
            region,
            endpoint,
            ca_pem,
            assume_role,
            access_key,
            secret_key,
            part_size,
            part_retries,
            retry_backoff,
            gzip,
            flush_size,
            rotate_interval_ms,
            rotate_schedule_interval_ms,
            format: format?,
            parquet_codec,
            avro_codec,
            bytearray_separator,
            extension,
            keys,
            headers,
            layout,
            partitioner: partitioner?,
            null_values,
            compatibility,
            tombstone_partition,
            json_decimal,
            path_style,
            gzip_level,
            rotate_on_partition_change,
            max_open_files,
            connect_meta_data,
            memory_budget,
            rotate_idle_ms,
            parquet_row_group_bytes,
            schedule_zone,
        })
    }

    fn partitioner(r: &mut ConfigReader<'_>, delim: &str) -> Option<Partitioner> {
        let class = r.string_or("partitioner.class", &format!("{PARTITIONERS}DefaultPartitioner"));
        let short = class.trim().strip_prefix(PARTITIONERS).unwrap_or(class.trim()).to_owned();
        let fields = r.list("partition.field.name");
        let path_format = r.string_or("path.format", "");
        let duration = r.int_in("partition.duration.ms", -1, -1, i64::MAX);
        let locale = r.string_or("locale", "");
        let zone_name = r.string_or("timezone", "");
        let extractor_name = r.string_or("timestamp.extractor", "Wallclock");
        let field = r.string_or("timestamp.field", "timestamp");
        let time_based = matches!(&*short, "TimeBasedPartitioner" | "DailyPartitioner" | "HourlyPartitioner");
        let mut zone = None;
        if time_based {
            if locale.trim().is_empty() {
                r.missing("locale", "a locale such as en-US (time-based partitioners need one)");
            }
            match zone_name.trim() {
                "" => r.missing("timezone", "a time zone such as UTC (time-based partitioners need one)"),
                z => match z.parse::<Tz>() {
                    Ok(tz) => zone = Some(tz),
                    Err(_) => r.invalid("timezone", "a time zone ID such as UTC or Europe/Paris", z),
                },
            }
        }
        let extractor = match extractor_name.trim().rsplit('.').next().unwrap_or("") {
            "Wallclock" | "WallclockTimestampExtractor" => Some(TimestampExtractor::Wallclock),
            "Record" | "RecordTimestampExtractor" => Some(TimestampExtractor::Record),
            "RecordField" | "RecordFieldTimestampExtractor" => {
                Some(TimestampExtractor::RecordField(field.split('.').map(str::to_owned).collect()))
            }
            _ => {
                r.invalid("timestamp.extractor", "Wallclock, Record or RecordField", extractor_name.as_str());
                None
            }
        };
        match &*short {
            "DefaultPartitioner" => Some(Partitioner::Default),
            "FieldPartitioner" => {
                if fields.is_empty() {
                    r.missing("partition.field.name", "the fields FieldPartitioner partitions by");
                }
                Some(Partitioner::Field { fields })
            }
            "DailyPartitioner" => Some(Partitioner::daily(zone?, extractor?, delim)),
            "HourlyPartitioner" => Some(Partitioner::hourly(zone?, extractor?, delim)),
            "TimeBasedPartitioner" => {
                if duration <= 0 {
                    r.invalid("partition.duration.ms", "a bucket length in milliseconds > 0", duration.to_string());
                }
                // a trailing directory delimiter is stripped, as the reference does
                let pattern = path_format.trim().strip_suffix(delim).unwrap_or(path_format.trim()).to_owned();
                if pattern.is_empty() {
                    r.missing("path.format", "a Joda pattern such as 'year'=YYYY/'month'=MM/'day'=dd");
                    return None;
                }
                let format = match PathFormat::parse(&pattern) {
                    Ok(f) => f,
                    Err(e) => {
                        r.invalid("path.format", format!("a Joda-Time pattern ({e})"), pattern.as_str());
                        return None;
                    }
                };
                Some(Partitioner::Time { format, duration_ms: duration.max(1), zone: zone?, extractor: extractor? })
            }
            _ => {
                r.invalid(
                    "partitioner.class",
                    "DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, DailyPartitioner or HourlyPartitioner",
                    class.as_str(),
                );
                None
            }
        }
    }
}

/// `s3.credentials.provider.class` (the default chain's classes, or the assume-role provider with
/// `sts.role.*`) and the CAs of an HTTPS endpoint (the JVM trust store `KAFKA_OPTS` names).
fn credentials_and_trust(r: &mut ConfigReader<'_>, endpoint: Option<&str>) -> (Option<AssumeRole>, Option<Vec<u8>>) {
    let provider =
        r.string_or("s3.credentials.provider.class", "com.amazonaws.auth.DefaultAWSCredentialsProviderChain");
    let known_provider = provider.trim().is_empty()
        || [
            "DefaultAWSCredentialsProviderChain",
            "DefaultCredentialsProvider",
            "EnvironmentVariableCredentialsProvider",
            "ProfileCredentialsProvider",
            "InstanceProfileCredentialsProvider",
            "ContainerCredentialsProvider",
            "EC2ContainerCredentialsProviderWrapper",
            "WebIdentityTokenCredentialsProvider",
        ]
        .contains(&provider.trim().rsplit('.').next().unwrap_or(""));
    let assume_role_class = provider.trim() == "io.confluent.connect.s3.auth.AwsAssumeRoleCredentialsProvider";
    let assume_role = if assume_role_class {
        let arn = r.required("sts.role.arn", "the ARN of the role to assume (AwsAssumeRoleCredentialsProvider)");
        let session_name = r.string_or("sts.role.session.name", "sluice-s3-sink");
        let external_id = r.non_empty("sts.role.external.id");
        arn.map(|arn| AssumeRole { arn, session_name, external_id })
    } else {
        r.accept(&["sts.role.arn", "sts.role.session.name", "sts.role.external.id"]);
        None
    };
    if !known_provider && !assume_role_class {
        r.invalid(
            "s3.credentials.provider.class",
            "an AWS credentials provider of the default chain or io.confluent.connect.s3.auth.AwsAssumeRoleCredentialsProvider (custom Java classes cannot run here)",
            provider.as_str(),
        );
    }
    let ca_pem = match runtime::tls::jvm::trust_store(std::env::var("KAFKA_OPTS").ok().as_deref()) {
        Ok(certs) => certs.map(|c| runtime::tls::to_pem_certs(&c).into_bytes()),
        Err(why) => {
            r.invalid("store.url", format!("an endpoint whose CAs can be read ({why})"), endpoint.unwrap_or_default());
            None
        }
    };
    (assume_role, ca_pem)
}

/// The objects' file extension for `format` and its compression.
fn format_extension(format: Option<Format>, gzip: bool, parquet_codec: &str, bytearray_extension: &str) -> String {
    let ext_name = match format {
        Some(Format::Json) => "json",
        Some(Format::Avro) => "avro",
        Some(Format::Parquet) => "parquet",
        _ => "bytearray",
    };
    let codec = if parquet_codec == "uncompressed" { "none" } else { parquet_codec };
    extension(ext_name, gzip, codec, bytearray_extension)
}

/// `flush.size`: required, as in Confluent's connector.
fn flush_size(r: &mut ConfigReader<'_>) -> u64 {
    let flush_size = r.int_in("flush.size", 1, 1, i64::MAX) as u64;
    if !r.raw().entries.contains_key("flush.size") {
        r.missing("flush.size", "records per file");
    }
    flush_size
}

impl KeyLayout {
    fn parse(r: &mut ConfigReader<'_>) -> KeyLayout {
        KeyLayout {
            topics_dir: r.string_or("topics.dir", "topics"),
            directory_delim: r.string_or("directory.delim", "/"),
            file_delim: r.string_or("file.delim", "+"),
            pad: r.int_in("filename.offset.zero.pad.width", 10, 0, 64) as usize,
        }
    }
}

fn format_class(r: &mut ConfigReader<'_>) -> Option<Format> {
    let class =
        r.required("format.class", "io.confluent.connect.s3.format.json.JsonFormat (or Avro, Parquet, ByteArray)")?;
    let format = format_of(class.trim());
    if format.is_none() {
        r.invalid("format.class", "JsonFormat, AvroFormat, ParquetFormat or ByteArrayFormat", class.as_str());
    }
    format
}

/// `keys.format.class` (AvroFormat by default, as Confluent's).
fn keys_format(r: &mut ConfigReader<'_>) -> Option<Format> {
    let class = r.string_or("keys.format.class", "io.confluent.connect.s3.format.avro.AvroFormat");
    let format = format_of(class.trim());
    if format.is_none() {
        r.invalid("keys.format.class", "JsonFormat, AvroFormat, ParquetFormat or ByteArrayFormat", class.as_str());
    }
    format
}

/// `store.kafka.keys` and `store.kafka.headers`: each companion file's format and extension
/// (`ext` gives a format's own). `behavior.on.null.values=write` needs the keys files.
#[allow(clippy::type_complexity)]
fn companion_files(
    r: &mut ConfigReader<'_>,
    null_values: NullValues,
    ext: impl Fn(Format) -> String,
) -> (Option<(Format, String)>, Option<(Format, String)>) {
    let keys =
        r.bool("store.kafka.keys", false).then(|| keys_format(r)).flatten().map(|f| (f, format!(".keys{}", ext(f))));
    if null_values == NullValues::Write && keys.is_none() {
        r.invalid(
            "behavior.on.null.values",
            "fail or ignore, or write together with store.kafka.keys=true (a tombstone is stored as its key; \
             Confluent's connector fails every record without a keys file)",
            "write",
        );
    }
    let headers = r
        .bool("store.kafka.headers", false)
        .then(|| headers_format(r))
        .flatten()
        .map(|f| (f, format!(".headers{}", ext(f))));
    (keys, headers)
}

fn headers_format(r: &mut ConfigReader<'_>) -> Option<Format> {
    let class = r.string_or("headers.format.class", "io.confluent.connect.s3.format.avro.AvroFormat");
    match format_of(class.trim()) {
        // headers are a list of key/value records, which ByteArrayFormat cannot hold (Confluent's fails per record)
        Some(Format::ByteArray) | None => {
            r.invalid("headers.format.class", "AvroFormat, JsonFormat or ParquetFormat", class.as_str());
            None
        }
        format => format,
    }
}

/// `behavior.on.null.values`.
fn null_values(r: &mut ConfigReader<'_>) -> NullValues {
    match r.one_of("behavior.on.null.values", "fail", &["fail", "ignore", "write"]) {
        "ignore" => NullValues::Ignore,
        "write" => NullValues::Write,
        _ => NullValues::Fail,
    }
}

/// Keys accepted as they are, and keys whose other values are refused.
fn refuse_unsupported(r: &mut ConfigReader<'_>) {
    r.accept(ACCEPTED);
    for (key, default) in REFUSED {
        let v = r.string_or(key, default);
        if !v.trim().eq_ignore_ascii_case(default) {
            r.invalid(key, format!("{default:?} (other values are not supported yet)"), v.as_str());
        }
    }
}

/// `timezone`, required with `rotate.schedule.interval.ms`.
fn schedule_zone(r: &mut ConfigReader<'_>) -> Option<Tz> {
    match r.raw().get("timezone").map(str::trim).unwrap_or("") {
        "" => {
            r.missing("timezone", "a time zone such as UTC (rotate.schedule.interval.ms needs one)");
            None
        }
        z => z.parse::<Tz>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<S3SinkConfig, Vec<String>> {
        runtime::testkit::parse_config("s3.properties", pairs, S3SinkConfig::parse)
    }

    #[test]
    fn the_assume_role_provider_and_its_keys() {
        let class = "io.confluent.connect.s3.auth.AwsAssumeRoleCredentialsProvider";
        let c = parse(&[
            ("s3.bucket.name", "b"),
            ("flush.size", "1"),
            ("format.class", "JsonFormat"),
            ("s3.credentials.provider.class", class),
            ("sts.role.arn", "arn:aws:iam::123456789012:role/archive"),
            ("sts.role.external.id", "ext-1"),
        ])
        .unwrap();
        assert_eq!(
            c.assume_role,
            Some(AssumeRole {
                arn: "arn:aws:iam::123456789012:role/archive".into(),
                session_name: "sluice-s3-sink".into(),
                external_id: Some("ext-1".into())
            })
        );
        let e = parse(&[("s3.bucket.name", "b"), ("flush.size", "1"), ("s3.credentials.provider.class", class)])
            .unwrap_err();
        assert!(e.iter().any(|e| e.contains("sts.role.arn: missing required key")), "{e:?}");
    }

    #[test]
    fn the_users_confluent_file_parses() {
        let c = parse(&[
            ("s3.bucket.name", "archive"),
            ("s3.region", "us-east-1"),
            ("store.url", "http://127.0.0.1:8333"),
            ("flush.size", "3"),
            ("partitioner.class", "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"),
            ("path.format", "'year'=YYYY/'month'=MM/'day'=dd/"),
            ("partition.duration.ms", "3600000"),
            ("locale", "en-US"),
            ("timezone", "UTC"),
            ("timestamp.extractor", "Record"),
            ("format.class", "io.confluent.connect.s3.format.json.JsonFormat"),
            ("s3.compression.type", "gzip"),
        ])
        .unwrap();
        assert_eq!((c.flush_size, c.extension.as_str(), c.part_size), (3, ".json.gz", 26_214_400));
        let Partitioner::Time { format, duration_ms, .. } = &c.partitioner else { panic!("time-based") };
        assert_eq!(
            (format.format(1_700_000_000_000, Tz::UTC), *duration_ms),
            ("year=2023/month=11/day=14".into(), 3_600_000)
        );
        let parquet =
            parse(&[("s3.bucket.name", "b"), ("flush.size", "1"), ("format.class", "ParquetFormat")]).unwrap();
        assert_eq!((parquet.extension.as_str(), parquet.partitioner), (".snappy.parquet", Partitioner::Default));
    }

    #[test]
    fn every_problem_at_once() {
        let errors = parse(&[
            ("format.class", "CsvFormat"),
            ("partitioner.class", "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"),
            ("path.format", "YYYY/qq"),
            ("s3.part.size", "1024"),
        ])
        .unwrap_err();
        let text = errors.join("\n");
        for expected in [
            "s3.bucket.name: missing required key",
            "flush.size: missing required key",
            "s3.properties:1: format.class: expected JsonFormat",
            "s3.properties:3: path.format: expected a Joda-Time pattern (illegal pattern component 'q' at position 5",
            "s3.properties:4: s3.part.size: expected an integer in [5242880,",
            "locale: missing required key",
            "timezone: missing required key",
            "s3.properties: partition.duration.ms: expected a bucket length in milliseconds > 0, got \"-1\"",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert_eq!(unescape("\\r\\n|\\t"), b"\r\n|\t");
    }
}
