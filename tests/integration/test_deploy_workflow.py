"""The deploy workflow: the real template, ASL files and handlers on the local cloud."""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path

from deploy_helpers import deploy_executions, lease_item, parked, results, running, wait_for
from moto.sns.models import sns_backends

from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud, ecr_push_event
from petclinic_local.simulators.ecs import start_failure

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def test_a_push_deploys_the_image_pinned_by_digest(cloud: LocalCloud) -> None:
    before = cloud.services()["customers-service"]
    push = cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()

    digest = push["detail"]["image-digest"]
    after = cloud.services()["customers-service"]
    assert after["image"] == f"{REGISTRY}/petclinic/dev/customers-service@{digest}"
    assert after["taskDefinition"].endswith("petclinic-dev-customers-service:2")
    assert after["deployment"]["rolloutState"] == "COMPLETED"
    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["output"]["result"] == "SUCCEEDED"
    [row] = cloud.deployments()
    assert row["result"] == "SUCCEEDED"
    assert (row["service"], row["digest"], row["tag"]) == ("customers-service", digest, "1.1.0")
    assert row["taskDefinitionBefore"] == before["taskDefinition"]
    assert row["taskDefinitionAfter"] == after["taskDefinition"]
    assert row["executionArn"] == execution["executionArn"]
    assert row["endedAt"] >= row["startedAt"]
    # The sidecar and everything else in the revision is copied.
    ecs = cloud.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=after["taskDefinition"], include=["TAGS"])
    containers = {c["name"]: c for c in definition["taskDefinition"]["containerDefinitions"]}
    assert containers["xray-daemon"]["image"] == "public.ecr.aws/xray/aws-xray-daemon:3.3.7"
    assert containers["customers-service"]["secrets"][0]["name"] == "SPRING_DATASOURCE_USERNAME"
    assert {"key": "app", "value": "petclinic"} in definition["tags"]
    # Other services are untouched.
    assert cloud.services()["vets-service"]["image"].endswith("vets-service:1.0.0")


def test_the_deployment_is_announced_and_counted(cloud: LocalCloud) -> None:
    cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    [(_, message, subject, attributes, _)] = topic.sent_notifications
    assert subject == "[petclinic-ops] customers-service deployment SUCCEEDED"
    assert json.loads(message)["result"] == "SUCCEEDED"
    [execution] = deploy_executions(cloud)
    assert json.loads(message)["executionArn"] == execution["executionArn"]  # issue 19
    assert attributes["result"]["Value"] == "SUCCEEDED"
    metrics = cloud.client("cloudwatch").list_metrics(Namespace="PetClinicOps/dev")["Metrics"]
    assert {"DeploymentsSucceeded", "DeploymentDuration"} <= {m["MetricName"] for m in metrics}


def test_a_failed_rollout_is_rolled_back_by_the_workflow(cloud: LocalCloud) -> None:
    before = cloud.services()["vets-service"]
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()

    after = cloud.services()["vets-service"]
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["deployment"]["rolloutState"] == "COMPLETED"  # the rollback itself
    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "DeploymentFailed")
    assert execution["cause"]["rolledBack"] is True
    assert "circuit breaker" in execution["cause"]["reason"]
    # Read once, saying who rolled back (issue 19): no ".;", not "this workflow".
    assert "; the deploy workflow rolled back to " in execution["cause"]["reason"]
    assert ".;" not in execution["cause"]["reason"]
    [row] = cloud.deployments()
    assert (row["result"], row["rolledBack"]) == ("FAILED", True)
    assert row["rollbackDeploymentId"]
    assert row["taskDefinitionAfter"].endswith(":2")


def test_a_rollout_the_circuit_breaker_already_rolled_back_is_not_rolled_back_twice(
    cloud: LocalCloud,
) -> None:
    cloud.set_circuit_breaker("vets-service", enable=True, rollback=True)
    before = cloud.services()["vets-service"]
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()

    assert cloud.services()["vets-service"]["taskDefinition"] == before["taskDefinition"]
    [row] = cloud.deployments()
    assert (row["result"], row["rolledBack"]) == ("FAILED", True)
    # Told by ECS's event, then found rolling back (or already back) by DescribeServices.
    assert re.search(r"circuit breaker (already )?rolled back to .*vets-service:1", row["reason"])
    updates = [h for h in cloud.simulator.history if h["service"] == "vets-service"]
    assert len(updates) == 2  # the broken deployment and ECS's own rollback, nothing from us


def test_a_rollout_that_never_completes_times_out_and_is_rolled_back(short_timeout_cloud: LocalCloud) -> None:
    cloud = short_timeout_cloud
    before = cloud.services()["visits-service"]
    cloud.push_image("visits-service", "1.1.0-stall")
    cloud.wait_until_quiet()

    assert cloud.services()["visits-service"]["taskDefinition"] == before["taskDefinition"]
    [row] = cloud.deployments()
    assert (row["result"], row["rolledBack"]) == ("FAILED", True), row["reason"]
    assert "no completion within 1200 s" in row["reason"]


def test_a_duplicate_event_deploys_once(cloud: LocalCloud) -> None:
    push = cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    cloud.put_events([push])
    cloud.wait_until_quiet()

    assert results(cloud) == ["DUPLICATE", "SUCCEEDED"]
    assert len(cloud.deployments()) == 1


def test_a_duplicate_delivered_at_the_same_time_deploys_once(cloud: LocalCloud) -> None:
    push = cloud.push_image("customers-service", "1.1.0", send=False)
    cloud.put_events([push, push])
    cloud.wait_until_quiet()

    assert results(cloud) == ["DUPLICATE", "SUCCEEDED"]
    assert len(cloud.deployments()) == 1


def test_ten_pushes_within_a_second_coalesce(cloud: LocalCloud) -> None:
    # As on AWS, the first rollout (minutes there) outlasts the burst's arrival: hold it until
    # every other execution of the burst has reached the lease.
    with cloud.simulator.holding():
        pushes = [cloud.push_image("visits-service", f"1.1.{n}", send=False) for n in range(10)]
        cloud.put_events(pushes)
        pushed = cloud.client("ecr").describe_images(
            repositoryName="petclinic/dev/visits-service",
            imageIds=[{"imageTag": f"1.1.{n}"} for n in range(10)],
        )["imageDetails"]
        times = sorted(image["imagePushedAt"] for image in pushed)
        assert (times[-1] - times[0]).total_seconds() < 1.0
        wait_for(lambda: sum(e["status"] != "RUNNING" for e in deploy_executions(cloud)) == 9)
    cloud.wait_until_quiet()

    # The first execution to reach the lease deploys its image; everything that arrives during
    # that rollout coalesces into one more deployment: the newest push.
    rows = cloud.deployments()
    assert 1 <= len(rows) <= 2
    assert all(row["result"] == "SUCCEEDED" for row in rows)
    last = pushes[-1]["detail"]["image-digest"]
    assert rows[-1]["digest"] == last
    assert cloud.services()["visits-service"]["image"].endswith(f"@{last}")
    assert cloud.simulator.overlaps == [], "two deployments of the service ran at once"
    spans = sorted((row["startedAt"], row["endedAt"]) for row in rows)
    assert all(previous[1] <= following[0] for previous, following in itertools.pairwise(spans))
    outcomes = results(cloud)
    assert outcomes.count("SUCCEEDED") == 1  # one execution deployed, the queued image included
    assert set(outcomes) <= {"SUCCEEDED", "COALESCED", "SUPERSEDED"}
    assert len(outcomes) == 10


def test_an_older_image_arriving_late_does_not_replace_a_newer_one(cloud: LocalCloud) -> None:
    older = cloud.push_image("customers-service", "1.1.0", send=False)
    newer = cloud.push_image("customers-service", "1.2.0", send=False)
    cloud.put_events([newer])
    cloud.wait_until_quiet()
    cloud.put_events([older])
    cloud.wait_until_quiet()

    assert cloud.services()["customers-service"]["image"].endswith(newer["detail"]["image-digest"])
    assert results(cloud) == ["SUCCEEDED", "SUPERSEDED"]
    assert len(cloud.deployments()) == 1


def test_events_that_change_nothing_are_visible_with_their_reason(cloud: LocalCloud) -> None:
    before = cloud.services()
    files = [
        "ecr-push-unknown-repository.json",
        "ecr-delete.json",
        "ecr-push-failed.json",
        "ecr-push-untagged.json",
    ]
    cloud.put_events([json.loads((EVENTS / name).read_text()) for name in files])
    cloud.wait_until_quiet()

    assert cloud.services() == before
    assert cloud.deployments() == []
    reasons = sorted(e["output"]["reason"] for e in deploy_executions(cloud))
    assert all(e["output"]["result"] == "SKIPPED" for e in deploy_executions(cloud))
    assert any("maps to no managed service" in r for r in reasons)
    assert any("DELETE events do not deploy" in r for r in reasons)
    assert any("did not succeed" in r for r in reasons)
    assert any("without a tag" in r for r in reasons)


def test_a_repository_outside_the_prefix_starts_nothing(cloud: LocalCloud) -> None:
    """Nor, dev and prod sharing an account, does a push to prod's repository (or to one named as
    before each environment had its own): dev's rule (this local cloud's) does not match it."""
    repositories = ["other-team/api", "petclinic/prod/customers-service", "petclinic/customers-service"]
    cloud.put_events([ecr_push_event(name, "sha256:" + "d" * 64, "1.0") for name in repositories])
    cloud.wait_until_quiet()
    assert deploy_executions(cloud) == []


def test_a_malformed_manual_input_fails_at_once_naming_the_field(cloud: LocalCloud) -> None:
    before = cloud.services()
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["DeployStateMachineArn"],
        input=(EVENTS / "manual-deploy-malformed.json").read_text(),
    )
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidDeployRequest")
    assert "imgae: is not a known field" in execution["cause"]
    assert "image: is required" in execution["cause"]
    assert cloud.services() == before
    assert cloud.deployments() == []


def test_a_manual_request_for_an_unknown_service_fails_with_the_known_ones(cloud: LocalCloud) -> None:
    cloud.start_deployment("billing-service", "2.0.0")
    cloud.wait_until_quiet()
    [execution] = deploy_executions(cloud)
    assert execution["error"] == "UnknownService"
    assert "known services: customers-service" in execution["cause"]


def test_a_manual_deployment_by_tag_resolves_the_digest(cloud: LocalCloud) -> None:
    push = cloud.push_image("admin-server", "2.0.0", send=False)
    cloud.start_deployment("admin-server", "2.0.0", reason="manual release")
    cloud.wait_until_quiet()

    assert (
        cloud.services()["admin-server"]["image"]
        == f"{REGISTRY}/petclinic/dev/admin-server@{push['detail']['image-digest']}"
    )
    [row] = cloud.deployments()
    assert (row["result"], row["source"], row["tag"]) == ("SUCCEEDED", "manual", "2.0.0")


def test_a_manual_redeploy_of_the_same_digest_is_not_a_duplicate(cloud: LocalCloud) -> None:
    push = cloud.push_image("admin-server", "2.0.0", send=False)
    digest = push["detail"]["image-digest"]
    cloud.start_deployment("admin-server", digest)
    cloud.wait_until_quiet()
    cloud.start_deployment("admin-server", digest)
    cloud.wait_until_quiet()
    assert [row["result"] for row in cloud.deployments()] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_manual_request_for_a_missing_image_fails_clearly(cloud: LocalCloud) -> None:
    cloud.start_deployment("admin-server", "9.9.9")
    cloud.wait_until_quiet()
    [execution] = deploy_executions(cloud)
    assert execution["error"] == "ImageNotFound"
    assert "image 9.9.9 not found in repository petclinic/dev/admin-server" in execution["cause"]
    assert cloud.deployments() == []


def test_an_expired_lease_is_taken_over(cloud: LocalCloud) -> None:
    dead = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:crashed"
    cloud.client("dynamodb").put_item(
        TableName=cloud.outputs["LeasesTableName"],
        Item={
            "service": {"S": "customers-service"},
            "leaseHolder": {"S": dead},
            "leaseExpiresAt": {"N": str(int(time.time() * 1000) - 1000)},
            "newestOrder": {"N": "1"},
            "outcomes": {"M": {}},
        },
    )
    push = cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    assert cloud.services()["customers-service"]["image"].endswith(push["detail"]["image-digest"])
    assert results(cloud) == ["SUCCEEDED"]


def test_a_live_lease_makes_a_push_wait_its_turn(cloud: LocalCloud) -> None:
    with cloud.simulator.holding():
        first = cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: "taskToken" in lease_item(cloud, "customers-service"))
        second = cloud.push_image("customers-service", "1.2.0")
        wait_for(lambda: len([e for e in deploy_executions(cloud) if e["status"] != "RUNNING"]) == 1)
        assert [e["output"]["result"] for e in deploy_executions(cloud) if e["status"] != "RUNNING"] == [
            "COALESCED"
        ]
        queued = json.loads(lease_item(cloud, "customers-service")["pendingRequest"]["S"])
        assert queued["digest"] == second["detail"]["image-digest"]
        assert cloud.services()["customers-service"]["image"].endswith(first["detail"]["image-digest"])
    cloud.wait_until_quiet()
    assert [row["digest"] for row in cloud.deployments()] == [
        first["detail"]["image-digest"],
        second["detail"]["image-digest"],
    ]
    assert cloud.simulator.overlaps == []


def test_a_lease_whose_holder_is_not_running_is_taken_over_at_once(cloud: LocalCloud) -> None:
    """An execution that no longer runs holds nothing, whatever the lease's expiry says."""
    gone = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:gone"
    cloud.client("dynamodb").put_item(
        TableName=cloud.outputs["LeasesTableName"],
        Item={
            "service": {"S": "customers-service"},
            "leaseHolder": {"S": gone},
            "leaseExpiresAt": {"N": str(int(time.time() * 1000) + 3_600_000)},
            "newestOrder": {"N": "1"},
            "outcomes": {"M": {}},
        },
    )
    push = cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    assert cloud.services()["customers-service"]["image"].endswith(push["detail"]["image-digest"])
    [execution] = deploy_executions(cloud)
    assert execution["output"]["takenOverFrom"] == gone
    assert "leaseHolder" not in lease_item(cloud, "customers-service")


def test_an_instant_rollout_whose_event_beats_the_token_still_succeeds() -> None:
    with LocalCloud(time_scale=0.01, rollout_seconds=0) as cloud:
        for n in range(3):
            cloud.push_image("customers-service", f"1.1.{n}")
            cloud.wait_until_quiet()
        assert results(cloud) == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]


def test_a_forged_push_claims_nothing_and_the_genuine_push_still_deploys(cloud: LocalCloud) -> None:
    """Before: an ECR-shaped input from another account (started directly: EventBridge itself sets
    the account) passed, used up the dedupe key of a real image, and the genuine push then ended
    DUPLICATE."""
    genuine = cloud.push_image("customers-service", "1.1.0", send=False)
    forged = json.loads(json.dumps(genuine)) | {"account": "999999999999"}
    bad_digest = ecr_push_event("petclinic/dev/customers-service", "sha256:abc123", "1.1.0")
    for forgery in (forged, bad_digest):
        cloud.client("stepfunctions").start_execution(
            stateMachineArn=cloud.outputs["DeployStateMachineArn"], input=json.dumps(forgery)
        )
    cloud.wait_until_quiet()

    assert sorted(e["error"] for e in deploy_executions(cloud)) == ["InvalidDeployRequest"] * 2
    assert cloud.stack is not None
    deliveries = cloud.client("dynamodb").scan(TableName=cloud.stack.resources["DeliveriesTable"])["Items"]
    assert deliveries == []
    assert all("leaseHolder" not in lease_item(cloud, s) for s in cloud.services())
    assert cloud.deployments() == []
    causes = [e["cause"] for e in deploy_executions(cloud)]
    assert all(len(cause) <= 500 for cause in causes)
    assert any("comes from account 999999999999" in cause for cause in causes)
    assert any(
        "image-digest: must be sha256: followed by 64 lowercase hex digits" in cause for cause in causes
    )

    cloud.put_events([genuine])
    cloud.wait_until_quiet()
    [row] = cloud.deployments()
    assert (row["digest"], row["result"]) == (genuine["detail"]["image-digest"], "SUCCEEDED")


def test_rejected_inputs_are_counted_apart_from_failed_deployments(cloud: LocalCloud) -> None:
    cloud.start_deployment("billing-service", "1.0.0")
    cloud.start_deployment("admin-server", "9.9.9")  # no such image
    cloud.wait_until_quiet()
    metrics = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="PetClinicOps/dev",
        MetricName="DeployRequestsRejected",
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(point["Sum"] for point in metrics) == 2
    names = {
        m["MetricName"]
        for m in cloud.client("cloudwatch").list_metrics(Namespace="PetClinicOps/dev")["Metrics"]
    }
    assert "DeploymentsFailed" not in names


def test_a_tag_policy_written_with_backslashes_works() -> None:
    """Before: the template assembled DEPLOY_CONFIG's JSON by substitution; this regex broke every deploy."""
    with LocalCloud(
        time_scale=0.01, rollout_seconds=60, parameters={"DeployTagInclude": r"v?\d+\.\d+\.\d+"}
    ) as cloud:
        release = cloud.push_image("customers-service", "v1.2.3")
        cloud.push_image("vets-service", "1.2.3-rc1")
        cloud.wait_until_quiet()
        [row] = cloud.deployments()
        assert row["digest"] == release["detail"]["image-digest"]
        [skipped] = [e for e in deploy_executions(cloud) if e["output"]["result"] == "SKIPPED"]
        assert r"does not match the include pattern 'v?\d+\.\d+\.\d+'" in skipped["output"]["reason"]


def _digests(cloud: LocalCloud, repository: str) -> dict[str, list[str]]:
    described = cloud.client("ecr").get_paginator("describe_images").paginate(repositoryName=repository)
    return {i["imageDigest"]: i.get("imageTags", []) for page in described for i in page["imageDetails"]}


def test_the_deployed_digest_outlives_its_moved_tag_and_the_lifecycle_policy(cloud: LocalCloud) -> None:
    """Issue 17: dev moves tags, so the digest a service runs is untagged as soon as its tag is
    pushed again, and the lifecycle policy expired untagged images beyond the 100 newest: 101
    rebuilds later, the running digest was gone and the next task start (a scale-out, a replaced
    task) failed. The workflow tags what it deploys deployed-<hex> before any task runs it, and
    the policy's first rule keeps those."""
    repository = "petclinic/dev/customers-service"
    deployed = cloud.push_image("customers-service", "1.1.0")["detail"]["image-digest"]
    cloud.wait_until_quiet()
    running = cloud.services()["customers-service"]
    assert running["image"] == f"{REGISTRY}/{repository}@{deployed}"
    protect = "deployed-" + deployed.removeprefix("sha256:")
    assert sorted(_digests(cloud, repository)[deployed]) == ["1.1.0", protect]
    # The image the revision before ran (by tag: the stack's 1.0.0), a rollback's target, too.
    [previous] = [digest for digest, tags in _digests(cloud, repository).items() if "1.0.0" in tags]
    assert "deployed-" + previous.removeprefix("sha256:") in _digests(cloud, repository)[previous]

    # The tag moves 101 times (rebuilds never deployed): 101 untagged images newer than it.
    for _ in range(102):
        cloud.push_image("customers-service", "1.1.0", send=False)
    assert _digests(cloud, repository)[deployed] == [protect]
    expired = cloud.expire_images()

    assert len(expired[repository]) == 1  # the oldest rebuild, beyond the 100 newest untagged
    assert deployed not in expired[repository]
    assert {deployed, previous} <= set(_digests(cloud, repository))
    assert start_failure(ACCOUNT, REGION, running["taskDefinition"]) is None
    # A task started now (a scale-out) starts.
    ecs = cloud.client("ecs")
    ecs.update_service(cluster=cloud.seed_spec.cluster, service="customers-service", desiredCount=2)
    cloud.wait_until_quiet()
    [service] = ecs.describe_services(cluster=cloud.seed_spec.cluster, services=["customers-service"])[
        "services"
    ]
    assert service["runningCount"] == 2, service["events"][:3]


def test_a_redeploy_of_a_protected_digest_protects_nothing_twice(cloud: LocalCloud) -> None:
    """ECR answers the second tagging of the same image with ImageAlreadyExistsException: the
    digest is already protected, and the deployment goes on."""
    digest = cloud.push_image("admin-server", "2.0.0", send=False)["detail"]["image-digest"]
    cloud.client("ecr").put_image_tag_mutability(
        repositoryName="petclinic/dev/admin-server", imageTagMutability="IMMUTABLE"
    )
    for _ in range(2):
        cloud.start_deployment("admin-server", digest)
        cloud.wait_until_quiet()
    assert [row["result"] for row in cloud.deployments()] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted(_digests(cloud, "petclinic/dev/admin-server")[digest]) == [
        "2.0.0",
        "deployed-" + digest.removeprefix("sha256:"),
    ]


def test_a_digest_that_cannot_be_protected_is_not_deployed(cloud: LocalCloud) -> None:
    """In an IMMUTABLE repository, another image already tagged deployed-<this digest's hex> (by
    hand): the digest would not be kept, so nothing changes and the deployment fails saying so."""
    repository = "petclinic/dev/admin-server"
    ecr = cloud.client("ecr")
    ecr.put_image_tag_mutability(repositoryName=repository, imageTagMutability="IMMUTABLE")
    before = cloud.services()["admin-server"]
    digest = cloud.push_image("admin-server", "2.0.0", send=False)["detail"]["image-digest"]
    other = cloud.push_image("admin-server", "2.0.1", send=False)["detail"]["image-digest"]
    [image] = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": other}])["images"]
    ecr.put_image(
        repositoryName=repository,
        imageManifest=image["imageManifest"],
        imageTag="deployed-" + digest.removeprefix("sha256:"),
    )
    cloud.start_deployment("admin-server", digest)
    cloud.wait_until_quiet()

    assert cloud.services()["admin-server"]["taskDefinition"] == before["taskDefinition"]
    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "DeploymentFailed")
    reason = execution["cause"]["reason"]
    assert "from the lifecycle policy (nothing was changed)" in reason
    assert f"is on another image ({other}), so {digest} is not protected" in reason
    [row] = cloud.deployments()
    assert row["result"] == "FAILED"


def test_a_queued_image_deleted_before_its_turn_fails_before_anything_changes(cloud: LocalCloud) -> None:
    """The image a queued request names is deleted while the deployment before it rolls out: its
    turn comes, it cannot be protected (it is gone), and nothing changes."""
    repository = "petclinic/dev/customers-service"
    with cloud.simulator.holding():
        first = cloud.push_image("customers-service", "1.1.0")["detail"]["image-digest"]
        wait_for(lambda: parked(cloud, "customers-service"), what="the first rollout")
        gone = cloud.push_image("customers-service", "1.2.0")["detail"]["image-digest"]
        wait_for(lambda: len(running(cloud)) == 1, what="the second push to queue")
        cloud.client("ecr").batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": gone}])
    cloud.wait_until_quiet()

    assert cloud.services()["customers-service"]["image"].endswith(first)
    failed = [row for row in cloud.deployments() if row["digest"] == gone]
    assert [row["result"] for row in failed] == ["FAILED"]
    assert (
        failed[0]["reason"]
        == f"image {REGISTRY}/{repository}@{gone} is no longer in its repository (nothing was changed)"
    )
