//! Alopex as an embedded database: open a directory, create a table, write
//! in a transaction, query with parameters.
//!
//! `cargo run -p alopex-sql --example embedded [data-dir]`

use alopex_sql::{Database, Value};

fn main() -> Result<(), alopex_sql::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./alopex-embedded-example".to_string());
    let db = Database::open(&dir)?;

    db.execute(
        "CREATE TABLE IF NOT EXISTS orders (
            id BIGINT PRIMARY KEY,
            customer TEXT NOT NULL,
            amount NUMERIC(10,2) NOT NULL CHECK (amount > 0),
            placed DATE NOT NULL DEFAULT CURRENT_DATE
        )",
        &[],
    )?;
    db.execute("CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer)", &[])?;

    // Several statements, atomically.
    let mut tx = db.begin()?;
    for (id, customer, amount) in [(1, "ada", "19.99"), (2, "grace", "5.00"), (3, "ada", "42.50")] {
        tx.execute(
            "INSERT INTO orders (id, customer, amount) VALUES ($1, $2, $3::numeric)
             ON CONFLICT (id) DO UPDATE SET amount = excluded.amount",
            &[Value::Int(id), Value::text(customer), Value::text(amount)],
        )?;
    }
    tx.commit()?;

    // Rows stream from storage; getters are typed.
    for row in db.query(
        "SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer ORDER BY total DESC",
        &[],
    )? {
        let row = row?;
        let customer: String = row.get("customer")?;
        let n: i64 = row.get("n")?;
        let total: rust_decimal::Decimal = row.get("total")?;
        println!("{customer:<8} {n} orders, {total} in total");
    }
    Ok(())
}
