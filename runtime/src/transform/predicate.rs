//! Predicates (KIP-585): `predicates=a`, `predicates.a.type=…`, then
//! `transforms.<t>.predicate=a` (and `.negate=true`) applies transform `t` only to the records
//! the predicate holds for. Built in: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use std::collections::BTreeMap;

use regex::Regex;

use crate::config::ConfigReader;
use crate::record::ConnectRecord;

const PACKAGE: &str = "org.apache.kafka.connect.transforms.predicates.";

#[derive(Debug, Clone)]
pub enum Predicate {
    /// `pattern` matches the whole topic name.
    TopicNameMatches(Regex),
    /// A header named `name` is present.
    HasHeaderKey(String),
    /// The value is null.
    RecordIsTombstone,
}

impl Predicate {
    pub fn test<R: ConnectRecord>(&self, r: &mut R) -> bool {
        match self {
            Predicate::TopicNameMatches(re) => re.is_match(r.topic()),
            Predicate::HasHeaderKey(name) => r.has_header(name),
            Predicate::RecordIsTombstone => r.value_mut().1.is_null(),
        }
    }

    /// Every predicate declared in `predicates`, by alias.
    pub fn parse_all(reader: &mut ConfigReader<'_>) -> Option<BTreeMap<String, Predicate>> {
        let mut out = BTreeMap::new();
        let mut ok = true;
        for alias in reader.list("predicates") {
            let prefix = format!("predicates.{alias}.");
            let section = reader.section(&prefix);
            let mut r = ConfigReader::new(&section);
            let predicate = match r.required(
                "type",
                "a predicate class, e.g. org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ) {
                None => None,
                Some(class) => match class.strip_prefix(PACKAGE).unwrap_or(&class) {
                    "TopicNameMatches" => r
                        .required("pattern", "a regular expression")
                        .and_then(|p| r.whole_match_regex("pattern", &p))
                        .map(Predicate::TopicNameMatches),
                    "HasHeaderKey" => r.required("name", "a header name").map(Predicate::HasHeaderKey),
                    "RecordIsTombstone" => Some(Predicate::RecordIsTombstone),
                    _ => {
                        r.invalid("type", "one of TopicNameMatches, HasHeaderKey, RecordIsTombstone (org.apache.kafka.connect.transforms.predicates.*)", class.as_str());
                        None
                    }
                },
            };
            let (errors, _) = r.finish();
            ok &= errors.is_empty();
            reader.absorb(&prefix, errors);
            if let Some(p) = predicate {
                out.insert(alias, p);
            }
        }
        ok.then_some(out)
    }
}
