//! The client side of the `alopex` binary: `alopex sql` and `alopex import`.
//! It lives in the binary, not the server library: nothing in the server
//! depends on it.
//!
//! Both are ordinary Postgres clients. They reach a running server over the
//! wire protocol with `tokio-postgres`, exactly as any application would,
//! rather than opening the data directory: the server owns its files (one
//! process, one storage engine), the client then works against a remote
//! node as well as a local one, and every byte the client sends goes through
//! the same code paths users' drivers exercise.
//!
//! - [`connect`]: the connection flags shared by both commands
//!   (`-h/-p/-U/-d` or a URL) and how errors are reported (SQLSTATE first).
//! - [`split`]: cutting input into statements at top-level `;`.
//! - [`table`]: psql's aligned result tables.
//! - [`shell`]: `alopex sql`, for one statement, a piped script, or an
//!   interactive session with line editing and history.
//! - [`cert`]: `alopex cert create-ca` / `create-node`, the cluster's
//!   certificates (no server involved).
//! - [`node`]: `alopex node list` / `decommission`, through a node's REST
//!   API rather than the wire protocol.
//! - [`import`] and [`infer`]: `alopex import`, CSV through `COPY FROM
//!   STDIN` with inferred column types and a progress bar.

pub mod cert;
pub mod connect;
pub mod import;
pub mod infer;
pub mod node;
pub mod shell;
pub mod split;
pub mod table;
