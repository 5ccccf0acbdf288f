//! The default `KvTxn::scan_filtered`: the plain scan filtered in process,
//! with pages that resume past the last key examined.

use std::ops::Bound;
use std::sync::Arc;

use alopex_core::kv::{MAX_SCANNED_PER_PAGE, continue_after};
use alopex_core::scan_filter::{RowPredicate, ScanFilter, register_codec};
use alopex_core::{Error, KvStore, KvTxn, MemStore, Result, TxnOptions};
use bytes::Bytes;

/// Matches values whose decimal number is a multiple of the program's byte.
struct MultipleOf(u64);

impl RowPredicate for MultipleOf {
    fn matches(&self, _key: &[u8], value: &[u8]) -> Result<bool> {
        let n: u64 = std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::InvalidArgument("not a number".into()))?;
        Ok(n.is_multiple_of(self.0))
    }
}

fn decode(program: &[u8]) -> Result<Arc<dyn RowPredicate>> {
    match program {
        [n] if *n > 0 => Ok(Arc::new(MultipleOf(u64::from(*n)))),
        _ => Err(Error::InvalidArgument("program: one non-zero byte".into())),
    }
}

const CODEC: u32 = 0x7E57_0001;

fn filter(n: u8) -> ScanFilter {
    register_codec(CODEC, "test:multiple-of", decode).unwrap();
    ScanFilter { codec: CODEC, program: Bytes::copy_from_slice(&[n]) }
}

fn store(rows: u64) -> MemStore {
    let store = MemStore::new();
    let mut txn = store.begin(TxnOptions::default()).unwrap();
    for i in 0..rows {
        txn.put(Bytes::from(format!("k{i:06}")), Bytes::from(i.to_string())).unwrap();
    }
    txn.commit().unwrap();
    store
}

fn all() -> (Bound<Bytes>, Bound<Bytes>) {
    (Bound::Unbounded, Bound::Unbounded)
}

/// Every page until the range is exhausted.
fn drain(txn: &mut impl KvTxn, reverse: bool, limit: usize, f: &ScanFilter) -> (Vec<(Bytes, Bytes)>, usize) {
    let mut range = all();
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let page = txn.scan_filtered(range.clone(), reverse, limit, f).unwrap();
        pages += 1;
        if limit > 0 {
            assert!(page.rows.len() <= limit);
        }
        rows.extend(page.rows);
        match page.resume {
            Some(rest) => range = rest,
            None => return (rows, pages),
        }
    }
}

#[test]
fn filtered_pages_return_exactly_the_matches_and_resume_past_rejected_keys() {
    let store = store(3000);
    let mut txn = store.begin(TxnOptions::default()).unwrap();
    let f = filter(7);
    let want: Vec<_> = txn
        .scan(all(), false, 0)
        .unwrap()
        .into_iter()
        .filter(|(_, v)| decode(&[7]).unwrap().matches(b"", v).unwrap())
        .collect();
    for limit in [0, 1, 5, 1000] {
        let (rows, _) = drain(&mut txn, false, limit, &f);
        assert_eq!(rows, want, "limit {limit}");
        let (mut rows, _) = drain(&mut txn, true, limit, &f);
        rows.reverse();
        assert_eq!(rows, want, "reverse, limit {limit}");
    }
    // A limited page resumes just past its last match, not at its start.
    let page = txn.scan_filtered(all(), false, 2, &f).unwrap();
    assert_eq!(page.rows.len(), 2);
    assert_eq!(page.resume, Some(continue_after(&all(), &page.rows[1].0, false)));
    assert_eq!(page.scanned, 8, "0 and 7 match; 1..=6 are examined and rejected");
}

#[test]
fn a_sparse_filter_answers_after_a_bounded_number_of_keys() {
    let rows = (MAX_SCANNED_PER_PAGE + 5000) as u64;
    let store = store(rows);
    let mut txn = store.begin(TxnOptions::default()).unwrap();
    let f = filter(255);
    let page = txn.scan_filtered(all(), false, 0, &f).unwrap();
    assert!(page.scanned >= MAX_SCANNED_PER_PAGE && page.scanned < rows as usize);
    assert!(page.resume.is_some(), "stopped early: more to scan");
    let (all_rows, pages) = drain(&mut txn, false, 0, &f);
    assert_eq!(all_rows.len(), (rows as usize).div_ceil(255));
    assert_eq!(pages, 2);
}

#[test]
fn an_unknown_codec_or_a_bad_program_is_an_error_not_an_empty_page() {
    let store = store(10);
    let mut txn = store.begin(TxnOptions::default()).unwrap();
    let unknown = ScanFilter { codec: 0x7E57_FFFF, program: Bytes::new() };
    assert!(matches!(txn.scan_filtered(all(), false, 0, &unknown), Err(Error::InvalidArgument(_))));
    let mut bad = filter(1);
    bad.program = Bytes::from_static(&[0]);
    assert!(matches!(txn.scan_filtered(all(), false, 0, &bad), Err(Error::InvalidArgument(_))));
    // A value the predicate cannot evaluate fails the scan.
    txn.put(Bytes::from_static(b"k000003"), Bytes::from_static(b"x")).unwrap();
    assert!(txn.scan_filtered(all(), false, 0, &filter(1)).is_err());
}
