//! Java's JKS key store format, read natively (the format as `sun.security.provider.JavaKeyStore`
//! writes it): big-endian counts, `DataOutput.writeUTF` strings, a SHA-1 integrity digest keyed
//! by the store password, and private keys under Sun's `KeyProtector` (a SHA-1 key stream).

use sha1::{Digest, Sha1};

use super::StoreError;

const MAGIC: u32 = 0xFEED_FEED;
const WHITENER: &[u8] = b"Mighty Aphrodite";
/// `1.3.6.1.4.1.42.2.17.1.1`, Sun's key protector, DER-encoded.
const KEY_PROTECTOR_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];

/// One entry of a JKS store.
pub(crate) enum JksEntry {
    /// A private key (still protected by its password) and its certificate chain (DER).
    PrivateKey { protected: Vec<u8>, chain: Vec<Vec<u8>> },
    /// A trusted certificate (DER).
    Trusted { cert: Vec<u8> },
}

/// True when `data` starts as a JKS store does.
pub(crate) fn is_jks(data: &[u8]) -> bool {
    data.len() >= 4 && u32::from_be_bytes([data[0], data[1], data[2], data[3]]) == MAGIC
}

/// Reads a JKS store. With a password, its integrity digest is checked first (a wrong password
/// reads as Java's "Keystore was tampered with, or password was incorrect"); without one the
/// entries are read unchecked, as Java loads a trust store that has no password set.
pub(crate) fn read(data: &[u8], password: Option<&str>) -> Result<Vec<JksEntry>, StoreError> {
    if !is_jks(data) {
        return Err(StoreError::Format("not a JKS store (no 0xFEEDFEED magic)".into()));
    }
    if data.len() < 12 + 20 {
        return Err(StoreError::Format("a JKS store shorter than its header".into()));
    }
    let (body, digest) = data.split_at(data.len() - 20);
    if let Some(password) = password {
        let mut sha = Sha1::new();
        sha.update(utf16_be(password));
        sha.update(WHITENER);
        sha.update(body);
        if sha.finalize().as_slice() != digest {
            return Err(StoreError::WrongPassword);
        }
    }
    let mut r = Reader { data: body, at: 4 };
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(StoreError::Format(format!("JKS version {version} (expected 1 or 2)")));
    }
    let count = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        let _created_ms = r.bytes(8)?;
        match tag {
            1 => {
                let len = r.u32()? as usize;
                let protected = r.bytes(len)?.to_vec();
                let n = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..n {
                    chain.push(r.cert(version)?);
                }
                entries.push(JksEntry::PrivateKey { protected, chain });
            }
            2 => entries.push(JksEntry::Trusted { cert: r.cert(version)? }),
            other => {
                return Err(StoreError::Format(format!("entry {alias:?} of JKS type {other} (a JCEKS secret key?)")))
            }
        }
    }
    Ok(entries)
}

/// Recovers a PKCS#8 private key from Sun's key protector: `EncryptedPrivateKeyInfo` whose data
/// is salt (20) ‖ key XOR stream ‖ SHA-1(password ‖ key) (20), the stream being SHA-1 chained
/// from the salt over the password.
pub(crate) fn unprotect(protected: &[u8], password: &str) -> Result<Vec<u8>, StoreError> {
    let bad = || StoreError::Format("a JKS private key that is not in Sun's key protector format".into());
    let (outer, _) = der_tlv(protected, 0x30).ok_or_else(bad)?;
    let (algorithm, rest) = der_tlv(outer, 0x30).ok_or_else(bad)?;
    let (oid, _) = der_tlv(algorithm, 0x06).ok_or_else(bad)?;
    if oid != KEY_PROTECTOR_OID {
        return Err(bad());
    }
    let (encrypted, _) = der_tlv(rest, 0x04).ok_or_else(bad)?;
    if encrypted.len() < 40 {
        return Err(bad());
    }
    let (salt, rest) = encrypted.split_at(20);
    let (cipher, check) = rest.split_at(rest.len() - 20);
    let pw = utf16_be(password);
    let mut key = Vec::with_capacity(cipher.len());
    let mut block = salt.to_vec();
    while key.len() < cipher.len() {
        block = Sha1::new().chain_update(&pw).chain_update(&block).finalize().to_vec();
        let take = (cipher.len() - key.len()).min(block.len());
        let at = key.len();
        key.extend(cipher[at..at + take].iter().zip(&block).map(|(c, k)| c ^ k));
    }
    if Sha1::new().chain_update(&pw).chain_update(&key).finalize().as_slice() != check {
        return Err(StoreError::WrongKeyPassword);
    }
    Ok(key)
}

/// The password as Java's `char[]` in UTF-16 big-endian.
fn utf16_be(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// One DER element of `tag` at the start of `data` (short and long lengths): its contents and
/// what follows it.
fn der_tlv(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize), &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| StoreError::Format("a JKS store cut short".into()))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `DataInput.readUTF`: a u16 length, then modified UTF-8 (plain UTF-8 for these names).
    fn utf(&mut self) -> Result<String, StoreError> {
        let b = self.bytes(2)?;
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        Ok(String::from_utf8_lossy(self.bytes(len)?).into_owned())
    }

    fn cert(&mut self, version: u32) -> Result<Vec<u8>, StoreError> {
        if version == 2 {
            let kind = self.utf()?;
            if kind != "X.509" {
                return Err(StoreError::Format(format!("a certificate of type {kind} (expected X.509)")));
            }
        }
        let len = self.u32()? as usize;
        Ok(self.bytes(len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn der_lengths_short_and_long() {
        assert_eq!(der_tlv(&[0x04, 2, 9, 8, 7], 0x04), Some((&[9u8, 8][..], &[7u8][..])));
        let mut long = vec![0x04, 0x81, 200];
        long.extend(vec![1u8; 200]);
        assert_eq!(der_tlv(&long, 0x04).map(|(c, r)| (c.len(), r.len())), Some((200, 0)));
        assert_eq!(der_tlv(&[0x04, 5, 1], 0x04), None);
        assert_eq!(der_tlv(&[0x30, 0], 0x04), None);
    }

    proptest! {
        /// Any bytes after the magic give an error or entries, never a panic.
        #[test]
        fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), pw in proptest::option::of("[a-z]{0,8}")) {
            let mut data = MAGIC.to_be_bytes().to_vec();
            data.extend(body);
            let _ = read(&data, pw.as_deref());
            let _ = unprotect(&data, "x");
        }
    }
}
