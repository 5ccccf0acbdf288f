//! # The KV API over gRPC
//!
//! `alopex.v1.Kv` (`proto/proto/alopex/v1/kv.proto`) exposes the cluster's
//! key-value layer without SQL: get, put, delete, scan and conditional
//! put. [`KvService`] implements it over a node's gateway
//! ([`crate::range::ClusterKv`]), so any node answers for every key: the
//! gateway routes each request to the leader of the key's range, follows
//! redirects and retries within its deadline. Keeping the translation this
//! thin means the gRPC API has exactly the semantics of `ClusterKv`, which
//! the range tests exercise directly.
//!
//! Errors map to gRPC codes: a reserved key is `INVALID_ARGUMENT`, no leader
//! before the gateway's deadline is `DEADLINE_EXCEEDED` (a write may still
//! have committed), and a refusal by the range is `FAILED_PRECONDITION`.
//! Wiring the service into `alopex serve` comes with the cluster's
//! integration into the server.

use std::sync::Arc;

use alopex_proto::v1::kv_server::{Kv, KvServer};
use alopex_proto::v1::{
    KvConditionalPutRequest, KvConditionalPutResponse, KvDeleteRequest, KvGetRequest, KvGetResponse, KvPair,
    KvPutRequest, KvScanRequest, KvScanResponse, KvWriteResponse,
};
use bytes::Bytes;
use tonic::{Request, Response, Status};

use crate::range::{KvError, RangeNode};

/// The most pairs a scan returns when the request names no limit.
pub const DEFAULT_SCAN_LIMIT: usize = 1000;
/// The most pairs one scan may ask for.
pub const MAX_SCAN_LIMIT: usize = 100_000;

/// The `alopex.v1.Kv` service of one node.
#[derive(Clone, Debug)]
pub struct KvService {
    node: Arc<RangeNode>,
}

impl KvService {
    /// The service over `node`'s gateway.
    pub fn new(node: Arc<RangeNode>) -> Self {
        KvService { node }
    }

    /// The tonic server to add to a router.
    pub fn into_server(self) -> KvServer<KvService> {
        KvServer::new(self)
    }
}

fn status(e: KvError) -> Status {
    match e {
        KvError::InvalidArgument(m) => Status::invalid_argument(m),
        KvError::DeadlineExceeded(m) => Status::deadline_exceeded(m),
        KvError::Failed(m) => Status::failed_precondition(m),
    }
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn get(&self, request: Request<KvGetRequest>) -> Result<Response<KvGetResponse>, Status> {
        let r = request.into_inner();
        let value = self.node.kv().get(Bytes::from(r.key)).await.map_err(status)?;
        Ok(Response::new(KvGetResponse { value: value.map(|v| v.to_vec()) }))
    }

    async fn put(&self, request: Request<KvPutRequest>) -> Result<Response<KvWriteResponse>, Status> {
        let r = request.into_inner();
        let ts = self.node.kv().put(Bytes::from(r.key), Bytes::from(r.value)).await.map_err(status)?;
        Ok(Response::new(KvWriteResponse { commit_ts: ts }))
    }

    async fn delete(&self, request: Request<KvDeleteRequest>) -> Result<Response<KvWriteResponse>, Status> {
        let r = request.into_inner();
        let ts = self.node.kv().delete(Bytes::from(r.key)).await.map_err(status)?;
        Ok(Response::new(KvWriteResponse { commit_ts: ts }))
    }

    async fn scan(&self, request: Request<KvScanRequest>) -> Result<Response<KvScanResponse>, Status> {
        let r = request.into_inner();
        let limit = match r.limit as usize {
            0 => DEFAULT_SCAN_LIMIT,
            n if n > MAX_SCAN_LIMIT => {
                return Err(Status::invalid_argument(format!("limit {n} is above the maximum {MAX_SCAN_LIMIT}")));
            }
            n => n,
        };
        let rows = self.node.kv().scan(Bytes::from(r.start), r.end.map(Bytes::from), limit).await.map_err(status)?;
        let pairs = rows.into_iter().map(|(k, v)| KvPair { key: k.to_vec(), value: v.to_vec() }).collect();
        Ok(Response::new(KvScanResponse { pairs }))
    }

    async fn conditional_put(
        &self,
        request: Request<KvConditionalPutRequest>,
    ) -> Result<Response<KvConditionalPutResponse>, Status> {
        let r = request.into_inner();
        let outcome = self
            .node
            .kv()
            .conditional_put(Bytes::from(r.key), r.expected.map(Bytes::from), r.value.map(Bytes::from))
            .await
            .map_err(status)?;
        Ok(Response::new(KvConditionalPutResponse {
            applied: outcome.applied,
            current: outcome.current.map(|v| v.to_vec()),
        }))
    }
}
