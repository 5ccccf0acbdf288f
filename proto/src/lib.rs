//! Alopex's gRPC definitions (`proto/alopex/v1/alopex.proto`, the SQL API, and
//! `kv.proto`, the cluster KV API) and the code
//! `tonic` generates from them: the server trait the `alopex` binary
//! implements and the client stubs its tests (and Rust users) call.
//!
//! The code is generated at build time by `build.rs` with `protox`, so
//! building needs no `protoc` on the machine.

#![allow(missing_docs, clippy::all)]

/// `alopex.v1`: the service and its messages.
pub mod v1 {
    tonic::include_proto!("alopex.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/alopex_descriptor.bin"));
