//! Line splitting exactly as FileStreamSourceTask does it (file-connectors.md §1.3): a line ends
//! at `\n`, `\r\n` or a lone `\r`; a `\r` at the end of the data waits for the next byte to tell
//! `\r` from `\r\n`; an unterminated last line is not a line yet.

/// The first complete line of `data`: `(end of the line's text, start of the next line)`.
pub fn split_line(data: &[u8]) -> Option<(usize, usize)> {
    let i = memchr::memchr2(b'\n', b'\r', data)?;
    if data[i] == b'\n' {
        return Some((i, i + 1));
    }
    match data.get(i + 1) {
        Some(b'\n') => Some((i, i + 2)),
        Some(_) => Some((i, i + 1)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<String> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some((end, next)) = split_line(&buf) {
                out.push(String::from_utf8_lossy(&buf[..end]).into_owned());
                buf.drain(..next);
            }
        }
        out
    }

    #[test]
    fn terminators_and_chunk_edges() {
        assert_eq!(lines(&[b"a\nb\r\nc\rd"]), vec!["a", "b", "c"]);
        assert_eq!(lines(&[b"a\r", b"\nb\r", b"x\n"]), vec!["a", "b", "x"]);
        assert_eq!(lines(&[b"\n\n"]), vec!["", ""]);
        assert_eq!(lines(&[b"tail without newline"]), Vec::<String>::new());
        assert_eq!(lines(&[b"a\r"]), Vec::<String>::new(), "a lone trailing \\r waits");
    }
}
