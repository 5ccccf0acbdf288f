//! # Filters pushed down into scans
//!
//! A `SELECT ... WHERE v < 10` over a distributed store would otherwise
//! ship every row of the table to the gateway, where the SQL `Filter`
//! operator drops most of them. Pushing the predicate to where the rows
//! live (a range's leader) ships only the matches. But the storage layers
//! must not know SQL: `alopex-cluster` does not depend on `alopex-sql`.
//!
//! So the predicate crosses the seam **opaque**: a [`ScanFilter`] is a
//! codec number and a program in bytes. Whoever builds the program (the SQL
//! planner) also registers, once per process, a decoder for its codec
//! ([`register_codec`]); whoever evaluates it (a range leader, or the
//! default [`KvTxn::scan_filtered`](crate::KvTxn::scan_filtered)) asks the
//! registry to [`compile`] it into a [`RowPredicate`] and calls
//! [`RowPredicate::matches`] on each visible pair. The server binary links
//! both sides, so every node of a cluster knows the SQL codec.
//!
//! **Never a silent drop.** An unknown codec, or a program its decoder
//! refuses, is an error ([`Error::InvalidArgument`]) wherever it is
//! compiled; so is a predicate that fails on a pair. A store never answers
//! "no rows" because it could not evaluate a filter. (The SQL engine keeps
//! its `Filter` operator above every pushed scan anyway: a pushed filter is
//! an optimization that only ever removes rows the `Filter` would remove.)
//!
//! **Pages resume after the last key scanned.** A sparse filter may scan
//! many keys to find one match; a [`FilteredPage`] says where the next page
//! starts (just past the last key *examined*, not the last returned), so the
//! caller never rescans what was already rejected.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::version::KeyBounds;

/// A predicate over key-value pairs, in a form any layer can carry: the
/// codec that understands it and its encoded program.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScanFilter {
    /// The codec that decodes `program` (see [`register_codec`]).
    pub codec: u32,
    /// The encoded predicate; opaque outside its codec.
    pub program: Bytes,
}

/// A compiled filter: decides whether one visible pair matches.
pub trait RowPredicate: Send + Sync {
    /// Whether the pair matches. An error (a value the program cannot
    /// decode) is reported to the reader, never turned into "no match".
    fn matches(&self, key: &[u8], value: &[u8]) -> Result<bool>;
}

/// Decodes a program of one codec into its evaluator.
pub type FilterDecoder = fn(&[u8]) -> Result<Arc<dyn RowPredicate>>;

struct Codec {
    name: &'static str,
    decode: FilterDecoder,
}

fn registry() -> &'static RwLock<HashMap<u32, Codec>> {
    static REGISTRY: OnceLock<RwLock<HashMap<u32, Codec>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Registers the decoder of codec `codec` for this process. Registering
/// the same name again is a no-op (every `Database` may call it); another
/// name under a taken number is an error.
pub fn register_codec(codec: u32, name: &'static str, decode: FilterDecoder) -> Result<()> {
    let mut codecs = registry().write();
    match codecs.get(&codec) {
        Some(c) if c.name == name => Ok(()),
        Some(c) => Err(Error::InvalidArgument(format!(
            "scan filter codec {codec} is already registered as {:?}, not {name:?}",
            c.name
        ))),
        None => {
            codecs.insert(codec, Codec { name, decode });
            Ok(())
        }
    }
}

/// Whether a decoder for `codec` is registered in this process.
pub fn has_codec(codec: u32) -> bool {
    registry().read().contains_key(&codec)
}

/// Compiles `filter` with its registered codec. An unknown codec or a
/// program the codec refuses is [`Error::InvalidArgument`].
pub fn compile(filter: &ScanFilter) -> Result<Arc<dyn RowPredicate>> {
    let decode = match registry().read().get(&filter.codec) {
        Some(c) => c.decode,
        None => {
            return Err(Error::InvalidArgument(format!(
                "scan filter codec {} is not registered in this process",
                filter.codec
            )));
        }
    };
    decode(&filter.program)
}

/// One page of a filtered scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilteredPage {
    /// The matching pairs, in scan order.
    pub rows: Vec<(Bytes, Bytes)>,
    /// What remains of the scanned range: everything past the last key
    /// examined (`None`: the range is exhausted). Scan it next.
    pub resume: Option<KeyBounds>,
    /// How many visible pairs this page examined (matches included).
    pub scanned: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ValueBelow(u8);

    impl RowPredicate for ValueBelow {
        fn matches(&self, _key: &[u8], value: &[u8]) -> Result<bool> {
            match value.first() {
                Some(v) => Ok(*v < self.0),
                None => Err(Error::InvalidArgument("empty value".into())),
            }
        }
    }

    fn decode_below(program: &[u8]) -> Result<Arc<dyn RowPredicate>> {
        match program {
            [n] => Ok(Arc::new(ValueBelow(*n))),
            _ => Err(Error::InvalidArgument("program must be one byte".into())),
        }
    }

    fn other_decoder(_: &[u8]) -> Result<Arc<dyn RowPredicate>> {
        Err(Error::InvalidArgument("never".into()))
    }

    #[test]
    fn the_registry_compiles_known_codecs_and_refuses_the_rest() {
        register_codec(0xC0DE_0001, "test:below", decode_below).unwrap();
        register_codec(0xC0DE_0001, "test:below", decode_below).unwrap();
        assert!(register_codec(0xC0DE_0001, "test:other", other_decoder).is_err(), "a taken number");
        assert!(has_codec(0xC0DE_0001));

        let f = ScanFilter { codec: 0xC0DE_0001, program: Bytes::from_static(&[5]) };
        let p = compile(&f).unwrap();
        assert!(p.matches(b"k", &[4]).unwrap());
        assert!(!p.matches(b"k", &[5]).unwrap());
        assert!(p.matches(b"k", &[]).is_err(), "an evaluation error is not a mismatch");

        let bad = ScanFilter { codec: 0xC0DE_0001, program: Bytes::from_static(&[1, 2]) };
        assert!(matches!(compile(&bad), Err(Error::InvalidArgument(_))));
        let unknown = ScanFilter { codec: 0xC0DE_FFFF, program: Bytes::new() };
        assert!(matches!(compile(&unknown), Err(Error::InvalidArgument(_))));
    }
}
