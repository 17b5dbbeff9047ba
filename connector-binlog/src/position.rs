//! Debezium's binlog offsets (binlog-cdc.md A3): partition `{"server":"<topic.prefix>"}`,
//! offset `{"ts_sec","file","pos","gtids","row","server_id","event"}` holding the *restart*
//! point (the start of the current transaction while inside one) plus how much of that
//! transaction was already emitted, and MariaDB GTID sets.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// `{"server": "<topic.prefix>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPartition {
    /// Shared by every record of the connector.
    pub server: Arc<str>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One stored offset. Field order is Debezium's as its JSON shows it; readers ignore order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BinlogOffset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_sec: Option<i64>,
    pub file: String,
    pub pos: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtids: Option<String>,
    /// Rows of the next rows event already emitted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub row: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u64>,
    /// Events of the current transaction fully processed since its start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub event: u64,
    /// Present while a snapshot runs: `"INITIAL"` (Debezium 3) or `true` (older).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_completed: Option<serde_json::Value>,
}

impl BinlogOffset {
    /// Whether this offset was written by a snapshot that had not finished.
    pub fn snapshot_in_progress(&self) -> bool {
        match &self.snapshot {
            None => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            Some(_) => true,
        }
    }
}

/// A binlog file and position (an event boundary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePos {
    pub file: String,
    pub pos: u64,
}

impl fmt::Display for FilePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// A MariaDB GTID: `domain-server-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl Gtid {
    pub fn parse(s: &str) -> Option<Gtid> {
        let mut parts = s.trim().splitn(3, '-');
        Some(Gtid {
            domain: parts.next()?.parse().ok()?,
            server: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
        })
    }
}

/// A MariaDB GTID position: the last GTID of each replication domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet(BTreeMap<u32, Gtid>);

impl GtidSet {
    /// `0-1-5,1-2-9`; empty text is the empty set.
    pub fn parse(s: &str) -> Result<GtidSet, String> {
        let mut set = GtidSet::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let g =
                Gtid::parse(part).ok_or_else(|| format!("bad MariaDB GTID {part:?} (expected domain-server-seq)"))?;
            set.0.insert(g.domain, g);
        }
        Ok(set)
    }

    pub fn add(&mut self, g: Gtid) {
        self.0.insert(g.domain, g);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn domains(&self) -> impl Iterator<Item = &Gtid> {
        self.0.values()
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.0.values().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

/// Where to resume reading and how much to skip there (binlog-cdc.md A3, restart algorithm).
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    pub at: FilePos,
    /// MariaDB: the GTID state to resume after (preferred over `at` when not empty).
    pub gtids: GtidSet,
    /// Events after the transaction start whose records were already emitted.
    pub skip_events: u64,
    /// Rows of the next rows event already emitted.
    pub skip_rows: u64,
}

impl ResumePoint {
    pub fn from_offset(o: &BinlogOffset) -> Result<ResumePoint, String> {
        Ok(ResumePoint {
            at: FilePos { file: o.file.clone(), pos: o.pos },
            gtids: GtidSet::parse(o.gtids.as_deref().unwrap_or(""))?,
            skip_events: o.event,
            skip_rows: o.row,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_debezium_and_write_its_shape() {
        let text = r#"{"transaction_id":null,"ts_sec":1700000000,"file":"mariadb-bin.000003","pos":1180,"gtids":"0-1-41","row":1,"server_id":1,"event":2}"#;
        let o: BinlogOffset = serde_json::from_str(text).unwrap();
        assert_eq!((o.pos, o.event, o.row, o.server_id), (1180, 2, 1, Some(1)));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"ts_sec":1700000000,"file":"mariadb-bin.000003","pos":1180,"gtids":"0-1-41","row":1,"server_id":1,"event":2}"#
        );
        let after_commit = BinlogOffset { file: "f.000001".into(), pos: 4, ..Default::default() };
        assert_eq!(serde_json::to_string(&after_commit).unwrap(), r#"{"file":"f.000001","pos":4}"#);
        for (snapshot, running) in [(r#""INITIAL""#, true), ("true", true), ("false", false)] {
            let o: BinlogOffset =
                serde_json::from_str(&format!(r#"{{"file":"f","pos":4,"snapshot":{snapshot}}}"#)).unwrap();
            assert_eq!(o.snapshot_in_progress(), running, "{snapshot}");
        }
    }

    #[test]
    fn gtid_sets_keep_one_gtid_per_domain() {
        let mut s = GtidSet::parse("0-1-5, 1-2-9").unwrap();
        s.add(Gtid { domain: 0, server: 1, seq: 6 });
        assert_eq!(s.to_string(), "0-1-6,1-2-9");
        assert!(GtidSet::parse("").unwrap().is_empty());
        assert!(GtidSet::parse("0-1").is_err());
    }
}
