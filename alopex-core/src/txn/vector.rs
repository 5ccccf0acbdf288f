//! Vector search inside a transaction.
//!
//! A transaction searches at its snapshot and sees its own uncommitted
//! writes: an own insert or update is scored exactly and can be returned,
//! an own delete hides the key. The engine does the rest (see
//! `engine::vector_search`). Under serializable isolation the index's whole
//! span is recorded as read, so a concurrent commit that changes any vector
//! of the index conflicts with this transaction (conservative: a search
//! depends on every vector it did not return, too).

use std::cell::RefCell;

use bytes::Bytes;

use super::Transaction;
use crate::engine::VectorQuery;
use crate::error::Result;
use crate::vector::{KeyFilter, SnapshotReader, VectorHit, VectorIndexSpec};

impl Transaction {
    /// The `k` entries of registered vector index `index_id` closest to
    /// `query` at this transaction's snapshot, with its own writes, closest
    /// first. `ef_search` is the HNSW candidate list length per table (40
    /// is pgvector's default; raised to `k` if smaller). `filter`, if given,
    /// is applied to user keys during the search: only accepted keys are
    /// returned.
    ///
    /// [`crate::Error::InvalidArgument`] for an unknown index, a query of
    /// the wrong dimension or with NaN/infinite elements, or an own write in
    /// the span that is not a vector; [`crate::Error::Corruption`] if a
    /// segment on disk is damaged.
    pub fn vector_search(
        &mut self,
        index_id: u64,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        let spec = self.shared.vector_spec(index_id)?;
        self.vector_search_spec(&spec, query, k, ef_search, filter)
    }

    /// [`vector_search`](Self::vector_search) with the spec given. If it is
    /// not the registered spec of its id, no segment matches it and every
    /// table is scored exactly: slower, still correct.
    pub fn vector_search_spec(
        &mut self,
        spec: &VectorIndexSpec,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        self.check_active()?;
        spec.validate()?;
        // The own writes in the span, in key order: the only place the
        // search touches the transaction's write buffer.
        let span = spec.span();
        let own_writes: Vec<(Bytes, Option<Bytes>)> =
            self.writes.range(&span, false).map(|(k, v)| (k.clone(), v.clone())).collect();
        let read_ts = self.read_ts();
        let reader = OwnSnapshot { txn: self, read_keys: RefCell::new(Vec::new()) };
        let q = VectorQuery {
            spec,
            query,
            k,
            ef_search,
            filter,
            reader: &reader,
            read_ts,
            own_writes: &own_writes,
            within: None,
        };
        let hits = self.shared.vector_search(&q)?;
        let read_keys = reader.read_keys.into_inner();
        if self.serializable() {
            self.reads.ranges.push(spec.span());
            self.reads.keys.extend(read_keys);
        }
        Ok(hits)
    }
}

/// What a search's filter reads: the transaction's snapshot with its own
/// writes, like [`Transaction::get`]; the keys read from storage are
/// recorded for serializable validation.
struct OwnSnapshot<'a> {
    txn: &'a Transaction,
    read_keys: RefCell<Vec<Bytes>>,
}

impl SnapshotReader for OwnSnapshot<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        if let Some(own) = self.txn.writes.get(key) {
            return Ok(own.clone());
        }
        if self.txn.serializable() {
            self.read_keys.borrow_mut().push(Bytes::copy_from_slice(key));
        }
        self.txn.shared.get_at(key, self.txn.read_ts())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::vector::{KeyFilter, Metric, SearchFilter, SnapshotReader, VectorIndexSpec, value};
    use crate::{Engine, IsolationLevel, Options};

    /// Accepts `v/<n>` when the row `r/<n>` reads `yes`.
    struct RowIsYes;

    impl SearchFilter for RowIsYes {
        fn accepts(&self, key: &[u8], reader: &dyn SnapshotReader) -> crate::Result<bool> {
            let mut row = b"r/".to_vec();
            row.extend_from_slice(&key[2..]);
            Ok(reader.get(&row)?.as_deref() == Some(&b"yes"[..]))
        }
    }

    #[test]
    fn a_filter_reads_rows_at_the_snapshot_with_own_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path(), Options::default()).expect("open");
        let spec = VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], 2, Metric::L2);
        engine.create_vector_index(spec.clone()).expect("register");
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        for i in 0..200u32 {
            let key = format!("{i:04}");
            txn.put(format!("v/{key}"), value::encode(&[i as f32, 0.0]).expect("vector")).expect("put");
            txn.put(format!("r/{key}"), if i % 2 == 0 { "yes" } else { "no" }).expect("put");
        }
        txn.commit().expect("commit");
        engine.flush().expect("flush"); // the vectors now sit in a segment

        let mut txn = engine.begin(IsolationLevel::Serializable);
        txn.put("r/0010", "no").expect("own write hides row 10");
        txn.put("r/0011", "yes").expect("own write admits row 11");
        let filter: KeyFilter<'_> = &RowIsYes;
        let hits = txn.vector_search(1, &[10.2, 0.0], 3, 40, Some(filter)).expect("search");
        let keys: Vec<Bytes> = hits.into_iter().map(|h| h.key).collect();
        let want: Vec<Bytes> = ["v/0011", "v/0012", "v/0008"].into_iter().map(Bytes::from).collect();
        assert_eq!(keys, want);
        assert!(txn.reads.keys.iter().any(|k| k.as_ref() == b"r/0012"), "filter reads are validated");

        // A concurrent change to a row the filter read conflicts.
        let mut other = engine.begin(IsolationLevel::Snapshot);
        other.put("r/0012", "no").expect("put");
        other.commit().expect("commit");
        txn.put("x", "y").expect("write");
        assert!(txn.commit().is_err(), "serializable search must see the row change as a conflict");
    }
}
