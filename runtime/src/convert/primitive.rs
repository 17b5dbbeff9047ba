//! Kafka's converters for one primitive (`org.apache.kafka.connect.converters.*`): the number
//! converters (Short, Integer, Long, Float, Double: Kafka's fixed-width big-endian serializers)
//! and BooleanConverter (one byte, 1 or 0), as Kafka's `NumberConverter` and `BooleanConverter`
//! behave: null is null, the value must be exactly the converter's type, reading gives an
//! optional schema of that type, and the errors carry Kafka's wording.

use super::ConvertError;
use crate::data::{Schema, Type, Value};

/// Which primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Short,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
}

impl Primitive {
    /// From the class's simple name.
    pub fn from_class(short: &str) -> Option<Primitive> {
        Some(match short {
            "ShortConverter" => Primitive::Short,
            "IntegerConverter" => Primitive::Integer,
            "LongConverter" => Primitive::Long,
            "FloatConverter" => Primitive::Float,
            "DoubleConverter" => Primitive::Double,
            "BooleanConverter" => Primitive::Boolean,
            _ => return None,
        })
    }

    pub fn java_class(self) -> &'static str {
        match self {
            Primitive::Short => "org.apache.kafka.connect.converters.ShortConverter",
            Primitive::Integer => "org.apache.kafka.connect.converters.IntegerConverter",
            Primitive::Long => "org.apache.kafka.connect.converters.LongConverter",
            Primitive::Float => "org.apache.kafka.connect.converters.FloatConverter",
            Primitive::Double => "org.apache.kafka.connect.converters.DoubleConverter",
            Primitive::Boolean => "org.apache.kafka.connect.converters.BooleanConverter",
        }
    }

    /// Kafka's name of the type in its messages (`NumberConverter`'s `typeName`).
    fn type_name(self) -> &'static str {
        match self {
            Primitive::Short => "short",
            Primitive::Integer => "integer",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Boolean => "boolean",
        }
    }

    fn ty(self) -> Type {
        match self {
            Primitive::Short => Type::Int16,
            Primitive::Integer => Type::Int32,
            Primitive::Long => Type::Int64,
            Primitive::Float => Type::Float32,
            Primitive::Double => Type::Float64,
            Primitive::Boolean => Type::Boolean,
        }
    }

    /// Connect data → bytes into `out`; `Ok(false)` for null.
    pub fn encode(self, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) -> Result<bool, ConvertError> {
        if self == Primitive::Boolean {
            if let Some(s) = schema.filter(|s| s.ty != Type::Boolean) {
                let java_type = format!("{:?}", s.ty).to_uppercase();
                return Err(data(format!("Invalid schema type for BooleanConverter: {java_type}")));
            }
        }
        match (self, value) {
            (_, Value::Null) => return Ok(false),
            (Primitive::Short, Value::Int16(v)) => out.extend_from_slice(&v.to_be_bytes()),
            (Primitive::Integer, Value::Int32(v)) => out.extend_from_slice(&v.to_be_bytes()),
            (Primitive::Long, Value::Int64(v)) => out.extend_from_slice(&v.to_be_bytes()),
            (Primitive::Float, Value::Float32(v)) => out.extend_from_slice(&v.to_be_bytes()),
            (Primitive::Double, Value::Float64(v)) => out.extend_from_slice(&v.to_be_bytes()),
            (Primitive::Boolean, Value::Boolean(v)) => out.push(u8::from(*v)),
            (Primitive::Boolean, other) => {
                return Err(data(format!(
                    "BooleanConverter is not compatible with objects of type class {}",
                    java_type(other)
                )))
            }
            (p, other) => {
                return Err(data(format!(
                    "Failed to serialize to {} (was class {}): ",
                    p.type_name(),
                    java_type(other)
                )))
            }
        }
        Ok(true)
    }

    /// Bytes → Connect data, with the optional schema of the type.
    pub fn decode(self, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value), ConvertError> {
        let schema = Some(Schema::primitive(self.ty(), true));
        let Some(b) = bytes else { return Ok((schema, Value::Null)) };
        let size = match self {
            Primitive::Short => 2,
            Primitive::Integer | Primitive::Float => 4,
            Primitive::Long | Primitive::Double => 8,
            Primitive::Boolean => 1,
        };
        let deserializer = match self {
            Primitive::Short => "ShortDeserializer",
            Primitive::Integer => "IntegerDeserializer",
            Primitive::Long => "LongDeserializer",
            Primitive::Float => "FloatDeserializer",
            Primitive::Double => "DoubleDeserializer",
            Primitive::Boolean => "BooleanDeserializer",
        };
        if b.len() != size {
            return Err(data(format!(
                "Failed to deserialize {}: Size of data received by {deserializer} is not {size}",
                self.type_name()
            )));
        }
        let value = match self {
            Primitive::Short => Value::Int16(i16::from_be_bytes([b[0], b[1]])),
            Primitive::Integer => Value::Int32(i32::from_be_bytes(b.try_into().expect("4 bytes"))),
            Primitive::Long => Value::Int64(i64::from_be_bytes(b.try_into().expect("8 bytes"))),
            Primitive::Float => Value::Float32(f32::from_be_bytes(b.try_into().expect("4 bytes"))),
            Primitive::Double => Value::Float64(f64::from_be_bytes(b.try_into().expect("8 bytes"))),
            Primitive::Boolean => match b[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => {
                    return Err(data(format!(
                        "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {}",
                        other as i8
                    )))
                }
            },
        };
        Ok((schema, value))
    }
}

fn data(message: String) -> ConvertError {
    ConvertError::Data { message }
}

/// The Java class of a value, as Kafka's messages name it.
fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) | Value::Date(_) | Value::Time(_) => "java.lang.Integer",
        Value::Int64(_) | Value::Timestamp(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Decimal(..) => "java.math.BigDecimal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(p: Primitive, v: Value) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(p.encode(None, &v, &mut out).unwrap());
        out
    }

    /// Kafka's serializers: big-endian, fixed width; Boolean one byte.
    #[test]
    fn bytes_are_kafkas_serializers() {
        assert_eq!(bytes(Primitive::Integer, Value::Int32(258)), [0, 0, 1, 2]);
        assert_eq!(bytes(Primitive::Long, Value::Int64(-2)), [0xff; 7].into_iter().chain([0xfe]).collect::<Vec<_>>());
        assert_eq!(bytes(Primitive::Short, Value::Int16(1)), [0, 1]);
        assert_eq!(bytes(Primitive::Float, Value::Float32(1.0)), [0x3f, 0x80, 0, 0]);
        assert_eq!(bytes(Primitive::Double, Value::Float64(-2.5)), [0xc0, 0x04, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes(Primitive::Boolean, Value::Boolean(true)), [1]);
        assert!(!Primitive::Integer.encode(None, &Value::Null, &mut Vec::new()).unwrap());
        let (schema, value) = Primitive::Integer.decode(None).unwrap();
        assert_eq!((schema.unwrap().optional, value), (true, Value::Null));
    }

    #[test]
    fn the_wrong_type_or_size_fails_with_kafkas_words() {
        let e = Primitive::Integer.encode(None, &Value::Int64(1), &mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "Failed to serialize to integer (was class java.lang.Long): ");
        let e = Primitive::Long.decode(Some(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.to_string(), "Failed to deserialize long: Size of data received by LongDeserializer is not 8");
        let e = Primitive::Boolean.decode(Some(&[2])).unwrap_err();
        assert!(e.to_string().contains("Unexpected byte received by BooleanDeserializer: 2"), "{e}");
        let s = Schema::primitive(Type::String, false);
        let e = Primitive::Boolean.encode(Some(&s), &Value::Boolean(true), &mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "Invalid schema type for BooleanConverter: STRING");
    }

    proptest! {
        #[test]
        fn numbers_round_trip(i in any::<i32>(), l in any::<i64>(), s in any::<i16>(), d in any::<f64>()) {
            for (p, v) in [
                (Primitive::Integer, Value::Int32(i)),
                (Primitive::Long, Value::Int64(l)),
                (Primitive::Short, Value::Int16(s)),
                (Primitive::Double, Value::Float64(d)),
            ] {
                let (_, back) = p.decode(Some(&bytes(p, v.clone()))).unwrap();
                match (&back, &v) {
                    (Value::Float64(a), Value::Float64(b)) => prop_assert_eq!(a.to_bits(), b.to_bits()),
                    _ => prop_assert_eq!(back, v),
                }
            }
        }
    }
}
