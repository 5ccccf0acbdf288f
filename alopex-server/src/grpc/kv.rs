//! `alopex.v1.Kv` on a node that is not in a cluster.
//!
//! The KV service is the cluster's key-value layer; a standalone node has
//! no ranges to serve it from. Rather than leave the service unmounted,
//! which a client sees as a bare UNIMPLEMENTED indistinguishable from a
//! typo in a method name, a standalone node mounts this stand-in: reflection
//! lists the same services on every node, and each call answers
//! UNAVAILABLE with `not a cluster node (start alopex serve with
//! --listen-addr)`, which says what is wrong and how to fix it. In cluster
//! mode the server mounts the node's real service
//! ([`alopex_cluster::node::ClusterNode::kv_service`]) instead.

use alopex_proto::v1::kv_server::Kv;
use alopex_proto::v1::{
    KvConditionalPutRequest, KvConditionalPutResponse, KvDeleteRequest, KvGetRequest, KvGetResponse, KvPutRequest,
    KvScanRequest, KvScanResponse, KvWriteResponse,
};
use tonic::{Request, Response, Status};

/// The message of every call on a standalone node.
pub const NOT_A_CLUSTER_NODE: &str = "not a cluster node (start alopex serve with --listen-addr)";

/// The stand-in `Kv` service. See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotAClusterNode;

fn unavailable<T>() -> Result<Response<T>, Status> {
    Err(Status::unavailable(NOT_A_CLUSTER_NODE))
}

#[tonic::async_trait]
impl Kv for NotAClusterNode {
    async fn get(&self, _: Request<KvGetRequest>) -> Result<Response<KvGetResponse>, Status> {
        unavailable()
    }

    async fn put(&self, _: Request<KvPutRequest>) -> Result<Response<KvWriteResponse>, Status> {
        unavailable()
    }

    async fn delete(&self, _: Request<KvDeleteRequest>) -> Result<Response<KvWriteResponse>, Status> {
        unavailable()
    }

    async fn scan(&self, _: Request<KvScanRequest>) -> Result<Response<KvScanResponse>, Status> {
        unavailable()
    }

    async fn conditional_put(
        &self,
        _: Request<KvConditionalPutRequest>,
    ) -> Result<Response<KvConditionalPutResponse>, Status> {
        unavailable()
    }
}
