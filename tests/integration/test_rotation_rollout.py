"""Credential rotation and the rollout after it: the real template, ASL, rotation function and a
real MySQL/MariaDB (the `mysql_admin` fixture), on the local cloud."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.secretsmanager.models import secretsmanager_backends

from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud
from petclinic_local.moto_compat.secretsmanager import rotation_event
from petclinic_local.petclinic.database import PetClinicDatabase, connect
from petclinic_local.rotations import ROLLOUT, credentials_report, rotation_cloud, start_rotation

USERS_OF_THE_SECRET = ["customers-service", "vets-service", "visits-service"]  # admin-server has no database


def rollouts(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.executions(ROLLOUT)


def operator_execution(cloud: LocalCloud, arn: str) -> dict[str, Any]:
    [execution] = [e for e in rollouts(cloud) if e["executionArn"] == arn]
    return execution


def rotation_succeeded(cloud: LocalCloud) -> dict[str, Any]:
    secret = secretsmanager_backends[ACCOUNT][REGION].secrets[cloud.seeded["databaseSecretArn"]]
    return rotation_event(secret, "RotationSucceeded")


@pytest.mark.mysql
def test_an_alternating_rotation_keeps_both_versions_working_and_redeploys_the_users(
    database: PetClinicDatabase,
) -> None:
    with rotation_cloud(database, "alternating") as cloud:
        before = {name: s["deployment"]["id"] for name, s in cloud.services().items()}
        arn = start_rotation(cloud)
        cloud.wait_until_quiet()

        execution = operator_execution(cloud, arn)
        assert execution["status"] == "SUCCEEDED", execution
        assert sorted(execution["output"]["redeployed"]) == USERS_OF_THE_SECRET
        report = credentials_report(cloud, database)
        assert report["logins"] == {"AWSCURRENT": True, "AWSPREVIOUS": True}
        assert report["currentUser"] == f"{database.app_user}_clone"
        previous = [v for v in report["versions"] if "AWSPREVIOUS" in v["stages"]]
        assert [v["username"] for v in previous] == [database.app_user]
        after = {name: s["deployment"]["id"] for name, s in cloud.services().items()}
        changed = sorted(name for name in after if after[name] != before[name])
        assert changed == USERS_OF_THE_SECRET
        rows = cloud.deployments()
        assert sorted(row["service"] for row in rows) == USERS_OF_THE_SECRET
        assert all(row["source"] == "rotation" and row["result"] == "SUCCEEDED" for row in rows)
        # The RotationSucceeded event started the workflow too; the operator's claim made it a no-op.
        others = [e for e in rollouts(cloud) if e["executionArn"] != arn]
        assert [e["output"]["result"] for e in others] == ["DUPLICATE"]


@pytest.mark.mysql
def test_a_single_user_rotation_leaves_only_the_new_password_working(database: PetClinicDatabase) -> None:
    with rotation_cloud(database, "single") as cloud:
        arn = start_rotation(cloud)
        cloud.wait_until_quiet()
        execution = operator_execution(cloud, arn)
        assert execution["status"] == "SUCCEEDED", execution
        report = credentials_report(cloud, database)
        assert report["logins"] == {"AWSCURRENT": True, "AWSPREVIOUS": False}
        assert report["currentUser"] == database.app_user


@pytest.mark.mysql
def test_a_failed_rotation_names_the_step_keeps_awscurrent_and_redeploys_nothing(
    database: PetClinicDatabase,
) -> None:
    with rotation_cloud(database, "alternating") as cloud:
        with database_admin(database) as cursor:  # the superuser secret no longer matches the database
            cursor.execute(
                "ALTER USER %s@'%%' IDENTIFIED BY %s", (database.superuser, "changed-elsewhere-123")
            )
        before = cloud.services()
        arn = start_rotation(cloud)
        cloud.wait_until_quiet()

        execution = operator_execution(cloud, arn)
        assert (execution["status"], execution["error"]) == ("FAILED", "RotationFailed")
        assert "failed at setSecret: SuperuserCredentialsRejected" in execution["cause"]
        assert execution["cause"].count("AWSCURRENT is unchanged") == 1  # said once (issue 19)
        assert execution["cause"].endswith(
            "AWSCURRENT is unchanged and keeps working; nothing was redeployed."
        )
        assert "changed-elsewhere-123" not in execution["cause"]
        assert credentials_report(cloud, database)["logins"]["AWSCURRENT"] is True
        assert cloud.services() == before
        assert cloud.deployments() == []


@contextlib.contextmanager
def database_admin(database: PetClinicDatabase) -> Iterator[Any]:
    connection = connect(database.host, database.port, database.admin_user, database.admin_password)
    with connection, connection.cursor() as cursor:
        yield cursor


# ---------------------------------------------------------------- the rollout alone (no database)


def test_a_rotation_event_redeploys_exactly_the_services_that_read_the_secret(cloud: LocalCloud) -> None:
    # admin-server starts reading the secret by name with a JSON key: it is a user now too.
    ecs = cloud.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=cloud.services()["admin-server"]["taskDefinition"])[
        "taskDefinition"
    ]
    container = current["containerDefinitions"][0]
    container["secrets"] = [
        {"name": "SPRING_DATASOURCE_PASSWORD", "valueFrom": "petclinic/dev/aurora/app:password::"}
    ]
    keep = (
        "family",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
    )
    revision = ecs.register_task_definition(
        **{key: current[key] for key in keep},
        containerDefinitions=[container, *current["containerDefinitions"][1:]],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="petclinic-dev", service="admin-server", taskDefinition=revision)
    cloud.wait_until_quiet()
    before = {name: s["deployment"]["id"] for name, s in cloud.services().items()}

    cloud.client("events").put_events(Entries=[rotation_succeeded(cloud)])
    cloud.wait_until_quiet()

    [execution] = rollouts(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    assert sorted(execution["output"]["redeployed"]) == sorted([*USERS_OF_THE_SECRET, "admin-server"])
    after = {name: s["deployment"]["id"] for name, s in cloud.services().items()}
    assert all(after[name] != before[name] for name in after)
    from moto.sns.models import sns_backends  # noqa: PLC0415

    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    announced = [json.loads(sent[1]) for sent in topic.sent_notifications if "secret" in json.loads(sent[1])]
    assert [m["executionArn"] for m in announced] == [execution["executionArn"]]  # issue 19
    counted = cloud.client("cloudwatch").list_metrics(Namespace="PetClinicOps/dev")["Metrics"]
    assert {"RotationRolloutsSucceeded", "RotationRolloutsFailed"} <= {m["MetricName"] for m in counted}
    # The rollout's result is on its claim of the secret's version.
    assert cloud.stack is not None
    deliveries = cloud.client("dynamodb").scan(TableName=cloud.stack.resources["DeliveriesTable"])["Items"]
    [claim] = [item for item in deliveries if item["deliveryKey"]["S"].startswith("rotation:")]
    assert (claim["executionArn"]["S"], claim["result"]["S"]) == (execution["executionArn"], "SUCCEEDED")
    assert sorted(r["service"] for r in json.loads(claim["services"]["S"])) == sorted(
        [*USERS_OF_THE_SECRET, "admin-server"]
    )


def test_a_duplicate_rotation_event_rolls_out_once(cloud: LocalCloud) -> None:
    event = rotation_succeeded(cloud)
    cloud.client("events").put_events(Entries=[event])
    cloud.wait_until_quiet()
    cloud.client("events").put_events(Entries=[event])
    cloud.wait_until_quiet()
    assert sorted(e["output"]["result"] for e in rollouts(cloud)) == ["DUPLICATE", "SUCCEEDED"]
    assert len(cloud.deployments()) == len(USERS_OF_THE_SECRET)


def test_a_failed_service_rollout_is_reported_per_service(cloud: LocalCloud) -> None:
    cloud.inject_fault("vets-service", "FAILED")
    cloud.client("events").put_events(Entries=[rotation_succeeded(cloud)])
    cloud.wait_until_quiet()

    [execution] = rollouts(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "RolloutFailed")
    assert execution["cause"]["failed"] == ["vets-service"]
    results = {r["service"]: r["result"] for r in execution["cause"]["results"]}
    assert results == {
        "customers-service": "SUCCEEDED",
        "vets-service": "FAILED",
        "visits-service": "SUCCEEDED",
    }
    assert {row["service"]: row["result"] for row in cloud.deployments()} == results


def test_a_rotation_rollout_waits_for_a_running_deployment_of_the_same_service(cloud: LocalCloud) -> None:
    with cloud.simulator.holding():
        cloud.push_image("customers-service", "1.1.0")
        cloud.client("events").put_events(Entries=[rotation_succeeded(cloud)])
        # The other services roll out; customers-service waits for the image deployment's lease.
        wait_for(lambda: sum(1 for h in cloud.simulator.history if h["service"] != "customers-service") >= 2)
    cloud.wait_until_quiet()

    rows = [row for row in cloud.deployments() if row["service"] == "customers-service"]
    assert [row["source"] for row in rows] == ["ecr", "rotation"]
    assert rows[0]["endedAt"] <= rows[1]["startedAt"]
    assert all(row["result"] == "SUCCEEDED" for row in rows)
    assert cloud.simulator.overlaps == []


def test_a_stopped_rollout_stops_the_restarts_it_started_and_the_next_deployment_takes_over(
    cloud: LocalCloud,
) -> None:
    """Step Functions stops a startExecution.sync child with its parent (states:StopExecution,
    the rollout's role); the deployments it left behind are taken over by the next one."""
    deploy = "petclinic-ops-dev-deploy"
    with cloud.simulator.holding():
        cloud.client("events").put_events(Entries=[rotation_succeeded(cloud)])
        wait_for(
            lambda: (
                len(cloud.executions(deploy)) == len(USERS_OF_THE_SECRET) and len(cloud.simulator.history) > 0
            )
        )
        [rollout] = rollouts(cloud)
        cloud.client("stepfunctions").stop_execution(executionArn=rollout["executionArn"], cause="operator")
        wait_for(lambda: {e["status"] for e in cloud.executions(deploy)} == {"ABORTED"}, timeout=30)
    cloud.wait_until_quiet()
    assert [e["status"] for e in rollouts(cloud)] == ["ABORTED"]
    cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    [pushed] = [e for e in cloud.executions(deploy) if e["status"] != "ABORTED"]
    assert pushed["status"] == "SUCCEEDED", pushed


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        # IAM refuses the role every other secret, existing or not, before Secrets Manager looks.
        ({"secret": "petclinic/dev/aurora/nope"}, "UnmanagedSecret", "does not exist or is not managed"),
        ({"secrets": "petclinic/dev/aurora/app"}, "InvalidRotationRequest", 'expected {"secret"'),
        (
            {"secret": "petclinic/dev/aurora/app", "force": True},
            "InvalidRotationRequest",
            "(and nothing else)",
        ),
        ({"secret": ""}, "InvalidRotationRequest", "expected"),
    ],
)
def test_a_bad_rotate_request_fails_clearly_and_changes_nothing(
    cloud: LocalCloud, payload: Any, error: str, message: str
) -> None:
    before = cloud.services()
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["RotationRolloutStateMachineArn"], input=json.dumps(payload)
    )
    cloud.wait_until_quiet()
    [execution] = rollouts(cloud)
    assert execution["error"] == error
    assert message in execution["cause"]
    assert cloud.services() == before


def test_a_secret_this_control_plane_does_not_manage_is_refused(cloud: LocalCloud) -> None:
    other = cloud.client("secretsmanager").create_secret(Name="someone/else", SecretString="{}")["ARN"]
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["RotationRolloutStateMachineArn"], input=json.dumps({"secret": other})
    )
    cloud.wait_until_quiet()
    [execution] = rollouts(cloud)
    assert execution["error"] == "UnmanagedSecret"
