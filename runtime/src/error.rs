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

    /// The message with its chain of causes, `: `-separated.
    pub fn chain(&self) -> String {
        let mut text = self.source.to_string();
        let mut cause = self.source.source();
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
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
