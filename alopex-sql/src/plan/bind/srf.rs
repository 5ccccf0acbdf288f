//! Binding set-returning functions: in FROM (`generate_series(1, 3) AS
//! g(i)`, `unnest(a) WITH ORDINALITY`) and in a select list
//! (`SELECT unnest(indkey), generate_subscripts(indkey, 1) FROM pg_index`).
//!
//! A call in FROM becomes a [`Node::TableFunction`] with a one-column scope
//! named as PostgreSQL names it: the alias names both the relation and,
//! without a column list, its column (`AS g` gives `g.g`); without an alias
//! both are the function's name. `WITH ORDINALITY` adds `ordinality`.
//! Arguments are bound over an empty scope: a FROM item cannot see its
//! siblings without LATERAL, which Alopex does not have, but outer
//! references of a correlated subquery work as anywhere else.
//!
//! A call in a select list is collected while the list is bound (the
//! collector lives in the query state for the duration of one SELECT list
//! and ORDER BY, so a nested subquery gets its own): it becomes a column
//! past the FROM row's width, and the SELECT gains a [`Node::ProjectSet`]
//! under its projection that appends the calls' values to each FROM row.
//! Set-returning calls in a grouped query, in WHERE, or nested inside
//! another set-returning call's arguments are 0A000, as in PostgreSQL
//! (which allows a few of these; Alopex keeps to what clients send).

use sqlparser::ast;

use super::Binder;
use super::coerce::is_untyped;
use super::expr::Cx;
use super::naming::ident_name;
use super::scope::RelScope;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::expr::srf::{self, SetFunc};
use crate::plan::{Node, SetCall};
use crate::sql_err;
use crate::types::{DataType, Value};

/// The set-returning calls of one select list.
#[derive(Debug, Default)]
pub(crate) struct SrfCollector {
    /// The width of the FROM row: call `k` is column `base + k`.
    pub base: usize,
    /// The calls so far.
    pub calls: Vec<SetCall>,
}

impl Binder<'_> {
    /// Resolves `name(args)` as a set-returning call: the function, its
    /// cast arguments (with the array's first subscript appended for
    /// `generate_subscripts`) and its result type.
    fn set_call(&mut self, name: &str, args: Vec<Expr>) -> Result<(SetFunc, Vec<Expr>, DataType)> {
        let types: Vec<DataType> =
            args.iter().map(|a| if is_untyped(a) { DataType::Unknown } else { a.ty() }).collect();
        let sig = srf::resolve(name, &types)?;
        let mut casts = sig.arg_casts.into_iter();
        let mut args: Vec<Expr> = args.into_iter().map(|a| self.apply_cast(a, casts.next().flatten())).collect();
        if sig.func == SetFunc::GenerateSubscripts {
            let lower = args.first().map_or(1, |a| a.ty().lower_bound());
            args.push(Expr::Literal(Value::Int(lower), DataType::Int4));
        }
        Ok((sig.func, args, sig.result))
    }

    /// A set-returning function in FROM.
    pub(crate) fn bind_table_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        ordinality: bool,
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Node, RelScope)> {
        let empty = RelScope::default();
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind(&mut Cx::new(&empty, "functions in FROM"), a)?);
        }
        let (func, args, ty) = self.set_call(name, bound)?;
        let rel = alias.map_or_else(|| name.to_string(), |a| ident_name(&a.name));
        let mut cols = vec![(rel.clone(), ty.clone())];
        if ordinality {
            cols.push(("ordinality".to_string(), DataType::Int8));
        }
        let renames: Vec<String> = match alias {
            Some(a) => a
                .columns
                .iter()
                .map(|c| match c.data_type {
                    None => Ok(ident_name(&c.name)),
                    Some(_) => Err(Error::unsupported("column types in a table alias")),
                })
                .collect::<Result<_>>()?,
            None => vec![],
        };
        if renames.len() > cols.len() {
            return Err(sql_err!(
                SYNTAX_ERROR,
                "table \"{rel}\" has {} columns available but {} columns specified",
                cols.len(),
                renames.len()
            ));
        }
        let scope = RelScope::for_columns(Some(&rel), &cols).realias(&rel, &renames)?;
        Ok((Node::TableFunction { func, args, ty, ordinality }, scope))
    }

    /// A set-returning call in a select list: collected, and replaced by
    /// the column its values will be in. 0A000 where no collector is open.
    pub(crate) fn bind_select_list_srf(&mut self, cx: &mut Cx, name: &str, args: &[&ast::Expr]) -> Result<Expr> {
        let Some(collector) = self.state.srf.take() else {
            return Err(sql_err!(FEATURE_NOT_SUPPORTED, "set-returning functions are not allowed in {}", cx.clause));
        };
        // Arguments are bound without the collector: no nested calls.
        let bound = args.iter().map(|a| self.bind(cx, a)).collect::<Result<Vec<_>>>();
        let mut collector = collector;
        let result = bound.and_then(|b| self.set_call(name, b));
        let out = result.map(|(func, args, ty)| {
            let call = SetCall { func, args, ty: ty.clone() };
            let k = match collector.calls.iter().position(|c| *c == call) {
                Some(k) => k,
                None => {
                    collector.calls.push(call);
                    collector.calls.len() - 1
                }
            };
            Expr::Column(collector.base + k, ty)
        });
        self.state.srf = Some(collector);
        out
    }
}
