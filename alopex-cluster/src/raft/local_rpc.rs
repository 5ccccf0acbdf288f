//! # An in-process transport for tests and benchmarks
//!
//! The real transport (QUIC, built alongside) and this one implement the
//! same [`RpcClient`] seam, so the Raft code under test is the code that
//! runs in production. [`LocalNetwork`] routes a call straight to the
//! target node's [`RpcService`] on the caller's task; it can cut a node off
//! (both directions) to simulate a crash or an isolated node, and it holds
//! services weakly, so dropping a node really drops it (its engine and log
//! can then be reopened, as after a restart).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;

use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcError, RpcService};

/// A set of in-process nodes that can call each other.
#[derive(Default)]
pub struct LocalNetwork {
    nodes: RwLock<HashMap<NodeId, Weak<dyn RpcService>>>,
    down: RwLock<HashSet<NodeId>>,
}

impl std::fmt::Debug for LocalNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalNetwork").field("nodes", &self.nodes.read().len()).finish()
    }
}

impl LocalNetwork {
    /// An empty network.
    pub fn new() -> Arc<LocalNetwork> {
        Arc::new(LocalNetwork::default())
    }

    /// Makes `service` reachable as node `id` (replacing an earlier one).
    pub fn register(&self, id: NodeId, service: Arc<dyn RpcService>) {
        self.nodes.write().insert(id, Arc::downgrade(&service));
    }

    /// Removes node `id`.
    pub fn unregister(&self, id: NodeId) {
        self.nodes.write().remove(&id);
    }

    /// Cuts node `id` off (`true`) or reconnects it (`false`).
    pub fn set_down(&self, id: NodeId, down: bool) {
        if down {
            self.down.write().insert(id);
        } else {
            self.down.write().remove(&id);
        }
    }

    /// The client node `from` sends with.
    pub fn client(self: &Arc<Self>, from: NodeId) -> Arc<dyn RpcClient> {
        Arc::new(LocalClient { from, net: Arc::clone(self) })
    }
}

struct LocalClient {
    from: NodeId,
    net: Arc<LocalNetwork>,
}

#[async_trait]
impl RpcClient for LocalClient {
    async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError> {
        {
            let down = self.net.down.read();
            if down.contains(&self.from) || down.contains(&to) {
                return Err(RpcError::Unreachable(to, "node is cut off".into()));
            }
        }
        let service = self.net.nodes.read().get(&to).and_then(Weak::upgrade);
        let Some(service) = service else {
            return Err(RpcError::Unreachable(to, "no such node".into()));
        };
        service.handle(self.from, range, method, body).await.map_err(|message| RpcError::Remote { node: to, message })
    }
}
