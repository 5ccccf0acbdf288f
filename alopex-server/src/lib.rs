//! `alopex-server`: the `alopex` binary's library. One process serves the
//! database over the Postgres wire protocol, a REST API and gRPC, with
//! SQL work on a bounded pool of threads and network I/O on tokio.
//!
//! The life of a connection: [`server::serve`] opens the database and the
//! listeners; [`pg::PgServer`] accepts a socket and gives it a session;
//! pgwire decodes messages into calls on [`pg::handler::PgConnection`],
//! which hands the SQL to [`workers::Workers`] and encodes the results
//! ([`pg::types`]). `docs/server.md` has the operator's view.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod config;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod pg;
pub mod server;
pub mod system_views;
pub mod workers;
