//! Single message transforms (kafka-connect-runtime.md §8): `transforms=a,b` with
//! `transforms.<alias>.type` and the transform's own keys, applied in list order, between the
//! task and the converters (sources) or between the converters and the task (sinks).
//!
//! Built in: `InsertField`, `ReplaceField`, `ExtractField`, `TimestampConverter`, `Cast`, `MaskField`, `Flatten`, `HoistField`,
//! `SetSchemaMetadata`, `HeaderFrom` (each `$Key`/`$Value`), `ValueToKey`, `RegexRouter`, `TimestampRouter`,
//! `Filter`, `InsertHeader`, `DropHeaders`, with the predicates of [`predicate`], and Debezium's
//! `ExtractNewRecordState` ([`unwrap`]) and `ByLogicalTableRouter`. Other
//! transform classes are refused at start: a transform silently skipped would change the data.

mod cast;
mod field_path;
mod fields;
mod flatten;
mod headers;
mod hoist;
mod logical_table;
mod mask;
mod metadata;
pub mod predicate;
mod router;
mod timestamp;
mod unwrap;

use std::fmt;

pub use cast::Cast;
pub use fields::{ExtractField, InsertField, ReplaceField, ValueToKey};
pub use flatten::Flatten;
pub use headers::{DropHeaders, HeaderFrom, InsertHeader};
pub use hoist::HoistField;
pub use logical_table::ByLogicalTableRouter;
pub use mask::MaskField;
pub use metadata::SetSchemaMetadata;
pub use router::{java_date_format, JavaReplacement, RegexRouter, SimpleDateFormat, TimestampRouter};
pub use timestamp::TimestampConverter;
pub use unwrap::ExtractNewRecordState;

use crate::config::{ConfigReader, ConnectorKind};
use crate::convert::HeaderConverter;
use crate::data::{Schema, Value};
use crate::record::ConnectRecord;
use predicate::Predicate;

const PACKAGE: &str = "org.apache.kafka.connect.transforms.";

/// A transform failed on a record (a bad record, for `errors.tolerance`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transform {alias} ({class}): {message}")]
pub struct TransformError {
    pub alias: String,
    pub class: String,
    pub message: String,
}

/// What a `$Key` / `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    fn of<R: ConnectRecord>(self, r: &mut R) -> (&mut Option<Schema>, &mut Value) {
        match self {
            Side::Key => r.key_mut(),
            Side::Value => r.value_mut(),
        }
    }
}

/// One configured transform.
#[derive(Debug, Clone)]
pub enum Transform {
    InsertField(InsertField),
    ReplaceField(ReplaceField),
    ExtractField(ExtractField),
    ValueToKey(ValueToKey),
    RegexRouter(RegexRouter),
    TimestampRouter(TimestampRouter),
    MaskField(MaskField),
    Flatten(Flatten),
    Cast(Cast),
    TimestampConverter(TimestampConverter),
    HoistField(HoistField),
    SetSchemaMetadata(SetSchemaMetadata),
    InsertHeader(InsertHeader),
    DropHeaders(DropHeaders),
    HeaderFrom(HeaderFrom),
    /// Debezium's `ByLogicalTableRouter`.
    ByLogicalTableRouter(ByLogicalTableRouter),
    /// Debezium's `ExtractNewRecordState`.
    ExtractNewRecordState(ExtractNewRecordState),
    /// `Filter`: drops the record (usually with a predicate).
    Filter,
}

impl Transform {
    /// `Ok(false)` drops the record; `Err(message)` on a record it cannot handle.
    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<bool, String> {
        if let Transform::Filter = self {
            return Ok(false);
        }
        match self {
            Transform::InsertField(t) => t.apply(r),
            Transform::ReplaceField(t) => t.apply(r),
            Transform::ExtractField(t) => t.apply(r),
            Transform::ValueToKey(t) => t.apply(r),
            Transform::RegexRouter(t) => {
                t.apply(r);
                Ok(())
            }
            Transform::TimestampRouter(t) => t.apply(r),
            Transform::MaskField(t) => t.apply(r),
            Transform::Flatten(t) => t.apply(r),
            Transform::Cast(t) => t.apply(r),
            Transform::TimestampConverter(t) => t.apply(r),
            Transform::HoistField(t) => t.apply(r),
            Transform::SetSchemaMetadata(t) => t.apply(r),
            Transform::InsertHeader(t) => t.apply(r),
            Transform::DropHeaders(t) => {
                t.apply(r);
                Ok(())
            }
            Transform::HeaderFrom(t) => t.apply(r),
            Transform::ByLogicalTableRouter(t) => t.apply(r),
            Transform::ExtractNewRecordState(t) => return t.apply(r),
            Transform::Filter => Ok(()),
        }
        .map(|()| true)
    }
}

#[derive(Clone)]
struct Step {
    alias: String,
    class: String,
    transform: Transform,
    /// Applies only when the predicate holds (or, negated, does not).
    predicate: Option<(Predicate, bool)>,
}

/// The connector's transform chain (each task works on its own clone).
#[derive(Default, Clone)]
pub struct Transforms {
    steps: Vec<Step>,
}

impl fmt::Debug for Transforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.steps.iter().map(|s| (&s.alias, &s.class))).finish()
    }
}

impl Transforms {
    /// Reads `transforms` and every `transforms.<alias>.*` key, recording problems in `reader`.
    pub fn parse(reader: &mut ConfigReader<'_>, kind: ConnectorKind) -> Option<Transforms> {
        let aliases = reader.list("transforms");
        let predicates = Predicate::parse_all(reader);
        let mut ok = predicates.is_some();
        let predicates = predicates.unwrap_or_default();
        let mut steps = Vec::new();
        for alias in aliases {
            let prefix = format!("transforms.{alias}.");
            let section = reader.section(&prefix);
            let mut r = ConfigReader::new(&section);
            let Some(class) =
                r.required("type", "a transform class, e.g. org.apache.kafka.connect.transforms.InsertField$Value")
            else {
                let (errors, _) = r.finish();
                reader.absorb(&prefix, errors);
                ok = false;
                continue;
            };
            let negate = r.bool("negate", false);
            let predicate = match r.non_empty("predicate") {
                None => None,
                Some(name) => match predicates.get(&name) {
                    Some(p) => Some((p.clone(), negate)),
                    None => {
                        r.invalid("predicate", "the alias of a predicate listed in predicates", name);
                        None
                    }
                },
            };
            let short = class.strip_prefix(PACKAGE).unwrap_or(&class);
            let transform = match short {
                "InsertField$Key" => InsertField::parse(&mut r, Side::Key, kind).map(Transform::InsertField),
                "InsertField$Value" => InsertField::parse(&mut r, Side::Value, kind).map(Transform::InsertField),
                "ReplaceField$Key" => ReplaceField::parse(&mut r, Side::Key).map(Transform::ReplaceField),
                "ReplaceField$Value" => ReplaceField::parse(&mut r, Side::Value).map(Transform::ReplaceField),
                "ExtractField$Key" => ExtractField::parse(&mut r, Side::Key).map(Transform::ExtractField),
                "ExtractField$Value" => ExtractField::parse(&mut r, Side::Value).map(Transform::ExtractField),
                "ValueToKey" => ValueToKey::parse(&mut r).map(Transform::ValueToKey),
                "RegexRouter" => RegexRouter::parse(&mut r).map(Transform::RegexRouter),
                "TimestampRouter" => TimestampRouter::parse(&mut r).map(Transform::TimestampRouter),
                "Filter" => Some(Transform::Filter),
                "MaskField$Key" => MaskField::parse(&mut r, Side::Key).map(Transform::MaskField),
                "MaskField$Value" => MaskField::parse(&mut r, Side::Value).map(Transform::MaskField),
                "TimestampConverter$Key" => {
                    TimestampConverter::parse(&mut r, Side::Key).map(Transform::TimestampConverter)
                }
                "TimestampConverter$Value" => {
                    TimestampConverter::parse(&mut r, Side::Value).map(Transform::TimestampConverter)
                }
                "Cast$Key" => Cast::parse(&mut r, Side::Key).map(Transform::Cast),
                "Cast$Value" => Cast::parse(&mut r, Side::Value).map(Transform::Cast),
                "Flatten$Key" => Flatten::parse(&mut r, Side::Key).map(Transform::Flatten),
                "Flatten$Value" => Flatten::parse(&mut r, Side::Value).map(Transform::Flatten),
                "HoistField$Key" => HoistField::parse(&mut r, Side::Key).map(Transform::HoistField),
                "HoistField$Value" => HoistField::parse(&mut r, Side::Value).map(Transform::HoistField),
                "SetSchemaMetadata$Key" => {
                    SetSchemaMetadata::parse(&mut r, Side::Key).map(Transform::SetSchemaMetadata)
                }
                "SetSchemaMetadata$Value" => {
                    SetSchemaMetadata::parse(&mut r, Side::Value).map(Transform::SetSchemaMetadata)
                }
                "InsertHeader" => InsertHeader::parse(&mut r).map(Transform::InsertHeader),
                "DropHeaders" => DropHeaders::parse(&mut r).map(Transform::DropHeaders),
                "HeaderFrom$Key" => HeaderFrom::parse(&mut r, Side::Key).map(Transform::HeaderFrom),
                "HeaderFrom$Value" => HeaderFrom::parse(&mut r, Side::Value).map(Transform::HeaderFrom),
                logical_table::CLASS => ByLogicalTableRouter::parse(&mut r).map(Transform::ByLogicalTableRouter),
                unwrap::CLASS => ExtractNewRecordState::parse(&mut r).map(Transform::ExtractNewRecordState),
                _ => {
                    r.invalid(
                        "type",
                        "one of InsertField, ReplaceField, ExtractField, TimestampConverter, Cast, MaskField, Flatten, HoistField, SetSchemaMetadata, HeaderFrom (each $Key/$Value), ValueToKey, RegexRouter, TimestampRouter, Filter, InsertHeader, DropHeaders (org.apache.kafka.connect.transforms.*), io.debezium.transforms.ExtractNewRecordState, io.debezium.transforms.ByLogicalTableRouter",
                        class.as_str(),
                    );
                    None
                }
            };
            let (errors, unknown) = r.finish();
            for u in unknown {
                tracing::warn!("{}: {prefix}{}: unknown key, ignored", reader.raw().origin, u.key);
            }
            ok &= errors.is_empty();
            reader.absorb(&prefix, errors);
            if let Some(transform) = transform {
                let class = if class.contains('.') { class.clone() } else { format!("{PACKAGE}{class}") };
                steps.push(Step { alias, class, transform, predicate });
            }
        }
        ok.then_some(Transforms { steps })
    }

    /// Sets how the transforms that make headers (`InsertHeader`, `HeaderFrom`, Debezium's
    /// `add.headers`) write their values: the connector's `header.converter`, or the worker's.
    pub fn set_header_converter(&mut self, converter: HeaderConverter) {
        for step in &mut self.steps {
            match &mut step.transform {
                Transform::InsertHeader(t) => t.header_converter = converter,
                Transform::HeaderFrom(t) => t.header_converter = converter,
                Transform::ExtractNewRecordState(t) => t.header_converter = converter,
                _ => {}
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Applies every transform in order; `Ok(false)` when one dropped the record.
    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<bool, TransformError> {
        for step in &mut self.steps {
            if let Some((predicate, negate)) = &step.predicate {
                if predicate.test(r) == *negate {
                    continue;
                }
            }
            let keep = step.transform.apply(r).map_err(|message| TransformError {
                alias: step.alias.clone(),
                class: step.class.clone(),
                message,
            })?;
            if !keep {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
