"""moto_compat.sdk_integrations: aws-sdk:* tasks' parameters, responses, error and service names."""

from __future__ import annotations

import pytest
from moto_gaps import (
    ISO_MILLIS_Z,
    client,
    create_state_machine,
    execute,
    jsonata_pass,
    local_aws,
    output_of,
    task,
    wait_for_executions,
)

from petclinic_local.cloud import ACCOUNT, REGION


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


def test_needed_aws_sdk_service_names_applicationautoscaling() -> None:
    """If this fails, moto maps aws-sdk:applicationautoscaling itself: drop it from SDK_SERVICE_NAMES."""
    with local_aws(skip={"aws-sdk-service-names"}):
        arn = "arn:aws:states:::aws-sdk:applicationautoscaling:describeScalableTargets"
        described = execute(task(arn, {"ServiceNamespace": "ecs"}))
    assert described["status"] == "FAILED"
    assert "Unknown service: 'applicationautoscaling'" in described["cause"]


def test_closed_aws_sdk_service_names_applicationautoscaling() -> None:
    with local_aws():
        arn = "arn:aws:states:::aws-sdk:applicationautoscaling:describeScalableTargets"
        described = output_of(execute(task(arn, {"ServiceNamespace": "ecs"})))
    assert described == {"ScalableTargets": []}


def test_closed_aws_sdk_service_names() -> None:
    with local_aws():
        client("logs").create_log_group(logGroupName="group")
        groups = output_of(execute(task("arn:aws:states:::aws-sdk:cloudwatchlogs:describeLogGroups", {})))
        missing = execute(
            task("arn:aws:states:::aws-sdk:cloudwatchlogs:describeLogStreams", {"LogGroupName": "missing"})
        )
    assert [group["LogGroupName"] for group in groups["LogGroups"]] == ["group"]
    assert missing["error"] == "CloudWatchLogs.ResourceNotFoundException"


def _child_and_parent() -> str:
    """A parent that runs a one-Pass child with states:startExecution.sync:2; the parent's ARN."""
    child = create_state_machine(jsonata_pass({"done": True}))
    return create_state_machine(
        task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": child, "Input": {"x": 1}})
    )


def test_needed_sfn_integration_names() -> None:
    """If this fails, moto fixed sfn-integration-names: delete the workaround (states:startExecution
    hands its PascalCase parameters to boto3 and reads the child's DescribeExecution back)."""
    with local_aws(skip={"sfn-integration-names"}):
        parent = _child_and_parent()
        sfn = client("stepfunctions")
        sfn.start_execution(stateMachineArn=parent, name="run", input="{}")
        (execution_arn,) = wait_for_executions(parent)
        described = sfn.describe_execution(executionArn=execution_arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"


def test_closed_sfn_integration_names() -> None:
    with local_aws():
        parent = _child_and_parent()
        sfn = client("stepfunctions")
        sfn.start_execution(stateMachineArn=parent, name="run", input="{}")
        (execution_arn,) = wait_for_executions(parent)
        output = output_of(sfn.describe_execution(executionArn=execution_arn))
    assert output["Status"] == "SUCCEEDED"
    assert output["Output"] == {"done": True}
    assert output["ExecutionArn"].startswith("arn:aws:states:")
