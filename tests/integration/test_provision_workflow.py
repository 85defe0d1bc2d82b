"""The provision workflow (statemachines/provision.asl.json, functions/provision_stack) on the local
cloud: from nothing, plan, no-change re-run, a failing stack, what re-provisioning keeps (the
other workflows' values and every parameter an operator set), the plan's parameter changes,
protected resources (refused in prod unless forced, flagged in dev, the data stack's policy),
teardown, drift, bad input, faults at the states that run after something changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto.sns.models import sns_backends

from petclinic_local import provisioning, scaling
from petclinic_local.cloud import ACCOUNT, PROJECT_ROOT, REGION, LocalCloud
from petclinic_local.petclinic import stacks
from petclinic_local.petclinic.seed import SERVICE_PARAMETERS, PetClinicSeed, digest_for, register_image
from petclinic_ops.domain import provision_changes

PROVISION = "petclinic-ops-dev-provision"
STACK_NAMES = ["petclinic-dev-network", "petclinic-dev-data", "petclinic-dev-services", "petclinic-dev-edge"]


@pytest.fixture
def empty_cloud() -> Iterator[LocalCloud]:
    """The control plane only: no PetClinic stack yet."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60, seed=PetClinicSeed(provisioned=False)) as local:
        yield local


def _stacks(cloud: LocalCloud) -> dict[str, str]:
    listed = cloud.client("cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"]: s["StackStatus"] for s in listed if s["StackName"].startswith("petclinic-dev-")}


def _runs(cloud: LocalCloud) -> list[dict[str, Any]]:
    deserialize = TypeDeserializer().deserialize
    items = cloud.client("dynamodb").scan(TableName=cloud.outputs["ProvisionTableName"])["Items"]
    rows = [{k: deserialize(v) for k, v in item.items()} for item in items]
    return sorted((row for row in rows if row["pk"].startswith("run#")), key=lambda row: row["startedAt"])


def test_provision_from_nothing_plan_apply_and_a_rerun_that_changes_nothing(empty_cloud: LocalCloud) -> None:
    cloud = empty_cloud
    planned = provisioning.provision(cloud, {"environment": "dev", "plan": True})
    assert planned["execution"]["status"] == "SUCCEEDED"
    assert [(s["name"], s["action"]) for s in planned["stacks"]] == [
        ("network", "PLANNED"),
        ("data", "PLANNED"),
        ("services", "PLANNED"),
        ("edge", "PLANNED"),
    ]
    # network: dev's single-nat profile (one NAT, one interface endpoint); edge: the ALB's own web ACL
    assert [s["added"] for s in planned["stacks"]] == [53, 22, 53, 28]
    assert all(s["modified"] == s["removed"] == 0 for s in planned["stacks"])
    network_plan = {c["logicalId"]: c for c in planned["stacks"][0]["changes"]}
    assert network_plan["NatGatewayA"] == {
        "logicalId": "NatGatewayA",
        "type": "AWS::EC2::NatGateway",
        "action": "Add",
    }
    # A plan changes nothing: no stack (the change sets' review stacks are gone), no VPC.
    assert {status for status in _stacks(cloud).values()} <= {"DELETE_COMPLETE"}
    assert (
        cloud.client("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"] == []
    )

    applied = provisioning.provision(cloud, {"environment": "dev"})
    assert applied["execution"]["status"] == "SUCCEEDED", applied["execution"]
    assert [(s["name"], s["status"], s["action"]) for s in applied["stacks"]] == [
        ("network", "CREATE_COMPLETE", "EXECUTE"),
        ("data", "CREATE_COMPLETE", "EXECUTE"),
        ("services", "CREATE_COMPLETE", "EXECUTE"),
        ("edge", "CREATE_COMPLETE", "EXECUTE"),
    ]
    assert [len(s["resources"]) for s in applied["stacks"]] == [53, 22, 53, 28]
    assert applied["lambdaInvocations"] == 4
    assert applied["parameters"] == [
        f"/petclinic/dev/stacks/{s}/outputs" for s in ("data", "edge", "network", "services")
    ]
    _assert_the_architecture_is_there(cloud)

    again = provisioning.provision(cloud, {"environment": "dev"})
    assert again["execution"]["status"] == "SUCCEEDED"
    assert {s["action"] for s in again["stacks"]} == {"NO_CHANGE"}
    assert all(s["added"] == s["modified"] == s["removed"] == 0 for s in again["stacks"])
    assert again["transitions"] <= 60
    assert again["lambdaInvocations"] == 4  # one per stack

    runs = _runs(cloud)
    assert [(r["action"], r["result"]) for r in runs] == [
        ("plan", "SUCCEEDED"),
        ("provision", "SUCCEEDED"),
        ("provision", "SUCCEEDED"),
    ]
    outputs = json.loads(
        cloud.client("ssm").get_parameter(Name="/petclinic/dev/stacks/services/outputs")["Parameter"]["Value"]
    )
    assert outputs["ClusterName"] == "petclinic-dev"
    kinds = {(row["type"], row["created"]) for row in applied["notEmulated"]}
    assert ("AWS::EC2::NatGateway", True) in kinds
    assert ("AWS::RDS::DBCluster", True) in kinds
    assert all(row["reason"] for row in applied["notEmulated"])


def _assert_the_architecture_is_there(cloud: LocalCloud) -> None:
    ec2 = cloud.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == [f"10.0.{n}.0/24" for n in range(1, 7)]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    by_subnet = {s["SubnetId"]: s for s in subnets}
    # dev's network profile (single-nat): one NAT gateway, in AZ A (the test of the profile has two)
    assert sorted(by_subnet[n["SubnetId"]]["CidrBlock"] for n in nats) == ["10.0.1.0/24"]
    assert len({n["NatGatewayAddresses"][0]["AllocationId"] for n in nats}) == 1
    [alb] = cloud.client("elbv2").describe_load_balancers(Names=["petclinic-dev"])["LoadBalancers"]
    assert alb["Scheme"] == "internet-facing"
    ecs = cloud.client("ecs")
    [cluster] = ecs.describe_clusters(clusters=["petclinic-dev"], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    names = ["customers-service", "vets-service", "visits-service", "admin-server"]
    services = ecs.describe_services(cluster="petclinic-dev", services=names)["services"]
    # Created at 0 tasks: no image and no database user yet (docs/provisioning.md, steps 4-6).
    assert {s["serviceName"]: (s["desiredCount"], s["runningCount"]) for s in services} == {
        name: (0, 0) for name in names
    }
    assert {d["rolloutState"] for s in services for d in s["deployments"]} == {"COMPLETED"}
    assert all(s["launchType"] == "FARGATE" for s in services)
    rds = cloud.client("rds")
    [aurora] = rds.describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"]
    assert aurora["Engine"] == "aurora-mysql"
    assert aurora["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 4.0,
        "SecondsUntilAutoPause": 300,
    }
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["petclinic-dev"]}])[
        "DBInstances"
    ]
    assert sorted((i["DBInstanceIdentifier"], i["AvailabilityZone"]) for i in instances) == [
        ("petclinic-dev-reader", "us-west-2b"),
        ("petclinic-dev-writer", "us-west-2a"),
    ]
    secrets = cloud.client("secretsmanager")
    app = json.loads(secrets.get_secret_value(SecretId="petclinic/dev/aurora/app")["SecretString"])
    master = json.loads(secrets.get_secret_value(SecretId="petclinic/dev/aurora/master")["SecretString"])
    assert app["host"] == master["host"] == aurora["Endpoint"]
    assert app["masterarn"] == secrets.describe_secret(SecretId="petclinic/dev/aurora/master")["ARN"]
    rotation = secrets.describe_secret(SecretId="petclinic/dev/aurora/app")
    assert rotation["RotationEnabled"] is True
    assert rotation["RotationLambdaARN"] == cloud.outputs["RotateSecretFunctionArn"]
    targets = cloud.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
        "ScalableTargets"
    ]
    assert sorted(t["ResourceId"] for t in targets) == [
        "service/petclinic-dev/customers-service",
        "service/petclinic-dev/vets-service",
        "service/petclinic-dev/visits-service",
    ]
    policies = cloud.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")[
        "ScalingPolicies"
    ]
    assert {p["PolicyType"] for p in policies} == {"TargetTrackingScaling"}
    assert len(policies) == 3
    [namespace] = cloud.client("servicediscovery").list_namespaces()["Namespaces"]
    assert namespace["Name"] == "petclinic.local"
    assert len(cloud.client("servicediscovery").list_services()["Services"]) == 4
    acls = sorted(acl["Name"] for acl in cloud.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"])
    # the edge's stage's and ALB's, the control plane's GenAI API's
    assert acls == ["petclinic-dev", "petclinic-dev-alb", "petclinic-ops-dev-genai"]


def test_a_failing_stack_stops_the_run_naming_stack_resource_and_reason(empty_cloud: LocalCloud) -> None:
    cloud = empty_cloud
    cloud.stack_events.fail(
        "petclinic-dev-data", "AuroraCluster", "injected: the account's DB cluster quota is reached"
    )
    report = provisioning.provision(cloud, {"environment": "dev"})
    execution = report["execution"]
    assert execution["status"] == "FAILED"
    assert execution["error"] == "StackFailed"
    cause = execution["cause"]
    assert (cause["stack"], cause["resource"], cause["resourceType"]) == (
        "data",
        "AuroraCluster",
        "AWS::RDS::DBCluster",
    )
    assert cause["reason"] == "injected: the account's DB cluster quota is reached"
    assert cause["stackStatus"] == "ROLLBACK_COMPLETE"
    assert cause["notRun"] == ["services", "edge"]
    stacks = _stacks(cloud)
    assert stacks["petclinic-dev-network"] == "CREATE_COMPLETE"
    assert stacks["petclinic-dev-data"] == "ROLLBACK_COMPLETE"
    assert "petclinic-dev-services" not in stacks
    assert "petclinic-dev-edge" not in stacks
    [run] = _runs(cloud)
    assert run["result"] == "FAILED"
    assert json.loads(run["failure"])["resource"] == "AuroraCluster"
    # The next run is told what to do about the rolled-back stack, and touches nothing.
    retry = provisioning.provision(cloud, {"environment": "dev", "stacks": ["data"]})
    assert retry["execution"]["error"] == "StackBusy"
    assert "ROLLBACK_COMPLETE" in retry["execution"]["cause"]["reason"]


def test_reprovisioning_keeps_the_deployed_digest_the_scaled_counts_and_the_rotated_secret(
    cloud: LocalCloud,
) -> None:
    # The deploy workflow pins a digest.
    cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    deployed = cloud.services()["customers-service"]["image"]
    assert "@sha256:" in deployed
    # The scale workflow's work (its API calls, as issue 9's workflow makes them).
    ecs = cloud.client("ecs")
    ecs.update_service(cluster="petclinic-dev", service="vets-service", desiredCount=5)
    scaling = cloud.client("application-autoscaling")
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/petclinic-dev/visits-service",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=3,
        MaxCapacity=9,
    )
    cloud.client("rds").modify_db_cluster(
        DBClusterIdentifier="petclinic-dev",
        ServerlessV2ScalingConfiguration={
            "MinCapacity": 1.0,
            "MaxCapacity": 8.0,
            "SecondsUntilAutoPause": 900,
        },
        ApplyImmediately=True,
    )
    # A rotation's result: a new AWSCURRENT version of the application secret.
    secrets = cloud.client("secretsmanager")
    value = json.loads(secrets.get_secret_value(SecretId="petclinic/dev/aurora/app")["SecretString"])
    rotated = {**value, "username": "petclinic_clone", "password": "rotated-password-1"}
    secrets.put_secret_value(SecretId="petclinic/dev/aurora/app", SecretString=json.dumps(rotated))
    cloud.wait_until_quiet()

    # A change to every stack that holds them (new CPU target, backup retention, rate limit).
    report = provisioning.provision(
        cloud,
        {
            "environment": "dev",
            "parameters": {
                "services": {"TargetCpuUtilization": "70"},
                "data": {"BackupRetentionDays": "10"},
            },
        },
    )
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    by_name = {s["name"]: s for s in report["stacks"]}
    assert by_name["services"]["status"] == "UPDATE_COMPLETE"
    assert by_name["data"]["status"] == "UPDATE_COMPLETE"
    cloud.wait_until_quiet()

    assert cloud.services()["customers-service"]["image"] == deployed
    [vets] = ecs.describe_services(cluster="petclinic-dev", services=["vets-service"])["services"]
    assert vets["desiredCount"] == 5
    [visits] = scaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/petclinic-dev/visits-service"]
    )["ScalableTargets"]
    assert (visits["MinCapacity"], visits["MaxCapacity"]) == (3, 9)
    [aurora] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"]
    assert aurora["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 1.0,
        "MaxCapacity": 8.0,
        "SecondsUntilAutoPause": 900,  # the scale workflow's, not the template's 300
    }
    assert aurora["BackupRetentionPeriod"] == 10  # the change itself was applied
    assert (
        json.loads(secrets.get_secret_value(SecretId="petclinic/dev/aurora/app")["SecretString"]) == rotated
    )
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert {p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] for p in policies} == {70.0}


def test_the_rotation_configuration_check_at_create_cannot_fail(cloud: LocalCloud) -> None:
    """The data stack's RotationSchedule (RotateImmediatelyOnUpdate: false) calls RotateSecret
    without rotating now: Secrets Manager answers, then checks the configuration by running the
    function's testSecret alone on an AWSPENDING copy of the current value, and removes it. At
    create the function is outside the VPC and the application user does not exist: the check
    passes without a connection (nothing was rotated), leaves no AWSPENDING behind, and the first
    scheduled rotation is not blocked."""
    secrets = cloud.client("secretsmanager")
    app = "petclinic/dev/aurora/app"
    token = secrets.rotate_secret(
        SecretId=app,
        RotationLambdaARN=cloud.outputs["RotateSecretFunctionArn"],
        RotationRules={"ScheduleExpression": "rate(30 days)"},
        RotateImmediately=False,
    )["VersionId"]
    cloud.wait_until_quiet()
    assert cloud.stack is not None
    group = cloud.stack.functions["RotateSecretFunction"].log_group
    lines = [e["message"] for e in cloud.client("logs").filter_log_events(logGroupName=group)["events"]]
    checked = [json.loads(line) for line in lines if token in line]
    assert [(line["step"], line["message"]) for line in checked if "step" in line][-1] == (
        "testSecret",
        "rotation step done",
    ), checked
    assert "nothing to test" in checked[-1]["detail"]
    described = secrets.describe_secret(SecretId=app)
    assert described["RotationEnabled"] is True
    assert token not in described["VersionIdsToStages"]
    assert all("AWSPENDING" not in stages for stages in described["VersionIdsToStages"].values())


def test_teardown_refuses_prod_unless_forced(cloud: LocalCloud) -> None:
    report = provisioning.provision(cloud, {"environment": "prod", "action": "teardown"})
    assert report["execution"]["status"] == "FAILED"
    assert report["execution"]["error"] == "TeardownRefused"
    assert report["lambdaInvocations"] == 0
    assert set(_stacks(cloud).values()) == {"CREATE_COMPLETE"}


def test_teardown_deletes_in_reverse_order_and_keeps_the_data(cloud: LocalCloud) -> None:
    report = provisioning.provision(cloud, {"environment": "dev", "action": "teardown"})
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    assert [(s["name"], s["status"]) for s in report["stacks"]] == [
        ("edge", "DELETE_COMPLETE"),
        ("services", "DELETE_COMPLETE"),
        ("data", "DELETE_COMPLETE"),
        ("network", "DELETE_COMPLETE"),
    ]
    assert set(_stacks(cloud).values()) == {"DELETE_COMPLETE"}
    # Each stack's end reached the run through the relay (recorded, and resumed if it was parked).
    relays = cloud.executions("petclinic-ops-dev-stack-events")
    assert len(relays) >= 4
    assert {r["status"] for r in relays} == {"SUCCEEDED"}
    assert (
        cloud.client("ecs").describe_clusters(clusters=["petclinic-dev"])["clusters"][0]["status"] != "ACTIVE"
    )
    snapshots = cloud.client("rds").describe_db_cluster_snapshots(
        DBClusterIdentifier="petclinic-dev", SnapshotType="manual"
    )["DBClusterSnapshots"]
    assert len(snapshots) == 1
    assert snapshots[0]["DBClusterSnapshotIdentifier"].startswith("petclinic-dev-final-")
    secrets = cloud.client("secretsmanager")
    assert secrets.describe_secret(SecretId="petclinic/dev/aurora/app").get("DeletedDate") is None
    assert secrets.describe_secret(SecretId="petclinic/dev/aurora/master").get("DeletedDate") is None


def test_teardown_told_to_discard_the_data_schedules_the_secrets_deletion_once(cloud: LocalCloud) -> None:
    """keepData false: the retained database secrets go too, in a 7-day recovery window; the
    final snapshot stays. A second teardown finds them scheduled already and succeeds."""
    request = {"environment": "dev", "action": "teardown", "keepData": False}
    report = provisioning.provision(cloud, request)
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    assert set(_stacks(cloud).values()) == {"DELETE_COMPLETE"}
    secrets = cloud.client("secretsmanager")
    for name in ("app", "master"):
        described = secrets.describe_secret(SecretId=f"petclinic/dev/aurora/{name}")
        assert described.get("DeletedDate") is not None, name
    snapshots = cloud.client("rds").describe_db_cluster_snapshots(
        DBClusterIdentifier="petclinic-dev", SnapshotType="manual"
    )["DBClusterSnapshots"]
    assert len(snapshots) == 1
    again = provisioning.provision(cloud, request)
    assert again["execution"]["status"] == "SUCCEEDED", again["execution"]


def test_drift_is_reported_after_an_out_of_band_change(cloud: LocalCloud) -> None:
    cloud.client("ssm").put_parameter(
        Name="/petclinic/dev/config/discovery.namespace", Value="other.local", Type="String", Overwrite=True
    )
    cloud.client("ecs").update_service(cluster="petclinic-dev", service="vets-service", desiredCount=4)
    cloud.wait_until_quiet()
    report = provisioning.provision(cloud, {"environment": "dev", "action": "drift"})
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    by_name = {s["name"]: s["drift"] for s in report["stacks"]}
    assert by_name["network"]["status"] == "IN_SYNC"
    services = by_name["services"]
    assert services["status"] == "DRIFTED"
    [drifted] = services["drifted"]
    assert drifted["logicalId"] == "DiscoveryNamespaceParameter"
    assert drifted["properties"] == [
        {"path": "/Value", "expected": "petclinic.local", "actual": "other.local", "kind": "NOT_EQUAL"}
    ]
    # The scale workflow's desired count is its own, not drift.
    [owned] = services["owned"]
    assert owned["logicalId"] == "VetsService"
    assert owned["properties"][0]["ownedBy"] == "scale"
    assert report["lambdaInvocations"] == 4
    # Counted per action and result, in the stack's namespace.
    [counted] = cloud.client("cloudwatch").list_metrics(
        Namespace="PetClinicOps/dev", MetricName="ProvisionRuns"
    )["Metrics"]
    assert {d["Name"]: d["Value"] for d in counted["Dimensions"]} == {
        "Result": "SUCCEEDED",
        "Action": "drift",
    }


def test_the_drift_check_schedule_starts_the_drift_check_as_its_rules_role(cloud: LocalCloud) -> None:
    cloud.fire_schedule("petclinic-ops-dev-drift-check")
    cloud.wait_until_quiet()
    [run] = cloud.executions(PROVISION)
    assert run["status"] == "SUCCEEDED", run
    assert run["input"] == {"environment": "dev", "action": "drift"}
    report = provisioning.execution_report(cloud, run["executionArn"])
    assert {s["name"]: s["drift"]["status"] for s in report["stacks"]}["network"] == "IN_SYNC"
    with pytest.raises(ValueError, match="is not a schedule rule"):
        cloud.fire_schedule("petclinic-ops-dev-stack-status")


@pytest.mark.parametrize(
    "request_",
    [
        {"environment": "staging"},
        {"environment": "dev", "stacks": ["network", "cdn"]},
        {"environment": "dev", "parameters": {"services": {"NoSuchParameter": "1"}}},
        {"environment": "dev", "parameters": {"data": {"EnvironmentName": "prod"}}},
        {"environment": "dev", "parameters": {"services": {"CustomersDesiredCount": 3}}},
        {"environment": "dev", "plan": "yes"},
        {"environment": "dev", "unexpected": True},
    ],
)
def test_bad_input_fails_at_once_and_changes_nothing(cloud: LocalCloud, request_: dict[str, Any]) -> None:
    execution_arn = provisioning.start(cloud, request_)
    cloud.wait_until_quiet()
    report = provisioning.execution_report(cloud, execution_arn)
    assert report["execution"]["status"] == "FAILED"
    assert report["execution"]["error"] == "InvalidProvisionRequest"
    assert report["lambdaInvocations"] == 0
    assert report["transitions"] <= 3
    assert _runs(cloud) == []


ADMIN_ROLE = """
  Escalate:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {AWS: "*"}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
"""


@pytest.mark.parametrize(
    "tamper",
    [
        "another bucket",
        "another host",
        "http",
        "not content-addressed",
        "changed after upload",
        "parameter store",
    ],
)
def test_a_template_that_is_not_the_control_planes_own_is_refused_naming_it(
    empty_cloud: LocalCloud, tamper: str
) -> None:
    """Only templates/<sha256>.yaml of the control plane's artifact bucket, hashing to its key: the
    edge stack's template is the bad one, and the run is refused before network (the first stack)
    gets a change set: no stack, no run row, one Lambda invocation."""
    cloud = empty_cloud
    urls = provisioning.upload(cloud)
    bucket, s3 = cloud.outputs["ArtifactBucketName"], cloud.client("s3")
    edge_key = urls["edge"].split(".amazonaws.com/", 1)[1]
    edge_body = s3.get_object(Bucket=bucket, Key=edge_key)["Body"].read()
    bad = urls["edge"]
    if tamper == "another bucket":
        s3.create_bucket(
            Bucket="someone-elses-templates", CreateBucketConfiguration={"LocationConstraint": cloud.region}
        )
        s3.put_object(Bucket="someone-elses-templates", Key=edge_key, Body=edge_body)
        bad = urls["edge"].replace(bucket, "someone-elses-templates")
    elif tamper == "another host":
        bad = urls["edge"].replace(".amazonaws.com/", ".amazonaws.com.example.net/")
    elif tamper == "http":
        bad = urls["edge"].replace("https://", "http://")
    elif tamper == "not content-addressed":
        s3.put_object(Bucket=bucket, Key="templates/edge.yaml", Body=edge_body)
        bad = urls["edge"].replace(edge_key, "templates/edge.yaml")
    else:  # the object under the uploaded key (or the URL Parameter Store lists) is someone else's
        tampered = edge_body.replace(b"\nResources:\n", b"\nResources:\n" + ADMIN_ROLE.encode(), 1)
        s3.put_object(Bucket=bucket, Key=edge_key, Body=tampered)
    request: dict[str, Any] = {"environment": "dev"}
    if tamper == "parameter store":
        cloud.client("ssm").put_parameter(
            Name="/petclinic/dev/provision/templates", Type="String", Overwrite=True, Value=json.dumps(urls)
        )
    else:
        request["templates"] = {**urls, "edge": bad}
    execution_arn = provisioning.start(cloud, request, upload_templates=False)
    cloud.wait_until_quiet()
    report = provisioning.execution_report(cloud, execution_arn)
    assert report["execution"]["status"] == "FAILED"
    assert report["execution"]["error"] == "InvalidTemplateLocation"
    assert str(report["execution"]["cause"]).startswith(f"stack edge: template {bad!r}")
    assert report["lambdaInvocations"] == 1
    assert _stacks(cloud) == {}
    assert _runs(cloud) == []


def test_the_roles_the_stacks_create_carry_the_boundary_under_the_workload_path(cloud: LocalCloud) -> None:
    iam = cloud.client("iam")
    boundary = cloud.outputs["WorkloadBoundaryArn"]
    assert boundary.endswith(":policy/petclinic-ops/petclinic-ops-dev-workload-boundary")
    roles = [r for r in iam.list_roles(PathPrefix="/petclinic-workload/")["Roles"]]
    names = sorted(r["RoleName"] for r in roles)
    # execution, four task roles, ECS's deployments and its lifecycle hook, flow logs, RDS
    # monitoring, API Gateway's account logging role
    assert len(names) == 10, names
    assert "petclinic-dev-ecs-lifecycle-hook" in names  # the control plane's hook function is wired
    assert all(
        name.startswith("petclinic-dev-") or "FlowLogRole" in name or "Monitoring" in name for name in names
    )
    for role in roles:
        described = iam.get_role(RoleName=role["RoleName"])["Role"]
        assert described["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary, role["RoleName"]
    # The services run with them: the task definitions name the roles under the path.
    ecs = cloud.client("ecs")
    [service] = ecs.describe_services(cluster="petclinic-dev", services=["vets-service"])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert ":role/petclinic-workload/petclinic-dev-vets-service-task" in definition["taskRoleArn"]
    assert ":role/petclinic-workload/petclinic-dev-ecs-execution" in definition["executionRoleArn"]


def _available(cloud: LocalCloud) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The VPC's NAT gateways and interface endpoints that are up."""
    ec2 = cloud.client("ec2")
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] == "available"]
    endpoints = [
        e
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["VpcEndpointType"] == "Interface" and e["State"].lower() == "available"
    ]
    return nats, endpoints


def test_dev_runs_one_nat_and_the_secrets_endpoint_until_the_profile_says_highly_available(
    cloud: LocalCloud,
) -> None:
    """NetworkProfile by-environment (the default) is single-nat in dev: one NAT gateway for both
    app subnets and one interface endpoint (Secrets Manager, AZ A); highly-available adds the
    second NAT, routes app subnet B through it and brings every endpoint up in both AZs."""
    nats, endpoints = _available(cloud)
    assert len(nats) == 1
    assert [e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints] == ["secretsmanager"]
    assert len(endpoints[0]["SubnetIds"]) == 1
    ec2 = cloud.client("ec2")
    routes = {
        association.get("SubnetId"): route.get("NatGatewayId")
        for table in ec2.describe_route_tables()["RouteTables"]
        for association in table["Associations"]
        for route in table["Routes"]
        if route.get("NatGatewayId")
    }
    assert set(routes.values()) == {nats[0]["NatGatewayId"]}
    for endpoint in ec2.describe_vpc_endpoints()["VpcEndpoints"]:  # each to the account's callers
        for statement in json.loads(endpoint["PolicyDocument"])["Statement"]:
            if statement["Action"] == "*":
                assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == ACCOUNT

    report = provisioning.provision(
        cloud,
        {
            "environment": "dev",
            "stacks": ["network"],
            "parameters": {"network": {"NetworkProfile": "highly-available"}},
        },
    )
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    nats, endpoints = _available(cloud)
    assert len(nats) == 2
    assert len(endpoints) == 9
    assert all(len(e["SubnetIds"]) == 2 for e in endpoints)
    routes = {
        association.get("SubnetId"): route.get("NatGatewayId")
        for table in ec2.describe_route_tables()["RouteTables"]
        for association in table["Associations"]
        for route in table["Routes"]
        if route.get("NatGatewayId")
    }
    assert set(routes.values()) == {n["NatGatewayId"] for n in nats}  # each app subnet its own


def test_the_stacks_tag_their_resources_with_the_environment_and_harden_what_they_run(
    cloud: LocalCloud,
) -> None:
    """The environment tag on every stack (CloudFormation gives stack tags to the resources), the
    services' tags propagated to their tasks; Aurora with TLS required and its logs on; containers
    on a read-only root with a writable /tmp; the ALB's group with no egress but the services'."""
    cfn = cloud.client("cloudformation")
    for name in STACK_NAMES:
        tags = {t["Key"]: t["Value"] for t in cfn.describe_stacks(StackName=name)["Stacks"][0]["Tags"]}
        assert tags["environment"] == "dev", name
    ecs = cloud.client("ecs")
    services = ecs.describe_services(
        cluster="petclinic-dev", services=list(SERVICE_PARAMETERS), include=["TAGS"]
    )["services"]
    assert len(services) == 4
    for service in services:
        assert service["propagateTags"] == "SERVICE"
        assert {"key": "environment", "value": "dev"} in service["tags"]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert definition["volumes"] == [{"name": "tmp"}]
        for container in definition["containerDefinitions"]:
            assert container["readonlyRootFilesystem"] is True, container["name"]
    rds = cloud.client("rds")
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"]
    assert cluster["DBClusterParameterGroup"] == "petclinic-dev"
    parameters = {
        p["ParameterName"]: p.get("ParameterValue")
        for p in rds.describe_db_cluster_parameters(DBClusterParameterGroupName="petclinic-dev")["Parameters"]
    }
    assert parameters["require_secure_transport"] == "ON"
    assert (parameters["server_audit_logging"], parameters["slow_query_log"]) == ("1", "1")
    ec2 = cloud.client("ec2")
    [alb] = ec2.describe_security_groups(Filters=[{"Name": "tag:Name", "Values": ["petclinic-dev-alb"]}])[
        "SecurityGroups"
    ]
    out = [
        (p.get("FromPort"), p.get("ToPort"), [r["CidrIp"] for r in p["IpRanges"]])
        for p in alb["IpPermissionsEgress"]
    ]
    assert sorted(out, key=str) == sorted(
        [(None, None, ["127.0.0.1/32"]), (8080, 8080, []), (9090, 9090, [])], key=str
    )


EDGE_CHANGE = {
    "environment": "dev",
    "stacks": ["edge"],
    "parameters": {"edge": {"RateLimitPer5Minutes": "3000"}},
}


@pytest.mark.parametrize(
    "state", ["ClaimStack", "ExecuteChangeSet", "WaitForStack", "DescribeStack", "PublishOutputs"]
)
def test_a_fault_after_a_change_ends_recorded_and_announced(cloud: LocalCloud, state: str) -> None:
    cloud.faults.fail(PROVISION, state, error="Injected.ServiceUnavailable")
    report = provisioning.provision(cloud, EDGE_CHANGE)
    assert report["execution"]["status"] == "FAILED"
    cause = report["execution"]["cause"]
    assert cause["stack"] == "edge"
    # The failed call's error (and its cause, when the integration reports one) is the reason.
    assert cause["reason"].split(":")[0] in {
        "Injected.ServiceUnavailable",
        "DynamoDB.AmazonDynamoDBException",
    }
    [run] = _runs(cloud)
    assert run["result"] == "FAILED"
    assert json.loads(run["failure"])["stack"] == "edge"
    # What it touched is in a known state: the edge stack is as CloudFormation left it.
    edge = cloud.client("cloudformation").describe_stacks(StackName="petclinic-dev-edge")["Stacks"][0]
    assert edge["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}


def test_a_status_event_that_arrives_before_the_wait_is_not_lost(cloud: LocalCloud) -> None:
    cloud.stack_events.delay = 0.0  # the event is on the bus before the token is parked
    report = provisioning.provision(cloud, EDGE_CHANGE)
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    assert report["stacks"][0]["status"] == "UPDATE_COMPLETE"


def test_from_nothing_the_services_come_up_the_documented_way_and_end_steady(empty_cloud: LocalCloud) -> None:
    """docs/provisioning.md's order on an empty account (empty ECR, no database user): provision
    creates every stack with the services at 0 tasks; the first images are pushed to the
    repositories the data stack made; the scale workflow's business-hours profile brings the
    services up, and every one ends steady, each task started from an image that is in ECR."""
    cloud = empty_cloud
    report = provisioning.provision(cloud, {"environment": "dev"})
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    assert {s["status"] for s in report["stacks"]} == {"CREATE_COMPLETE"}
    data = json.loads(
        cloud.client("ssm").get_parameter(Name="/petclinic/dev/stacks/data/outputs")["Parameter"]["Value"]
    )
    ecr = cloud.client("ecr")
    for prefix in SERVICE_PARAMETERS.values():
        repository = data[f"{prefix}RepositoryUri"].split("/", 1)[1]
        assert ecr.describe_images(repositoryName=repository)["imageDetails"] == []  # empty until step 5
        register_image(REGION, repository, "1.0.0", digest_for(repository, "1.0.0"))  # step 5

    scaled = scaling.scale(cloud, "business-hours")  # step 6
    assert scaled["result"] == "APPLIED", scaled["execution"]
    assert {row["result"] for row in scaled["targets"] if row["target"].startswith("service/")} == {"STEADY"}
    cloud.wait_until_quiet()
    names = list(SERVICE_PARAMETERS)
    services = cloud.client("ecs").describe_services(cluster="petclinic-dev", services=names)["services"]
    running = {s["serviceName"]: (s["desiredCount"], s["runningCount"]) for s in services}
    assert running == {
        "customers-service": (1, 1),
        "vets-service": (1, 1),
        "visits-service": (1, 1),
        "admin-server": (1, 1),
    }
    assert not [h for h in cloud.simulator.history if "stoppedReason" in h]


def test_from_nothing_the_old_services_stack_fails_on_an_empty_registry(empty_cloud: LocalCloud) -> None:
    """What AWS did to the first create when the services stack started 2 tasks each at once: the
    tasks cannot pull their image, the circuit breaker fails the service and the stack."""
    cloud = empty_cloud
    report = provisioning.provision(
        cloud, {"environment": "dev", "parameters": {"services": {"VetsDesiredCount": "2"}}}
    )
    assert report["execution"]["status"] == "FAILED"
    run = _runs(cloud)[-1]
    failure = json.loads(run["failure"])
    assert (failure["stack"], failure["resource"]) == ("services", "VetsService")
    assert "ECS Deployment Circuit Breaker was triggered" in failure["reason"]
    assert "CannotPullContainerError" in failure["reason"]


def test_local_run_acts_on_what_the_workflow_provisioned(empty_cloud: LocalCloud) -> None:
    cloud = empty_cloud
    report = provisioning.provision(cloud, {"environment": "dev"})
    assert report["execution"]["status"] == "SUCCEEDED"
    provisioning.adopt(cloud)
    assert cloud.seeded["databaseSecretArn"].split(":")[-1].startswith("petclinic/dev/aurora/app")
    cloud.push_image("visits-service", "2.0.0")
    cloud.wait_until_quiet()
    [row] = cloud.deployments()
    assert (row["service"], row["result"]) == ("visits-service", "SUCCEEDED")
    assert "@sha256:" in cloud.services()["visits-service"]["image"]


def test_the_aws_command_uploads_content_addressed_starts_and_follows(
    empty_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """`petclinic-ops provision` against the local cloud's control plane stack, as on AWS."""
    from petclinic_local.cli import provision as command  # noqa: PLC0415
    from petclinic_local.cli.aws import Target  # noqa: PLC0415

    cloud = empty_cloud
    request = command.build_request(environment="dev", stacks=["network"], plan=True)
    code = command.run_aws(
        request,
        target=Target(stack=cloud.stack_name),
        timeout=300,
        poll_seconds=0.05,
        as_json=True,
        session=cloud.session,
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["action"]) for s in report["stacks"]] == [("network", "PLANNED")]
    keys = [
        o["Key"]
        for o in cloud.client("s3").list_objects_v2(Bucket=cloud.outputs["ArtifactBucketName"])["Contents"]
    ]
    assert len(keys) == 4
    assert all(k.startswith("templates/") and len(k) == len("templates/") + 64 + len(".yaml") for k in keys)
    uploaded = json.loads(
        cloud.client("ssm").get_parameter(Name="/petclinic/dev/provision/templates")["Parameter"]["Value"]
    )
    assert sorted(uploaded) == ["data", "edge", "network", "services"]
    # Bad input: refused before anything starts (exit 2 from the CLI's UsageError).
    from petclinic_local.errors import UsageError  # noqa: PLC0415

    with pytest.raises(UsageError, match="refusing to tear down prod"):
        command.build_request(environment="prod", action="teardown")


# --------------------------------------------------------------------------- what an operator set stays

PROTECTING = provision_changes.stack_policy("data")


def _run(cloud: LocalCloud, request: dict[str, Any], *, root: Path | None = None) -> dict[str, Any]:
    """The workflow with infra/ as the CLI uploads it, or with the templates under ``root``."""
    if root is not None:
        stacks.upload_templates(
            s3=cloud.client("s3"),
            ssm=cloud.client("ssm"),
            bucket=cloud.outputs["ArtifactBucketName"],
            environment=str(request["environment"]),
            root=root,
            region=cloud.region,
        )
    execution_arn = provisioning.start(cloud, request, upload_templates=root is None)
    cloud.wait_until_quiet()
    return provisioning.execution_report(cloud, execution_arn)


def _stack_parameters(cloud: LocalCloud, name: str) -> dict[str, str]:
    described = cloud.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}


def _live_edge(cloud: LocalCloud, environment: str = "dev") -> tuple[int, str, str]:
    """(the WAF's per-IP rate limit, the GenAI route's integration type and URI)."""
    waf = cloud.client("wafv2")
    [summary] = [
        a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == f"petclinic-{environment}"
    ]
    acl = waf.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    [limit] = [
        r["Statement"]["RateBasedStatement"]["Limit"]
        for r in acl["Rules"]
        if r["Name"] == "rate-limit-per-ip"
    ]
    api_id = json.loads(
        cloud.client("ssm").get_parameter(Name=f"/petclinic/{environment}/stacks/edge/outputs")["Parameter"][
            "Value"
        ]
    )["ApiId"]
    apigw = cloud.client("apigateway")
    [route] = [r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/api/genai/chat"]
    integration = apigw.get_method(restApiId=api_id, resourceId=route["id"], httpMethod="POST")[
        "methodIntegration"
    ]
    return limit, integration["type"], integration.get("uri", "")


def test_a_plain_reprovision_undoes_nothing_an_operator_set(cloud: LocalCloud) -> None:
    """The audit's case: deletion protection, the GenAI route and the WAF limit set by an operator
    stay after a plain re-provision (they went back to the template defaults)."""
    function = cloud.client("lambda").get_function(FunctionName="petclinic-ops-dev-genai")
    live = function["Configuration"]["FunctionArn"] + ":live"
    set_by_operator = {
        "environment": "dev",
        "stacks": ["data", "edge"],
        "parameters": {
            "data": {"DeletionProtection": "true"},
            "edge": {"GenAiFunctionArn": live, "RateLimitPer5Minutes": "3000"},
        },
    }
    [aurora] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"]
    assert aurora["DeletionProtection"] is False  # the environment's: off in dev
    changed = _run(cloud, set_by_operator)
    assert changed["execution"]["status"] == "SUCCEEDED", changed["execution"]
    by_name = {s["name"]: s for s in changed["stacks"]}
    assert by_name["data"]["parameterChanges"] == [
        {"name": "DeletionProtection", "before": "environment", "after": "true", "source": "operator"}
    ]
    assert by_name["data"]["parametersOnly"] is True
    assert [
        (c["name"], c["before"], c["after"])
        for c in by_name["edge"]["parameterChanges"]
        if c["source"] == "operator"
    ] == [
        ("GenAiFunctionArn", "", live),
        ("RateLimitPer5Minutes", "2000", "3000"),
    ]
    # The API's definition changed: a new deployment (the other slot), wired by the workflow.
    wired = {c["name"]: c for c in by_name["edge"]["parameterChanges"] if c["source"] == "wired"}
    assert sorted(wired) == ["ApiDefinition", "ApiDeploymentSlot"]
    assert (wired["ApiDeploymentSlot"]["before"], wired["ApiDeploymentSlot"]["after"]) == ("A", "B")
    webacl = next(c for c in by_name["edge"]["changes"] if c["logicalId"] == "WebAcl")
    assert webacl["causes"] == ["parameter RateLimitPer5Minutes"]
    # The plan is in the ledger and in the notification too.
    [run] = _runs(cloud)
    ledger = {s["stack"]: s for s in json.loads(run["stacks"])}
    assert ledger["data"]["parameterChanges"] == by_name["data"]["parameterChanges"]
    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    message = json.loads(topic.sent_notifications[-1][1])
    assert {s["stack"]: s["parameterChanges"] for s in message["stacks"]}["edge"] == by_name["edge"][
        "parameterChanges"
    ]

    plain = _run(cloud, {"environment": "dev"})
    assert plain["execution"]["status"] == "SUCCEEDED", plain["execution"]
    assert [(s["name"], s["action"]) for s in plain["stacks"]] == [
        ("network", "NO_CHANGE"),
        ("data", "NO_CHANGE"),
        ("services", "NO_CHANGE"),
        ("edge", "NO_CHANGE"),
    ]
    assert not any(s.get("parameterChanges") for s in plain["stacks"])
    [aurora] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"]
    assert aurora["DeletionProtection"] is True
    assert _live_edge(cloud) == (
        3000,
        "AWS_PROXY",
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{live}/invocations",
    )
    assert _stack_parameters(cloud, "petclinic-dev-edge")["RateLimitPer5Minutes"] == "3000"


# --------------------------------------------------------------------------- protected resources


def _renamed_audit_log(tmp_path: Path) -> Path:
    """infra/ with the data stack's audit log group renamed: a replacement of a protected resource."""
    shutil.copytree(PROJECT_ROOT / "infra", tmp_path / "infra")
    data = tmp_path / "infra" / "data.yaml"
    text = data.read_text(encoding="utf-8")
    old = "LogGroupName: !Sub /aws/rds/cluster/petclinic-${EnvironmentName}/audit\n"
    assert text.count(old) == 1
    data.write_text(text.replace(old, old.replace("/audit", "/audit-v2")), encoding="utf-8")
    return tmp_path


def _audit_logs(cloud: LocalCloud, environment: str = "dev") -> list[str]:
    prefix = f"/aws/rds/cluster/petclinic-{environment}/audit"
    groups = cloud.client("logs").describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    return sorted(g["logGroupName"] for g in groups)


def _policy(cloud: LocalCloud, name: str) -> Any:
    body = cloud.client("cloudformation").get_stack_policy(StackName=name).get("StackPolicyBody")
    return json.loads(body) if body else None


def test_dev_flags_a_protected_change_and_applies_it_as_a_replacement(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    root = _renamed_audit_log(tmp_path)
    assert _policy(cloud, "petclinic-dev-data") == json.loads(str(PROTECTING))  # the data stack carries it
    planned = _run(cloud, {"environment": "dev", "stacks": ["data"], "plan": True}, root=root)
    assert planned["execution"]["status"] == "SUCCEEDED", planned["execution"]
    [data] = planned["stacks"]
    assert data["protected"] == [
        {"logicalId": "AuditLogGroup", "type": "AWS::Logs::LogGroup", "change": "replace"}
    ]
    audit = next(c for c in data["changes"] if c["logicalId"] == "AuditLogGroup")
    assert (audit["replacement"], audit["replacedBy"], audit["causes"]) == (
        "True",
        ["LogGroupName"],
        ["template"],
    )
    assert "flagged (dev: allowed)" in data["reason"]
    assert _audit_logs(cloud) == ["/aws/rds/cluster/petclinic-dev/audit"]  # a plan changes nothing

    applied = _run(cloud, {"environment": "dev", "stacks": ["data"]}, root=root)
    assert applied["execution"]["status"] == "SUCCEEDED", applied["execution"]
    assert applied["stacks"][0]["status"] == "UPDATE_COMPLETE"
    # A new one; the old one kept (UpdateReplacePolicy: Retain): what it holds is not lost.
    assert _audit_logs(cloud) == [
        "/aws/rds/cluster/petclinic-dev/audit",
        "/aws/rds/cluster/petclinic-dev/audit-v2",
    ]
    assert _policy(cloud, "petclinic-dev-data") == json.loads(str(PROTECTING))  # put back after the run


@pytest.fixture
def prod_cloud() -> Iterator[LocalCloud]:
    """A local cloud whose control plane and PetClinic stacks are prod's."""
    seed = PetClinicSeed(
        environment="prod",
        cluster="petclinic-prod",
        database_secret="petclinic/prod/aurora/app",
        master_secret="petclinic/prod/aurora/master",
    )
    parameters = {"EnvironmentName": "prod", "ClusterName": "petclinic-prod"}
    with LocalCloud(time_scale=0.01, rollout_seconds=60, seed=seed, parameters=parameters) as local:
        yield local


def test_prod_refuses_a_protected_change_unless_forced_and_changes_nothing(
    prod_cloud: LocalCloud, tmp_path: Path
) -> None:
    cloud, name = prod_cloud, "petclinic-prod-data"
    cfn = cloud.client("cloudformation")
    protect = _run(
        cloud,
        {"environment": "prod", "stacks": ["data"], "parameters": {"data": {"DeletionProtection": "true"}}},
    )
    assert protect["execution"]["status"] == "SUCCEEDED", protect["execution"]  # turning it on is fine
    assert [s["action"] for s in protect["stacks"]] == ["NO_CHANGE"]  # prod's default protects already

    off = _run(
        cloud,
        {"environment": "prod", "stacks": ["data"], "parameters": {"data": {"DeletionProtection": "false"}}},
    )
    assert (off["execution"]["status"], off["execution"]["error"]) == ("FAILED", "ProtectedChangeRefused")
    assert "refusing to turn DeletionProtection off" in off["execution"]["cause"]["reason"]
    [aurora] = cloud.client("rds").describe_db_clusters(DBClusterIdentifier="petclinic-prod")["DBClusters"]
    assert aurora["DeletionProtection"] is True
    # "true" changed no resource (prod's default, "environment", protects already): CloudFormation
    # kept the stack's value.
    assert _stack_parameters(cloud, name)["DeletionProtection"] == "environment"

    root = _renamed_audit_log(tmp_path)
    replace = _run(cloud, {"environment": "prod", "stacks": ["data"]}, root=root)
    assert replace["execution"]["error"] == "ProtectedChangeRefused"
    assert (
        "refusing to replace AuditLogGroup (a log group, AWS::Logs::LogGroup)"
        in replace["execution"]["cause"]["reason"]
    )
    assert _audit_logs(cloud, "prod") == ["/aws/rds/cluster/petclinic-prod/audit"]  # nothing changed
    executable = [
        c
        for c in cfn.list_change_sets(StackName=name)["Summaries"]
        if c["StackName"] == name and c["ExecutionStatus"] == "AVAILABLE"
    ]
    assert executable == []  # the refused change set is gone: nothing left to execute
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"  # untouched
    runs = _runs(cloud)
    assert [(r["result"], json.loads(r["failure"]) and json.loads(r["failure"])["error"]) for r in runs] == [
        ("SUCCEEDED", None),
        ("FAILED", "ProtectedChangeRefused"),
        ("FAILED", "ProtectedChangeRefused"),
    ]

    forced = _run(cloud, {"environment": "prod", "stacks": ["data"], "force": True}, root=root)
    assert forced["execution"]["status"] == "SUCCEEDED", forced["execution"]
    assert "protected changes forced" in forced["stacks"][0]["reason"]
    assert _audit_logs(cloud, "prod") == [
        "/aws/rds/cluster/petclinic-prod/audit",  # kept (UpdateReplacePolicy: Retain)
        "/aws/rds/cluster/petclinic-prod/audit-v2",
    ]
    assert _policy(cloud, name) == json.loads(str(PROTECTING))


def test_prod_protects_aurora_by_default_and_keeps_an_operators_choice(prod_cloud: LocalCloud) -> None:
    """DeletionProtection's default is the environment's (on in prod, as the ALB's); turning it
    off is a protected change (refused unless forced), and a plain re-provision keeps the
    operator's value (UsePreviousValue), not the default."""
    cloud, name = prod_cloud, "petclinic-prod-data"
    rds = cloud.client("rds")
    [aurora] = rds.describe_db_clusters(DBClusterIdentifier="petclinic-prod")["DBClusters"]
    assert aurora["DeletionProtection"] is True
    assert _stack_parameters(cloud, name)["DeletionProtection"] == "environment"
    off = {"environment": "prod", "stacks": ["data"], "parameters": {"data": {"DeletionProtection": "false"}}}
    refused = _run(cloud, off)
    assert (refused["execution"]["status"], refused["execution"]["error"]) == (
        "FAILED",
        "ProtectedChangeRefused",
    )
    assert "refusing to turn DeletionProtection off" in refused["execution"]["cause"]["reason"]
    forced = _run(cloud, {**off, "force": True})
    assert forced["execution"]["status"] == "SUCCEEDED", forced["execution"]
    [aurora] = rds.describe_db_clusters(DBClusterIdentifier="petclinic-prod")["DBClusters"]
    assert aurora["DeletionProtection"] is False
    plain = _run(cloud, {"environment": "prod", "stacks": ["data"]})
    assert [s["action"] for s in plain["stacks"]] == ["NO_CHANGE"]
    [aurora] = rds.describe_db_clusters(DBClusterIdentifier="petclinic-prod")["DBClusters"]
    assert aurora["DeletionProtection"] is False
    assert _stack_parameters(cloud, name)["DeletionProtection"] == "false"


def test_the_stack_policy_stops_a_replacement_no_run_allowed(cloud: LocalCloud, tmp_path: Path) -> None:
    """On AWS the data stack's policy backs the refusal up: a change set executed outside the
    workflow (by hand, by another tool) cannot replace what it protects."""
    root = _renamed_audit_log(tmp_path)
    cfn = cloud.client("cloudformation")
    described = cfn.describe_stacks(StackName="petclinic-dev-data")["Stacks"][0]
    created = cfn.create_change_set(
        StackName="petclinic-dev-data",
        ChangeSetName="by-hand",
        TemplateBody=(root / "infra" / "data.yaml").read_text(encoding="utf-8"),
        ChangeSetType="UPDATE",
        Parameters=[
            {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in described["Parameters"]
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])
    stack = cfn.describe_stacks(StackName="petclinic-dev-data")["Stacks"][0]
    failed = [
        e
        for e in cfn.describe_stack_events(StackName="petclinic-dev-data")["StackEvents"]
        if e["ResourceStatus"] == "UPDATE_FAILED"
    ]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert [(e["LogicalResourceId"], e["ResourceStatusReason"]) for e in failed] == [
        ("AuditLogGroup", "Action denied by stack policy: Statement [#2] has a Deny effect")
    ]
    assert _audit_logs(cloud) == ["/aws/rds/cluster/petclinic-dev/audit"]


@pytest.mark.parametrize(
    "state",
    [
        "AllowProtectedChanges",
        "ClaimStack",
        "ExecuteChangeSet",
        "WaitForStack",
        "DescribeStack",
        "ProtectStack",
        "PublishOutputs",
    ],
)
def test_a_fault_after_the_policy_was_overridden_puts_it_back(
    cloud: LocalCloud, tmp_path: Path, state: str
) -> None:
    root = _renamed_audit_log(tmp_path)
    cloud.faults.fail(PROVISION, state, error="Injected.ServiceUnavailable")
    report = _run(cloud, {"environment": "dev", "stacks": ["data"]}, root=root)
    assert report["execution"]["status"] == "FAILED"
    assert report["execution"]["cause"]["stack"] == "data"
    [run] = _runs(cloud)
    assert run["result"] == "FAILED"
    assert _policy(cloud, "petclinic-dev-data") == json.loads(str(PROTECTING))
    status = cloud.client("cloudformation").describe_stacks(StackName="petclinic-dev-data")["Stacks"][0][
        "StackStatus"
    ]
    assert status in {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
    }  # as it was, or as CloudFormation left it
