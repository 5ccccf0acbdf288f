//! The virtual tables of `pg_catalog`, computed from the catalog snapshot.
//!
//! psql's `\d` family, SQLAlchemy's inspector, psycopg and pgJDBC learn
//! about a database by joining `pg_class`, `pg_attribute`, `pg_index`,
//! `pg_constraint` and friends. These views give them PostgreSQL's shape
//! over Alopex's catalog, built like `information_schema` (see `views.rs`):
//! literal rows, so the client's joins, filters and sorts run through the
//! ordinary operators.
//!
//! ## Object identifiers
//!
//! PostgreSQL identifies catalog rows by OID, and clients carry OIDs from
//! one query to the next (psql looks a table up by name, then asks about
//! `WHERE c.oid = '…'`). Alopex has no OIDs, so they are derived from
//! stable ids, identical in every snapshot until the object is dropped:
//!
//! ```text
//!   table            T = 100000 + 10000 * table.id
//!   primary key      T + 1        (the index; its constraint is T + 5000)
//!   secondary index  T + 1 + id   (id ≥ 2; a unique one's constraint is T + 5000 + id)
//!   check #k         T + 9000 + k (constraint)
//! ```
//!
//! Schemas, types, access methods, collations, roles and the database use
//! PostgreSQL's own OIDs (`pg_catalog` 11, `public` 2200, `int4` 23, btree
//! 403, role 10), so client code that hard-codes them keeps working.
//!
//! ## What is simplified
//!
//! Columns that are arrays in PostgreSQL are arrays here too: `indkey` and
//! `indoption` are `int2vector` (subscripts from 0, printed `1 2`),
//! `conkey` is `int2[]`, the ACL and option columns are `text[]` (NULL:
//! Alopex has no ACLs or per-relation options). OIDs are BIGINT, `"char"`
//! is TEXT and `oidvector` (`indclass`, `indcollation`) is `int8[]`. Views for concepts
//! Alopex lacks (policies, inheritance, publications, sequences, enums,
//! triggers, extended statistics) exist with their columns and no rows, so
//! the queries that look there succeed and find nothing. `pg_attrdef.adbin`
//! holds the default's SQL text, which `pg_get_expr` returns as it is.

use crate::catalog::{Catalog, TableSchema};
use crate::expr::func::{PG_TYPES, UTF8_ENCODING, typmod};
use crate::types::{DataType, Value};
use crate::users::Role;

use super::views::{DATABASE, SCHEMA, View, index_def, int, text};

/// `pg_catalog`'s namespace OID.
pub(crate) const PG_CATALOG_OID: i64 = 11;
/// `public`'s namespace OID.
pub(crate) const PUBLIC_OID: i64 = 2200;
/// `information_schema`'s namespace OID (assigned at initdb in PostgreSQL).
const INFORMATION_SCHEMA_OID: i64 = 13000;
/// The bootstrap superuser's OID, owner of everything.
pub(crate) const OWNER_OID: i64 = 10;
/// The database's OID.
pub(crate) const DATABASE_OID: i64 = 16384;
/// `heap` and `btree` access methods.
const HEAP_AM: i64 = 2;
const BTREE_AM: i64 = 403;
/// The `default` collation.
const DEFAULT_COLLATION: i64 = 100;

/// The OID of a table.
pub(crate) fn table_oid(t: &TableSchema) -> i64 {
    100_000 + 10_000 * t.id as i64
}

/// One index of a table as the catalog shows it (the primary key first).
pub(crate) struct IndexRow {
    pub(crate) oid: i64,
    pub(crate) name: String,
    pub(crate) unique: bool,
    pub(crate) primary: bool,
    pub(crate) columns: Vec<usize>,
    /// The constraint that owns the index (primary key, UNIQUE).
    pub(crate) constraint: Option<i64>,
}

/// The indexes of `t`: its primary key (unless it has a hidden row id),
/// then its secondary indexes.
pub(crate) fn indexes(t: &TableSchema) -> Vec<IndexRow> {
    let base = table_oid(t);
    let mut out = Vec::new();
    if !t.has_row_id() {
        out.push(IndexRow {
            oid: base + 1,
            name: t.pkey_name(),
            unique: true,
            primary: true,
            columns: t.primary_key.clone(),
            constraint: Some(base + 5000),
        });
    }
    for ix in &t.indexes {
        let id = i64::from(ix.id);
        out.push(IndexRow {
            oid: base + 1 + id,
            name: ix.name.clone(),
            unique: ix.unique,
            primary: false,
            columns: ix.columns.clone(),
            constraint: ix.unique.then_some(base + 5000 + id),
        });
    }
    out
}

/// `CREATE [UNIQUE] INDEX …` for an index row.
pub(crate) fn index_definition(t: &TableSchema, ix: &IndexRow) -> String {
    index_def(t, &ix.name, ix.unique, &ix.columns)
}

/// A constraint: `(oid, name, contype, columns (1-based), index, definition)`.
pub(crate) struct ConstraintRow {
    pub(crate) oid: i64,
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) columns: Vec<i64>,
    pub(crate) index: i64,
    pub(crate) definition: String,
}

/// The constraints of `t`, as `pg_constraint` lists them.
pub(crate) fn constraints(t: &TableSchema) -> Vec<ConstraintRow> {
    let mut out = Vec::new();
    let attnums = |cols: &[usize]| cols.iter().map(|&c| attnum(t, c)).collect::<Vec<_>>();
    let col_list = |cols: &[usize]| {
        cols.iter().map(|&c| super::names::quote_ident(&t.columns[c].name)).collect::<Vec<_>>().join(", ")
    };
    for ix in indexes(t) {
        let Some(oid) = ix.constraint else { continue };
        let (kind, word) = if ix.primary { ("p", "PRIMARY KEY") } else { ("u", "UNIQUE") };
        out.push(ConstraintRow {
            oid,
            name: ix.name.clone(),
            kind,
            columns: attnums(&ix.columns),
            index: ix.oid,
            definition: format!("{word} ({})", col_list(&ix.columns)),
        });
    }
    for (k, ck) in t.checks.iter().enumerate() {
        out.push(ConstraintRow {
            oid: table_oid(t) + 9000 + k as i64,
            name: ck.name.clone(),
            kind: "c",
            columns: vec![],
            index: 0,
            definition: format!("CHECK ({})", ck.expr),
        });
    }
    out
}

/// The attribute number of column `c` (1-based, hidden columns skipped).
fn attnum(t: &TableSchema, c: usize) -> i64 {
    t.columns[..c].iter().filter(|c| !c.hidden).count() as i64 + 1
}

/// An integer array value (also an `int2vector`).
fn int_array(items: &[i64]) -> Value {
    Value::Array(items.iter().map(|i| Value::Int(*i)).collect())
}

/// `text[]`, for ACL and option columns.
fn text_array() -> DataType {
    DataType::Array(Box::new(TX))
}

/// The rows and columns of `pg_catalog.name`, or None when it is not a
/// view.
pub(super) fn build(catalog: &Catalog, name: &str) -> Option<View> {
    Some(match name {
        "pg_tables" => pg_tables(catalog),
        "pg_indexes" => pg_indexes(catalog),
        "pg_namespace" => pg_namespace(),
        "pg_type" => pg_type(),
        "pg_class" => pg_class(catalog),
        "pg_attribute" => pg_attribute(catalog),
        "pg_index" => pg_index(catalog),
        "pg_attrdef" => pg_attrdef(catalog),
        "pg_constraint" => pg_constraint(catalog),
        "pg_database" => pg_database(),
        "pg_auth_members" => {
            empty(&[("oid", I8), ("roleid", I8), ("member", I8), ("grantor", I8), ("admin_option", B)])
        }
        "pg_am" => pg_am(),
        "pg_collation" => pg_collation(),
        "pg_description" => empty(&[("objoid", I8), ("classoid", I8), ("objsubid", I4), ("description", TX)]),
        "pg_policy" => empty(&[
            ("oid", I8),
            ("polname", TX),
            ("polrelid", I8),
            ("polcmd", TX),
            ("polpermissive", B),
            ("polroles", DataType::Array(Box::new(I8))),
            ("polqual", TX),
            ("polwithcheck", TX),
        ]),
        "pg_inherits" => empty(&[("inhrelid", I8), ("inhparent", I8), ("inhseqno", I4), ("inhdetachpending", B)]),
        "pg_sequence" => empty(&[
            ("seqrelid", I8),
            ("seqtypid", I8),
            ("seqstart", I8),
            ("seqincrement", I8),
            ("seqmax", I8),
            ("seqmin", I8),
            ("seqcache", I8),
            ("seqcycle", B),
        ]),
        "pg_enum" => empty(&[("oid", I8), ("enumtypid", I8), ("enumsortorder", DataType::Float4), ("enumlabel", TX)]),
        "pg_trigger" => empty(&[("oid", I8), ("tgrelid", I8), ("tgname", TX), ("tgenabled", TX), ("tgisinternal", B)]),
        "pg_statistic_ext" => empty(&[
            ("oid", I8),
            ("stxrelid", I8),
            ("stxname", TX),
            ("stxnamespace", I8),
            ("stxowner", I8),
            ("stxstattarget", I4),
            ("stxkeys", DataType::Int2Vector),
            ("stxkind", TX),
        ]),
        "pg_publication" => empty(&[
            ("oid", I8),
            ("pubname", TX),
            ("pubowner", I8),
            ("puballtables", B),
            ("pubinsert", B),
            ("pubupdate", B),
            ("pubdelete", B),
            ("pubtruncate", B),
            ("pubviaroot", B),
        ]),
        "pg_publication_rel" => {
            empty(&[("oid", I8), ("prpubid", I8), ("prrelid", I8), ("prqual", TX), ("prattrs", DataType::Int2Vector)])
        }
        "pg_publication_namespace" => empty(&[("oid", I8), ("pnpubid", I8), ("pnnspid", I8)]),
        "pg_opclass" => {
            empty(&[("oid", I8), ("opcmethod", I8), ("opcname", TX), ("opcnamespace", I8), ("opcdefault", B)])
        }
        "pg_extension" => empty(&[("oid", I8), ("extname", TX), ("extowner", I8), ("extversion", TX)]),
        "pg_foreign_table" => empty(&[("ftrelid", I8), ("ftserver", I8), ("ftoptions", text_array())]),
        "pg_partitioned_table" => empty(&[("partrelid", I8), ("partstrat", TX), ("partnatts", I2)]),
        _ => return None,
    })
}

use DataType::{Bool as B, Int2 as I2, Int4 as I4, Int8 as I8, Text as TX};

fn empty(columns: &[(&'static str, DataType)]) -> View {
    View::new(columns.to_vec())
}

fn pg_tables(catalog: &Catalog) -> View {
    let mut v = View::new(vec![
        ("schemaname", TX),
        ("tablename", TX),
        ("tableowner", TX),
        ("tablespace", TX),
        ("hasindexes", B),
        ("hasrules", B),
        ("hastriggers", B),
        ("rowsecurity", B),
    ]);
    for t in catalog.tables() {
        v.row(vec![
            text(SCHEMA),
            text(&t.name),
            text(DATABASE),
            Value::Null,
            Value::Bool(!indexes(t).is_empty()),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
        ]);
    }
    v
}

fn pg_indexes(catalog: &Catalog) -> View {
    let mut v =
        View::new(vec![("schemaname", TX), ("tablename", TX), ("indexname", TX), ("tablespace", TX), ("indexdef", TX)]);
    for t in catalog.tables() {
        for ix in indexes(t) {
            let def = index_definition(t, &ix);
            v.row(vec![text(SCHEMA), text(&t.name), text(ix.name), Value::Null, text(def)]);
        }
    }
    v
}

fn pg_namespace() -> View {
    let mut v = View::new(vec![("oid", I8), ("nspname", TX), ("nspowner", I8), ("nspacl", text_array())]);
    for (oid, name) in
        [(PG_CATALOG_OID, "pg_catalog"), (PUBLIC_OID, SCHEMA), (INFORMATION_SCHEMA_OID, "information_schema")]
    {
        v.row(vec![int(oid), text(name), int(OWNER_OID), Value::Null]);
    }
    v
}

/// `(typlen, typcategory, typarray)` of a type, as in PostgreSQL.
fn type_facts(ty: &DataType) -> (i64, &'static str, i64) {
    match ty {
        DataType::Bool => (1, "B", 1000),
        DataType::Bytea => (-1, "U", 1001),
        DataType::Int8 => (8, "N", 1016),
        DataType::Int2 => (2, "N", 1005),
        DataType::Int4 => (4, "N", 1007),
        DataType::Text => (-1, "S", 1009),
        DataType::Float4 => (4, "N", 1021),
        DataType::Float8 => (8, "N", 1022),
        DataType::Unknown => (-2, "X", 0),
        DataType::Varchar(_) => (-1, "S", 1015),
        DataType::Date => (4, "D", 1182),
        DataType::Timestamp => (8, "D", 1115),
        DataType::TimestampTz => (8, "D", 1185),
        DataType::Interval => (16, "T", 1187),
        DataType::Numeric(_) => (-1, "N", 1231),
        DataType::Jsonb => (-1, "U", 3807),
        DataType::Vector(_) => (-1, "U", 0),
        DataType::Int2Vector => (-1, "A", 1006),
        DataType::Array(_) => (-1, "A", 0),
    }
}

/// The collation a column of `ty` has (`default` for strings).
fn collation_of(ty: &DataType) -> i64 {
    if ty.is_string() { DEFAULT_COLLATION } else { 0 }
}

fn pg_type() -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("typname", TX),
        ("typnamespace", I8),
        ("typowner", I8),
        ("typlen", I2),
        ("typbyval", B),
        ("typtype", TX),
        ("typcategory", TX),
        ("typisdefined", B),
        ("typdelim", TX),
        ("typrelid", I8),
        ("typelem", I8),
        ("typarray", I8),
        ("typnotnull", B),
        ("typbasetype", I8),
        ("typtypmod", I4),
        ("typndims", I4),
        ("typcollation", I8),
        ("typdefault", TX),
    ]);
    for ty in PG_TYPES {
        let (len, category, array) = type_facts(&ty);
        v.row(vec![
            int(ty.pg_oid()),
            text(super::types::pg_type_name(&ty)),
            int(PG_CATALOG_OID),
            int(OWNER_OID),
            int(len),
            Value::Bool((1..=8).contains(&len)),
            text(if ty == DataType::Unknown { "p" } else { "b" }),
            text(category),
            Value::Bool(true),
            text(","),
            int(0),
            int(0),
            int(array),
            Value::Bool(false),
            int(0),
            int(-1),
            int(0),
            int(collation_of(&ty)),
            Value::Null,
        ]);
    }
    v
}

fn pg_class(catalog: &Catalog) -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("relname", TX),
        ("relnamespace", I8),
        ("reltype", I8),
        ("reloftype", I8),
        ("relowner", I8),
        ("relam", I8),
        ("relfilenode", I8),
        ("reltablespace", I8),
        ("relpages", I4),
        ("reltuples", DataType::Float4),
        ("relallvisible", I4),
        ("reltoastrelid", I8),
        ("relhasindex", B),
        ("relisshared", B),
        ("relpersistence", TX),
        ("relkind", TX),
        ("relnatts", I2),
        ("relchecks", I2),
        ("relhasrules", B),
        ("relhastriggers", B),
        ("relhassubclass", B),
        ("relrowsecurity", B),
        ("relforcerowsecurity", B),
        ("relispopulated", B),
        ("relreplident", TX),
        ("relispartition", B),
        ("relrewrite", I8),
        ("reloptions", text_array()),
        ("relacl", text_array()),
        ("relpartbound", TX),
    ]);
    let mut row = |oid: i64, name: &str, am: i64, kind: &str, natts: usize, checks: usize, has_index: bool| {
        v.row(vec![
            int(oid),
            text(name),
            int(PUBLIC_OID),
            int(0),
            int(0),
            int(OWNER_OID),
            int(am),
            int(oid),
            int(0),
            int(0),
            Value::Float(-1.0),
            int(0),
            int(0),
            Value::Bool(has_index),
            Value::Bool(false),
            text("p"),
            text(kind),
            int(natts as i64),
            int(checks as i64),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(false),
            Value::Bool(true),
            text(if kind == "r" { "d" } else { "n" }),
            Value::Bool(false),
            int(0),
            Value::Null,
            Value::Null,
            Value::Null,
        ]);
    };
    for t in catalog.tables() {
        let ixs = indexes(t);
        let natts = t.columns.iter().filter(|c| !c.hidden).count();
        row(table_oid(t), &t.name, HEAP_AM, "r", natts, t.checks.len(), !ixs.is_empty());
        for ix in ixs {
            row(ix.oid, &ix.name, BTREE_AM, "i", ix.columns.len(), 0, false);
        }
    }
    v
}

fn pg_attribute(catalog: &Catalog) -> View {
    let mut v = View::new(vec![
        ("attrelid", I8),
        ("attname", TX),
        ("atttypid", I8),
        ("attstattarget", I4),
        ("attlen", I2),
        ("attnum", I2),
        ("attndims", I4),
        ("atttypmod", I4),
        ("attbyval", B),
        ("attalign", TX),
        ("attstorage", TX),
        ("attcompression", TX),
        ("attnotnull", B),
        ("atthasdef", B),
        ("atthasmissing", B),
        ("attidentity", TX),
        ("attgenerated", TX),
        ("attisdropped", B),
        ("attislocal", B),
        ("attinhcount", I4),
        ("attcollation", I8),
        ("attacl", text_array()),
        ("attoptions", text_array()),
    ]);
    let mut row = |rel: i64, name: &str, ty: &DataType, num: i64, not_null: bool, has_def: bool| {
        let (len, _, _) = type_facts(ty);
        v.row(vec![
            int(rel),
            text(name),
            int(ty.pg_oid()),
            int(-1),
            int(len),
            int(num),
            int(0),
            int(typmod(ty)),
            Value::Bool((1..=8).contains(&len)),
            text(if len == 8 { "d" } else { "i" }),
            text(if len < 0 { "x" } else { "p" }),
            text(""),
            Value::Bool(not_null),
            Value::Bool(has_def),
            Value::Bool(false),
            text(""),
            text(""),
            Value::Bool(false),
            Value::Bool(true),
            int(0),
            int(collation_of(ty)),
            Value::Null,
            Value::Null,
        ]);
    };
    for t in catalog.tables() {
        let oid = table_oid(t);
        for (i, c) in t.columns.iter().filter(|c| !c.hidden).enumerate() {
            row(oid, &c.name, &c.ty, i as i64 + 1, !c.nullable, c.default.is_some());
        }
        for ix in indexes(t) {
            for (i, &c) in ix.columns.iter().enumerate() {
                let col = &t.columns[c];
                row(ix.oid, &col.name, &col.ty, i as i64 + 1, false, false);
            }
        }
    }
    v
}

fn pg_index(catalog: &Catalog) -> View {
    let mut v = View::new(vec![
        ("indexrelid", I8),
        ("indrelid", I8),
        ("indnatts", I2),
        ("indnkeyatts", I2),
        ("indisunique", B),
        ("indnullsnotdistinct", B),
        ("indisprimary", B),
        ("indisexclusion", B),
        ("indimmediate", B),
        ("indisclustered", B),
        ("indisvalid", B),
        ("indcheckxmin", B),
        ("indisready", B),
        ("indislive", B),
        ("indisreplident", B),
        ("indkey", DataType::Int2Vector),
        ("indcollation", DataType::Array(Box::new(I8))),
        ("indclass", DataType::Array(Box::new(I8))),
        ("indoption", DataType::Int2Vector),
        ("indexprs", TX),
        ("indpred", TX),
    ]);
    for t in catalog.tables() {
        for ix in indexes(t) {
            let keys: Vec<i64> = ix.columns.iter().map(|&c| attnum(t, c)).collect();
            let n = ix.columns.len() as i64;
            v.row(vec![
                int(ix.oid),
                int(table_oid(t)),
                int(n),
                int(n),
                Value::Bool(ix.unique),
                Value::Bool(false),
                Value::Bool(ix.primary),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                int_array(&keys),
                int_array(&vec![0; keys.len()]),
                int_array(&vec![0; keys.len()]),
                int_array(&vec![0; keys.len()]),
                Value::Null,
                Value::Null,
            ]);
        }
    }
    v
}

fn pg_attrdef(catalog: &Catalog) -> View {
    let mut v = View::new(vec![("oid", I8), ("adrelid", I8), ("adnum", I2), ("adbin", TX)]);
    for t in catalog.tables() {
        let oid = table_oid(t);
        for (i, c) in t.columns.iter().filter(|c| !c.hidden).enumerate() {
            if let Some(d) = &c.default {
                v.row(vec![int(oid + 8000 + i as i64), int(oid), int(i as i64 + 1), text(d)]);
            }
        }
    }
    v
}

fn pg_constraint(catalog: &Catalog) -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("conname", TX),
        ("connamespace", I8),
        ("contype", TX),
        ("condeferrable", B),
        ("condeferred", B),
        ("convalidated", B),
        ("conrelid", I8),
        ("contypid", I8),
        ("conindid", I8),
        ("conparentid", I8),
        ("confrelid", I8),
        ("confupdtype", TX),
        ("confdeltype", TX),
        ("confmatchtype", TX),
        ("conislocal", B),
        ("coninhcount", I4),
        ("connoinherit", B),
        ("conkey", DataType::Array(Box::new(I2))),
        ("confkey", DataType::Array(Box::new(I2))),
        ("conbin", TX),
    ]);
    for t in catalog.tables() {
        for c in constraints(t) {
            v.row(vec![
                int(c.oid),
                text(&c.name),
                int(PUBLIC_OID),
                text(c.kind),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                int(table_oid(t)),
                int(0),
                int(c.index),
                int(0),
                int(0),
                text(" "),
                text(" "),
                text(" "),
                Value::Bool(true),
                int(0),
                Value::Bool(false),
                if c.columns.is_empty() { Value::Null } else { int_array(&c.columns) },
                Value::Null,
                if c.kind == "c" { text(&c.definition) } else { Value::Null },
            ]);
        }
    }
    v
}

fn pg_database() -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("datname", TX),
        ("datdba", I8),
        ("encoding", I4),
        ("datlocprovider", TX),
        ("datistemplate", B),
        ("datallowconn", B),
        ("datconnlimit", I4),
        ("datcollate", TX),
        ("datctype", TX),
        ("daticulocale", TX),
        ("datcollversion", TX),
        ("datacl", text_array()),
    ]);
    v.row(vec![
        int(DATABASE_OID),
        text(DATABASE),
        int(OWNER_OID),
        int(UTF8_ENCODING),
        text("c"),
        Value::Bool(false),
        Value::Bool(true),
        int(-1),
        text("C.UTF-8"),
        text("C.UTF-8"),
        Value::Null,
        Value::Null,
        Value::Null,
    ]);
    v
}

/// Whether `pg_catalog.name` is one of the role views, whose rows are the
/// live role list (`crate::users::roles`) rather than the catalog.
pub(super) fn is_role_view(name: &str) -> bool {
    matches!(name, "pg_roles" | "pg_authid" | "pg_user" | "pg_shadow")
}

/// The role view `name` over `roles`, or None when `name` is not one.
pub(super) fn role_view(name: &str, roles: &[Role]) -> Option<View> {
    match name {
        "pg_roles" | "pg_authid" => Some(pg_roles(roles)),
        "pg_user" | "pg_shadow" => Some(pg_user(roles)),
        _ => None,
    }
}

/// `********` for a role with a password (PostgreSQL never shows it).
fn masked_password(role: &Role) -> Value {
    if role.has_password { text("********") } else { Value::Null }
}

fn pg_roles(roles: &[Role]) -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("rolname", TX),
        ("rolsuper", B),
        ("rolinherit", B),
        ("rolcreaterole", B),
        ("rolcreatedb", B),
        ("rolcanlogin", B),
        ("rolreplication", B),
        ("rolconnlimit", I4),
        ("rolpassword", TX),
        ("rolvaliduntil", DataType::TimestampTz),
        ("rolbypassrls", B),
        ("rolconfig", text_array()),
    ]);
    for role in roles {
        let sup = Value::Bool(role.superuser);
        v.row(vec![
            int(role.oid),
            text(&role.name),
            sup.clone(),
            Value::Bool(true),
            sup.clone(),
            sup.clone(),
            Value::Bool(role.login),
            sup.clone(),
            int(-1),
            masked_password(role),
            Value::Null,
            sup,
            Value::Null,
        ]);
    }
    v
}

/// `pg_user`: the roles that can log in.
fn pg_user(roles: &[Role]) -> View {
    let mut v = View::new(vec![
        ("usename", TX),
        ("usesysid", I8),
        ("usecreatedb", B),
        ("usesuper", B),
        ("userepl", B),
        ("usebypassrls", B),
        ("passwd", TX),
        ("valuntil", DataType::TimestampTz),
        ("useconfig", text_array()),
    ]);
    for role in roles.iter().filter(|r| r.login) {
        let sup = Value::Bool(role.superuser);
        v.row(vec![
            text(&role.name),
            int(role.oid),
            sup.clone(),
            sup.clone(),
            sup.clone(),
            sup,
            masked_password(role),
            Value::Null,
            Value::Null,
        ]);
    }
    v
}

fn pg_am() -> View {
    let mut v = View::new(vec![("oid", I8), ("amname", TX), ("amhandler", TX), ("amtype", TX)]);
    v.row(vec![int(HEAP_AM), text("heap"), text("heap_tableam_handler"), text("t")]);
    v.row(vec![int(BTREE_AM), text("btree"), text("bthandler"), text("i")]);
    v
}

fn pg_collation() -> View {
    let mut v = View::new(vec![
        ("oid", I8),
        ("collname", TX),
        ("collnamespace", I8),
        ("collowner", I8),
        ("collprovider", TX),
        ("collisdeterministic", B),
        ("collencoding", I4),
        ("collcollate", TX),
        ("collctype", TX),
    ]);
    for (oid, name, provider) in [(DEFAULT_COLLATION, "default", "d"), (950, "C", "c"), (951, "POSIX", "c")] {
        v.row(vec![
            int(oid),
            text(name),
            int(PG_CATALOG_OID),
            int(OWNER_OID),
            text(provider),
            Value::Bool(true),
            int(-1),
            if provider == "d" { Value::Null } else { text(name) },
            if provider == "d" { Value::Null } else { text(name) },
        ]);
    }
    v
}
