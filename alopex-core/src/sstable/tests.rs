//! Table-level tests: a `BTreeMap` model, sections, corruption, edge cases.
//!
//! The unit tests of each format live next to it; these build real files.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::footer::{FOOTER_LEN, Footer};
use super::frame::BlockHandle;
use super::{BlockCache, Table, TableBuilder, TableOptions, metaindex};
use crate::key::Entry;
use crate::{Error, Result};

/// Internal order: user key ascending, then timestamp descending.
type Model = BTreeMap<Version, Option<Vec<u8>>>;

/// A model key: `(user key, Reverse(ts))`.
type Version = (Vec<u8>, Reverse<u64>);

/// splitmix64: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Short keys over a tiny alphabet (with 0x00 and 0xff), so that many
    /// keys are prefixes of others.
    fn key(&mut self) -> Vec<u8> {
        const ALPHABET: [u8; 5] = [b'a', b'b', b'c', 0x00, 0xff];
        let len = self.below(9);
        (0..len).map(|_| ALPHABET[self.below(5) as usize]).collect()
    }
}

/// About 20k versions: several per key, ~1/8 tombstones, some empty and some
/// block-sized values.
fn model(seed: u64) -> Model {
    let mut rng = Rng(seed);
    let mut m = Model::new();
    while m.len() < 20_000 {
        let key = rng.key();
        for _ in 0..=rng.below(6) {
            let ts = 1 + rng.below(1000);
            let value = match rng.below(16) {
                0 | 1 => None,
                2 => Some(Vec::new()),
                3 => Some(vec![rng.below(256) as u8; 5000]),
                _ => Some((0..rng.below(64)).map(|_| rng.below(256) as u8).collect()),
            };
            m.insert((key.clone(), Reverse(ts)), value);
        }
    }
    m
}

fn write_table(path: &Path, m: &Model, opts: TableOptions) -> Result<super::TableProperties> {
    let mut b = TableBuilder::create(path, opts)?;
    for ((k, Reverse(ts)), v) in m {
        b.add(k, *ts, v.as_deref())?;
    }
    b.finish()
}

fn small_blocks() -> TableOptions {
    TableOptions { block_size: 1024, restart_interval: 16, bloom_bits_per_key: 10 }
}

fn to_entry(((k, Reverse(ts)), v): (&Version, &Option<Vec<u8>>)) -> Entry {
    Entry { key: Bytes::copy_from_slice(k), ts: *ts, value: v.as_deref().map(Bytes::copy_from_slice) }
}

fn model_get(m: &Model, key: &[u8], read_ts: u64) -> Option<Entry> {
    m.range((key.to_vec(), Reverse(read_ts))..).next().filter(|((k, _), _)| k == key).map(to_entry)
}

fn model_range(m: &Model, range: &(Bound<Bytes>, Bound<Bytes>), reverse: bool) -> Vec<Entry> {
    let in_range = |k: &[u8]| {
        let lower_ok = match &range.0 {
            Bound::Included(b) => k >= b.as_ref(),
            Bound::Excluded(b) => k > b.as_ref(),
            Bound::Unbounded => true,
        };
        let upper_ok = match &range.1 {
            Bound::Included(b) => k <= b.as_ref(),
            Bound::Excluded(b) => k < b.as_ref(),
            Bound::Unbounded => true,
        };
        lower_ok && upper_ok
    };
    let mut out: Vec<Entry> = m.iter().filter(|((k, _), _)| in_range(k)).map(to_entry).collect();
    if reverse {
        out.reverse();
    }
    out
}

fn collect(table: &Arc<Table>, range: (Bound<Bytes>, Bound<Bytes>), reverse: bool) -> Vec<Entry> {
    table.iter(range, reverse).collect::<Result<Vec<_>>>().expect("iteration succeeds")
}

fn is_corruption<T: std::fmt::Debug>(r: Result<T>, path: &Path) -> bool {
    match r {
        Err(Error::Corruption { path: p, detail }) => {
            assert_eq!(p, path, "corruption names the file ({detail})");
            true
        }
        other => {
            eprintln!("expected corruption, got {other:?}");
            false
        }
    }
}

#[test]
fn model_based_get_and_iteration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = model(7);
    for (name, opts, cache_bytes) in
        [("small.sst", small_blocks(), 64 << 10), ("default.sst", TableOptions::default(), 8 << 20)]
    {
        let path = dir.path().join(name);
        let written = write_table(&path, &m, opts).expect("build");
        let table = Table::open(&path, 1, Arc::new(BlockCache::new(cache_bytes))).expect("open");
        check_properties(&table, &written, &m, &path);
        table.verify().expect("verify");

        let mut rng = Rng(99);
        let keys: Vec<Vec<u8>> = m.keys().map(|(k, _)| k.clone()).collect();
        for ((k, Reverse(ts)), _) in m.iter().step_by(3) {
            for read_ts in [0, 1, *ts - 1, *ts, *ts + 1, rng.below(1002), u64::MAX] {
                assert_eq!(table.get(k, read_ts).expect("get"), model_get(&m, k, read_ts), "get {k:?}@{read_ts}");
            }
        }
        for _ in 0..300 {
            let k = rng.key();
            assert_eq!(table.get(&k, 500).expect("get"), model_get(&m, &k, 500), "get {k:?}");
        }

        for reverse in [false, true] {
            let full = (Bound::Unbounded, Bound::Unbounded);
            assert_eq!(collect(&table, full.clone(), reverse), model_range(&m, &full, reverse));
        }
        let bound = |rng: &mut Rng| {
            let k = if rng.below(2) == 0 { keys[rng.below(keys.len() as u64) as usize].clone() } else { rng.key() };
            match rng.below(3) {
                0 => Bound::Included(Bytes::from(k)),
                1 => Bound::Excluded(Bytes::from(k)),
                _ => Bound::Unbounded,
            }
        };
        for i in 0..150 {
            let range = (bound(&mut rng), bound(&mut rng));
            let reverse = i % 2 == 1;
            assert_eq!(
                collect(&table, range.clone(), reverse),
                model_range(&m, &range, reverse),
                "{range:?} rev={reverse}"
            );
        }
    }
}

fn check_properties(table: &Table, written: &super::TableProperties, m: &Model, path: &Path) {
    let p = table.properties();
    assert_eq!(p, written);
    assert_eq!(p.entries, m.len() as u64);
    assert_eq!(p.tombstones, m.values().filter(|v| v.is_none()).count() as u64);
    let ((first, Reverse(first_ts)), _) = m.first_key_value().expect("non-empty");
    let ((last, Reverse(last_ts)), _) = m.last_key_value().expect("non-empty");
    assert_eq!((p.smallest_key.as_ref(), p.smallest_ts), (first.as_slice(), *first_ts));
    assert_eq!((p.largest_key.as_ref(), p.largest_ts), (last.as_slice(), *last_ts));
    assert_eq!(p.min_ts, m.keys().map(|(_, Reverse(t))| *t).min().expect("non-empty"));
    assert_eq!(p.max_ts, m.keys().map(|(_, Reverse(t))| *t).max().expect("non-empty"));
    assert_eq!(p.file_size, std::fs::metadata(path).expect("stat").len());
    assert!(p.data_size > 0 && p.data_size < p.file_size);
    assert_eq!(table.path(), path);
    assert_eq!(table.id(), 1);
}

#[test]
fn iteration_is_lazy_and_tables_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();
    assert_send_sync::<super::TableIter>();
    assert_send_sync::<BlockCache>();

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.sst");
    let m = model(3);
    write_table(&path, &m, TableOptions::default()).expect("build");
    let cache = Arc::new(BlockCache::new(64 << 20));
    let table = Table::open(&path, 9, Arc::clone(&cache)).expect("open");
    let mut it = table.iter((Bound::Unbounded, Bound::Unbounded), false);
    assert_eq!(cache.usage_bytes(), 0, "creating an iterator does no I/O");
    it.next().expect("one entry").expect("ok");
    assert!(cache.usage_bytes() < 16 << 10, "only the first block is loaded: {cache:?}");

    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let table = Arc::clone(&table);
            let m = m.clone();
            std::thread::spawn(move || {
                for ((k, Reverse(ts)), _) in m.iter().skip(t as usize).step_by(7) {
                    assert_eq!(table.get(k, *ts).expect("get"), model_get(&m, k, *ts));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("reader thread");
    }
    cache.remove_table(9);
    assert_eq!(cache.usage_bytes(), 0);
}

#[test]
fn sections_roundtrip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.sst");
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut b = TableBuilder::create(&path, TableOptions::default()).expect("create");
    b.add(b"a", 5, Some(b"x")).expect("add");
    b.add_section("vector.segment", &blob).expect("section");
    b.add(b"b", 5, None).expect("add");
    b.add_section("empty", b"").expect("empty section");
    for bad in ["", metaindex::BLOOM, metaindex::PROPERTIES, "empty"] {
        assert!(matches!(b.add_section(bad, b"x"), Err(Error::InvalidArgument(_))), "{bad:?}");
    }
    b.finish().expect("finish");

    let table = Table::open(&path, 1, Arc::new(BlockCache::new(1 << 20))).expect("open");
    assert_eq!(table.section("vector.segment").expect("read"), Some(Bytes::from(blob)));
    assert_eq!(table.section("empty").expect("read"), Some(Bytes::new()));
    assert_eq!(table.section("missing").expect("read"), None);
    assert_eq!(table.section(metaindex::BLOOM).expect("read"), None);
    assert_eq!(table.get(b"b", 9).expect("get").map(|e| e.value), Some(None));
    table.verify().expect("verify");

    // A flipped byte inside the section: open succeeds, reading it fails.
    flip(&path, 200);
    let table = Table::open(&path, 1, Arc::new(BlockCache::new(1 << 20))).expect("open");
    assert!(is_corruption(table.section("vector.segment"), &path));
    assert!(is_corruption(table.verify(), &path));
}

#[test]
fn empty_table_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e.sst");
    let props = write_table(&path, &Model::new(), TableOptions::default()).expect("build");
    assert_eq!(props.entries, 0);
    let table = Table::open(&path, 1, Arc::new(BlockCache::new(1 << 20))).expect("open");
    assert_eq!(table.properties(), &props);
    assert_eq!(table.get(b"", u64::MAX).expect("get"), None);
    assert!(!table.may_contain(b"x"));
    for reverse in [false, true] {
        assert!(collect(&table, (Bound::Unbounded, Bound::Unbounded), reverse).is_empty());
    }
    table.verify().expect("verify");
}

#[test]
fn builder_rejects_unsorted_input_and_cleans_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("b.sst");
    let mut b = TableBuilder::create(&path, TableOptions::default()).expect("create");
    b.add(b"k", 10, Some(b"v")).expect("add");
    assert!(matches!(b.add(b"k", 10, Some(b"v")), Err(Error::InvalidArgument(_))), "duplicate");
    assert!(matches!(b.add(b"k", 11, None), Err(Error::InvalidArgument(_))), "newer after older");
    assert!(matches!(b.add(b"j", 1, None), Err(Error::InvalidArgument(_))), "smaller key");
    b.add(b"k", 9, None).expect("older version of the same key");
    b.add(b"k\0", 100, Some(b"")).expect("longer key");
    assert_eq!(b.entries(), 3);
    assert!(b.estimated_size() > 0);
    assert!(TableBuilder::create(&path, TableOptions::default()).is_err(), "file exists");
    b.abandon();
    assert!(!path.exists(), "abandon deletes the partial file");

    let mut b = TableBuilder::create(&path, TableOptions::default()).expect("create again");
    b.add(b"a", 1, None).expect("add");
    drop(b);
    assert!(!path.exists(), "dropping an unfinished builder deletes the file");

    // Zero block size and restart interval are clamped, not fatal.
    let m = model(11);
    let opts = TableOptions { block_size: 0, restart_interval: 0, bloom_bits_per_key: 0 };
    let path = dir.path().join("tiny.sst");
    write_table(&path, &m, opts).expect("build");
    let table = Table::open(&path, 2, Arc::new(BlockCache::new(0))).expect("open");
    assert!(table.may_contain(b"definitely absent"), "bloom disabled");
    let some = m.keys().nth(4321).expect("exists");
    assert_eq!(table.get(&some.0, some.1.0).expect("get"), model_get(&m, &some.0, some.1.0));
    table.verify().expect("verify");
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x20;
    std::fs::write(path, bytes).expect("write");
}

fn footer_of(path: &Path) -> Footer {
    let bytes = std::fs::read(path).expect("read");
    Footer::decode(&bytes[bytes.len() - FOOTER_LEN..]).expect("valid footer")
}

/// Builds a small table of 2000 versions over 1 KiB blocks, returning a path
/// and a pristine copy of its bytes.
fn fixture(dir: &Path) -> (PathBuf, Vec<u8>, Model) {
    let mut m = Model::new();
    for i in 0..1000u32 {
        let key = format!("key{i:05}").into_bytes();
        m.insert((key.clone(), Reverse(20)), Some(vec![i as u8; 20]));
        m.insert((key, Reverse(10)), None);
    }
    let path = dir.join("c.sst");
    write_table(&path, &m, small_blocks()).expect("build");
    let bytes = std::fs::read(&path).expect("read");
    (path, bytes, m)
}

fn open(path: &Path) -> Result<Arc<Table>> {
    Table::open(path, 1, Arc::new(BlockCache::new(1 << 20)))
}

#[test]
fn flipped_data_byte_is_reported_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _, m) = fixture(dir.path());
    flip(&path, 5); // inside the first data block
    let table = open(&path).expect("data blocks are verified lazily");
    let first = &m.keys().next().expect("non-empty").0;
    assert!(is_corruption(table.get(first, 100), &path));
    // A key in a later block still reads fine.
    let last = &m.keys().next_back().expect("non-empty").0;
    assert!(table.get(last, 100).expect("other block").is_some());

    let mut it = table.iter((Bound::Unbounded, Bound::Unbounded), false);
    assert!(is_corruption(it.next().expect("an item"), &path));
    assert!(it.next().is_none(), "nothing after an error");

    let mut rev = table.iter((Bound::Unbounded, Bound::Unbounded), true);
    let mut yielded = 0;
    let err = loop {
        match rev.next().expect("ends with an error") {
            Ok(_) => yielded += 1,
            Err(e) => break e,
        }
    };
    assert!(yielded > 0 && yielded < m.len());
    assert!(is_corruption::<()>(Err(err), &path));
    assert!(rev.next().is_none());
    assert!(is_corruption(table.verify(), &path));
}

#[test]
fn flipped_footer_byte_fails_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, good, _) = fixture(dir.path());
    for i in good.len() - FOOTER_LEN..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        std::fs::write(&path, &bad).expect("write");
        assert!(is_corruption(open(&path), &path), "footer byte {i}");
    }
}

#[test]
fn flipped_metadata_byte_fails_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, good, _) = fixture(dir.path());
    let footer = footer_of(&path);
    let meta_payload =
        &good[footer.metaindex.offset as usize..(footer.metaindex.offset + footer.metaindex.size) as usize];
    let meta = metaindex::decode(meta_payload).expect("metaindex");
    let blocks: [(&str, BlockHandle); 4] = [
        ("index", footer.index),
        ("metaindex", footer.metaindex),
        ("bloom", meta[metaindex::BLOOM]),
        ("properties", meta[metaindex::PROPERTIES]),
    ];
    for (what, h) in blocks {
        for at in [h.offset, h.offset + h.size / 2, h.offset + h.size, h.end().expect("fits") - 1] {
            std::fs::write(&path, &good).expect("restore");
            flip(&path, at);
            assert!(is_corruption(open(&path), &path), "{what} byte {at}");
        }
    }
    std::fs::write(&path, &good).expect("restore");
    open(&path).expect("pristine copy opens").verify().expect("and verifies");
}

#[test]
fn truncated_or_foreign_files_fail_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, good, _) = fixture(dir.path());
    for len in [0, 1, FOOTER_LEN - 1, FOOTER_LEN, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..len]).expect("write");
        assert!(is_corruption(open(&path), &path), "truncated to {len}");
    }
    // A valid footer whose handles point past the file start.
    let tail = good[good.len() - FOOTER_LEN..].to_vec();
    std::fs::write(&path, &tail).expect("write");
    assert!(is_corruption(open(&path), &path), "bare footer");
    std::fs::write(&path, vec![0u8; 4096]).expect("write");
    assert!(is_corruption(open(&path), &path), "zeros");
    assert!(matches!(open(&dir.path().join("missing.sst")), Err(Error::Io(_))));
}

#[test]
fn versions_of_one_key_spanning_many_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.sst");
    let mut m = Model::new();
    for key in [&b"j"[..], b"k", b"k\0", b"l"] {
        let versions = if key == b"k" { 600 } else { 3 };
        for ts in 1..=versions {
            m.insert((key.to_vec(), Reverse(ts)), Some(vec![b'v'; 30]));
        }
    }
    let opts = TableOptions { block_size: 256, restart_interval: 4, bloom_bits_per_key: 10 };
    write_table(&path, &m, opts).expect("build");
    let table = open(&path).expect("open");
    let k = || Bytes::from_static(b"k");
    let bounds = [Bound::Included(k()), Bound::Excluded(k()), Bound::Unbounded];
    for lower in &bounds {
        for upper in &bounds {
            for reverse in [false, true] {
                let range = (lower.clone(), upper.clone());
                assert_eq!(collect(&table, range.clone(), reverse), model_range(&m, &range, reverse), "{range:?}");
            }
        }
    }
    for read_ts in [0, 1, 299, 600, 601] {
        assert_eq!(table.get(b"k", read_ts).expect("get"), model_get(&m, b"k", read_ts));
    }
}

/// The prefix-first search of the block index finds the block a search over
/// whole internal keys finds, for keys shorter than, as long as and longer
/// than the 16-byte prefix, keys that are prefixes of others (zero padding)
/// and long keys sharing their first 16 bytes.
#[test]
fn block_index_search_by_prefix_matches_the_full_search() {
    use crate::key::{ValueKind, compare_internal, encode_internal_key};
    let mut rng = Rng(11);
    let mut m = Model::new();
    let shared = b"0123456789abcdef";
    while m.len() < 20_000 {
        let mut key = match rng.below(3) {
            0 => Vec::new(),
            1 => shared[..rng.below(17) as usize].to_vec(),
            _ => shared.to_vec(),
        };
        key.extend(rng.key());
        for _ in 0..=rng.below(3) {
            m.insert((key.clone(), Reverse(1 + rng.below(100))), Some(vec![7; rng.below(40) as usize]));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prefixes.sst");
    write_table(&path, &m, TableOptions { block_size: 256, restart_interval: 4, bloom_bits_per_key: 10 })
        .expect("build");
    let table = open(&path).expect("open");
    assert!(table.index().len() > 100, "many blocks: {}", table.index().len());
    let mut probes: Vec<Vec<u8>> = m.keys().map(|(k, _)| k.clone()).collect();
    probes.extend((0..2000).map(|_| {
        let mut k = shared[..rng.below(17) as usize].to_vec();
        k.extend(rng.key());
        k
    }));
    for key in probes {
        for ts in [0, 1, 50, 101, u64::MAX] {
            let mut target = Vec::new();
            encode_internal_key(&mut target, &key, ts, ValueKind::Value);
            let want =
                table.index().partition_point(|e| compare_internal(&e.last_key, &target) == std::cmp::Ordering::Less);
            assert_eq!(table.block_for(&key, &target), want, "key {key:?} at ts {ts}");
        }
    }
}
