//! Bound expressions and their evaluation.
//!
//! The binder turns `sqlparser` expressions into [`Expr`]: names are resolved
//! to row positions, types are known, implicit casts are explicit [`Expr::Cast`]
//! nodes, and functions and operators are resolved to enums. Evaluation
//! ([`eval()`]) is then a plain recursive walk over one input row.
//!
//! Column references are positions in the *input row of the operator that
//! evaluates the expression* ([`Expr::Column`]). References from a correlated
//! subquery to an enclosing query are [`Expr::Outer`]: `depth` 0 is the
//! nearest enclosing query. Subqueries are evaluated through the
//! [`EvalEnv`] that the executor supplies, which runs (and, when
//! uncorrelated, caches) the subquery plan.

pub mod agg;
pub mod cast;
pub mod eval;
pub mod func;
pub mod ops;
pub mod srf;

use std::sync::Arc;

use crate::plan::Node;
use crate::types::{DataType, Value};

pub use agg::{Accumulator, AggFunc};
pub use eval::{EvalEnv, ValueSet, eval, eval_predicate};
pub use func::ScalarFunc;
pub use ops::{BinaryOp, UnaryOp};

/// A bound, typed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(Value, DataType),
    /// The value at this position of the input row.
    Column(usize, DataType),
    /// The value at `index` of the row of an enclosing query, `depth` levels
    /// out (0 = the nearest enclosing query).
    Outer {
        /// How many query levels out.
        depth: usize,
        /// Position in that query's current row.
        index: usize,
        /// Its type.
        ty: DataType,
    },
    /// A statement parameter, `$1` is index 0.
    Param(usize, DataType),
    /// A unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        expr: Box<Expr>,
        /// The result type.
        ty: DataType,
    },
    /// A binary operator (arithmetic, comparison, AND/OR with three-valued
    /// logic, `||`, JSON access, IS \[NOT\] DISTINCT FROM).
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// The result type.
        ty: DataType,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr IS [NOT] TRUE/FALSE/UNKNOWN` is bound to this.
    IsBool {
        /// The operand.
        expr: Box<Expr>,
        /// TRUE, FALSE or UNKNOWN (None).
        value: Option<bool>,
        /// `IS NOT`.
        negated: bool,
    },
    /// `expr [NOT] LIKE/ILIKE pattern [ESCAPE e]`.
    Like {
        /// The string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character (default `\`).
        escape: Option<char>,
        /// ILIKE.
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// `expr [NOT] IN (list)` with SQL's NULL rules.
    InList {
        /// The probe.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// (WHEN, THEN) pairs.
        branches: Vec<(Expr, Expr)>,
        /// ELSE (NULL when absent).
        else_result: Option<Box<Expr>>,
        /// The result type.
        ty: DataType,
    },
    /// `CAST(expr AS ty)`, `expr::ty`, and every implicit coercion.
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// The target type.
        ty: DataType,
    },
    /// A scalar function call (COALESCE and NULLIF included).
    Function {
        /// The function.
        func: ScalarFunc,
        /// Arguments, already cast to the function's parameter types.
        args: Vec<Expr>,
        /// The result type.
        ty: DataType,
    },
    /// A subquery in expression position.
    Subquery(Arc<Subquery>),
}

/// How a subquery is used.
#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT x …)`: at most one row, one column (21000 otherwise).
    Scalar,
    /// `[NOT] EXISTS (SELECT …)`.
    Exists {
        /// NOT EXISTS.
        negated: bool,
    },
    /// `probe [NOT] IN (SELECT x …)`, with NULL rules like [`Expr::InList`].
    In {
        /// The left-hand side.
        probe: Box<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `probe op ANY/ALL (SELECT x …)`.
    Quantified {
        /// The left-hand side.
        probe: Box<Expr>,
        /// The comparison.
        op: BinaryOp,
        /// ALL (true) or ANY/SOME (false).
        all: bool,
    },
}

/// A subquery plan with what the executor needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    /// A statement-unique id, for caching uncorrelated results.
    pub id: usize,
    /// The plan; its [`Expr::Outer`] references point at the enclosing rows.
    pub plan: Node,
    /// False when the plan has no outer references (its result is cached).
    pub correlated: bool,
    /// How the result is used.
    pub kind: SubqueryKind,
    /// The type of the single output column (Bool for EXISTS).
    pub ty: DataType,
}

impl Expr {
    /// The type this expression evaluates to.
    pub fn ty(&self) -> DataType {
        match self {
            Expr::Literal(_, ty) | Expr::Column(_, ty) | Expr::Param(_, ty) => ty.clone(),
            Expr::Outer { ty, .. }
            | Expr::Unary { ty, .. }
            | Expr::Binary { ty, .. }
            | Expr::Case { ty, .. }
            | Expr::Cast { ty, .. }
            | Expr::Function { ty, .. } => ty.clone(),
            Expr::IsNull { .. } | Expr::IsBool { .. } | Expr::Like { .. } | Expr::InList { .. } => DataType::Bool,
            Expr::Subquery(s) => match s.kind {
                SubqueryKind::Scalar => s.ty.clone(),
                _ => DataType::Bool,
            },
        }
    }

    /// A literal with its natural type.
    pub fn literal(v: Value) -> Expr {
        let ty = v.data_type();
        Expr::Literal(v, ty)
    }

    /// Calls `f` on every direct child expression (not into subquery plans).
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Literal(..) | Expr::Column(..) | Expr::Outer { .. } | Expr::Param(..) => {}
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::IsBool { expr, .. }
            | Expr::Cast { expr, .. } => f(expr),
            Expr::Binary { left, right, .. } => {
                f(left);
                f(right)
            }
            Expr::Like { expr, pattern, .. } => {
                f(expr);
                f(pattern)
            }
            Expr::InList { expr, list, .. } => {
                f(expr);
                list.iter().for_each(f)
            }
            Expr::Case { operand, branches, else_result, .. } => {
                if let Some(o) = operand {
                    f(o)
                }
                for (w, t) in branches {
                    f(w);
                    f(t)
                }
                if let Some(e) = else_result {
                    f(e)
                }
            }
            Expr::Function { args, .. } => args.iter().for_each(f),
            Expr::Subquery(s) => match &s.kind {
                SubqueryKind::In { probe, .. } | SubqueryKind::Quantified { probe, .. } => f(probe),
                _ => {}
            },
        }
    }

    /// Rewrites every direct child expression with `f` (not into subquery
    /// plans), returning the new expression.
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let bx = |e: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(f(*e));
        match self {
            e @ (Expr::Literal(..) | Expr::Column(..) | Expr::Outer { .. } | Expr::Param(..)) => e,
            Expr::Unary { op, expr, ty } => Expr::Unary { op, expr: bx(expr, f), ty },
            Expr::IsNull { expr, negated } => Expr::IsNull { expr: bx(expr, f), negated },
            Expr::IsBool { expr, value, negated } => Expr::IsBool { expr: bx(expr, f), value, negated },
            Expr::Cast { expr, ty } => Expr::Cast { expr: bx(expr, f), ty },
            Expr::Binary { op, left, right, ty } => Expr::Binary { op, left: bx(left, f), right: bx(right, f), ty },
            Expr::Like { expr, pattern, escape, case_insensitive, negated } => {
                Expr::Like { expr: bx(expr, f), pattern: bx(pattern, f), escape, case_insensitive, negated }
            }
            Expr::InList { expr, list, negated } => {
                Expr::InList { expr: bx(expr, f), list: list.into_iter().map(&mut *f).collect(), negated }
            }
            Expr::Case { operand, branches, else_result, ty } => Expr::Case {
                operand: operand.map(|o| bx(o, f)),
                branches: branches.into_iter().map(|(w, t)| (f(w), f(t))).collect(),
                else_result: else_result.map(|e| bx(e, f)),
                ty,
            },
            Expr::Function { func, args, ty } => Expr::Function { func, args: args.into_iter().map(f).collect(), ty },
            Expr::Subquery(s) => {
                let mut s = Arc::unwrap_or_clone(s);
                s.kind = match s.kind {
                    SubqueryKind::In { probe, negated } => SubqueryKind::In { probe: bx(probe, f), negated },
                    SubqueryKind::Quantified { probe, op, all } => {
                        SubqueryKind::Quantified { probe: bx(probe, f), op, all }
                    }
                    k => k,
                };
                Expr::Subquery(Arc::new(s))
            }
        }
    }

    /// Calls `f` on every input column this expression reads (not counting
    /// references inside subquery plans, which are outer references there).
    pub fn columns_used(&self, f: &mut dyn FnMut(usize)) {
        if let Expr::Column(i, _) = self {
            f(*i)
        }
        self.for_each_child(&mut |c| c.columns_used(f));
    }

    /// True when the expression reads no input column, parameter, outer
    /// row, subquery or volatile function: it can be folded to a constant.
    pub fn is_constant(&self) -> bool {
        let mut constant = match self {
            Expr::Column(..) | Expr::Outer { .. } | Expr::Param(..) | Expr::Subquery(_) => false,
            Expr::Function { func, .. } => !func.is_volatile(),
            _ => true,
        };
        if constant {
            self.for_each_child(&mut |c| constant &= c.is_constant());
        }
        constant
    }
}
