"""The provision workflow (statemachines/provision.asl.json, functions/provision_stack) on the local
cloud: from nothing, plan, no-change re-run, a failing stack, what re-provisioning keeps,
teardown, drift, bad input, faults at the states that run after something changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from petclinic_local import provisioning
from petclinic_local.cloud import LocalCloud
from petclinic_local.petclinic.seed import PetClinicSeed

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
    assert [s["added"] for s in planned["stacks"]] == [59, 17, 46, 20]
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
    assert [len(s["resources"]) for s in applied["stacks"]] == [59, 17, 46, 20]
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
    assert sorted(by_subnet[n["SubnetId"]]["CidrBlock"] for n in nats) == ["10.0.1.0/24", "10.0.2.0/24"]
    assert len({n["NatGatewayAddresses"][0]["AllocationId"] for n in nats}) == 2
    [alb] = cloud.client("elbv2").describe_load_balancers(Names=["petclinic-dev"])["LoadBalancers"]
    assert alb["Scheme"] == "internet-facing"
    ecs = cloud.client("ecs")
    [cluster] = ecs.describe_clusters(clusters=["petclinic-dev"], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    names = ["customers-service", "vets-service", "visits-service", "admin-server"]
    services = ecs.describe_services(cluster="petclinic-dev", services=names)["services"]
    assert {s["serviceName"]: s["desiredCount"] for s in services} == {
        "customers-service": 2,
        "vets-service": 2,
        "visits-service": 2,
        "admin-server": 1,
    }
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
    assert acls == ["petclinic-dev", "petclinic-ops-dev-genai"]  # the edge's, the control plane's GenAI API's


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

    cloud = empty_cloud
    request = command.build_request(environment="dev", stacks=["network"], plan=True)
    code = command.run_aws(
        request,
        profile=None,
        region=None,
        stack=cloud.stack_name,
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
