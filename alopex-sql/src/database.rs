//! The embedded database: open a directory, run SQL in-process.
//!
//! A [`Database`] is a cheap, cloneable handle (`Send + Sync`) around the
//! storage engine and the state every session shares: the cached catalog
//! snapshot, the plan cache, the hidden row-id allocator and the table
//! statistics the optimizer reads. Work happens in a [`Session`] (one per
//! connection, or one per call of the convenience methods here).
//!
//! The database talks to storage only through the [`KvStore`]-shaped
//! [`TxnSource`] seam, so the cluster can later hand it a distributed store.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use alopex_core::{Engine, KvStore, KvTxn, SyncMode, TxnOptions, VectorIndexSpec};
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};

use crate::catalog::{Catalog, TableSchema};
use crate::error::Result;
use crate::plan::optimizer::Statistics;
use crate::session::{Rows, Session, Transaction};
use crate::table::{self, RowIdSource};
use crate::types::Value;

/// Starts transactions: the object-safe face of [`KvStore`].
pub trait TxnSource: Send + Sync {
    /// Begins a transaction.
    fn begin_txn(&self, opts: TxnOptions) -> Result<Box<dyn KvTxn>>;

    /// A rough count of the entries stored under `range`, for the
    /// optimizer's row estimates; None when the store cannot tell cheaply.
    fn approximate_count(&self, range: &alopex_core::KeyBounds) -> Option<u64> {
        let _ = range;
        None
    }

    /// Registers an HNSW index's span with the store, which builds search
    /// structures for it (see [`KvStore::create_vector_index`]).
    fn create_vector_index(&self, spec: &VectorIndexSpec) -> Result<()> {
        Ok(spec.validate()?)
    }

    /// Unregisters vector index `id`.
    fn drop_vector_index(&self, id: u64) -> Result<bool> {
        let _ = id;
        Ok(false)
    }

    /// The registered vector indexes.
    fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        Vec::new()
    }

    /// The ranges a key span lives in, on a distributed store
    /// ([`KvStore::placement`]); None on a local one.
    fn placement(&self, span: &alopex_core::KeyBounds) -> Option<Vec<alopex_core::RangePlacement>> {
        let _ = span;
        None
    }

    /// Whether the store evaluates pushed filters where the rows live
    /// ([`KvStore::pushes_filters`]).
    fn pushes_filters(&self) -> bool {
        false
    }
}

/// Adapts any [`KvStore`] to [`TxnSource`].
pub struct StoreAdapter<S>(pub S);

impl<S: KvStore> TxnSource for StoreAdapter<S>
where
    S::Txn: 'static,
{
    fn begin_txn(&self, opts: TxnOptions) -> Result<Box<dyn KvTxn>> {
        Ok(Box::new(self.0.begin(opts)?))
    }

    fn create_vector_index(&self, spec: &VectorIndexSpec) -> Result<()> {
        Ok(self.0.create_vector_index(spec)?)
    }

    fn drop_vector_index(&self, id: u64) -> Result<bool> {
        Ok(self.0.drop_vector_index(id)?)
    }

    fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        self.0.vector_indexes()
    }

    fn placement(&self, span: &alopex_core::KeyBounds) -> Option<Vec<alopex_core::RangePlacement>> {
        self.0.placement(span)
    }

    fn pushes_filters(&self) -> bool {
        self.0.pushes_filters()
    }
}

impl TxnSource for Arc<Engine> {
    fn begin_txn(&self, opts: TxnOptions) -> Result<Box<dyn KvTxn>> {
        Ok(Box::new(self.as_ref().begin(opts.isolation)))
    }

    fn approximate_count(&self, range: &alopex_core::KeyBounds) -> Option<u64> {
        Some(self.as_ref().approximate_count(range))
    }

    fn create_vector_index(&self, spec: &VectorIndexSpec) -> Result<()> {
        Ok(self.as_ref().create_vector_index(spec.clone())?)
    }

    fn drop_vector_index(&self, id: u64) -> Result<bool> {
        Ok(self.as_ref().drop_vector_index(id)?)
    }

    fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        self.as_ref().vector_indexes()
    }
}

/// How a [`Database`] is opened.
#[derive(Clone)]
pub struct DatabaseOptions {
    /// Storage engine options (durability, cache size, …).
    pub engine: alopex_core::Options,
    /// Plans kept in the plan cache (keyed by SQL text).
    pub plan_cache_entries: usize,
    /// The statement clock (`now()`); injectable for deterministic tests.
    pub clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            engine: alopex_core::Options::default(),
            plan_cache_entries: 1024,
            clock: Arc::new(|| DateTime::<Utc>::from(std::time::SystemTime::now())),
        }
    }
}

impl DatabaseOptions {
    /// Acknowledge commits once buffered and fsync every `interval`
    /// (a crash may lose the last `interval` of commits, never corrupt).
    pub fn relaxed(mut self, interval: std::time::Duration) -> Self {
        self.engine.sync_mode = SyncMode::Relaxed { interval };
        self
    }

    /// The block cache budget in bytes.
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.engine.block_cache_bytes = bytes;
        self
    }
}

/// An open database. Clone it freely; every clone is the same database.
#[derive(Clone)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) store: Box<dyn TxnSource>,
    engine: Option<Arc<Engine>>,
    pub(crate) catalog: RwLock<CachedCatalog>,
    /// True when every DDL on the store goes through this `Database` (a
    /// local engine or an in-memory store), so the cached catalog can be
    /// trusted without reading the catalog version.
    exclusive: bool,
    /// Serializes [`Shared::sync_vector_indexes`].
    vector_sync: Mutex<()>,
    /// DDL transactions between the start of their commit and the update of
    /// `last_ddl_ts`.
    ddl_in_flight: AtomicU64,
    /// The commit timestamp of the newest DDL committed through this handle.
    last_ddl_ts: AtomicU64,
    pub(crate) plans: crate::session::PlanCache,
    pub(crate) row_ids: RowIds,
    pub(crate) stats: TableStats,
    pub(crate) sequences: crate::sequence::Sequences,
    pub(crate) clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Users the server's configuration defines (`crate::users::roles`).
    pub(crate) configured_roles: crate::users::ConfiguredRoles,
}

impl Database {
    /// Opens (creating if needed) the database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, DatabaseOptions::default())
    }

    /// Opens with options.
    pub fn open_with(path: impl AsRef<Path>, opts: DatabaseOptions) -> Result<Database> {
        let engine = Arc::new(Engine::open(path, opts.engine.clone())?);
        let db = Database::from_parts(Box::new(engine.clone()), Some(engine), &opts, true);
        db.shared.sync_vector_indexes()?;
        Ok(db)
    }

    /// A database held entirely in memory (nothing survives the process),
    /// over [`alopex_core::MemStore`].
    pub fn open_in_memory() -> Database {
        Database::from_parts(
            Box::new(StoreAdapter(alopex_core::MemStore::new())),
            None,
            &DatabaseOptions::default(),
            true,
        )
    }

    /// A database over any transactional store (the cluster's distributed
    /// store, or a test store).
    pub fn with_store(store: Box<dyn TxnSource>, opts: DatabaseOptions) -> Database {
        Database::from_parts(store, None, &opts, false)
    }

    fn from_parts(
        store: Box<dyn TxnSource>,
        engine: Option<Arc<Engine>>,
        opts: &DatabaseOptions,
        exclusive: bool,
    ) -> Database {
        // The codec of pushed filters, for the stores that evaluate them
        // (a cluster's range leaders run in this process too). Registering
        // again is a no-op; it fails only if another codec took the number.
        let _ = crate::pushed_filter::register();
        Database {
            shared: Arc::new(Shared {
                store,
                engine,
                catalog: RwLock::new(CachedCatalog { catalog: Arc::new(Catalog::default()), loaded_at: None }),
                exclusive,
                vector_sync: Mutex::new(()),
                ddl_in_flight: AtomicU64::new(0),
                last_ddl_ts: AtomicU64::new(0),
                plans: crate::session::PlanCache::new(opts.plan_cache_entries),
                row_ids: RowIds::default(),
                stats: TableStats::default(),
                sequences: Default::default(),
                clock: opts.clock.clone(),
                configured_roles: Default::default(),
            }),
        }
    }

    /// Brings the store's vector-index registry (which spans the store
    /// builds HNSW graphs for) in line with the committed catalog. Opening
    /// and DDL through this handle do it already; a server whose store
    /// other databases change too (every node of a cluster is a gateway)
    /// calls this periodically, so that an index created through another
    /// node gets graphs here as well.
    pub fn sync_vector_indexes(&self) -> Result<()> {
        self.shared.sync_vector_indexes()
    }

    /// The storage engine, when this database runs on a local one.
    pub fn engine(&self) -> Option<&Engine> {
        self.shared.engine.as_deref()
    }

    /// A new session (a connection's state: transaction, settings).
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// Runs every statement in `sql` as its own transaction (or inside the
    /// one it opens with BEGIN); returns the rows affected by the last.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.session().execute(sql, params)
    }

    /// Runs one query and returns its rows (streamed from storage as they
    /// are read).
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Rows<'static>> {
        Session::new(self.clone()).into_query(sql, params)
    }

    /// Begins an explicit transaction with the default isolation (snapshot).
    pub fn begin(&self) -> Result<Transaction> {
        Transaction::begin(self.session(), None)
    }

    /// Begins a serializable transaction.
    pub fn begin_serializable(&self) -> Result<Transaction> {
        Transaction::begin(self.session(), Some(alopex_core::IsolationLevel::Serializable))
    }

    /// Writes everything in memory to SSTables (PostgreSQL's CHECKPOINT):
    /// the memtables are flushed, and with them the HNSW graphs of every
    /// vector index are built, so searches walk graphs instead of scoring
    /// fresh rows exactly. Returns when the flush is durable. A no-op for a
    /// store without a local engine.
    pub fn checkpoint(&self) -> Result<()> {
        match self.engine() {
            Some(engine) => Ok(engine.flush()?),
            None => Ok(()),
        }
    }

    /// Closes the database, flushing the storage engine. Other clones of
    /// this handle must be dropped first, or this returns an error.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => {
                let Shared { store, engine, .. } = shared;
                drop(store);
                match engine.map(Arc::try_unwrap) {
                    Some(Ok(engine)) => Ok(engine.close()?),
                    Some(Err(_)) => Err(crate::sql_err!(
                        OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "the storage engine is still in use by open transactions"
                    )),
                    None => Ok(()),
                }
            }
            Err(_) => {
                Err(crate::sql_err!(OBJECT_NOT_IN_PREREQUISITE_STATE, "database is still in use by other handles"))
            }
        }
    }
}

/// The catalog snapshot shared by sessions, and the snapshot timestamp it
/// was read at (None until first read).
pub(crate) struct CachedCatalog {
    catalog: Arc<Catalog>,
    loaded_at: Option<u64>,
}

impl Shared {
    /// The catalog as `txn` sees it.
    ///
    /// Fast path (a store only this handle changes): no DDL has committed
    /// since the cached snapshot was read, and `txn`'s snapshot is not older
    /// than the last DDL, so the cache is exactly what `txn` would read; no
    /// storage access. Otherwise the catalog version key is read: a matching
    /// cached catalog is used, else the catalog is loaded in `txn`. A
    /// transaction with DDL of its own always reads its own catalog.
    pub(crate) fn catalog_for(&self, txn: &mut dyn KvTxn, own_ddl: bool) -> Result<Arc<Catalog>> {
        if !own_ddl && self.exclusive && self.ddl_in_flight.load(Ordering::SeqCst) == 0 {
            let last = self.last_ddl_ts.load(Ordering::SeqCst);
            let cached = self.catalog.read();
            if cached.loaded_at.is_some_and(|at| at >= last) && txn.read_ts() >= last {
                return Ok(cached.catalog.clone());
            }
        }
        let version = crate::catalog::store::version(txn)?;
        if !own_ddl {
            let cached = self.catalog.read();
            if cached.loaded_at.is_some() && cached.catalog.version == version {
                return Ok(cached.catalog.clone());
            }
        }
        let loaded = Arc::new(crate::catalog::store::load(txn)?);
        if !own_ddl {
            let mut slot = self.catalog.write();
            if slot.loaded_at.is_none() || slot.catalog.version < loaded.version {
                *slot = CachedCatalog { catalog: loaded.clone(), loaded_at: Some(txn.read_ts()) };
            }
        }
        Ok(loaded)
    }

    /// Commits a transaction that changed the catalog, keeping the fast path
    /// of [`Shared::catalog_for`] away until the new catalog is published;
    /// then brings the store's vector-index registry in line with it.
    pub(crate) fn commit_ddl(&self, txn: &mut dyn KvTxn) -> Result<u64> {
        self.ddl_in_flight.fetch_add(1, Ordering::SeqCst);
        let result = txn.commit();
        if let Ok(ts) = &result {
            self.last_ddl_ts.fetch_max(*ts, Ordering::SeqCst);
        }
        self.ddl_in_flight.fetch_sub(1, Ordering::SeqCst);
        let ts = result?;
        self.sync_vector_indexes()?;
        Ok(ts)
    }

    /// EXPLAIN's lines for the filters pushed to the store (on a store that
    /// evaluates them where the rows live; none otherwise).
    pub(crate) fn pushed_filter_lines(&self, plan: &crate::plan::Plan) -> Vec<String> {
        if self.store.pushes_filters() { crate::plan::explain::pushed_filter_lines(plan) } else { Vec::new() }
    }

    /// EXPLAIN's closing lines on a distributed store: for every table or
    /// index span the plan reads or writes, the ranges it lies in (all of
    /// the span's ranges: a point lookup touches one of them). None on a
    /// local store.
    pub(crate) fn range_lines(&self, plan: &crate::plan::Plan) -> Vec<String> {
        let mut lines = Vec::new();
        for (label, span) in crate::plan::explain::touched_spans(plan) {
            let Some(ranges) = self.store.placement(&span) else {
                return Vec::new();
            };
            let list: Vec<String> = ranges
                .iter()
                .map(|r| match r.leader {
                    Some(leader) => format!("r{}@n{leader}", r.range),
                    None => format!("r{}", r.range),
                })
                .collect();
            let n = ranges.len();
            lines.push(format!("{label}: {n} range{} [{}]", if n == 1 { "" } else { "s" }, list.join(" ")));
        }
        if !lines.is_empty() {
            lines.insert(0, "Ranges (range@leader node):".into());
            for l in lines.iter_mut().skip(1) {
                l.insert_str(0, "  ");
            }
        }
        lines
    }

    /// Registers with the store every HNSW index of the committed catalog
    /// and unregisters every vector index the catalog no longer has.
    ///
    /// The registry follows the catalog instead of the DDL statements, so a
    /// rolled-back `CREATE INDEX` registers nothing, and a crash between a
    /// commit and its registration is repaired when the database opens
    /// (this runs then too). Until an index is registered, the tables the
    /// engine writes carry no graph for it and searches score them exactly:
    /// slower, never wrong.
    pub(crate) fn sync_vector_indexes(&self) -> Result<()> {
        let _one_at_a_time = self.vector_sync.lock();
        let mut txn = self.store.begin_txn(TxnOptions::default())?;
        let catalog = self.catalog_for(&mut *txn, false)?;
        let _ = txn.rollback();
        let wanted: Vec<VectorIndexSpec> = catalog
            .tables()
            .flat_map(|t| t.indexes.iter().filter_map(move |ix| table::vector_index_spec(t, ix)))
            .collect();
        for registered in self.store.vector_indexes() {
            if !wanted.contains(&registered) {
                self.store.drop_vector_index(registered.id)?;
            }
        }
        for spec in &wanted {
            self.store.create_vector_index(spec)?;
        }
        Ok(())
    }
}

/// Hidden row ids. On a store only this database writes: one counter per
/// table, seeded from the largest id in storage the first time the table
/// needs one. On a shared store (a cluster): blocks reserved in storage,
/// unique across every database on it ([`crate::catalog::row_ids`]).
#[derive(Default)]
pub(crate) struct RowIds {
    /// Per-table counters, on a store only this database writes.
    next: Mutex<HashMap<u64, Arc<AtomicI64>>>,
    /// Per-table reserved blocks, on a shared store
    /// ([`crate::catalog::row_ids`]).
    blocks: Mutex<HashMap<u64, RowIdBlock>>,
}

/// Ids `next..end` are reserved for this database; `size` is the length of
/// the last reservation (doubled at each refill up to [`MAX_ROW_ID_BLOCK`],
/// so a bulk load reserves rarely and a table with few inserts wastes few ids).
struct RowIdBlock {
    next: i64,
    end: i64,
    size: i64,
}

/// The first reservation of row ids for a table on a shared store.
const MIN_ROW_ID_BLOCK: i64 = 64;
/// The largest reservation of row ids.
const MAX_ROW_ID_BLOCK: i64 = 16384;

pub(crate) struct RowIdAllocator<'a> {
    pub(crate) db: &'a Shared,
}

impl RowIdSource for RowIdAllocator<'_> {
    fn next_row_id(&self, table: &TableSchema) -> Result<i64> {
        if !self.db.exclusive {
            let mut blocks = self.db.row_ids.blocks.lock();
            if let Some(block) = blocks.get_mut(&table.id)
                && block.next < block.end
            {
                block.next += 1;
                return Ok(block.next - 1);
            }
            let size = blocks.get(&table.id).map_or(MIN_ROW_ID_BLOCK, |b| (b.size * 2).min(MAX_ROW_ID_BLOCK));
            let first = crate::catalog::row_ids::reserve(&*self.db.store, table, size)?;
            blocks.insert(table.id, RowIdBlock { next: first + 1, end: first + size, size });
            return Ok(first);
        }
        let counter = {
            let mut map = self.db.row_ids.next.lock();
            match map.get(&table.id) {
                Some(c) => c.clone(),
                None => {
                    let mut txn = self.db.store.begin_txn(TxnOptions::default())?;
                    let max = table::max_row_id(&mut *txn, table)?;
                    txn.rollback()?;
                    let c = Arc::new(AtomicI64::new(max + 1));
                    map.insert(table.id, c.clone());
                    c
                }
            }
        };
        Ok(counter.fetch_add(1, Ordering::Relaxed))
    }
}

/// Row-count estimates per table. The first time the optimizer asks about a
/// table, the count is seeded from the store's approximate entry count of
/// the table's rows (so a reopened database plans with real sizes); after
/// that, committed DML in this process keeps it current.
#[derive(Default)]
pub(crate) struct TableStats {
    rows: RwLock<HashMap<u64, Arc<TableCount>>>,
}

#[derive(Default)]
struct TableCount {
    rows: AtomicU64,
    seeded: std::sync::atomic::AtomicBool,
}

impl TableStats {
    fn counter(&self, table_id: u64) -> Arc<TableCount> {
        let counter = { self.rows.read().get(&table_id).cloned() };
        match counter {
            Some(c) => c,
            None => self.rows.write().entry(table_id).or_default().clone(),
        }
    }

    /// Replaces the estimate with a count (ANALYZE; 0 after TRUNCATE).
    pub(crate) fn set(&self, table_id: u64, rows: u64) {
        let counter = self.counter(table_id);
        counter.rows.store(rows, Ordering::Relaxed);
        counter.seeded.store(true, Ordering::Release);
    }

    pub(crate) fn adjust(&self, table_id: u64, delta: i64) {
        let counter = self.counter(table_id);
        if delta >= 0 {
            counter.rows.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            let d = delta.unsigned_abs();
            let _ = counter.rows.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_sub(d)));
        }
    }
}

/// The optimizer's view of the statistics of one database.
pub(crate) struct StatsView<'a> {
    pub(crate) db: &'a Shared,
}

impl Statistics for StatsView<'_> {
    fn row_count(&self, table_id: u64) -> Option<u64> {
        let counter = self.db.stats.counter(table_id);
        if !counter.seeded.load(Ordering::Acquire) {
            // Storage holds every committed row, including those the
            // in-process counter saw, so the estimate replaces the counter.
            let span = table::index_span(table_id, table::PRIMARY_INDEX_ID);
            if let Some(estimate) = self.db.store.approximate_count(&span) {
                counter.rows.store(estimate, Ordering::Relaxed);
            }
            counter.seeded.store(true, Ordering::Release);
        }
        Some(counter.rows.load(Ordering::Relaxed))
    }
}
