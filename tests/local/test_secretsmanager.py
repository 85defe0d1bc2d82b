"""moto_compat.secretsmanager: RotateSecret rotates in the background as AWS does, for the host's
functions; moto's own RotateSecret otherwise."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto_gaps import (
    PASS,
    ROLE_ARN,
    FakeHooks,
    FunctionResult,
    client,
    create_function,
    create_state_machine,
    execution_inputs,
    local_aws,
)

from petclinic_local.cloud import REGION

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
        create_function("rotate")
        function_arn = client("lambda").get_function(FunctionName="rotate")["Configuration"]["FunctionArn"]
        client("lambda").add_permission(  # as template.yaml's SecretsManagerInvokesRotation
            FunctionName="rotate",
            StatementId="secrets-manager",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
        )
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
    return [event["detail"] for event in execution_inputs(state_machine, count=count)]


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


def test_closed_secretsmanager_rotation_keeps_moto_validations() -> None:
    """The patch wraps moto's RotateSecret: its checks of the token and the rules still apply
    to the host's functions, and a rejected request starts nothing."""
    rotation = RotationFunction()
    with rotation_setup(rotation) as (hooks, function_arn, _):
        # As moto's own tests send it: past botocore's checks, which would stop it first.
        secrets = boto3.client(
            "secretsmanager", region_name=REGION, config=Config(parameter_validation=False)
        )
        with pytest.raises(secrets.exceptions.InvalidParameterException, match="32-64 characters"):
            secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn, ClientRequestToken="short")
        with pytest.raises(secrets.exceptions.InvalidParameterException, match="within 1-1000"):
            secrets.rotate_secret(
                SecretId="db", RotationLambdaARN=function_arn, RotationRules={"AutomaticallyAfterDays": 0}
            )
        stages = secrets.describe_secret(SecretId="db")["VersionIdsToStages"]
    assert list(stages.values()) == [["AWSCURRENT"]]
    assert hooks.pending == []
    assert rotation.steps == []


def test_closed_secretsmanager_rotation_by_another_function_is_motos() -> None:
    """A function the host does not run: RotateSecret is moto's own (it invokes the function
    inside the call, moto's way, and promotes the new version), nothing runs in the background."""
    rotation = RotationFunction()
    with rotation_setup(rotation) as (hooks, _, _):
        create_function("elsewhere")
        other_arn = client("lambda").get_function(FunctionName="elsewhere")["Configuration"]["FunctionArn"]
        secrets = client("secretsmanager")
        token = secrets.rotate_secret(SecretId="db", RotationLambdaARN=other_arn)["VersionId"]
        described = secrets.describe_secret(SecretId="db")
    assert hooks.pending == []
    assert rotation.steps == []
    assert described["RotationLambdaARN"] == other_arn
    assert "LastRotatedDate" in described  # moto dates the rotation when asked; AWS once it succeeded
    assert described["VersionIdsToStages"][token] == ["AWSPENDING"]


def test_closed_secretsmanager_rotation_after_a_finished_retry() -> None:
    """finishSecret failed, then succeeded when retried (AWSCURRENT and AWSPENDING on the new
    version): AWS allows the next rotation; moto takes it for one still in progress."""
    rotation = RotationFunction(fail_from="finishSecret")
    with rotation_setup(rotation) as (hooks, function_arn, _):
        secrets = client("secretsmanager")
        original = _version_with("AWSCURRENT")
        token = secrets.rotate_secret(SecretId="db", RotationLambdaARN=function_arn)["VersionId"]
        hooks.run_background()
        secrets.update_secret_version_stage(
            SecretId="db", VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=original
        )
        retried = sorted(secrets.describe_secret(SecretId="db")["VersionIdsToStages"][token])
        rotation.fail_from = None
        following = secrets.rotate_secret(SecretId="db")["VersionId"]
        hooks.run_background()
        stages = secrets.describe_secret(SecretId="db")["VersionIdsToStages"]
    assert retried == ["AWSCURRENT", "AWSPENDING"]
    assert stages[following] == ["AWSCURRENT"]
    assert stages[token] == ["AWSPREVIOUS"]
