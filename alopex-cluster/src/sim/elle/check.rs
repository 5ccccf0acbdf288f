//! # From a list-append history to anomalies
//!
//! The steps, in order:
//!
//! 1. **Who appended what.** Every (key, value) names its appending
//!    transaction and whether it was that transaction's last append to the
//!    key. A value appended twice is reported (the workload promised
//!    uniqueness, and without it reads cannot be traced to writers).
//! 2. **Which transactions count.** Reads are trusted from committed
//!    transactions only (an aborted one's reads say nothing about the
//!    database's order; an indeterminate one's may never have happened). An
//!    indeterminate transaction whose append a committed read lists did
//!    commit, and joins the committed ones.
//! 3. **Direct anomalies**, without any graph: a transaction's reads that
//!    disagree with its own appends (internal), values read that nobody
//!    appended (garbage), listed twice (duplicate), appended by an aborted
//!    transaction (G1a) or by a transaction that appended more to the key
//!    afterwards (G1b), and two committed transactions that read the same
//!    version of a key and both appended to it (lost update).
//! 4. **Version order per key**: the longest committed read. Every other
//!    read of the key must be a prefix of it; if one is not, no order of
//!    appends explains both reads (incompatible order), and the key gives no
//!    edges. Appends no read lists have no known place and give no edges.
//! 5. **Edges** (see [`super::graph`]): ww between consecutive appends of
//!    the order, wr from the writer of a read's last value, rw from a reader
//!    to the writer of the first value it missed; process and realtime
//!    edges if asked for.
//! 6. **Cycles**, classified in [`super::cycles`].

use std::collections::{BTreeMap, HashMap};

use super::cycles;
use super::graph::{DepGraph, Why};
use super::history::{Mop, Outcome, Txn, list};
use super::report::{Anomaly, AnomalyKind, CheckOptions, Report};

/// Who appended a value, and whether it was their last append to the key.
#[derive(Clone, Copy, Debug)]
struct Writer {
    txn: usize,
    last: bool,
}

/// Checks `history` against `opts.model` (and the client orders it asks
/// for). Transactions are named by their index in `history`.
pub fn check(history: &[Txn], opts: &CheckOptions) -> Report {
    let mut report = Report { rendered: Report::render(history), ..Report::default() };
    let max = opts.max_examples;

    // 1. Who appended what.
    let mut writers: HashMap<(u64, u64), Writer> = HashMap::new();
    for (i, t) in history.iter().enumerate() {
        let mut last_per_key: HashMap<u64, u64> = HashMap::new();
        for m in &t.ops {
            if let Mop::Append { key, value } = m {
                last_per_key.insert(*key, *value);
            }
        }
        for m in &t.ops {
            let Mop::Append { key, value } = *m else { continue };
            let me = Writer { txn: i, last: last_per_key.get(&key) == Some(&value) };
            if let Some(other) = writers.insert((key, value), me) {
                let mut txns = vec![other.txn, i];
                txns.dedup();
                report.push(
                    max,
                    Anomaly {
                        kind: AnomalyKind::DuplicateAppend,
                        txns,
                        cycle: Vec::new(),
                        explanation: format!("value {value} was appended to key {key} twice"),
                    },
                );
            }
        }
    }

    // 2. Which transactions count.
    let mut committed: Vec<bool> = history.iter().map(|t| t.outcome == Outcome::Committed).collect();
    for t in history.iter().filter(|t| t.outcome == Outcome::Committed) {
        for m in &t.ops {
            if let Mop::Read { key, values: Some(vs) } = m {
                for v in vs {
                    if let Some(w) = writers.get(&(*key, *v))
                        && history[w.txn].outcome == Outcome::Unknown
                    {
                        committed[w.txn] = true;
                    }
                }
            }
        }
    }
    report.committed = committed.iter().filter(|c| **c).count();
    report.aborted = history.iter().filter(|t| t.outcome == Outcome::Aborted).count();
    report.unknown = history.len() - report.committed - report.aborted;

    // 3. Direct anomalies; collect the trusted reads per key.
    let mut reads: BTreeMap<u64, Vec<(usize, &[u64])>> = BTreeMap::new();
    for (i, t) in history.iter().enumerate() {
        if t.outcome != Outcome::Committed {
            continue;
        }
        internal(i, t, &mut report, max);
        for m in &t.ops {
            let Mop::Read { key, values: Some(vs) } = m else { continue };
            report.longest_read = report.longest_read.max(vs.len());
            reads.entry(*key).or_default().push((i, vs));
            read_anomalies(i, *key, vs, history, &writers, &mut report, max);
        }
    }
    lost_updates(history, &mut report, max);

    // 4 and 5. Version orders and data edges.
    let mut graph = DepGraph::new(history.len());
    for (key, rs) in &reads {
        let Some(order) = version_order(*key, rs, &mut report, max) else { continue };
        let writer_of = |v: u64| writers.get(&(*key, v)).map(|w| w.txn).filter(|w| committed[*w]);
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (writer_of(pair[0]), writer_of(pair[1])) {
                graph.add(a, b, Why::Ww { key: *key, prev: pair[0], next: pair[1] });
            }
        }
        for &(reader, vs) in rs {
            if let Some(&value) = vs.last()
                && let Some(w) = writer_of(value)
            {
                graph.add(w, reader, Why::Wr { key: *key, value });
            }
            if let Some(&next) = order.get(vs.len())
                && let Some(w) = writer_of(next)
            {
                graph.add(reader, w, Why::Rw { key: *key, seen: vs.last().copied(), next });
            }
        }
    }
    if opts.process_order {
        process_edges(history, &committed, &mut graph);
    }
    if opts.realtime {
        realtime_edges(history, &committed, &mut graph);
    }
    report.edges = graph.edges();

    // 6. Cycles.
    cycles::classify(&graph, history.len(), opts, &mut report);
    report
}

/// A committed transaction's reads against its own earlier reads and
/// appends of the same key.
fn internal(i: usize, t: &Txn, report: &mut Report, max: usize) {
    // Per key: the list last read (if any) and what was appended since.
    let mut state: HashMap<u64, (Option<Vec<u64>>, Vec<u64>)> = HashMap::new();
    for m in &t.ops {
        match m {
            Mop::Append { key, value } => state.entry(*key).or_default().1.push(*value),
            Mop::Read { key, values: Some(vs) } => {
                let (known, appended) = state.entry(*key).or_default();
                let ok = match known {
                    Some(before) => before.iter().chain(appended.iter()).eq(vs.iter()),
                    None => vs.ends_with(appended),
                };
                if !ok {
                    let expected = match known {
                        Some(before) => list(&[before.as_slice(), appended.as_slice()].concat()),
                        None => format!("a list ending with {}", list(appended)),
                    };
                    report.push(
                        max,
                        Anomaly {
                            kind: AnomalyKind::Internal,
                            txns: vec![i],
                            cycle: Vec::new(),
                            explanation: format!(
                                "read key {key} as {}, but its own operations imply {expected}",
                                list(vs)
                            ),
                        },
                    );
                }
                *known = Some(vs.clone());
                appended.clear();
            }
            Mop::Read { values: None, .. } => {}
        }
    }
}

/// Garbage, duplicate, aborted (G1a) and intermediate (G1b) reads.
fn read_anomalies(
    reader: usize,
    key: u64,
    vs: &[u64],
    history: &[Txn],
    writers: &HashMap<(u64, u64), Writer>,
    report: &mut Report,
    max: usize,
) {
    let mut seen = HashMap::new();
    for v in vs {
        if seen.insert(*v, ()).is_some() {
            report.push(
                max,
                Anomaly {
                    kind: AnomalyKind::DuplicateAppend,
                    txns: vec![reader],
                    cycle: Vec::new(),
                    explanation: format!("read key {key} as {}, which lists {v} twice", list(vs)),
                },
            );
        }
        let Some(w) = writers.get(&(key, *v)) else {
            report.push(
                max,
                Anomaly {
                    kind: AnomalyKind::GarbageRead,
                    txns: vec![reader],
                    cycle: Vec::new(),
                    explanation: format!("read key {key} as {}, but no transaction appended {v}", list(vs)),
                },
            );
            continue;
        };
        if history[w.txn].outcome == Outcome::Aborted {
            report.push(
                max,
                Anomaly {
                    kind: AnomalyKind::G1a,
                    txns: vec![reader, w.txn],
                    cycle: Vec::new(),
                    explanation: format!("T{reader} read {v} in key {key}, appended by T{}, which aborted", w.txn),
                },
            );
        }
    }
    if let Some(v) = vs.last()
        && let Some(w) = writers.get(&(key, *v))
        && !w.last
        && w.txn != reader
    {
        report.push(
            max,
            Anomaly {
                kind: AnomalyKind::G1b,
                txns: vec![reader, w.txn],
                cycle: Vec::new(),
                explanation: format!(
                    "T{reader} read key {key} as {}, ending with {v}, which T{} followed with another append to the key",
                    list(vs),
                    w.txn
                ),
            },
        );
    }
}

/// Committed transactions that read a key (before appending to it
/// themselves) and then appended to it, grouped by the version they read:
/// two in one group lost one of the updates.
fn lost_updates(history: &[Txn], report: &mut Report, max: usize) {
    let mut groups: BTreeMap<(u64, Vec<u64>), Vec<usize>> = BTreeMap::new();
    for (i, t) in history.iter().enumerate() {
        if t.outcome != Outcome::Committed {
            continue;
        }
        let mut first_read: HashMap<u64, Option<&Vec<u64>>> = HashMap::new();
        for m in &t.ops {
            match m {
                Mop::Read { key, values } => {
                    first_read.entry(*key).or_insert(values.as_ref());
                }
                Mop::Append { key, .. } => {
                    if let Some(Some(vs)) = first_read.insert(*key, None) {
                        groups.entry((*key, vs.clone())).or_default().push(i);
                    }
                }
            }
        }
    }
    for ((key, vs), mut txns) in groups {
        txns.dedup();
        if txns.len() > 1 {
            let names: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
            report.push(
                max,
                Anomaly {
                    kind: AnomalyKind::LostUpdate,
                    txns,
                    cycle: Vec::new(),
                    explanation: format!(
                        "{} all read key {key} as {} and appended to it; all committed",
                        names.join(", "),
                        list(&vs)
                    ),
                },
            );
        }
    }
}

/// The longest read of `key`, if every other read is a prefix of it.
fn version_order(key: u64, reads: &[(usize, &[u64])], report: &mut Report, max: usize) -> Option<Vec<u64>> {
    let &(longest_txn, longest) = reads.iter().max_by_key(|(_, vs)| vs.len())?;
    let mut ok = true;
    for &(t, vs) in reads {
        if !longest.starts_with(vs) {
            ok = false;
            report.push(
                max,
                Anomaly {
                    kind: AnomalyKind::IncompatibleOrder,
                    txns: vec![t, longest_txn],
                    cycle: Vec::new(),
                    explanation: {
                        let at = vs.iter().zip(longest).take_while(|(a, b)| a == b).count();
                        format!(
                            "key {key}: T{t} read {}, which is not a prefix of T{longest_txn}'s read {}: \
                             at position {at} one has {:?}, the other {:?}",
                            list(vs),
                            list(longest),
                            vs.get(at),
                            longest.get(at)
                        )
                    },
                },
            );
        }
    }
    ok.then(|| longest.to_vec())
}

/// An edge from each committed transaction to the next committed one of the
/// same client.
fn process_edges(history: &[Txn], committed: &[bool], graph: &mut DepGraph) {
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (i, t) in history.iter().enumerate() {
        if !committed[i] {
            continue;
        }
        if let Some(prev) = last.insert(t.process, i) {
            graph.add(prev, i, Why::Process);
        }
    }
}

/// Realtime edges, transitively reduced the way Elle does it: sweep the
/// starts and ends in time order, keeping the frontier of transactions that
/// completed and have no completed successor yet; a start links from the
/// whole frontier, and a completion removes its own predecessors from it
/// (they reach later transactions through it).
fn realtime_edges(history: &[Txn], committed: &[bool], graph: &mut DepGraph) {
    // (time, 0 = start or 1 = end, txn): at equal times starts sort first,
    // so transactions that touch count as overlapping and get no edge.
    let mut events: Vec<(u64, u8, usize)> = Vec::new();
    for (i, t) in history.iter().enumerate() {
        if !committed[i] {
            continue;
        }
        events.push((t.start, 0, i));
        if let Some(end) = t.end {
            events.push((end, 1, i));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<usize> = Vec::new();
    let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
    for (time, is_end, i) in events {
        if is_end == 0 {
            for &p in &frontier {
                let end = history[p].end.unwrap_or(0);
                graph.add(p, i, Why::Realtime(end, time));
            }
            preds.insert(i, frontier.clone());
        } else {
            let mine = preds.remove(&i).unwrap_or_default();
            frontier.retain(|f| !mine.contains(f));
            frontier.push(i);
        }
    }
}
