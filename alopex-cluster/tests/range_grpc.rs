//! The `alopex.v1.Kv` gRPC service on a real socket, over a 3-node
//! in-process cluster: a tonic client calls every method through one node,
//! and a bad key is `INVALID_ARGUMENT`.

mod range_support;

use std::sync::Arc;

use alopex_cluster::kv_service::KvService;
use alopex_proto::v1::kv_client::KvClient;
use alopex_proto::v1::{KvConditionalPutRequest, KvDeleteRequest, KvGetRequest, KvPutRequest, KvScanRequest};
use range_support::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kv_over_grpc() {
    let c = Cluster::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = KvService::new(Arc::clone(c.node(2))).into_server();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client = KvClient::connect(format!("http://{addr}")).await.unwrap();

    for i in 0..300u32 {
        let r = client
            .put(KvPutRequest { key: format!("k{i:04}").into_bytes(), value: format!("v{i}").into_bytes() })
            .await
            .unwrap();
        assert!(r.into_inner().commit_ts > 0);
    }
    let got = client.get(KvGetRequest { key: b"k0042".to_vec() }).await.unwrap().into_inner();
    assert_eq!(got.value.as_deref(), Some(&b"v42"[..]));
    let got = client.get(KvGetRequest { key: b"nope".to_vec() }).await.unwrap().into_inner();
    assert_eq!(got.value, None);

    client.delete(KvDeleteRequest { key: b"k0042".to_vec() }).await.unwrap();
    let got = client.get(KvGetRequest { key: b"k0042".to_vec() }).await.unwrap().into_inner();
    assert_eq!(got.value, None);

    let scan = client
        .scan(KvScanRequest { start: b"k0100".to_vec(), end: Some(b"k0200".to_vec()), limit: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scan.pairs.len(), 100);
    assert_eq!(scan.pairs[0].key, b"k0100");
    let scan = client.scan(KvScanRequest { start: vec![], end: None, limit: 10 }).await.unwrap().into_inner();
    assert_eq!(scan.pairs.len(), 10);

    let cas = |expected: Option<&str>, value: Option<&str>| KvConditionalPutRequest {
        key: b"reg".to_vec(),
        expected: expected.map(|s| s.as_bytes().to_vec()),
        value: value.map(|s| s.as_bytes().to_vec()),
    };
    assert!(client.conditional_put(cas(None, Some("1"))).await.unwrap().into_inner().applied);
    let r = client.conditional_put(cas(Some("0"), Some("2"))).await.unwrap().into_inner();
    assert!(!r.applied);
    assert_eq!(r.current.as_deref(), Some(&b"1"[..]));
    assert!(client.conditional_put(cas(Some("1"), Some("2"))).await.unwrap().into_inner().applied);

    // The same data through another node's gateway.
    assert_eq!(c.node(3).kv().get("reg").await.unwrap().as_deref(), Some(&b"2"[..]));

    let err = client.put(KvPutRequest { key: b"\xff\xff\xfex".to_vec(), value: vec![] }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    let err = client.scan(KvScanRequest { start: vec![], end: None, limit: 1_000_000 }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");

    server.abort();
    for n in c.live() {
        n.stop().await;
    }
}
