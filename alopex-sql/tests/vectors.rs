//! Vectors through the embedded API: typed `&[f32]` / `Vec<f32>`
//! parameters, `$1` inferred as `vector` next to a distance operator, the
//! `Vec<f32>` getter, exact k-NN against a brute-force answer, and vectors
//! surviving a reopen.

use alopex_sql::{Database, SqlState, Value};

/// A deterministic pseudo-random vector.
fn vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn typed_parameters_and_getters() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE v (id INT PRIMARY KEY, e VECTOR(3))", &[]).unwrap();
    db.execute("INSERT INTO v VALUES ($1, $2)", &[Value::Int(1), Value::vector(vec![1.0, 2.0, 3.0])]).unwrap();
    db.execute("INSERT INTO v VALUES ($1, $2)", &[Value::Int(2), Value::from(&[3.0f32, 2.0, 1.0][..])]).unwrap();
    db.execute("INSERT INTO v VALUES ($1, $2)", &[Value::Int(3), Value::text("[0,0,1]")]).unwrap();
    db.execute("INSERT INTO v VALUES ($1, $2)", &[Value::Int(4), Value::Null]).unwrap();

    let row = db.query("SELECT e FROM v WHERE id = 1", &[]).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<Vec<f32>>(0).unwrap(), vec![1.0, 2.0, 3.0]);
    assert_eq!(row.get::<String>(0).unwrap(), "[1,2,3]");
    let row = db.query("SELECT e FROM v WHERE id = 4", &[]).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<Option<Vec<f32>>>(0).unwrap(), None);
    assert!(row.get::<Vec<f32>>(0).is_err());

    // `$1` next to `<->` is a vector; the distance is a double.
    let q = Value::from(vec![3.0f32, 2.0, 1.0]);
    let rows: Vec<(i32, f64)> = db
        .query("SELECT id, e <-> $1 AS d FROM v WHERE e IS NOT NULL ORDER BY e <-> $1 LIMIT 2", &[q])
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.get(0).unwrap(), r.get(1).unwrap())
        })
        .collect();
    assert_eq!(rows, vec![(2, 0.0), (1, 8f64.sqrt())]);

    // Wrong dimension, NaN and an empty vector are refused as in pgvector.
    let err = db.execute("INSERT INTO v VALUES (5, $1)", &[Value::vector(vec![1.0, 2.0])]).unwrap_err();
    assert_eq!((err.state, err.message.as_str()), (SqlState::DATA_EXCEPTION, "expected 3 dimensions, not 2"));
    let err = db.execute("INSERT INTO v VALUES (5, $1)", &[Value::vector(vec![1.0, f32::NAN, 2.0])]).unwrap_err();
    assert_eq!((err.state, err.message.as_str()), (SqlState::DATA_EXCEPTION, "NaN not allowed in vector"));
    let first_error = |sql: &str, param: Value| match db.query(sql, &[param]) {
        Err(e) => e,
        Ok(mut rows) => rows.find_map(|r| r.err()).expect("an error"),
    };
    let err = first_error("SELECT e <-> $1 FROM v", Value::vector(Vec::new()));
    assert_eq!(err.state, SqlState::DATA_EXCEPTION);
    let err = first_error("SELECT e <=> $1 FROM v WHERE e IS NOT NULL", Value::vector(vec![1.0]));
    assert_eq!(err.message, "different vector dimensions 3 and 1");
}

#[test]
fn exact_knn_matches_brute_force_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 24;
    let data: Vec<Vec<f32>> = (0..500).map(|i| vector(i, dim)).collect();
    let query = vector(10_000, dim);
    let mut want: Vec<(f64, i64)> = data.iter().enumerate().map(|(i, v)| (l2(v, &query), i as i64)).collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0));
    let want: Vec<i64> = want.iter().take(10).map(|(_, i)| *i).collect();

    let knn = |db: &Database| -> Vec<i64> {
        db.query("SELECT id FROM docs ORDER BY emb <-> $1 LIMIT 10", &[Value::from(query.clone())])
            .unwrap()
            .map(|r| r.unwrap().get(0).unwrap())
            .collect()
    };
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute(&format!("CREATE TABLE docs (id BIGINT PRIMARY KEY, emb VECTOR({dim}))"), &[]).unwrap();
        for (i, v) in data.iter().enumerate() {
            db.execute("INSERT INTO docs VALUES ($1, $2)", &[Value::Int(i as i64), Value::from(v.clone())]).unwrap();
        }
        assert_eq!(knn(&db), want);
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(knn(&db), want);
    let stored: Vec<f32> =
        db.query("SELECT emb FROM docs WHERE id = 7", &[]).unwrap().next().unwrap().unwrap().get(0).unwrap();
    assert_eq!(stored, data[7], "stored bit for bit");
    let ty = db
        .query(
            "SELECT data_type, udt_name FROM information_schema.columns WHERE table_name = 'docs' AND column_name = 'emb'",
            &[],
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(ty.get::<String>(0).unwrap(), "USER-DEFINED");
    assert_eq!(ty.get::<String>(1).unwrap(), "vector");
}
