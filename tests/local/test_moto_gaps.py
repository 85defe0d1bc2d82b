"""Every moto gap closed by ``petclinic_local.moto_compat``, gap by gap.

For each ``Gap`` in ``GAPS`` and each CloudFormation helper there are two kinds of test:

* ``test_needed_*``: moto 5.2.5 as it is (compat installed with that one gap skipped, or the
  helper not applied) still shows the problem the gap names. When one of these fails, moto
  fixed the gap: delete the workaround (and these tests).
* ``test_closed_*``: with the workaround, the behaviour is AWS's.

Each test builds only the resources it needs inside ``mock_aws`` with LocalCloud's config and
a fake ``Hooks``; no LocalCloud is started.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import itertools
import json
import os
import re
import threading
import time
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import boto3
import jsonata
import pytest
from moto import mock_aws

from petclinic_local import moto_compat
from petclinic_local.cloud import ACCOUNT, FAKE_CREDENTIALS, MOTO_CONFIG, REGION

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/local-tests"
ISO_MILLIS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ISO_SECONDS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EVENT_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

FunctionResult = tuple[Any, bool, str]


# --------------------------------------------------------------------------- the harness


class FakeHooks:
    """What moto_compat needs from its host: functions are plain callables payload -> result."""

    def __init__(
        self, time_scale: float = 1.0, functions: dict[str, Callable[[Any], FunctionResult]] | None = None
    ) -> None:
        self.time_scale = time_scale
        self.functions = functions or {}
        self.invocations: list[tuple[str, Any]] = []
        self.deployments: list[tuple[Any, dict[str, Any], dict[str, Any] | None]] = []
        self.pending: list[Callable[[], None]] = []

    def has_function(self, function_name: str) -> bool:
        return function_name in self.functions

    def invoke_function(self, function_name: str, payload: Any) -> FunctionResult:
        self.invocations.append((function_name, payload))
        return self.functions[function_name](payload)

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        self.deployments.append((service, deployment, previous))

    def background(self, work: Callable[[], None]) -> None:
        """Work AWS does after answering: kept until the test runs it (``run_background``)."""
        self.pending.append(work)

    def run_background(self) -> None:
        while self.pending:
            self.pending.pop(0)()


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
        yield hooks


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def create_state_machine(definition: dict[str, Any]) -> str:
    name = f"sm-{uuid.uuid4().hex[:12]}"
    created = client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE_ARN
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


def execute(definition: dict[str, Any], execution_input: Any = None) -> dict[str, Any]:
    """Run a state machine to its end; DescribeExecution's answer."""
    arn = create_state_machine(definition)
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


# Outputs are objects: moto's DescribeExecution returns a string output unquoted (not JSON).
START_TIME = jsonata_pass({"start": "{% $states.context.Execution.StartTime %}"})

# JSONata: a string with a double quote, assigned to a variable and read back.
QUOTED = 'say "hi"'
ASSIGN_AND_READ_BACK = {
    "QueryLanguage": "JSONata",
    "StartAt": "Assign",
    "States": {
        "Assign": {"Type": "Pass", "Assign": {"text": "{% $states.input.text %}"}, "Next": "Read"},
        "Read": {"Type": "Pass", "Output": "{% {'text': $text} %}", "End": True},
    },
}


# --------------------------------------------------------------------------- the registry


def _needed_docstrings() -> list[str]:
    return [value.__doc__ or "" for key, value in globals().items() if key.startswith("test_needed_")]


def test_every_gap_is_described_and_tested() -> None:
    names = [gap.name for gap in moto_compat.GAPS]
    assert len(names) == len(set(names))
    for gap in moto_compat.GAPS:
        assert gap.name.strip(), gap
        assert gap.problem.strip(), gap
        assert gap.upstream.strip(), gap
        assert any(f"moto fixed {gap.name}:" in doc for doc in _needed_docstrings()), (
            f"no test shows that gap {gap.name} is still needed"
        )


def test_every_cloudformation_helper_is_tested() -> None:
    """The plain functions whose docstring starts with "Gap:" (prepare_template_for_moto, ...)."""
    helpers = [
        name
        for name, value in vars(moto_compat).items()
        if callable(value) and (value.__doc__ or "").startswith("Gap:")
    ]
    assert {"prepare_template_for_moto", "complete_parameters", "recreate_state_machine"} <= set(helpers)
    for name in helpers:
        assert any(f"moto fixed {name}:" in doc for doc in _needed_docstrings()), (
            f"no test shows that {name} is still needed"
        )


def test_install_rejects_unknown_gaps_and_uninstalls_cleanly() -> None:
    with pytest.raises(ValueError, match="unknown"):
        moto_compat.install(FakeHooks(), skip={"unknown"})

    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
    from moto.events.models import Rule  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    before = (LambdaSimpleBackend.invoke, Rule.send_to_targets, dict(aws_sdk._SERVICE_ERROR_NAMES))
    with moto_compat.install(FakeHooks()):
        assert LambdaSimpleBackend.invoke is not before[0]
    assert (LambdaSimpleBackend.invoke, Rule.send_to_targets, dict(aws_sdk._SERVICE_ERROR_NAMES)) == before


# --------------------------------------------------------------------------- jsonata


def test_needed_jsonata_no_evaluator() -> None:
    """If this fails, moto fixed jsonata: delete the workaround (moto evaluates JSONata)."""
    with local_aws(skip={"jsonata"}):
        described = execute(jsonata_pass("{% 1 + 1 %}"))
        assigned = execute(ASSIGN_AND_READ_BACK, {"text": QUOTED})
    for run in (described, assigned):
        assert run["status"] == "FAILED"
        assert run["error"] == "States.Runtime"
        assert "'NoneType' object is not callable" in run["cause"]


def test_needed_jsonata_strings_printed_unescaped() -> None:
    """If this fails, moto fixed jsonata: delete the workaround (string variables are escaped)."""
    from moto.stepfunctions.parser.asl.jsonata.jsonata import encode_jsonata_variable_declarations  # noqa: PLC0415

    declarations = encode_jsonata_variable_declarations({"$text": QUOTED})
    assert declarations == '$text:="say "hi"";'
    with pytest.raises(jsonata.JException, match="Expected"):
        jsonata.Jsonata(f"({declarations}$text)").evaluate(None)


def test_needed_jsonata_context_holds_datetimes() -> None:
    """If this fails, moto fixed jsonata: delete the workaround ($states.context has AWS's
    ISO 8601 strings). An evaluator plugged where moto expects one is not enough."""
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415

    plugged = mock.patch.object(
        moto_jsonata, "_eval_jsonata", lambda text: jsonata.Jsonata(text).evaluate(None)
    )
    with local_aws(skip={"jsonata"}), plugged:
        start_time = output_of(execute(START_TIME))["start"]
    assert not ISO_MILLIS_Z.match(start_time)
    assert start_time.endswith("+00:00")  # datetime.isoformat(), microseconds, no Z


def test_closed_jsonata() -> None:
    with local_aws():
        assert output_of(execute(jsonata_pass("{% 1 + 1 %}"))) == 2
        assert output_of(execute(ASSIGN_AND_READ_BACK, {"text": QUOTED})) == {"text": QUOTED}
        start_time = output_of(execute(START_TIME))["start"]
        partitioned = output_of(execute(jsonata_pass("{% $partition([1, 2, 3], 2) %}")))
    assert ISO_MILLIS_Z.match(start_time), start_time
    assert partitioned == [[1, 2], [3]]


def test_closed_jsonata_variable_with_quote_in_jsonpath_state() -> None:
    definition = {
        "StartAt": "Assign",
        "States": {
            "Assign": {"Type": "Pass", "Assign": {"text.$": "$.text"}, "Next": "Read"},
            "Read": {"Type": "Pass", "Parameters": {"text.$": "$text"}, "End": True},
        },
    }
    with local_aws():
        assert output_of(execute(definition, {"text": QUOTED})) == {"text": QUOTED}


# --------------------------------------------------------------------------- aws-sdk integrations


def test_needed_aws_sdk_normalisation_parameters() -> None:
    """If this fails, moto fixed aws-sdk-normalisation: delete the workaround (PascalCase
    parameters are mapped to the API's names)."""
    with local_aws(skip={"aws-sdk-normalisation"}):
        client("ecs").create_cluster(clusterName="c")
        described = execute(task("arn:aws:states:::aws-sdk:ecs:describeClusters", {"Clusters": ["c"]}))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert described["cause"].endswith("'Clusters'")


def test_needed_aws_sdk_normalisation_responses() -> None:
    """If this fails, moto fixed aws-sdk-normalisation: delete the workaround (responses have
    PascalCase keys, and their datetimes no longer break DescribeExecution)."""
    with local_aws(skip={"aws-sdk-normalisation"}):
        client("ecs").create_cluster(clusterName="c")
        client("ecr").create_repository(repositoryName="repo")
        listed = output_of(execute(task("arn:aws:states:::aws-sdk:ecs:listClusters")))
        arn = create_state_machine(task("arn:aws:states:::aws-sdk:ecr:describeRepositories"))
        client("stepfunctions").start_execution(stateMachineArn=arn, name="run")
        (execution_arn,) = wait_for_executions(arn)
        with pytest.raises(TypeError, match="datetime is not JSON serializable"):
            client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert "clusterArns" in listed
    assert "ClusterArns" not in listed


def test_closed_aws_sdk_normalisation() -> None:
    with local_aws():
        client("ecs").create_cluster(clusterName="c")
        client("ecr").create_repository(repositoryName="repo")
        clusters = output_of(
            execute(task("arn:aws:states:::aws-sdk:ecs:describeClusters", {"Clusters": ["c"]}))
        )
        listed = output_of(execute(task("arn:aws:states:::aws-sdk:ecs:listClusters")))
        repositories = output_of(execute(task("arn:aws:states:::aws-sdk:ecr:describeRepositories")))
    assert clusters["Clusters"][0]["ClusterName"] == "c"
    assert listed["ClusterArns"] == [f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"]
    assert ISO_MILLIS_Z.match(repositories["Repositories"][0]["CreatedAt"])


MISSING_TASK_DEFINITION = task(
    "arn:aws:states:::aws-sdk:ecs:describeTaskDefinition", {"TaskDefinition": "missing:1"}
)


def test_needed_aws_sdk_error_names() -> None:
    """If this fails, moto fixed aws-sdk-error-names: delete the workaround (Ecs.X, not ecs.X)."""
    with local_aws(skip={"aws-sdk-error-names"}):
        described = execute(MISSING_TASK_DEFINITION)
    assert described["status"] == "FAILED"
    assert described["error"] == "ecs.ClientException"
    assert "Service: ecs," in described["cause"]


def test_closed_aws_sdk_error_names() -> None:
    with local_aws():
        described = execute(MISSING_TASK_DEFINITION)
    assert described["status"] == "FAILED"
    assert described["error"] == "Ecs.ClientException"
    assert "Service: Ecs," in described["cause"]


def test_needed_aws_sdk_service_names() -> None:
    """If this fails, moto fixed aws-sdk-service-names: delete the workaround (aws-sdk:cloudwatchlogs
    calls boto3's "logs")."""
    with local_aws(skip={"aws-sdk-service-names"}):
        client("logs").create_log_group(logGroupName="group")
        described = execute(task("arn:aws:states:::aws-sdk:cloudwatchlogs:describeLogGroups", {}))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "Unknown service: 'cloudwatchlogs'" in described["cause"]


def test_closed_aws_sdk_service_names() -> None:
    with local_aws():
        client("logs").create_log_group(logGroupName="group")
        groups = output_of(execute(task("arn:aws:states:::aws-sdk:cloudwatchlogs:describeLogGroups", {})))
        missing = execute(
            task("arn:aws:states:::aws-sdk:cloudwatchlogs:describeLogStreams", {"LogGroupName": "missing"})
        )
    assert [group["LogGroupName"] for group in groups["LogGroups"]] == ["group"]
    assert missing["error"] == "CloudWatchLogs.ResourceNotFoundException"


# --------------------------------------------------------------------------- Step Functions API

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_needed_start_execution_name() -> None:
    """If this fails, moto fixed start-execution-name: delete the workaround (an execution
    started without a name gets a generated one)."""
    with local_aws(skip={"start-execution-name"}):
        sfn = client("stepfunctions")
        arn = create_state_machine(PASS)
        first = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
        with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')
        wait_for_executions(arn)
    assert first.endswith(":None")


def test_closed_start_execution_name() -> None:
    with local_aws():
        sfn = client("stepfunctions")
        arn = create_state_machine(PASS)
        started = [
            sfn.start_execution(stateMachineArn=arn, input=f'{{"n": {n}}}')["executionArn"] for n in (1, 2)
        ]
        finished = wait_for_executions(arn, count=2)
        statuses = {sfn.describe_execution(executionArn=a)["status"] for a in started}
    assert len(set(started)) == 2
    assert set(started) == set(finished)
    assert statuses == {"SUCCEEDED"}
    for execution_arn in started:
        uuid.UUID(execution_arn.rsplit(":", maxsplit=1)[-1])


def _failing_function(payload: Any) -> FunctionResult:
    return {"errorType": "RuntimeError", "errorMessage": "boom"}, True, ""


@contextlib.contextmanager
def timing_cloud(*, skip: set[str] | frozenset[str], time_scale: float) -> Iterator[None]:
    """Functions for the timing machines: "failing" fails, "stuck" works until the test ends."""
    finished = threading.Event()

    def stuck(payload: Any) -> FunctionResult:
        finished.wait(10)
        return {"done": True}, False, ""

    hooks = FakeHooks(time_scale=time_scale, functions={"stuck": stuck, "failing": _failing_function})
    with local_aws(skip=skip, hooks=hooks):
        try:
            yield
        finally:
            finished.set()


def _run_timing_machines(seconds: int) -> dict[str, dict[str, Any]]:
    """A Wait, a Retry interval and a task timeout of ``seconds`` each, run side by side (so
    1 s each takes about 1 s in all): their status, error and duration."""
    lambda_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    machines = {
        "wait": create_state_machine(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}
        ),
        "retry": create_state_machine(
            task(
                f"{lambda_arn}:failing",
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": seconds, "MaxAttempts": 1}],
            )
        ),
        "timeout": create_state_machine(task(f"{lambda_arn}:stuck", TimeoutSeconds=seconds)),
    }
    sfn = client("stepfunctions")
    for arn in machines.values():
        sfn.start_execution(stateMachineArn=arn, name="run")
    results = {}
    for kind, arn in machines.items():
        (execution_arn,) = wait_for_executions(arn)
        described = sfn.describe_execution(executionArn=execution_arn)
        history = sfn.get_execution_history(executionArn=execution_arn)["events"]
        results[kind] = {
            "status": described["status"],
            "error": described.get("error"),
            "seconds": (described["stopDate"] - described["startDate"]).total_seconds(),
            "attempts": sum(1 for event in history if event["type"] == "LambdaFunctionFailed"),
        }
    return results


def test_needed_time_scale() -> None:
    """If this fails, moto fixed time-scale: delete the workaround (moto scales Wait, Retry
    intervals and timeouts by itself; by design it does not: this is a local-cloud setting)."""
    with timing_cloud(skip={"time-scale"}, time_scale=0.001):
        results = _run_timing_machines(seconds=1)
    assert results["wait"]["status"] == "SUCCEEDED"
    assert results["retry"]["attempts"] == 2
    assert (results["timeout"]["status"], results["timeout"]["error"]) == ("FAILED", "States.Timeout")
    for kind in ("wait", "retry", "timeout"):
        assert results[kind]["seconds"] >= 0.95, (kind, results)


def test_closed_time_scale() -> None:
    with timing_cloud(skip=frozenset(), time_scale=0.001):
        results = _run_timing_machines(seconds=100)  # 0.1 s each
    assert results["wait"]["status"] == "SUCCEEDED"
    assert results["retry"]["attempts"] == 2
    assert (results["timeout"]["status"], results["timeout"]["error"]) == ("FAILED", "States.Timeout")
    for kind in ("wait", "retry", "timeout"):
        assert results[kind]["seconds"] < 5, (kind, results)


# --------------------------------------------------------------------------- Lambda


def _create_function(name: str) -> None:
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


def _in_process(payload: Any) -> FunctionResult:
    if payload.get("fail"):
        return {"errorType": "ValueError", "errorMessage": "asked to fail"}, True, "failing\n"
    return {"handled": payload}, False, "handled\n"


def test_needed_lambda_in_process() -> None:
    """If this fails, moto fixed lambda-in-process: delete the workaround (moto runs the
    function without Docker instead of echoing the payload)."""
    with local_aws(skip={"lambda-in-process"}, hooks=FakeHooks(functions={"fn": _in_process})) as hooks:
        _create_function("fn")
        lam = client("lambda")
        ok = lam.invoke(FunctionName="fn", Payload=json.dumps({"n": 1}))
        failed = lam.invoke(FunctionName="fn", Payload=json.dumps({"fail": True}))
    assert json.loads(ok["Payload"].read()) == {"n": 1}
    assert json.loads(failed["Payload"].read()) == {"fail": True}
    assert "FunctionError" not in failed
    assert hooks.invocations == []


def test_closed_lambda_in_process() -> None:
    with local_aws(hooks=FakeHooks(functions={"fn": _in_process})) as hooks:
        _create_function("fn")
        _create_function("other")
        lam = client("lambda")
        ok = lam.invoke(FunctionName="fn", Payload=json.dumps({"n": 1}), LogType="Tail")
        failed = lam.invoke(
            FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn", Payload='{"fail": true}'
        )
        other = lam.invoke(FunctionName="other", Payload=json.dumps({"n": 2}))
    assert json.loads(ok["Payload"].read()) == {"handled": {"n": 1}}
    assert "FunctionError" not in ok
    assert base64.b64decode(ok["LogResult"]).decode() == "handled\n"
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "asked to fail"
    assert json.loads(other["Payload"].read()) == {"n": 2}  # not the host's function: moto's echo
    assert hooks.invocations == [("fn", {"n": 1}), ("fn", {"fail": True})]


# --------------------------------------------------------------------------- EventBridge

EVENT_TIME = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _rule_to_state_machine(targets: list[dict[str, Any]]) -> None:
    events = client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["petclinic.test"]}))
    events.put_targets(Rule="r", Targets=targets)


def _put_event(time_: dt.datetime | None = None) -> None:
    entry = {"Source": "petclinic.test", "DetailType": "Test", "Detail": json.dumps({"k": "v"})}
    if time_ is not None:
        entry["Time"] = time_  # type: ignore[assignment]
    client("events").put_events(Entries=[entry])


def test_needed_eventbridge_states_targets() -> None:
    """If this fails, moto fixed eventbridge-states-targets: delete the workaround (moto starts
    executions for Step Functions targets, with 'time' an ISO 8601 string)."""
    from moto.events.models import Rule  # noqa: PLC0415

    with local_aws(skip={"eventbridge-states-targets"}):
        arn = create_state_machine(PASS)
        _rule_to_state_machine([{"Id": "sfn", "Arn": arn, "RoleArn": ROLE_ARN}])
        handed: list[dict[str, Any]] = []
        with mock.patch.object(
            Rule, "send_to_targets", autospec=True, side_effect=lambda rule, event: handed.append(event)
        ):
            _put_event()
        with pytest.raises(NotImplementedError):
            _put_event()
        executions = client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert executions == []
    assert isinstance(handed[0]["time"], float)  # a unix time where AWS has an ISO 8601 string


def _execution_inputs(state_machine_arn: str, count: int) -> list[Any]:
    sfn = client("stepfunctions")
    return [
        json.loads(sfn.describe_execution(executionArn=arn)["input"])
        for arn in wait_for_executions(state_machine_arn, count=count)
    ]


def test_closed_eventbridge_states_targets() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine(
            [
                {"Id": "whole", "Arn": arn, "RoleArn": ROLE_ARN},
                {"Id": "path", "Arn": arn, "RoleArn": ROLE_ARN, "InputPath": "$.detail"},
                {"Id": "fixed", "Arn": arn, "RoleArn": ROLE_ARN, "Input": '{"fixed": true}'},
            ]
        )
        _put_event(EVENT_TIME)
        inputs = _execution_inputs(arn, count=3)
    (whole,) = [i for i in inputs if "detail" in i]
    assert set(whole) == EVENT_KEYS
    assert whole["time"] == "2024-01-02T03:04:05Z"
    assert whole["detail"] == {"k": "v"}
    assert {"k": "v"} in inputs
    assert {"fixed": True} in inputs


def test_closed_eventbridge_states_target_with_input_transformer() -> None:
    transformer = {"InputPathsMap": {"k": "$.detail.k"}, "InputTemplate": '{"got": "<k>"}'}
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine(
            [{"Id": "t", "Arn": arn, "RoleArn": ROLE_ARN, "InputTransformer": transformer}]
        )
        _put_event()
        assert _execution_inputs(arn, count=1) == [{"got": "v"}]


def test_closed_eventbridge_other_targets_still_delivered() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        sqs = client("sqs")
        queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        _rule_to_state_machine(
            [{"Id": "sfn", "Arn": arn, "RoleArn": ROLE_ARN}, {"Id": "queue", "Arn": queue_arn}]
        )
        _put_event()
        (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        assert len(_execution_inputs(arn, count=1)) == 1
    assert json.loads(message["Body"])["detail"] == {"k": "v"}


def test_closed_eventbridge_time_defaults_to_now_in_iso_8601() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine([{"Id": "whole", "Arn": arn, "RoleArn": ROLE_ARN}])
        _put_event()
        (execution_arn,) = wait_for_executions(arn)
        event = json.loads(client("stepfunctions").describe_execution(executionArn=execution_arn)["input"])
    assert ISO_SECONDS_Z.match(event["time"]), event["time"]
    sent = dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) < 60


# --------------------------------------------------------------------------- DynamoDB


@contextlib.contextmanager
def conditions_meet_halfway() -> Iterator[None]:
    """Each conditional write, after evaluating its condition and before writing, waits (up to
    0.5 s) for another to get as far: unserialised, two writes both evaluate their condition
    before either writes, every time; serialised, the first waits alone, then writes."""
    from moto.dynamodb import models  # noqa: PLC0415
    from moto.dynamodb.models import table  # noqa: PLC0415

    barrier = threading.Barrier(2, timeout=0.5)

    class Halfway:
        def __init__(self, operation: Any) -> None:
            self.operation = operation

        def expr(self, item: Any) -> Any:
            result = self.operation.expr(item)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
            return result

    original_filter = table.get_filter_expression
    original_parser = models.create_condition_expression_parser

    def filter_expression(*args: Any, **kwargs: Any) -> Halfway:
        return Halfway(original_filter(*args, **kwargs))

    def condition_parser(*args: Any, **kwargs: Any) -> Any:
        parser = original_parser(*args, **kwargs)
        return mock.Mock(parse=lambda: Halfway(parser.parse()))

    with (
        mock.patch.object(table, "get_filter_expression", filter_expression),
        mock.patch.object(models, "create_condition_expression_parser", condition_parser),
    ):
        yield


def _race_conditional_writes(operation: str) -> list[str]:
    """Two threads write the same new key with attribute_not_exists(pk): who won?"""
    client("dynamodb").create_table(
        TableName="leases",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [client("dynamodb") for _ in range(2)]
    outcomes: list[str] = []

    def write(ddb: Any, owner: str) -> None:
        try:
            if operation == "put_item":
                ddb.put_item(
                    TableName="leases",
                    Item={"pk": {"S": "lease"}, "owner": {"S": owner}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                ddb.update_item(
                    TableName="leases",
                    Key={"pk": {"S": "lease"}},
                    UpdateExpression="SET #o = :o",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":o": {"S": owner}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            outcomes.append("won")
        except ddb.exceptions.ConditionalCheckFailedException:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(ddb, f"owner-{n}")) for n, ddb in enumerate(clients)]
    with conditions_meet_halfway():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    return sorted(outcomes)


@pytest.mark.parametrize("operation", ["put_item", "update_item"])
def test_needed_dynamodb_atomic_writes(operation: str) -> None:
    """If this fails, moto fixed dynamodb-atomic-writes: delete the workaround (a conditional
    write checks and writes atomically)."""
    with local_aws(skip={"dynamodb-atomic-writes"}):
        assert _race_conditional_writes(operation) == ["won", "won"]


@pytest.mark.parametrize("operation", ["put_item", "update_item"])
def test_closed_dynamodb_atomic_writes(operation: str) -> None:
    with local_aws():
        assert _race_conditional_writes(operation) == ["lost", "won"]


# --------------------------------------------------------------------------- ECR


def _push_images(count: int) -> list[dt.datetime]:
    ecr = client("ecr")
    ecr.create_repository(repositoryName="repo")
    for n in range(count):
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": f"sha256:{n:064d}",
            },
            "layers": [],
        }
        ecr.put_image(repositoryName="repo", imageManifest=json.dumps(manifest), imageTag=f"v{n}")
    images = ecr.describe_images(repositoryName="repo")["imageDetails"]
    by_tag = {image["imageTags"][0]: image["imagePushedAt"] for image in images}
    return [by_tag[f"v{n}"] for n in range(count)]


def test_needed_ecr_push_time() -> None:
    """If this fails, moto fixed ecr-push-time: delete the workaround (imagePushedAt has
    sub-second precision)."""
    with local_aws(skip={"ecr-push-time"}):
        pushed = _push_images(4)
    assert all(at.microsecond == 0 for at in pushed)


def test_closed_ecr_push_time() -> None:
    with local_aws():
        pushed = _push_images(4)
    assert all(at.microsecond % 1000 == 0 for at in pushed)  # milliseconds
    assert all(earlier < later for earlier, later in itertools.pairwise(pushed))


# --------------------------------------------------------------------------- Secrets Manager

ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationFunction:
    """A rotation function as AWS's templates write it: createSecret puts the AWSPENDING value,
    finishSecret moves AWSCURRENT to it. From step ``fail_from`` on, every step errors."""

    def __init__(self, fail_from: str | None = None) -> None:
        self.fail_from = fail_from
        self.steps: list[str] = []

    def __call__(self, payload: Any) -> FunctionResult:
        step, secret, token = payload["Step"], payload["SecretId"], payload["ClientRequestToken"]
        self.steps.append(step)
        if self.fail_from and ROTATION_STEPS.index(step) >= ROTATION_STEPS.index(self.fail_from):
            return {"errorType": "RuntimeError", "errorMessage": f"{step} failed"}, True, ""
        secrets = client("secretsmanager")
        if step == "createSecret":
            secrets.put_secret_value(
                SecretId=secret, ClientRequestToken=token, SecretString="new", VersionStages=["AWSPENDING"]
            )
        elif step == "finishSecret":
            current = _version_with("AWSCURRENT", secret)
            if current != token:
                secrets.update_secret_version_stage(
                    SecretId=secret,
                    VersionStage="AWSCURRENT",
                    MoveToVersionId=token,
                    RemoveFromVersionId=current,
                )
        return None, False, ""


def _version_with(stage: str, secret: str = "db") -> str:
    stages = client("secretsmanager").describe_secret(SecretId=secret)["VersionIdsToStages"]
    return str(next(version for version, labels in stages.items() if stage in labels))


@contextlib.contextmanager
def rotation_setup(
    rotation: RotationFunction, skip: set[str] | frozenset[str] = frozenset()
) -> Iterator[tuple[FakeHooks, str, str]]:
    """A secret "db" (value "old"), a rotation function, and a rule sending Secrets Manager's
    events to a state machine: (hooks, function ARN, state machine ARN)."""
    with local_aws(skip=skip, hooks=FakeHooks(functions={"rotate": rotation})) as hooks:
        _create_function("rotate")
        function_arn = client("lambda").get_function(FunctionName="rotate")["Configuration"]["FunctionArn"]
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        events = client("events")
        events.put_rule(Name="rotations", EventPattern=json.dumps({"source": ["aws.secretsmanager"]}))
        state_machine = create_state_machine(PASS)
        events.put_targets(
            Rule="rotations", Targets=[{"Id": "sfn", "Arn": state_machine, "RoleArn": ROLE_ARN}]
        )
        yield hooks, function_arn, state_machine


def _secret_value() -> str:
    return str(client("secretsmanager").get_secret_value(SecretId="db")["SecretString"])


def test_needed_secretsmanager_rotation_succeeding() -> None:
    """If this fails, moto fixed secretsmanager-rotation: delete the workaround (RotateSecret
    answers before rotating, takes AWSPENDING off, allows the next rotation, sends events)."""
    rotation = RotationFunction()
    with rotation_setup(rotation, skip={"secretsmanager-rotation"}) as (_, function_arn, state_machine):
        secrets = client("secretsmanager")
        token = secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn)["VersionId"]
        steps_when_answered = list(rotation.steps)
        stages = secrets.describe_secret(SecretId="db")["VersionIdsToStages"][token]
        with pytest.raises(secrets.exceptions.InvalidRequestException, match="still in progress"):
            secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn)
        time.sleep(0.1)
        executions = client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"]
    assert steps_when_answered == list(ROTATION_STEPS)  # all done inside the call
    assert sorted(stages) == ["AWSCURRENT", "AWSPENDING"]
    assert executions == []  # no RotationSucceeded event


def test_needed_secretsmanager_rotation_failing() -> None:
    """If this fails, moto fixed secretsmanager-rotation: delete the workaround (a failed step
    ends the rotation and AWSCURRENT stays)."""
    rotation = RotationFunction(fail_from="setSecret")
    with rotation_setup(rotation, skip={"secretsmanager-rotation"}) as (_, function_arn, state_machine):
        original = _version_with("AWSCURRENT")
        client("secretsmanager").rotate_secret(SecretId="db", RotationLambdaARN=function_arn)
        current, value = _version_with("AWSCURRENT"), _secret_value()
        time.sleep(0.1)
        executions = client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"]
    assert rotation.steps == list(ROTATION_STEPS)  # went on after setSecret failed
    assert value == "new"  # and serves the new version anyway...
    assert current == original  # ...while the AWSCURRENT label stays on the old one
    assert executions == []  # no RotationFailed event


def test_needed_secretsmanager_rotation_keeps_configured_function() -> None:
    """If this fails, moto fixed secretsmanager-rotation: delete the workaround (RotateSecret
    without RotationLambdaARN uses the configured function)."""
    rotation = RotationFunction()
    with rotation_setup(rotation, skip={"secretsmanager-rotation"}) as (_, function_arn, _):
        secrets = client("secretsmanager")
        secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn, RotateImmediately=False)
        configured = secrets.describe_secret(SecretId="db").get("RotationLambdaARN")
        del rotation.steps[:]
        secrets.rotate_secret(SecretId="db")
        forgotten = secrets.describe_secret(SecretId="db").get("RotationLambdaARN")
    assert configured == function_arn
    assert not forgotten
    assert rotation.steps == []


def _rotation_events(state_machine: str, count: int) -> list[dict[str, Any]]:
    return [event["detail"] for event in _execution_inputs(state_machine, count=count)]


def test_closed_secretsmanager_rotation_succeeding() -> None:
    rotation = RotationFunction()
    with rotation_setup(rotation) as (hooks, function_arn, state_machine):
        secrets = client("secretsmanager")
        original = _version_with("AWSCURRENT")
        token = secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn)["VersionId"]
        steps_when_answered = list(rotation.steps)
        hooks.run_background()
        stages = secrets.describe_secret(SecretId="db")["VersionIdsToStages"]
        value = _secret_value()
        secrets.rotate_secret(SecretId="db")  # the next one: allowed, with the configured function
        hooks.run_background()
        described = secrets.describe_secret(SecretId="db")
        events = _rotation_events(state_machine, count=2)
    assert steps_when_answered == []  # AWS answers first, then rotates
    assert rotation.steps == list(ROTATION_STEPS) * 2
    assert stages[token] == ["AWSCURRENT"]
    assert stages[original] == ["AWSPREVIOUS"]
    assert value == "new"
    assert described["RotationLambdaARN"] == function_arn
    assert [event["eventName"] for event in events] == ["RotationSucceeded"] * 2
    assert all(event["additionalEventData"]["SecretId"] == described["ARN"] for event in events)


def test_closed_secretsmanager_rotation_failing() -> None:
    rotation = RotationFunction(fail_from="setSecret")
    with rotation_setup(rotation) as (hooks, function_arn, state_machine):
        original = _version_with("AWSCURRENT")
        token = client("secretsmanager").rotate_secret(SecretId="db", RotationLambdaARN=function_arn)[
            "VersionId"
        ]
        hooks.run_background()
        stages = client("secretsmanager").describe_secret(SecretId="db")["VersionIdsToStages"]
        value = _secret_value()
        (event,) = _rotation_events(state_machine, count=1)
    assert rotation.steps == ["createSecret", "setSecret"]
    assert _only_stage(stages, "AWSCURRENT") == original
    assert stages[token] == ["AWSPENDING"]
    assert value == "old"
    assert event["eventName"] == "RotationFailed"


def _only_stage(stages: dict[str, list[str]], stage: str) -> str:
    (version,) = [version for version, labels in stages.items() if stage in labels]
    return version


def test_closed_secretsmanager_rotate_later_then_rotate() -> None:
    rotation = RotationFunction()
    with rotation_setup(rotation) as (hooks, function_arn, _):
        secrets = client("secretsmanager")
        secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn, RotateImmediately=False)
        hooks.run_background()
        secrets.rotate_secret(SecretId="db")
        hooks.run_background()
        assert rotation.steps == ["testSecret", *ROTATION_STEPS]
        assert _secret_value() == "new"


# --------------------------------------------------------------------------- ECS


def _service_with_two_revisions() -> tuple[Any, str, str]:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    arns = [
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "app", "image": f"app:{n}", "memory": 128}]
        )["taskDefinition"]["taskDefinitionArn"]
        for n in (1, 2)
    ]
    ecs.create_service(cluster="c", serviceName="app", taskDefinition=arns[0], desiredCount=1)
    return ecs, arns[0], arns[1]


def _describe_service(ecs: Any) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster="c", services=["app"])["services"][0])


def test_needed_ecs_deployments() -> None:
    """If this fails, moto fixed ecs-deployments: delete the workaround (UpdateService starts a
    new deployment)."""
    with local_aws(skip={"ecs-deployments"}) as hooks:
        ecs, first, _ = _service_with_two_revisions()
        (created,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
        (updated,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", forceNewDeployment=True)
        (forced,) = _describe_service(ecs)["deployments"]
    assert updated["id"] == created["id"]
    assert updated["taskDefinition"] == first
    assert updated["rolloutState"] == created["rolloutState"]
    assert forced["id"] != created["id"]  # force_new_deployment only renames it
    assert (forced["status"], forced["taskDefinition"]) == ("PRIMARY", first)
    assert hooks.deployments == []


def test_closed_ecs_deployments() -> None:
    with local_aws() as hooks:
        ecs, first, second = _service_with_two_revisions()
        (created,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
        service = _describe_service(ecs)
        ecs.update_service(cluster="c", service="app", forceNewDeployment=True)
        forced = _describe_service(ecs)["deployments"]
    primary, old = service["deployments"]
    assert service["taskDefinition"] == second
    assert (primary["status"], primary["rolloutState"], primary["taskDefinition"]) == (
        "PRIMARY",
        "IN_PROGRESS",
        second,
    )
    assert primary["id"] != created["id"]
    assert (old["id"], old["status"], old["taskDefinition"]) == (created["id"], "ACTIVE", first)
    (_, started, previous), (_, forced_started, _) = hooks.deployments
    assert started["id"] == primary["id"]
    assert previous is not None
    assert previous["id"] == created["id"]
    assert [d["status"] for d in forced] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    assert (forced[0]["id"], forced[0]["taskDefinition"]) == (forced_started["id"], second)


# --------------------------------------------------------------------------- CloudFormation


def _create_stack(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, str]:
    cfn = client("cloudformation")
    name = f"stack-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value} for key, value in (parameters or {}).items()
        ],
    )
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


KEY_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
KEY_TEMPLATE: dict[str, Any] = {
    "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}}},
    "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}},
}


def test_needed_prepare_template_for_moto() -> None:
    """If this fails, moto fixed prepare_template_for_moto: delete the workaround (a KMS key
    whose KeyPolicy is an object can be described)."""
    plain_policy = {**KEY_POLICY, "Statement": [{**KEY_POLICY["Statement"][0], "Principal": {"AWS": "*"}}]}
    template = {
        **KEY_TEMPLATE,
        "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": plain_policy}}},
    }
    with local_aws():
        key_id = _create_stack(template)["KeyId"]
        with pytest.raises(TypeError, match="must be str, bytes or bytearray, not dict"):
            client("kms").describe_key(KeyId=key_id)


def test_closed_prepare_template_for_moto() -> None:
    with local_aws():
        key_id = _create_stack(moto_compat.prepare_template_for_moto(KEY_TEMPLATE))["KeyId"]
        kms = client("kms")
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert metadata["KeyState"] == "Enabled"
    assert json.loads(policy)["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert KEY_TEMPLATE["Resources"]["Key"]["Properties"]["KeyPolicy"] is KEY_POLICY  # not mutated


LIST_TEMPLATE = {
    "Parameters": {
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Environment": {"Type": "String", "Default": "dev"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Environment"}}}},
    "Outputs": {
        "Joined": {"Value": {"Fn::Join": ["+", {"Ref": "Names"}]}},
        "Second": {"Value": {"Fn::Select": [1, {"Ref": "Names"}]}},
    },
}


def test_needed_complete_parameters() -> None:
    """If this fails, moto fixed complete_parameters: delete the workaround (a CommaDelimitedList
    parameter's Default is split into a list)."""
    with local_aws():
        outputs = _create_stack(LIST_TEMPLATE)
    assert outputs == {"Joined": "a+,+b", "Second": ","}


def test_closed_complete_parameters() -> None:
    assert moto_compat.complete_parameters(LIST_TEMPLATE, {"Environment": "prod"}) == {
        "Names": "a,b",
        "Environment": "prod",
    }
    with local_aws():
        defaults = _create_stack(LIST_TEMPLATE, moto_compat.complete_parameters(LIST_TEMPLATE, {}))
        given = _create_stack(
            LIST_TEMPLATE, moto_compat.complete_parameters(LIST_TEMPLATE, {"Names": "x,y,z"})
        )
    assert defaults == {"Joined": "a+b", "Second": "b"}
    assert given == {"Joined": "x+y+z", "Second": "y"}


GREETING_DEFINITION = json.dumps(
    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}}}
)
STATE_MACHINE_TEMPLATE = {
    "Resources": {
        "Inline": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "inline",
                "RoleArn": ROLE_ARN,
                "DefinitionString": GREETING_DEFINITION,
                "DefinitionSubstitutions": {"Greeting": "hello"},
            },
        },
        "FromS3": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "from-s3",
                "RoleArn": ROLE_ARN,
                "DefinitionS3Location": {"Bucket": "artifacts", "Key": "machine.asl.json"},
            },
        },
    },
    "Outputs": {"Inline": {"Value": {"Ref": "Inline"}}, "FromS3": {"Value": {"Ref": "FromS3"}}},
}


def test_needed_recreate_state_machine() -> None:
    """If this fails, moto fixed recreate_state_machine: delete the workaround (state machines
    created by CloudFormation can be executed, with their definition)."""
    from moto.stepfunctions.models import stepfunctions_backends  # noqa: PLC0415

    with local_aws():
        outputs = _create_stack(STATE_MACHINE_TEMPLATE)
        sfn = client("stepfunctions")
        with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
            sfn.start_execution(stateMachineArn=outputs["Inline"])
        landed = {m.arn: m.definition for m in stepfunctions_backends[ACCOUNT][REGION].state_machines}
    assert landed[outputs["Inline"]] == GREETING_DEFINITION  # DefinitionSubstitutions ignored
    assert landed[outputs["FromS3"]] == ""  # DefinitionS3Location ignored


def test_closed_recreate_state_machine() -> None:
    with local_aws():
        expected_arn = _create_stack(STATE_MACHINE_TEMPLATE)["Inline"]
        sfn = client("stepfunctions")
        arn = moto_compat.recreate_state_machine(
            sfn,
            expected_arn=expected_arn,
            definition=GREETING_DEFINITION,
            substitutions={"Greeting": "hello"},
            role_arn=ROLE_ARN,
            kind="STANDARD",
        )
        sfn.start_execution(stateMachineArn=arn, name="run")
        (execution_arn,) = wait_for_executions(arn)
        described = sfn.describe_execution(executionArn=execution_arn)
    assert arn == expected_arn
    assert output_of(dict(described)) == {"greeting": "hello"}


ROTATION_SCHEDULE: dict[str, Any] = {
    "Type": "AWS::SecretsManager::RotationSchedule",
    "Properties": {
        "SecretId": "db",
        "RotationLambdaARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate",
        "RotateImmediatelyOnUpdate": False,
        "RotationRules": {"AutomaticallyAfterDays": 30},
    },
}
SCHEDULE_TEMPLATE = {
    "Resources": {"Rotation": ROTATION_SCHEDULE, "Topic": {"Type": "AWS::SNS::Topic"}},
}


def _rotation_settings() -> dict[str, Any]:
    described = client("secretsmanager").describe_secret(SecretId="db")
    return {key: described.get(key) for key in ("RotationEnabled", "RotationLambdaARN", "RotationRules")}


def test_needed_apply_rotation_schedules() -> None:
    """If this fails, moto fixed apply_rotation_schedules: delete the workaround (CloudFormation
    creates AWS::SecretsManager::RotationSchedule)."""
    with local_aws():
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        with pytest.warns(UserWarning, match="RotationSchedule"):
            _create_stack(SCHEDULE_TEMPLATE)
        settings = _rotation_settings()
    assert not settings["RotationEnabled"]
    assert not settings["RotationLambdaARN"]


def test_closed_apply_rotation_schedules() -> None:
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        _create_stack(SCHEDULE_TEMPLATE)
        moto_compat.apply_rotation_schedules(
            SCHEDULE_TEMPLATE["Resources"], lambda value: value, ACCOUNT, REGION
        )
        settings = _rotation_settings()
        steps = client("secretsmanager").describe_secret(SecretId="db")["VersionIdsToStages"]
    assert settings == {
        "RotationEnabled": True,
        "RotationLambdaARN": ROTATION_SCHEDULE["Properties"]["RotationLambdaARN"],
        "RotationRules": {"AutomaticallyAfterDays": 30},
    }
    assert [labels for labels in steps.values()] == [["AWSCURRENT"]]  # no rotation now


def _child_and_parent() -> str:
    """A parent that runs a one-Pass child with states:startExecution.sync:2; the parent's ARN."""
    child = create_state_machine(jsonata_pass({"done": True}))
    return create_state_machine(
        task(
            "arn:aws:states:::states:startExecution.sync:2",
            {"StateMachineArn": child, "Input": {"x": 1}},
        )
    )


def test_sfn_integration_runs_a_child_to_its_end() -> None:
    with local_aws():
        parent = _child_and_parent()
        sfn = client("stepfunctions")
        sfn.start_execution(stateMachineArn=parent, name="run", input="{}")
        (execution_arn,) = wait_for_executions(parent)
        output = output_of(sfn.describe_execution(executionArn=execution_arn))
    assert output["Status"] == "SUCCEEDED"
    assert output["Output"] == {"done": True}
    assert output["ExecutionArn"].startswith("arn:aws:states:")


def test_needed_sfn_integration_names() -> None:
    """If this fails, moto fixed sfn-integration-names: delete the workaround (states:startExecution
    hands PascalCase parameters to boto3 and reads PascalCase keys back)."""
    with local_aws(skip={"sfn-integration-names"}):
        parent = _child_and_parent()
        sfn = client("stepfunctions")
        sfn.start_execution(stateMachineArn=parent, name="run", input="{}")
        (execution_arn,) = wait_for_executions(parent)
        described = sfn.describe_execution(executionArn=execution_arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
