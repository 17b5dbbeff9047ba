//! The runtime boundary for task errors: every connector error says whether it is retriable,
//! a bad record, or fatal.

use std::fmt;

/// What the runtime does with a task error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Transient (a server unreachable, a timeout): back off and try again.
    Retriable,
    /// This record cannot be processed: `errors.tolerance` decides (skip, DLQ, or fail).
    Record,
    /// The task cannot go on: it stops as FAILED.
    Fatal,
}

/// An error from a task, classified.
#[derive(Debug)]
pub struct TaskError {
    pub kind: ErrorKind,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TaskError {
    pub fn new(kind: ErrorKind, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        TaskError { kind, source: source.into() }
    }
    pub fn retriable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Retriable, source)
    }
    pub fn record(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Record, source)
    }
    pub fn fatal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Fatal, source)
    }

    /// The message with its chain of causes, `: `-separated; a cause whose text the message
    /// already holds (an error that shows its `{source}` and also returns it) is said once.
    pub fn chain(&self) -> String {
        let mut text = self.source.to_string();
        let mut cause = self.source.source();
        while let Some(c) = cause {
            let said = c.to_string();
            if !text.contains(&said) {
                text.push_str(": ");
                text.push_str(&said);
            }
            cause = c.source();
        }
        text
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Retriable => "retriable",
            ErrorKind::Record => "bad record",
            ErrorKind::Fatal => "fatal",
        };
        write!(f, "{kind}: {}", self.chain())
    }
}

impl std::error::Error for TaskError {}

/// Bytes from outside (a record key, a file's content) as one short, printable line: control and
/// non-UTF-8 bytes escaped, cut at `max` characters with the total size said.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push_str(&format!("… ({} bytes)", bytes.len()));
            break;
        }
        match c {
            '\u{FFFD}' => out.push_str("\\ufffd"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut at `max` characters with the total size said (for values shown with `{:?}`,
/// which escapes them).
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("connection refused")]
        Refused,
    }

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("cannot connect to db:3306: {source} (database.hostname)")]
        Connect { source: Inner },
        #[error("the stream broke")]
        Stream {
            #[source]
            source: Inner,
        },
    }

    #[test]
    fn a_cause_is_said_once() {
        let e = TaskError::retriable(Outer::Connect { source: Inner::Refused });
        assert_eq!(e.chain(), "cannot connect to db:3306: connection refused (database.hostname)");
        let e = TaskError::retriable(Outer::Stream { source: Inner::Refused });
        assert_eq!(e.chain(), "the stream broke: connection refused");
    }

    #[test]
    fn excerpt_escapes_and_cuts() {
        assert_eq!(excerpt(b"ab\x00\x1b[31m\n", 100), "ab\\u{0}\\u{1b}[31m\\n");
        assert_eq!(excerpt(&[b'x'; 5_000_000], 3), "xxx… (5000000 bytes)");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\\ufffda");
        assert_eq!(excerpt("é€".as_bytes(), 10), "é€");
        assert_eq!(cut("abcdef", 3), "abc… (6 bytes)");
        assert_eq!(cut("abc", 3), "abc");
    }
}
