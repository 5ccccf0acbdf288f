//! A first look at `alopex-core`: open a database, write, read, scan, run a
//! transaction, and reopen to see that everything survived.
//!
//! ```text
//! cargo run --release -p alopex-core --example quickstart [DATA_DIR]
//! ```

use std::ops::Bound;

use alopex_core::{Engine, Error, IsolationLevel, Options, WriteBatch};

fn main() -> Result<(), Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./alopex-data".to_string());
    let engine = Engine::open(&dir, Options::default())?;
    println!("opened {dir} (visible timestamp {})", engine.visible_ts());

    // An atomic batch: both keys commit at one timestamp, after one fsync.
    let mut batch = WriteBatch::new();
    batch.put("fox/arctic", "Vulpes lagopus").put("fox/red", "Vulpes vulpes").put("fox/fennec", "Vulpes zerda");
    let ts = engine.write(batch)?;
    println!("committed 3 foxes at timestamp {ts}");

    // A transaction: read, then write, committed with conflict detection.
    let mut txn = engine.begin(IsolationLevel::Serializable);
    let visits = txn.get(b"visits")?.map(|v| String::from_utf8_lossy(&v).parse::<u64>().unwrap_or(0)).unwrap_or(0);
    txn.put("visits", (visits + 1).to_string())?;
    txn.commit()?;
    println!("this database has been visited {} time(s)", visits + 1);

    // A prefix scan, forward and reverse.
    for (order, reverse) in [("forward", false), ("reverse", true)] {
        let names: Vec<String> = engine
            .scan_prefix(b"fox/", reverse)
            .map(|r| r.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
            .collect::<Result<_, _>>()?;
        println!("{order}: {}", names.join(", "));
    }
    let everything = engine.scan((Bound::Unbounded, Bound::Unbounded), false).count();
    println!("{everything} keys in total");

    // Close, reopen, and read back: the WAL and manifest make it durable.
    engine.close()?;
    let engine = Engine::open(&dir, Options::default())?;
    let red = engine.get(b"fox/red")?.map(|v| String::from_utf8_lossy(&v).into_owned());
    println!("after reopening: fox/red = {}", red.unwrap_or_default());
    println!("{:#?}", engine.stats());
    Ok(())
}
