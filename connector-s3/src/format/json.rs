//! `io.confluent.connect.s3.format.json.JsonFormat`: one value per line. A struct is written by a
//! JsonConverter with `schemas.enable=false` and `decimal.format=json.decimal.format`; other
//! values (maps, strings, numbers) as their JSON; each is followed by `\n`.

use runtime::convert::json::JsonConverter;
use runtime::SinkRecord;

use super::{at, ByteSink, FormatError, FormatSettings};

pub struct JsonLines {
    converter: JsonConverter,
    line: Vec<u8>,
    pub(crate) out: ByteSink,
}

impl JsonLines {
    pub fn new(settings: &FormatSettings) -> JsonLines {
        let mut converter = JsonConverter::new(false);
        converter.decimal_format = settings.json_decimal;
        JsonLines { converter, line: Vec::new(), out: ByteSink::new(settings.gzip, settings.gzip_level) }
    }

    /// Appends the record's value and a line separator.
    pub fn write(&mut self, record: &SinkRecord) -> Result<(), FormatError> {
        self.line.clear();
        match self.converter.encode(record.value_schema.as_ref(), &record.value, &mut self.line) {
            Ok(true) => self.line.push(b'\n'),
            Ok(false) => {
                self.line.clear();
                self.line.extend_from_slice(b"null\n");
            }
            Err(e) => return Err(FormatError::Record { at: at(record), reason: e.to_string() }),
        }
        self.out.write(&self.line);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Format;
    use num_bigint::BigInt;
    use runtime::convert::DecimalFormat;
    use runtime::data::{Schema, Struct, Type, Value};
    use runtime::testkit::sink_record;

    #[test]
    fn lines_of_payloads_without_schemas() {
        let schema = Schema::builder(Type::Struct)
            .name("orders")
            .field("id", Schema::primitive(Type::Int32, false))
            .field("amount", Schema::decimal(2).build())
            .field("note", Schema::primitive(Type::String, true))
            .build();
        let mut s = Struct::new(schema.clone());
        s.put("id", Value::Int32(7)).put("amount", Value::Decimal(BigInt::from(12345), 2));
        let r = sink_record("orders", 0, 5, Some(schema), Value::Struct(s));
        let text = sink_record("t", 0, 6, None, Value::String("plain".into()));
        let mut base64 = JsonLines::new(&settings(DecimalFormat::Base64, false));
        base64.write(&r).unwrap();
        let mut out = base64.out.drain();
        let mut numeric = JsonLines::new(&settings(DecimalFormat::Numeric, false));
        numeric.write(&r).unwrap();
        numeric.write(&text).unwrap();
        out.extend(numeric.out.finish());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":7,\"amount\":\"MDk=\",\"note\":null}\n{\"id\":7,\"amount\":123.45,\"note\":null}\n\"plain\"\n"
        );
    }

    pub(crate) fn settings(json_decimal: DecimalFormat, gzip: bool) -> FormatSettings {
        FormatSettings {
            format: Format::Json,
            gzip,
            gzip_level: -1,
            json_decimal,
            bytearray_separator: b"\n".to_vec(),
            avro_codec: "null".into(),
            parquet_codec: "none".into(),
            parquet_row_group_bytes: 1 << 20,
            connect_meta_data: true,
            keys: None,
            headers: None,
        }
    }

    #[test]
    fn gzip_lines_decompress_to_the_same_text_across_drained_pieces() {
        use std::io::Read;
        let mut f = JsonLines::new(&settings(DecimalFormat::Base64, true));
        let mut file = Vec::new();
        for i in 0..2000 {
            f.write(&sink_record("t", 0, i, None, Value::Int64(i))).unwrap();
            if i % 500 == 0 {
                file.extend(f.out.drain());
            }
        }
        file.extend(f.out.finish());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&file[..]).read_to_string(&mut text).unwrap();
        let expected: String = (0..2000).map(|i| format!("{i}\n")).collect();
        assert_eq!(text, expected);
    }
}
