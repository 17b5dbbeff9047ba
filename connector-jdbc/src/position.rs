//! Offsets as the reference writes them (jdbc-source.md §4): partitions
//! `{"protocol":"1","table":"<fqn>"}` (legacy `{"table":"<name>"}` still read, query mode
//! `{"query":"query"}`), values `{"timestamp_nanos":…,"incrementing":…,"timestamp":…}` in Java's
//! key order with only the fields of the mode.

use serde::{Deserialize, Serialize};

/// A source partition. Variants are tried in order when reading, so a v1 map is never taken
/// for the legacy one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JdbcPartition {
    /// Protocol v1: `{"protocol":"1","table":"shop.orders"}`.
    Table { protocol: String, table: String },
    /// Query mode: `{"query":"query"}`.
    Query { query: String },
    /// Protocol v0 (read at start, never written): `{"table":"orders"}`.
    Legacy { table: String },
}

impl JdbcPartition {
    pub fn table(fqn: impl Into<String>) -> Self {
        JdbcPartition::Table { protocol: "1".into(), table: fqn.into() }
    }
    pub fn query() -> Self {
        JdbcPartition::Query { query: "query".into() }
    }
}

/// An instant with nanosecond precision, as a JDBC `Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    pub seconds: i64,
    pub nanos: u32,
}

impl Instant {
    pub const EPOCH: Instant = Instant { seconds: 0, nanos: 0 };

    pub fn from_millis(ms: i64) -> Self {
        Instant { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as u32 }
    }

    /// Epoch milliseconds including the millisecond part (`Timestamp.getTime`).
    pub fn millis(self) -> i64 {
        self.seconds * 1000 + (self.nanos / 1_000_000) as i64
    }
}

/// `{"timestamp_nanos":N,"incrementing":N,"timestamp":ms}`, the fields of the mode only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JdbcOffset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_nanos: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incrementing: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

impl JdbcOffset {
    pub fn new(timestamp: Option<Instant>, incrementing: Option<i64>) -> Self {
        JdbcOffset {
            timestamp_nanos: timestamp.map(|t| t.nanos),
            incrementing,
            timestamp: timestamp.map(Instant::millis),
        }
    }

    /// The timestamp to resume from: `timestamp` ms with its fraction replaced by
    /// `timestamp_nanos` when present; epoch 0 without an offset.
    pub fn timestamp_or_epoch(&self) -> Instant {
        match self.timestamp {
            None => Instant::EPOCH,
            Some(ms) => {
                let mut t = Instant::from_millis(ms);
                if let Some(n) = self.timestamp_nanos {
                    t.nanos = n;
                }
                t
            }
        }
    }

    /// The incrementing value to resume after: -1 without an offset (the reference's default).
    pub fn incrementing_or_default(&self) -> i64 {
        self.incrementing.unwrap_or(-1)
    }
}

/// `timestamp` mode's advance rule (PR kafka-connect-jdbc#1093): a row's offset moves to its own
/// timestamp only when the next row's is later (or it is the last row); otherwise it keeps the
/// last committable one, so a restart never skips rows sharing the committed timestamp.
/// `T1,T1,T2,T2,T3` after `T0` gives `T0,T1,T1,T2,T3`.
pub fn timestamp_offsets(previous: Instant, rows: &[Instant]) -> Vec<Instant> {
    let mut committable = previous;
    rows.iter()
        .enumerate()
        .map(|(i, &t)| {
            if rows.get(i + 1).is_none_or(|&next| next > t) {
                committable = t;
            }
            committable
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_in_java_order() {
        let t = Instant { seconds: 1_700_000_000, nanos: 123_456_789 };
        let o = JdbcOffset::new(Some(t), Some(42));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"timestamp_nanos":123456789,"incrementing":42,"timestamp":1700000000123}"#
        );
        assert_eq!(serde_json::to_string(&JdbcOffset::new(None, Some(42))).unwrap(), r#"{"incrementing":42}"#);
        assert_eq!(
            serde_json::to_string(&JdbcPartition::table("shop.orders")).unwrap(),
            r#"{"protocol":"1","table":"shop.orders"}"#
        );
        assert_eq!(serde_json::to_string(&JdbcPartition::query()).unwrap(), r#"{"query":"query"}"#);
        let legacy: JdbcPartition = serde_json::from_str(r#"{"table":"orders"}"#).unwrap();
        assert_eq!(legacy, JdbcPartition::Legacy { table: "orders".into() });
        let v1: JdbcPartition = serde_json::from_str(r#"{"table":"shop.orders","protocol":"1"}"#).unwrap();
        assert_eq!(v1, JdbcPartition::table("shop.orders"));
    }

    #[test]
    fn reading_back_and_defaults() {
        let o: JdbcOffset = serde_json::from_str(r#"{"timestamp":1700000000123,"timestamp_nanos":123456789}"#).unwrap();
        assert_eq!(o.timestamp_or_epoch(), Instant { seconds: 1_700_000_000, nanos: 123_456_789 });
        let ms_only: JdbcOffset = serde_json::from_str(r#"{"timestamp":-1}"#).unwrap();
        assert_eq!(ms_only.timestamp_or_epoch(), Instant { seconds: -1, nanos: 999_000_000 });
        assert_eq!(JdbcOffset::default().incrementing_or_default(), -1);
        assert_eq!(JdbcOffset::default().timestamp_or_epoch(), Instant::EPOCH);
    }

    #[test]
    fn timestamp_mode_advances_only_past_complete_groups() {
        let t = |s| Instant { seconds: s, nanos: 0 };
        assert_eq!(timestamp_offsets(t(0), &[t(1), t(1), t(2), t(2), t(3)]), vec![t(0), t(1), t(1), t(2), t(3)]);
        assert_eq!(timestamp_offsets(t(5), &[]), Vec::<Instant>::new());
    }
}
