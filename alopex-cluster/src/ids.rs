//! # Node and range identifiers
//!
//! Two small integers name everything the cluster moves around. A **node
//! id** is chosen once, when a node first starts, kept in its data
//! directory, and written into the node's TLS certificate: peers learn it
//! from the certificate they verified, never from a message. A **range id**
//! names one Raft group; it is assigned by the meta range when the range is
//! created (by a split or at bootstrap) and never reused.
//!
//! Both are plain `u64` newtypes so that they cannot be swapped by mistake,
//! print as `n3` / `r17` in logs, and encode as fixed-width big-endian
//! bytes on the wire and in keys.

use std::fmt;

/// A node's stable identity in the cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeId(pub u64);

/// The identity of one range, and so of its Raft group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct RangeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for RangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_short_and_distinct() {
        assert_eq!(NodeId(3).to_string(), "n3");
        assert_eq!(RangeId(17).to_string(), "r17");
    }
}
