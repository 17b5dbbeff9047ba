//! `io.confluent.connect.s3.format.json.JsonFormat`: one value per line. A struct is written by a
//! JsonConverter with `schemas.enable=false` and `decimal.format=json.decimal.format`; other
//! values (maps, strings, numbers) as their JSON; each is followed by `\n`.

use runtime::convert::json::{DecimalFormat, JsonConverter};
use runtime::SinkRecord;

pub struct JsonLines {
    converter: JsonConverter,
}

impl JsonLines {
    pub fn new(decimal_format: DecimalFormat) -> JsonLines {
        let mut converter = JsonConverter::new(false);
        converter.decimal_format = decimal_format;
        JsonLines { converter }
    }

    /// Appends the record's value and a line separator; a value that cannot be written is an
    /// error for the caller's `errors.tolerance`.
    pub fn write(&mut self, record: &SinkRecord, out: &mut Vec<u8>) -> Result<(), String> {
        let start = out.len();
        match self.converter.encode(record.value_schema.as_ref(), &record.value, out) {
            Ok(true) => {
                out.push(b'\n');
                Ok(())
            }
            Ok(false) => {
                out.truncate(start);
                out.extend_from_slice(b"null\n");
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(format!("{}-{}@{}: {e}", record.topic, record.kafka_partition, record.kafka_offset))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;
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
        let mut out = Vec::new();
        JsonLines::new(DecimalFormat::Base64).write(&r, &mut out).unwrap();
        JsonLines::new(DecimalFormat::Numeric).write(&r, &mut out).unwrap();
        let text = sink_record("t", 0, 6, None, Value::String("plain".into()));
        JsonLines::new(DecimalFormat::Base64).write(&text, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":7,\"amount\":\"MDk=\",\"note\":null}\n{\"id\":7,\"amount\":123.45,\"note\":null}\n\"plain\"\n"
        );
    }
}
