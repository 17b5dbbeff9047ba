//! The file source's partition and offset, and the conversion of Kafka's char-counted positions.

use std::fmt;
use std::io::Read;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `{"filename": …}`: the file exactly as configured; `null` for stdin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilePartition {
    pub filename: Option<Arc<str>>,
}

/// What `position` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionUnit {
    #[serde(rename = "bytes")]
    Bytes,
}

/// A file's identity, `<dev>:<ino>`: tells a rotated file from the one an offset was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

impl FromStr for FileId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (dev, ino) = s.split_once(':').ok_or_else(|| format!("expected <dev>:<ino>, got {s:?}"))?;
        Ok(FileId {
            dev: dev.parse().map_err(|_| format!("bad device in {s:?}"))?,
            ino: ino.parse().map_err(|_| format!("bad inode in {s:?}"))?,
        })
    }
}

impl Serialize for FileId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// `{"position":N,"position.unit":"bytes","file.inode":"<dev>:<ino>"}`; Kafka writes only
/// `position` (a char count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffset {
    pub position: Option<u64>,
    #[serde(rename = "position.unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<PositionUnit>,
    #[serde(rename = "file.inode", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileId>,
}

impl FileOffset {
    pub fn bytes(position: u64, file: Option<FileId>) -> Self {
        FileOffset { position: Some(position), unit: Some(PositionUnit::Bytes), file }
    }
}

/// Converts Kafka's position (UTF-16 units of the decoded text, one per replacement character)
/// into the byte offset where that many units end. `None` when the file holds fewer units.
pub fn java_chars_to_bytes(mut r: impl Read, target: u64) -> std::io::Result<Option<u64>> {
    let (mut units, mut bytes) = (0u64, 0u64);
    let mut data: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut chunk)?;
        let eof = n == 0;
        data.extend_from_slice(&chunk[..n]);
        let mut i = 0;
        while i < data.len() {
            let (valid, bad) = match std::str::from_utf8(&data[i..]) {
                Ok(s) => (s, None),
                Err(e) => (std::str::from_utf8(&data[i..i + e.valid_up_to()]).unwrap_or_default(), Some(e.error_len())),
            };
            for c in valid.chars() {
                if units >= target {
                    return Ok(Some(bytes));
                }
                units += c.len_utf16() as u64;
                bytes += c.len_utf8() as u64;
            }
            i += valid.len();
            match bad {
                None => i = data.len(),
                Some(Some(len)) => {
                    if units >= target {
                        return Ok(Some(bytes));
                    }
                    units += 1;
                    bytes += len as u64;
                    i += len;
                }
                Some(None) if eof => {
                    if units >= target {
                        return Ok(Some(bytes));
                    }
                    units += 1;
                    bytes += (data.len() - i) as u64;
                    i = data.len();
                }
                Some(None) => break,
            }
        }
        data.drain(..i);
        if eof {
            return Ok((units >= target).then_some(bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_json_shapes() {
        let o = FileOffset::bytes(42, Some(FileId { dev: 2049, ino: 77 }));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"position":42,"position.unit":"bytes","file.inode":"2049:77"}"#
        );
        let java: FileOffset = serde_json::from_str(r#"{"position":5}"#).unwrap();
        assert_eq!(java, FileOffset { position: Some(5), unit: None, file: None });
        let p = FilePartition { filename: Some("/var/log/app.log".into()) };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"filename":"/var/log/app.log"}"#);
        assert_eq!(serde_json::to_string(&FilePartition { filename: None }).unwrap(), r#"{"filename":null}"#);
    }

    #[test]
    fn java_char_positions_to_bytes() {
        // "héllo\nworld\n": Java stores 6 after the first line; the byte position is 7
        assert_eq!(java_chars_to_bytes("héllo\nworld\n".as_bytes(), 6).unwrap(), Some(7));
        // "🚀\nnext\n": 3 units (surrogate pair + \n) → 5 bytes
        assert_eq!(java_chars_to_bytes("🚀\nnext\n".as_bytes(), 3).unwrap(), Some(5));
        assert_eq!(java_chars_to_bytes(&b"ab\n"[..], 3).unwrap(), Some(3));
        assert_eq!(java_chars_to_bytes(&b"ab\n"[..], 4).unwrap(), None);
        // a malformed byte counts as one replacement char
        assert_eq!(java_chars_to_bytes(&[0xff, b'\n', b'x'][..], 2).unwrap(), Some(2));
        // across read boundaries
        let long = "é".repeat(50_000) + "\n";
        assert_eq!(java_chars_to_bytes(long.as_bytes(), 50_001).unwrap(), Some(100_001));
    }
}
