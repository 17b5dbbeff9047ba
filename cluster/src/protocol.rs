//! Kafka Connect's group protocol bytes (distributed-mode.md §6.2–6.3): the member metadata a
//! worker sends in JoinGroup and the assignment the leader sends in SyncGroup, for the protocols
//! `default` (eager, version 0), `compatible` (1) and `sessioned` (2).
//!
//! These blobs are opaque bytes to Kafka, written with the classic protocol's big-endian
//! primitives (INT16, INT32, INT64, STRING, NULLABLE_BYTES, ARRAY; no varints). They are encoded
//! here rather than through a Kafka API crate because they are not API messages; decoding is as
//! lenient as Java's: any version ≥ 0 reads with the newest layout, fields missing at the end
//! take their defaults, trailing bytes are ignored, and nothing panics on any input.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut};

/// Which of Connect's sub-protocols a worker offers or the group selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectProtocol {
    /// `default`: eager rebalancing, version 0.
    Eager,
    /// `compatible`: incremental cooperative rebalancing, version 1.
    Compatible,
    /// `sessioned`: incremental cooperative with signed internal requests, version 2.
    Sessioned,
}

impl ConnectProtocol {
    /// The JoinGroup protocol type of every Connect worker.
    pub const PROTOCOL_TYPE: &'static str = "connect";

    /// The protocol's name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The header version of its metadata and assignments.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    pub fn from_name(name: &str) -> Option<ConnectProtocol> {
        [ConnectProtocol::Eager, ConnectProtocol::Compatible, ConnectProtocol::Sessioned]
            .into_iter()
            .find(|p| p.name() == name)
    }

    /// `connect.protocol` as configured (case-insensitive): `eager`, `compatible`, `sessioned`.
    pub fn from_config(value: &str) -> Option<ConnectProtocol> {
        match value.to_ascii_lowercase().as_str() {
            "eager" => Some(ConnectProtocol::Eager),
            "compatible" => Some(ConnectProtocol::Compatible),
            "sessioned" => Some(ConnectProtocol::Sessioned),
            _ => None,
        }
    }

    /// The protocols a worker configured with `self` offers, most preferred first.
    pub fn offered(self) -> &'static [ConnectProtocol] {
        match self {
            ConnectProtocol::Eager => &[ConnectProtocol::Eager],
            ConnectProtocol::Compatible => &[ConnectProtocol::Compatible, ConnectProtocol::Eager],
            ConnectProtocol::Sessioned => {
                &[ConnectProtocol::Sessioned, ConnectProtocol::Compatible, ConnectProtocol::Eager]
            }
        }
    }

    /// Whether the leader uses the incremental cooperative assignor.
    pub fn is_incremental(self) -> bool {
        self != ConnectProtocol::Eager
    }
}

/// A malformed blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Connect protocol bytes end early, reading {0}")]
    Truncated(&'static str),
    #[error("Connect protocol version {0} is negative")]
    Version(i16),
    #[error("Connect protocol string is not UTF-8, reading {0}")]
    Utf8(&'static str),
    #[error("Connect protocol length {0} is negative, reading {1}")]
    Length(i32, &'static str),
}

/// The id −1 that stands for a connector instance in the assignment arrays.
pub const CONNECTOR_TASK: i32 = -1;

/// What a worker runs or must run: connector instances and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    pub connectors: BTreeSet<String>,
    /// `(connector, task number)`.
    pub tasks: BTreeSet<(String, i32)>,
}

impl Work {
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    /// Connectors and tasks together.
    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }

    /// What is in `self` and not in `other`.
    pub fn minus(&self, other: &Work) -> Work {
        Work {
            connectors: self.connectors.difference(&other.connectors).cloned().collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }

    /// What is in `self` and in `other`.
    pub fn intersect(&self, other: &Work) -> Work {
        Work {
            connectors: self.connectors.intersection(&other.connectors).cloned().collect(),
            tasks: self.tasks.intersection(&other.tasks).cloned().collect(),
        }
    }

    pub fn add(&mut self, other: &Work) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    pub fn remove(&mut self, other: &Work) {
        other.connectors.iter().for_each(|c| {
            self.connectors.remove(c);
        });
        other.tasks.iter().for_each(|t| {
            self.tasks.remove(t);
        });
    }

    /// Grouped by connector, the connector's −1 first, then its tasks in order (Java's layout).
    fn grouped(&self) -> BTreeMap<&str, Vec<i32>> {
        let mut out: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for c in &self.connectors {
            out.entry(c).or_default().push(CONNECTOR_TASK);
        }
        for (c, t) in &self.tasks {
            out.entry(c).or_default().push(*t);
        }
        out
    }

    fn put(&self, out: &mut Vec<u8>) {
        let grouped = self.grouped();
        out.put_i32(grouped.len() as i32);
        for (connector, ids) in grouped {
            put_string(out, connector);
            out.put_i32(ids.len() as i32);
            ids.iter().for_each(|id| out.put_i32(*id));
        }
    }

    /// A (nullable) array of `{connector, tasks}`; null reads as empty.
    fn get(buf: &mut &[u8], what: &'static str) -> Result<Work, ProtocolError> {
        let mut work = Work::default();
        let count = get_i32(buf, what)?;
        for _ in 0..count.max(0) {
            let connector = get_string(buf, what)?;
            let ids = get_i32(buf, what)?;
            for _ in 0..ids.max(0) {
                match get_i32(buf, what)? {
                    CONNECTOR_TASK => work.connectors.insert(connector.clone()),
                    task => work.tasks.insert((connector.clone(), task)),
                };
            }
        }
        Ok(work)
    }
}

/// A worker's JoinGroup metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    pub protocol: ConnectProtocol,
    /// The worker's advertised REST URL, with its trailing slash (`http://w1:8083/`).
    pub url: String,
    /// The next config-topic offset it would read; −1 when it has read nothing.
    pub config_offset: i64,
    /// Versions 1 and 2: everything the worker runs now (`None`: no assignment yet).
    pub allocation: Option<Work>,
}

impl WorkerMetadata {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.put_i16(self.protocol.version());
        put_string(&mut out, &self.url);
        out.put_i64(self.config_offset);
        if self.protocol.is_incremental() {
            match &self.allocation {
                None => out.put_i32(-1),
                Some(work) => {
                    let blob = Assignment {
                        version: self.protocol.version(),
                        assigned: work.clone(),
                        config_offset: self.config_offset,
                        ..Assignment::default()
                    }
                    .encode();
                    out.put_i32(blob.len() as i32);
                    out.put_slice(&blob);
                }
            }
        }
        out
    }

    /// Reads metadata offered under `protocol` (the version in the bytes decides the layout).
    pub fn decode(protocol: ConnectProtocol, mut buf: &[u8]) -> Result<WorkerMetadata, ProtocolError> {
        let buf = &mut buf;
        let version = get_i16(buf, "metadata version")?;
        if version < 0 {
            return Err(ProtocolError::Version(version));
        }
        let url = get_string(buf, "metadata url")?;
        let config_offset = get_i64(buf, "metadata config offset")?;
        let allocation = match (version, buf.remaining()) {
            (0, _) | (_, 0) => None,
            _ => match get_i32(buf, "metadata allocation")? {
                -1 => None,
                n if n < 0 => return Err(ProtocolError::Length(n, "metadata allocation")),
                n => {
                    let bytes = take(buf, n as usize, "metadata allocation")?;
                    Some(Assignment::decode(bytes)?.assigned)
                }
            },
        };
        Ok(WorkerMetadata { protocol, url, config_offset, allocation })
    }
}

/// `error` of an assignment.
pub const NO_ERROR: i16 = 0;
/// The leader's config is behind a member's: everyone reads to the end and rejoins.
pub const CONFIG_MISMATCH: i16 = 1;

/// The leader's SyncGroup answer to one member. Version 0 carries the complete assignment;
/// versions 1 and 2 carry what is newly assigned, what is revoked and a delay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub version: i16,
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's advertised REST URL.
    pub leader_url: String,
    pub config_offset: i64,
    pub assigned: Work,
    pub revoked: Work,
    /// When above 0, the member rejoins after this many ms.
    pub delay_ms: i32,
}

impl Assignment {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.put_i16(self.version);
        out.put_i16(self.error);
        put_string(&mut out, &self.leader);
        put_string(&mut out, &self.leader_url);
        out.put_i64(self.config_offset);
        self.assigned.put(&mut out);
        if self.version >= 1 {
            self.revoked.put(&mut out);
            out.put_i32(self.delay_ms);
        }
        out
    }

    /// Reads any version with the newest layout, as Java's v1 reader does.
    pub fn decode(mut buf: &[u8]) -> Result<Assignment, ProtocolError> {
        let buf = &mut buf;
        let version = get_i16(buf, "assignment version")?;
        if version < 0 {
            return Err(ProtocolError::Version(version));
        }
        let error = get_i16(buf, "assignment error")?;
        let leader = get_string(buf, "assignment leader")?;
        let leader_url = get_string(buf, "assignment leader url")?;
        let config_offset = get_i64(buf, "assignment config offset")?;
        let assigned = Work::get(buf, "assignment")?;
        let revoked = if buf.has_remaining() { Work::get(buf, "revoked")? } else { Work::default() };
        let delay_ms = if buf.remaining() >= 4 { buf.get_i32() } else { 0 };
        Ok(Assignment { version, error, leader, leader_url, config_offset, assigned, revoked, delay_ms })
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    // a STRING's length is an INT16: longer names cannot be written by Java either
    let bytes = &s.as_bytes()[..s.len().min(i16::MAX as usize)];
    out.put_i16(bytes.len() as i16);
    out.put_slice(bytes);
}

fn take<'a>(buf: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], ProtocolError> {
    if buf.len() < n {
        return Err(ProtocolError::Truncated(what));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn get_i16(buf: &mut &[u8], what: &'static str) -> Result<i16, ProtocolError> {
    take(buf, 2, what).map(|b| i16::from_be_bytes([b[0], b[1]]))
}

fn get_i32(buf: &mut &[u8], what: &'static str) -> Result<i32, ProtocolError> {
    take(buf, 4, what).map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")))
}

fn get_i64(buf: &mut &[u8], what: &'static str) -> Result<i64, ProtocolError> {
    take(buf, 8, what).map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")))
}

fn get_string(buf: &mut &[u8], what: &'static str) -> Result<String, ProtocolError> {
    let len = get_i16(buf, what)?;
    if len < 0 {
        return Err(ProtocolError::Length(len.into(), what));
    }
    let bytes = take(buf, len as usize, what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtocolError::Utf8(what))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn metadata_matches_the_reference_example() {
        // distributed-mode.md §6.2: v1, url http://w1:8083/, offset 42, no allocation: 31 bytes
        let m = WorkerMetadata {
            protocol: ConnectProtocol::Compatible,
            url: "http://w1:8083/".into(),
            config_offset: 42,
            allocation: None,
        };
        let mut want = vec![0, 1, 0, 15];
        want.extend_from_slice(b"http://w1:8083/");
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(m.encode(), want);
        assert_eq!(want.len(), 31);
        assert_eq!(WorkerMetadata::decode(ConnectProtocol::Compatible, &want).unwrap(), m);
    }

    #[test]
    fn eager_metadata_has_no_allocation() {
        let m = WorkerMetadata {
            protocol: ConnectProtocol::Eager,
            url: "http://a:1/".into(),
            config_offset: -1,
            allocation: None,
        };
        let bytes = m.encode();
        assert_eq!(bytes.len(), 2 + 2 + 11 + 8);
        assert_eq!(WorkerMetadata::decode(ConnectProtocol::Eager, &bytes).unwrap(), m);
    }

    #[test]
    fn assignment_lists_the_connector_first_then_its_tasks() {
        let a = Assignment {
            version: 0,
            leader: "L".into(),
            leader_url: "u".into(),
            config_offset: 7,
            assigned: Work {
                connectors: ["jdbc".to_string()].into(),
                tasks: [("jdbc".to_string(), 0), ("jdbc".to_string(), 2)].into(),
            },
            ..Assignment::default()
        };
        let mut want = vec![0, 0, 0, 0, 0, 1, b'L', 0, 1, b'u', 0, 0, 0, 0, 0, 0, 0, 7];
        want.extend_from_slice(&[0, 0, 0, 1, 0, 4, b'j', b'd', b'b', b'c', 0, 0, 0, 3]);
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(a.encode(), want);
        // a v0 blob reads with the v1 reader: no revocations, no delay
        assert_eq!(Assignment::decode(&want).unwrap(), a);
    }

    #[test]
    fn null_arrays_and_higher_versions_read_leniently() {
        let mut bytes = vec![0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x03, 0xe8, 9, 9, 9]);
        let a = Assignment::decode(&bytes).unwrap();
        assert_eq!((a.version, a.config_offset, a.delay_ms), (3, 5, 1000));
        assert!(a.assigned.is_empty() && a.revoked.is_empty());
        assert_eq!(Assignment::decode(&[0xff, 0xff]), Err(ProtocolError::Version(-1)));
    }

    #[test]
    fn protocols_offered_in_kafkas_order() {
        let names: Vec<_> = ConnectProtocol::Sessioned.offered().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["sessioned", "compatible", "default"]);
        assert_eq!(ConnectProtocol::from_config("SESSIONED"), Some(ConnectProtocol::Sessioned));
        assert_eq!(ConnectProtocol::from_config("default"), None);
        assert_eq!(ConnectProtocol::from_name("default"), Some(ConnectProtocol::Eager));
    }

    fn work() -> impl Strategy<Value = Work> {
        (
            proptest::collection::btree_set("[a-z-]{1,8}", 0..4),
            proptest::collection::btree_set(("[a-z-]{1,8}", 0..50i32), 0..8),
        )
            .prop_map(|(connectors, tasks)| Work { connectors, tasks })
    }

    proptest! {
        #[test]
        fn assignments_round_trip(
            version in 0i16..3, error in 0i16..2, leader in "\\PC{0,10}", url in "\\PC{0,20}",
            offset in any::<i64>(), assigned in work(), revoked in work(), delay in 0i32..1_000_000,
        ) {
            let (revoked, delay_ms) = if version == 0 { (Work::default(), 0) } else { (revoked, delay) };
            let a = Assignment { version, error, leader, leader_url: url, config_offset: offset, assigned, revoked, delay_ms };
            prop_assert_eq!(Assignment::decode(&a.encode()).unwrap(), a);
        }

        #[test]
        fn metadata_round_trips(p in 0usize..3, url in "\\PC{0,20}", offset in -1i64..1_000_000, allocation in proptest::option::of(work())) {
            let protocol = [ConnectProtocol::Eager, ConnectProtocol::Compatible, ConnectProtocol::Sessioned][p];
            let allocation = if protocol.is_incremental() { allocation } else { None };
            let m = WorkerMetadata { protocol, url, config_offset: offset, allocation };
            prop_assert_eq!(WorkerMetadata::decode(protocol, &m.encode()).unwrap(), m);
        }

        /// Any bytes from a member or the leader: a value or an error, never a panic.
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Assignment::decode(&bytes);
            let _ = WorkerMetadata::decode(ConnectProtocol::Sessioned, &bytes);
        }
    }
}
