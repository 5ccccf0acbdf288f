//! The bounded pool of threads that run SQL.
//!
//! Connections are tokio tasks: cheap, many, and all sharing a few runtime
//! threads. A statement is the opposite: synchronous, CPU- and disk-bound,
//! and sometimes long. Running it on a runtime thread would stall every
//! connection scheduled there, so statements run on tokio's blocking
//! threads instead, and a semaphore caps how many run at once (the
//! `workers` setting). A burst of clients then queues for a worker rather
//! than oversubscribing the cores, while the runtime threads keep reading
//! and writing sockets, answering cancel requests and accepting
//! connections.

use std::sync::Arc;

use alopex_sql::{Error, SqlState};
use tokio::sync::Semaphore;

/// Runs closures on at most `n` blocking threads at a time.
#[derive(Clone)]
pub struct Workers {
    permits: Arc<Semaphore>,
}

impl Workers {
    /// A pool of `n` workers.
    pub fn new(n: usize) -> Workers {
        Workers { permits: Arc::new(Semaphore::new(n.max(1))) }
    }

    /// Runs `f` on a worker when one is free, and returns its result. A
    /// panic in `f` becomes an internal error for this statement only.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(SqlState::ADMIN_SHUTDOWN, "the server is shutting down"))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| Error::internal(format!("statement worker failed: {e}")))
    }

    /// Stops handing out workers: later `run` calls fail with 57P01.
    pub fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_n_run_at_once_and_panics_stay_local() {
        let workers = Workers::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (w, running, peak) = (workers.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                w.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        let err = workers.run(|| panic!("boom")).await.unwrap_err();
        assert_eq!(err.state.code(), "XX000");
        assert_eq!(workers.run(|| 7).await.unwrap(), 7);
        workers.close();
        assert_eq!(workers.run(|| 7).await.unwrap_err().state.code(), "57P01");
    }
}
