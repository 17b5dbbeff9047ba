//! The standalone offset file: Java serialization of a `HashMap<byte[], byte[]>`
//! (kafka-connect-runtime.md §5.3), read and written byte for byte, so sluice and Kafka Connect
//! read each other's files.

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATALONG: u8 = 0x7a;
const BASE_HANDLE: u32 = 0x7e_0000;
const HASHMAP: &str = "java.util.HashMap";
const HASHMAP_UID: u64 = 362_498_820_763_181_265;
const BYTE_ARRAY: &str = "[B";
const BYTE_ARRAY_UID: u64 = 0xacf3_17f8_0608_54e0;

/// One entry: key bytes → value bytes (`None` is a Java null, a reset offset).
pub type RawEntry = (Vec<u8>, Option<Vec<u8>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset file is not a Java-serialized HashMap<byte[], byte[]>: {message} at byte {at}")]
pub struct CodecError {
    pub at: usize,
    pub message: String,
}

/// Writes the entries as `ObjectOutputStream` writes a `HashMap<byte[], byte[]>`. Entries are
/// sorted by key so the output is deterministic (readers do not depend on the order).
pub fn encode(entries: &[RawEntry]) -> Vec<u8> {
    let mut sorted: Vec<&RawEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let size = sorted.len() as u32;
    let mut capacity: u32 = 16;
    while size as u64 > capacity as u64 * 3 / 4 {
        capacity *= 2;
    }
    let threshold = if size == 0 { 0 } else { capacity * 3 / 4 };
    let mut out = Vec::with_capacity(
        128 + entries.iter().map(|e| e.0.len() + 16 + e.1.as_ref().map_or(0, Vec::len)).sum::<usize>(),
    );
    out.extend_from_slice(&MAGIC);
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    put_utf(&mut out, HASHMAP);
    out.extend_from_slice(&HASHMAP_UID.to_be_bytes());
    out.push(0x03); // SC_WRITE_METHOD | SC_SERIALIZABLE
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    put_utf(&mut out, "loadFactor");
    out.push(b'I');
    put_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL);
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&threshold.to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&capacity.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    let mut wrote_class = false;
    let mut put_array = |out: &mut Vec<u8>, bytes: &Option<&Vec<u8>>| match bytes {
        None => out.push(TC_NULL),
        Some(b) => {
            out.push(TC_ARRAY);
            if wrote_class {
                out.push(TC_REFERENCE);
                out.extend_from_slice(&(BASE_HANDLE + 2).to_be_bytes());
            } else {
                out.push(TC_CLASSDESC);
                put_utf(out, BYTE_ARRAY);
                out.extend_from_slice(&BYTE_ARRAY_UID.to_be_bytes());
                out.push(0x02); // SC_SERIALIZABLE
                out.extend_from_slice(&0u16.to_be_bytes());
                out.push(TC_ENDBLOCKDATA);
                out.push(TC_NULL);
                wrote_class = true;
            }
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
    };
    for (k, v) in sorted {
        put_array(&mut out, &Some(k));
        put_array(&mut out, &v.as_ref());
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

fn put_utf(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads a file written by Kafka Connect (or by [`encode`]). An empty input is an empty map.
pub fn decode(bytes: &[u8]) -> Result<Vec<RawEntry>, CodecError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    Reader { bytes, at: 0, handles: Vec::new() }.read_map()
}

/// What a stream handle refers to.
#[derive(Clone)]
enum Handle {
    Class { name: String, fields: Vec<(u8, String)> },
    Array(Vec<u8>),
    Other,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    handles: Vec<Handle>,
}

impl Reader<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, CodecError> {
        Err(CodecError { at: self.at, message: message.into() })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        if self.at + n > self.bytes.len() {
            return self.fail(format!("unexpected end of file (needed {n} more bytes)"));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn utf(&mut self) -> Result<String, CodecError> {
        let n = self.u16()? as usize;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| CodecError { at, message: "invalid modified UTF-8".into() })
    }

    fn handle(&self, h: u32) -> Result<Handle, CodecError> {
        let i = h.checked_sub(BASE_HANDLE).map(|i| i as usize);
        match i.and_then(|i| self.handles.get(i)) {
            Some(handle) => Ok(handle.clone()),
            None => self.fail(format!("reference to unknown handle {h:#x}")),
        }
    }

    /// A class descriptor (new or a reference); returns its handle's contents.
    fn class_desc(&mut self) -> Result<Handle, CodecError> {
        match self.u8()? {
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.take(8)?; // serialVersionUID
                let slot = self.handles.len();
                self.handles.push(Handle::Other);
                self.u8()?; // flags
                let count = self.u16()?;
                let mut fields = Vec::new();
                for _ in 0..count {
                    let code = self.u8()?;
                    let fname = self.utf()?;
                    if code == b'L' || code == b'[' {
                        return self.fail(format!("unexpected object field {fname} in {name}"));
                    }
                    fields.push((code, fname));
                }
                if self.u8()? != TC_ENDBLOCKDATA {
                    return self.fail("class annotations are not supported");
                }
                if self.u8()? != TC_NULL {
                    return self.fail(format!("unexpected superclass of {name}"));
                }
                let handle = Handle::Class { name, fields };
                self.handles[slot] = handle.clone();
                Ok(handle)
            }
            TC_REFERENCE => {
                let h = self.u32()?;
                self.handle(h)
            }
            other => self.fail(format!("expected a class descriptor, found {other:#04x}")),
        }
    }

    fn read_map(&mut self) -> Result<Vec<RawEntry>, CodecError> {
        if self.take(4)? != MAGIC {
            self.at = 0;
            return self.fail("bad stream magic");
        }
        if self.u8()? != TC_OBJECT {
            return self.fail("expected an object");
        }
        let Handle::Class { name, fields } = self.class_desc()? else { return self.fail("expected a class") };
        if name != HASHMAP {
            return self.fail(format!("Expected HashMap but found {name}"));
        }
        self.handles.push(Handle::Other); // the map object itself
        for (code, _) in &fields {
            let width = match code {
                b'B' | b'Z' => 1,
                b'C' | b'S' => 2,
                b'F' | b'I' => 4,
                b'D' | b'J' => 8,
                other => return self.fail(format!("unexpected field type {}", *other as char)),
            };
            self.take(width)?;
        }
        let block = self.block_data(8)?;
        let size = u32::from_be_bytes(block[4..8].try_into().unwrap()) as usize;
        let mut entries = Vec::with_capacity(size.min(1 << 16));
        for _ in 0..size {
            let key = self.byte_array()?;
            let value = self.byte_array()?;
            let Some(key) = key else { return self.fail("null key") };
            entries.push((key, value));
        }
        match self.u8()? {
            TC_ENDBLOCKDATA => Ok(entries),
            other => self.fail(format!("expected end of block data, found {other:#04x}")),
        }
    }

    /// `n` bytes of block data, possibly split over several segments.
    fn block_data(&mut self, n: usize) -> Result<Vec<u8>, CodecError> {
        let mut data = Vec::with_capacity(n);
        while data.len() < n {
            let len = match self.u8()? {
                TC_BLOCKDATA => self.u8()? as usize,
                TC_BLOCKDATALONG => self.u32()? as usize,
                other => return self.fail(format!("expected block data, found {other:#04x}")),
            };
            data.extend_from_slice(self.take(len)?);
        }
        Ok(data)
    }

    fn byte_array(&mut self) -> Result<Option<Vec<u8>>, CodecError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_ARRAY => {
                let Handle::Class { name, .. } = self.class_desc()? else {
                    return self.fail("expected an array class");
                };
                if name != BYTE_ARRAY {
                    return self.fail(format!("expected byte[] but found {name}"));
                }
                let len = self.u32()? as usize;
                let data = self.take(len)?.to_vec();
                self.handles.push(Handle::Array(data.clone()));
                Ok(Some(data))
            }
            TC_REFERENCE => {
                let h = self.u32()?;
                match self.handle(h)? {
                    Handle::Array(data) => Ok(Some(data)),
                    _ => self.fail(format!("handle {h:#x} is not a byte array")),
                }
            }
            other => self.fail(format!("expected a byte array, found {other:#04x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// OpenJDK 17 `ObjectOutputStream` for `{["f",{"filename":"a"}] → {"position":5}}` (§5.3).
    fn jdk_bytes() -> Vec<u8> {
        let mut b = vec![0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x11];
        b.extend_from_slice(b"java.util.HashMap");
        b.extend_from_slice(&[0x05, 0x07, 0xda, 0xc1, 0xc3, 0x16, 0x60, 0xd1, 0x03, 0x00, 0x02, 0x46, 0x00, 0x0a]);
        b.extend_from_slice(b"loadFactor");
        b.extend_from_slice(&[0x49, 0x00, 0x09]);
        b.extend_from_slice(b"threshold");
        b.extend_from_slice(&[0x78, 0x70, 0x3f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x77, 0x08]);
        b.extend_from_slice(&[0, 0, 0, 0x10, 0, 0, 0, 1, 0x75, 0x72, 0x00, 0x02, 0x5b, 0x42]);
        b.extend_from_slice(&[0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0, 0x02, 0x00, 0x00, 0x78, 0x70]);
        b.extend_from_slice(&[0, 0, 0, 0x16]);
        b.extend_from_slice(br#"["f",{"filename":"a"}]"#);
        b.extend_from_slice(&[0x75, 0x71, 0x00, 0x7e, 0x00, 0x02, 0, 0, 0, 0x0e]);
        b.extend_from_slice(br#"{"position":5}"#);
        b.push(0x78);
        b
    }

    #[test]
    fn byte_identical_to_the_jdk() {
        let entries = vec![(br#"["f",{"filename":"a"}]"#.to_vec(), Some(br#"{"position":5}"#.to_vec()))];
        assert_eq!(encode(&entries), jdk_bytes());
        assert_eq!(decode(&jdk_bytes()).unwrap(), entries);
    }

    #[test]
    fn nulls_sizes_and_errors() {
        let entries: Vec<RawEntry> =
            (0..13).map(|i| (format!("k{i:02}").into_bytes(), (i % 2 == 0).then(|| vec![i as u8]))).collect();
        let bytes = encode(&entries);
        // 13 entries: threshold 24, capacity 32
        let at = 4 + 2 + 2 + HASHMAP.len() + 8 + 1 + 2 + 1 + 2 + 10 + 1 + 2 + 9 + 2 + 4;
        assert_eq!(&bytes[at..at + 4], &24u32.to_be_bytes());
        assert_eq!(&bytes[at + 6..at + 10], &32u32.to_be_bytes());
        assert_eq!(decode(&bytes).unwrap(), entries);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
        assert_eq!(decode(b"").unwrap(), vec![]);
        let truncated = &bytes[..bytes.len() - 3];
        assert!(decode(truncated).unwrap_err().message.contains("unexpected end"));
        let mut other = jdk_bytes();
        other[8..25].copy_from_slice(b"java.util.TreeMap");
        assert!(decode(&other).unwrap_err().message.contains("Expected HashMap but found java.util.TreeMap"));
    }

    proptest! {
        #[test]
        fn round_trip(map in proptest::collection::btree_map(proptest::collection::vec(any::<u8>(), 0..40),
                                                            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)), 0..30)) {
            let entries: Vec<RawEntry> = map.into_iter().collect();
            prop_assert_eq!(decode(&encode(&entries)).unwrap(), entries);
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
