//! The offsets topic's partitioning (distributed-mode.md §2, §4): a Java worker puts an offset
//! record on partition `murmur2(key bytes) & 0x7fffffff % partitions`, and looks offsets up by
//! the exact key bytes. A sluice producer writing the same topic must pick the same partition
//! (rdkafka's `murmur2_random` partitioner does, for non-empty keys), or "latest wins" breaks
//! across partitions; [`partition_for`] is the check and the reference for tests.

/// Kafka's `Utils.murmur2` (32-bit MurmurHash2, seed `0x9747b28c`), as a signed int.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition a Java producer's default partitioner picks for `key` among `partitions`.
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_test_vectors() {
        // Kafka's UtilsTest.testMurmur2
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn offset_keys_land_where_java_puts_them() {
        let key = br#"["file-source",{"filename":"in.txt"}]"#;
        let p = partition_for(key, 25);
        assert!(p < 25);
        assert_eq!(p, ((murmur2(key) & 0x7fff_ffff) as u32) % 25);
    }
}
