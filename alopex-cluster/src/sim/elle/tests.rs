//! Hand-built histories: every anomaly class must be found, and valid
//! histories (including write skew under snapshot isolation) must pass.

use super::*;

fn a(k: u64, v: u64) -> Mop {
    Mop::append(k, v)
}

fn r(k: u64, vs: &[u64]) -> Mop {
    Mop::read(k, vs)
}

fn ok(p: u64, ops: Vec<Mop>) -> Txn {
    Txn::committed(p, ops)
}

fn si() -> CheckOptions {
    CheckOptions::default()
}

fn serializable() -> CheckOptions {
    CheckOptions { model: Model::Serializable, ..CheckOptions::default() }
}

/// Checks and prints; asserts `kind` was found.
fn finds(history: &[Txn], opts: &CheckOptions, kind: AnomalyKind) -> Report {
    let report = check(history, opts);
    println!("{report}");
    assert!(report.has(kind), "expected {kind:?}, got {:?}", report.counts);
    report
}

fn passes(history: &[Txn], opts: &CheckOptions) -> Report {
    let report = check(history, opts);
    assert!(report.is_valid(), "expected no anomalies:\n{report}");
    report
}

#[test]
fn a_serial_history_passes_every_model() {
    let h = vec![
        ok(0, vec![a(1, 1), a(2, 1)]),
        ok(1, vec![r(1, &[1]), a(1, 2)]),
        ok(0, vec![r(1, &[1, 2]), r(2, &[1]), a(2, 2)]),
        ok(1, vec![r(2, &[1, 2]), r(1, &[1, 2])]),
    ];
    let opts = CheckOptions { process_order: true, realtime: true, ..serializable() };
    let report = passes(&h, &opts);
    assert_eq!(report.committed, 4);
    assert_eq!(report.longest_read, 2);
    assert!(report.edges >= 4, "{report}");
}

#[test]
fn write_skew_passes_snapshot_isolation_and_fails_serializable() {
    // Both read both keys empty, each appends to one of them.
    let h = vec![
        ok(0, vec![r(1, &[]), r(2, &[]), a(1, 1)]),
        ok(1, vec![r(1, &[]), r(2, &[]), a(2, 1)]),
        ok(2, vec![r(1, &[1]), r(2, &[1])]),
    ];
    passes(&h, &si());
    let report = finds(&h, &serializable(), AnomalyKind::G2);
    let cycle = &report.anomalies[0].cycle;
    assert_eq!(cycle.len(), 2);
    assert!(cycle.iter().all(|s| s.why.kind() == EdgeKind::Rw));
}

#[test]
fn g0_a_write_cycle() {
    let h =
        vec![ok(0, vec![a(1, 1), a(2, 1)]), ok(1, vec![a(1, 2), a(2, 2)]), ok(2, vec![r(1, &[1, 2]), r(2, &[2, 1])])];
    let report = finds(&h, &si(), AnomalyKind::G0);
    let g0 = report.anomalies.iter().find(|x| x.kind == AnomalyKind::G0).unwrap();
    let mut txns = g0.txns.clone();
    txns.sort();
    assert_eq!(txns, vec![0, 1]);
    assert!(report.to_string().contains("ww: appended"), "{report}");
}

#[test]
fn g1a_an_aborted_read() {
    let h = vec![Txn::aborted(0, vec![a(1, 1)]), ok(1, vec![r(1, &[1])])];
    finds(&h, &si(), AnomalyKind::G1a);
}

#[test]
fn g1b_an_intermediate_read() {
    let h = vec![ok(0, vec![a(1, 1), a(1, 2)]), ok(1, vec![r(1, &[1])])];
    finds(&h, &si(), AnomalyKind::G1b);
    // Reading the writer's final state is fine.
    passes(&[ok(0, vec![a(1, 1), a(1, 2)]), ok(1, vec![r(1, &[1, 2])])], &serializable());
}

#[test]
fn g1c_circular_information_flow() {
    let h = vec![ok(0, vec![a(1, 1), r(2, &[1])]), ok(1, vec![a(2, 1), r(1, &[1])])];
    let report = finds(&h, &si(), AnomalyKind::G1c);
    assert!(!report.has(AnomalyKind::G0));
}

#[test]
fn g_single_read_skew() {
    // T0 reads x before T1's append and y after it.
    let h = vec![ok(0, vec![r(1, &[]), r(2, &[1])]), ok(1, vec![a(1, 1), a(2, 1)]), ok(2, vec![r(1, &[1])])];
    let report = finds(&h, &si(), AnomalyKind::GSingle);
    let text = report.to_string();
    assert!(text.contains("rw: read key 1 empty"), "{text}");
    assert!(text.contains("wr: appended 1 to key 2"), "{text}");
}

#[test]
fn a_lost_update() {
    let h = vec![ok(0, vec![r(1, &[]), a(1, 1)]), ok(1, vec![r(1, &[]), a(1, 2)]), ok(2, vec![r(1, &[1, 2])])];
    let report = finds(&h, &si(), AnomalyKind::LostUpdate);
    // With the order known, it is also a G-single cycle.
    assert!(report.has(AnomalyKind::GSingle), "{report}");
    // Without a later read, the direct check still finds it.
    finds(&h[..2], &si(), AnomalyKind::LostUpdate);
    // One of them aborted: fine.
    passes(&[h[0].clone(), Txn::aborted(1, h[1].ops.clone()), ok(2, vec![r(1, &[1])])], &serializable());
}

#[test]
fn incompatible_orders() {
    let h = vec![ok(0, vec![a(1, 1)]), ok(1, vec![a(1, 2)]), ok(2, vec![r(1, &[1, 2])]), ok(3, vec![r(1, &[2])])];
    finds(&h, &si(), AnomalyKind::IncompatibleOrder);
}

#[test]
fn duplicate_appends_and_garbage_reads() {
    finds(&[ok(0, vec![a(1, 1)]), ok(1, vec![r(1, &[1, 1])])], &si(), AnomalyKind::DuplicateAppend);
    finds(&[ok(0, vec![a(1, 1)]), ok(1, vec![a(1, 1)])], &si(), AnomalyKind::DuplicateAppend);
    finds(&[ok(0, vec![a(1, 1)]), ok(1, vec![r(1, &[1, 9])])], &si(), AnomalyKind::GarbageRead);
}

#[test]
fn internal_inconsistency() {
    finds(&[ok(0, vec![a(1, 5), r(1, &[1])]), ok(1, vec![a(1, 1)])], &si(), AnomalyKind::Internal);
    finds(&[ok(0, vec![r(1, &[]), r(1, &[1])]), ok(1, vec![a(1, 1)])], &si(), AnomalyKind::Internal);
    // Reading one's own appends after a read is consistent.
    passes(&[ok(0, vec![r(1, &[]), a(1, 1), a(1, 2), r(1, &[1, 2])])], &serializable());
}

#[test]
fn indeterminate_transactions_count_once_observed() {
    // An unknown append someone read committed: no G1a, and it takes part in
    // cycles (here a read skew).
    let h = vec![Txn::unknown(0, vec![a(1, 1), a(2, 1)]), ok(1, vec![r(1, &[]), r(2, &[1])]), ok(2, vec![r(1, &[1])])];
    let report = finds(&h, &si(), AnomalyKind::GSingle);
    assert_eq!((report.committed, report.unknown), (3, 0));
    assert!(!report.has(AnomalyKind::G1a));
    // Unknown and never observed: ignored.
    let report = passes(&[Txn::unknown(0, vec![a(1, 1)]), ok(1, vec![r(1, &[])])], &serializable());
    assert_eq!(report.unknown, 1);
}

#[test]
fn process_order_checks_session_guarantees() {
    // A client appends, then its next transaction does not see its own write.
    let h = vec![ok(7, vec![a(1, 1)]), ok(7, vec![r(1, &[])]), ok(8, vec![r(1, &[1])])];
    passes(&h, &si());
    let report = finds(&h, &CheckOptions { process_order: true, ..si() }, AnomalyKind::GSingle);
    assert!(report.anomalies[0].uses_order());
}

#[test]
fn realtime_order_checks_stale_reads() {
    let h = vec![
        ok(0, vec![a(1, 1)]).at(0, Some(10)),
        ok(1, vec![r(1, &[])]).at(20, Some(30)),
        ok(2, vec![r(1, &[1])]).at(40, Some(50)),
    ];
    passes(&h, &serializable());
    let report = finds(&h, &CheckOptions { realtime: true, ..si() }, AnomalyKind::GSingle);
    assert!(report.to_string().contains("realtime: finished at 10"), "{report}");
    // Overlapping transactions may be ordered either way.
    let overlapping = vec![h[0].clone(), ok(1, vec![r(1, &[])]).at(5, Some(30)), h[2].clone()];
    passes(&overlapping, &CheckOptions { realtime: true, ..serializable() });
}

#[test]
fn realtime_edges_are_transitively_reduced() {
    let h: Vec<Txn> = (0..100).map(|i| ok(i, vec![]).at(i * 10, Some(i * 10 + 5))).collect();
    let report = passes(&h, &CheckOptions { realtime: true, ..serializable() });
    assert_eq!(report.edges, 99);
}

#[test]
fn a_long_valid_history_checks_quickly() {
    // 3000 transactions over 10 keys, run one at a time.
    let mut lists: Vec<Vec<u64>> = vec![Vec::new(); 10];
    let mut h = Vec::new();
    for i in 0..3000u64 {
        let (k1, k2) = (i % 10, (i * 7 + 3) % 10);
        let mut ops = vec![r(k1, &lists[k1 as usize].clone())];
        ops.push(a(k2, i));
        lists[k2 as usize].push(i);
        h.push(ok(i % 5, ops).at(i * 2, Some(i * 2 + 1)));
    }
    let started = std::time::Instant::now();
    let report = passes(&h, &CheckOptions { process_order: true, realtime: true, ..serializable() });
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(report.committed, 3000);
}

#[test]
fn the_report_names_the_transactions_of_a_cycle() {
    let h = vec![ok(0, vec![r(1, &[]), r(2, &[1])]), ok(1, vec![a(1, 1), a(2, 1)]), ok(2, vec![r(1, &[1])])];
    let text = check(&h, &si()).to_string();
    assert!(text.contains("T0 (process 0, committed): [read(1) -> [], read(2) -> [1]]"), "{text}");
    assert!(text.contains("T1 (process 1, committed): [append(1, 1), append(2, 1)]"), "{text}");
}
