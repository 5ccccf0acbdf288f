//! Function resolution: from a name and argument types to a [`FuncSig`].
//!
//! Each function is a list of overloads written with a few parameter kinds
//! ([`P`]); an argument fits a kind either as it is or through an implicit
//! cast, and the first overload whose parameters all fit wins. The order of
//! the overloads encodes PostgreSQL's preferences: for the math functions
//! NUMERIC arguments get the NUMERIC overload and every other number
//! (integers included, as in PostgreSQL) the DOUBLE PRECISION one.

use super::{FuncSig, ScalarFunc};
use crate::error::{Error, Result};
use crate::expr::ops::{self, BinaryOp};
use crate::sql_err;
use crate::types::DataType;

use DataType as T;
use ScalarFunc as F;

/// A parameter kind.
#[derive(Debug, Clone, Copy, PartialEq)]
enum P {
    /// TEXT (varchar fits as it is, unknown is cast).
    Text,
    /// Any integer width (unknown becomes integer).
    Int,
    /// DOUBLE PRECISION (any number is cast).
    Float8,
    /// NUMERIC (integers and NUMERIC; floats do not fit).
    Numeric,
    /// NUMERIC arguments only (the NUMERIC overload of a function that also
    /// has a DOUBLE PRECISION one, which integers prefer).
    NumericOnly,
    /// BYTEA.
    Bytea,
    /// JSONB.
    Jsonb,
    /// TIMESTAMP (a date is cast).
    Timestamp,
    /// TIMESTAMPTZ (dates, timestamps and unknowns are cast).
    TimestampTz,
    /// INTERVAL.
    Interval,
    /// DATE.
    Date,
    /// `vector` of any dimension (unknown is cast to `vector`).
    Vector,
    /// Anything; an unknown becomes text.
    Any,
}

/// Whether `t` fits `p`: None if not, Some(cast) if it does.
fn fit(p: P, t: &DataType) -> Option<Option<DataType>> {
    let cast = |to: DataType| Some((*t != to).then_some(to));
    match (p, t) {
        (P::Text, t) if t.is_string() => Some(None),
        (P::Text, T::Unknown) => cast(T::Text),
        (P::Int, t) if t.is_integer() => Some(None),
        (P::Int, T::Unknown) => cast(T::Int4),
        (P::Float8, t) if t.is_numeric() || *t == T::Unknown => cast(T::Float8),
        (P::Numeric | P::NumericOnly, T::Numeric(_)) => Some(None),
        (P::Numeric, t) if t.is_integer() || *t == T::Unknown => cast(T::Numeric(None)),
        (P::Bytea, T::Bytea) => Some(None),
        (P::Jsonb, T::Jsonb) => Some(None),
        (P::Jsonb, T::Unknown) => cast(T::Jsonb),
        (P::Timestamp, T::Timestamp | T::Date | T::Unknown) => cast(T::Timestamp),
        (P::TimestampTz, T::TimestampTz | T::Timestamp | T::Date | T::Unknown) => cast(T::TimestampTz),
        (P::Interval, T::Interval | T::Unknown) => cast(T::Interval),
        (P::Date, T::Date | T::Unknown) => cast(T::Date),
        (P::Vector, T::Vector(_)) => Some(None),
        (P::Vector, T::Unknown) => cast(T::Vector(None)),
        (P::Any, T::Unknown) => cast(T::Text),
        (P::Any, _) => Some(None),
        _ => None,
    }
}

/// 42883 `function foo(integer, text) does not exist`.
fn undefined(name: &str, args: &[DataType]) -> Error {
    let list: Vec<&str> = args.iter().map(|t| t.sql_name()).collect();
    sql_err!(UNDEFINED_FUNCTION, "function {name}({}) does not exist", list.join(", "))
}

/// One overload: the function, its parameters, its result.
struct Overload(F, &'static [P], DataType);

/// The first overload all of whose parameters `args` fit.
fn pick(overloads: &[Overload], args: &[DataType]) -> Option<FuncSig> {
    overloads.iter().find_map(|Overload(func, params, result)| {
        if params.len() != args.len() {
            return None;
        }
        let arg_casts = params.iter().zip(args).map(|(p, t)| fit(*p, t)).collect::<Option<Vec<_>>>()?;
        Some(FuncSig { func: *func, result: result.clone(), arg_casts })
    })
}

/// Every argument fitting `p` (variadic functions).
fn all(func: F, p: P, args: &[DataType], result: DataType) -> Option<FuncSig> {
    let arg_casts = args.iter().map(|t| fit(p, t)).collect::<Option<Vec<_>>>()?;
    Some(FuncSig { func, result, arg_casts })
}

/// The float/NUMERIC pair most math functions have.
fn float_or_numeric(func: F) -> [Overload; 2] {
    [Overload(func, &[P::NumericOnly], T::Numeric(None)), Overload(func, &[P::Float8], T::Float8)]
}

/// From an operator's resolution to a function signature.
fn from_operator(func: F, op: BinaryOp, args: &[DataType]) -> Option<FuncSig> {
    let s = ops::resolve_binary(op, &args[0], &args[1]).ok()?;
    Some(FuncSig { func, result: s.result, arg_casts: vec![s.left_cast, s.right_cast] })
}

/// See [`super::resolve`].
pub(super) fn resolve(name: &str, args: &[DataType]) -> Result<FuncSig> {
    let n = args.len();
    let found = match (name, n) {
        ("abs", 1) => match &args[0] {
            t if t.is_numeric() => Some(FuncSig { func: F::Abs, result: ops::base_type(t), arg_casts: vec![None] }),
            _ => pick(&[Overload(F::Abs, &[P::Float8], T::Float8)], args),
        },
        ("ceil" | "ceiling", 1) => pick(&float_or_numeric(F::Ceil), args),
        ("floor", 1) => pick(&float_or_numeric(F::Floor), args),
        ("round", 1) => pick(&float_or_numeric(F::Round), args),
        ("round", 2) => pick(&[Overload(F::RoundTo, &[P::Numeric, P::Int], T::Numeric(None))], args),
        ("trunc", 1) => pick(&float_or_numeric(F::Trunc), args),
        ("trunc", 2) => pick(&[Overload(F::TruncTo, &[P::Numeric, P::Int], T::Numeric(None))], args),
        ("sign", 1) => pick(&float_or_numeric(F::Sign), args),
        ("sqrt", 1) => pick(&float_or_numeric(F::Sqrt), args),
        ("exp", 1) => pick(&float_or_numeric(F::Exp), args),
        ("ln", 1) => pick(&float_or_numeric(F::Ln), args),
        ("log" | "log10", 1) => pick(&float_or_numeric(F::Log10), args),
        ("log", 2) => pick(&[Overload(F::Log, &[P::Numeric, P::Numeric], T::Numeric(None))], args),
        ("cbrt", 1) => pick(&[Overload(F::Cbrt, &[P::Float8], T::Float8)], args),
        ("degrees", 1) => pick(&[Overload(F::Degrees, &[P::Float8], T::Float8)], args),
        ("radians", 1) => pick(&[Overload(F::Radians, &[P::Float8], T::Float8)], args),
        ("power" | "pow", 2) => from_operator(F::Power, BinaryOp::Pow, args),
        ("mod", 2) => from_operator(F::Mod, BinaryOp::Mod, args),
        ("pi", 0) => pick(&[Overload(F::Pi, &[], T::Float8)], args),
        ("nextval", 1) => pick(&[Overload(F::Nextval, &[P::Text], T::Int8)], args),
        ("currval", 1) => pick(&[Overload(F::Currval, &[P::Text], T::Int8)], args),
        ("setval", 2) => pick(&[Overload(F::Setval, &[P::Text, P::Int], T::Int8)], args),
        ("setval", 3) => pick(&[Overload(F::Setval, &[P::Text, P::Int, P::Any], T::Int8)], args),
        ("lastval", 0) => pick(&[Overload(F::Lastval, &[], T::Int8)], args),
        ("random", 0) => pick(&[Overload(F::Random, &[], T::Float8)], args),
        ("greatest" | "least" | "coalesce", 1..) => {
            let func = match name {
                "greatest" => F::Greatest,
                "least" => F::Least,
                _ => F::Coalesce,
            };
            let ty = ops::common_type(args, &name.to_uppercase())?;
            let arg_casts = args.iter().map(|t| (*t != ty).then(|| ty.clone())).collect();
            Some(FuncSig { func, result: ty, arg_casts })
        }
        ("nullif", 2) => {
            let (l, r) = ops::comparison_casts(BinaryOp::Eq, &args[0], &args[1])?;
            let result = l.clone().unwrap_or_else(|| args[0].clone());
            Some(FuncSig { func: F::NullIf, result, arg_casts: vec![l, r] })
        }
        ("length" | "char_length" | "character_length", 1) => {
            pick(&[Overload(F::Length, &[P::Text], T::Int4), Overload(F::OctetLength, &[P::Bytea], T::Int4)], args)
        }
        ("octet_length", 1) => {
            pick(&[Overload(F::OctetLength, &[P::Text], T::Int4), Overload(F::OctetLength, &[P::Bytea], T::Int4)], args)
        }
        ("lower", 1) => pick(&[Overload(F::Lower, &[P::Text], T::Text)], args),
        ("upper", 1) => pick(&[Overload(F::Upper, &[P::Text], T::Text)], args),
        ("initcap", 1) => pick(&[Overload(F::Initcap, &[P::Text], T::Text)], args),
        ("reverse", 1) => pick(&[Overload(F::Reverse, &[P::Text], T::Text)], args),
        ("substr" | "substring", 2 | 3) => pick(
            &[
                Overload(F::Substr, &[P::Text, P::Int], T::Text),
                Overload(F::Substr, &[P::Text, P::Int, P::Int], T::Text),
                Overload(F::Substr, &[P::Bytea, P::Int], T::Bytea),
                Overload(F::Substr, &[P::Bytea, P::Int, P::Int], T::Bytea),
            ],
            args,
        ),
        ("position", 2) => pick(&[Overload(F::Position, &[P::Text, P::Text], T::Int4)], args),
        ("strpos", 2) => pick(&[Overload(F::Strpos, &[P::Text, P::Text], T::Int4)], args),
        ("btrim" | "trim" | "ltrim" | "rtrim", 1 | 2) => {
            let func = match name {
                "ltrim" => F::Ltrim,
                "rtrim" => F::Rtrim,
                _ => F::Btrim,
            };
            all(func, P::Text, args, T::Text)
        }
        ("replace", 3) => pick(&[Overload(F::Replace, &[P::Text, P::Text, P::Text], T::Text)], args),
        ("concat", 1..) => all(F::Concat, P::Any, args, T::Text),
        ("concat_ws", 2..) => {
            let mut s = all(F::ConcatWs, P::Any, args, T::Text).ok_or_else(|| undefined(name, args))?;
            s.arg_casts[0] = fit(P::Text, &args[0]).ok_or_else(|| undefined(name, args))?;
            Some(s)
        }
        ("left" | "right", 2) => {
            let func = if name == "left" { F::Left } else { F::Right };
            pick(&[Overload(func, &[P::Text, P::Int], T::Text)], args)
        }
        ("lpad" | "rpad", 2 | 3) => {
            let func = if name == "lpad" { F::Lpad } else { F::Rpad };
            pick(
                &[Overload(func, &[P::Text, P::Int], T::Text), Overload(func, &[P::Text, P::Int, P::Text], T::Text)],
                args,
            )
        }
        ("repeat", 2) => pick(&[Overload(F::Repeat, &[P::Text, P::Int], T::Text)], args),
        ("split_part", 3) => pick(&[Overload(F::SplitPart, &[P::Text, P::Text, P::Int], T::Text)], args),
        ("starts_with", 2) => pick(&[Overload(F::StartsWith, &[P::Text, P::Text], T::Bool)], args),
        ("ascii", 1) => pick(&[Overload(F::Ascii, &[P::Text], T::Int4)], args),
        ("chr", 1) => pick(&[Overload(F::Chr, &[P::Int], T::Text)], args),
        ("to_hex", 1) => match &args[0] {
            T::Int8 => pick(&[Overload(F::ToHex64, &[P::Int], T::Text)], args),
            _ => pick(&[Overload(F::ToHex32, &[P::Int], T::Text)], args),
        },
        ("now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp", 0) => {
            pick(&[Overload(F::Now, &[], T::TimestampTz)], args)
        }
        ("current_date", 0) => pick(&[Overload(F::CurrentDate, &[], T::Date)], args),
        ("localtimestamp", 0) => pick(&[Overload(F::LocalTimestamp, &[], T::Timestamp)], args),
        ("date_trunc", 2) => match &args[1] {
            T::Timestamp => pick(&[Overload(F::DateTrunc, &[P::Text, P::Timestamp], T::Timestamp)], args),
            T::Interval => pick(&[Overload(F::DateTrunc, &[P::Text, P::Interval], T::Interval)], args),
            _ => pick(&[Overload(F::DateTrunc, &[P::Text, P::TimestampTz], T::TimestampTz)], args),
        },
        ("date_part" | "extract", 2) => {
            let (func, result) =
                if name == "extract" { (F::Extract, T::Numeric(None)) } else { (F::DatePart, T::Float8) };
            let params: &'static [P] = match &args[1] {
                T::Date if func == F::Extract => &[P::Text, P::Date],
                T::TimestampTz => &[P::Text, P::TimestampTz],
                T::Interval => &[P::Text, P::Interval],
                _ => &[P::Text, P::Timestamp],
            };
            pick(&[Overload(func, params, result)], args)
        }
        ("age", 1) => match &args[0] {
            T::Timestamp => pick(&[Overload(F::AgeFromToday, &[P::Timestamp], T::Interval)], args),
            _ => pick(&[Overload(F::AgeFromToday, &[P::TimestampTz], T::Interval)], args),
        },
        ("age", 2) => match (&args[0], &args[1]) {
            (T::Timestamp, T::Timestamp | T::Unknown) | (T::Unknown, T::Timestamp) => {
                pick(&[Overload(F::Age, &[P::Timestamp, P::Timestamp], T::Interval)], args)
            }
            _ => pick(&[Overload(F::Age, &[P::TimestampTz, P::TimestampTz], T::Interval)], args),
        },
        ("make_date", 3) => pick(&[Overload(F::MakeDate, &[P::Int, P::Int, P::Int], T::Date)], args),
        ("make_timestamp", 6) => pick(
            &[Overload(F::MakeTimestamp, &[P::Int, P::Int, P::Int, P::Int, P::Int, P::Float8], T::Timestamp)],
            args,
        ),
        ("make_interval", 0..=7) => {
            let mut s =
                all(F::MakeInterval, P::Int, &args[..n.min(6)], T::Interval).ok_or_else(|| undefined(name, args))?;
            if n == 7 {
                s.arg_casts.push(fit(P::Float8, &args[6]).ok_or_else(|| undefined(name, args))?);
            }
            Some(s)
        }
        ("to_timestamp", 1) => pick(&[Overload(F::ToTimestamp, &[P::Float8], T::TimestampTz)], args),
        ("jsonb_typeof", 1) => pick(&[Overload(F::JsonbTypeof, &[P::Jsonb], T::Text)], args),
        ("jsonb_array_length", 1) => pick(&[Overload(F::JsonbArrayLength, &[P::Jsonb], T::Int4)], args),
        ("jsonb_extract_path" | "jsonb_extract_path_text", 2..) => {
            let (func, result) = if name == "jsonb_extract_path" {
                (F::JsonbExtractPath, T::Jsonb)
            } else {
                (F::JsonbExtractPathText, T::Text)
            };
            let mut s = all(func, P::Text, &args[1..], result).ok_or_else(|| undefined(name, args))?;
            s.arg_casts.insert(0, fit(P::Jsonb, &args[0]).ok_or_else(|| undefined(name, args))?);
            Some(s)
        }
        ("to_jsonb", 1) => all(F::ToJsonb, P::Any, args, T::Jsonb),
        ("jsonb_build_array", _) => all(F::JsonbBuildArray, P::Any, args, T::Jsonb),
        ("jsonb_build_object", _) => all(F::JsonbBuildObject, P::Any, args, T::Jsonb),
        ("l2_distance" | "cosine_distance" | "inner_product" | "l1_distance", 2) => {
            let func = match name {
                "l2_distance" => F::L2Distance,
                "cosine_distance" => F::CosineDistance,
                "inner_product" => F::InnerProduct,
                _ => F::L1Distance,
            };
            pick(&[Overload(func, &[P::Vector, P::Vector], T::Float8)], args)
        }
        ("vector_dims", 1) => pick(&[Overload(F::VectorDims, &[P::Vector], T::Int4)], args),
        ("vector_norm", 1) => pick(&[Overload(F::VectorNorm, &[P::Vector], T::Float8)], args),
        ("l2_normalize", 1) => pick(&[Overload(F::L2Normalize, &[P::Vector], T::Vector(None))], args),
        ("format_type", 2) => pick(&[Overload(F::FormatType, &[P::Int, P::Int], T::Text)], args),
        ("pg_encoding_to_char", 1) => pick(&[Overload(F::PgEncodingToChar, &[P::Int], T::Text)], args),
        ("array_to_string", 2) => pick(&[Overload(F::ArrayToString, &[P::Text, P::Text], T::Text)], args),
        ("array_to_string", 3) => pick(&[Overload(F::ArrayToString, &[P::Text, P::Text, P::Text], T::Text)], args),
        ("textregexeq", 2) => pick(&[Overload(F::RegexMatch, &[P::Text, P::Text], T::Bool)], args),
        ("pg_text_array_contains", 2) => pick(&[Overload(F::TextArrayContains, &[P::Text, P::Text], T::Bool)], args),
        ("texticregexeq", 2) => pick(&[Overload(F::RegexIMatch, &[P::Text, P::Text], T::Bool)], args),
        _ => None,
    };
    found.ok_or_else(|| undefined(name, args))
}
