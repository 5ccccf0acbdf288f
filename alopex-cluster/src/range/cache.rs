//! # The gateway's descriptor cache
//!
//! Each gateway keeps the descriptors it has looked up, keyed by their
//! exclusive end key, so finding the range of a key is one ordered-map
//! seek, like the lookup in the meta range. The cache may be stale: a
//! range that split still answers for its old span here. Stale entries are
//! corrected lazily: a range answering "key not in range" has its entry
//! dropped and the gateway reads the meta range again; inserting a newer
//! descriptor drops every cached one it overlaps, so the cache never holds
//! two descriptors for one key.

use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use super::descriptor::RangeDescriptor;
use super::keys::span_end;
use crate::ids::{NodeId, RangeId};

/// Descriptors by their exclusive end key.
#[derive(Debug, Default)]
pub struct DescriptorCache {
    by_end: RwLock<BTreeMap<Vec<u8>, RangeDescriptor>>,
}

impl DescriptorCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached descriptor of the range holding `key`.
    pub fn get(&self, key: &[u8]) -> Option<RangeDescriptor> {
        let map = self.by_end.read();
        let (_, d) = map.range::<[u8], _>((Bound::Excluded(key), Bound::Unbounded)).next()?;
        d.span.contains(key).then(|| d.clone())
    }

    /// Caches `desc`, dropping every entry whose span overlaps it. A leader
    /// this cache learned for the same range is kept over the descriptor's
    /// hint, which is only as fresh as the descriptor's last meta write.
    pub fn insert(&self, mut desc: RangeDescriptor) {
        let mut map = self.by_end.write();
        if let Some(known) = map.values().find(|d| d.range == desc.range).and_then(|d| d.leader_hint) {
            desc.leader_hint = Some(known);
        }
        let start = desc.span.start.as_ref();
        let end = span_end(&desc.span);
        let overlapping: Vec<Vec<u8>> = map
            .range::<[u8], _>((Bound::Excluded(start), Bound::Unbounded))
            .take_while(|(_, d)| d.span.start.as_ref() < end)
            .map(|(k, _)| k.clone())
            .collect();
        for k in overlapping {
            map.remove(&k);
        }
        map.insert(end.to_vec(), desc);
    }

    /// Drops the entry of `range`.
    pub fn evict(&self, range: RangeId) {
        self.by_end.write().retain(|_, d| d.range != range);
    }

    /// Records `leader` as the leader hint of `range`.
    pub fn set_leader(&self, range: RangeId, leader: Option<NodeId>) {
        for d in self.by_end.write().values_mut().filter(|d| d.range == range) {
            d.leader_hint = leader;
        }
    }

    /// Every cached descriptor, in key order.
    pub fn all(&self) -> Vec<RangeDescriptor> {
        self.by_end.read().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::raft::RangeSpan;

    fn d(range: u64, start: &str, end: Option<&str>, generation: u64) -> RangeDescriptor {
        RangeDescriptor {
            range: RangeId(range),
            span: RangeSpan::new(
                Bytes::copy_from_slice(start.as_bytes()),
                end.map(|e| Bytes::copy_from_slice(e.as_bytes())),
            ),
            replicas: vec![NodeId(1)],
            generation,
            leader_hint: None,
        }
    }

    #[test]
    fn lookups_and_overlap_replacement() {
        let c = DescriptorCache::new();
        c.insert(d(2, "", None, 1));
        assert_eq!(c.get(b"m").map(|d| d.range), Some(RangeId(2)));
        // A split at "k": the right half replaces the stale whole.
        c.insert(d(3, "k", None, 1));
        assert_eq!(c.get(b"m").map(|d| d.range), Some(RangeId(3)));
        assert_eq!(c.get(b"a"), None);
        c.insert(d(2, "", Some("k"), 2));
        assert_eq!(c.get(b"a").map(|d| d.generation), Some(2));
        assert_eq!(c.get(b"k").map(|d| d.range), Some(RangeId(3)));
        assert_eq!(c.all().len(), 2);
        c.set_leader(RangeId(3), Some(NodeId(7)));
        assert_eq!(c.get(b"z").and_then(|d| d.leader_hint), Some(NodeId(7)));
        let mut stale = d(3, "k", None, 1);
        stale.leader_hint = Some(NodeId(1));
        c.insert(stale);
        assert_eq!(c.get(b"z").and_then(|d| d.leader_hint), Some(NodeId(7)), "a learned leader is kept");
        c.evict(RangeId(3));
        assert_eq!(c.get(b"z"), None);
    }
}
