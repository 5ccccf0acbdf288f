//! Binding array expressions: `ARRAY[…]`, subscripts `a[i]`, the array
//! functions, and `x op ANY/ALL (array)`.
//!
//! Array functions are polymorphic in PostgreSQL (`anyarray`,
//! `anyelement`): the result type follows the argument's element type.
//! The fixed-signature overload table in `expr::func::resolve` does not
//! express that, so they are resolved here, by the argument types, before
//! the ordinary function lookup ([`Binder::array_function`]). What only
//! the static type knows travels as a trailing literal argument: the
//! array's first subscript (0 for `int2vector`) and the ANY/ALL operator
//! (see `expr/func/array.rs`).
//!
//! An untyped argument where an array is expected (`'{1,2}'`, `$1`) takes
//! the array type the other arguments imply, or `text[]`, as PostgreSQL's
//! `unknown` resolution does.

use sqlparser::ast;

use super::Binder;
use super::coerce::{is_untyped, typed};
use super::expr::Cx;
use super::types::common_type;
use crate::error::{Error, Result};
use crate::expr::func::ARRAY_COMPARISONS;
use crate::expr::ops::BinaryOp;
use crate::expr::{Expr, ScalarFunc};
use crate::sql_err;
use crate::types::{DataType, Value};

fn int_lit(i: i64) -> Expr {
    Expr::Literal(Value::Int(i), DataType::Int4)
}

fn call(func: ScalarFunc, args: Vec<Expr>, ty: DataType) -> Expr {
    Expr::Function { func, args, ty }
}

impl Binder<'_> {
    /// `ARRAY[a, b, …]`: the elements unified to a common type.
    pub(crate) fn bind_array_constructor(&mut self, cx: &mut Cx, array: &ast::Array) -> Result<Expr> {
        let elems = array.elem.iter().map(|e| self.bind(cx, e)).collect::<Result<Vec<_>>>()?;
        if elems.iter().any(|e| e.ty().is_array()) {
            return Err(Error::unsupported("multidimensional arrays"));
        }
        if elems.is_empty() {
            // PostgreSQL needs a cast here (`ARRAY[]::int[]`); the cast
            // applies to this array of unknown elements.
            return Ok(call(ScalarFunc::MakeArray, vec![], DataType::Array(Box::new(DataType::Unknown))));
        }
        let types: Vec<Option<DataType>> = elems.iter().map(typed).collect();
        let ty = common_type(&types, "ARRAY")?;
        let elems = elems.into_iter().map(|e| self.coerce_implicit(e, &ty)).collect();
        Ok(call(ScalarFunc::MakeArray, elems, DataType::Array(Box::new(ty))))
    }

    /// `root[i][j]…`: each subscript applied in turn (slices are 0A000).
    pub(crate) fn bind_subscripts(&mut self, cx: &mut Cx, root: &ast::Expr, chain: &[ast::AccessExpr]) -> Result<Expr> {
        let mut e = self.bind(cx, root)?;
        for access in chain {
            let ast::AccessExpr::Subscript(sub) = access else {
                return Err(Error::unsupported(format!("field access {access}")));
            };
            let ast::Subscript::Index { index } = sub else {
                return Err(Error::unsupported("array slices"));
            };
            let ty = e.ty();
            let Some(elem) = ty.element().cloned() else {
                return Err(sql_err!(
                    DATATYPE_MISMATCH,
                    "cannot subscript type {ty} because it does not support subscripting"
                ));
            };
            let i = self.bind(cx, index)?;
            let i = self.integer_arg(i, "array subscript")?;
            e = call(ScalarFunc::ArraySubscript, vec![e, i, int_lit(ty.lower_bound())], elem);
        }
        Ok(e)
    }

    /// An integer argument (untyped ones become integers); 42804 otherwise.
    fn integer_arg(&mut self, e: Expr, what: &str) -> Result<Expr> {
        if is_untyped(&e) {
            return Ok(self.coerce_implicit(e, &DataType::Int4));
        }
        match e.ty() {
            t if t.is_integer() => Ok(self.coerce_implicit(e, &DataType::Int8)),
            t => Err(sql_err!(DATATYPE_MISMATCH, "{what} must have type integer, not type {t}")),
        }
    }

    /// An argument that must be an array: untyped ones become `fallback`.
    fn array_arg(&mut self, e: Expr, fallback: &DataType, name: &str) -> Result<Expr> {
        if is_untyped(&e) {
            return self.bind_cast(e, fallback);
        }
        if e.ty().is_array() {
            return Ok(e);
        }
        Err(sql_err!(UNDEFINED_FUNCTION, "function {name}({}) does not exist", e.ty()))
    }

    /// The array functions, or `Err(args)` back when `name` is not one.
    pub(crate) fn array_function(
        &mut self,
        name: &str,
        mut args: Vec<Expr>,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let text_array = DataType::Array(Box::new(DataType::Text));
        let n = args.len();
        let e = match (name, n) {
            ("array_length" | "array_lower" | "array_upper", 2) => {
                let dim = args.pop().unwrap_or_else(|| int_lit(1));
                let a = self.array_arg(args.remove(0), &text_array, name)?;
                let dim = self.integer_arg(dim, "dimension")?;
                let lower = int_lit(a.ty().lower_bound());
                let func = match name {
                    "array_length" => ScalarFunc::ArrayLength,
                    "array_lower" => ScalarFunc::ArrayLower,
                    _ => ScalarFunc::ArrayUpper,
                };
                call(func, vec![a, dim, lower], DataType::Int4)
            }
            ("cardinality", 1) => {
                let a = self.array_arg(args.remove(0), &text_array, name)?;
                call(ScalarFunc::Cardinality, vec![a], DataType::Int4)
            }
            ("array_to_string", 2 | 3) if args[0].ty().is_array() => {
                let mut rest = args.split_off(1);
                let a = args.remove(0);
                rest = rest.into_iter().map(|x| self.coerce_implicit(x, &DataType::Text)).collect();
                if rest.iter().any(|x| !x.ty().is_string()) {
                    return Err(sql_err!(UNDEFINED_FUNCTION, "function array_to_string does not exist"));
                }
                let mut all = vec![a];
                all.extend(rest);
                call(ScalarFunc::ArrayToString, all, DataType::Text)
            }
            ("array_position", 2) | ("array_append", 2) => {
                let x = args.pop().unwrap_or(Expr::Literal(Value::Null, DataType::Unknown));
                let a = args.remove(0);
                let (a, x) = self.array_and_element(a, x, name)?;
                if name == "array_append" {
                    let ty = a.ty();
                    call(ScalarFunc::ArrayAppend, vec![a, x], ty)
                } else {
                    let lower = int_lit(a.ty().lower_bound());
                    call(ScalarFunc::ArrayPosition, vec![a, x, lower], DataType::Int4)
                }
            }
            ("array_cat", 2) => {
                let b = args.pop().unwrap_or(Expr::Literal(Value::Null, DataType::Unknown));
                let a = args.remove(0);
                let ty = match (typed(&a), typed(&b)) {
                    (None, None) => text_array.clone(),
                    (x, y) => common_type(&[x, y], "array_cat")?,
                };
                let a = self.array_arg(a, &ty, name)?;
                let b = self.array_arg(b, &ty, name)?;
                let (a, b) = (self.coerce_implicit(a, &ty), self.coerce_implicit(b, &ty));
                call(ScalarFunc::ArrayCat, vec![a, b], ty)
            }
            _ => return Ok(Err(args)),
        };
        Ok(Ok(e))
    }

    /// An array and an element for it, unified to one element type.
    fn array_and_element(&mut self, a: Expr, x: Expr, name: &str) -> Result<(Expr, Expr)> {
        let elem = match (a.ty().element(), is_untyped(&a)) {
            (Some(t), false) => t.clone(),
            _ => typed(&x).unwrap_or(DataType::Text),
        };
        let ty = DataType::Array(Box::new(match &elem {
            DataType::Int2 if a.ty() == DataType::Int2Vector => DataType::Int2,
            t => t.clone(),
        }));
        let a = self.array_arg(a, &ty, name)?;
        let elem_ty = common_type(&[a.ty().element().cloned(), typed(&x)], name)?;
        let a = self.coerce_implicit(a, &DataType::Array(Box::new(elem_ty.clone())));
        let x = self.coerce_implicit(x, &elem_ty);
        Ok((a, x))
    }

    /// `probe op ANY (array)` / `probe op ALL (array)` over a bound array.
    pub(crate) fn bind_any_array(&mut self, probe: Expr, op: BinaryOp, array: Expr, all: bool) -> Result<Expr> {
        let Some(code) = ARRAY_COMPARISONS.iter().position(|o| *o == op) else {
            return Err(Error::unsupported(format!("operator {} with ANY/ALL", op.symbol())));
        };
        let (probe, array) = match (is_untyped(&probe), is_untyped(&array)) {
            (_, true) => {
                let elem = typed(&probe).unwrap_or(DataType::Text);
                let array = self.bind_cast(array, &DataType::Array(Box::new(elem)))?;
                (probe, array)
            }
            _ => (probe, array),
        };
        let Some(elem) = array.ty().element().cloned() else {
            return Err(sql_err!(DATATYPE_MISMATCH, "op ANY/ALL (array) requires array on right side"));
        };
        // Resolve the element comparison like `probe op element`.
        let sample = Expr::Literal(Value::Null, elem.clone());
        let probe = if is_untyped(&probe) { self.coerce_implicit(probe, &elem) } else { probe };
        let sig = crate::expr::ops::resolve_binary(op, &probe.ty(), &sample.ty())?;
        let probe = self.apply_cast(probe, sig.left_cast);
        let array = match sig.right_cast {
            Some(t) => self.coerce_implicit(array, &DataType::Array(Box::new(t))),
            None => array,
        };
        let func = if all { ScalarFunc::ArrayAll } else { ScalarFunc::ArrayAny };
        Ok(call(func, vec![probe, array, int_lit(code as i64)], DataType::Bool))
    }
}
