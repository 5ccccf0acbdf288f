//! # The node id kept in the data directory
//!
//! A node's id is chosen once and never changes: Raft memberships, range
//! descriptors and placement all name nodes by id, so a node that came back
//! under another id would be a stranger holding someone else's data. The id
//! is **bound to the certificate** (`alopex://node/<id>`), and the data
//! directory remembers which id it belongs to in a small text file,
//! `node_id`:
//!
//! ```text
//! alopex-node-id 3
//! ```
//!
//! On first start the file is written (atomically: a temporary file,
//! fsynced, renamed) with the certificate's id. On every later start the
//! certificate must name the same id; a mismatch means the wrong
//! certificate or the wrong directory was given, and the node refuses to
//! start with a message that says which. Plain text keeps the file easy to
//! inspect; a file that does not parse is refused rather than guessed at.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::ClusterError;
use crate::ids::NodeId;

/// The file name, inside the data directory.
pub const NODE_ID_FILE: &str = "node_id";

const TAG: &str = "alopex-node-id";

/// The id recorded in `data_dir`, if the file exists.
pub fn read(data_dir: &Path) -> Result<Option<NodeId>, ClusterError> {
    let path = data_dir.join(NODE_ID_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let bad = || ClusterError::Config(format!("{} is not a node id file (expected `{TAG} <id>`)", path.display()));
    let rest = text.trim().strip_prefix(TAG).ok_or_else(bad)?;
    let id: u64 = rest.trim().parse().map_err(|_| bad())?;
    Ok(Some(NodeId(id)))
}

/// Records `id` in `data_dir` (replacing the file atomically).
pub fn write(data_dir: &Path, id: NodeId) -> Result<(), ClusterError> {
    fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join(format!("{NODE_ID_FILE}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        writeln!(f, "{TAG} {}", id.0)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, data_dir.join(NODE_ID_FILE))?;
    fs::File::open(data_dir)?.sync_all()?;
    Ok(())
}

/// Checks the certificate's id against the one recorded in `data_dir`,
/// recording it on first start.
pub fn check_or_record(data_dir: &Path, cert_id: NodeId) -> Result<NodeId, ClusterError> {
    match read(data_dir)? {
        Some(stored) if stored == cert_id => Ok(stored),
        Some(stored) => Err(ClusterError::Config(format!(
            "the certificate names node {} but the data directory {} belongs to node {}; \
             use that node's certificate or another data directory",
            cert_id.0,
            data_dir.display(),
            stored.0
        ))),
        None => {
            write(data_dir, cert_id)?;
            Ok(cert_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_on_first_start_and_checked_after() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        assert_eq!(check_or_record(dir.path(), NodeId(3)).unwrap(), NodeId(3));
        assert_eq!(read(dir.path()).unwrap(), Some(NodeId(3)));
        assert_eq!(fs::read_to_string(dir.path().join(NODE_ID_FILE)).unwrap(), "alopex-node-id 3\n");
        assert_eq!(check_or_record(dir.path(), NodeId(3)).unwrap(), NodeId(3));
        let err = check_or_record(dir.path(), NodeId(4)).unwrap_err();
        assert!(matches!(&err, ClusterError::Config(m) if m.contains("node 4") && m.contains("node 3")), "{err}");
        fs::write(dir.path().join(NODE_ID_FILE), "garbage").unwrap();
        assert!(matches!(read(dir.path()), Err(ClusterError::Config(_))));
    }
}
