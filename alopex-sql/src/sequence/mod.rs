//! Sequences: `CREATE SEQUENCE`, `nextval`, and the columns `SERIAL` makes.
//!
//! PostgreSQL users expect three properties of a sequence, and the design
//! follows from them:
//!
//! 1. **Values are unique across sessions and never roll back.** A
//!    transaction that takes a value and aborts still consumed it; two
//!    sessions never get the same value. So a sequence cannot be an ordinary
//!    row advanced in the user's transaction (that would roll back, and two
//!    concurrent transactions would conflict with 40001 on every insert).
//!    Instead its state is advanced in a small transaction of its own
//!    (`cache.rs`), independent of the caller's, and retried internally when
//!    it conflicts (another process over the same store), so users never
//!    see a serialization failure from `nextval`.
//! 2. **`nextval` is cheap.** Each refill reserves a *block* of values
//!    (at least `MIN_BLOCK` = 32, or the sequence's `CACHE`) and the
//!    `Database` hands them out from memory under a mutex; a restart or
//!    crash may skip the unused rest of a block, exactly as PostgreSQL
//!    skips unused cached values, but a value is never handed out twice
//!    because the stored state is advanced *before* the block is used.
//! 3. **Definitions are DDL.** `CREATE`/`DROP SEQUENCE` write the
//!    definition in the statement's transaction (`store.rs` has the
//!    layout), so they commit and roll back with it. A sequence created in
//!    a still-open transaction is not yet visible to the independent
//!    refill transaction; `nextval` then advances it in the caller's
//!    transaction (the values can roll back only together with the
//!    sequence itself, so nothing is ever reused).
//!
//! `SERIAL`, `BIGSERIAL` and `SMALLSERIAL` columns are bound by the table
//! binder into an integer column `NOT NULL DEFAULT nextval('t_c_seq')` plus
//! a sequence *owned* by the column; the sequence is created with the table
//! and dropped with it.
//!
//! Errors are PostgreSQL's: an unknown sequence is 42P01, `currval` before
//! `nextval` in the session 55000, running past the bounds without `CYCLE`
//! 2200H, bad options 22023.

pub(crate) mod cache;
pub(crate) mod store;

use alopex_core::KvTxn;
use sqlparser::ast::{self, SequenceOptions};

use crate::error::Result;
use crate::sql_err;

pub use cache::SeqAccess;
pub(crate) use cache::{Sequences, SessionSequences};

/// A sequence's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceDef {
    /// Unique id (from the table-id counter; the `pg_class` oid).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Step between values (never 0).
    pub increment: i64,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// First value.
    pub start: i64,
    /// Values reserved per refill (PostgreSQL's `CACHE`).
    pub cache: i64,
    /// Wrap around at the bounds instead of failing.
    pub cycle: bool,
    /// Width in bytes of the value type (2, 4 or 8).
    pub width: u8,
    /// The owning table id and column (SERIAL).
    pub owner: Option<(u64, String)>,
}

/// A bound sequence statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqCommand {
    /// `CREATE SEQUENCE` (the id is assigned when it runs).
    Create {
        /// The definition.
        def: SequenceDef,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
    },
    /// `DROP SEQUENCE`.
    Drop {
        /// Names.
        names: Vec<String>,
        /// `IF EXISTS`.
        if_exists: bool,
    },
}

/// Options of a new sequence of value width `width` (bytes), PostgreSQL's
/// defaults for what is not given.
pub(crate) fn define(name: String, width: u8, options: &[SequenceOptions]) -> Result<SequenceDef> {
    let (lo, hi) = match width {
        2 => (i16::MIN as i64, i16::MAX as i64),
        4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let (mut increment, mut min, mut max, mut start, mut cache, mut cycle) = (1, None, None, None, 1, false);
    for opt in options {
        match opt {
            SequenceOptions::IncrementBy(e, _) => increment = number(e)?,
            SequenceOptions::MinValue(e) => min = e.as_ref().map(number).transpose()?,
            SequenceOptions::MaxValue(e) => max = e.as_ref().map(number).transpose()?,
            SequenceOptions::StartWith(e, _) => start = Some(number(e)?),
            SequenceOptions::Cache(e) => cache = number(e)?,
            SequenceOptions::Cycle(no) => cycle = !*no,
        }
    }
    if increment == 0 {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
    }
    let min = min.unwrap_or(if increment > 0 { 1 } else { lo });
    let max = max.unwrap_or(if increment > 0 { hi } else { -1 });
    for (what, v) in [("MINVALUE", min), ("MAXVALUE", max)] {
        if v < lo || v > hi {
            return Err(sql_err!(INVALID_PARAMETER_VALUE, "{what} ({v}) is out of range for sequence data type"));
        }
    }
    if min >= max {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "MINVALUE ({min}) must be less than MAXVALUE ({max})"));
    }
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if start < min {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "START value ({start}) cannot be less than MINVALUE ({min})"));
    }
    if start > max {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "START value ({start}) cannot be greater than MAXVALUE ({max})"));
    }
    if cache < 1 {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "CACHE ({cache}) must be greater than zero"));
    }
    Ok(SequenceDef { id: 0, name, increment, min, max, start, cache, cycle, width, owner: None })
}

/// An integer literal (possibly negated) in a sequence option.
fn number(e: &ast::Expr) -> Result<i64> {
    let bad = || sql_err!(SYNTAX_ERROR, "sequence options take integer constants, not {e}");
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse().map_err(|_| bad()),
            _ => Err(bad()),
        },
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => number(expr)?.checked_neg().ok_or_else(bad),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Plus, expr } => number(expr),
        _ => Err(bad()),
    }
}

/// The value width of a sequence's `AS type`.
pub(crate) fn width_of(ty: Option<&ast::DataType>) -> Result<u8> {
    let Some(ty) = ty else { return Ok(8) };
    let name = ty.to_string().to_lowercase();
    match name.as_str() {
        "smallint" | "int2" => Ok(2),
        "int" | "integer" | "int4" => Ok(4),
        "bigint" | "int8" => Ok(8),
        _ => Err(sql_err!(INVALID_PARAMETER_VALUE, "sequence type must be smallint, integer, or bigint")),
    }
}

/// The width of a `SERIAL`-family type name, None for any other type.
pub(crate) fn serial_width(ty: &ast::DataType) -> Option<u8> {
    match ty.to_string().to_lowercase().as_str() {
        "serial" | "serial4" => Some(4),
        "bigserial" | "serial8" => Some(8),
        "smallserial" | "serial2" => Some(2),
        _ => None,
    }
}

/// The name of a sequence as written inside `nextval('…')`: unquoted parts
/// fold to lower case, `"Quoted"` ones keep theirs, `public.` is dropped.
pub(crate) fn name_from_text(text: &str) -> String {
    let text = text.trim();
    let text = text.strip_prefix("public.").unwrap_or(text);
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

/// Runs a sequence statement in `txn`; returns the command tag.
pub(crate) fn execute(
    txn: &mut dyn KvTxn,
    catalog: &crate::catalog::Catalog,
    cmd: &SeqCommand,
) -> Result<&'static str> {
    match cmd {
        SeqCommand::Create { def, if_not_exists } => {
            if store::get(txn, &def.name)?.is_some() || catalog.table(&def.name).is_some() {
                if *if_not_exists {
                    return Ok("CREATE SEQUENCE");
                }
                return Err(sql_err!(DUPLICATE_TABLE, "relation \"{}\" already exists", def.name));
            }
            create(txn, def.clone())?;
            Ok("CREATE SEQUENCE")
        }
        SeqCommand::Drop { names, if_exists } => {
            for name in names {
                match store::get(txn, name)? {
                    Some(def) => store::delete(txn, &def)?,
                    None if *if_exists => {}
                    None => return Err(sql_err!(UNDEFINED_TABLE, "sequence \"{name}\" does not exist")),
                }
            }
            Ok("DROP SEQUENCE")
        }
    }
}

/// Creates `def` with a fresh id.
pub(crate) fn create(txn: &mut dyn KvTxn, mut def: SequenceDef) -> Result<SequenceDef> {
    def.id = crate::catalog::store::allocate_table_id(txn)?;
    store::create(txn, &def)?;
    Ok(def)
}

/// Drops the sequences owned by table `table_id` (DROP TABLE).
pub(crate) fn drop_owned(txn: &mut dyn KvTxn, table_id: u64) -> Result<()> {
    for def in store::list(txn)? {
        if def.owner.as_ref().is_some_and(|(t, _)| *t == table_id) {
            store::delete(txn, &def)?;
        }
    }
    Ok(())
}

/// The name of the sequence owning `table.column` (SERIAL).
pub(crate) fn serial_name(table: &str, column: &str) -> String {
    format!("{table}_{column}_seq")
}

/// `nextval('<table>_<column>_seq')`, the default of a SERIAL column, as
/// a parsed expression (quoted when the name needs it).
pub(crate) fn serial_default(table: &str, column: &str) -> Result<ast::Expr> {
    let name = serial_name(table, column);
    let plain = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let text = if plain { name } else { format!("\"{}\"", name.replace('"', "\"\"")) };
    let sql = format!("nextval('{}')", text.replace('\'', "''"));
    sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| crate::error::Error::internal(format!("SERIAL default: {e}")))
}

/// Creates the sequence owned by `table.column` (SERIAL) in `txn`.
pub(crate) fn create_owned(
    txn: &mut dyn KvTxn,
    catalog: &crate::catalog::Catalog,
    table: &crate::catalog::TableSchema,
    column: &str,
    width: u8,
) -> Result<()> {
    let name = serial_name(&table.name, column);
    if store::get(txn, &name)?.is_some() || catalog.table(&name).is_some() {
        return Err(sql_err!(DUPLICATE_TABLE, "relation \"{name}\" already exists"));
    }
    let mut def = define(name, width, &[])?;
    def.owner = Some((table.id, column.to_string()));
    create(txn, def)?;
    Ok(())
}
