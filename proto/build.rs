//! Generates the gRPC code from `proto/` with `protox` (a pure-Rust protobuf
//! compiler, so no `protoc` binary is needed) and `tonic-prost-build`, and
//! saves the file descriptor set for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["alopex/v1/alopex.proto", "alopex/v1/kv.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("alopex_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
