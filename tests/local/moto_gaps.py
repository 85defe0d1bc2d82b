"""The harness of the moto gap tests (tests/local/test_*.py): moto as LocalCloud configures it,
with every gap of ``petclinic_local.moto_compat`` installed but those a test skips, and a fake
``Hooks`` whose functions are plain callables. No LocalCloud is started.

For each ``Gap`` and each CloudFormation helper there are two kinds of test, in the test module
of the moto_compat module that holds the workaround (test_ecr.py for moto_compat/ecr.py...):

* ``test_needed_*``: moto 5.2.5 as it is (compat installed with that one gap skipped, or the
  helper not applied) still shows the problem the gap names. When one of these fails, moto
  fixed the gap: delete the workaround (and these tests).
* ``test_closed_*``: with the workaround, the behaviour is AWS's.

test_registry.py checks that every gap and helper has its ``test_needed_*`` where it belongs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

from petclinic_local import moto_compat
from petclinic_local.cloud import ACCOUNT, FAKE_CREDENTIALS, MOTO_CONFIG, REGION

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/local-tests"

ISO_MILLIS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

ISO_SECONDS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

EVENT_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

FunctionResult = tuple[Any, bool, str]


class FakeHooks:
    """What moto_compat needs from its host: functions are plain callables payload -> result."""

    def __init__(
        self, time_scale: float = 1.0, functions: dict[str, Callable[[Any], FunctionResult]] | None = None
    ) -> None:
        self.time_scale = time_scale
        self.enforce_iam = True
        self.functions = functions or {}
        self.invocations: list[tuple[str, Any]] = []
        self.deployments: list[tuple[Any, dict[str, Any], dict[str, Any] | None]] = []
        self.scaled: list[tuple[str, int]] = []
        self.pending: list[Callable[[], None]] = []
        self.stack_events: Any = None

    def has_function(self, function_name: str) -> bool:
        return function_name in self.functions

    def invoke_function(self, function_name: str, payload: Any) -> FunctionResult:
        self.invocations.append((function_name, payload))
        return self.functions[function_name](payload)

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        self.deployments.append((service, deployment, previous))

    def desired_count_changed(self, service: Any) -> None:
        self.scaled.append((service.name, service.desired_count))

    def background(self, work: Callable[[], None]) -> None:
        """Work AWS does after answering: kept until the test runs it (``run_background``)."""
        self.pending.append(work)

    def run_background(self) -> None:
        while self.pending:
            self.pending.pop(0)()

    def cloudformation_events(self) -> Any:
        """The CloudFormation simulator, when a test sets ``stack_events`` (else moto's own)."""
        return self.stack_events


@contextlib.contextmanager
def local_aws(
    *, skip: set[str] | frozenset[str] = frozenset(), hooks: FakeHooks | None = None
) -> Iterator[FakeHooks]:
    """moto as LocalCloud configures it, with every gap closed except ``skip``."""
    hooks = hooks or FakeHooks()
    with (
        mock.patch.dict(os.environ, FAKE_CREDENTIALS),
        mock_aws(config=MOTO_CONFIG),
        moto_compat.install(hooks, skip=skip),
    ):
        create_role(ROLE_ARN.rsplit("/", 1)[-1], ADMINISTRATOR)
        yield hooks


# The state machines of these tests run as ``ROLE_ARN``, which may do anything (the local cloud
# authorises every Task state's call against its role: tests/local/test_iam.py tests that).
ADMINISTRATOR: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def create_role(name: str, policy: dict[str, Any], *, boundary: str | None = None) -> str:
    """A role the Lambda and Step Functions services may assume, with ``policy`` inline."""
    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"]
                },
                "Action": "sts:AssumeRole",
            }
        ],
    }
    extra = {"PermissionsBoundary": boundary} if boundary else {}
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **extra)["Role"]["Arn"]
    )
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return arn


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def create_state_machine(definition: dict[str, Any], role_arn: str = ROLE_ARN) -> str:
    name = f"sm-{uuid.uuid4().hex[:12]}"
    created = client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role_arn
    )
    return str(created["stateMachineArn"])


def wait_for_executions(state_machine_arn: str, count: int = 1, timeout: float = 10.0) -> list[str]:
    """The ARNs of ``count`` executions, once none is RUNNING (ListExecutions only: it never
    serialises an output, so it works where DescribeExecution breaks)."""
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        listed = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
        if len(listed) >= count and all(e["status"] != "RUNNING" for e in listed):
            return [e["executionArn"] for e in listed]
        if time.monotonic() > deadline:
            raise TimeoutError(f"executions of {state_machine_arn}: {listed}")
        time.sleep(0.01)


def execute(
    definition: dict[str, Any], execution_input: Any = None, role_arn: str = ROLE_ARN
) -> dict[str, Any]:
    """Run a state machine (as ``role_arn``) to its end; DescribeExecution's answer."""
    arn = create_state_machine(definition, role_arn)
    sfn = client("stepfunctions")
    sfn.start_execution(
        stateMachineArn=arn, name="run", input=json.dumps({} if execution_input is None else execution_input)
    )
    (execution_arn,) = wait_for_executions(arn)
    return dict(sfn.describe_execution(executionArn=execution_arn))


def output_of(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    return json.loads(described["output"])


def task(resource: str, parameters: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A one-Task JSONPath state machine."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **fields}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "T", "States": {"T": state}}


def jsonata_pass(output: Any) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": output, "End": True}},
    }


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def create_function(name: str) -> None:
    role = client("iam").create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'from': 'the zip'}\n")
    client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )


def execution_inputs(state_machine_arn: str, count: int) -> list[Any]:
    sfn = client("stepfunctions")
    return [
        json.loads(sfn.describe_execution(executionArn=arn)["input"])
        for arn in wait_for_executions(state_machine_arn, count=count)
    ]
