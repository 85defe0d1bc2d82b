"""The control plane's roles allow what their workflows and functions call, and put on
``Resource: "*"`` only what IAM cannot scope (tools/iam_check.py, the static half of "least
privilege, proven": the local cloud enforces no IAM). Each test alters the evaluated template in
memory, or gives the analysis a small program of its own, and reads what the check says."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("iam_check", ROOT / "tools" / "iam_check.py")
assert _spec
assert _spec.loader
iam_check: Any = importlib.util.module_from_spec(_spec)
sys.modules["iam_check"] = iam_check  # its dataclasses look their module up
_spec.loader.exec_module(iam_check)

REFERENCE = iam_check.reference()
ACCOUNT_REGION = "us-west-2:123456789012"
RESTART = (
    "RotationRolloutStateMachineRole statemachines/rotation-rollout.asl.json#RollOutServices/RestartService"
)


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    found: dict[str, Any] = iam_check.evaluated()
    return found


def problems(resources: dict[str, Any]) -> list[str]:
    found: list[str] = iam_check.check(iam_check.analyse(resources=resources), REFERENCE)
    return found


def statement(resources: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    for policy in resources[role]["Properties"]["Policies"]:
        for found in policy["PolicyDocument"]["Statement"]:
            if found.get("Sid") == sid:
                return dict(found)
    raise AssertionError(f"{role} has no statement {sid}")


def without(resources: dict[str, Any], role: str, sid: str, action: str | None = None) -> dict[str, Any]:
    """A copy of the resources whose role lacks the statement (or only that action of it)."""
    altered = copy.deepcopy(resources)
    for policy in altered[role]["Properties"]["Policies"]:
        kept = []
        for found in policy["PolicyDocument"]["Statement"]:
            if found.get("Sid") != sid:
                kept.append(found)
            elif action is not None:
                found["Action"] = [a for a in iam_check.listed(found["Action"]) if a != action]
                kept.append(found)
        policy["PolicyDocument"]["Statement"] = kept
    return altered


def adding(resources: dict[str, Any], role: str, added: dict[str, Any]) -> dict[str, Any]:
    altered = copy.deepcopy(resources)
    altered[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(added)
    return altered


# --------------------------------------------------------------------------- the shipped template


@pytest.mark.parametrize("name", sorted(iam_check.PARAMETER_SETS))
def test_the_shipped_template_passes(name: str) -> None:
    analysis = iam_check.analyse(parameters=iam_check.PARAMETER_SETS[name])
    assert iam_check.check(analysis, REFERENCE) == []
    figures = iam_check.report(analysis, REFERENCE)
    # Every state machine and function of the control plane is checked, each source counted.
    assert set(figures["rolesChecked"]) >= {
        "DeployStateMachineRole",
        "RotationRolloutStateMachineRole",
        "ProvisionStackFunctionRole",
        "GenAiRole",
        "RotateSecretRole",
    }
    assert set(figures["requiredBySource"]) == {"asl", "python", "config"}


def test_the_check_reads_every_state_and_every_call_site() -> None:
    analysis = iam_check.analyse()
    states = {n.where for n in analysis.needs if n.source == "asl"}
    assert "statemachines/rotation-rollout.asl.json#RollOutServices/RestartService" in states
    assert "statemachines/deploy.asl.json#WaitForRollout" in states
    calls = {n.where.split(" ", 1)[1] for n in analysis.needs if n.source == "python"}
    assert {
        "cloudformation.create_change_set",
        "secretsmanager.put_secret_value",
        "bedrock-runtime.converse",
        "powertools:SSMProvider.get_multiple",
    } <= calls
    # The resolver is pure: no call of its own.
    assert not [n for n in analysis.needs if n.role == "ResolveDeployFunctionRole" and n.source != "config"]


# --------------------------------------------------------------------------- what is missing fails


def test_a_state_whose_statement_is_removed_fails_naming_the_state_and_the_action(
    resources: dict[str, Any],
) -> None:
    found = problems(
        without(resources, "RotationRolloutStateMachineRole", "RestartServicesThroughTheDeployWorkflow")
    )
    assert found == [
        f"{RESTART}: needs "
        f"states:StartExecution on arn:aws:states:{ACCOUNT_REGION}:stateMachine:petclinic-ops-dev-deploy, "
        "which no statement of the role allows"
    ]


def test_an_action_removed_from_a_statement_fails_for_each_state_that_needs_it(
    resources: dict[str, Any],
) -> None:
    found = problems(
        without(resources, "DeployStateMachineRole", "LeaseLedgerAndDeliveries", "dynamodb:GetItem")
    )
    assert found
    assert all("needs dynamodb:GetItem on" in problem for problem in found)
    assert {problem.split(":", 1)[0] for problem in found} == {
        "DeployStateMachineRole statemachines/deploy.asl.json#InspectLease",
        "DeployStateMachineRole statemachines/deploy.asl.json#ReadEarlyOutcome",
        "DeployStateMachineRole statemachines/deploy.asl.json#ReadRollbackOutcome",
    }


def test_a_statement_on_other_resources_does_not_cover_the_states_table(resources: dict[str, Any]) -> None:
    altered = copy.deepcopy(resources)
    leases = statement(altered, "DeployStateMachineRole", "LeaseLedgerAndDeliveries")["Resource"][0]
    for policy in altered["DeployStateMachineRole"]["Properties"]["Policies"]:
        for found in policy["PolicyDocument"]["Statement"]:
            if found.get("Sid") == "LeaseLedgerAndDeliveries":
                found["Resource"] = [leases]
    found = problems(altered)
    ledger = f"arn:aws:dynamodb:{ACCOUNT_REGION}:table/petclinic-ops-dev-ledger"
    assert (
        "DeployStateMachineRole statemachines/deploy.asl.json#RecordResult: needs dynamodb:PutItem on "
        f"{ledger}, which no statement of the role allows"
    ) in found
    assert any("#RecordDelivery: needs dynamodb:PutItem on" in problem for problem in found)


def test_a_function_call_whose_statement_is_removed_fails_naming_the_call_site(
    resources: dict[str, Any],
) -> None:
    found = problems(without(resources, "GenAiRole", "ReadThePetClinicServiceUrls"))
    assert len(found) == 1
    assert found[0].startswith("GenAiRole layers/shared/petclinic_ops/adapters/genai_petclinic.py:")
    assert found[0].endswith(
        "powertools:SSMProvider.get_multiple: needs ssm:GetParametersByPath, "
        "which no statement of the role allows"
    )


def test_a_deny_takes_away_what_an_allow_grants(resources: dict[str, Any]) -> None:
    deny = {"Effect": "Deny", "Action": "sns:*", "Resource": "*"}
    found = problems(adding(resources, "ScaleStateMachineRole", deny))
    assert any("scale.asl.json#Notify: needs sns:Publish" in problem for problem in found)


def test_a_wildcard_action_covers_what_it_names(resources: dict[str, Any]) -> None:
    altered = without(resources, "GenAiRole", "ReadThePetClinicServiceUrls")
    services = statement(resources, "GenAiRole", "ReadThePetClinicServiceUrls")
    assert problems(adding(altered, "GenAiRole", {**services, "Action": "ssm:GetParameters*"})) == []


def test_a_new_state_inside_a_parallel_or_a_map_needs_its_action_too(resources: dict[str, Any]) -> None:
    altered = copy.deepcopy(resources)
    states = altered["DeployStateMachine"]["Properties"]["Definition"]["States"]
    # Actions the deploy role is never given (it may read and tag images, not delete them).
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ecr:batchDeleteImage",
        "Arguments": {},
        "End": True,
    }
    get = {**put, "Resource": "arn:aws:states:::aws-sdk:ecr:deleteRepository"}
    states["ProtectImages"] = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "ReadImage", "States": {"ReadImage": get}}],
        "End": True,
    }
    states["RetagImages"] = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "PutImage", "States": {"PutImage": put}},
        "End": True,
    }
    assert problems(altered) == [
        "DeployStateMachineRole statemachines/deploy.asl.json#ProtectImages[0]/ReadImage: needs "
        "ecr:DeleteRepository, which no statement of the role allows",
        "DeployStateMachineRole statemachines/deploy.asl.json#RetagImages/PutImage: needs "
        "ecr:BatchDeleteImage, which no statement of the role allows",
    ]


# --------------------------------------------------------------------------- .sync and aws-sdk:


def test_a_sync_integration_requires_its_extra_actions_on_the_managed_rule_and_the_executions() -> None:
    machine = f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:child"
    arguments = {"StateMachineArn": "${Child}", "Input": "{% $states.input %}"}
    needs = iam_check.task_needs(
        "arn:aws:states:::states:startExecution.sync:2", arguments, {"Child": machine}
    )
    rule = f"arn:aws:events:{ACCOUNT_REGION}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    execution = f"arn:aws:states:{ACCOUNT_REGION}:execution:child:an-execution"
    assert needs == [
        ("states:StartExecution", machine),
        ("states:DescribeExecution", execution),
        ("states:StopExecution", execution),
        ("events:PutTargets", rule),
        ("events:PutRule", rule),
        ("events:DescribeRule", rule),
    ]
    fire_and_forget = iam_check.task_needs(
        "arn:aws:states:::states:startExecution", arguments, {"Child": machine}
    )
    assert fire_and_forget == [("states:StartExecution", machine)]


def test_the_sync_rule_statement_removed_fails_the_nested_workflow(resources: dict[str, Any]) -> None:
    found = problems(
        without(resources, "RotationRolloutStateMachineRole", "StepFunctionsSyncIntegrationRule")
    )
    assert sorted(problem.split(": needs ")[1].split(" ")[0] for problem in found) == [
        "events:DescribeRule",
        "events:PutRule",
        "events:PutTargets",
    ]
    assert all(problem.startswith(f"{RESTART}:") for problem in found)


def test_a_wait_for_task_token_integration_needs_what_the_call_needs() -> None:
    needs = iam_check.task_needs(
        "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken",
        {"TableName": "${T}"},
        {"T": "leases"},
    )
    assert needs == [("dynamodb:UpdateItem", f"arn:aws:dynamodb:{ACCOUNT_REGION}:table/leases")]


@pytest.mark.parametrize(
    ("integration", "action"),
    [
        # CloudWatch signs as "monitoring"; its IAM prefix is cloudwatch.
        ("cloudwatch:putMetricData", "cloudwatch:PutMetricData"),
        # The SDK's service ids: SFN is Step Functions (states:), CloudWatch Logs is logs:.
        ("sfn:describeExecution", "states:DescribeExecution"),
        ("cloudwatchlogs:filterLogEvents", "logs:FilterLogEvents"),
        ("applicationautoscaling:registerScalableTarget", "application-autoscaling:RegisterScalableTarget"),
        ("rds:modifyDBCluster", "rds:ModifyDBCluster"),
        ("ecr:batchGetImage", "ecr:BatchGetImage"),
    ],
)
def test_an_aws_sdk_integration_maps_to_its_iam_prefix_and_action(integration: str, action: str) -> None:
    assert iam_check.sdk_actions(integration) == (action,)
    assert REFERENCE.action(action) is not None


def test_an_aws_sdk_integration_of_no_operation_is_an_error() -> None:
    with pytest.raises(iam_check.IamCheckError, match="has no operation"):
        iam_check.sdk_actions("ecs:describeEverything")


def test_an_unreached_state_is_required_once_its_substitution_reaches_it(resources: dict[str, Any]) -> None:
    """The relay's FailWait is left out only while FailedStatuses is empty."""
    assert problems(resources) == []
    altered = copy.deepcopy(resources)
    altered["ScaleEventsStateMachine"]["Properties"]["DefinitionSubstitutions"]["FailedStatuses"] = "FAILED"
    assert problems(altered) == [
        "ScaleEventsStateMachineRole statemachines/task-token-relay.asl.json#FailWait: needs "
        "states:SendTaskFailure, which no statement of the role allows"
    ]


# --------------------------------------------------------------------------- Resource "*"


def test_resource_star_with_a_resource_level_action_fails(resources: dict[str, Any]) -> None:
    star = {
        "Sid": "ReadAnyTableHasNoResourceLevelPermission",
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": "*",
    }
    found = problems(adding(resources, "ScaleStateMachineRole", star))
    assert found == [
        "ScaleStateMachineRole ScaleStateMachineRolePolicy0/ReadAnyTableHasNoResourceLevelPermission: "
        'dynamodb:GetItem on Resource "*": IAM lets it be scoped to resources '
        "(service authorization reference): name them"
    ]


def test_resource_star_checks_every_action_a_wildcard_names(resources: dict[str, Any]) -> None:
    star = {"Sid": "Parameters", "Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"}
    found = problems(adding(resources, "PlanScaleFunctionRole", star))
    # The reference names actions in lower case.
    assert {problem.split(": ")[1].split(" on ")[0] for problem in found} == {
        "ssm:GetParameter* (ssm:getparameter)",
        "ssm:GetParameter* (ssm:getparameterhistory)",
        "ssm:GetParameter* (ssm:getparameters)",
        "ssm:GetParameter* (ssm:getparametersbypath)",
    }


def test_resource_star_with_an_unknown_action_fails(resources: dict[str, Any]) -> None:
    star = {"Sid": "Typo", "Effect": "Allow", "Action": "ecs:DescribeTaskDefinitions", "Resource": "*"}
    [found] = problems(adding(resources, "ScaleStateMachineRole", star))
    assert "ecs:DescribeTaskDefinitions" in found
    assert "not an action of the service authorization reference" in found


def test_an_accepted_star_action_needs_its_condition(resources: dict[str, Any]) -> None:
    count = statement(resources, "ScaleStateMachineRole", "CountRunsInThisStacksNamespaceOnly")
    assert count["Condition"] == {"StringEquals": {"cloudwatch:namespace": "PetClinicOps/dev"}}
    unconditioned = {key: value for key, value in count.items() if key != "Condition"}
    altered = adding(
        without(resources, "ScaleStateMachineRole", "CountRunsInThisStacksNamespaceOnly"),
        "ScaleStateMachineRole",
        unconditioned,
    )
    [found] = problems(altered)
    assert (
        'cloudwatch:PutMetricData on Resource "*": accepted only with the condition cloudwatch:namespace'
        in found
    )


def test_every_star_action_of_the_shipped_roles_is_one_iam_cannot_scope(resources: dict[str, Any]) -> None:
    for role in iam_check.roles_of(resources).values():
        for _, found in role.statements:
            if "*" in iam_check.listed(found.get("Resource", [])):
                for action in iam_check.listed(found["Action"]):
                    assert action in iam_check.STAR_ACCEPTED or not REFERENCE.resource_level(action), action


# --------------------------------------------------------------------------- the Python analysis

PROGRAM = """
from functools import cached_property

import boto3


def _client(service):
    return boto3.client(service, config=None)


class Store:
    def __init__(self, logs=None):
        self._logs = logs
        self.table = boto3.session.Session().client("dynamodb")

    @cached_property
    def logs(self):
        return self._logs or _client("logs")

    def read(self):
        for page in self.logs.get_paginator("filter_log_events").paginate(logGroupName="x"):
            yield page
        self.table.get_item(TableName="t", Key={})
        self.logs.exceptions.ResourceNotFoundException


def handler(event, context):
    ecs = boto3.client("ecs")
    ecs.get_waiter("services_stable").wait(cluster="c", services=["s"])
    return _client("lambda").invoke(FunctionName="f")
"""


def test_the_python_analysis_follows_clients_through_factories_properties_and_locals(tmp_path: Path) -> None:
    (tmp_path / "layers" / "shared").mkdir(parents=True)
    code = tmp_path / "functions" / "f"
    code.mkdir(parents=True)
    (code / "app.py").write_text(PROGRAM)
    needs, unresolved = iam_check.python_needs("Role", code, tmp_path)
    assert unresolved == []
    assert sorted((n.where.split(":", 1)[1], n.action) for n in needs) == [
        ("21 logs.get_paginator:filter_log_events", "logs:FilterLogEvents"),
        ("23 dynamodb.get_item", "dynamodb:GetItem"),
        ("29 ecs.get_waiter:services_stable", "ecs:DescribeServices"),
        ("30 lambda.invoke", "lambda:InvokeFunction"),
    ]


def test_a_client_of_an_unknown_service_or_method_is_reported(tmp_path: Path) -> None:
    (tmp_path / "layers" / "shared").mkdir(parents=True)
    code = tmp_path / "functions" / "f"
    code.mkdir(parents=True)
    (code / "app.py").write_text("import boto3\nname = 'ecs'\nboto3.client(name).list_clusters()\n")
    _, unresolved = iam_check.python_needs("Role", code, tmp_path)
    assert unresolved == [
        "functions/f/app.py:3: a boto3 client whose service is not a literal: name the service"
    ]
    (code / "app.py").write_text("import boto3\nboto3.client('ecs').describe_everything()\n")
    with pytest.raises(iam_check.IamCheckError, match="ecs client has no method describe_everything"):
        iam_check.python_needs("Role", code, tmp_path)
