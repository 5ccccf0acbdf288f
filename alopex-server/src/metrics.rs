//! Prometheus metrics: connections, statements and their latency, and the
//! storage engine's own counters (the block cache hit rate is
//! `hits / (hits + misses)` of `alopex_block_cache_{hits,misses}_total`).
//!
//! Request-path metrics are updated as work happens (atomic counters and a
//! histogram, cheap enough for every statement). Storage metrics live in
//! the engine ([`alopex_core::EngineStats`]) and are copied into the
//! registry when `/metrics` is scraped: gauges are set, and counters are
//! advanced by how much the engine's counter moved since the last scrape,
//! so they stay monotonic as Prometheus requires.

use std::sync::Arc;
use std::time::Duration;

use alopex_sql::Database;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a statement metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatementLabels {
    /// `pg` or `http`.
    pub protocol: &'static str,
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// Labels of a per-protocol metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    /// `pg` or `http`.
    pub protocol: &'static str,
}

/// Labels of a per-level metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LevelLabels {
    /// The LSM level.
    pub level: u32,
}

/// Engine counters exported as Prometheus counters.
struct EngineCounters {
    flushes: Counter,
    compactions: Counter,
    commits: Counter,
    conflicts: Counter,
    wal_fsyncs: Counter,
    stalls: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
    /// The engine's values at the last scrape.
    last: Mutex<[u64; 8]>,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Connections open now.
    pub connections_open: Family<ProtocolLabels, Gauge>,
    /// Connections accepted.
    pub connections: Family<ProtocolLabels, Counter>,
    /// Statements run.
    pub statements: Family<StatementLabels, Counter>,
    /// Statement latency.
    pub statement_seconds: Family<ProtocolLabels, Histogram>,
    memtable_bytes: Gauge,
    immutable_memtables: Gauge,
    block_cache_bytes: Gauge,
    level_bytes: Family<LevelLabels, Gauge>,
    engine: EngineCounters,
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("alopex");
        let connections_open = Family::<ProtocolLabels, Gauge>::default();
        registry.register("connections_open", "Client connections open now", connections_open.clone());
        let connections = Family::<ProtocolLabels, Counter>::default();
        registry.register("connections", "Client connections accepted", connections.clone());
        let statements = Family::<StatementLabels, Counter>::default();
        registry.register("statements", "Statements (or scripts) run, by outcome", statements.clone());
        let statement_seconds = Family::<ProtocolLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
        });
        registry.register("statement_seconds", "Statement latency on a worker", statement_seconds.clone());
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let memtable_bytes = gauge(&mut registry, "memtable_bytes", "Bytes in the active memtable");
        let immutable_memtables = gauge(&mut registry, "immutable_memtables", "Frozen memtables waiting for flush");
        let block_cache_bytes = gauge(&mut registry, "block_cache_bytes", "Bytes held by the block cache");
        let level_bytes = Family::<LevelLabels, Gauge>::default();
        registry.register("level_bytes", "SSTable bytes per LSM level", level_bytes.clone());
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let engine = EngineCounters {
            flushes: counter(&mut registry, "flushes", "Memtable flushes"),
            compactions: counter(&mut registry, "compactions", "Compactions that rewrote tables"),
            commits: counter(&mut registry, "commits", "Committed write batches and transactions"),
            conflicts: counter(&mut registry, "conflicts", "Transactions refused for conflicts"),
            wal_fsyncs: counter(&mut registry, "wal_fsyncs", "WAL fsyncs"),
            stalls: counter(&mut registry, "write_stalls", "Times a writer stalled for compaction"),
            cache_hits: counter(&mut registry, "block_cache_hits", "SSTable block reads answered by the block cache"),
            cache_misses: counter(&mut registry, "block_cache_misses", "SSTable block reads that went to disk"),
            last: Mutex::new([0; 8]),
        };
        Arc::new(Metrics {
            registry,
            connections_open,
            connections,
            statements,
            statement_seconds,
            memtable_bytes,
            immutable_memtables,
            block_cache_bytes,
            level_bytes,
            engine,
        })
    }

    /// Records one statement (or script) run.
    pub fn statement(&self, protocol: &'static str, ok: bool, took: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.statements.get_or_create(&StatementLabels { protocol, outcome }).inc();
        self.statement_seconds.get_or_create(&ProtocolLabels { protocol }).observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition, with storage figures read now.
    pub fn render(&self, db: &Database) -> String {
        if let Some(engine) = db.engine() {
            let s = engine.stats();
            let set = |g: &Gauge, v: u64| {
                g.set(i64::try_from(v).unwrap_or(i64::MAX));
            };
            set(&self.memtable_bytes, s.memtable_bytes as u64);
            set(&self.immutable_memtables, s.immutable_memtables as u64);
            set(&self.block_cache_bytes, s.block_cache_bytes);
            for (level, bytes) in s.level_bytes.iter().enumerate() {
                set(&self.level_bytes.get_or_create(&LevelLabels { level: level as u32 }), *bytes);
            }
            let now = [
                s.flushes,
                s.compactions,
                s.commits,
                s.conflicts,
                s.wal_fsyncs,
                s.stalls,
                s.block_cache_hits,
                s.block_cache_misses,
            ];
            let e = &self.engine;
            let counters = [
                &e.flushes,
                &e.compactions,
                &e.commits,
                &e.conflicts,
                &e.wal_fsyncs,
                &e.stalls,
                &e.cache_hits,
                &e.cache_misses,
            ];
            let mut last = e.last.lock();
            for ((counter, now), last) in counters.iter().zip(now).zip(last.iter_mut()) {
                counter.inc_by(now.saturating_sub(*last));
                *last = now.max(*last);
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Keeps a connection counted as open until dropped.
pub struct OpenConnection {
    metrics: Arc<Metrics>,
    protocol: &'static str,
}

impl OpenConnection {
    /// Counts a new connection.
    pub fn new(metrics: &Arc<Metrics>, protocol: &'static str) -> OpenConnection {
        metrics.connections.get_or_create(&ProtocolLabels { protocol }).inc();
        metrics.connections_open.get_or_create(&ProtocolLabels { protocol }).inc();
        OpenConnection { metrics: metrics.clone(), protocol }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.connections_open.get_or_create(&ProtocolLabels { protocol: self.protocol }).dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_request_and_storage_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE TABLE t (a INT PRIMARY KEY)", &[]).unwrap();
        let m = Metrics::new();
        let _c = OpenConnection::new(&m, "pg");
        m.statement("pg", true, Duration::from_millis(2));
        m.statement("pg", false, Duration::from_millis(1));
        let text = m.render(&db);
        assert!(text.contains("alopex_connections_open{protocol=\"pg\"} 1"), "{text}");
        assert!(text.contains("alopex_statements_total{protocol=\"pg\",outcome=\"error\"} 1"), "{text}");
        assert!(text.contains("alopex_statement_seconds_count{protocol=\"pg\"} 2"), "{text}");
        assert!(text.contains("alopex_commits_total"), "{text}");
        assert!(text.contains("alopex_memtable_bytes"), "{text}");
        assert!(text.contains("alopex_block_cache_hits_total"), "{text}");
    }
}
