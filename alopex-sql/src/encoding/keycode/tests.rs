//! Property and edge tests of the key encoding: byte order equals value
//! order, and every encoding decodes back to the value.

use std::cmp::Ordering;
use std::str::FromStr;

use super::*;
use crate::encoding::testgen::{Gen, key_types, same_value};
use crate::error::SqlState;

fn enc(v: &Value, ty: &DataType) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(v, ty, &mut out).unwrap();
    out
}

fn dec(bytes: &[u8], ty: &DataType) -> Value {
    let mut input = bytes;
    let v = decode_value(&mut input, ty).unwrap();
    assert!(input.is_empty(), "decoding {ty} left {} bytes", input.len());
    v
}

/// The order the key must have: `total_cmp`, except that intervals of the
/// same length are told apart by their fields.
fn key_cmp(a: &Value, b: &Value) -> Ordering {
    a.total_cmp(b).then_with(|| match (a, b) {
        (Value::Interval(x), Value::Interval(y)) => (x.months, x.days).cmp(&(y.months, y.days)),
        _ => Ordering::Equal,
    })
}

#[test]
fn encoded_order_is_value_order_for_every_type() {
    let mut g = Gen::new(7);
    for ty in key_types() {
        let values: Vec<Value> = (0..300).map(|_| g.value(&ty)).collect();
        let keys: Vec<Vec<u8>> = values.iter().map(|v| enc(v, &ty)).collect();
        for i in 0..values.len() {
            for j in 0..values.len() {
                assert_eq!(
                    keys[i].cmp(&keys[j]),
                    key_cmp(&values[i], &values[j]),
                    "{ty}: {:?} vs {:?}",
                    values[i],
                    values[j]
                );
            }
        }
    }
}

#[test]
fn every_value_round_trips() {
    let mut g = Gen::new(11);
    for ty in key_types() {
        for _ in 0..2000 {
            let v = g.value(&ty);
            let back = dec(&enc(&v, &ty), &ty);
            assert!(same_value(&v, &back), "{ty}: {v:?} came back as {back:?}");
        }
    }
}

#[test]
fn tuples_order_lexicographically_and_prefixes_bound_them() {
    let types = [DataType::Text, DataType::Int8, DataType::Bytea];
    let mut g = Gen::new(3);
    let rows: Vec<Vec<Value>> = (0..200).map(|_| types.iter().map(|t| g.value(t)).collect()).collect();
    let key = |row: &[Value]| {
        let mut out = Vec::new();
        encode_values(row, &types, &mut out).unwrap();
        out
    };
    for a in &rows {
        for b in &rows {
            let want = a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal);
            assert_eq!(key(a).cmp(&key(b)), want, "{a:?} vs {b:?}");
            // A row starts with the encoding of a one-column prefix exactly
            // when its first column equals that value.
            let prefix = key(&a[..1]);
            assert_eq!(key(b).starts_with(&prefix), a[0] == b[0], "{a:?} prefix of {b:?}");
        }
    }
    // Decoding a tuple takes each component back in turn.
    let bytes = key(&rows[0]);
    let mut input = &bytes[..];
    for (v, ty) in rows[0].iter().zip(&types) {
        assert!(same_value(v, &decode_value(&mut input, ty).unwrap()));
    }
    assert!(input.is_empty());
}

#[test]
fn equal_values_encode_identically() {
    let num = DataType::Numeric(None);
    let d = |s: &str| Value::Numeric(Decimal::from_str(s).unwrap());
    assert_eq!(enc(&d("1.0"), &num), enc(&d("1.00"), &num));
    assert_eq!(enc(&d("1"), &num), enc(&d("1.000000"), &num));
    assert_eq!(enc(&d("-120"), &num), enc(&d("-120.0"), &num));
    assert_eq!(enc(&d("0.000"), &num), enc(&d("0"), &num));
    assert_eq!(enc(&d("-0.0"), &num), enc(&d("0"), &num));
    assert_eq!(enc(&Value::Int(5), &num), enc(&d("5.0"), &num));
    assert_ne!(enc(&d("1.01"), &num), enc(&d("1.1"), &num));
    let f = DataType::Float8;
    assert_eq!(enc(&Value::Float(-0.0), &f), enc(&Value::Float(0.0), &f));
    assert_eq!(enc(&Value::Float(f64::NAN), &f), enc(&Value::Float(-f64::NAN), &f));
    assert_eq!(enc(&Value::Int(3), &f), enc(&Value::Float(3.0), &f));
}

#[test]
fn numeric_order_at_the_edges() {
    let num = DataType::Numeric(None);
    let vals: Vec<Value> = [
        "-79228162514264337593543950335",
        "-100",
        "-99.99",
        "-10",
        "-9",
        "-1.5",
        "-1",
        "-0.123",
        "-0.12",
        "-0.0000000000000000000000000001",
        "0",
        "0.0000000000000000000000000001",
        "0.12",
        "0.123",
        "0.2",
        "1",
        "1.01",
        "1.1",
        "9",
        "10",
        "10.5",
        "100",
        "79228162514264337593543950335",
    ]
    .iter()
    .map(|s| Value::Numeric(Decimal::from_str(s).unwrap()))
    .collect();
    for w in vals.windows(2) {
        assert!(enc(&w[0], &num) < enc(&w[1], &num), "{:?} < {:?}", w[0], w[1]);
    }
    for v in &vals {
        assert_eq!(&dec(&enc(v, &num), &num), v);
    }
}

#[test]
fn null_sorts_last_and_strings_order_by_prefix() {
    let t = DataType::Text;
    let null = enc(&Value::Null, &t);
    for s in ["", "\0", "a", "a\0", "ab", "\u{10ffff}"] {
        assert!(enc(&Value::text(s), &t) < null, "{s:?} before NULL");
    }
    assert!(enc(&Value::text("a"), &t) < enc(&Value::text("a\0"), &t));
    assert!(enc(&Value::text("a\0"), &t) < enc(&Value::text("a\u{1}"), &t));
    assert!(enc(&Value::text("a"), &t) < enc(&Value::text("ab"), &t));
    assert!(enc(&Value::text(""), &t) < enc(&Value::text("\0"), &t));
    let b = DataType::Bytea;
    let bytes = |x: &[u8]| Value::Bytes(x.into());
    assert!(enc(&bytes(&[0xff]), &b) < enc(&bytes(&[0xff, 0]), &b));
    assert!(enc(&bytes(&[0]), &b) < enc(&bytes(&[0, 0]), &b));
    assert!(enc(&Value::Int(i64::MAX), &DataType::Int8) < enc(&Value::Null, &DataType::Int8));
    assert!(enc(&Value::Float(f64::NAN), &DataType::Float8) < enc(&Value::Null, &DataType::Float8));
}

#[test]
fn intervals_order_by_length_then_fields() {
    let iv = |months, days, micros| Value::Interval(Interval { months, days, micros });
    let ty = DataType::Interval;
    // 1 month == 30 days in SQL, but both must survive and order stably.
    let a = iv(1, 0, 0);
    let b = iv(0, 30, 0);
    let c = iv(0, 0, 30 * 86_400_000_000);
    assert_ne!(enc(&a, &ty), enc(&b, &ty));
    assert!(enc(&c, &ty) < enc(&b, &ty) && enc(&b, &ty) < enc(&a, &ty));
    assert!(enc(&iv(0, 29, 0), &ty) < enc(&c, &ty));
    assert!(enc(&a, &ty) < enc(&iv(0, 30, 1), &ty));
    for v in [a, b, c, iv(i32::MIN, i32::MIN, i64::MIN), iv(i32::MAX, i32::MAX, i64::MAX)] {
        assert!(same_value(&dec(&enc(&v, &ty), &ty), &v));
    }
}

#[test]
fn skip_value_advances_exactly_like_decode() {
    let mut g = Gen::new(5);
    for ty in key_types() {
        for _ in 0..200 {
            let mut bytes = enc(&g.value(&ty), &ty);
            bytes.extend_from_slice(b"tail");
            let mut input = &bytes[..];
            skip_value(&mut input, &ty).unwrap();
            assert_eq!(input, b"tail", "{ty}");
        }
    }
}

#[test]
fn jsonb_keys_and_type_mismatches_are_errors() {
    let json = Value::Json(std::sync::Arc::new(serde_json::json!({"a": 1})));
    let err = encode_value(&json, &DataType::Jsonb, &mut Vec::new()).unwrap_err();
    assert_eq!(err.state, SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(err.message, "jsonb cannot be used in a key");
    assert!(encode_value(&Value::Null, &DataType::Jsonb, &mut Vec::new()).is_err());
    let err = encode_value(&Value::text("x"), &DataType::Int4, &mut Vec::new()).unwrap_err();
    assert_eq!(err.state, SqlState::INTERNAL_ERROR);
}

#[test]
fn vector_keys_are_refused() {
    for ty in [DataType::Vector(None), DataType::Vector(Some(3))] {
        let v = Value::vector(vec![1.0, 2.0, 3.0]);
        let err = encode_value(&v, &ty, &mut Vec::new()).unwrap_err();
        assert_eq!(err.state, SqlState::FEATURE_NOT_SUPPORTED);
        assert!(err.message.starts_with("vector cannot be used in a key"), "{}", err.message);
        assert_eq!(check_key_type(&ty).unwrap_err().state, SqlState::FEATURE_NOT_SUPPORTED);
        assert!(decode_value(&mut &[0x01u8][..], &ty).is_err());
        assert!(skip_value(&mut &[0x01u8][..], &ty).is_err());
    }
}

#[test]
fn garbage_and_truncation_are_corruption() {
    let mut g = Gen::new(9);
    for ty in key_types() {
        for _ in 0..100 {
            let v = g.non_null(&ty);
            let bytes = enc(&v, &ty);
            // Every strict prefix is truncated: an error, never a panic.
            for cut in 0..bytes.len() {
                let err = decode_value(&mut &bytes[..cut], &ty).unwrap_err();
                assert_eq!(err.state, SqlState::DATA_CORRUPTED, "{ty} cut at {cut}");
            }
        }
        // Random garbage must not panic (it may decode to something).
        for _ in 0..500 {
            let len = g.below(30) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
            if let Err(e) = decode_value(&mut &garbage[..], &ty) {
                assert_eq!(e.state, SqlState::DATA_CORRUPTED);
            }
        }
    }
    assert!(decode_value(&mut &[0x07u8][..], &DataType::Int8).is_err());
    assert!(decode_value(&mut &[TAG_VALUE, 0, 1][..], &DataType::Text).is_err());
    assert!(decode_value(&mut &[TAG_VALUE, 2][..], &DataType::Bool).is_err());
    assert!(decode_value(&mut &[TAG_VALUE, 0x09][..], &DataType::Numeric(None)).is_err());
    assert!(decode_value(&mut &[TAG_VALUE, 0x03, 128, 0][..], &DataType::Numeric(None)).is_err());
}

#[test]
fn ids_are_compact_ordered_and_prefix_free() {
    let ids = [0u64, 1, 15, 16, 255, 256, 65_535, 65_536, u32::MAX as u64, u64::MAX - 1, u64::MAX];
    let enc = |n: u64| {
        let mut out = Vec::new();
        encode_u64(n, &mut out);
        out
    };
    assert_eq!(enc(16), vec![1, 16]);
    assert_eq!(enc(0), vec![0]);
    for w in ids.windows(2) {
        let (a, b) = (enc(w[0]), enc(w[1]));
        assert!(a < b, "{} < {}", w[0], w[1]);
        assert!(!b.starts_with(&a), "{} is a prefix of {}", w[0], w[1]);
    }
    for &n in &ids {
        let bytes = enc(n);
        assert_eq!(bytes.len(), encoded_id_len(n));
        let mut input = bytes.as_slice();
        assert_eq!(decode_u64(&mut input).unwrap(), n);
        assert!(input.is_empty());
    }
    assert!(decode_u64(&mut [9u8].as_slice()).is_err(), "length over 8");
    assert!(decode_u64(&mut [2u8, 0, 1].as_slice()).is_err(), "leading zero byte");
    assert!(decode_u64(&mut [2u8, 1].as_slice()).is_err(), "truncated");
    assert!(decode_u32(&mut enc(u64::from(u32::MAX) + 1).as_slice()).is_err());
}
