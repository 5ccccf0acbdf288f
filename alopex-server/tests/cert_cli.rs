//! `alopex cert create-ca` / `create-node`, run as the built binary: the
//! files and their modes, refusals with clear errors, and the proof that
//! matters: two QUIC transports using the generated files complete mutual
//! TLS on loopback and each sees the other's node id, while a node from
//! another CA is refused.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use alopex_cluster::rpc::{RpcClient, RpcService};
use alopex_cluster::tls::NodeIdentity;
use alopex_cluster::transport::{Transport, TransportConfig};
use alopex_cluster::{NodeId, RangeId};
use async_trait::async_trait;
use bytes::Bytes;

/// Runs `alopex ARGS`; (exit code, stdout, stderr).
fn alopex(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_alopex")).args(args).output().expect("run alopex");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

struct WhoAmI;

#[async_trait]
impl RpcService for WhoAmI {
    async fn handle(&self, from: NodeId, _: RangeId, _: u16, _: Bytes) -> Result<Bytes, String> {
        Ok(Bytes::from(from.to_string()))
    }
}

#[test]
fn create_ca_and_node_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    let (code, out, err) = alopex(&["cert", "create-ca", "--out", path(&ca)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ca.key"), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&ca.join("ca.key")), 0o600);

    for (id, host) in [("1", "127.0.0.1"), ("2", "node2.example")] {
        let node = dir.path().join(format!("n{id}"));
        let (code, out, err) = alopex(&[
            "cert",
            "create-node",
            "--ca",
            path(&ca),
            "--node-id",
            id,
            "--host",
            host,
            "--host",
            "localhost",
            "--out",
            path(&node),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("alopex://node/{id}")), "{out}");
        #[cfg(unix)]
        assert_eq!(mode(&node.join("node.key")), 0o600);
        assert!(!node.join("ca.key").exists(), "a node directory must not get the CA key");
        assert_eq!(NodeIdentity::load(&node).unwrap().node_id, NodeId(id.parse().unwrap()));
    }

    // Refusals, each with a clear message and a failing exit code.
    let (code, _, err) = alopex(&["cert", "create-ca", "--out", path(&ca)]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let args = |id: &'static str, host: &'static str, ca: &Path, out: &Path| {
        alopex(&["cert", "create-node", "--ca", path(ca), "--node-id", id, "--host", host, "--out", path(out)])
    };
    let (code, _, err) = args("3", "bad host!", &ca, &dir.path().join("n3"));
    assert_eq!(code, 1);
    assert!(err.contains("invalid host name"), "{err}");
    let (code, _, err) = args("3", "localhost", &dir.path().join("nowhere"), &dir.path().join("n3"));
    assert_eq!(code, 1);
    assert!(err.contains("nowhere") && err.contains("ca.crt"), "{err}");
    let (code, _, err) = args("0", "localhost", &ca, &dir.path().join("n0"));
    assert_eq!(code, 2);
    assert!(err.contains("node ids start at 1"), "{err}");
    let (code, _, err) = alopex(&["cert", "create-node", "--ca", path(&ca), "--node-id", "x", "--out", "y"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn generated_certificates_authenticate_nodes_over_quic() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p);
    for ca in ["ca", "other-ca"] {
        assert_eq!(alopex(&["cert", "create-ca", "--out", path(&d(ca))]).0, 0);
    }
    for (ca, id, out) in [("ca", "1", "n1"), ("ca", "2", "n2"), ("other-ca", "3", "n3")] {
        let (code, _, err) = alopex(&[
            "cert",
            "create-node",
            "--ca",
            path(&d(ca)),
            "--node-id",
            id,
            "--host",
            "127.0.0.1",
            "--out",
            path(&d(out)),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let bind = |node: &str| {
            let identity = NodeIdentity::load(&d(node)).unwrap();
            Transport::bind(TransportConfig::new("127.0.0.1:0".parse().unwrap(), identity), Arc::new(WhoAmI)).unwrap()
        };
        let (n1, n2, n3) = (bind("n1"), bind("n2"), bind("n3"));
        n1.set_peer_addr(NodeId(2), n2.local_addr());
        n3.set_peer_addr(NodeId(2), n2.local_addr());
        let answer = n1.call(NodeId(2), RangeId(1), 1, Bytes::new()).await.unwrap();
        assert_eq!(&answer[..], b"n1", "n2 must see the caller's id from its certificate");
        assert!(n3.call(NodeId(2), RangeId(1), 1, Bytes::new()).await.is_err(), "a node of another CA got through");
        for t in [n1, n2, n3] {
            t.shutdown().await;
        }
    });
}
