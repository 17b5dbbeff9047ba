//! `InsertHeader` and `DropHeaders` (KIP-145, transforms-converters.md §1.2(j)).
//!
//! `InsertHeader` adds `header` with `value.literal`'s text as its bytes: what Kafka's default
//! `SimpleHeaderConverter` writes for the value `Values.parseString` infers from the literal
//! (a number, a boolean or a string all come back as the literal's text). `DropHeaders` removes
//! every header whose key is in `headers`.

use crate::config::ConfigReader;
use crate::record::{ConnectRecord, Header};

#[derive(Debug, Clone)]
pub struct InsertHeader {
    header: String,
    literal: String,
}

impl InsertHeader {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<InsertHeader> {
        let header = r.required("header", "the name of the header to add");
        let literal = r.required("value.literal", "the header's value");
        Some(InsertHeader { header: header?, literal: literal? })
    }

    pub fn apply<R: ConnectRecord>(&self, r: &mut R) {
        r.headers_mut().push(Header { key: self.header.clone(), value: Some(self.literal.as_bytes().to_vec()) });
    }
}

#[derive(Debug, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<DropHeaders> {
        let headers = r.list("headers");
        if headers.is_empty() {
            r.missing("headers", "a non-empty list of header names");
            return None;
        }
        Some(DropHeaders { headers })
    }

    pub fn apply<R: ConnectRecord>(&self, r: &mut R) {
        r.headers_mut().retain(|h| !self.headers.contains(&h.key));
    }
}
