//! sqllogictest over the Postgres wire protocol, through `tokio-postgres`:
//! the adapter the corpus tests share (`slt_wire.rs` against one server,
//! `cluster_sql.rs` against a cluster).
//!
//! It is the same shape as sqllogictest's own PostgreSQL engines: text
//! values as the server sent them in the simple protocol (what
//! `sqllogictest-bin -e postgres` does), typed values converted to
//! PostgreSQL's text output in the extended one (`-e postgres-extended`:
//! Parse/Bind/Execute with typed results).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use alopex_sql::Value;
use alopex_sql::expr::cast::to_text_as;
use sqllogictest::{DBOutput, DefaultColumnType, Record, Runner};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// SQLite's corpus, vendored in the repository.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/slt/sqlite")
}

/// Runs the records of the file at `path` over connections to `conn_str`:
/// (passed, failed, the first failures).
pub async fn run_file_at(conn_str: &str, path: &Path, extended: bool) -> (usize, usize, Vec<String>) {
    let conn_str = conn_str.to_string();
    let mut runner = Runner::new(move || {
        let conn_str = conn_str.clone();
        async move {
            let (client, conn) = tokio_postgres::connect(&conn_str, NoTls).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(WireDb { client, extended })
        }
    });
    runner.add_label("postgresql");
    runner.with_hash_threshold(0);
    let records = sqllogictest::parse_file::<DefaultColumnType>(path).expect("parse slt file");
    let (mut passed, mut failed, mut failures) = (0, 0, Vec::new());
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        let counts = matches!(record, Record::Statement { .. } | Record::Query { .. });
        match runner.run_async(record).await {
            Ok(_) if counts => passed += 1,
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                if failures.len() < 5 {
                    failures.push(e.display(false).to_string());
                }
            }
        }
    }
    (passed, failed, failures)
}

/// A connection as sqllogictest sees it.
pub struct WireDb {
    client: Client,
    extended: bool,
}

fn cell(text: Option<&str>) -> String {
    match text {
        None => "NULL".into(),
        Some("") => "(empty)".into(),
        Some(s) => s.to_string(),
    }
}

fn typed_cell(row: &tokio_postgres::Row, i: usize) -> Result<String, tokio_postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    let value = match ty {
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| Value::Float(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Float),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
        Type::NUMERIC => row.try_get::<_, Option<rust_decimal::Decimal>>(i)?.map(Value::Numeric),
        _ => row.try_get::<_, Option<String>>(i)?.map(Value::text),
    };
    let sql_ty = alopex_server::pg::types::sql_type(&ty);
    Ok(cell(value.as_ref().and_then(|v| to_text_as(v, &sql_ty)).as_deref()))
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for WireDb {
    type Error = tokio_postgres::Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, tokio_postgres::Error> {
        if !self.extended {
            let messages = self.client.simple_query(sql).await?;
            let mut rows = Vec::new();
            let mut columns = None;
            let mut affected = 0;
            for m in messages {
                match m {
                    SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
                    SimpleQueryMessage::Row(r) => {
                        columns = Some(r.len());
                        rows.push((0..r.len()).map(|i| cell(r.get(i))).collect::<Vec<_>>());
                    }
                    SimpleQueryMessage::CommandComplete(n) => affected = n,
                    _ => {}
                }
            }
            return Ok(match columns {
                Some(n) => DBOutput::Rows { types: vec![DefaultColumnType::Any; n], rows },
                None => DBOutput::StatementComplete(affected),
            });
        }
        let stmt = self.client.prepare(sql).await?;
        if stmt.columns().is_empty() {
            return Ok(DBOutput::StatementComplete(self.client.execute(&stmt, &[]).await?));
        }
        let rows = self.client.query(&stmt, &[]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push((0..row.len()).map(|i| typed_cell(row, i)).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Any; stmt.columns().len()], rows: out })
    }

    async fn shutdown(&mut self) {}

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}
