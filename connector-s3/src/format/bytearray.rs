//! `io.confluent.connect.s3.format.bytearray.ByteArrayFormat`: each value's raw bytes (what the
//! ByteArrayConverter gives) followed by `format.bytearray.separator`; gzip optional.

use runtime::data::Value;
use runtime::SinkRecord;

use super::{at, ByteSink, FormatError, FormatSettings};

pub struct ByteArrayFile {
    separator: Vec<u8>,
    pub(crate) out: ByteSink,
}

impl ByteArrayFile {
    pub fn new(settings: &FormatSettings) -> ByteArrayFile {
        ByteArrayFile {
            separator: settings.bytearray_separator.clone(),
            out: ByteSink::new(settings.gzip, settings.gzip_level),
        }
    }

    pub fn write(&mut self, record: &SinkRecord) -> Result<(), FormatError> {
        match &record.value {
            Value::Bytes(b) => self.out.write(b),
            // a StringConverter topic written as bytes: its UTF-8, as Java's String.getBytes
            Value::String(s) => self.out.write(s.as_bytes()),
            other => {
                return Err(FormatError::Record {
                    at: at(record),
                    reason: format!(
                        "ByteArrayFormat writes bytes values (value.converter=org.apache.kafka.connect.converters.ByteArrayConverter), got {}",
                        kind(other)
                    ),
                })
            }
        }
        self.out.write(&self.separator);
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Struct(_) => "a struct",
        Value::Map(_) => "a map",
        Value::Array(_) => "an array",
        _ => "a primitive value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;
    use runtime::testkit::sink_record;

    #[test]
    fn raw_bytes_with_the_separator() {
        let mut s = crate::format::json::tests::settings(runtime::convert::DecimalFormat::Base64, false);
        s.format = Format::ByteArray;
        s.bytearray_separator = b"|".to_vec();
        let mut f = ByteArrayFile::new(&s);
        f.write(&sink_record("t", 0, 0, None, Value::Bytes(vec![0, 1, 2]))).unwrap();
        f.write(&sink_record("t", 0, 1, None, Value::String("ab".into()))).unwrap();
        assert!(f.write(&sink_record("t", 0, 2, None, Value::Int32(1))).is_err());
        assert_eq!(f.out.finish(), b"\x00\x01\x02|ab|");
    }
}
