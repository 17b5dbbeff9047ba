//! Which tables a connector reads and how they are split over tasks (jdbc-source.md §2,
//! kafka-connect-runtime.md §10): the metadata order is kept, the filters are the reference's,
//! duplicate bare names fail (they would share a topic), and `group_partitions` makes the task
//! configs (`tables` quoted and comma-joined, `tables.fetched=true`, `task.id`).

use runtime::{group_partitions, TaskConfig};
use sqlx::Row;

use crate::config::JdbcSourceConfig;
use crate::connection::Pool;

use crate::config::TableFilter;
use crate::dialect::{Dialect, TableId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TablesError {
    #[error("The connector uses the unqualified table name as the topic name and has detected duplicate unqualified table names: {names}. Use table.whitelist, table.blacklist or table.include.list to keep one of each")]
    DuplicateNames { names: String },
    #[error("table.include.list/table.exclude.list: {pattern:?} is not a regular expression: {message}")]
    BadRegex { pattern: String, message: String },
}

/// A legacy list entry matches the unquoted fqn, the quoted fqn, or the bare table name.
fn listed(list: &[String], t: &TableId, d: Dialect) -> bool {
    let (fqn, quoted) = (t.to_string(), t.quoted(d));
    list.iter().any(|e| *e == fqn || *e == quoted || *e == t.table)
}

fn full_match(patterns: &[String]) -> Result<Vec<regex::Regex>, TablesError> {
    patterns
        .iter()
        .map(|p| {
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| TablesError::BadRegex { pattern: p.clone(), message: e.to_string() })
        })
        .collect()
}

/// The tables to read, in metadata order.
pub fn select(all: &[TableId], filter: &TableFilter, d: Dialect) -> Result<Vec<TableId>, TablesError> {
    let selected: Vec<TableId> = match filter {
        TableFilter::All => all.to_vec(),
        TableFilter::Whitelist(list) => all.iter().filter(|t| listed(list, t, d)).cloned().collect(),
        TableFilter::Blacklist(list) => all.iter().filter(|t| !listed(list, t, d)).cloned().collect(),
        TableFilter::Regex { include, exclude } => {
            let (inc, exc) = (full_match(include)?, full_match(exclude)?);
            all.iter()
                .filter(|t| {
                    let name = t.to_string();
                    (inc.is_empty() || inc.iter().any(|r| r.is_match(&name))) && !exc.iter().any(|r| r.is_match(&name))
                })
                .cloned()
                .collect()
        }
    };
    let mut names: Vec<&str> = selected.iter().map(|t| t.table.as_str()).collect();
    names.sort_unstable();
    let mut dups: Vec<&str> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    dups.dedup();
    if !dups.is_empty() {
        return Err(TablesError::DuplicateNames { names: dups.join(", ") });
    }
    Ok(selected)
}

/// One task config per group: the connector's config plus `tables`, `tables.fetched`, `task.id`.
/// No table yet: one task with `tables=""`.
pub fn task_configs(base: &TaskConfig, tables: &[TableId], max_tasks: usize, d: Dialect) -> Vec<TaskConfig> {
    let with = |tables: String, id: usize| {
        let mut c = base.clone();
        c.insert("tables".into(), tables);
        c.insert("tables.fetched".into(), "true".into());
        c.insert("task.id".into(), id.to_string());
        c
    };
    if tables.is_empty() {
        return vec![with(String::new(), 0)];
    }
    group_partitions(tables, tables.len().min(max_tasks.max(1)))
        .into_iter()
        .enumerate()
        .map(|(i, group)| with(group.iter().map(|t| t.quoted(d)).collect::<Vec<_>>().join(","), i))
        .collect()
}

/// Splits a task's `tables` value (quoted names, comma-separated) back into table ids.
pub fn parse_list(list: &str, d: Dialect) -> Vec<TableId> {
    let q = match d {
        Dialect::MySql => '`',
        Dialect::Postgres => '"',
    };
    let mut out = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c == q && quoted && chars.peek() == Some(&q) => {
                cur.push(q);
                chars.next();
            }
            c if c == q => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            ',' if !quoted => {
                parts.push(std::mem::take(&mut cur));
                out.push(std::mem::take(&mut parts));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || !parts.is_empty() {
        parts.push(cur);
        out.push(parts);
    }
    out.into_iter()
        .filter_map(|mut p| {
            let table = p.pop()?;
            Some(TableId { space: p.pop(), table })
        })
        .collect()
}

fn type_names(types: &[String]) -> String {
    let names: Vec<&str> = types
        .iter()
        .filter_map(|t| match t.trim().to_ascii_uppercase().as_str() {
            "TABLE" => Some("'BASE TABLE'"),
            "VIEW" => Some("'VIEW'"),
            "SYSTEM TABLE" | "SYSTEM VIEW" => Some("'SYSTEM VIEW'"),
            "FOREIGN TABLE" => Some("'FOREIGN'"),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        "'BASE TABLE'".into()
    } else {
        names.join(",")
    }
}

/// The tables the database lists, in JDBC's `getTables` order (type, catalog/schema, name).
/// MySQL: `catalog.pattern`, else the URL's database, else every non-system database.
/// PostgreSQL: `schema.pattern`, else every schema but the system ones.
pub async fn discover(pool: &Pool, c: &JdbcSourceConfig) -> Result<Vec<TableId>, sqlx::Error> {
    let types = type_names(&c.table_types);
    let rows: Vec<(String, String)> = match pool {
        Pool::MySql(p) => {
            let (scope, arg) = match (&c.catalog_pattern, &c.connection.database) {
                (Some(pattern), _) => ("TABLE_SCHEMA LIKE ?", pattern.clone()),
                (None, Some(db)) => ("TABLE_SCHEMA = ?", db.clone()),
                (None, None) => (
                    "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', ?)",
                    String::new(),
                ),
            };
            let sql = format!(
                "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_TYPE IN ({types}) AND {scope} ORDER BY TABLE_TYPE, TABLE_SCHEMA, TABLE_NAME"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(arg).fetch_all(p).await?;
            rows.iter()
                .map(|r| Ok((r.try_get_unchecked::<String, _>(0)?, r.try_get_unchecked::<String, _>(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        }
        Pool::Postgres(p) => {
            let sql = format!(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE table_type IN ({types}) AND table_schema NOT IN ('pg_catalog', 'information_schema') \
                 AND table_schema LIKE $1 ORDER BY table_type, table_schema, table_name"
            );
            let pattern = c.schema_pattern.clone().unwrap_or_else(|| "%".into());
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pattern).fetch_all(p).await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>()?
        }
    };
    Ok(rows.into_iter().map(|(space, table)| TableId { space: Some(space), table }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(names: &[&str]) -> Vec<TableId> {
        names.iter().map(|n| TableId::new(Some("shop"), n)).collect()
    }

    #[test]
    fn legacy_lists_match_three_spellings() {
        let all = shop(&["items", "orders", "users"]);
        let white = TableFilter::Whitelist(vec!["orders".into(), "`shop`.`users`".into()]);
        assert_eq!(select(&all, &white, Dialect::MySql).unwrap(), shop(&["orders", "users"]));
        let black = TableFilter::Blacklist(vec!["shop.items".into()]);
        assert_eq!(select(&all, &black, Dialect::MySql).unwrap(), shop(&["orders", "users"]));
        let rx = TableFilter::Regex { include: vec!["shop\\..*s".into()], exclude: vec![".*users".into()] };
        assert_eq!(select(&all, &rx, Dialect::MySql).unwrap(), shop(&["items", "orders"]));
    }

    #[test]
    fn duplicate_bare_names_fail() {
        let all = vec![TableId::new(Some("a"), "orders"), TableId::new(Some("b"), "orders")];
        let e = select(&all, &TableFilter::All, Dialect::MySql).unwrap_err();
        assert!(e.to_string().contains("duplicate unqualified table names: orders"));
    }

    #[test]
    fn task_split_as_kafka() {
        let base = TaskConfig::from([("mode".to_owned(), "incrementing".to_owned())]);
        let four = task_configs(&base, &shop(&["t1", "t2", "t3", "t4"]), 2, Dialect::MySql);
        let tables: Vec<&str> = four.iter().map(|c| c["tables"].as_str()).collect();
        assert_eq!(tables, vec!["`shop`.`t1`,`shop`.`t2`", "`shop`.`t3`,`shop`.`t4`"]);
        assert_eq!(four[1]["task.id"], "1");
        assert_eq!(four[0]["tables.fetched"], "true");
        assert_eq!(four[0]["mode"], "incrementing");
        assert_eq!(task_configs(&base, &shop(&["t1", "t2", "t3"]), 4, Dialect::MySql).len(), 3);
        let back = parse_list(&four[0]["tables"], Dialect::MySql);
        assert_eq!(back, shop(&["t1", "t2"]));
        let odd = vec![TableId::new(Some("public"), "a,\"b.c")];
        let pg = task_configs(&base, &odd, 1, Dialect::Postgres);
        assert_eq!(parse_list(&pg[0]["tables"], Dialect::Postgres), odd);
        let none = task_configs(&base, &[], 4, Dialect::MySql);
        assert!(parse_list(&none[0]["tables"], Dialect::MySql).is_empty());
        assert_eq!((none.len(), none[0]["tables"].as_str()), (1, ""));
    }
}
