"""The local cloud itself: what tests and the demo rely on beyond single workflows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from template_resources import functions, state_machines

from petclinic_local import runner
from petclinic_local.cloud import LocalCloud
from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def function_log_lines(cloud: LocalCloud, function: str) -> list[str]:
    assert cloud.stack is not None
    group = cloud.stack.functions[function].log_group
    events = cloud.client("logs").filter_log_events(logGroupName=group)["events"]
    return [event["message"] for event in events]


def test_every_cloud_in_a_process_gets_its_functions_logs_in_cloudwatch() -> None:
    # Powertools' Logger binds its handler once per process; a second cloud must still see its logs.
    for _ in range(2):
        with LocalCloud() as cloud:
            cloud.push_image("customers-service", "1.1.0")
            cloud.wait_until_quiet()
            lines = function_log_lines(cloud, "ResolveDeployFunction")
            assert any('"message":"deploy request resolved"' in line for line in lines), lines


def test_the_stack_is_the_template(cloud: LocalCloud) -> None:
    assert cloud.stack is not None
    # Every workflow and function template.yaml declares (none has a Condition that is false here).
    assert sorted(cloud.stack.state_machines) == sorted(machine.logical_id for machine in state_machines())
    assert sorted(cloud.stack.functions) == sorted(function.logical_id for function in functions())
    resolver = cloud.stack.functions["ResolveDeployFunction"]
    assert resolver.code_dir.name == "resolve_deploy"
    assert [layer.name for layer in resolver.layer_dirs] == ["shared"]
    assert resolver.environment["POWERTOOLS_SERVICE_NAME"] == "petclinic-ops"
    assert (
        resolver.environment["SERVICE_NAMES"] == "customers-service,vets-service,visits-service,admin-server"
    )
    assert resolver.environment["CLUSTER_NAME"] == "petclinic-dev"
    # RepositoryPrefix left empty: the environment's repositories, the ones the data stack made.
    assert resolver.environment["REPOSITORY_PREFIX"] == "petclinic/dev/"
    made = {r["repositoryName"] for r in cloud.client("ecr").describe_repositories()["repositories"]}
    assert made == {
        f"petclinic/dev/{service}" for service in resolver.environment["SERVICE_NAMES"].split(",")
    }
    rules = cloud.client("events").list_rules()["Rules"]
    [ecr_rule] = [rule for rule in rules if rule["Name"] == "petclinic-ops-dev-ecr-image-action"]
    assert json.loads(ecr_rule["EventPattern"])["detail"] == {
        "repository-name": [{"prefix": "petclinic/dev/"}]
    }
    assert {rule["Name"] for rule in rules} >= {
        "petclinic-ops-dev-ecr-image-action",
        "petclinic-ops-dev-ecs-deployment-state",
        "petclinic-ops-dev-rotation-succeeded",
    }
    secret = cloud.client("secretsmanager").describe_secret(SecretId=cloud.seeded["databaseSecretArn"])
    assert secret["RotationEnabled"] is True
    assert secret["RotationLambdaARN"].endswith(":function:petclinic-ops-dev-rotate-secret")
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 30


def test_the_alarms_the_runbook_says_page_exist_and_fire(cloud: LocalCloud) -> None:
    """Every alarm template.yaml declares is on the local cloud with its actions (the runbook's
    "Alarms" can be rehearsed); a failed deployment puts deployments-failed in ALARM."""
    template = load_template(ROOT / "template.yaml")
    declared = {
        resource["Properties"]["AlarmName"]["Fn::Sub"].replace("${EnvironmentName}", "dev")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert len(declared) >= 10
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in cloud.client("cloudwatch").describe_alarms(AlarmNamePrefix="petclinic-ops-dev-")[
            "MetricAlarms"
        ]
    }
    assert declared <= set(alarms), sorted(declared - set(alarms))
    topic = cloud.outputs["DeploymentTopicArn"]
    assert all(alarms[name]["AlarmActions"] == [topic] for name in declared)
    failed = "petclinic-ops-dev-deployments-failed"
    assert alarms[failed]["StateValue"] == "OK"  # TreatMissingData notBreaching

    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()
    [after] = cloud.client("cloudwatch").describe_alarms(AlarmNames=[failed])["MetricAlarms"]
    assert after["StateValue"] == "ALARM", after["StateReason"]


def test_the_on_call_dashboard_is_deployed_with_the_stacks_names(cloud: LocalCloud) -> None:
    """template.yaml's OnCallDashboard is in the local CloudWatch, its !Sub resolved: the state
    machines, functions and queue its widgets name are the deployed ones (tests/unit/
    test_dashboard.py checks what the widgets show against what is emitted)."""
    assert cloud.stack is not None
    dashboard = cloud.client("cloudwatch").get_dashboard(DashboardName="petclinic-ops-dev-on-call")
    body = json.loads(dashboard["DashboardBody"])
    assert "${" not in dashboard["DashboardBody"]
    named: dict[str, set[str]] = {}
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            items = [item for item in row if isinstance(item, str)]
            for name, value in zip(items[2::2], items[3::2], strict=False):
                named.setdefault(name, set()).add(value)
    assert named["StateMachineArn"] <= set(cloud.stack.state_machines.values())
    assert named["FunctionName"] <= {spec.name for spec in cloud.stack.functions.values()}
    queue = cloud.client("sqs").get_queue_url(QueueName="petclinic-ops-dev-event-dead-letters")["QueueUrl"]
    assert named["QueueName"] == {queue.rsplit("/", 1)[-1]}


def test_a_local_cloud_ignores_the_callers_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19: a caller with AWS_ENDPOINT_URL set (to a served cloud, say) and a profile of its
    own: a fresh local cloud sends nothing there and looks nothing up; every variable is back
    when it closes."""
    caller = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9",
        "AWS_PROFILE": "no-such-profile",
        "AWS_ACCESS_KEY_ID": "caller-key",
        "AWS_SECRET_ACCESS_KEY": "caller-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    for key, value in caller.items():
        monkeypatch.setenv(key, value)
    with LocalCloud() as cloud:
        seen = {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
        assert not {key for key in seen if key.startswith("AWS_ENDPOINT_URL") or key == "AWS_PROFILE"}
        assert not set(seen.values()) & set(caller.values()), seen
        execution = runner.run(
            cloud, "DeployStateMachine", {"service": "vets-service", "image": "1.0.0"}, name="sealed"
        )
        assert runner.result(execution) == "SUCCEEDED", execution
        urls = cloud.client("ssm").get_parameters_by_path(Path="/petclinic/dev/services/", Recursive=True)
        assert urls["Parameters"]
    for key, value in caller.items():
        assert os.environ[key] == value
