//! Scalar functions: resolution by name and argument types, and evaluation.
//!
//! The binder only calls [`resolve`] and the evaluator [`call`]; between the
//! two a function is a plain [`ScalarFunc`] tag, so a bound plan can be
//! cloned, compared and printed without closures.
//!
//! Resolution (the `resolve` submodule) follows PostgreSQL's overload rules
//! in spirit: integer arguments promote to the overload that takes them
//! (`ceil(int)` is the DOUBLE PRECISION overload, `round(int, 2)` the NUMERIC
//! one), an unknown argument (NULL literal, untyped parameter) takes the
//! parameter's type (the preferred DOUBLE PRECISION when several numeric
//! overloads fit), and no fit is 42883 `function foo(integer) does not
//! exist`. The evaluation of each family lives in its own submodule: `math`,
//! `string`, `time`, `json`, `vector` (pgvector's functions, with the
//! distance kernels its operators share).
//!
//! Most functions are strict: a NULL argument gives NULL without calling
//! the body ([`ScalarFunc::is_strict`]). COALESCE is lazy and evaluated by
//! `eval` itself; NULLIF, GREATEST, LEAST, `concat`, `concat_ws` and the
//! jsonb builders look at their NULLs.
//!
//! Syntax that sqlparser parses specially reaches [`resolve`] as ordinary
//! calls: `EXTRACT(field FROM x)` is `extract('field', x)`,
//! `POSITION(a IN b)` is `position(a, b)`, `SUBSTRING(s FROM a FOR b)` is
//! `substring(s, a, b)`, `TRIM([LEADING|TRAILING|BOTH] c FROM s)` is
//! `ltrim|rtrim|btrim(s, c)`, and `CURRENT_TIMESTAMP`, `CURRENT_DATE`,
//! `LOCALTIMESTAMP` are zero-argument calls of those names.

mod array;
mod catalog;
mod json;
mod math;
mod resolve;
mod string;
mod time;
pub(crate) mod vector;

pub(crate) use array::COMPARISONS as ARRAY_COMPARISONS;
pub(crate) use catalog::{TYPES as PG_TYPES, UTF8_ENCODING, format_type, typmod};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{DataType, Value};

/// A resolved scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarFunc {
    /// `abs(x)`.
    Abs,
    /// `coalesce(a, b, …)` (lazy: evaluated by `eval`, not [`call`]).
    Coalesce,
    /// `nullif(a, b)`.
    NullIf,
    /// `now()` / `current_timestamp`.
    Now,
    /// `ceil(x)` / `ceiling(x)`.
    Ceil,
    /// `floor(x)`.
    Floor,
    /// `round(x)`: half away from zero for NUMERIC, half to even for floats.
    Round,
    /// `round(x, n)` on NUMERIC.
    RoundTo,
    /// `trunc(x)`.
    Trunc,
    /// `trunc(x, n)` on NUMERIC.
    TruncTo,
    /// `sign(x)`.
    Sign,
    /// `sqrt(x)`.
    Sqrt,
    /// `cbrt(x)`.
    Cbrt,
    /// `power(a, b)` / `pow(a, b)`.
    Power,
    /// `exp(x)`.
    Exp,
    /// `ln(x)`.
    Ln,
    /// `log(x)` / `log10(x)`: base 10.
    Log10,
    /// `log(b, x)`.
    Log,
    /// `mod(a, b)`.
    Mod,
    /// `pi()`.
    Pi,
    /// `random()`.
    Random,
    /// `degrees(x)`.
    Degrees,
    /// `radians(x)`.
    Radians,
    /// `greatest(a, …)`: NULLs ignored.
    Greatest,
    /// `least(a, …)`: NULLs ignored.
    Least,
    /// `length(s)` / `char_length` / `character_length`; bytes for bytea.
    Length,
    /// `octet_length(s)`.
    OctetLength,
    /// `lower(s)`.
    Lower,
    /// `upper(s)`.
    Upper,
    /// `substr(s, from [, for])` / `substring`.
    Substr,
    /// `position(sub, s)` (SQL `POSITION(sub IN s)`).
    Position,
    /// `strpos(s, sub)`.
    Strpos,
    /// `btrim(s [, chars])` / `trim`.
    Btrim,
    /// `ltrim(s [, chars])`.
    Ltrim,
    /// `rtrim(s [, chars])`.
    Rtrim,
    /// `replace(s, from, to)`.
    Replace,
    /// `concat(a, …)`: NULLs skipped.
    Concat,
    /// `concat_ws(sep, a, …)`: NULLs skipped.
    ConcatWs,
    /// `left(s, n)`.
    Left,
    /// `right(s, n)`.
    Right,
    /// `lpad(s, n [, fill])`.
    Lpad,
    /// `rpad(s, n [, fill])`.
    Rpad,
    /// `repeat(s, n)`.
    Repeat,
    /// `reverse(s)`.
    Reverse,
    /// `split_part(s, delimiter, n)`.
    SplitPart,
    /// `starts_with(s, prefix)`.
    StartsWith,
    /// `initcap(s)`.
    Initcap,
    /// `ascii(s)`.
    Ascii,
    /// `chr(n)`.
    Chr,
    /// `to_hex(int4)`.
    ToHex32,
    /// `to_hex(int8)`.
    ToHex64,
    /// `current_date`.
    CurrentDate,
    /// `localtimestamp`.
    LocalTimestamp,
    /// `date_trunc(field, x)`.
    DateTrunc,
    /// `date_part(field, x)`: DOUBLE PRECISION.
    DatePart,
    /// `extract(field, x)`: NUMERIC (PostgreSQL 14+).
    Extract,
    /// `age(a, b)`.
    Age,
    /// `age(x)`: against midnight of the current date.
    AgeFromToday,
    /// `make_date(y, m, d)`.
    MakeDate,
    /// `make_timestamp(y, m, d, h, mi, s)`.
    MakeTimestamp,
    /// `make_interval(years, months, weeks, days, hours, mins, secs)`.
    MakeInterval,
    /// `to_timestamp(epoch seconds)`.
    ToTimestamp,
    /// `jsonb_typeof(j)`.
    JsonbTypeof,
    /// `jsonb_array_length(j)`.
    JsonbArrayLength,
    /// `jsonb_extract_path(j, key, …)`.
    JsonbExtractPath,
    /// `jsonb_extract_path_text(j, key, …)`.
    JsonbExtractPathText,
    /// `to_jsonb(x)`.
    ToJsonb,
    /// `jsonb_build_array(…)`.
    JsonbBuildArray,
    /// `jsonb_build_object(k, v, …)`.
    JsonbBuildObject,
    /// `l2_distance(vector, vector)`.
    L2Distance,
    /// `cosine_distance(vector, vector)`.
    CosineDistance,
    /// `inner_product(vector, vector)`.
    InnerProduct,
    /// `l1_distance(vector, vector)`.
    L1Distance,
    /// `vector_dims(vector)`.
    VectorDims,
    /// `vector_norm(vector)`.
    VectorNorm,
    /// `l2_normalize(vector)`.
    L2Normalize,
    /// `format_type(type_oid, typmod)`.
    FormatType,
    /// `pg_encoding_to_char(encoding)`.
    PgEncodingToChar,
    /// `array_to_string(array, sep [, null])` over an array's text form.
    ArrayToString,
    /// `s ~ pattern` (POSIX regular expression).
    RegexMatch,
    /// `s ~* pattern` (case-insensitive).
    RegexIMatch,
    /// `x = ANY (array)` over an array's text form.
    TextArrayContains,
    /// `ARRAY[a, b, …]`.
    MakeArray,
    /// `a[i]`: args (array, subscript, first subscript of the type).
    ArraySubscript,
    /// `array_length(a, dim)`: args (array, dim, first subscript).
    ArrayLength,
    /// `array_lower(a, dim)`: args (array, dim, first subscript).
    ArrayLower,
    /// `array_upper(a, dim)`: args (array, dim, first subscript).
    ArrayUpper,
    /// `cardinality(a)`.
    Cardinality,
    /// `array_position(a, x)`: args (array, x, first subscript).
    ArrayPosition,
    /// `array_append(a, x)`.
    ArrayAppend,
    /// `array_cat(a, b)` and `a || b` on arrays.
    ArrayCat,
    /// `x op ANY (a)`: args (x, array, operator code).
    ArrayAny,
    /// `x op ALL (a)`: args (x, array, operator code).
    ArrayAll,
    /// `nextval(sequence)` (run by the environment, see `crate::sequence`).
    Nextval,
    /// `currval(sequence)`.
    Currval,
    /// `setval(sequence, value [, is_called])`.
    Setval,
    /// `lastval()`.
    Lastval,
}

impl ScalarFunc {
    /// True when two calls with the same arguments may differ (`now()` is
    /// stable within a statement but is not folded at plan time).
    pub fn is_volatile(&self) -> bool {
        use ScalarFunc::*;
        matches!(
            self,
            Now | Random | CurrentDate | LocalTimestamp | AgeFromToday | Nextval | Currval | Setval | Lastval
        )
    }

    /// True for the sequence functions, which the evaluation environment
    /// runs ([`crate::expr::EvalEnv::sequence`]).
    pub fn is_sequence(&self) -> bool {
        use ScalarFunc::*;
        matches!(self, Nextval | Currval | Setval | Lastval)
    }

    /// True when any NULL argument makes the result NULL (the body is not
    /// called).
    pub fn is_strict(&self) -> bool {
        use ScalarFunc::*;
        !matches!(
            self,
            Coalesce
                | NullIf
                | Greatest
                | Least
                | Concat
                | ConcatWs
                | JsonbBuildArray
                | JsonbBuildObject
                | FormatType
                | MakeArray
                | ArrayAppend
                | ArrayCat
                | ArrayAny
                | ArrayAll
        )
    }

    /// The SQL name, for EXPLAIN.
    pub fn name(&self) -> &'static str {
        use ScalarFunc::*;
        match self {
            Abs => "abs",
            Coalesce => "coalesce",
            NullIf => "nullif",
            Now => "now",
            Ceil => "ceil",
            Floor => "floor",
            Round | RoundTo => "round",
            Trunc | TruncTo => "trunc",
            Sign => "sign",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Power => "power",
            Exp => "exp",
            Ln => "ln",
            Log10 | Log => "log",
            Mod => "mod",
            Pi => "pi",
            Random => "random",
            Degrees => "degrees",
            Radians => "radians",
            Greatest => "greatest",
            Least => "least",
            Length => "length",
            OctetLength => "octet_length",
            Lower => "lower",
            Upper => "upper",
            Substr => "substr",
            Position => "position",
            Strpos => "strpos",
            Btrim => "btrim",
            Ltrim => "ltrim",
            Rtrim => "rtrim",
            Replace => "replace",
            Concat => "concat",
            ConcatWs => "concat_ws",
            Left => "left",
            Right => "right",
            Lpad => "lpad",
            Rpad => "rpad",
            Repeat => "repeat",
            Reverse => "reverse",
            SplitPart => "split_part",
            StartsWith => "starts_with",
            Initcap => "initcap",
            Ascii => "ascii",
            Chr => "chr",
            ToHex32 | ToHex64 => "to_hex",
            CurrentDate => "current_date",
            LocalTimestamp => "localtimestamp",
            DateTrunc => "date_trunc",
            DatePart => "date_part",
            Extract => "extract",
            Age | AgeFromToday => "age",
            MakeDate => "make_date",
            MakeTimestamp => "make_timestamp",
            MakeInterval => "make_interval",
            ToTimestamp => "to_timestamp",
            JsonbTypeof => "jsonb_typeof",
            JsonbArrayLength => "jsonb_array_length",
            JsonbExtractPath => "jsonb_extract_path",
            JsonbExtractPathText => "jsonb_extract_path_text",
            ToJsonb => "to_jsonb",
            JsonbBuildArray => "jsonb_build_array",
            JsonbBuildObject => "jsonb_build_object",
            L2Distance => "l2_distance",
            CosineDistance => "cosine_distance",
            InnerProduct => "inner_product",
            L1Distance => "l1_distance",
            VectorDims => "vector_dims",
            VectorNorm => "vector_norm",
            L2Normalize => "l2_normalize",
            FormatType => "format_type",
            PgEncodingToChar => "pg_encoding_to_char",
            ArrayToString => "array_to_string",
            RegexMatch => "textregexeq",
            RegexIMatch => "texticregexeq",
            TextArrayContains => "pg_text_array_contains",
            MakeArray => "array",
            ArraySubscript => "array_subscript",
            ArrayLength => "array_length",
            ArrayLower => "array_lower",
            ArrayUpper => "array_upper",
            Cardinality => "cardinality",
            ArrayPosition => "array_position",
            ArrayAppend => "array_append",
            ArrayCat => "array_cat",
            ArrayAny => "any",
            ArrayAll => "all",
            Nextval => "nextval",
            Currval => "currval",
            Setval => "setval",
            Lastval => "lastval",
        }
    }
}

/// The resolution of a call: the function, its result type, and the type
/// each argument must be cast to (None = leave as is).
#[derive(Debug, Clone, PartialEq)]
pub struct FuncSig {
    /// The function.
    pub func: ScalarFunc,
    /// The result type.
    pub result: DataType,
    /// Casts per argument.
    pub arg_casts: Vec<Option<DataType>>,
}

/// Resolves `name(args…)` (name already lower-cased). 42883 when no such
/// function or no overload fits.
pub fn resolve(name: &str, args: &[DataType]) -> Result<FuncSig> {
    resolve::resolve(name, args)
}

/// Calls a (non-lazy) function on evaluated arguments. `now` is the
/// statement timestamp supplied by the environment.
pub fn call(func: ScalarFunc, args: &[Value], ty: &DataType, now: DateTime<Utc>) -> Result<Value> {
    use ScalarFunc::*;
    if func.is_strict() && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    match func {
        Abs | Ceil | Floor | Round | RoundTo | Trunc | TruncTo | Sign | Sqrt | Cbrt | Power | Exp | Ln | Log10
        | Log | Mod | Pi | Random | Degrees | Radians | Greatest | Least | Coalesce | NullIf => {
            math::call(func, args, ty)
        }
        Length | OctetLength | Lower | Upper | Substr | Position | Strpos | Btrim | Ltrim | Rtrim | Replace
        | Concat | ConcatWs | Left | Right | Lpad | Rpad | Repeat | Reverse | SplitPart | StartsWith | Initcap
        | Ascii | Chr | ToHex32 | ToHex64 => string::call(func, args),
        Now | CurrentDate | LocalTimestamp | DateTrunc | DatePart | Extract | Age | AgeFromToday | MakeDate
        | MakeTimestamp | MakeInterval | ToTimestamp => time::call(func, args, now),
        JsonbTypeof | JsonbArrayLength | JsonbExtractPath | JsonbExtractPathText | ToJsonb | JsonbBuildArray
        | JsonbBuildObject => json::call(func, args),
        L2Distance | CosineDistance | InnerProduct | L1Distance | VectorDims | VectorNorm | L2Normalize => {
            vector::call(func, args)
        }
        FormatType | PgEncodingToChar | ArrayToString | RegexMatch | RegexIMatch | TextArrayContains => {
            if func == FormatType && arg(args, 0)?.is_null() {
                return Ok(Value::Null);
            }
            catalog::call(func, args)
        }
        MakeArray | ArraySubscript | ArrayLength | ArrayLower | ArrayUpper | Cardinality | ArrayPosition
        | ArrayAppend | ArrayCat | ArrayAny | ArrayAll => array::call(func, args),
        Nextval | Currval | Setval | Lastval => {
            Err(crate::sql_err!(FEATURE_NOT_SUPPORTED, "{}() cannot be evaluated here", func.name()))
        }
    }
}

/// The argument at `i` (an internal error when the binder passed too few).
pub(crate) fn arg(args: &[Value], i: usize) -> Result<&Value> {
    args.get(i).ok_or_else(|| crate::error::Error::internal(format!("missing function argument {}", i + 1)))
}

#[cfg(test)]
mod tests;
