//! The gRPC API through real gRPC clients (tonic's generated stubs) against
//! a real `alopex serve`: typed values, streaming, transactions across
//! calls, SQLSTATEs in statuses, the health service and reflection.

mod common;

use alopex_proto::v1 as pb;
use alopex_proto::v1::alopex_client::AlopexClient;
use alopex_proto::v1::value::Kind;
use common::Server;
use tonic::Code;

fn v(kind: Kind) -> pb::Value {
    pb::Value { kind: Some(kind) }
}

fn exec(sql: &str, params: Vec<pb::Value>, transaction_id: u64) -> pb::ExecuteRequest {
    pb::ExecuteRequest { sql: sql.into(), params, transaction_id }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_query_transactions_health_and_reflection() {
    let server = Server::start();
    let mut client = AlopexClient::connect(server.grpc_url()).await.expect("connect");

    let r = client
        .execute(exec("CREATE TABLE m (id BIGINT PRIMARY KEY, name TEXT, price NUMERIC(8,2), day DATE)", vec![], 0))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(r.command, "CREATE TABLE");
    let insert = "INSERT INTO m VALUES ($1, $2, $3, $4)";
    for i in 1..=2500i64 {
        let params = vec![
            v(Kind::IntValue(i)),
            v(Kind::TextValue(format!("n{i}"))),
            v(Kind::NumericValue("1.50".into())),
            v(Kind::DateValue(19_000)),
        ];
        client.execute(exec(insert, params, 0)).await.expect("insert");
    }
    let r = client
        .execute(exec("SELECT id, name, price, day FROM m WHERE id = $1", vec![v(Kind::IntValue(7))], 0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.columns.iter().map(|c| c.r#type.as_str()).collect::<Vec<_>>(),
        ["bigint", "text", "numeric(8,2)", "date"]
    );
    assert_eq!(
        r.rows[0].values,
        vec![
            v(Kind::IntValue(7)),
            v(Kind::TextValue("n7".into())),
            v(Kind::NumericValue("1.50".into())),
            v(Kind::DateValue(19_000))
        ]
    );

    // Streaming: a header, then batches.
    let mut stream = client
        .query(pb::QueryRequest { sql: "SELECT id FROM m ORDER BY id".into(), params: vec![], transaction_id: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut header = None;
    let mut rows = 0;
    let mut batches = 0;
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.part {
            Some(pb::query_response::Part::Header(h)) => header = Some(h),
            Some(pb::query_response::Part::Rows(b)) => {
                rows += b.rows.len();
                batches += 1;
            }
            None => panic!("empty message"),
        }
    }
    assert_eq!(header.unwrap().columns[0].name, "id");
    assert_eq!((rows, batches), (2500, 3));

    // Errors carry the SQLSTATE.
    let err = client.execute(exec("SELECT * FROM nope", vec![], 0)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.metadata().get("sqlstate").unwrap(), "42P01");
    let err = client
        .execute(exec(
            insert,
            vec![
                v(Kind::IntValue(1)),
                v(Kind::TextValue("x".into())),
                pb::Value { kind: None },
                pb::Value { kind: None },
            ],
            0,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(err.message().starts_with("23505: duplicate key"), "{}", err.message());

    // A transaction across calls: rolled back, then committed.
    let t = client
        .begin_transaction(pb::BeginTransactionRequest { isolation: String::new() })
        .await
        .unwrap()
        .into_inner()
        .transaction_id;
    client.execute(exec("DELETE FROM m WHERE id <= 100", vec![], t)).await.unwrap();
    let inside = client.execute(exec("SELECT count(*) FROM m", vec![], t)).await.unwrap().into_inner();
    assert_eq!(inside.rows[0].values[0], v(Kind::IntValue(2400)));
    let outside = client.execute(exec("SELECT count(*) FROM m", vec![], 0)).await.unwrap().into_inner();
    assert_eq!(outside.rows[0].values[0], v(Kind::IntValue(2500)));
    client.rollback(pb::TransactionRequest { transaction_id: t }).await.unwrap();
    let err = client.execute(exec("SELECT 1", vec![], t)).await.unwrap_err();
    assert!(err.message().contains("no open transaction"), "{}", err.message());
    let t = client
        .begin_transaction(pb::BeginTransactionRequest { isolation: "serializable".into() })
        .await
        .unwrap()
        .into_inner()
        .transaction_id;
    client.execute(exec("UPDATE m SET name = 'z' WHERE id = 1", vec![], t)).await.unwrap();
    assert_eq!(
        client.commit(pb::TransactionRequest { transaction_id: t }).await.unwrap().into_inner().command,
        "COMMIT"
    );
    let r = client.execute(exec("SELECT name FROM m WHERE id = 1", vec![], 0)).await.unwrap().into_inner();
    assert_eq!(r.rows[0].values[0], v(Kind::TextValue("z".into())));
    let err = client.begin_transaction(pb::BeginTransactionRequest { isolation: "chaos".into() }).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Vectors are typed values both ways.
    client.execute(exec("CREATE TABLE vecs (id BIGINT PRIMARY KEY, e VECTOR(3))", vec![], 0)).await.unwrap();
    let e = v(Kind::VectorValue(pb::Vector { values: vec![1.0, 0.5, -2.0] }));
    client.execute(exec("INSERT INTO vecs VALUES (1, $1)", vec![e.clone()], 0)).await.unwrap();
    let r = client.execute(exec("SELECT e, e <-> $1 FROM vecs", vec![e.clone()], 0)).await.unwrap().into_inner();
    assert_eq!(r.rows[0].values, vec![e, v(Kind::FloatValue(0.0))]);

    // Health.
    let channel = tonic::transport::Channel::from_shared(server.grpc_url()).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest { service: "alopex.v1.Alopex".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(h.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    // Reflection lists the services.
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        reflection.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("no service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"alopex.v1.Alopex".to_string()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");
}
