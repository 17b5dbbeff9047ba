//! What differs between databases: identifier quoting, placeholders, and how a table is named
//! (MySQL/MariaDB: database = catalog, `db.table`; PostgreSQL: `schema.table`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Postgres,
}

impl Dialect {
    /// Quotes one identifier (`` `a` `` or `"a"`), doubling embedded quote characters.
    pub fn quote(self, ident: &str) -> String {
        let q = match self {
            Dialect::MySql => '`',
            Dialect::Postgres => '"',
        };
        let escaped = ident.replace(q, &format!("{q}{q}"));
        format!("{q}{escaped}{q}")
    }

    /// The `n`-th (1-based) bind placeholder: `?` or `$n`.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::MySql => "?".into(),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

/// A table: `space` is the MySQL database or the PostgreSQL schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    pub space: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn new(space: Option<&str>, table: &str) -> Self {
        TableId { space: space.map(str::to_owned), table: table.to_owned() }
    }

    /// `space.table` quoted by the dialect (`` `shop`.`orders` ``).
    pub fn quoted(&self, d: Dialect) -> String {
        match &self.space {
            Some(s) => format!("{}.{}", d.quote(s), d.quote(&self.table)),
            None => d.quote(&self.table),
        }
    }
}

/// The unquoted fully qualified name: the offset partition's `table`.
impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.space {
            Some(s) => write!(f, "{s}.{}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_names() {
        let t = TableId::new(Some("shop"), "orders");
        assert_eq!(t.quoted(Dialect::MySql), "`shop`.`orders`");
        assert_eq!(t.quoted(Dialect::Postgres), "\"shop\".\"orders\"");
        assert_eq!(t.to_string(), "shop.orders");
        assert_eq!(Dialect::MySql.quote("we`ird"), "`we``ird`");
        assert_eq!(Dialect::Postgres.placeholder(3), "$3");
    }
}
