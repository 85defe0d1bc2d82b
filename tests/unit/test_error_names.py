"""Every error name a workflow catches or retries on (``ErrorEquals``) is one that can reach it:
a Step Functions ``States.*`` error, an error of a service the workflow calls named as Step
Functions names it (``DynamoDB.ConditionalCheckFailedException`` from the optimised DynamoDB
integration, ``Ecs.ServerException`` from ``aws-sdk:ecs``...), an error a function raises (a
class of the ``OpsError`` tree, whose class name is the error name, in a workflow that invokes
a function) or the Error of one of the workflow's own Fail states. A name that is none of these
never matches: its Retry or Catch is dead code, and the failure it was written for goes
elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from template_resources import state_machines

from petclinic_local.moto_compat.sdk_integrations import SDK_ERROR_SERVICE_NAMES
from petclinic_ops import errors

# Step Functions' own error names (Amazon States Language, "Error names").
STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.BranchFailed",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)
# Optimised integrations (arn:aws:states:::SERVICE:ACTION): the prefix of their error names.
OPTIMISED_PREFIXES = {"dynamodb": "DynamoDB", "lambda": "Lambda", "sns": "SNS", "states": "StepFunctions"}
_TASK = re.compile(r"^arn:aws:states:::(?:(aws-sdk):)?([a-z0-9-]+):")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def raised_by_functions() -> set[str]:
    """The class names of the OpsError tree (the error names the functions raise on purpose)."""
    found: set[str] = set()
    pending = [errors.OpsError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.add(subclass.__name__)
            pending.append(subclass)
    return found


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}/{index}")


def _prefixes(definition: dict[str, Any]) -> tuple[set[str], set[str], list[str]]:
    """(the error prefixes of the optimised integrations the workflow calls, those of its aws-sdk
    integrations, integrations of unknown prefix)."""
    optimised: set[str] = set()
    sdk: set[str] = set()
    unknown: list[str] = []
    for _, node in _walk(definition):
        resource = node.get("Resource") if node.get("Type") == "Task" else None
        match = _TASK.match(resource) if isinstance(resource, str) else None
        if match is None:
            continue
        aws_sdk, service = match.groups()
        prefix = (SDK_ERROR_SERVICE_NAMES if aws_sdk else OPTIMISED_PREFIXES).get(service)
        if prefix is None:
            unknown.append(str(resource))
        else:
            (sdk if aws_sdk else optimised).add(prefix)
    return optimised, sdk, unknown


def problems(definition: dict[str, Any], raised: set[str]) -> list[str]:
    """Each ErrorEquals name of ``definition`` that cannot reach it, with why."""
    optimised, sdk, unknown = _prefixes(definition)
    found = [f"{resource}: no known error name prefix for this integration" for resource in unknown]
    fails = {
        str(node["Error"])
        for _, node in _walk(definition)
        if node.get("Type") == "Fail" and isinstance(node.get("Error"), str)
    }
    invokes_function = "Lambda" in optimised
    for path, node in _walk(definition):
        for name in node.get("ErrorEquals", []) if isinstance(node.get("ErrorEquals"), list) else []:
            problem = _problem(str(name), optimised, sdk, fails, raised if invokes_function else set())
            if problem:
                found.append(f"{path}: {name}: {problem}")
    return found


def _problem(name: str, optimised: set[str], sdk: set[str], fails: set[str], raised: set[str]) -> str | None:
    if name.startswith("States."):
        return None if name in STATES_ERRORS else "not an error Step Functions raises"
    if "." not in name:
        if name in fails or name in raised:
            return None
        return "no function this workflow invokes raises it (OpsError tree) and no Fail state has it"
    prefix, _, error = name.partition(".")
    if prefix not in optimised | sdk:
        return f"the workflow calls no service whose errors are named {prefix}.*"
    if not _PASCAL.match(error):
        return "not ServiceName.ErrorName in PascalCase"
    if prefix not in optimised and not error.endswith("Exception"):
        return (
            f"an aws-sdk integration names its errors ...Exception (Step Functions adds it): {name}Exception"
        )
    return None


@pytest.mark.parametrize("machine", state_machines(), ids=lambda machine: machine.name)
def test_every_caught_error_can_reach_the_workflow(machine: Any) -> None:
    assert problems(machine.definition(), raised_by_functions()) == []


def test_the_check_refuses_names_that_never_match() -> None:
    definition = {
        "States": {
            "Resolve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["States.Timout", "Lambda.ServiceException"]}],
                "Catch": [{"ErrorEquals": ["InvalidDeployReqest", "UnknownService"], "Next": "Failed"}],
            },
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:putParameter",
                "Retry": [{"ErrorEquals": ["Ssm.TooManyUpdates", "Ssm.ThrottlingException"]}],
                "Catch": [{"ErrorEquals": ["Ecs.ServerException", "LeaseContended"], "Next": "Failed"}],
            },
            "Failed": {"Type": "Fail", "Error": "LeaseContended"},
        }
    }
    assert [problem.split(": ", 2)[1] for problem in problems(definition, raised_by_functions())] == [
        "States.Timout",
        "InvalidDeployReqest",
        "Ssm.TooManyUpdates",
        "Ecs.ServerException",
    ]
    without_lambda = {"States": {"Only": {"Type": "Pass", "Catch": [{"ErrorEquals": ["UnknownService"]}]}}}
    assert len(problems(without_lambda, raised_by_functions())) == 1


def test_the_genai_errors_are_in_the_ops_error_tree() -> None:
    from petclinic_ops.domain.genai import api, router  # noqa: PLC0415

    for error in (api.ChatInputError, router.ModelFailure, router.ChatUnavailable, router.BudgetExhausted):
        assert issubclass(error, errors.OpsError), error
    assert {"ChatInputError", "ModelFailure", "ChatUnavailable", "BudgetExhausted", "ToolError"} <= (
        raised_by_functions()
    )
