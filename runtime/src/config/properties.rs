//! `java.util.Properties.load` rules, keeping the line number of every key.
//!
//! The rules (kafka-connect-runtime.md §1.2): natural lines end with `\n`, `\r` or `\r\n`; a line
//! ending in an odd number of backslashes continues on the next one, whose leading whitespace is
//! dropped; `#`/`!` start a comment; the key runs to the first unescaped `=`, `:` or whitespace;
//! the separator is whitespace, then at most one `=`/`:`, then whitespace; trailing whitespace of
//! the value is kept; escapes are `\t \n \r \f \uXXXX` and `\x` → `x`; the last duplicate wins.
//!
//! Documented difference: Java decodes the bytes as ISO-8859-1; sluice decodes them as UTF-8 when
//! they are valid UTF-8 (what users write) and falls back to ISO-8859-1 otherwise.

use std::fmt;

/// One `key=value` pair, with the 1-based line where its logical line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A syntax error: the only one `Properties.load` knows is a malformed `\uXXXX` escape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: malformed \\uXXXX escape in {context:?}")]
pub struct PropertiesError {
    pub line: usize,
    pub context: String,
}

/// Decodes a properties file: UTF-8 when valid, ISO-8859-1 otherwise.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Parses properties text into pairs in file order (duplicates are all returned; the caller
/// decides, Java's rule being that the last one wins).
pub fn parse(text: &str) -> Result<Vec<Property>, PropertiesError> {
    let mut out = Vec::new();
    for (line, logical) in logical_lines(text) {
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).ok_or_else(|| PropertiesError { line, context: key.to_owned() })?;
        let value = unescape(value).ok_or_else(|| PropertiesError { line, context: value.to_owned() })?;
        out.push(Property { key, value, line });
    }
    Ok(out)
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

/// Natural lines of `text` with their 1-based numbers (line terminators removed).
fn natural_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let mut next = end;
        if rest[end..].starts_with("\r\n") {
            next += 2;
        } else if end < rest.len() {
            next += 1;
        }
        rest = &rest[next..];
        Some((number, line))
    })
}

/// Joins continuation lines; drops comments and blank lines. Escapes are still present.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, raw) in natural_lines(text) {
        let trimmed = raw.trim_start_matches(is_ws);
        let continuing = current.is_some();
        if !continuing && (trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!')) {
            continue;
        }
        let trailing = trimmed.chars().rev().take_while(|&c| c == '\\').count();
        let (body, continues) =
            if trailing % 2 == 1 { (&trimmed[..trimmed.len() - 1], true) } else { (trimmed, false) };
        let entry = current.get_or_insert_with(|| (number, String::new()));
        entry.1.push_str(body);
        if !continues {
            out.extend(current.take());
        }
    }
    // a file ending in a continuation: Java keeps what it has
    out.extend(current.take().filter(|(_, l)| !l.is_empty()));
    out
}

/// Splits a logical line at the first unescaped separator; both sides still escaped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut has_sep = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                key_end = i;
                has_sep = true;
                break;
            }
            c if is_ws(c) => {
                key_end = i;
                break;
            }
            _ => {}
        }
    }
    let key = &line[..key_end];
    let mut rest = &line[key_end..];
    if has_sep {
        rest = &rest[1..];
    } else {
        rest = rest.trim_start_matches(is_ws);
        if rest.starts_with('=') || rest.starts_with(':') {
            rest = &rest[1..];
        }
    }
    (key, rest.trim_start_matches(is_ws))
}

/// Java's `loadConvert`. `None` for a malformed `\u` escape.
fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if hex.len() != 4 {
                    return None;
                }
                let unit = u16::from_str_radix(&hex, 16).ok()?;
                push_utf16_unit(&mut out, unit, &mut chars)?;
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Some(out)
}

/// A `\uXXXX` escape is one UTF-16 unit; a surrogate pair spans two escapes.
fn push_utf16_unit(out: &mut String, unit: u16, chars: &mut std::str::Chars<'_>) -> Option<()> {
    if (0xD800..0xDC00).contains(&unit) {
        let mut look = chars.clone();
        if look.next() == Some('\\') && look.next() == Some('u') {
            let hex: String = look.by_ref().take(4).collect();
            if let Ok(low) = u16::from_str_radix(&hex, 16) {
                if (0xDC00..0xE000).contains(&low) {
                    *chars = look;
                    out.extend(char::decode_utf16([unit, low]).map(|r| r.unwrap_or('\u{fffd}')));
                    return Some(());
                }
            }
        }
        out.push('\u{fffd}');
    } else {
        out.push(char::from_u32(unit as u32).unwrap_or('\u{fffd}'));
    }
    Some(())
}

/// Writes pairs in `Properties.store` form (escaping as Java does), for tests and tools.
pub fn store<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    struct Escaped<'b>(&'b str, bool);
    impl fmt::Display for Escaped<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, c) in self.0.chars().enumerate() {
                match c {
                    ' ' if i == 0 || self.1 => f.write_str("\\ ")?,
                    '\t' => f.write_str("\\t")?,
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\x0c' => f.write_str("\\f")?,
                    '=' | ':' | '#' | '!' | '\\' => write!(f, "\\{c}")?,
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            write!(f, "\\u{unit:04X}")?;
                        }
                    }
                    c => write!(f, "{c}")?,
                }
            }
            Ok(())
        }
    }
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(&format!("{}={}\n", Escaped(k, true), Escaped(v, false)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        parse(text).unwrap().into_iter().map(|p| (p.key, p.value, p.line)).collect()
    }

    #[test]
    fn separators_comments_and_lines() {
        let text = "# comment\n! also\n\na=1\nb : 2\nc 3\n  d=4  \ne\n";
        assert_eq!(
            pairs(text),
            vec![
                ("a".into(), "1".into(), 4),
                ("b".into(), "2".into(), 5),
                ("c".into(), "3".into(), 6),
                ("d".into(), "4  ".into(), 7),
                ("e".into(), "".into(), 8),
            ]
        );
    }

    #[test]
    fn continuation_and_escapes() {
        let text = "k=a,\\\n    b,\\\r\n  c\nx\\ y=\\u0041\\t\\=\\\\\nz=\\\\\n";
        assert_eq!(
            pairs(text),
            vec![("k".into(), "a,b,c".into(), 1), ("x y".into(), "A\t=\\".into(), 4), ("z".into(), "\\".into(), 5),]
        );
    }

    #[test]
    fn equals_in_value_and_cr_lines() {
        assert_eq!(
            pairs("url=jdbc:mysql://h/db?a=b\rq:=x"),
            vec![("url".into(), "jdbc:mysql://h/db?a=b".into(), 1), ("q".into(), "=x".into(), 2)]
        );
    }

    #[test]
    fn malformed_unicode_escape_is_an_error() {
        assert_eq!(parse("a=\\u12\n").unwrap_err().line, 1);
    }

    #[test]
    fn utf8_and_latin1() {
        assert_eq!(decode("k=é".as_bytes()), "k=é");
        assert_eq!(decode(&[b'k', b'=', 0xe9]), "k=é");
        assert_eq!(pairs("k=\\ud83d\\ude80"), vec![("k".into(), "🚀".into(), 1)]);
    }

    proptest! {
        #[test]
        fn store_then_parse_round_trips(map in proptest::collection::btree_map("[^\u{0}]{1,12}", "[^\u{0}]{0,20}", 0..8)) {
            let text = store(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let parsed: Vec<(String, String)> = parse(&text).unwrap().into_iter().map(|p| (p.key, p.value)).collect();
            let expected: Vec<(String, String)> = map.into_iter().collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }
    }
}
