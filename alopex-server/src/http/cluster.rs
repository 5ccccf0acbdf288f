//! The cluster over REST: membership, ranges, decommissioning.
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/cluster/nodes` | every known node: id, address, SWIM state, replica and leader counts |
//! | `GET /v1/cluster/ranges` | every range: span (hex), voters, learners, leader, generation |
//! | `POST /v1/cluster/nodes/{id}/decommission` | drain a node: placement moves its replicas away (202) |
//!
//! These are what an operator's scripts and `alopex node list/decommission`
//! call, so they answer from what the node already holds (membership view,
//! cached descriptors, Raft metrics) and never wait on a quorum, except
//! the range listing, which reads the meta range. On a node started
//! without `--listen-addr` each route answers **404** with the code
//! `not_a_cluster_node`: there is no cluster resource to show, and a 404
//! keeps a standalone node's API free of server errors (the OpenAPI fuzzer
//! treats any 5xx as a bug). In cluster mode a failure of the cluster layer
//! is 503 (`cluster_unavailable`: no quorum for the meta range, retry) and
//! a bad node id 400 / unknown node 404.
//!
//! Keys are bytes; the range spans are given in lower-case hex so any key
//! survives JSON. Node ids are the numbers in the certificates (`3`, which
//! the logs print as `n3`); the decommission route takes either form.

use std::sync::Arc;

use alopex_cluster::NodeId;
use alopex_cluster::node::{ClusterError, ClusterNode, NodeInfo, RangeInfo};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AppState};

/// The error code of every cluster route on a standalone node.
pub const NOT_A_CLUSTER_NODE: &str = "not_a_cluster_node";

/// The membership as this node sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterNodes {
    /// The answering node's id.
    pub self_id: u64,
    /// Every known node, sorted by id.
    pub nodes: Vec<ClusterNodeInfo>,
}

/// One node.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterNodeInfo {
    /// The node id (from its certificate).
    pub node_id: u64,
    /// Its node-to-node (QUIC) address.
    pub addr: String,
    /// `alive`, `suspect` or `down`.
    pub state: String,
    /// Whether this is the node answering.
    pub is_self: bool,
    /// Being drained by a decommission.
    pub decommissioning: bool,
    /// Range replicas it holds (voters and learners).
    pub replicas: u64,
    /// Ranges it leads.
    pub leaders: u64,
}

impl From<NodeInfo> for ClusterNodeInfo {
    fn from(n: NodeInfo) -> Self {
        ClusterNodeInfo {
            node_id: n.id.0,
            addr: n.addr,
            state: n.state.to_string(),
            is_self: n.is_self,
            decommissioning: n.decommissioning,
            replicas: n.replicas as u64,
            leaders: n.leaders as u64,
        }
    }
}

/// The ranges.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterRanges {
    /// Every range, sorted by start key.
    pub ranges: Vec<ClusterRangeInfo>,
}

/// One range.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterRangeInfo {
    /// The range id.
    pub range_id: u64,
    /// First key of the span (inclusive), hex.
    pub start: String,
    /// End of the span (exclusive), hex; null for the end of the key space.
    pub end: Option<String>,
    /// Voting replicas (node ids).
    pub voters: Vec<u64>,
    /// Learners being caught up (node ids).
    pub learners: Vec<u64>,
    /// The leader, if known.
    pub leader: Option<u64>,
    /// The descriptor's generation (bumped by every split and membership change).
    pub generation: u64,
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl From<RangeInfo> for ClusterRangeInfo {
    fn from(r: RangeInfo) -> Self {
        ClusterRangeInfo {
            range_id: r.id.0,
            start: hex(&r.start),
            end: r.end.as_deref().map(hex),
            voters: r.voters.iter().map(|n| n.0).collect(),
            learners: r.learners.iter().map(|n| n.0).collect(),
            leader: r.leader.map(|n| n.0),
            generation: r.generation,
        }
    }
}

/// The answer to a decommission.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decommission {
    /// The node being drained.
    pub node_id: u64,
    /// Always true: the mark is durable; watch `replicas` in
    /// `GET /v1/cluster/nodes` fall to 0.
    pub decommissioning: bool,
}

/// The node, or the standalone 404.
fn node(state: &AppState) -> Result<&Arc<ClusterNode>, ApiError> {
    state.cluster.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            NOT_A_CLUSTER_NODE,
            "this node is not part of a cluster (start alopex serve with --listen-addr)",
        )
    })
}

fn cluster_error(e: ClusterError) -> ApiError {
    match e {
        ClusterError::UnknownNode(n) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_node", format!("node {} is not a member of the cluster", n.0))
        }
        ClusterError::Config(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
        e => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cluster_unavailable", e.to_string()),
    }
}

/// Parses a node id: `3` or `n3`.
pub fn parse_node_id(text: &str) -> Option<NodeId> {
    let digits = text.strip_prefix('n').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(NodeId)
}

/// The cluster's nodes as this node sees them.
#[utoipa::path(
    get,
    path = "/v1/cluster/nodes",
    responses(
        (status = 200, body = ClusterNodes),
        (status = 401, body = super::ErrorBody),
        (status = 404, description = "not a cluster node (`not_a_cluster_node`)", body = super::ErrorBody)
    )
)]
pub async fn list_nodes(State(state): State<AppState>) -> Result<Json<ClusterNodes>, ApiError> {
    let node = node(&state)?;
    let nodes = node.nodes().into_iter().map(ClusterNodeInfo::from).collect();
    Ok(Json(ClusterNodes { self_id: node.id().0, nodes }))
}

/// The cluster's ranges, read from the meta range.
#[utoipa::path(
    get,
    path = "/v1/cluster/ranges",
    responses(
        (status = 200, body = ClusterRanges),
        (status = 401, body = super::ErrorBody),
        (status = 404, description = "not a cluster node (`not_a_cluster_node`)", body = super::ErrorBody),
        (status = 503, description = "the meta range has no quorum (`cluster_unavailable`)", body = super::ErrorBody)
    )
)]
pub async fn list_ranges(State(state): State<AppState>) -> Result<Json<ClusterRanges>, ApiError> {
    let node = node(&state)?;
    let ranges = node.ranges().await.map_err(cluster_error)?;
    Ok(Json(ClusterRanges { ranges: ranges.into_iter().map(ClusterRangeInfo::from).collect() }))
}

/// Starts draining a node: placement moves its replicas to the others.
#[utoipa::path(
    post,
    path = "/v1/cluster/nodes/{id}/decommission",
    params(("id" = String, Path, description = "node id: `3` or `n3`")),
    responses(
        (status = 202, body = Decommission),
        (
            status = 400,
            description = "not a node id (`invalid_node_id`), or refused (`invalid_request`)",
            body = super::ErrorBody
        ),
        (status = 401, body = super::ErrorBody),
        (status = 404, description = "not a cluster node, or no such member (`unknown_node`)", body = super::ErrorBody),
        (status = 503, description = "the mark could not be made durable (`cluster_unavailable`)", body = super::ErrorBody)
    )
)]
pub async fn decommission(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Decommission>), ApiError> {
    let text = match id {
        Ok(Path(text)) => text,
        Err(e) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_node_id", e.body_text())),
    };
    let node = node(&state)?;
    let Some(id) = parse_node_id(&text) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_node_id",
            format!("\"{text}\" is not a node id (a number such as 3, or n3)"),
        ));
    };
    node.decommission(id).await.map_err(cluster_error)?;
    Ok((StatusCode::ACCEPTED, Json(Decommission { node_id: id.0, decommissioning: true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_and_hex() {
        assert_eq!(parse_node_id("3"), Some(NodeId(3)));
        assert_eq!(parse_node_id("n42"), Some(NodeId(42)));
        assert_eq!(parse_node_id(""), None);
        assert_eq!(parse_node_id("-1"), None);
        assert_eq!(parse_node_id("n"), None);
        assert_eq!(parse_node_id("99999999999999999999999"), None);
        assert_eq!(hex(b"\x00a\xff"), "0061ff");
    }
}
