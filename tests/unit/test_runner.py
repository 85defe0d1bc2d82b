"""The local runner's pure parts (local/petclinic_local/runner.py): execution names, the record
of an execution and what it reports, the workflow keys against template.yaml, and that it is the
one place that starts a workflow. On the local cloud: tests/integration/test_runner_on_local_cloud.py."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from petclinic_local import provisioning, rotations, runner, scaling
from petclinic_local.cli import deploy
from petclinic_local.cli import genai as genai_command
from petclinic_local.errors import UsageError
from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
# Step Functions: 1-80 characters, none of whitespace, brackets, wildcards, " # % \ ^ | ~ ` $ & , ; : /
ALLOWED = re.compile(r'^[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$')


def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


class Outputs:
    """A plane with outputs only (state_machine_arn reads nothing else)."""

    stack_name = "petclinic-ops-dev"

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def client(self, service: str) -> Any:
        raise AssertionError(f"no {service} call expected")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    ["manual-customers-service", "scale-night", "release-v7", "provision-dev", "a b/c:d*e", "", "x" * 200],
)
def test_an_execution_name_is_one_step_functions_takes(name: str) -> None:
    made = runner.execution_name(name)
    assert ALLOWED.match(made), made


def test_names_made_in_one_second_differ_and_keep_their_time() -> None:
    now = dt.datetime(2026, 12, 6, 9, 15, 0, tzinfo=dt.UTC)
    names = {runner.execution_name("manual-customers-service", now=now) for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith("manual-customers-service-20261206T091500-") for name in names)


def test_a_long_name_is_cut_never_its_unique_part() -> None:
    made = runner.execution_name("x" * 200)
    assert len(made) == 80
    assert re.search(r"-\d{8}T\d{6}-[0-9a-f]{8}$", made)


# --------------------------------------------------------------------------- the record


def described(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "executionArn": "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-scale:x",
        "stateMachineArn": "arn:aws:states:us-west-2:123456789012:stateMachine:petclinic-ops-dev-scale",
        "status": status,
        "startDate": dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
        "input": '{"profile": "night"}',
        **extra,
    }


def test_a_succeeded_execution_reports_its_output() -> None:
    execution = runner.record(described("SUCCEEDED", output='{"result": "APPLIED", "changes": []}'))
    assert execution == {
        "stateMachine": "petclinic-ops-dev-scale",
        "executionArn": described("SUCCEEDED")["executionArn"],
        "status": "SUCCEEDED",
        "startDate": "2026-12-06T00:00:00+00:00",
        "input": {"profile": "night"},
        "output": {"result": "APPLIED", "changes": []},
    }
    assert runner.detail(execution) == {"result": "APPLIED", "changes": []}
    assert runner.result(execution) == "APPLIED"


@pytest.mark.parametrize(
    ("cause", "detail", "result"),
    [
        (
            '{"result": "FAILED", "reason": "rolled back"}',
            {"result": "FAILED", "reason": "rolled back"},
            "FAILED",
        ),
        ("the lease is held", {"reason": "the lease is held"}, "DeployFailed"),
        ('["a", "list"]', {"reason": ["a", "list"]}, "DeployFailed"),
        (None, {}, "DeployFailed"),
    ],
)
def test_a_failed_execution_reports_its_cause(cause: str | None, detail: dict[str, Any], result: str) -> None:
    extra = {"error": "DeployFailed", **({"cause": cause} if cause is not None else {})}
    execution = runner.record(described("FAILED", **extra))
    assert "output" not in execution
    assert runner.detail(execution) == detail
    assert runner.result(execution) == result


def test_asking_a_failed_execution_for_its_output_says_why_it_has_none() -> None:
    execution = runner.record(described("FAILED", error="ScaleRefused", cause="prod floor"))
    with pytest.raises(KeyError, match="is FAILED ScaleRefused: prod floor"):
        execution["output"]


def test_history_counts_transitions_and_lambda_invocations() -> None:
    events: list[dict[str, Any]] = [
        {"type": "ExecutionStarted"},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Plan"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resourceType": "lambda"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resourceType": "aws-sdk:ecs"}},
        {"type": "ChoiceStateEntered", "stateEnteredEventDetails": {"name": "DryRun?"}},
        {"type": "ExecutionSucceeded"},
    ]
    assert runner.states_entered(events) == ["Plan", "DryRun?"]
    assert runner.transitions(events) == 2
    assert runner.lambda_invocations(events) == 1


# --------------------------------------------------------------------------- workflow keys


def test_every_state_machine_of_the_template_has_the_output_its_key_needs() -> None:
    """A workflow's key is its logical id; runner.start finds its ARN in the <key>Arn output."""
    loaded = template()
    machines = [
        logical_id
        for logical_id, resource in loaded["Resources"].items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
    ]
    assert len(machines) >= 8
    assert [key for key in machines if f"{key}Arn" not in loaded["Outputs"]] == []


def test_the_keys_the_code_starts_are_state_machines_of_the_template() -> None:
    resources = template()["Resources"]
    keys = {
        provisioning.WORKFLOW,
        scaling.WORKFLOW,
        rotations.WORKFLOW,
        deploy.WORKFLOW,
        genai_command.WORKFLOW,
        "GenAiReleaseStateMachine",  # petclinic_local.genai.start_release
    }
    assert {key: resources.get(key, {}).get("Type") for key in keys} == dict.fromkeys(
        keys, "AWS::Serverless::StateMachine"
    )


def test_an_unknown_workflow_is_a_usage_error_naming_the_known_ones() -> None:
    plane = Outputs(
        {"DeployStateMachineArn": "arn:deploy", "ScaleStateMachineArn": "arn:scale", "Other": "x"}
    )
    assert runner.state_machine_arn(plane, "ScaleStateMachine") == "arn:scale"
    with pytest.raises(UsageError) as raised:
        runner.start(plane, "SnapshotStateMachine", {}, name="snapshot")
    assert str(raised.value) == (
        "stack petclinic-ops-dev has no SnapshotStateMachineArn output: is it the petclinic-ops control "
        "plane? (its workflows: DeployStateMachine, ScaleStateMachine)"
    )


# --------------------------------------------------------------------------- one place


def test_the_runner_is_the_only_place_that_starts_or_polls_an_execution() -> None:
    """No start_execution or describe_execution of its own in local/ or benchmarks/: moto_compat
    patches the API itself, the `executions` command lists executions (it starts and waits for
    none), sfn_end_consistency measures DescribeExecution on a state machine of its own."""
    allowed = {
        ROOT / "local/petclinic_local/runner.py": {"start_execution", "describe_execution"},
        ROOT / "local/petclinic_local/cli/executions.py": {"describe_execution"},
        ROOT / "benchmarks/sfn_end_consistency.py": {"start_execution", "describe_execution"},
    }
    found = []
    for folder in ("local/petclinic_local", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "moto_compat" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for call in re.findall(r"\.(start_execution|describe_execution)\(", line):
                    if call not in allowed.get(path, set()):
                        found.append(f"{path.relative_to(ROOT)}:{number} {call}")
    assert found == []
