//! `system.cluster_nodes`: the cluster's membership as a SQL table.
//!
//! In cluster mode the server registers this provider with the SQL engine
//! (`alopex_sql::system`), so `SELECT * FROM system.cluster_nodes` shows
//! the same rows as `GET /v1/cluster/nodes` and `alopex node list`, from
//! any SQL client. The rows are read from the node's in-memory view
//! ([`ClusterNode::nodes`]) while the statement binds, never from the
//! network, and a statement reading them is never plan-cached, so each
//! execution is current. Outside cluster mode nothing is registered and
//! the name is an undefined table (42P01).

use std::sync::Arc;

use alopex_cluster::node::ClusterNode;
use alopex_sql::system::{SystemTable, SystemViews};
use alopex_sql::{DataType, Value};

/// The provider of the `system` tables of a cluster node.
pub struct ClusterViews {
    node: Arc<ClusterNode>,
}

impl ClusterViews {
    /// The views over `node`.
    pub fn new(node: Arc<ClusterNode>) -> Self {
        ClusterViews { node }
    }
}

impl SystemViews for ClusterViews {
    fn table(&self, name: &str) -> Option<SystemTable> {
        if name != "cluster_nodes" {
            return None;
        }
        let columns = [
            ("node_id", DataType::Int8),
            ("addr", DataType::Text),
            ("state", DataType::Text),
            ("is_self", DataType::Bool),
            ("decommissioning", DataType::Bool),
            ("replicas", DataType::Int8),
            ("leaders", DataType::Int8),
        ];
        let rows = self
            .node
            .nodes()
            .into_iter()
            .map(|n| {
                vec![
                    Value::Int(n.id.0 as i64),
                    Value::text(&n.addr),
                    Value::text(n.state),
                    Value::Bool(n.is_self),
                    Value::Bool(n.decommissioning),
                    Value::Int(n.replicas as i64),
                    Value::Int(n.leaders as i64),
                ]
            })
            .collect();
        Some(SystemTable { columns: columns.into_iter().map(|(c, t)| (c.to_string(), t)).collect(), rows })
    }
}
