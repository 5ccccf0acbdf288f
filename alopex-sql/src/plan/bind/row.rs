//! Row constructors in comparisons: `(a, b) = (1, 2)`, `(a, b) > (x, y)`,
//! `(a, b) IN ((1, 2), (3, 4))`.
//!
//! OWNER: query-binder helper.
//!
//! Alopex has no row type, so a comparison of two rows is expanded into
//! comparisons of their fields, as PostgreSQL defines it: `=` is the AND of
//! the pairwise `=`, `<>` the OR of the pairwise `<>`, and `<`, `<=`, `>`,
//! `>=` are lexicographic: `(a1, a2) < (b1, b2)` is
//! `a1 < b1 OR (a1 = b1 AND a2 < b2)`. With NULL fields the three-valued
//! result of the expansion can differ from PostgreSQL's "first non-equal
//! pair decides" only where PostgreSQL itself returns NULL and the
//! expansion returns FALSE, which filters the same. An IN list of rows is
//! the OR of the row equalities.

use sqlparser::ast;

use super::Binder;
use super::expr::Cx;
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Expr, UnaryOp};
use crate::sql_err;
use crate::types::DataType;

/// The fields of a row constructor, looking through parentheses.
pub(crate) fn row_items(e: &ast::Expr) -> Option<&[ast::Expr]> {
    match e {
        ast::Expr::Tuple(items) => Some(items),
        ast::Expr::Nested(inner) => row_items(inner),
        _ => None,
    }
}

fn logical(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(a), right: Box::new(b), ty: DataType::Bool }
}

impl Binder<'_> {
    /// `(l…) op (r…)`.
    pub(crate) fn bind_row_comparison(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: &[ast::Expr],
        right: &[ast::Expr],
    ) -> Result<Expr> {
        if left.len() != right.len() {
            return Err(sql_err!(SYNTAX_ERROR, "unequal number of entries in row expressions"));
        }
        let mut pairs = Vec::with_capacity(left.len());
        for (l, r) in left.iter().zip(right) {
            pairs.push((self.bind(cx, l)?, self.bind(cx, r)?));
        }
        self.row_comparison(op, pairs)
    }

    fn row_comparison(&mut self, op: BinaryOp, mut pairs: Vec<(Expr, Expr)>) -> Result<Expr> {
        let (join, pairwise) = match op {
            BinaryOp::Eq => (BinaryOp::And, BinaryOp::Eq),
            BinaryOp::IsNotDistinctFrom => (BinaryOp::And, BinaryOp::IsNotDistinctFrom),
            BinaryOp::NotEq => (BinaryOp::Or, BinaryOp::NotEq),
            BinaryOp::IsDistinctFrom => (BinaryOp::Or, BinaryOp::IsDistinctFrom),
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
                let strict = if matches!(op, BinaryOp::Lt | BinaryOp::LtEq) { BinaryOp::Lt } else { BinaryOp::Gt };
                let Some((l, r)) = pairs.pop() else {
                    return Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \")\""));
                };
                let mut acc = self.binary(op, l, r)?;
                while let Some((l, r)) = pairs.pop() {
                    let less = self.binary(strict, l.clone(), r.clone())?;
                    let equal = self.binary(BinaryOp::Eq, l, r)?;
                    acc = logical(BinaryOp::Or, less, logical(BinaryOp::And, equal, acc));
                }
                return Ok(acc);
            }
            other => return Err(Error::unsupported(format!("operator {} on rows", other.symbol()))),
        };
        let mut acc: Option<Expr> = None;
        for (l, r) in pairs {
            let c = self.binary(pairwise, l, r)?;
            acc = Some(match acc {
                None => c,
                Some(a) => logical(join, a, c),
            });
        }
        acc.ok_or_else(|| sql_err!(SYNTAX_ERROR, "syntax error at or near \")\""))
    }

    /// `(a, b) [NOT] IN ((1, 2), (3, 4))`.
    pub(crate) fn bind_row_in_list(
        &mut self,
        cx: &mut Cx,
        probe: &[ast::Expr],
        list: &[ast::Expr],
        negated: bool,
    ) -> Result<Expr> {
        let probe = probe.iter().map(|e| self.bind(cx, e)).collect::<Result<Vec<_>>>()?;
        let mut acc: Option<Expr> = None;
        for item in list {
            let Some(fields) = row_items(item) else {
                return Err(sql_err!(SYNTAX_ERROR, "IN list of a row must contain rows"));
            };
            if fields.len() != probe.len() {
                return Err(sql_err!(SYNTAX_ERROR, "unequal number of entries in row expressions"));
            }
            let mut pairs = Vec::with_capacity(fields.len());
            for (p, f) in probe.iter().zip(fields) {
                pairs.push((p.clone(), self.bind(cx, f)?));
            }
            let eq = self.row_comparison(BinaryOp::Eq, pairs)?;
            acc = Some(match acc {
                None => eq,
                Some(a) => logical(BinaryOp::Or, a, eq),
            });
        }
        let acc = acc.ok_or_else(|| sql_err!(SYNTAX_ERROR, "syntax error at or near \")\""))?;
        Ok(if negated { Expr::Unary { op: UnaryOp::Not, expr: Box::new(acc), ty: DataType::Bool } } else { acc })
    }
}
