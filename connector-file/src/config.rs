//! Keys of the file connectors (file-connectors.md §1.1, §2.1).

use std::path::PathBuf;
use std::sync::Arc;

use runtime::config::ConfigReader;
use runtime::KeyDoc;

pub const SOURCE_KEYS: &[KeyDoc] = &[
    KeyDoc { name: "file", default: None, doc: "file to read; unset or empty reads stdin" },
    KeyDoc { name: "topic", default: None, doc: "the topic to write to (required)" },
    KeyDoc { name: "batch.size", default: Some("2000"), doc: "most records one poll returns" },
];

pub const SINK_KEYS: &[KeyDoc] = &[
    KeyDoc { name: "file", default: None, doc: "file to append to; unset or empty writes stdout" },
    KeyDoc { name: "topics", default: None, doc: "topics to read (or topics.regex)" },
];

/// FileStreamSource settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// `None` = stdin. Kept exactly as configured: it is the offset partition.
    pub file: Option<Arc<str>>,
    pub topic: Arc<str>,
    pub batch_size: usize,
}

impl SourceConfig {
    pub fn parse(reader: &mut ConfigReader<'_>) -> Option<SourceConfig> {
        let file = reader.string("file").filter(|f| !f.is_empty()).map(Arc::from);
        let topic = reader.required("topic", "a topic name");
        if let Some(t) = &topic {
            if t.contains(',') {
                reader.invalid("topic", "a single topic (FileStreamSource writes to one topic)", t.as_str());
            } else if let Some(problem) = runtime::record::topic_name_problem(t) {
                reader.invalid("topic", format!("a legal topic name ({problem})"), t.as_str());
            }
        }
        let batch_size = reader.int_in("batch.size", 2000, 1, i32::MAX as i64) as usize;
        Some(SourceConfig { file, topic: Arc::from(topic?), batch_size })
    }
}

/// FileStreamSink settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// `None` = stdout.
    pub file: Option<PathBuf>,
}

impl SinkConfig {
    pub fn parse(reader: &mut ConfigReader<'_>) -> Option<SinkConfig> {
        Some(SinkConfig { file: reader.string("file").filter(|f| !f.is_empty()).map(PathBuf::from) })
    }
}
