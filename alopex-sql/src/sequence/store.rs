//! Where sequences live in the key-value store.
//!
//! A sequence is two keys in the catalog's reserved span (table id 0), next
//! to the tables and users:
//!
//! | key                    | value                                   |
//! |------------------------|-----------------------------------------|
//! | `/0/5/<name>`          | the definition ([`SequenceDef`])        |
//! | `/0/6/<sequence id>`   | the state: the last value handed out and whether it was |
//!
//! They are split because they change in different transactions: the
//! definition is DDL and is written in the statement's transaction (so a
//! rolled-back `CREATE SEQUENCE` leaves nothing), while the state is
//! advanced by `nextval` in small transactions of its own (see
//! `super::cache`), which must not conflict with a user transaction that
//! merely reads the definition. The state is keyed by the sequence's id
//! (drawn from the table-id counter, so it doubles as the `pg_class` oid):
//! a sequence dropped and created again under the same name starts from a
//! fresh state, and no cached block of the old one can leak into it.
//!
//! Values are fixed-width big-endian integers behind a format byte; the
//! layout is private to this file.

use alopex_core::kv::continue_after;
use alopex_core::{KeyBounds, KvTxn, prefix_range};
use bytes::Bytes;

use super::SequenceDef;
use crate::encoding::keycode::{encode_u32, encode_u64};
use crate::encoding::varint::corrupt;
use crate::error::Result;

const DEFINITIONS: u32 = 5;
const STATES: u32 = 6;
const FORMAT_VERSION: u8 = 1;
const PAGE: usize = 128;

fn prefix(sub: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(24);
    encode_u64(crate::catalog::store::CATALOG_TABLE_ID, &mut key);
    encode_u32(sub, &mut key);
    key
}

fn def_key(name: &str) -> Bytes {
    let mut key = prefix(DEFINITIONS);
    key.extend_from_slice(name.as_bytes());
    Bytes::from(key)
}

fn state_key(id: u64) -> Bytes {
    let mut key = prefix(STATES);
    encode_u64(id, &mut key);
    Bytes::from(key)
}

fn encode_def(def: &SequenceDef) -> Bytes {
    let mut out = Vec::with_capacity(64 + def.name.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&def.id.to_be_bytes());
    for n in [def.increment, def.min, def.max, def.start, def.cache] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.push(def.cycle as u8);
    out.push(def.width);
    match &def.owner {
        None => out.push(0),
        Some((table, column)) => {
            out.push(1);
            out.extend_from_slice(&table.to_be_bytes());
            out.extend_from_slice(column.as_bytes());
        }
    }
    Bytes::from(out)
}

fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N]> {
    if input.len() < N {
        return Err(corrupt("sequence entry is truncated"));
    }
    let (head, rest) = input.split_at(N);
    *input = rest;
    let mut out = [0u8; N];
    out.copy_from_slice(head);
    Ok(out)
}

fn decode_def(name: &str, value: &[u8]) -> Result<SequenceDef> {
    let mut input = value;
    if take::<1>(&mut input)?[0] != FORMAT_VERSION {
        return Err(corrupt(format!("sequence \"{name}\" has an unknown format")));
    }
    let id = u64::from_be_bytes(take(&mut input)?);
    let mut n = [0i64; 5];
    for slot in &mut n {
        *slot = i64::from_be_bytes(take(&mut input)?);
    }
    let cycle = take::<1>(&mut input)?[0] != 0;
    let width = take::<1>(&mut input)?[0];
    let owner = match take::<1>(&mut input)?[0] {
        0 => None,
        _ => {
            let table = u64::from_be_bytes(take(&mut input)?);
            let column = std::str::from_utf8(input)
                .map_err(|_| corrupt(format!("sequence \"{name}\" has a bad owner column")))?;
            Some((table, column.to_string()))
        }
    };
    Ok(SequenceDef {
        id,
        name: name.to_string(),
        increment: n[0],
        min: n[1],
        max: n[2],
        start: n[3],
        cache: n[4],
        cycle,
        width,
        owner,
    })
}

/// The definition of sequence `name`, as `txn` sees it.
pub(crate) fn get(txn: &mut dyn KvTxn, name: &str) -> Result<Option<SequenceDef>> {
    match txn.get(&def_key(name))? {
        None => Ok(None),
        Some(v) => decode_def(name, &v).map(Some),
    }
}

/// Every sequence, by name.
pub(crate) fn list(txn: &mut dyn KvTxn) -> Result<Vec<SequenceDef>> {
    let p = prefix(DEFINITIONS);
    let mut range: KeyBounds = prefix_range(&p);
    let mut out = Vec::new();
    loop {
        let page = txn.scan(range.clone(), false, PAGE)?;
        for (key, value) in &page {
            let name = std::str::from_utf8(&key[p.len()..]).map_err(|_| corrupt("sequence name is not UTF-8"))?;
            out.push(decode_def(name, value)?);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => range = continue_after(&range, last, false),
            _ => break,
        }
    }
    Ok(out)
}

/// Writes a new definition and its initial state (`start`, not yet called).
pub(crate) fn create(txn: &mut dyn KvTxn, def: &SequenceDef) -> Result<()> {
    txn.put(def_key(&def.name), encode_def(def))?;
    put_state(txn, def.id, def.start, false)
}

/// Removes a sequence's definition and state.
pub(crate) fn delete(txn: &mut dyn KvTxn, def: &SequenceDef) -> Result<()> {
    txn.delete(def_key(&def.name))?;
    txn.delete(state_key(def.id))?;
    Ok(())
}

/// The state of sequence `id`: the last value handed out (or the next one,
/// when `called` is false). None when `txn` cannot see the sequence.
pub(crate) fn state(txn: &mut dyn KvTxn, id: u64) -> Result<Option<(i64, bool)>> {
    match txn.get(&state_key(id))? {
        None => Ok(None),
        Some(v) => {
            let mut input = &v[..];
            let last = i64::from_be_bytes(take(&mut input)?);
            let called = take::<1>(&mut input)?[0] != 0;
            if !input.is_empty() {
                return Err(corrupt("sequence state has trailing bytes"));
            }
            Ok(Some((last, called)))
        }
    }
}

/// Writes the state of sequence `id`.
pub(crate) fn put_state(txn: &mut dyn KvTxn, id: u64, last: i64, called: bool) -> Result<()> {
    let mut out = Vec::with_capacity(9);
    out.extend_from_slice(&last.to_be_bytes());
    out.push(called as u8);
    txn.put(state_key(id), Bytes::from(out))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_round_trip() {
        let def = SequenceDef {
            id: 42,
            name: "t_id_seq".into(),
            increment: -3,
            min: i64::MIN,
            max: 7,
            start: 5,
            cache: 10,
            cycle: true,
            width: 4,
            owner: Some((17, "id".into())),
        };
        assert_eq!(decode_def("t_id_seq", &encode_def(&def)).unwrap(), def);
        let plain = SequenceDef { owner: None, ..def };
        assert_eq!(decode_def("t_id_seq", &encode_def(&plain)).unwrap(), plain);
        assert!(decode_def("x", &[1, 2]).is_err());
    }
}
