//! Change records as Debezium emits them (binlog-cdc.md A2): `c`/`u`/`d`/`r` envelopes, the
//! tombstone after a delete, a primary-key change as delete + tombstone + create with the
//! `__debezium.newkey` / `__debezium.oldkey` headers, and heartbeats.

use std::sync::Arc;

use runtime::convert::JsonConverter;
use runtime::data::{Schema, Struct, Type, Value};
use runtime::record::{Header, SourceRecord};

use crate::config::BinlogConfig;
use crate::position::{BinlogOffset, BinlogPartition};
use crate::schema::{envelope, SourceBlock, SourceInfo, TableSchemas};

pub type Record = SourceRecord<BinlogPartition, BinlogOffset>;

/// Builds the records of one connector.
pub struct Events {
    pub partition: BinlogPartition,
    pub source: SourceBlock,
    tombstones: bool,
    skip_creates: bool,
    skip_updates: bool,
    skip_deletes: bool,
    heartbeat_topic: Arc<str>,
    heartbeat_key: Schema,
    heartbeat_value: Schema,
    header_json: JsonConverter,
    /// With `include.schema.changes=true`.
    pub schema_changes: Option<crate::schema_change::SchemaChanges>,
}

impl Events {
    pub fn new(c: &BinlogConfig) -> Events {
        let source = SourceBlock::new(c.flavor, &c.topic_prefix);
        let schema_changes = c
            .include_schema_changes
            .then(|| crate::schema_change::SchemaChanges::new(c.flavor, &c.topic_prefix, &source.schema));
        Events {
            schema_changes,
            partition: BinlogPartition { server: c.topic_prefix.as_str().into() },
            source,
            tombstones: c.tombstones_on_delete,
            skip_creates: c.skip_creates,
            skip_updates: c.skip_updates,
            skip_deletes: c.skip_deletes,
            heartbeat_topic: c.heartbeat_topic.as_str().into(),
            heartbeat_key: Schema::builder(Type::Struct)
                .name("io.debezium.connector.common.ServerNameKey")
                .version(1)
                .field("serverName", Schema::string())
                .build(),
            heartbeat_value: Schema::builder(Type::Struct)
                .name("io.debezium.connector.common.Heartbeat")
                .version(1)
                .field("ts_ms", Schema::primitive(Type::Int64, false))
                .build(),
            header_json: JsonConverter::new(false),
        }
    }

    fn record(&self, t: &TableSchemas, offset: BinlogOffset, key: Option<Struct>, value: Value) -> Record {
        Record {
            partition: self.partition.clone(),
            offset,
            topic: t.topic.clone(),
            kafka_partition: None,
            key_schema: t.key.clone(),
            key: key.map_or(Value::Null, Value::Struct),
            value_schema: Some(t.envelope.clone()),
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }

    fn tombstone(&self, t: &TableSchemas, offset: BinlogOffset, key: Option<Struct>) -> Record {
        let mut r = self.record(t, offset, key, Value::Null);
        r.value_schema = None;
        r
    }

    fn key_header(&mut self, name: &str, key: &Option<Struct>) -> Header {
        let mut out = Vec::new();
        let value = key.clone().map_or(Value::Null, Value::Struct);
        let _ = self.header_json.encode(None, &value, &mut out);
        Header { key: name.to_owned(), value: Some(out) }
    }

    /// A `TRUNCATE TABLE` (`op=t`; the caller honours `skipped.operations`): a null key,
    /// neither `before` nor `after`.
    pub fn truncate(&self, t: &TableSchemas, source: Struct, offset: BinlogOffset) -> Record {
        let mut r = self.record(t, offset, None, envelope(t, "t", None, None, source));
        r.key_schema = None;
        r
    }

    /// A snapshot read (`op=r`).
    pub fn read(&self, t: &TableSchemas, row: Vec<Value>, info: &SourceInfo<'_>, offset: BinlogOffset) -> Record {
        let key = t.key_struct(&row);
        let value = envelope(t, "r", None, Some(t.row_struct(row)), self.source.build(info));
        self.record(t, offset, key, value)
    }

    pub fn insert(
        &self,
        t: &TableSchemas,
        row: Vec<Value>,
        info: &SourceInfo<'_>,
        offset: BinlogOffset,
        out: &mut Vec<Record>,
    ) {
        if self.skip_creates {
            return;
        }
        let key = t.key_struct(&row);
        let value = envelope(t, "c", None, Some(t.row_struct(row)), self.source.build(info));
        out.push(self.record(t, offset, key, value));
    }

    pub fn delete(
        &self,
        t: &TableSchemas,
        row: Vec<Value>,
        info: &SourceInfo<'_>,
        offset: BinlogOffset,
        out: &mut Vec<Record>,
    ) {
        if self.skip_deletes {
            return;
        }
        let key = t.key_struct(&row);
        let value = envelope(t, "d", Some(t.row_struct(row)), None, self.source.build(info));
        out.push(self.record(t, offset.clone(), key.clone(), value));
        if self.tombstones {
            out.push(self.tombstone(t, offset, key));
        }
    }

    pub fn update(
        &mut self,
        t: &TableSchemas,
        before: Vec<Value>,
        after: Vec<Value>,
        info: &SourceInfo<'_>,
        offset: BinlogOffset,
        out: &mut Vec<Record>,
    ) {
        let old_key = t.key_struct(&before);
        let new_key = t.key_struct(&after);
        if old_key == new_key {
            if self.skip_updates {
                return;
            }
            let value =
                envelope(t, "u", Some(t.row_struct(before)), Some(t.row_struct(after)), self.source.build(info));
            out.push(self.record(t, offset, new_key, value));
            return;
        }
        // a primary-key change: delete the old key, then create the new one
        let src = self.source.build(info);
        let mut delete = self.record(
            t,
            offset.clone(),
            old_key.clone(),
            envelope(t, "d", Some(t.row_struct(before)), None, src.clone()),
        );
        delete.headers.push(self.key_header("__debezium.newkey", &new_key));
        out.push(delete);
        if self.tombstones {
            out.push(self.tombstone(t, offset.clone(), old_key.clone()));
        }
        let mut create = self.record(t, offset, new_key, envelope(t, "c", None, Some(t.row_struct(after)), src));
        create.headers.push(self.key_header("__debezium.oldkey", &old_key));
        out.push(create);
    }

    /// `__debezium-heartbeat.<prefix>`: key `{serverName}`, value `{ts_ms}`.
    pub fn heartbeat(&self, offset: BinlogOffset) -> Record {
        let key = Struct {
            schema: self.heartbeat_key.clone(),
            values: vec![Value::String(self.partition.server.to_string())],
        };
        let ts = crate::schema::now().0;
        let value = Struct { schema: self.heartbeat_value.clone(), values: vec![Value::Int64(ts)] };
        Record {
            partition: self.partition.clone(),
            offset,
            topic: self.heartbeat_topic.clone(),
            kafka_partition: None,
            key_schema: Some(self.heartbeat_key.clone()),
            key: Value::Struct(key),
            value_schema: Some(self.heartbeat_value.clone()),
            value: Value::Struct(value),
            timestamp: None,
            headers: Vec::new(),
        }
    }
}

/// About how many heap bytes a record holds (for the queue's memory bound).
pub fn approx_size(r: &Record) -> usize {
    fn value(v: &Value) -> usize {
        std::mem::size_of::<Value>()
            + match v {
                Value::String(s) => s.capacity(),
                Value::Bytes(b) => b.capacity(),
                Value::Struct(s) => s.values.iter().map(value).sum(),
                Value::Array(a) => a.iter().map(value).sum(),
                Value::Map(m) => m.iter().map(|(k, v)| value(k) + value(v)).sum(),
                Value::Decimal(..) => 16,
                _ => 0,
            }
    }
    std::mem::size_of::<Record>()
        + value(&r.key)
        + value(&r.value)
        + r.offset.file.capacity()
        + r.offset.gtids.as_ref().map_or(0, String::capacity)
        + r.partition.server.len()
}
