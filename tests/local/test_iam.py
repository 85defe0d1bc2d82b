"""moto_compat.iam: calls run as their role, and IAM decides as AWS would.

The evaluator (iam_policy), what a call asks for (iam_requests), a Task state's session, a
handler's session (acting_as), EventBridge targets' roles and Secrets Manager's invocation of a
rotation function through its resource policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto_gaps import (
    ADMINISTRATOR,
    PASS,
    FakeHooks,
    client,
    create_function,
    create_role,
    create_state_machine,
    execute,
    local_aws,
    task,
    wait_for_executions,
)

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.moto_compat import iam
from petclinic_local.moto_compat.iam_policy import Policies, Request, conditions_hold, refusal, statements
from petclinic_local.moto_compat.iam_requests import UnknownAction, Where, requests_for

WHERE = Where(REGION, ACCOUNT)
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/allowed"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _tables() -> None:
    for name in ("allowed", "other"):
        client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def _as(role_arn: str, session: str = "fn") -> iam.Principal:
    return iam.Principal(role_arn, session)


# --------------------------------------------------------------------------- CloudFormation's roles

ROLE_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "from-cfn",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "Policies": [
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                                {
                                    "Fn::If": [
                                        "Never",
                                        {"Effect": "Allow", "Action": "*", "Resource": "*"},
                                        {"Ref": "AWS::NoValue"},
                                    ]
                                },
                            ],
                        },
                    }
                ],
            },
        }
    },
}


def _role_from_cloudformation() -> Any:
    client("cloudformation").create_stack(StackName="roles", TemplateBody=json.dumps(ROLE_TEMPLATE))
    return client("iam").get_role_policy(RoleName="from-cfn", PolicyName="p")["PolicyDocument"]


def test_needed_iam_cloudformation_policy_documents() -> None:
    """If this fails, moto fixed iam-cloudformation-policy-documents: delete the workaround
    (GetRolePolicy of a CloudFormation role's policy answers JSON)."""
    with local_aws(skip={"iam-cloudformation-policy-documents"}):
        document = _role_from_cloudformation()
    assert isinstance(document, str)
    assert document.startswith("{'Version'")  # a Python repr, which boto3 could not decode


def test_closed_iam_cloudformation_policy_documents() -> None:
    with local_aws():
        document = _role_from_cloudformation()
    assert document == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }


# --------------------------------------------------------------------------- the Task states' role

PUT_OTHER = task("arn:aws:states:::dynamodb:putItem", {"TableName": "other", "Item": {"pk": {"S": "k"}}})


def test_needed_iam_states_role() -> None:
    """If this fails, moto fixed iam-states-role: delete the workaround (Task states call AWS as
    the state machine's role; here a role that may not write the table writes it anyway)."""
    with local_aws(skip={"iam-states-role"}):
        _tables()
        role = create_role("writer", _policy(_allow("dynamodb:PutItem", TABLE)))
        described = execute(PUT_OTHER, role_arn=role)
    assert described["status"] == "SUCCEEDED"


def test_closed_iam_states_role() -> None:
    with local_aws():
        _tables()
        role = create_role("writer", _policy(_allow("dynamodb:PutItem", TABLE)))
        refused = execute(PUT_OTHER, role_arn=role)
        allowed = execute(
            task("arn:aws:states:::dynamodb:putItem", {"TableName": "allowed", "Item": {"pk": {"S": "k"}}}),
            role_arn=role,
        )
        items = client("dynamodb").scan(TableName="other")["Items"]
    assert refused["status"] == "FAILED"
    assert refused["error"] == "DynamoDB.AccessDeniedException"
    assert (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/writer/run is not authorized to perform: "
        in refused["cause"]
    )
    assert (
        f"dynamodb:PutItem on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other because no "
        "identity-based policy allows the dynamodb:PutItem action"
    ) in refused["cause"]
    assert items == []
    assert allowed["status"] == "SUCCEEDED"


def test_closed_iam_states_role_sdk_integration_and_lambda() -> None:
    """aws-sdk:* tasks and lambda:invoke run as the role too (a host function, refused and allowed)."""
    hooks = FakeHooks(functions={"fn": lambda payload: ({"ok": True}, False, "")})
    with local_aws(hooks=hooks):
        create_function("fn")
        function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        nothing = create_role("nothing", _policy(_allow("sns:Publish", "*")))
        invoker = create_role(
            "invoker", _policy(_allow(["lambda:InvokeFunction"], [function, f"{function}:*"]))
        )
        invoke = task("arn:aws:states:::lambda:invoke", {"FunctionName": function, "Payload": {}})
        listing = task("arn:aws:states:::aws-sdk:ecs:listClusters", {})
        refused_invoke = execute(invoke, role_arn=nothing)
        refused_sdk = execute(listing, role_arn=nothing)
        allowed_invoke = execute(invoke, role_arn=invoker)
    assert refused_invoke["status"] == "FAILED"
    assert "lambda:InvokeFunction on resource: " + function in refused_invoke["cause"]
    assert refused_sdk["error"] == "Ecs.AccessDeniedException"
    assert allowed_invoke["status"] == "SUCCEEDED"
    assert [name for name, _ in hooks.invocations] == ["fn"]


# --------------------------------------------------------------------------- a handler's session


def test_needed_iam_enforcement() -> None:
    """If this fails, moto fixed iam-enforcement: revisit the workaround (moto authorises an
    assumed role's calls without INITIAL_NO_AUTH_ACTION_COUNT; here a role without permissions
    writes a table)."""
    with local_aws(skip={"iam-enforcement"}):
        _tables()
        role = create_role("nothing", _policy(_allow("sns:Publish", "*")))
        keys = client("sts").assume_role(RoleArn=role, RoleSessionName="session")["Credentials"]
        session = boto3.Session(
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
            region_name=REGION,
        )
        session.client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "k"}})
        with iam.acting_as(_as(role)):
            client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "j"}})
        assert len(client("dynamodb").scan(TableName="other")["Items"]) == 2


def test_closed_iam_enforcement_refuses_as_aws() -> None:
    with local_aws():
        _tables()
        role = create_role("writer", _policy(_allow("dynamodb:PutItem", TABLE)))
        with iam.acting_as(_as(role, "petclinic-ops-dev-genai")):
            client("dynamodb").put_item(TableName="allowed", Item={"pk": {"S": "k"}})
            with pytest.raises(ClientError) as refused:
                client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "k"}})
        error = refused.value.response["Error"]
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert client("dynamodb").scan(TableName="other")["Items"] == []
        client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "host"}})  # no principal: the host
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/writer/petclinic-ops-dev-genai is not authorized to "
        f"perform: dynamodb:PutItem on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other because "
        "no identity-based policy allows the dynamodb:PutItem action"
    )
    assert iam.REFUSALS[-1].action == "dynamodb:PutItem"


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        (
            "sns",
            lambda c: c.publish(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", Message="m"),
            "AuthorizationError",
        ),
        ("cloudformation", lambda c: c.describe_stacks(StackName="s"), "AccessDenied"),
        ("rds", lambda c: c.describe_db_clusters(DBClusterIdentifier="c"), "AccessDenied"),
        ("ecs", lambda c: c.describe_services(cluster="c", services=["s"]), "AccessDeniedException"),
        ("stepfunctions", lambda c: c.send_task_success(taskToken="t", output="{}"), "AccessDeniedException"),
    ],
)
def test_closed_iam_enforcement_error_codes(service: str, call: Any, code: str) -> None:
    """Each protocol answers with its service's code (query: AccessDenied; SNS: AuthorizationError)."""
    with local_aws():
        role = create_role("nothing", _policy(_allow("s3:GetObject", "arn:aws:s3:::b/*")))
        with iam.acting_as(_as(role)), pytest.raises(ClientError) as refused:
            call(client(service))
    assert refused.value.response["Error"]["Code"] == code


def test_closed_iam_enforcement_boundary_and_explicit_deny() -> None:
    with local_aws():
        _tables()
        boundary = client("iam").create_policy(
            PolicyName="boundary", PolicyDocument=json.dumps(_policy(_allow("dynamodb:GetItem", "*")))
        )["Policy"]["Arn"]
        bounded = create_role("bounded", ADMINISTRATOR, boundary=boundary)
        denied = create_role(
            "denied",
            _policy(_allow("*", "*"), {"Effect": "Deny", "Action": "dynamodb:Put*", "Resource": "*"}),
        )
        with iam.acting_as(_as(bounded)):
            client("dynamodb").get_item(TableName="other", Key={"pk": {"S": "k"}})
            with pytest.raises(
                ClientError, match="because no permissions boundary allows the dynamodb:PutItem"
            ):
                client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "k"}})
        with iam.acting_as(_as(denied)), pytest.raises(ClientError, match="with an explicit deny"):
            client("dynamodb").put_item(TableName="other", Item={"pk": {"S": "k"}})


def test_closed_iam_enforcement_pass_role_and_its_service() -> None:
    """RegisterTaskDefinition with a task role asks for iam:PassRole, with iam:PassedToService."""
    task_role = f"arn:aws:iam::{ACCOUNT}:role/task"
    definition = {
        "family": "f",
        "containerDefinitions": [{"name": "c", "image": "i", "memory": 128}],
        "taskRoleArn": task_role,
    }
    register = _allow("ecs:RegisterTaskDefinition", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/f:*")
    passes = _allow(
        "iam:PassRole",
        task_role,
        Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    )
    with local_aws():
        without = create_role("without", _policy(register))
        with_pass = create_role("with-pass", _policy(register, passes))
        with (
            iam.acting_as(_as(without)),
            pytest.raises(ClientError, match=f"iam:PassRole on resource: {task_role}"),
        ):
            client("ecs").register_task_definition(**definition)
        with iam.acting_as(_as(with_pass)):
            client("ecs").register_task_definition(**definition)


def test_closed_iam_enforcement_unknown_action_needs_every_resource() -> None:
    """An action iam_requests cannot resolve is allowed only on Resource "*", and any Deny of it refuses."""
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"
    with local_aws():
        scoped = create_role("scoped", _policy(_allow("ecs:*", cluster)))
        denied = create_role(
            "denied",
            _policy(_allow("*", "*"), {"Effect": "Deny", "Action": "ecs:Create*", "Resource": cluster}),
        )
        admin = create_role("admin", ADMINISTRATOR)
        with iam.acting_as(_as(scoped)), pytest.raises(ClientError, match="cannot tell this call's resource"):
            client("ecs").create_cluster(clusterName="c")
        with iam.acting_as(_as(denied)), pytest.raises(ClientError, match="explicit deny"):
            client("ecs").create_cluster(clusterName="c")
        with iam.acting_as(_as(admin)):
            client("ecs").create_cluster(clusterName="c")


def test_closed_iam_enforcement_nested_work_is_the_services() -> None:
    """A handler invoked by a call runs as its own role, not as the caller's."""
    seen: list[iam.Principal | None] = []

    def record(payload: Any) -> tuple[Any, bool, str]:
        seen.append(iam.current())
        return None, False, ""

    hooks = FakeHooks(functions={"fn": record})
    with local_aws(hooks=hooks):
        create_function("fn")
        role = create_role("invoker", _policy(_allow("lambda:InvokeFunction", "*")))
        with iam.acting_as(_as(role)):
            client("lambda").invoke(FunctionName="fn", Payload=b"{}")
    assert seen == [None]


# --------------------------------------------------------------------------- EventBridge, Secrets Manager


def test_closed_iam_enforcement_eventbridge_target_role() -> None:
    """A target whose role may not start the execution: no execution, the event in the DLQ."""
    with local_aws():
        arn = create_state_machine(PASS)
        queue = client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        other = create_role("other-starter", _policy(_allow("states:StartExecution", arn + "-other")))
        client("events").put_rule(Name="r", EventPattern=json.dumps({"source": ["petclinic.test"]}))
        client("events").put_targets(
            Rule="r",
            Targets=[
                {
                    "Id": "sfn",
                    "Arn": arn,
                    "RoleArn": other,
                    "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
                }
            ],
        )
        client("events").put_events(Entries=[{"Source": "petclinic.test", "DetailType": "T", "Detail": "{}"}])
        executions = client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
        (message,) = client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert executions == []
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert "states:StartExecution" in message["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]


def test_closed_iam_enforcement_eventbridge_target_allowed() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        starter = create_role("starter", _policy(_allow("states:StartExecution", arn)))
        client("events").put_rule(Name="r", EventPattern=json.dumps({"source": ["petclinic.test"]}))
        client("events").put_targets(Rule="r", Targets=[{"Id": "sfn", "Arn": arn, "RoleArn": starter}])
        client("events").put_events(Entries=[{"Source": "petclinic.test", "DetailType": "T", "Detail": "{}"}])
        assert len(wait_for_executions(arn)) == 1


def test_closed_iam_enforcement_rotation_needs_the_function_policy() -> None:
    hooks = FakeHooks(functions={"rotate": lambda payload: (None, False, "")})
    with local_aws(hooks=hooks):
        create_function("rotate")
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        secrets = client("secretsmanager")
        grants = r"grants access to the principal secretsmanager\.amazonaws\.com"
        with pytest.raises(ClientError, match=grants):
            secrets.rotate_secret(SecretId="db", RotationLambdaARN="rotate")
        client("lambda").add_permission(  # another secret's rotations only
            FunctionName="rotate",
            StatementId="other-secrets",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            SourceAccount=ACCOUNT,
            SourceArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other-*",
        )
        with pytest.raises(ClientError, match=grants):
            secrets.rotate_secret(SecretId="db", RotationLambdaARN="rotate")
        client("lambda").add_permission(
            FunctionName="rotate",
            StatementId="secrets-manager",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            SourceAccount=ACCOUNT,
            SourceArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-*",
        )
        secrets.rotate_secret(SecretId="db", RotationLambdaARN="rotate")


# --------------------------------------------------------------------------- the evaluator


def test_closed_iam_enforcement_conditions() -> None:
    context = {"iam:PassedToService": "ecs-tasks.amazonaws.com", "aws:TagKeys": ["a", "b"]}
    assert conditions_hold({"StringEquals": {"IAM:PassedToService": "ecs-tasks.amazonaws.com"}}, context)
    assert not conditions_hold({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}, context)
    assert conditions_hold({"StringLike": {"iam:PassedToService": "ecs-*"}}, context)
    assert not conditions_hold({"StringEquals": {"ecs:cluster": "x"}}, context)  # missing key
    assert conditions_hold({"StringNotEquals": {"ecs:cluster": "x"}}, context)  # missing key, negated
    assert conditions_hold({"StringEqualsIfExists": {"ecs:cluster": "x"}}, context)
    assert conditions_hold({"Null": {"ecs:cluster": "true", "aws:TagKeys": "false"}}, context)
    assert conditions_hold({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}, context)
    assert not conditions_hold({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, context)
    assert conditions_hold({"ForAnyValue:StringEquals": {"aws:TagKeys": ["b"]}}, context)
    assert not conditions_hold({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, context)
    assert conditions_hold({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, context, deny=True)


def test_closed_iam_enforcement_conditional_statements_left_out() -> None:
    """``!If [cond, statement, !Ref AWS::NoValue]``: CloudFormation drops it, moto keeps None."""
    document = {"Statement": [None, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    assert statements(document) == ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},)


def test_closed_iam_enforcement_not_action_and_wildcards() -> None:
    policies = Policies(
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "dynamodb:Get?tem", "Resource": "*"},
        )
    )
    assert refusal(policies, Request("s3:GetObject", "arn:aws:s3:::b/k/deeper", {})) is None
    assert refusal(policies, Request("iam:PassRole", "arn:aws:s3:::b/k", {})) is not None
    assert refusal(policies, Request("DYNAMODB:getitem", TABLE, {})) is None
    assert refusal(policies, Request("dynamodb:GetItems", TABLE, {})) is not None


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("lambda", "Invoke", {"FunctionName": "fn"}, ("lambda:InvokeFunction", "function:fn")),
        ("lambda", "Invoke", {"FunctionName": "fn:live"}, ("lambda:InvokeFunction", "function:fn:live")),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "fn", "Qualifier": "3"},
            ("lambda:InvokeFunction", "function:fn:3"),
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": f"{ACCOUNT}:function:fn"},
            ("lambda:InvokeFunction", "function:fn"),
        ),
        (
            "lambda",
            "UpdateAlias",
            {"FunctionName": "fn", "Name": "live"},
            ("lambda:UpdateAlias", "function:fn:live"),
        ),
        (
            "stepfunctions",
            "StartExecution",
            {"stateMachineArn": "arn:aws:states:x"},
            ("states:StartExecution", None),
        ),
        (
            "ssm",
            "GetParametersByPath",
            {"Path": "/petclinic/dev"},
            ("ssm:GetParametersByPath", "parameter/petclinic/dev"),
        ),
        (
            "logs",
            "FilterLogEvents",
            {"logGroupName": "/aws/lambda/f"},
            ("logs:FilterLogEvents", "log-group:/aws/lambda/f:*"),
        ),
        ("ecs", "ListServices", {"cluster": "c"}, ("ecs:ListServices", None)),
    ],
)
def test_closed_iam_enforcement_requests(service: str, operation: str, params: Any, expected: Any) -> None:
    (request,) = requests_for(service, operation, params, WHERE)
    action, suffix = expected
    assert request.action == action
    if suffix is not None:
        assert request.resource.endswith(":" + suffix)


def test_closed_iam_enforcement_requests_models_and_unknown_actions() -> None:
    (foundation,) = requests_for("bedrock-runtime", "Converse", {"modelId": "anthropic.claude-v2"}, WHERE)
    (profile,) = requests_for("bedrock-runtime", "Converse", {"modelId": "us.anthropic.claude-v2"}, WHERE)
    assert foundation.resource == f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-v2"
    assert profile.resource == f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-v2"
    (metrics,) = requests_for("cloudwatch", "PutMetricData", {"Namespace": "N"}, WHERE)
    assert metrics.context["cloudwatch:namespace"] == "N"
    assert requests_for("sts", "GetCallerIdentity", {}, WHERE) == []
    with pytest.raises(UnknownAction, match="ecs:CreateCluster"):
        requests_for("ecs", "CreateCluster", {}, WHERE)


# --------------------------------------------------------------------------- mutations, recording


def _stack_role(logical_id: str, statements: list[dict[str, Any]], suffix: str = "N0IA8ERCWEG7") -> str:
    """A role named as CloudFormation names a stack's, its statements in the policy "inline"."""
    return create_role(f"petclinic-ops-local-{logical_id}-{suffix}", _policy(*statements))


STACK_STATEMENTS = [
    {"Sid": "LeaseAndLedger", **_allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE)},
    _allow("sns:Publish", "*"),  # no Sid: its index, 1
]


def _outcomes(role: str) -> list[str]:
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: client("dynamodb").get_item(TableName="allowed", Key={"pk": {"S": "k"}}),
        "put": lambda: client("dynamodb").put_item(TableName="allowed", Item={"pk": {"S": "k"}}),
        "publish": lambda: client("sns").publish(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", Message="m"),
    }
    refused: list[str] = []
    with iam.acting_as(_as(role)):
        for name, call in calls.items():
            try:
                call()
            except ClientError as error:
                if error.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
                    refused.append(name)
    return refused


def test_closed_iam_enforcement_without_a_statement_or_an_action(monkeypatch: pytest.MonkeyPatch) -> None:
    """PETCLINIC_IAM_WITHOUT: the named role's policies lack the statement (by Sid or index) or the
    action; another role's statements of the same names are untouched."""
    with local_aws():
        _tables()
        client("sns").create_topic(Name="t")
        mutated = _stack_role("ScaleStateMachineRole", STACK_STATEMENTS)
        other = _stack_role("ScaleEventsStateMachineRole", STACK_STATEMENTS)
        assert _outcomes(mutated) == []
        monkeypatch.setenv(iam.WITHOUT, "ScaleStateMachineRole/inline/LeaseAndLedger/dynamodb:putitem")
        assert _outcomes(mutated) == ["put"]
        monkeypatch.setenv(
            iam.WITHOUT, "ScaleStateMachineRole/inline/1; ScaleStateMachineRole/inline/LeaseAndLedger"
        )
        assert _outcomes(mutated) == ["get", "put", "publish"]
        assert _outcomes(other) == []
        monkeypatch.setenv(
            iam.WITHOUT,
            "ScaleStateMachineRole/inline/LeaseAndLedger/dynamodb:GetItem;ScaleStateMachineRole/inline/LeaseAndLedger/dynamodb:PutItem",
        )
        assert _outcomes(mutated) == ["get", "put"]


def test_closed_iam_enforcement_without_names_what_it_removes() -> None:
    assert iam.mutations({iam.WITHOUT: "R/P/S; R/P/0/sns:Publish"}) == (
        iam.Mutation("R", "P", "S"),
        iam.Mutation("R", "P", "0", "sns:Publish"),
    )
    assert str(iam.Mutation("R", "P", "0", "sns:Publish")) == "R/P/0/sns:Publish"
    with pytest.raises(ValueError, match="'R/P' is not <role>/<policy>/<Sid or index>"):
        iam.mutations({iam.WITHOUT: "R/P"})
    assert iam.logical_id("petclinic-ops-local-GenAiRole-N0IA8ERCWEG7") == "GenAiRole"
    assert iam.logical_id("writer") is None
    assert iam.logical_id("not-a-stacks") is None


def test_closed_iam_enforcement_records_the_statement_that_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """PETCLINIC_IAM_RECORD: each authorised request of a stack's role names the test, the role's
    logical id, the first Allow statement that allowed it and the action of it that matched; once
    a test."""
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv(iam.RECORD, str(record))
    with local_aws():
        _tables()
        client("sns").create_topic(Name="t")
        _outcomes(_stack_role("GenAiReleaseStateMachineRole", STACK_STATEMENTS))
        _outcomes(_stack_role("GenAiReleaseStateMachineRole", STACK_STATEMENTS, "ABC123DEF456"))
        _outcomes(create_role("not-a-stacks", ADMINISTRATOR))
    test = "tests/local/test_iam.py::test_closed_iam_enforcement_records_the_statement_that_allowed"
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    role = "GenAiReleaseStateMachineRole"
    assert lines == [
        {"test": test, "role": role, "statement": "inline/LeaseAndLedger", "action": "dynamodb:GetItem"},
        {"test": test, "role": role, "statement": "inline/LeaseAndLedger", "action": "dynamodb:PutItem"},
        {"test": test, "role": role, "statement": "inline/1", "action": "sns:Publish"},
    ]
