//! The exact statements of the reference (jdbc-source.md §3): `SELECT * FROM <table>` (or the
//! user's query), the mode's criteria starting with a space, then `" " + query.suffix`; columns
//! qualified with the table in table mode, bare in query mode; binds in the reference's order.

use crate::config::Mode;
use crate::dialect::{Dialect, TableId};

/// What a statement reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Table(TableId),
    /// `query` mode: the user's query, verbatim; criteria are appended to it.
    Query(String),
}

/// A value to bind, in statement order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// Database `CURRENT_TIMESTAMP` minus `timestamp.delay.interval.ms`.
    EndBound,
    /// The offset's timestamp (epoch 0 without one).
    LastTimestamp,
    /// The offset's incrementing value (-1 without one).
    LastIncrementing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

/// How identifiers are written: quoted (`quote.sql.identifiers=always`, the default) or as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub dialect: Dialect,
    pub quote: bool,
}

impl Names {
    fn ident(self, name: &str) -> String {
        if self.quote {
            self.dialect.quote(name)
        } else {
            name.to_owned()
        }
    }

    /// A column of `t` as written in statements (qualified with the table).
    pub fn column_of(self, t: &TableId, name: &str) -> String {
        column(self, &Source::Table(t.clone()), name)
    }

    /// `t` as written in statements.
    pub fn table(self, t: &TableId) -> String {
        if self.quote {
            t.quoted(self.dialect)
        } else {
            t.to_string()
        }
    }
}

fn column(d: Names, source: &Source, name: &str) -> String {
    match source {
        Source::Table(t) => format!("{}.{}", d.table(t), d.ident(name)),
        Source::Query(_) => d.ident(name),
    }
}

/// `c` or `COALESCE(c1,c2,…)`.
fn timestamp_expr(d: Names, source: &Source, columns: &[String]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| column(d, source, c)).collect();
    if cols.len() == 1 {
        cols.into_iter().next().unwrap_or_default()
    } else {
        format!("COALESCE({})", cols.join(","))
    }
}

/// Builds the statement of one poll.
pub fn build(names: Names, source: &Source, mode: &Mode, suffix: Option<&str>) -> Statement {
    let d = names;
    let mut sql = match source {
        Source::Table(t) => format!("SELECT * FROM {}", d.table(t)),
        Source::Query(q) => q.clone(),
    };
    let (criteria, binds) = match mode {
        Mode::Bulk => (String::new(), vec![]),
        Mode::Incrementing { column: inc } => {
            let inc = column(d, source, inc);
            (format!(" WHERE {inc} > {} ORDER BY {inc} ASC", d.dialect.placeholder(1)), vec![Bind::LastIncrementing])
        }
        Mode::Timestamp { columns } => {
            let ts = timestamp_expr(d, source, columns);
            (
                format!(
                    " WHERE {ts} > {} AND {ts} < {} ORDER BY {ts} ASC",
                    d.dialect.placeholder(1),
                    d.dialect.placeholder(2)
                ),
                vec![Bind::LastTimestamp, Bind::EndBound],
            )
        }
        Mode::TimestampIncrementing { timestamp, incrementing } => {
            let ts = timestamp_expr(d, source, timestamp);
            let inc = column(d, source, incrementing);
            let p = |n| d.dialect.placeholder(n);
            (
                format!(
                    " WHERE {ts} < {} AND (({ts} = {} AND {inc} > {}) OR {ts} > {}) ORDER BY {ts},{inc} ASC",
                    p(1),
                    p(2),
                    p(3),
                    p(4)
                ),
                vec![Bind::EndBound, Bind::LastTimestamp, Bind::LastIncrementing, Bind::LastTimestamp],
            )
        }
    };
    sql.push_str(&criteria);
    if let Some(s) = suffix.filter(|s| !s.is_empty()) {
        sql.push(' ');
        sql.push_str(s);
    }
    Statement { sql, binds }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MY: Names = Names { dialect: Dialect::MySql, quote: true };
    const PG: Names = Names { dialect: Dialect::Postgres, quote: true };

    #[test]
    fn quote_sql_identifiers_never() {
        let never = Names { dialect: Dialect::MySql, quote: false };
        let s = build(never, &orders("shop"), &Mode::Incrementing { column: "id".into() }, None);
        assert_eq!(s.sql, "SELECT * FROM shop.orders WHERE shop.orders.id > ? ORDER BY shop.orders.id ASC");
    }

    fn orders(space: &str) -> Source {
        Source::Table(TableId::new(Some(space), "orders"))
    }

    #[test]
    fn reference_examples() {
        let tsinc = Mode::TimestampIncrementing { timestamp: vec!["updated_at".into()], incrementing: "id".into() };
        let s = build(MY, &orders("shop"), &tsinc, None);
        assert_eq!(
            s.sql,
            "SELECT * FROM `shop`.`orders` WHERE `shop`.`orders`.`updated_at` < ? AND ((`shop`.`orders`.`updated_at` = ? AND `shop`.`orders`.`id` > ?) OR `shop`.`orders`.`updated_at` > ?) ORDER BY `shop`.`orders`.`updated_at`,`shop`.`orders`.`id` ASC"
        );
        assert_eq!(s.binds, vec![Bind::EndBound, Bind::LastTimestamp, Bind::LastIncrementing, Bind::LastTimestamp]);

        let inc = build(PG, &orders("public"), &Mode::Incrementing { column: "id".into() }, None);
        assert_eq!(
            inc.sql,
            r#"SELECT * FROM "public"."orders" WHERE "public"."orders"."id" > $1 ORDER BY "public"."orders"."id" ASC"#
        );

        let coalesce = Mode::Timestamp { columns: vec!["updated_at".into(), "created_at".into()] };
        let ts = build(MY, &orders("shop"), &coalesce, None);
        assert_eq!(
            ts.sql,
            "SELECT * FROM `shop`.`orders` WHERE COALESCE(`shop`.`orders`.`updated_at`,`shop`.`orders`.`created_at`) > ? AND COALESCE(`shop`.`orders`.`updated_at`,`shop`.`orders`.`created_at`) < ? ORDER BY COALESCE(`shop`.`orders`.`updated_at`,`shop`.`orders`.`created_at`) ASC"
        );
        assert_eq!(ts.binds, vec![Bind::LastTimestamp, Bind::EndBound]);
    }

    #[test]
    fn bulk_query_mode_and_suffix() {
        let bulk = build(MY, &orders("shop"), &Mode::Bulk, Some("LIMIT 10"));
        assert_eq!(bulk.sql, "SELECT * FROM `shop`.`orders` LIMIT 10");
        assert!(bulk.binds.is_empty());
        let q = Source::Query("SELECT * FROM (SELECT id, name FROM t) x".into());
        let s = build(PG, &q, &Mode::Incrementing { column: "id".into() }, Some("LIMIT 5"));
        assert_eq!(s.sql, r#"SELECT * FROM (SELECT id, name FROM t) x WHERE "id" > $1 ORDER BY "id" ASC LIMIT 5"#);
    }
}
