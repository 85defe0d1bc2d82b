"""`local serve` under malformed requests, sent as raw bytes on a socket (no SDK to tidy them):
bad Content-Length, bodies that are no JSON or nest too deep, a missing or unknown X-Amz-Target,
wrong member types, missing or unknown query actions, undecodable query strings, huge and too
many headers, a garbage request line, bad chunks, what moto itself cannot parse. Every one is
answered 4xx with an AWS-shaped error body and no traceback, and the server stays up; well-formed
requests of every protocol still pass (server_guard.py)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from petclinic_local.cloud import LocalCloud
from petclinic_local.server import LocalEndpoint

pytestmark = [pytest.mark.xdist_group("served-malformed")]  # one served cloud for the module

SFN = "AWSStepFunctions."
MACHINE = "arn:aws:states:us-west-2:123456789012:stateMachine:petclinic-ops-dev-deploy"


def auth(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/{service}/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )


def raw(
    method: str = "POST", path: str = "/", headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    fields = {"Host": "127.0.0.1", **(headers or {})}
    if not any(key.lower() in {"content-length", "transfer-encoding"} for key in fields):
        fields["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return (head + "Connection: close\r\n\r\n").encode("latin-1") + body


def json_call(service: str, target: str, body: str | bytes, **headers: str) -> bytes:
    fields = {
        "Authorization": auth(service),
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.0",
    }
    return raw(headers={**fields, **headers}, body=body if isinstance(body, bytes) else body.encode())


def query_call(service: str, body: str | bytes) -> bytes:
    fields = {"Authorization": auth(service), "Content-Type": "application/x-www-form-urlencoded"}
    return raw(headers=fields, body=body if isinstance(body, bytes) else body.encode())


MALFORMED: dict[str, bytes] = {
    # framing
    "content-length abc": json_call("states", SFN + "ListStateMachines", "{}", **{"Content-Length": "abc"}),
    "content-length -5": json_call("states", SFN + "ListStateMachines", "{}", **{"Content-Length": "-5"}),
    "content-length 1e3": json_call("states", SFN + "ListStateMachines", "{}", **{"Content-Length": "1e3"}),
    "body shorter than content-length": json_call(
        "states", SFN + "ListStateMachines", "{}", **{"Content-Length": "2", "content-length": "9"}
    ),
    "bad chunk size": raw(
        headers={
            "Authorization": auth("states"),
            "X-Amz-Target": SFN + "ListStateMachines",
            "Transfer-Encoding": "chunked",
        },
        body=b"zz\r\n{}\r\n0\r\n\r\n",
    ),
    "huge header": raw("GET", headers={"X-Big": "a" * 100_000}),
    "200 headers": raw("GET", headers={f"X-H{i}": "v" for i in range(200)}),
    "garbage request line": b"\x00\x01\x02 garbage\r\n\r\n",
    "unknown method": raw("FOO"),
    "authorization without a credential scope": raw(
        headers={"Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Target": SFN + "ListStateMachines"},
        body=b"{}",
    ),
    # the JSON protocols
    "json: not json": json_call("states", SFN + "ListStateMachines", "{not json"),
    "json: an array": json_call("states", SFN + "ListStateMachines", "[1, 2]"),
    "json: a string": json_call("states", SFN + "ListStateMachines", '"x"'),
    "json: NaN": json_call("states", SFN + "ListStateMachines", '{"maxResults": NaN}'),
    "json: 5,000-digit integer": json_call(
        "states", SFN + "ListStateMachines", '{"maxResults": ' + "9" * 5000 + "}"
    ),
    "json: nested 100,000 deep": json_call(
        "states", SFN + "ListStateMachines", "[" * 100_000 + "]" * 100_000
    ),
    "json: nested 200 deep in a member": json_call(
        "states", SFN + "ListStateMachines", '{"x": ' + "[" * 200 + "]" * 200 + "}"
    ),
    "json: not utf-8": json_call("states", SFN + "ListStateMachines", b'{"nextToken": "\xff\xfe"}'),
    "json: no x-amz-target": raw(
        headers={"Authorization": auth("states"), "Content-Type": "application/x-amz-json-1.0"}, body=b"{}"
    ),
    "json: unknown operation": json_call("states", SFN + "NoSuchAction", "{}"),
    "json: target without operation": json_call("states", "AWSStepFunctions", "{}"),
    "json: another service's prefix": json_call("states", "NoSuchService_2020.ListThings", "{}"),
    "json: missing required member": json_call("states", SFN + "StartExecution", "{}"),
    "json: number for a string": json_call("states", SFN + "StartExecution", '{"stateMachineArn": 5}'),
    "json: object for a string": json_call(
        "states", SFN + "StartExecution", json.dumps({"stateMachineArn": MACHINE, "input": {"a": 1}})
    ),
    "json: string for an integer": json_call("states", SFN + "ListStateMachines", '{"maxResults": "ten"}'),
    "json: integer under its minimum": json_call(
        "states", SFN + "ListExecutions", json.dumps({"stateMachineArn": MACHINE, "maxResults": -1})
    ),
    "json: null required member": json_call("ssm", "AmazonSSM.GetParameter", '{"Name": null}'),
    "dynamodb: no x-amz-target": raw(
        headers={"Authorization": auth("dynamodb"), "Content-Type": "application/x-amz-json-1.0"}, body=b"{}"
    ),
    "dynamodb: target without version": json_call("dynamodb", "DynamoDB.GetItem", "{}"),
    "dynamodb: missing table and key": json_call("dynamodb", "DynamoDB_20120810.GetItem", "{}"),
    "dynamodb: key is a string": json_call(
        "dynamodb", "DynamoDB_20120810.GetItem", '{"TableName": "x", "Key": "k"}'
    ),
    "ecs: services is a string": json_call(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        '{"cluster": "petclinic-dev", "services": "x"}',
    ),
    "ecs: update without service": json_call("ecs", "AmazonEC2ContainerServiceV20141113.UpdateService", "{}"),
    "secretsmanager: object secret id": json_call(
        "secretsmanager", "secretsmanager.GetSecretValue", '{"SecretId": {}}'
    ),
    "events: entries is a string": json_call("events", "AWSEvents.PutEvents", '{"Entries": "x"}'),
    "events: an entry is a number": json_call("events", "AWSEvents.PutEvents", '{"Entries": [5]}'),
    "ecr: put image without anything": json_call(
        "ecr", "AmazonEC2ContainerRegistry_V20150921.PutImage", "{}"
    ),
    "logs: events is a string": json_call(
        "logs", "Logs_20140328.PutLogEvents", '{"logGroupName": "x", "logStreamName": "y", "logEvents": "z"}'
    ),
    # the query protocol
    "query: no action": query_call("cloudformation", "Version=2010-05-15"),
    "query: unknown action": query_call("cloudformation", "Action=NoSuchThing&Version=2010-05-15"),
    "query: not utf-8": query_call(
        "cloudformation", b"Action=DescribeStacks&StackName=\xff\xfe&Version=2010-05-15"
    ),
    "query: percent-encoded non-utf-8": query_call(
        "cloudformation", "Action=DescribeStacks&StackName=%ff%fe"
    ),
    "query: not utf-8 in the url": raw(
        "GET", "/?Action=DescribeStacks&StackName=%C3%28", headers={"Authorization": auth("cloudformation")}
    ),
    "query: template that is no template": query_call(
        "cloudformation", "Action=CreateStack&StackName=x&TemplateBody=%7Bnot&Version=2010-05-15"
    ),
    "query: missing required parameter": query_call("sns", "Action=Publish&Version=2010-03-31"),
    "query: sts without role": query_call("sts", "Action=AssumeRole&Version=2011-06-15"),
    "query: double that is no number": query_call(
        "rds",
        "Action=ModifyDBCluster&DBClusterIdentifier=x&ServerlessV2ScalingConfiguration.MinCapacity=abc"
        "&Version=2014-10-31",
    ),
    "query: metric value that is no number": query_call(
        "monitoring",
        "Action=PutMetricData&Namespace=x&MetricData.member.1.MetricName=m"
        "&MetricData.member.1.Value=abc&Version=2010-08-01",
    ),
    "query: boolean that is none": query_call(
        "cloudformation", "Action=UpdateTerminationProtection&StackName=x&EnableTerminationProtection=maybe"
    ),
    # the REST protocols and moto's own API
    "lambda: payload not utf-8": raw(
        path="/2015-03-31/functions/nosuch/invocations",
        headers={"Authorization": auth("lambda")},
        body=b"\xff",
    ),
    "lambda: unknown path": raw("GET", "/2015-03-31/nothing/here", headers={"Authorization": auth("lambda")}),
    "s3: configuration that is no xml": raw(
        "PUT", "/bucket-x", headers={"Authorization": auth("s3")}, body=b"<CreateBucketConfiguration><Loc"
    ),
    "moto-api: config that is no json": raw(
        path="/moto-api/config", headers={"Content-Type": "application/json"}, body=b"{bad"
    ),
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with LocalEndpoint(LocalCloud(stack_name="petclinic-ops-dev"), port=0) as served:
        yield served


def send(port: int, data: bytes) -> tuple[int | None, bytes]:
    """The status (None for an HTTP/0.9-style answer without a status line) and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered early (431 to a huge header) and closed: read it
            pass
        chunks = []
        with contextlib.suppress(ConnectionResetError):  # closed after its answer: keep what came
            while chunk := connection.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    if not match:
        return None, answer
    return int(match.group(1)), answer.split(b"\r\n\r\n", 1)[1]


def aws_error(body: bytes) -> tuple[str, str]:
    """(code, message) of an AWS error body in any protocol's shape."""
    text = body.decode()
    if text.lstrip().startswith("{"):
        document: dict[str, Any] = json.loads(text)
        return document["__type"], document["message"]
    code = re.search(r"<Code>([^<]+)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    assert code, text
    assert message, text
    return code.group(1), message.group(1)


def list_state_machines(port: int) -> int | None:
    return send(port, json_call("states", SFN + "ListStateMachines", "{}"))[0]


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_request_is_a_4xx_with_an_aws_error_and_the_server_stays_up(
    endpoint: LocalEndpoint, name: str
) -> None:
    status, body = send(endpoint.port, MALFORMED[name])
    assert b"Traceback" not in body
    assert b"<html" not in body.lower()
    assert status is None or 400 <= status < 500, (status, body[:300])
    code, message = aws_error(body)
    assert code
    assert message
    assert list_state_machines(endpoint.port) == 200


def test_the_malformed_requests_are_answered_with_their_cause(endpoint: LocalEndpoint) -> None:
    expected = {
        "content-length abc": ("SerializationException", "Content-Length 'abc'"),
        "json: not json": ("SerializationException", "not JSON"),
        "json: nested 100,000 deep": ("SerializationException", "nests deeper"),
        "json: no x-amz-target": ("UnknownOperationException", "needs X-Amz-Target"),
        "json: unknown operation": ("UnknownOperationException", "NoSuchAction"),
        "json: missing required member": ("ValidationException", "stateMachineArn"),
        "json: number for a string": ("SerializationException", "stateMachineArn"),
        "query: no action": ("MissingAction", "no Action"),
        "query: unknown action": ("InvalidAction", "NoSuchThing"),
        "query: not utf-8": ("MalformedQueryString", "UTF-8"),
        "query: missing required parameter": ("MissingParameter", "Message"),
        "query: double that is no number": ("InvalidParameterValue", "MinCapacity"),
        "query: template that is no template": ("InvalidRequest", "could not process"),
    }
    for name, (code, fragment) in expected.items():
        status, body = send(endpoint.port, MALFORMED[name])
        assert status == 400, (name, body)
        assert aws_error(body)[0] == code, (name, body)
        assert fragment in aws_error(body)[1], (name, body)


def test_well_formed_requests_of_every_protocol_still_pass(endpoint: LocalEndpoint) -> None:
    def client(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint.url,
            region_name="us-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    assert client("stepfunctions").list_state_machines()["stateMachines"]  # awsJson 1.0
    assert client("ecs").describe_services(cluster="petclinic-dev", services=["vets-service"])["services"]
    assert client("cloudformation").describe_stacks(StackName="petclinic-ops-dev")["Stacks"]  # query
    assert client("s3").list_buckets()["Buckets"]  # REST XML
    assert "Functions" in client("lambda").list_functions()  # REST JSON
    assert "MetricAlarms" in client("cloudwatch").describe_alarms()  # Smithy RPC v2 CBOR
    queue = client("sqs").create_queue(QueueName="malformed-check")["QueueUrl"]  # JSON 1.0 (SQS)
    client("sqs").send_message(QueueUrl=queue, MessageBody="{}")
    secret = client("secretsmanager").create_secret(Name="malformed-check", SecretString='{"x": null}')
    assert secret["Name"] == "malformed-check"
    table = client("dynamodb").list_tables()["TableNames"][0]
    client("dynamodb").scan(TableName=table, Limit=1)
