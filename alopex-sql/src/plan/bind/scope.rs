//! Name scopes: which columns an expression can see.
//!
//! OWNER: query-binder helper.
//!
//! Two shapes of scope live here. [`Scope`] is the public, plain one: one
//! entry per value of an operator's input row, which the statement binder
//! builds for UPDATE, DELETE and ON CONFLICT. [`RelScope`] is what the query
//! binder works with internally, because SQL's FROM clause needs more than
//! "one name per position":
//!
//! * a column of a USING or NATURAL join appears once, unqualified, as the
//!   *merged* column (for a FULL join `COALESCE(l.c, r.c)`), while `l.c` and
//!   `r.c` stay reachable qualified and through `l.*` but are skipped by `*`
//!   and by unqualified lookup (PostgreSQL's rules);
//! * so an entry resolves to an *expression* over the row rather than to a
//!   position, and `*` expands entries in scope order, not row order;
//! * grouping by a table's primary key makes its other columns usable
//!   (functional dependency), so a scope remembers which row positions came
//!   from which base table and what its key is.
//!
//! Lookup returns a three-way answer for qualified names (found / the table
//! is here but not the column / no such table here) because PostgreSQL stops
//! searching outward as soon as the table alias is found at some level.

use crate::catalog::TableSchema;
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::sql_err;
use crate::types::DataType;

/// The columns of an operator's input row, in row order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// One entry per value of the input row.
    pub columns: Vec<ScopeColumn>,
}

/// One column of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    /// The table alias it can be qualified with.
    pub table: Option<String>,
    /// The column name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
    /// Not expanded by `*` and not nameable (the hidden row id).
    pub hidden: bool,
}

impl Scope {
    /// The columns of a table row, qualified by `alias`.
    pub fn for_table(table: &TableSchema, alias: &str) -> Scope {
        Scope {
            columns: table
                .columns
                .iter()
                .map(|c| ScopeColumn {
                    table: Some(alias.to_string()),
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    hidden: c.hidden,
                })
                .collect(),
        }
    }

    /// This scope's columns followed by `other`'s (a join's input row).
    pub fn join(mut self, other: Scope) -> Scope {
        self.columns.extend(other.columns);
        self
    }
}

/// One nameable entry of a [`RelScope`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RelCol {
    /// The alias it can be qualified with.
    pub table: Option<String>,
    /// The column name.
    pub name: String,
    /// The value, over the scope's row (usually `Column(i)`).
    pub expr: Expr,
    /// Never nameable, never expanded (the hidden row id).
    pub hidden: bool,
    /// Only reachable qualified (`t.c`, `t.*`): the originals of a USING
    /// column.
    pub qualified_only: bool,
}

/// A base table inside a scope's row, for functional dependencies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BaseTable {
    /// Row positions of its primary-key columns.
    pub key: Vec<usize>,
    /// Row positions of all of its columns.
    pub columns: std::ops::Range<usize>,
}

/// The query binder's scope: named entries over a row of `width` values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RelScope {
    /// Entries in `*` order.
    pub cols: Vec<RelCol>,
    /// Values per row.
    pub width: usize,
    /// Base tables whose columns are in the row.
    pub tables: Vec<BaseTable>,
}

/// The answer of a name lookup in one scope.
pub(crate) enum Lookup {
    /// Resolved to this expression and type.
    Found(Expr),
    /// The name is not here (look further out).
    Missing,
    /// The qualifier names a table of this scope that has no such column:
    /// an error, without looking further out.
    NoColumn,
}

impl RelScope {
    /// The scope of a table row under `alias`.
    pub fn for_table(table: &TableSchema, alias: &str) -> RelScope {
        RelScope {
            cols: table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| RelCol {
                    table: Some(alias.to_string()),
                    name: c.name.clone(),
                    expr: Expr::Column(i, c.ty.clone()),
                    hidden: c.hidden,
                    qualified_only: false,
                })
                .collect(),
            width: table.columns.len(),
            tables: vec![BaseTable { key: table.primary_key.clone(), columns: 0..table.columns.len() }],
        }
    }

    /// A scope over a row of the given named columns (a derived table).
    pub fn for_columns(alias: Option<&str>, columns: &[(String, DataType)]) -> RelScope {
        RelScope {
            cols: columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty))| RelCol {
                    table: alias.map(str::to_string),
                    name: name.clone(),
                    expr: Expr::Column(i, ty.clone()),
                    hidden: false,
                    qualified_only: false,
                })
                .collect(),
            width: columns.len(),
            tables: vec![],
        }
    }

    /// The internal view of a public [`Scope`].
    pub fn from_scope(scope: &Scope) -> RelScope {
        RelScope {
            cols: scope
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| RelCol {
                    table: c.table.clone(),
                    name: c.name.clone(),
                    expr: Expr::Column(i, c.ty.clone()),
                    hidden: c.hidden,
                    qualified_only: false,
                })
                .collect(),
            width: scope.columns.len(),
            tables: vec![],
        }
    }

    /// The join of two scopes: `self`'s row followed by `right`'s.
    pub fn join(mut self, right: RelScope) -> RelScope {
        let shift = self.width;
        self.cols.extend(right.cols.into_iter().map(|mut c| {
            c.expr = shift_columns(c.expr, shift);
            c
        }));
        self.tables.extend(right.tables.into_iter().map(|t| BaseTable {
            key: t.key.iter().map(|k| k + shift).collect(),
            columns: t.columns.start + shift..t.columns.end + shift,
        }));
        self.width += right.width;
        self
    }

    /// The table aliases this scope answers to.
    pub fn aliases(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.cols {
            if let Some(t) = c.table.as_deref()
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// True when some entry is qualified by `table`.
    pub fn has_table(&self, table: &str) -> bool {
        self.cols.iter().any(|c| c.table.as_deref() == Some(table))
    }

    /// Looks up `name`, qualified by `table` when given.
    pub fn lookup(&self, table: Option<&str>, name: &str) -> Result<Lookup> {
        let mut found: Option<&RelCol> = None;
        for c in &self.cols {
            if c.hidden || c.name != name {
                continue;
            }
            let matches = match table {
                Some(t) => c.table.as_deref() == Some(t),
                None => !c.qualified_only,
            };
            if !matches {
                continue;
            }
            if let Some(prev) = found
                && prev.expr != c.expr
            {
                let shown = match table {
                    Some(t) => format!("{t}.{name}"),
                    None => name.to_string(),
                };
                return Err(sql_err!(AMBIGUOUS_COLUMN, "column reference \"{shown}\" is ambiguous"));
            }
            found = Some(c);
        }
        match (found, table) {
            (Some(c), _) => Ok(Lookup::Found(c.expr.clone())),
            (None, Some(t)) if self.has_table(t) => Ok(Lookup::NoColumn),
            (None, _) => Ok(Lookup::Missing),
        }
    }

    /// The expressions and names `*` (or `table.*`) expands to.
    pub fn expand_star(&self, table: Option<&str>) -> Result<Vec<(String, Expr)>> {
        if let Some(t) = table
            && !self.has_table(t)
        {
            return Err(sql_err!(UNDEFINED_TABLE, "missing FROM-clause entry for table \"{t}\""));
        }
        Ok(self
            .cols
            .iter()
            .filter(|c| {
                !c.hidden
                    && match table {
                        Some(t) => c.table.as_deref() == Some(t),
                        None => !c.qualified_only,
                    }
            })
            .map(|c| (c.name.clone(), c.expr.clone()))
            .collect())
    }

    /// A readable name for row position `index` (`t.c`), for errors.
    pub fn describe(&self, index: usize) -> String {
        let hit = self.cols.iter().find(|c| matches!(&c.expr, Expr::Column(i, _) if *i == index));
        match hit {
            Some(RelCol { table: Some(t), name, .. }) => format!("{t}.{name}"),
            Some(RelCol { table: None, name, .. }) => name.clone(),
            None => format!("#{index}"),
        }
    }

    /// The scope with every entry requalified by `alias` and the first
    /// visible columns renamed to `names` (`AS alias(a, b)`). Entries only
    /// reachable qualified disappear: the alias hides the inner names.
    pub fn realias(self, alias: &str, names: &[String]) -> Result<RelScope> {
        let visible = self.cols.iter().filter(|c| !c.hidden && !c.qualified_only).count();
        if names.len() > visible {
            return Err(Error::new(
                SqlState::INVALID_COLUMN_REFERENCE,
                format!("table \"{alias}\" has {visible} columns available but {} columns specified", names.len()),
            ));
        }
        let mut renames = names.iter();
        let cols = self
            .cols
            .into_iter()
            .filter(|c| !c.qualified_only)
            .map(|mut c| {
                c.table = Some(alias.to_string());
                if !c.hidden
                    && let Some(n) = renames.next()
                {
                    c.name = n.clone();
                }
                c
            })
            .collect();
        Ok(RelScope { cols, width: self.width, tables: self.tables })
    }
}

/// `expr` with every `Column(i)` moved to `Column(i + by)`.
pub(crate) fn shift_columns(expr: Expr, by: usize) -> Expr {
    if by == 0 {
        return expr;
    }
    match expr {
        Expr::Column(i, ty) => Expr::Column(i + by, ty),
        e => e.map_children(&mut |c| shift_columns(c, by)),
    }
}

/// `expr` with every `Column(i)` turned into an outer reference `depth`
/// levels out.
pub(crate) fn outerize(expr: Expr, depth: usize) -> Expr {
    match expr {
        Expr::Column(index, ty) => Expr::Outer { depth, index, ty },
        e => e.map_children(&mut |c| outerize(c, depth)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnSchema, ROW_ID_COLUMN};
    use crate::types::Value;

    fn table(name: &str, cols: &[(&str, DataType)], row_id: bool) -> TableSchema {
        let mut columns: Vec<ColumnSchema> = cols
            .iter()
            .enumerate()
            .map(|(i, (n, ty))| ColumnSchema {
                id: i as u32 + 1,
                name: n.to_string(),
                ty: ty.clone(),
                nullable: true,
                default: None,
                missing: Value::Null,
                hidden: false,
            })
            .collect();
        if row_id {
            columns.push(ColumnSchema {
                id: 99,
                name: ROW_ID_COLUMN.into(),
                ty: DataType::Int8,
                nullable: false,
                default: None,
                missing: Value::Null,
                hidden: true,
            });
        }
        let pk = if row_id { vec![columns.len() - 1] } else { vec![0] };
        TableSchema {
            id: 20,
            name: name.into(),
            columns,
            primary_key: pk,
            indexes: vec![],
            checks: vec![],
            next_column_id: 100,
            next_index_id: 2,
        }
    }

    #[test]
    fn lookup_qualified_and_unqualified() {
        let t = table("t", &[("a", DataType::Int4), ("b", DataType::Text)], true);
        let u = table("u", &[("a", DataType::Int8)], false);
        let s = RelScope::for_table(&t, "t").join(RelScope::for_table(&u, "u"));
        assert_eq!(s.width, 4);
        assert!(matches!(s.lookup(None, "b").unwrap(), Lookup::Found(Expr::Column(1, DataType::Text))));
        assert!(matches!(s.lookup(Some("u"), "a").unwrap(), Lookup::Found(Expr::Column(3, DataType::Int8))));
        let err = s.lookup(None, "a").err().unwrap();
        assert_eq!(err.state, SqlState::AMBIGUOUS_COLUMN);
        assert!(matches!(s.lookup(Some("u"), "zz").unwrap(), Lookup::NoColumn));
        assert!(matches!(s.lookup(Some("v"), "a").unwrap(), Lookup::Missing));
        // The hidden row id is never nameable.
        assert!(matches!(s.lookup(None, ROW_ID_COLUMN).unwrap(), Lookup::Missing));
        let star = s.expand_star(None).unwrap();
        assert_eq!(star.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a", "b", "a"]);
        assert_eq!(s.tables[1].key, vec![3]);
        assert_eq!(s.describe(3), "u.a");
    }

    #[test]
    fn realias_renames_and_counts_visible_columns() {
        let t = table("t", &[("a", DataType::Int4), ("b", DataType::Text)], true);
        let s = RelScope::for_table(&t, "t").realias("x", &["p".into()]).unwrap();
        assert!(matches!(s.lookup(Some("x"), "p").unwrap(), Lookup::Found(Expr::Column(0, _))));
        assert!(matches!(s.lookup(Some("x"), "b").unwrap(), Lookup::Found(Expr::Column(1, _))));
        assert!(matches!(s.lookup(Some("t"), "a").unwrap(), Lookup::Missing));
        let err = RelScope::for_table(&t, "t").realias("x", &["p".into(), "q".into(), "r".into()]).err().unwrap();
        assert_eq!(err.state, SqlState::INVALID_COLUMN_REFERENCE);
    }

    #[test]
    fn shifting_and_outer_references() {
        let e = Expr::Column(2, DataType::Int4);
        assert_eq!(shift_columns(e.clone(), 3), Expr::Column(5, DataType::Int4));
        assert_eq!(outerize(e, 1), Expr::Outer { depth: 1, index: 2, ty: DataType::Int4 });
    }
}
