//! Table structures and the Connect schemas Debezium derives from them (binlog-cdc.md A2):
//! `<prefix>.<db>.<table>.Key` (the primary key, required), `.Value` (all captured columns,
//! optional) and `.Envelope` (version 2), plus the connector's `Source` block.

use std::sync::Arc;

use runtime::data::{Schema, Struct, Type, Value};

use crate::column::{Kind, Modes};
use crate::config::{Filters, Flavor};

/// One column as the connector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub kind: Kind,
    pub optional: bool,
    pub default: Option<Value>,
    /// The catalogue's `COLUMN_DEFAULT`, as the schema history keeps it.
    pub default_text: Option<String>,
    /// `false`: dropped by column.include/exclude.list (still decoded from the binlog image).
    pub captured: bool,
}

/// A table's structure at some binlog position.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub db: String,
    pub table: String,
    pub columns: Vec<ColumnDef>,
    /// Indexes of the primary-key columns, in key order.
    pub key: Vec<usize>,
}

impl TableDef {
    pub fn id(&self) -> String {
        format!("{}.{}", self.db, self.table)
    }

    /// The key columns `message.key.columns` gives this table instead of its primary key.
    /// Names the table lacks are left out with a warning; with none left the key stays.
    pub fn keyed(mut self, filters: &Filters) -> TableDef {
        let Some(names) = filters.key_columns(&self.db, &self.table) else { return self };
        let mut key = Vec::with_capacity(names.len());
        for n in names {
            match self.columns.iter().position(|c| &c.name == n) {
                Some(i) => key.push(i),
                None => {
                    tracing::warn!(table = %self.id(), column = %n, "message.key.columns names a column the table does not have")
                }
            }
        }
        if !key.is_empty() {
            self.key = key;
        }
        self
    }
}

/// Everything needed to turn a row of a table into records; shared by all its records, so the
/// converter sees the same schema objects again and again.
#[derive(Debug)]
pub struct TableSchemas {
    pub def: TableDef,
    pub topic: Arc<str>,
    pub key: Option<Schema>,
    pub row: Schema,
    pub envelope: Schema,
    /// For each field of `row`: its column index.
    pub row_columns: Vec<usize>,
}

pub const ENUM: &str = "io.debezium.data.Enum";
const SNAPSHOT_ALLOWED: &str = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// `io.debezium.connector.<c>.Source` version 1 (field order from `SchemaFactory` + the binlog
/// source struct maker).
pub fn source_schema(flavor: Flavor) -> Schema {
    let s = |t: Type| Schema::primitive(t, false);
    let o = |t: Type| Schema::primitive(t, true);
    let snapshot = Schema::builder(Type::String)
        .optional()
        .name(ENUM)
        .version(1)
        .parameter("allowed", SNAPSHOT_ALLOWED)
        .default_value(Value::String("false".into()))
        .build();
    Schema::builder(Type::Struct)
        .name(format!("io.debezium.connector.{}.Source", flavor.name()))
        .version(1)
        .field("version", s(Type::String))
        .field("connector", s(Type::String))
        .field("name", s(Type::String))
        .field("ts_ms", s(Type::Int64))
        .field("snapshot", snapshot)
        .field("db", s(Type::String))
        .field("sequence", o(Type::String))
        .field("ts_us", o(Type::Int64))
        .field("ts_ns", o(Type::Int64))
        .field("table", o(Type::String))
        .field("server_id", s(Type::Int64))
        .field("gtid", o(Type::String))
        .field("file", s(Type::String))
        .field("pos", s(Type::Int64))
        .field("row", s(Type::Int32))
        .field("thread", o(Type::Int64))
        .field("query", o(Type::String))
        .build()
}

fn transaction_schema() -> Schema {
    Schema::builder(Type::Struct)
        .optional()
        .name("event.block")
        .version(1)
        .field("id", Schema::primitive(Type::String, false))
        .field("total_order", Schema::primitive(Type::Int64, false))
        .field("data_collection_order", Schema::primitive(Type::Int64, false))
        .build()
}

impl TableSchemas {
    pub fn new(def: TableDef, prefix: &str, source: &Schema, modes: &Modes) -> TableSchemas {
        let base = format!("{prefix}.{}.{}", def.db, def.table);
        let mut row = Schema::builder(Type::Struct).optional().name(format!("{base}.Value"));
        let mut row_columns = Vec::new();
        for (i, c) in def.columns.iter().enumerate().filter(|(_, c)| c.captured) {
            row = row.field(c.name.clone(), c.kind.schema(modes, c.optional, c.default.clone()));
            row_columns.push(i);
        }
        let row = row.build();
        let key = (!def.key.is_empty()).then(|| {
            let mut k = Schema::builder(Type::Struct).name(format!("{base}.Key"));
            for &i in &def.key {
                let c = &def.columns[i];
                k = k.field(c.name.clone(), c.kind.schema(modes, false, c.default.clone()));
            }
            k.build()
        });
        let envelope = Schema::builder(Type::Struct)
            .name(format!("{base}.Envelope"))
            .version(2)
            .field("before", row.clone())
            .field("after", row.clone())
            .field("source", source.clone())
            .field("transaction", transaction_schema())
            .field("op", Schema::primitive(Type::String, false))
            .field("ts_ms", Schema::primitive(Type::Int64, true))
            .field("ts_us", Schema::primitive(Type::Int64, true))
            .field("ts_ns", Schema::primitive(Type::Int64, true))
            .build();
        TableSchemas { topic: base.into(), key, row, envelope, row_columns, def }
    }

    /// The `.Value` struct of a full row (one value per column of the definition).
    pub fn row_struct(&self, mut values: Vec<Value>) -> Struct {
        let values = if self.row_columns.len() == values.len() {
            values
        } else {
            self.row_columns.iter().map(|&i| std::mem::replace(&mut values[i], Value::Null)).collect()
        };
        Struct { schema: self.row.clone(), values }
    }

    /// The key struct, or `None` for a table without a primary key.
    pub fn key_struct(&self, values: &[Value]) -> Option<Struct> {
        let schema = self.key.clone()?;
        Some(Struct { schema, values: self.def.key.iter().map(|&i| values[i].clone()).collect() })
    }
}

/// What the `source` block says about one change.
#[derive(Debug, Clone)]
pub struct SourceInfo<'a> {
    pub ts_ms: i64,
    pub snapshot: Option<&'static str>,
    pub db: &'a str,
    pub table: &'a str,
    pub server_id: u32,
    pub gtid: Option<&'a str>,
    pub file: &'a str,
    pub pos: u64,
    pub row: i32,
    pub thread: Option<i64>,
}

/// Builds `source` structs for one connector.
#[derive(Debug, Clone)]
pub struct SourceBlock {
    pub schema: Schema,
    pub flavor: Flavor,
    pub name: String,
}

pub const VERSION: &str = concat!("sluice-", env!("CARGO_PKG_VERSION"));

impl SourceBlock {
    pub fn new(flavor: Flavor, name: &str) -> SourceBlock {
        SourceBlock { schema: source_schema(flavor), flavor, name: name.to_owned() }
    }

    pub fn build(&self, i: &SourceInfo<'_>) -> Struct {
        let values = vec![
            Value::String(VERSION.into()),
            Value::String(self.flavor.name().into()),
            Value::String(self.name.clone()),
            Value::Int64(i.ts_ms),
            i.snapshot.map_or(Value::Null, |s| Value::String(s.into())),
            Value::String(i.db.to_owned()),
            Value::Null,
            Value::Int64(i.ts_ms * 1000),
            Value::Int64(i.ts_ms * 1_000_000),
            Value::String(i.table.to_owned()),
            Value::Int64(i.server_id as i64),
            i.gtid.map_or(Value::Null, |g| Value::String(g.to_owned())),
            Value::String(i.file.to_owned()),
            Value::Int64(i.pos as i64),
            Value::Int32(i.row),
            i.thread.map_or(Value::Null, Value::Int64),
            Value::Null,
        ];
        Struct { schema: self.schema.clone(), values }
    }
}

/// The processing time, in ms, µs and ns.
pub fn now() -> (i64, i64, i64) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as i64, d.as_micros() as i64, d.as_nanos() as i64)
}

/// The envelope value.
pub fn envelope(
    t: &TableSchemas,
    op: &'static str,
    before: Option<Struct>,
    after: Option<Struct>,
    source: Struct,
) -> Value {
    let (ms, us, ns) = now();
    Value::Struct(Struct {
        schema: t.envelope.clone(),
        values: vec![
            before.map_or(Value::Null, Value::Struct),
            after.map_or(Value::Null, Value::Struct),
            Value::Struct(source),
            Value::Null,
            Value::String(op.into()),
            Value::Int64(ms),
            Value::Int64(us),
            Value::Int64(ns),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::convert::JsonConverter;

    /// The reference's worked example (binlog-cdc.md A2), byte for byte.
    #[test]
    fn worked_example_schema_bytes() {
        let modes = crate::column::tests::MODES;
        let def = TableDef {
            db: "inventory".into(),
            table: "customers".into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    kind: Kind::Int32,
                    optional: false,
                    default: None,
                    default_text: None,
                    captured: true,
                },
                ColumnDef {
                    name: "email".into(),
                    kind: Kind::Text { latin1: false },
                    optional: false,
                    default: None,
                    default_text: None,
                    captured: true,
                },
            ],
            key: vec![0],
        };
        let source = SourceBlock::new(Flavor::MariaDb, "dbserver1");
        let t = TableSchemas::new(def, "dbserver1", &source.schema, &modes);
        let mut conv = JsonConverter::new(true);
        let values = [Value::Int32(1001), Value::String("a@example.com".into())];
        let mut key = Vec::new();
        conv.encode(t.key.as_ref(), &Value::Struct(t.key_struct(&values).unwrap()), &mut key).unwrap();
        assert_eq!(
            String::from_utf8(key).unwrap(),
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.inventory.customers.Key"},"payload":{"id":1001}}"#
        );
        let info = SourceInfo {
            ts_ms: 1_700_000_000_000,
            snapshot: None,
            db: "inventory",
            table: "customers",
            server_id: 1,
            gtid: Some("0-1-42"),
            file: "mariadb-bin.000003",
            pos: 1234,
            row: 0,
            thread: None,
        };
        let v = envelope(&t, "c", None, Some(t.row_struct(values.to_vec())), source.build(&info));
        let mut out = Vec::new();
        conv.encode(Some(&t.envelope), &v, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected_schema = concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":false,"field":"email"}],"optional":true,"name":"dbserver1.inventory.customers.Value","field":"before"},"#,
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":false,"field":"email"}],"optional":true,"name":"dbserver1.inventory.customers.Value","field":"after"},"#,
            r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},"#,
            r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},"#,
            r#"{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},"#,
            r#"{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},"#,
            r#"{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"#,
            r#""optional":false,"name":"io.debezium.connector.mariadb.Source","version":1,"field":"source"},"#,
            r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},"#,
            r#"{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"#,
            r#""optional":false,"name":"dbserver1.inventory.customers.Envelope","version":2},"#,
        );
        assert!(text.starts_with(expected_schema), "{text}");
        let payload = &text[expected_schema.len()..];
        let expected_payload = r#""payload":{"before":null,"after":{"id":1001,"email":"a@example.com"},"source":{"version":"sluice-0.1.0","connector":"mariadb","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false","db":"inventory","sequence":null,"ts_us":1700000000000000,"ts_ns":1700000000000000000,"table":"customers","server_id":1,"gtid":"0-1-42","file":"mariadb-bin.000003","pos":1234,"row":0,"thread":null,"query":null},"transaction":null,"op":"c","ts_ms":"#;
        assert!(payload.starts_with(expected_payload), "{payload}");
    }
}
