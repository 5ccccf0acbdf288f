//! Damaged files on disk give the documented outcome, and never a panic.
//!
//! | damage                                   | documented outcome                         |
//! |------------------------------------------|--------------------------------------------|
//! | WAL: last record damaged or cut short    | torn tail: truncated, open succeeds        |
//! | WAL: a record followed by valid records  | `Error::Corruption` naming the segment     |
//! | SSTable data block                       | open succeeds; reads of it are Corruption  |
//! | SSTable footer or index block            | open fails with Corruption                 |
//! | SSTable listed in the manifest is gone   | open fails with Corruption                 |
//! | manifest: complete frame damaged         | open fails with Corruption                 |
//! | manifest: last frame cut short           | torn tail: truncated, open succeeds        |
//!
//! The rules are in the module docs of `wal::recovery`, `sstable::reader`,
//! `manifest` and `engine::recovery`; the byte offsets used here come from the
//! `## Format` sections of `wal::format`, `sstable::footer` and `manifest`.
//!
//! To get deterministic files the engine runs without background threads and
//! with a memtable far larger than the data, so nothing flushes unless a test
//! asks for it: after a few writes and a close, the WAL holds exactly one
//! record per batch.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use alopex_core::{Engine, Error, Options, Result, WriteBatch};
use bytes::Bytes;

/// `wal::format`: segment header length.
const WAL_SEGMENT_HEADER_LEN: usize = 24;
/// `wal::format`: frame header (magic u32, length u32, header sum u64,
/// payload sum u64).
const WAL_FRAME_HEADER_LEN: usize = 24;
/// `manifest`: header (magic 8 B, version u32).
const MANIFEST_HEADER_LEN: usize = 12;
/// `manifest`: frame header (payload length u32, payload sum u64, header
/// sum u64).
const MANIFEST_FRAME_HEADER_LEN: usize = 20;
/// `sstable::footer`: always the last 52 bytes of a table.
const SST_FOOTER_LEN: usize = 52;

const KEYS_PER_BATCH: usize = 3;

/// No background threads and no flush unless asked for.
fn quiet() -> Options {
    Options { background_threads: false, memtable_budget: 64 << 20, ..Options::small_for_tests() }
}

fn key(n: usize, j: usize) -> String {
    format!("batch{n:03}/key{j}")
}

fn value(n: usize, j: usize) -> String {
    format!("value of batch {n}, key {j}")
}

fn write_batches(engine: &Engine, batches: std::ops::Range<usize>) {
    for n in batches {
        let mut b = WriteBatch::new();
        for j in 0..KEYS_PER_BATCH {
            b.put(key(n, j), value(n, j));
        }
        engine.write(b).expect("write");
    }
}

/// Batch `n` is present in full (`true`) or absent in full (`false`).
fn assert_batch(engine: &Engine, n: usize, present: bool) {
    for j in 0..KEYS_PER_BATCH {
        let got = engine.get(key(n, j).as_bytes()).expect("get");
        let want = present.then(|| Bytes::from(value(n, j)));
        assert_eq!(got, want, "batch {n} key {j}");
    }
}

fn all(engine: &Engine) -> Vec<(Bytes, Bytes)> {
    engine.scan((Bound::Unbounded, Bound::Unbounded), false).collect::<Result<_>>().expect("scan")
}

/// Asserts `result` is `Error::Corruption` naming `file`; returns the detail.
fn expect_corruption<T: std::fmt::Debug>(result: Result<T>, file: &Path) -> String {
    match result {
        Err(Error::Corruption { path, detail }) => {
            assert_eq!(path, file, "corruption names the wrong file: {detail}");
            detail
        }
        other => panic!("expected corruption in {}, got {other:?}", file.display()),
    }
}

fn flip(path: &Path, at: usize) {
    let mut data = fs::read(path).expect("read");
    data[at] ^= 0x40;
    fs::write(path, data).expect("write");
}

fn truncate(path: &Path, len: usize) {
    let f = OpenOptions::new().write(true).open(path).expect("open");
    f.set_len(len as u64).expect("set_len");
    f.sync_all().expect("sync");
}

fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------- WAL

/// One WAL record: where its frame starts and how long its payload is.
#[derive(Debug, Clone, Copy)]
struct WalFrame {
    offset: usize,
    payload_len: usize,
}

impl WalFrame {
    fn payload_start(&self) -> usize {
        self.offset + WAL_FRAME_HEADER_LEN
    }
}

/// Walks the frames of an undamaged segment (see `wal::format`).
fn wal_frames(segment: &Path) -> Vec<WalFrame> {
    let data = fs::read(segment).expect("read segment");
    assert_eq!(&data[..4], b"AWAL", "segment magic");
    let mut frames = Vec::new();
    let mut pos = WAL_SEGMENT_HEADER_LEN;
    while pos < data.len() {
        assert_eq!(&data[pos..pos + 4], b"AWRF", "frame magic at {pos}");
        let len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        frames.push(WalFrame { offset: pos, payload_len: len });
        pos += WAL_FRAME_HEADER_LEN + len;
    }
    assert_eq!(pos, data.len(), "frames end exactly at the end of the segment");
    frames
}

/// A database whose newest WAL segment holds exactly `batches` records, one
/// per batch, and nothing else holds data. Returns the segment and its frames.
fn wal_with_batches(dir: &Path, batches: usize) -> (PathBuf, Vec<WalFrame>) {
    let engine = Engine::open(dir, quiet()).expect("open");
    write_batches(&engine, 0..batches);
    engine.close().expect("close");
    assert!(files_with_suffix(dir, ".sst").is_empty(), "nothing was flushed");
    let segment = files_with_suffix(&dir.join("wal"), ".wal").pop().expect("a WAL segment");
    let frames = wal_frames(&segment);
    assert_eq!(frames.len(), batches, "one record per batch");
    (segment, frames)
}

/// Damage confined to the last record, as a crash mid-write would leave it.
#[derive(Debug, Clone, Copy)]
enum TailDamage {
    FlipPayload,
    FlipLength,
    FlipPayloadChecksum,
    CutInPayload,
    CutInHeader,
}

#[test]
fn wal_torn_tail_drops_only_the_last_batch() {
    use TailDamage::*;
    for damage in [FlipPayload, FlipLength, FlipPayloadChecksum, CutInPayload, CutInHeader] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (segment, frames) = wal_with_batches(dir, 5);
        let last = frames[4];
        match damage {
            FlipPayload => flip(&segment, last.payload_start() + last.payload_len / 2),
            FlipLength => flip(&segment, last.offset + 5),
            FlipPayloadChecksum => flip(&segment, last.offset + 17),
            CutInPayload => truncate(&segment, last.payload_start() + last.payload_len / 2),
            CutInHeader => truncate(&segment, last.offset + WAL_FRAME_HEADER_LEN / 2),
        }

        let engine = Engine::open(dir, quiet()).unwrap_or_else(|e| panic!("{damage:?}: open: {e}"));
        for n in 0..4 {
            assert_batch(&engine, n, true);
        }
        assert_batch(&engine, 4, false);
        assert_eq!(all(&engine).len(), 4 * KEYS_PER_BATCH, "{damage:?}");
        write_batches(&engine, 5..6); // the repaired log takes new writes
        engine.close().expect("close");

        // The repair was durable: a second open is clean and sees the same.
        let engine = Engine::open(dir, quiet()).unwrap_or_else(|e| panic!("{damage:?}: second open: {e}"));
        for n in [0, 1, 2, 3, 5] {
            assert_batch(&engine, n, true);
        }
        assert_batch(&engine, 4, false);
        engine.close().expect("close");
    }
}

#[test]
fn wal_garbage_after_the_last_record_is_dropped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (segment, _) = wal_with_batches(dir, 3);
    let mut f = OpenOptions::new().append(true).open(&segment).expect("open");
    f.write_all(b"AWRF\x10\0\0\0 half a frame header and then nothing").expect("append");
    drop(f);
    let engine = Engine::open(dir, quiet()).expect("open");
    for n in 0..3 {
        assert_batch(&engine, n, true);
    }
    engine.close().expect("close");
}

#[test]
fn wal_damage_before_the_tail_is_corruption() {
    // What to damage, as an offset into the second of five records.
    type Hit = fn(WalFrame) -> usize;
    let hits: [(&str, Hit); 5] = [
        ("payload", |f| f.payload_start() + f.payload_len / 2),
        ("magic", |f| f.offset),
        ("length", |f| f.offset + 5),
        ("header checksum", |f| f.offset + 9),
        ("payload checksum", |f| f.offset + 17),
    ];
    for (what, at) in hits {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (segment, frames) = wal_with_batches(dir, 5);
        flip(&segment, at(frames[1]));
        let damaged = fs::read(&segment).expect("read");

        let detail = expect_corruption(Engine::open(dir, quiet()), &segment);
        assert!(detail.contains(&format!("offset {}", frames[1].offset)), "{what}: {detail}");
        // Never repaired: the segment is untouched and the error repeats.
        assert_eq!(fs::read(&segment).expect("read"), damaged, "{what}: the segment was modified");
        expect_corruption(Engine::open(dir, quiet()), &segment);
    }
}

#[test]
fn wal_damage_at_the_end_of_an_earlier_segment_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (segment, frames) = wal_with_batches(dir, 3);
    // A newer segment after it, as a rotation would leave: the same frames
    // under a header naming the next number (`wal::format`: magic, version,
    // number, xxh3 of the first 16 bytes).
    let number: u64 = segment.file_stem().expect("stem").to_string_lossy().parse().expect("segment number");
    let mut next = fs::read(&segment).expect("read");
    next[8..16].copy_from_slice(&(number + 1).to_le_bytes());
    let sum = alopex_core::coding::checksum(&next[..16]);
    next[16..24].copy_from_slice(&sum.to_le_bytes());
    fs::write(segment.with_file_name(format!("{:020}.wal", number + 1)), next).expect("write");
    // Damage to the last record is a torn tail only in the last segment.
    let last = frames[2];
    flip(&segment, last.payload_start() + last.payload_len / 2);
    let detail = expect_corruption(Engine::open(dir, quiet()), &segment);
    assert!(detail.contains("not the last"), "{detail}");
}

// ---------------------------------------------------------------- SSTables

const TABLE_KEYS: usize = 200;

fn table_key(i: usize) -> String {
    format!("key{i:04}")
}

fn table_value(i: usize) -> Vec<u8> {
    let mut v = format!("value {i} ").into_bytes();
    v.resize(100, b'.');
    v
}

/// A database holding one table of [`TABLE_KEYS`] keys (several 4 KiB data
/// blocks) and an empty WAL. Returns the table's path.
fn one_table(dir: &Path) -> PathBuf {
    let engine = Engine::open(dir, quiet()).expect("open");
    for chunk in (0..TABLE_KEYS).collect::<Vec<_>>().chunks(50) {
        let mut b = WriteBatch::new();
        for &i in chunk {
            b.put(table_key(i), table_value(i));
        }
        engine.write(b).expect("write");
    }
    engine.flush().expect("flush");
    engine.close().expect("close");
    let mut tables = files_with_suffix(dir, ".sst");
    assert_eq!(tables.len(), 1, "{tables:?}");
    let table = tables.pop().expect("one table");
    let name = table.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.len() == 10 && name[..6].bytes().all(|b| b.is_ascii_digit()), "{name} is not {{id:06}}.sst");
    table
}

#[test]
fn sstable_data_block_damage_is_reported_on_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let table = one_table(dir);
    // Data blocks come first (`sstable` module docs): byte 10 is inside the
    // first one, which holds the smallest keys.
    flip(&table, 10);

    let engine = Engine::open(dir, quiet()).expect("data blocks are verified on read, not at open");
    let first = table_key(0);
    for _ in 0..2 {
        // Twice: the bad block must not have been cached as good.
        expect_corruption(engine.get(first.as_bytes()), &table);
    }
    // Blocks other than the damaged one still read correctly.
    let last = TABLE_KEYS - 1;
    assert_eq!(engine.get(table_key(last).as_bytes()).expect("get"), Some(Bytes::from(table_value(last))));
    let tail_range = (Bound::Included(Bytes::from(table_key(last - 5))), Bound::Unbounded);
    let tail: Vec<_> = engine.scan(tail_range, false).collect::<Result<_>>().expect("scan of undamaged blocks");
    assert_eq!(tail.len(), 6);

    // Scans that reach the block yield the error, and no wrong data.
    for reverse in [false, true] {
        let mut errors = 0;
        for item in engine.scan((Bound::Unbounded, Bound::Unbounded), reverse) {
            match item {
                Ok((k, v)) => {
                    let i: usize = std::str::from_utf8(&k[3..]).expect("utf8").parse().expect("key number");
                    assert_eq!(v.as_ref(), table_value(i).as_slice(), "wrong value for {k:?}");
                }
                Err(e) => {
                    let Error::Corruption { path, .. } = &e else { panic!("expected corruption, got {e:?}") };
                    assert_eq!(path, &table);
                    errors += 1;
                }
            }
        }
        assert!(errors > 0, "a scan over the damaged block (reverse: {reverse}) reported nothing");
    }
    engine.close().expect("close");
}

#[test]
fn sstable_footer_damage_fails_open() {
    // Offsets from the end of the file into the footer (`sstable::footer`):
    // the magic, the checksum, the version, the index handle, the metaindex.
    for from_end in [1, 10, 12, 18, 30, SST_FOOTER_LEN] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let table = one_table(dir);
        let len = fs::metadata(&table).expect("meta").len() as usize;
        flip(&table, len - from_end);
        let detail = expect_corruption(Engine::open(dir, quiet()), &table);
        assert!(detail.contains("footer"), "byte {from_end} from the end: {detail}");
    }
    // A table cut short loses its footer.
    let tmp = tempfile::tempdir().expect("tempdir");
    let table = one_table(tmp.path());
    let len = fs::metadata(&table).expect("meta").len() as usize;
    truncate(&table, len - 3);
    expect_corruption(Engine::open(tmp.path(), quiet()), &table);
}

#[test]
fn sstable_index_damage_fails_open() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let table = one_table(dir);
    let data = fs::read(&table).expect("read");
    let footer = &data[data.len() - SST_FOOTER_LEN..];
    let index_offset = u64::from_le_bytes(footer[16..24].try_into().expect("8 bytes")) as usize;
    let index_size = u64::from_le_bytes(footer[24..32].try_into().expect("8 bytes")) as usize;
    assert!(index_size > 0);
    flip(&table, index_offset + index_size / 2);
    let detail = expect_corruption(Engine::open(dir, quiet()), &table);
    assert!(detail.contains("index block"), "{detail}");
}

#[test]
fn missing_table_listed_in_the_manifest_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let table = one_table(dir);
    fs::remove_file(&table).expect("remove");
    expect_corruption(Engine::open(dir, quiet()), &table);
}

// ---------------------------------------------------------------- manifest

/// One manifest frame: where it starts and how long its payload is.
#[derive(Debug, Clone, Copy)]
struct ManifestFrame {
    offset: usize,
    payload_len: usize,
}

fn current_manifest(dir: &Path) -> PathBuf {
    let name = fs::read_to_string(dir.join("CURRENT")).expect("CURRENT");
    dir.join(name.trim_end())
}

/// Walks the frames of an undamaged manifest (see `manifest`).
fn manifest_frames(path: &Path) -> Vec<ManifestFrame> {
    let data = fs::read(path).expect("read manifest");
    assert_eq!(&data[..8], b"ALXMANIF");
    let mut frames = Vec::new();
    let mut pos = MANIFEST_HEADER_LEN;
    while pos < data.len() {
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        frames.push(ManifestFrame { offset: pos, payload_len: len });
        pos += MANIFEST_FRAME_HEADER_LEN + len;
    }
    assert_eq!(pos, data.len(), "frames end exactly at the end of the manifest");
    frames
}

/// A database with one table, closed, then opened and closed once more with
/// nothing to recover: the manifest's last frame then records only that
/// second open (next file id, WAL segment, clock floor), no table. Returns
/// the manifest, its frames, and the index of the frame that adds the table.
fn manifest_db(dir: &Path) -> (PathBuf, Vec<ManifestFrame>, usize) {
    let before = {
        one_table(dir);
        manifest_frames(&current_manifest(dir)).len()
    };
    Engine::open(dir, quiet()).expect("open").close().expect("close");
    let path = current_manifest(dir);
    let frames = manifest_frames(&path);
    assert_eq!(frames.len(), before + 1, "the second open appended one frame");
    // Frames: the initial snapshot, the first open, the flush, the second open.
    assert_eq!(frames.len(), 4, "{frames:?}");
    (path, frames, 2)
}

fn assert_table_data(engine: &Engine) {
    for i in [0, TABLE_KEYS / 2, TABLE_KEYS - 1] {
        assert_eq!(engine.get(table_key(i).as_bytes()).expect("get"), Some(Bytes::from(table_value(i))));
    }
    assert_eq!(all(engine).len(), TABLE_KEYS);
}

#[test]
fn manifest_damage_in_a_complete_frame_is_corruption() {
    // What to damage, as an offset given the frames and the table frame.
    type Hit = fn(&[ManifestFrame], usize) -> usize;
    let hits: [(&str, Hit); 5] = [
        ("first frame payload", |f, _| f[0].offset + MANIFEST_FRAME_HEADER_LEN + 1),
        ("table frame payload", |f, t| f[t].offset + MANIFEST_FRAME_HEADER_LEN + f[t].payload_len - 1),
        ("table frame checksum", |f, t| f[t].offset + 6),
        ("table frame header checksum", |f, t| f[t].offset + 14),
        ("last frame payload", |f, _| f[f.len() - 1].offset + MANIFEST_FRAME_HEADER_LEN),
    ];
    for (what, at) in hits {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (manifest, frames, table_frame) = manifest_db(dir);
        flip(&manifest, at(&frames, table_frame));
        let detail = expect_corruption(Engine::open(dir, quiet()), &manifest);
        assert!(detail.contains("offset"), "{what}: {detail}");
        assert_eq!(files_with_suffix(dir, ".sst").len(), 1, "{what}: the table survives a failed open");
    }
}

#[test]
fn manifest_torn_last_frame_is_truncated() {
    for cut_in_header in [false, true] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (manifest, frames, _) = manifest_db(dir);
        let last = frames[frames.len() - 1];
        let cut = if cut_in_header {
            last.offset + MANIFEST_FRAME_HEADER_LEN / 2
        } else {
            last.offset + MANIFEST_FRAME_HEADER_LEN + last.payload_len / 2
        };
        truncate(&manifest, cut);

        let engine = Engine::open(dir, quiet()).unwrap_or_else(|e| panic!("cut in header {cut_in_header}: {e}"));
        assert_table_data(&engine);
        engine.close().expect("close");
        let engine = Engine::open(dir, quiet()).expect("second open");
        assert_table_data(&engine);
        engine.close().expect("close");
    }
}

/// Regression: a damaged *length* field in a manifest frame that is not the
/// last one once made the frame look incomplete, so it was treated as a torn
/// tail and every acknowledged frame from there on was truncated away;
/// recovery then deleted the tables those frames added as "orphans". Frame
/// headers now carry their own checksum, so this is `Error::Corruption`.
#[test]
fn manifest_damaged_length_in_a_middle_frame_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (manifest, frames, table_frame) = manifest_db(dir);
    let table = files_with_suffix(dir, ".sst").pop().expect("one table");
    // The high byte of the length: the frame now claims ~1 GiB.
    flip(&manifest, frames[table_frame].offset + 3);

    let result = Engine::open(dir, quiet());
    let table_survived = table.exists();
    let outcome = match &result {
        Ok(engine) => format!("open succeeded and sees {} of {TABLE_KEYS} keys", all(engine).len()),
        Err(e) => format!("open failed: {e}"),
    };
    assert!(table_survived, "the table listed by the damaged frame was deleted ({outcome})");
    expect_corruption(result, &manifest);
}

#[test]
fn current_naming_a_missing_manifest_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (manifest, _, _) = manifest_db(dir);
    fs::remove_file(&manifest).expect("remove");
    expect_corruption(Engine::open(dir, quiet()), &manifest);
}

/// A lost `CURRENT` in a directory that holds tables is corruption, not a
/// new empty database (which would delete every table as an orphan).
#[test]
fn missing_current_with_tables_present_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let table = one_table(dir);
    fs::remove_file(dir.join("CURRENT")).expect("remove CURRENT");
    expect_corruption(Engine::open(dir, quiet()), &dir.join("CURRENT"));
    assert!(table.exists(), "the table must not be deleted");
}
