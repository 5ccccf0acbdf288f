//! # Classifying the cycles of a dependency graph
//!
//! Every cycle lies inside one strongly connected component of the whole
//! graph, so the search runs per component. Within one, each class is the
//! shortest cycle through an edge of its defining kind, closed by a path over
//! the kinds the class allows (Adya's definitions, as Elle applies them):
//!
//! | class | through an edge of | closed over |
//! |---|---|---|
//! | G0 | ww | ww |
//! | G1c | wr | ww, wr |
//! | G-single | rw | ww, wr (so exactly one rw) |
//! | G2 | rw | anything (two or more rw, since no G-single was found) |
//!
//! Process and realtime edges, when the options ask for them, join every
//! "closed over" set: a cycle that needs one is the session or strong
//! variant of its class. Each class is first searched without them, so a
//! cycle that needs no client order is reported as the plain anomaly.
//!
//! G2 is only searched for (and only an anomaly) under serializability:
//! snapshot isolation allows it. The search is bounded by the options'
//! budget of candidate edges; running out marks the report truncated.

use super::graph::{DepGraph, EdgeKind, EdgeMask};
use super::report::{Anomaly, AnomalyKind, CheckOptions, Model, Report};

/// Finds and reports the cycles of `graph` (over `n` transactions).
pub(crate) fn classify(graph: &DepGraph, n: usize, opts: &CheckOptions, report: &mut Report) {
    let order = if opts.process_order || opts.realtime { Some(EdgeMask::ORDER) } else { None };
    let all = EdgeMask::WW_WR.with(EdgeKind::Rw.bit()).with(order.unwrap_or(EdgeMask(0)));
    let mut budget = opts.search_budget;
    let mut inside = vec![false; n];
    let classes: [(AnomalyKind, EdgeKind, EdgeMask); 3] = [
        (AnomalyKind::G0, EdgeKind::Ww, EdgeMask::WW),
        (AnomalyKind::G1c, EdgeKind::Wr, EdgeMask::WW_WR),
        (AnomalyKind::GSingle, EdgeKind::Rw, EdgeMask::WW_WR),
    ];
    for component in graph.components(all) {
        for &t in &component {
            inside[t] = true;
        }
        let mut single = false;
        for (kind, first, rest) in classes {
            let masks = [Some(rest), order.map(|o| rest.with(o))];
            let found = masks
                .into_iter()
                .flatten()
                .find_map(|mask| graph.cycle_through(&component, &inside, first, mask, &mut budget));
            if let Some(cycle) = found {
                single |= kind == AnomalyKind::GSingle;
                let txns = cycle.iter().map(|s| s.from).collect();
                let explanation = explain(kind, cycle.len());
                report.push(opts.max_examples, Anomaly { kind, txns, cycle, explanation });
            }
        }
        if opts.model == Model::Serializable
            && !single
            && let Some(cycle) = graph.cycle_through(&component, &inside, EdgeKind::Rw, all, &mut budget)
        {
            let txns = cycle.iter().map(|s| s.from).collect();
            let explanation = explain(AnomalyKind::G2, cycle.len());
            report.push(opts.max_examples, Anomaly { kind: AnomalyKind::G2, txns, cycle, explanation });
        }
        for &t in &component {
            inside[t] = false;
        }
    }
    report.truncated = budget == 0;
}

fn explain(kind: AnomalyKind, len: usize) -> String {
    let what = match kind {
        AnomalyKind::G0 => "each transaction's append was overwritten by the next's (forbidden at every level)",
        AnomalyKind::G1c => {
            "each transaction saw or overwrote the next one's effects (forbidden at read committed and above)"
        }
        AnomalyKind::GSingle => {
            "exactly one transaction missed another's append that, through the rest of the cycle, it must \
             have seen (forbidden under snapshot isolation)"
        }
        _ => {
            "the transactions missed each other's appends (allowed under snapshot isolation, forbidden under serializability)"
        }
    };
    format!("a cycle of {len} transactions: {what}")
}
