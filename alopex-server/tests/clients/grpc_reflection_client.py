"""A gRPC client that knows nothing about Alopex but what the server tells it.

Like `grpcurl`, it lists the services through server reflection, fetches the
file descriptors, builds the message classes at run time and calls the
methods by name: Execute, the server-streaming Query, a transaction, the
health service, and an error status carrying a SQLSTATE. Run by
`alopex-server/tests/api_clients.rs` with the server's gRPC port.
"""

import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "alopex.v1.Alopex"


def main(port: int) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=10)

    # Reflection: the services, then the descriptors of ours.
    reflection_db = ProtoReflectionDescriptorDatabase(channel)
    services = set(reflection_db.get_services())
    assert SERVICE in services, services
    assert "grpc.health.v1.Health" in services, services
    pool = descriptor_pool.DescriptorPool(reflection_db)
    service = pool.FindServiceByName(SERVICE)
    methods = {m.name: m for m in service.methods}
    assert {"Execute", "Query", "BeginTransaction", "Commit", "Rollback"} <= set(methods), methods

    def message(name):
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))

    def unary(method):
        m = methods[method]
        return channel.unary_unary(
            f"/{SERVICE}/{method}",
            request_serializer=lambda r: r.SerializeToString(),
            response_deserializer=message_factory.GetMessageClass(m.output_type).FromString,
        )

    Value = message("alopex.v1.Value")
    ExecuteRequest = message("alopex.v1.ExecuteRequest")
    QueryRequest = message("alopex.v1.QueryRequest")
    execute = unary("Execute")

    execute(ExecuteRequest(sql="CREATE TABLE docs (id INT PRIMARY KEY, title TEXT, emb VECTOR(3))"))
    for i in range(1, 6):
        r = execute(
            ExecuteRequest(
                sql="INSERT INTO docs VALUES ($1, $2, $3)",
                params=[
                    Value(int_value=i),
                    Value(text_value=f"doc {i}"),
                    Value(vector_value={"values": [float(i), 0.0, 1.0]}),
                ],
            )
        )
        assert r.rows_affected == 1 and r.command == "INSERT 0 1", r

    r = execute(ExecuteRequest(sql="SELECT id, title FROM docs WHERE id = $1", params=[Value(int_value=3)]))
    assert [c.name for c in r.columns] == ["id", "title"], r.columns
    assert r.rows[0].values[0].int_value == 3 and r.rows[0].values[1].text_value == "doc 3", r

    # Server streaming: the header first, then batches of rows.
    query = channel.unary_stream(
        f"/{SERVICE}/Query",
        request_serializer=lambda r: r.SerializeToString(),
        response_deserializer=message_factory.GetMessageClass(methods["Query"].output_type).FromString,
    )
    parts = list(query(QueryRequest(sql="SELECT id, emb FROM docs ORDER BY emb <-> '[2,0,1]' LIMIT 3")))
    assert parts[0].WhichOneof("part") == "header", parts[0]
    rows = [row for p in parts[1:] for row in p.rows.rows]
    assert [row.values[0].int_value for row in rows] == [2, 1, 3], rows
    assert list(rows[0].values[1].vector_value.values) == [2.0, 0.0, 1.0], rows[0]

    # A transaction through its id: a rolled-back insert leaves no row.
    begin = unary("BeginTransaction")
    rollback = unary("Rollback")
    commit = unary("Commit")
    tx = begin(message("alopex.v1.BeginTransactionRequest")(isolation="serializable")).transaction_id
    execute(ExecuteRequest(sql="INSERT INTO docs VALUES (99, 'gone', NULL)", transaction_id=tx))
    rollback(message("alopex.v1.TransactionRequest")(transaction_id=tx))
    tx = begin(message("alopex.v1.BeginTransactionRequest")()).transaction_id
    execute(ExecuteRequest(sql="DELETE FROM docs WHERE id = 5", transaction_id=tx))
    assert commit(message("alopex.v1.TransactionRequest")(transaction_id=tx)).command == "COMMIT"
    r = execute(ExecuteRequest(sql="SELECT count(*) FROM docs"))
    assert r.rows[0].values[0].int_value == 4, r

    # Errors: a gRPC status whose metadata carries the SQLSTATE.
    try:
        execute(ExecuteRequest(sql="SELECT * FROM missing"))
        raise AssertionError("querying a missing table succeeded")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
        metadata = dict(e.trailing_metadata() or ())
        assert metadata.get("sqlstate") == "42P01", metadata

    # The standard health service.
    health = health_pb2_grpc.HealthStub(channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=""))
    assert status.status == health_pb2.HealthCheckResponse.SERVING, status
    print("grpc reflection client: ok")


if __name__ == "__main__":
    main(int(sys.argv[1]))
