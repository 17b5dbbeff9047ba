//! Which tables a connector reads and how they are split over tasks (jdbc-source.md §2,
//! kafka-connect-runtime.md §10): the metadata order is kept, the filters are the reference's,
//! duplicate bare names fail (they would share a topic), and `group_partitions` makes the task
//! configs (`tables` quoted and comma-joined, `tables.fetched=true`, `task.id`).

use runtime::{group_partitions, TaskConfig};

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
        let none = task_configs(&base, &[], 4, Dialect::MySql);
        assert_eq!((none.len(), none[0]["tables"].as_str()), (1, ""));
    }
}
