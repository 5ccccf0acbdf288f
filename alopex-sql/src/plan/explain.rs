//! EXPLAIN output: the plan tree as indented text.
//!
//! One line per operator, children indented two spaces under their parent,
//! in [`Node::children`] order. The operator names are Alopex's own
//! (`Scan`, `IndexScan`, `HashJoin`, `TopN`, …), not PostgreSQL's, because
//! they name what actually runs.
//!
//! Expressions are shown with names, not row positions. Every node's output
//! columns get names bottom-up (a scan's columns are `alias.column`, a
//! projection's are its rendered expressions, a join's are the left names
//! followed by the right names, an aggregate's are its group keys then its
//! aggregate calls), and each expression is rendered against the names of
//! the row it is evaluated over. Binary operators are always parenthesized,
//! so the text shows the tree's shape without precedence rules.
//!
//! Subqueries inside expressions appear as `(SubPlan n)`; their plans follow
//! the node's line under a `SubPlan n` heading, with outer references
//! resolved against the row of the expression that runs them. Subplans are
//! not operators of the main tree, so they take no position in the
//! EXPLAIN ANALYZE statistics, which are indexed by the pre-order position
//! of the main tree's nodes (root = 0).
//!
//! The output is a pure function of the plan (and the statistics): golden
//! tests compare it verbatim.

use std::fmt::Write;
use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::TableSchema;
use crate::exec::NodeStats;
use crate::expr::{AggFunc, Expr, Subquery, SubqueryKind, UnaryOp};
use crate::plan::{AggCall, JoinKind, Node, OnConflictAction, Plan, ScanRange, SetOpKind, SortKey};
use crate::types::Value;

/// One line per operator, children indented under their parent, with
/// names resolved (`t1.a`, not positions). With `stats` (indexed by pre-order
/// position), each line ends with `(rows=N loops=L time=T)`.
pub fn explain(plan: &Plan, stats: Option<&[NodeStats]>) -> Vec<String> {
    let mut out = Explainer { lines: Vec::new(), stats, next_position: 0, outer: Vec::new() };
    out.node(&plan.root, 0);
    out.lines
}

/// The key spans `plan` reads or writes, each once, labeled by table and
/// index (`t (rows)`, `t (index t_b)`, `t (table and indexes)` for a
/// write), in plan order: what EXPLAIN lists the ranges of on a
/// distributed store. Subplans inside expressions are not included.
pub fn touched_spans(plan: &Plan) -> Vec<(String, alopex_core::KeyBounds)> {
    fn index_name(table: &TableSchema, index: usize) -> &str {
        table.indexes.get(index).map_or("?", |ix| ix.name.as_str())
    }
    fn index_id(table: &TableSchema, index: usize) -> u32 {
        table.indexes.get(index).map_or(crate::table::PRIMARY_INDEX_ID, |ix| ix.id)
    }
    fn walk(node: &Node, out: &mut Vec<(String, alopex_core::KeyBounds)>) {
        let rows = |t: &TableSchema| {
            (format!("{} (rows)", t.name), crate::table::index_span(t.id, crate::table::PRIMARY_INDEX_ID))
        };
        let index = |t: &TableSchema, i: usize| {
            (format!("{} (index {})", t.name, index_name(t, i)), crate::table::index_span(t.id, index_id(t, i)))
        };
        let entry = match node {
            Node::Scan { table, .. } => Some(rows(table)),
            Node::IndexScan { table, index: i, .. } | Node::VectorSearch { table, index: i, .. } => {
                Some(index(table, *i))
            }
            Node::LookupJoin { table, index: i, .. } => Some(match i {
                Some(i) => index(table, *i),
                None => rows(table),
            }),
            Node::Insert { table, .. } | Node::Update { table, .. } | Node::Delete { table, .. } => {
                Some((format!("{} (table and indexes)", table.name), crate::table::table_span(table.id)))
            }
            _ => None,
        };
        if let Some(entry) = entry
            && !out.iter().any(|(label, _)| *label == entry.0)
        {
            out.push(entry);
        }
        for child in node.children() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan.root, &mut out);
    out
}

/// EXPLAIN's lines for the filters a store that evaluates them where the
/// rows live is handed (`crate::pushed_filter`): for every primary-key scan
/// whose filter has a pushable part, `Pushed filter on <alias>: <part>`.
/// The scan's own filter (on its line) still applies to what arrives.
pub fn pushed_filter_lines(plan: &Plan) -> Vec<String> {
    fn walk(node: &Node, out: &mut Vec<String>) {
        if let Node::Scan { table, alias, filter: Some(f), .. } = node
            && let Some(part) = crate::pushed_filter::pushable_part(f, table)
        {
            let mut r = Renderer { outer: &[], subplans: Vec::new() };
            out.push(format!(
                "Pushed filter on {}: {}",
                relation(table, alias),
                r.expr(&part, &table_names(table, alias))
            ));
        }
        for child in node.children() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan.root, &mut out);
    out
}

/// The names of a node's output columns.
fn output_names(node: &Node, outer: &[Vec<String>]) -> Vec<String> {
    let mut r = Renderer { outer, subplans: Vec::new() };
    match node {
        Node::Values { width, .. } | Node::Empty { width } => (1..=*width).map(|i| format!("column{i}")).collect(),
        Node::TableFunction { func, ordinality, .. } => {
            let mut names = vec![func.name().to_string()];
            if *ordinality {
                names.push("ordinality".into());
            }
            names
        }
        Node::ProjectSet { input, calls } => {
            let mut names = output_names(input, outer);
            let input_names = names.clone();
            names.extend(calls.iter().map(|c| format!("{}({})", c.func.name(), r.list(&c.args, &input_names))));
            names
        }
        Node::Scan { table, alias, .. }
        | Node::IndexScan { table, alias, .. }
        | Node::VectorSearch { table, alias, .. } => table_names(table, alias),
        Node::Filter { input, .. }
        | Node::Sort { input, .. }
        | Node::TopN { input, .. }
        | Node::Limit { input, .. }
        | Node::Distinct { input } => output_names(input, outer),
        Node::SetOp { left, .. } => output_names(left, outer),
        Node::Project { input, exprs } => {
            let names = output_names(input, outer);
            exprs.iter().map(|e| r.expr(e, &names)).collect()
        }
        Node::NestedLoopJoin { left, right, kind, .. } | Node::HashJoin { left, right, kind, .. } => {
            let mut names = output_names(left, outer);
            if !matches!(kind, JoinKind::Semi | JoinKind::Anti) {
                names.extend(output_names(right, outer));
            }
            names
        }
        Node::LookupJoin { left, table, alias, kind, .. } => {
            let mut names = output_names(left, outer);
            if !matches!(kind, JoinKind::Semi | JoinKind::Anti) {
                names.extend(table_names(table, alias));
            }
            names
        }
        Node::Aggregate { input, group_by, aggregates } => {
            let names = output_names(input, outer);
            let mut out: Vec<String> = group_by.iter().map(|e| r.expr(e, &names)).collect();
            out.extend(aggregates.iter().map(|a| r.agg(a, &names)));
            out
        }
        Node::Insert { table, returning, .. } => {
            let names = table_names(table, &table.name);
            returning.iter().flatten().map(|e| r.expr(e, &names)).collect()
        }
        Node::Update { input, returning, .. } | Node::Delete { input, returning, .. } => {
            let names = output_names(input, outer);
            returning.iter().flatten().map(|e| r.expr(e, &names)).collect()
        }
    }
}

/// `alias.column` for every column of a table row.
fn table_names(table: &TableSchema, alias: &str) -> Vec<String> {
    table.columns.iter().map(|c| format!("{alias}.{}", c.name)).collect()
}

struct Explainer<'s> {
    lines: Vec<String>,
    stats: Option<&'s [NodeStats]>,
    /// Pre-order position of the next main-tree node.
    next_position: usize,
    /// Names of the enclosing rows while rendering a subplan (innermost last).
    outer: Vec<Vec<String>>,
}

impl Explainer<'_> {
    /// Renders `node` at `depth`, then its subplans and children.
    fn node(&mut self, node: &Node, depth: usize) {
        let position = self.next_position;
        self.next_position += 1;
        let mut r = Renderer { outer: &self.outer, subplans: Vec::new() };
        let mut line = describe(node, &mut r);
        let subplans = std::mem::take(&mut r.subplans);
        if let Some(s) = self.stats.and_then(|s| s.get(position)) {
            let ms = s.elapsed.as_secs_f64() * 1000.0;
            let _ = write!(line, " (rows={} loops={} time={ms:.3}ms)", s.rows, s.loops);
        }
        self.lines.push(format!("{}{line}", "  ".repeat(depth)));
        for (sub, row_names) in subplans {
            self.subplan(&sub, row_names, depth + 1);
        }
        for child in node.children() {
            self.node(child, depth + 1);
        }
    }

    /// A subquery's plan under a `SubPlan n` heading. Its nodes are not part
    /// of the main tree's numbering.
    fn subplan(&mut self, sub: &Subquery, row_names: Vec<String>, depth: usize) {
        self.lines.push(format!("{}SubPlan {}", "  ".repeat(depth), sub.id));
        let mut inner = Explainer {
            lines: Vec::new(),
            stats: None,
            next_position: 0,
            outer: self.outer.iter().cloned().chain([row_names]).collect(),
        };
        inner.node(&sub.plan, depth + 1);
        self.lines.extend(inner.lines);
    }
}

/// The line for one node (without indentation or statistics).
fn describe(node: &Node, r: &mut Renderer<'_>) -> String {
    let outer = r.outer;
    let input_names = |n: &Node| output_names(n, outer);
    match node {
        Node::Values { rows, .. } => {
            format!("Values ({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" })
        }
        Node::Empty { .. } => "Empty".into(),
        Node::TableFunction { func, args, ordinality, .. } => format!(
            "FunctionScan {}({}){}",
            func.name(),
            r.list(args, &[]),
            if *ordinality { " with ordinality" } else { "" }
        ),
        Node::ProjectSet { input, calls } => {
            let names = input_names(input);
            let calls: Vec<String> =
                calls.iter().map(|c| format!("{}({})", c.func.name(), r.list(&c.args, &names))).collect();
            format!("ProjectSet [{}]", calls.join(", "))
        }
        Node::Scan { table, alias, range, reverse, filter } => {
            let names = table_names(table, alias);
            let mut s = format!("Scan {}", relation(table, alias));
            scan_details(&mut s, r, range, *reverse, filter.as_ref(), &names);
            s
        }
        Node::IndexScan { table, alias, index, range, reverse, filter } => {
            let names = table_names(table, alias);
            let index_name = table.indexes.get(*index).map_or_else(|| format!("#{index}"), |i| i.name.clone());
            let mut s = format!("IndexScan {} using {index_name}", relation(table, alias));
            scan_details(&mut s, r, range, *reverse, filter.as_ref(), &names);
            s
        }
        Node::VectorSearch { table, alias, index, query, limit, offset, filter } => {
            let names = table_names(table, alias);
            let (index_name, how) = match table.indexes.get(*index) {
                Some(ix) => match ix.kind {
                    crate::catalog::IndexKind::Hnsw(h) => (ix.name.clone(), format!("hnsw {}", h.metric.operator())),
                    crate::catalog::IndexKind::BTree => (ix.name.clone(), "btree".to_string()),
                },
                None => (format!("#{index}"), "?".to_string()),
            };
            let mut s = format!(
                "VectorSearch {} using {index_name} ({how}) nearest {} limit {}",
                relation(table, alias),
                r.expr(query, &[]),
                r.expr(limit, &[])
            );
            if let Some(o) = offset {
                let _ = write!(s, " offset {}", r.expr(o, &[]));
            }
            if let Some(f) = filter {
                let _ = write!(s, " filter in graph walk: {}", r.expr(f, &names));
            }
            s
        }
        Node::Filter { input, predicate } => format!("Filter {}", r.expr(predicate, &input_names(input))),
        Node::Project { input, exprs } => {
            let names = input_names(input);
            format!("Project [{}]", r.list(exprs, &names))
        }
        Node::NestedLoopJoin { left, right, kind, predicate } => match predicate {
            None if *kind == JoinKind::Inner => "NestedLoopJoin cross".into(),
            None => format!("NestedLoopJoin {}", join_kind(*kind)),
            Some(p) => {
                let names = [input_names(left), input_names(right)].concat();
                format!("NestedLoopJoin {} on {}", join_kind(*kind), r.expr(p, &names))
            }
        },
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let (ln, rn) = (input_names(left), input_names(right));
            let keys: Vec<String> = left_keys
                .iter()
                .zip(right_keys)
                .map(|(l, k)| format!("{} = {}", r.expr(l, &ln), r.expr(k, &rn)))
                .collect();
            let mut s = format!("HashJoin {} on [{}]", join_kind(*kind), keys.join(", "));
            if let Some(res) = residual {
                let _ = write!(s, " residual {}", r.expr(res, &[ln, rn].concat()));
            }
            s
        }
        Node::LookupJoin { left, table, alias, index, keys, kind, filter, residual } => {
            let (ln, tn) = (input_names(left), table_names(table, alias));
            let (key_name, key_columns) = match index {
                None => (table.pkey_name(), &table.primary_key[..]),
                Some(i) => match table.indexes.get(*i) {
                    Some(ix) => (ix.name.clone(), &ix.columns[..]),
                    None => (format!("#{i}"), &[][..]),
                },
            };
            let keys: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let column = key_columns.get(i).and_then(|&c| tn.get(c)).map_or("?", String::as_str);
                    format!("{column} = {}", r.expr(k, &ln))
                })
                .collect();
            let mut s = format!(
                "LookupJoin {} {} using {key_name} on [{}]",
                join_kind(*kind),
                relation(table, alias),
                keys.join(", ")
            );
            if let Some(f) = filter {
                let _ = write!(s, " filter: {}", r.expr(f, &tn));
            }
            if let Some(res) = residual {
                let _ = write!(s, " residual {}", r.expr(res, &[ln, tn].concat()));
            }
            s
        }
        Node::Aggregate { input, group_by, aggregates } => {
            let names = input_names(input);
            let mut s = String::from("Aggregate");
            if !group_by.is_empty() {
                let _ = write!(s, " group by [{}]", r.list(group_by, &names));
            }
            if !aggregates.is_empty() {
                let aggs: Vec<String> = aggregates.iter().map(|a| r.agg(a, &names)).collect();
                let _ = write!(s, " aggs [{}]", aggs.join(", "));
            }
            s
        }
        Node::Sort { input, keys } => format!("Sort [{}]", r.sort_keys(keys, &input_names(input))),
        Node::TopN { input, keys, limit, offset } => {
            let mut s = format!("TopN {} by [{}]", r.expr(limit, &[]), r.sort_keys(keys, &input_names(input)));
            if let Some(o) = offset {
                let _ = write!(s, " offset {}", r.expr(o, &[]));
            }
            s
        }
        Node::Limit { limit, offset, .. } => {
            let mut s = format!("Limit {}", limit.as_ref().map_or_else(|| "ALL".into(), |l| r.expr(l, &[])));
            if let Some(o) = offset {
                let _ = write!(s, " offset {}", r.expr(o, &[]));
            }
            s
        }
        Node::Distinct { .. } => "Distinct".into(),
        Node::SetOp { op, all, .. } => {
            let name = match op {
                SetOpKind::Union => "Union",
                SetOpKind::Intersect => "Intersect",
                SetOpKind::Except => "Except",
            };
            if *all { format!("{name} all") } else { name.into() }
        }
        Node::Insert { table, on_conflict, checks, returning, .. } => {
            let names = table_names(table, &table.name);
            let mut s = format!("Insert {}", table.name);
            if let Some(oc) = on_conflict {
                s.push_str(" on conflict");
                if let Some(target) = &oc.target {
                    let cols: Vec<&str> = target.iter().map(|&c| column_name(table, c)).collect();
                    let _ = write!(s, " ({})", cols.join(", "));
                }
                match &oc.action {
                    OnConflictAction::Nothing => s.push_str(" do nothing"),
                    OnConflictAction::Update { assignments, predicate } => {
                        let both = [names.clone(), table_names(table, "excluded")].concat();
                        let _ = write!(s, " do update set [{}]", r.assignments(table, assignments, &both));
                        if let Some(p) = predicate {
                            let _ = write!(s, " where {}", r.expr(p, &both));
                        }
                    }
                }
            }
            write_checks_and_returning(&mut s, r, checks, returning.as_deref(), &names);
            s
        }
        Node::Update { table, input, assignments, checks, returning } => {
            let old = input_names(input);
            let mut s = format!("Update {} set [{}]", table.name, r.assignments(table, assignments, &old));
            write_checks_and_returning(&mut s, r, checks, returning.as_deref(), &old);
            s
        }
        Node::Delete { table, input, returning } => {
            let mut s = format!("Delete {}", table.name);
            write_checks_and_returning(&mut s, r, &[], returning.as_deref(), &input_names(input));
            s
        }
    }
}

/// `t` or `t AS a`.
fn relation(table: &TableSchema, alias: &str) -> String {
    if alias == table.name { table.name.clone() } else { format!("{} AS {alias}", table.name) }
}

fn column_name(table: &TableSchema, pos: usize) -> &str {
    table.columns.get(pos).map_or("?", |c| c.name.as_str())
}

fn join_kind(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "inner",
        JoinKind::Left => "left",
        JoinKind::Right => "right",
        JoinKind::Full => "full",
        JoinKind::Semi => "semi",
        JoinKind::Anti => "anti",
    }
}

/// ` (points: …)`/` (range: …)`, ` reverse`, ` filter: …` of a scan.
fn scan_details(
    s: &mut String,
    r: &mut Renderer<'_>,
    range: &ScanRange,
    reverse: bool,
    filter: Option<&Expr>,
    names: &[String],
) {
    match range {
        ScanRange::Full => {}
        ScanRange::Points(points) => {
            let points: Vec<String> = points.iter().map(|p| r.key(p)).collect();
            let _ = write!(s, " (points: [{}])", points.join(", "));
        }
        ScanRange::Range { lower, upper } => {
            let lower = match lower {
                Bound::Included(k) => format!("[{}", r.key(k)),
                Bound::Excluded(k) => format!("({}", r.key(k)),
                Bound::Unbounded => "(-inf".into(),
            };
            let upper = match upper {
                Bound::Included(k) => format!("{}]", r.key(k)),
                Bound::Excluded(k) => format!("{})", r.key(k)),
                Bound::Unbounded => "+inf)".into(),
            };
            let _ = write!(s, " (range: {lower}, {upper})");
        }
    }
    if reverse {
        s.push_str(" reverse");
    }
    if let Some(f) = filter {
        let _ = write!(s, " filter: {}", r.expr(f, names));
    }
}

fn write_checks_and_returning(
    s: &mut String,
    r: &mut Renderer<'_>,
    checks: &[(String, Expr)],
    returning: Option<&[Expr]>,
    names: &[String],
) {
    if !checks.is_empty() {
        let names: Vec<&str> = checks.iter().map(|(n, _)| n.as_str()).collect();
        let _ = write!(s, " checks [{}]", names.join(", "));
    }
    if let Some(ret) = returning {
        let _ = write!(s, " returning [{}]", r.list(ret, names));
    }
}

/// Renders expressions over a row's names, collecting the subqueries met.
struct Renderer<'o> {
    /// Enclosing rows' names (innermost last), for outer references.
    outer: &'o [Vec<String>],
    /// Subqueries met so far, with the names of the row they run for.
    subplans: Vec<(Arc<Subquery>, Vec<String>)>,
}

impl Renderer<'_> {
    fn list(&mut self, exprs: &[Expr], names: &[String]) -> String {
        exprs.iter().map(|e| self.expr(e, names)).collect::<Vec<_>>().join(", ")
    }

    /// A key prefix: one value bare, several in parentheses.
    fn key(&mut self, key: &[Expr]) -> String {
        match key {
            [one] => self.expr(one, &[]),
            many => format!("({})", self.list(many, &[])),
        }
    }

    fn sort_keys(&mut self, keys: &[SortKey], names: &[String]) -> String {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| {
                let mut s = self.expr(&k.expr, names);
                if k.desc {
                    s.push_str(" DESC");
                }
                match (k.desc, k.nulls_first) {
                    (false, true) => s.push_str(" NULLS FIRST"),
                    (true, false) => s.push_str(" NULLS LAST"),
                    _ => {}
                }
                s
            })
            .collect();
        keys.join(", ")
    }

    fn assignments(&mut self, table: &TableSchema, assignments: &[(usize, Expr)], names: &[String]) -> String {
        let parts: Vec<String> =
            assignments.iter().map(|(c, e)| format!("{} = {}", column_name(table, *c), self.expr(e, names))).collect();
        parts.join(", ")
    }

    fn agg(&mut self, a: &AggCall, names: &[String]) -> String {
        let mut s = if a.func == AggFunc::CountStar {
            "count(*)".to_string()
        } else {
            format!("{}({}{})", a.func.name(), if a.distinct { "DISTINCT " } else { "" }, self.list(&a.args, names))
        };
        if let Some(f) = &a.filter {
            let _ = write!(s, " FILTER (WHERE {})", self.expr(f, names));
        }
        s
    }

    fn expr(&mut self, e: &Expr, names: &[String]) -> String {
        match e {
            Expr::Literal(v, _) => literal(v),
            Expr::Column(i, _) => names.get(*i).cloned().unwrap_or_else(|| format!("col#{i}")),
            Expr::Outer { depth, index, .. } => self
                .outer
                .len()
                .checked_sub(depth + 1)
                .and_then(|level| self.outer[level].get(*index))
                .cloned()
                .unwrap_or_else(|| format!("outer{depth}.col#{index}")),
            Expr::Param(i, _) => format!("${}", i + 1),
            Expr::Unary { op, expr, .. } => {
                let inner = self.expr(expr, names);
                match op {
                    UnaryOp::Neg => format!("(-{inner})"),
                    UnaryOp::Plus => format!("(+{inner})"),
                    UnaryOp::Not => format!("(NOT {inner})"),
                }
            }
            Expr::Binary { op, left, right, .. } => {
                format!("({} {} {})", self.expr(left, names), op.symbol(), self.expr(right, names))
            }
            Expr::IsNull { expr, negated } => {
                format!("({} IS {}NULL)", self.expr(expr, names), if *negated { "NOT " } else { "" })
            }
            Expr::IsBool { expr, value, negated } => {
                let v = match value {
                    Some(true) => "TRUE",
                    Some(false) => "FALSE",
                    None => "UNKNOWN",
                };
                format!("({} IS {}{v})", self.expr(expr, names), if *negated { "NOT " } else { "" })
            }
            Expr::Like { expr, pattern, escape, case_insensitive, negated } => {
                let mut s = format!(
                    "({} {}{} {}",
                    self.expr(expr, names),
                    if *negated { "NOT " } else { "" },
                    if *case_insensitive { "ILIKE" } else { "LIKE" },
                    self.expr(pattern, names)
                );
                if let Some(c) = escape {
                    let _ = write!(s, " ESCAPE {}", literal(&Value::text(c.to_string())));
                }
                s.push(')');
                s
            }
            Expr::InList { expr, list, negated } => format!(
                "({} {}IN ({}))",
                self.expr(expr, names),
                if *negated { "NOT " } else { "" },
                self.list(list, names)
            ),
            Expr::Case { operand, branches, else_result, .. } => {
                let mut s = String::from("CASE");
                if let Some(o) = operand {
                    let _ = write!(s, " {}", self.expr(o, names));
                }
                for (w, t) in branches {
                    let _ = write!(s, " WHEN {} THEN {}", self.expr(w, names), self.expr(t, names));
                }
                if let Some(e) = else_result {
                    let _ = write!(s, " ELSE {}", self.expr(e, names));
                }
                s.push_str(" END");
                s
            }
            Expr::Cast { expr, ty } => format!("{}::{ty}", self.expr(expr, names)),
            Expr::Function { func, args, .. } => format!("{}({})", func.name(), self.list(args, names)),
            Expr::Subquery(sub) => {
                if !self.subplans.iter().any(|(s, _)| s.id == sub.id) {
                    self.subplans.push((Arc::clone(sub), names.to_vec()));
                }
                let plan = format!("(SubPlan {})", sub.id);
                match &sub.kind {
                    SubqueryKind::Scalar => plan,
                    SubqueryKind::Exists { negated } => format!("{}EXISTS {plan}", if *negated { "NOT " } else { "" }),
                    SubqueryKind::In { probe, negated } => {
                        format!("({} {}IN {plan})", self.expr(probe, names), if *negated { "NOT " } else { "" })
                    }
                    SubqueryKind::Quantified { probe, op, all } => format!(
                        "({} {} {} {plan})",
                        self.expr(probe, names),
                        op.symbol(),
                        if *all { "ALL" } else { "ANY" }
                    ),
                }
            }
        }
    }
}

/// A constant as SQL text; types without a bare literal form get a cast.
fn literal(v: &Value) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => format!("{f:?}"),
        Value::Float(f) => format!(
            "'{}'::double precision",
            if f.is_nan() {
                "NaN".into()
            } else if *f > 0.0 {
                "Infinity".to_string()
            } else {
                "-Infinity".to_string()
            }
        ),
        Value::Numeric(d) => d.to_string(),
        Value::Text(s) => quote(s),
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("'\\x{hex}'::bytea")
        }
        Value::Date(d) => format!("{}::date", quote(&d.to_string())),
        Value::Timestamp(t) => format!("{}::timestamp", quote(&t.to_string())),
        Value::TimestampTz(t) => format!("{}::timestamptz", quote(&t.to_string())),
        Value::Interval(i) => {
            format!("{}::interval", quote(&format!("{} mons {} days {} us", i.months, i.days, i.micros)))
        }
        Value::Json(j) => format!("{}::jsonb", quote(&j.to_string())),
        Value::Vector(v) => format!("{}::vector", quote(&crate::expr::cast::vector::output(v))),
        Value::Array(_) => quote(&crate::expr::cast::to_text(v).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalog::{ColumnSchema, IndexKind, IndexSchema};
    use crate::expr::BinaryOp;
    use crate::plan::{OnConflict, OutputColumn};
    use crate::types::DataType;

    fn table(name: &str, cols: &[&str]) -> Arc<TableSchema> {
        Arc::new(TableSchema {
            id: 30,
            name: name.into(),
            columns: cols
                .iter()
                .enumerate()
                .map(|(i, c)| ColumnSchema {
                    id: i as u32 + 1,
                    name: c.to_string(),
                    ty: DataType::Int4,
                    nullable: true,
                    default: None,
                    missing: Value::Null,
                    hidden: false,
                })
                .collect(),
            primary_key: vec![0],
            indexes: vec![IndexSchema {
                id: 2,
                name: format!("{name}_b_idx"),
                columns: vec![1],
                unique: false,
                kind: IndexKind::BTree,
            }],
            checks: vec![],
            next_column_id: cols.len() as u32 + 1,
            next_index_id: 3,
        })
    }

    fn col(i: usize) -> Expr {
        Expr::Column(i, DataType::Int4)
    }

    fn int(i: i64) -> Expr {
        Expr::Literal(Value::Int(i), DataType::Int4)
    }

    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        let ty = if op.is_comparison() { DataType::Bool } else { DataType::Int4 };
        Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty }
    }

    fn scan(t: &Arc<TableSchema>, alias: &str) -> Node {
        Node::Scan { table: Arc::clone(t), alias: alias.into(), range: ScanRange::Full, reverse: false, filter: None }
    }

    fn plan(root: Node) -> Plan {
        Plan { root, columns: vec![OutputColumn { name: "a".into(), ty: DataType::Int4 }], param_types: vec![] }
    }

    #[test]
    fn join_aggregate_and_topn_render_with_names() {
        let t1 = table("t1", &["a", "b"]);
        let t2 = table("t2", &["a", "b"]);
        let t1_scan = Node::Scan {
            table: Arc::clone(&t1),
            alias: "t1".into(),
            range: ScanRange::Range { lower: Bound::Included(vec![int(1)]), upper: Bound::Excluded(vec![int(10)]) },
            reverse: false,
            filter: Some(bin(BinaryOp::Gt, col(0), int(5))),
        };
        let t2_scan = Node::IndexScan {
            table: Arc::clone(&t2),
            alias: "x".into(),
            index: 0,
            range: ScanRange::Points(vec![vec![int(5)], vec![Expr::Param(0, DataType::Int4)]]),
            reverse: true,
            filter: None,
        };
        let join = Node::HashJoin {
            left: Box::new(t1_scan),
            right: Box::new(t2_scan),
            kind: JoinKind::Inner,
            left_keys: vec![col(0)],
            right_keys: vec![col(1)],
            residual: Some(bin(BinaryOp::Lt, col(1), col(2))),
        };
        let agg = Node::Aggregate {
            input: Box::new(join),
            group_by: vec![col(0)],
            aggregates: vec![AggCall {
                func: AggFunc::CountStar,
                args: vec![],
                distinct: false,
                filter: Some(bin(BinaryOp::Gt, col(3), int(0))),
                order_by: vec![],
                ty: DataType::Int8,
            }],
        };
        let topn = Node::TopN {
            input: Box::new(agg),
            keys: vec![
                SortKey { expr: col(1), desc: true, nulls_first: true },
                SortKey { expr: col(0), desc: false, nulls_first: true },
            ],
            limit: int(10),
            offset: Some(int(2)),
        };
        let root = Node::Project { input: Box::new(topn), exprs: vec![col(0), bin(BinaryOp::Add, col(1), int(1))] };
        assert_eq!(
            explain(&plan(root), None),
            [
                "Project [t1.a, (count(*) FILTER (WHERE (x.b > 0)) + 1)]",
                "  TopN 10 by [count(*) FILTER (WHERE (x.b > 0)) DESC, t1.a NULLS FIRST] offset 2",
                "    Aggregate group by [t1.a] aggs [count(*) FILTER (WHERE (x.b > 0))]",
                "      HashJoin inner on [t1.a = x.b] residual (t1.b < x.a)",
                "        Scan t1 (range: [1, 10)) filter: (t1.a > 5)",
                "        IndexScan t2 AS x using t2_b_idx (points: [5, $1]) reverse",
            ]
        );
    }

    #[test]
    fn stats_are_indexed_in_pre_order() {
        let t1 = table("t1", &["a"]);
        let t2 = table("t2", &["a"]);
        let root = Node::Limit {
            input: Box::new(Node::NestedLoopJoin {
                left: Box::new(scan(&t1, "t1")),
                right: Box::new(scan(&t2, "t2")),
                kind: JoinKind::Left,
                predicate: Some(bin(BinaryOp::Eq, col(0), col(1))),
            }),
            limit: None,
            offset: Some(int(3)),
        };
        let st = |rows, loops, us| NodeStats { rows, loops, elapsed: Duration::from_micros(us) };
        let stats = [st(1, 1, 1500), st(4, 1, 1200), st(2, 1, 10), st(8, 2, 300)];
        assert_eq!(
            explain(&plan(root), Some(&stats)),
            [
                "Limit ALL offset 3 (rows=1 loops=1 time=1.500ms)",
                "  NestedLoopJoin left on (t1.a = t2.a) (rows=4 loops=1 time=1.200ms)",
                "    Scan t1 (rows=2 loops=1 time=0.010ms)",
                "    Scan t2 (rows=8 loops=2 time=0.300ms)",
            ]
        );
    }

    #[test]
    fn subplans_resolve_outer_references() {
        let t1 = table("t1", &["a", "b"]);
        let t2 = table("t2", &["c"]);
        let inner = Node::Filter {
            input: Box::new(scan(&t2, "t2")),
            predicate: bin(BinaryOp::Eq, col(0), Expr::Outer { depth: 0, index: 1, ty: DataType::Int4 }),
        };
        let sub = Arc::new(Subquery {
            id: 1,
            plan: inner,
            correlated: true,
            kind: SubqueryKind::Exists { negated: true },
            ty: DataType::Bool,
        });
        let root = Node::Project {
            input: Box::new(Node::Filter { input: Box::new(scan(&t1, "t1")), predicate: Expr::Subquery(sub) }),
            exprs: vec![Expr::Cast { expr: Box::new(col(0)), ty: DataType::Int8 }],
        };
        assert_eq!(
            explain(&plan(root), None),
            [
                "Project [t1.a::bigint]",
                "  Filter NOT EXISTS (SubPlan 1)",
                "    SubPlan 1",
                "      Filter (t2.c = t1.b)",
                "        Scan t2",
                "    Scan t1",
            ]
        );
    }

    #[test]
    fn writes_and_literals() {
        let t = table("t", &["a", "b"]);
        let ins = Node::Insert {
            table: Arc::clone(&t),
            input: Box::new(Node::Values {
                rows: vec![vec![int(1), Expr::Literal(Value::text("it's"), DataType::Text)], vec![int(2), int(3)]],
                width: 2,
            }),
            on_conflict: Some(OnConflict {
                target: Some(vec![0]),
                action: OnConflictAction::Update {
                    assignments: vec![(1, bin(BinaryOp::Add, col(1), col(3)))],
                    predicate: Some(Expr::IsNull { expr: Box::new(col(1)), negated: true }),
                },
            }),
            checks: vec![("t_b_check".into(), bin(BinaryOp::Gt, col(1), int(0)))],
            returning: Some(vec![col(0)]),
        };
        assert_eq!(
            explain(&plan(ins), None),
            [
                "Insert t on conflict (a) do update set [b = (t.b + excluded.b)] where (t.b IS NOT NULL) \
                 checks [t_b_check] returning [t.a]",
                "  Values (2 rows)",
            ]
        );
        let upd = Node::Update {
            table: Arc::clone(&t),
            input: Box::new(scan(&t, "u")),
            assignments: vec![(1, Expr::Literal(Value::Null, DataType::Int4))],
            checks: vec![],
            returning: None,
        };
        assert_eq!(explain(&plan(upd), None), ["Update t set [b = NULL]", "  Scan t AS u"]);
        let del = Node::Delete {
            table: Arc::clone(&t),
            input: Box::new(Node::Empty { width: 2 }),
            returning: Some(vec![Expr::InList {
                expr: Box::new(col(0)),
                list: vec![int(1), Expr::Literal(Value::Float(1.5), DataType::Float8)],
                negated: true,
            }]),
        };
        assert_eq!(explain(&plan(del), None), ["Delete t returning [(column1 NOT IN (1, 1.5))]", "  Empty"]);
        let set = Node::SetOp {
            op: SetOpKind::Union,
            all: true,
            left: Box::new(Node::Distinct { input: Box::new(Node::Values { rows: vec![vec![]], width: 0 }) }),
            right: Box::new(Node::Sort {
                input: Box::new(Node::Values { rows: vec![], width: 1 }),
                keys: vec![SortKey { expr: col(0), desc: true, nulls_first: false }],
            }),
        };
        assert_eq!(
            explain(&plan(set), None),
            [
                "Union all",
                "  Distinct",
                "    Values (1 row)",
                "  Sort [column1 DESC NULLS LAST]",
                "    Values (0 rows)"
            ]
        );
    }
}
