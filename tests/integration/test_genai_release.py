"""The genai-release workflow (statemachines/genai-release.asl.json) on the local cloud: a good
version promoted through 10 % -> 50 % -> 100 %, a bad one rolled back on its alarm, a broken one
on its smoke test; a fault at every state after the alias can have moved ends rolled back and
recorded; bad input and a second release at once change nothing.

Bedrock and the PetClinic services are local stand-ins; alarms are evaluated by the local
CloudWatch stand-in (simulators/cloudwatch.py) from the function's own metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.sns.models import sns_backends

from petclinic_local import genai, runner
from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("genai-release")]
MACHINE = "petclinic-ops-dev-genai-release"
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"


@pytest.fixture(scope="module")
def module_cloud() -> Iterator[LocalCloud]:
    with LocalCloud(parameters={"GenAiBakeSeconds": "20"}) as local:
        yield local


@pytest.fixture
def cloud(module_cloud: LocalCloud) -> LocalCloud:
    """The module's cloud as a fresh one starts: live on version 1 without weights, no faults,
    no cooldowns, no lease, no release in the ledger (published versions stay)."""
    local = module_cloud
    local.wait_until_quiet()
    local.faults.clear()
    local.bedrock.clear()
    local.client("lambda").update_alias(
        FunctionName=genai.function_name(local), Name="live", FunctionVersion="1", RoutingConfig={}
    )
    dynamodb = local.client("dynamodb")
    dynamodb.delete_item(TableName=local.outputs["LeasesTableName"], Key={"service": {"S": "genai-release"}})
    for row in genai.ledger(local):
        dynamodb.delete_item(
            TableName=local.outputs["LedgerTableName"],
            Key={"service": {"S": "genai"}, "startedAt": {"S": row["startedAt"]}},
        )
    table = local.outputs["GenAiRouterStateTableName"]
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"]})
    return local


def good_version(cloud: LocalCloud) -> str:
    return genai.publish_version(cloud, {"MAX_TOKENS": "400"}, "good")


def alarms_left(cloud: LocalCloud) -> list[str]:
    alarms = cloud.client("cloudwatch").describe_alarms(AlarmNamePrefix="petclinic-ops-dev-genai-v")
    return [a["AlarmName"] for a in alarms["MetricAlarms"]]


def lease(cloud: LocalCloud) -> dict[str, object] | None:
    item = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["LeasesTableName"], Key={"service": {"S": "genai-release"}}
    )
    found: dict[str, object] | None = item.get("Item")
    return found


def test_a_good_version_is_promoted_step_by_step(cloud: LocalCloud) -> None:
    version = good_version(cloud)
    outcome = genai.release(cloud, version)
    assert (outcome["status"], outcome["result"]) == ("SUCCEEDED", "SUCCEEDED"), outcome
    assert outcome["aliasAfter"] == {"version": version, "weights": {}}
    assert outcome["smokeTest"] == "3 of 3 turns passed"
    assert outcome["traffic"]["non2xx"] == 0
    history = cloud.client("stepfunctions").get_execution_history(
        executionArn=outcome["executionArn"], maxResults=1000
    )["events"]
    updates = [
        json.loads(event["taskSucceededEventDetails"]["output"])
        for event in history
        if event.get("taskSucceededEventDetails", {}).get("resource") == "updateAlias"
    ]
    assert [
        (u["FunctionVersion"], (u.get("RoutingConfig") or {}).get("AdditionalVersionWeights"))
        for u in updates
    ] == [
        ("1", {version: 0.1}),
        ("1", {version: 0.5}),
        (version, {}),
    ]
    [row] = genai.ledger(cloud)
    assert (row["result"], row["version"], row["previousVersion"], row["rolledBack"]) == (
        "SUCCEEDED",
        version,
        "1",
        False,
    )
    assert row["kind"] == "genai-release"
    assert row["weightReached"] == 100
    assert alarms_left(cloud) == []
    assert lease(cloud) is None
    metrics = cloud.client("cloudwatch").list_metrics(
        Namespace="PetClinicOps/dev", MetricName="GenAiReleasesSucceeded"
    )
    assert metrics["Metrics"]
    [(message, subject)] = announced(cloud, outcome["executionArn"])
    assert subject == f"[petclinic-ops] genai release of version {version} SUCCEEDED"
    assert (message["version"], message["previousVersion"]) == (version, "1")


def announced(cloud: LocalCloud, execution_arn: str) -> list[tuple[dict[str, object], str]]:
    """The ops topic's messages about the execution, with their subjects."""
    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    sent = [(json.loads(n[1]), n[2]) for n in topic.sent_notifications]
    return [(message, subject) for message, subject in sent if message.get("executionArn") == execution_arn]


def test_a_version_whose_fallback_rate_alarms_is_rolled_back(cloud: LocalCloud) -> None:
    version = genai.publish_version(
        cloud, {"MODEL_CHAIN": f"{genai.PROMPT_ROUTER},{genai.HAIKU},{genai.TITAN}"}, "router first"
    )
    cloud.bedrock.inject(genai.PROMPT_ROUTER, "ThrottlingException")
    outcome = genai.release(cloud, version)
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "ReleaseRolledBack"
    assert outcome["result"] == "ROLLED_BACK"
    assert outcome["alarmsFired"] == [f"petclinic-ops-dev-genai-v{version}-fallback-rate"]
    assert outcome["reason"] == f"alarm at 10%: petclinic-ops-dev-genai-v{version}-fallback-rate"
    assert outcome["aliasAfter"] == {"version": "1", "weights": {}}
    assert outcome["traffic"]["non2xx"] == 0  # the users never saw the bad version fail
    [row] = genai.ledger(cloud)
    assert (row["result"], row["rolledBack"], row["weightReached"]) == ("ROLLED_BACK", True, 10)
    assert alarms_left(cloud) == []


def test_a_version_that_fails_its_smoke_test_never_gets_traffic(cloud: LocalCloud) -> None:
    version = genai.publish_version(cloud, {"MODEL_CHAIN": SONNET}, "sonnet only")
    cloud.bedrock.inject(SONNET, "AccessDeniedException")
    outcome = genai.release(cloud, version, traffic=False)
    assert outcome["result"] == "ROLLED_BACK"
    assert outcome["smokeTest"] == "0 of 3 turns passed"
    assert outcome["reason"].startswith('smoke test failed: "Which vets are radiologists?" answered 503')
    assert outcome["weightReached"] == 0
    assert outcome["aliasAfter"] == {"version": "1", "weights": {}}


def test_a_smoke_test_failed_by_a_tool_names_the_tool_and_why_not_the_model(cloud: LocalCloud) -> None:
    """Issue 19: customers-service unreachable (its URL in Parameter Store points nowhere when
    the version is published): the model answered, the tool failed; the reason says which tool
    failed and why."""
    ssm = cloud.client("ssm")
    name = "/petclinic/dev/services/customers-service/url"
    good = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    ssm.put_parameter(Name=name, Value="http://127.0.0.1:9", Type="String", Overwrite=True)
    try:
        version = genai.publish_version(cloud, {"MAX_TOKENS": "401"}, "customers-service unreachable")
        outcome = genai.release(cloud, version, traffic=False)
    finally:
        ssm.put_parameter(Name=name, Value=good, Type="String", Overwrite=True)
    assert outcome["result"] == "ROLLED_BACK"
    assert outcome["smokeTest"] == "2 of 3 turns passed"
    reason = outcome["reason"]
    assert reason.startswith(
        'smoke test failed: "List the owners of the clinic, please." answered 200 by '
    ), reason
    assert reason.endswith(
        ": the tool call failed, not the model (listOwners failed: customers-service did not answer "
        "(connection refused, NewConnectionError))"
    ), reason
    assert "without calling" not in reason


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("ShiftTraffic", "shifting traffic failed: Lambda.ServiceException"),
        ("CheckAlarms", "the alarms could not be read: CloudWatch.InternalServiceFault"),
        ("Promote", "promoting failed: Lambda.ServiceException"),
    ],
)
def test_a_fault_after_the_alias_moved_rolls_back_and_is_recorded(
    cloud: LocalCloud, state: str, reason: str
) -> None:
    version = good_version(cloud)
    cloud.faults.fail(
        MACHINE,
        state,
        error="Lambda.ServiceException" if state != "CheckAlarms" else "CloudWatch.InternalServiceFault",
    )
    outcome = genai.release(cloud, version, traffic=False)
    assert outcome["result"] == "ROLLED_BACK"
    assert outcome["aliasAfter"] == {"version": "1", "weights": {}}
    [row] = genai.ledger(cloud)
    assert row["result"] == "ROLLED_BACK"
    assert row["reason"].startswith(reason)
    assert alarms_left(cloud) == []
    assert lease(cloud) is None


def test_a_failed_rollback_is_recorded_as_such(cloud: LocalCloud) -> None:
    version = good_version(cloud)
    cloud.faults.fail(MACHINE, "Promote", error="Lambda.ServiceException")
    cloud.faults.fail(MACHINE, "RollBack", error="Lambda.ServiceException")
    outcome = genai.release(cloud, version, traffic=False)
    assert outcome["error"] == "RollbackFailed"
    assert "set live to 1 by hand" in outcome["reason"]
    assert outcome["aliasAfter"]["weights"] == {version: 0.5}  # where the failed promotion left it
    [row] = genai.ledger(cloud)
    assert row["result"] == "ROLLBACK_FAILED"


@pytest.mark.parametrize("state", ["CreateAlarms", "SmokeTest"])
def test_a_fault_before_any_traffic_moved_leaves_live_alone(cloud: LocalCloud, state: str) -> None:
    version = good_version(cloud)
    cloud.faults.fail(MACHINE, state, error="States.TaskFailed")
    outcome = genai.release(cloud, version, traffic=False)
    assert outcome["status"] == "FAILED"
    assert outcome["aliasAfter"] == {"version": "1", "weights": {}}
    assert [row["result"] for row in genai.ledger(cloud)] == [outcome["result"]]
    assert alarms_left(cloud) == []


@pytest.mark.parametrize("state", ["Cleanup", "RecordResult", "Notify", "PublishMetrics", "ReleaseLease"])
def test_a_fault_while_reporting_does_not_change_the_outcome(cloud: LocalCloud, state: str) -> None:
    version = good_version(cloud)
    cloud.faults.fail(MACHINE, state, error="States.TaskFailed")
    outcome = genai.release(cloud, version, traffic=False)
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["aliasAfter"] == {"version": version, "weights": {}}


@pytest.mark.parametrize(
    ("execution_input", "error"),
    [
        ({"version": "0"}, "InvalidReleaseRequest"),
        ({"version": "two"}, "InvalidReleaseRequest"),
        ({"version": 2, "force": True}, "InvalidReleaseRequest"),
        # Numbers are version numbers too, in the same range as the string form (10 digits): a
        # number past it became "1e+300" and a Lambda ValidationException instead of a rejection.
        ({"version": 1e300}, "InvalidReleaseRequest"),
        ({"version": 10_000_000_000}, "InvalidReleaseRequest"),
        ({"version": 2.5}, "InvalidReleaseRequest"),
        ({"version": True}, "InvalidReleaseRequest"),
        ({"version": "99"}, "UnknownVersion"),
        ({"version": 9_999_999_999}, "UnknownVersion"),
    ],
)
def test_bad_input_changes_nothing(cloud: LocalCloud, execution_input: dict[str, object], error: str) -> None:
    arn = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["GenAiReleaseStateMachineArn"], input=json.dumps(execution_input)
    )["executionArn"]
    described = genai.wait_for(cloud, arn)
    assert (described["status"], described["error"]) == ("FAILED", error)
    assert genai.live_alias(cloud) == {"version": "1", "weights": {}}
    assert genai.ledger(cloud) == []
    assert lease(cloud) is None


def test_the_live_version_again_is_nothing_to_do(cloud: LocalCloud) -> None:
    outcome = genai.release(cloud, "1", traffic=False)
    assert (outcome["status"], outcome["result"]) == ("SUCCEEDED", "NOTHING_TO_DO")
    assert genai.ledger(cloud) == []


def test_a_second_release_while_one_runs_is_refused(cloud: LocalCloud) -> None:
    version = good_version(cloud)
    first = genai.start_release(cloud, version)
    second = genai.start_release(cloud, version)
    results = sorted(
        (genai.wait_for(cloud, arn)["status"], genai.wait_for(cloud, arn).get("error"))
        for arn in (first, second)
    )
    assert results == [("FAILED", "ReleaseInProgress"), ("SUCCEEDED", None)]
    assert [row["result"] for row in genai.ledger(cloud)] == ["SUCCEEDED"]


def test_a_lease_left_by_a_stopped_release_is_taken_over_at_once(cloud: LocalCloud) -> None:
    """Its holder is not RUNNING (DescribeExecution): the next release need not wait for it to
    expire."""
    version = good_version(cloud)
    first = genai.start_release(cloud, version)
    deadline = time.monotonic() + 60
    while lease(cloud) is None:
        assert time.monotonic() < deadline, "the release never took its lease"
        time.sleep(0.05)
    cloud.client("stepfunctions").stop_execution(executionArn=first, cause="operator")
    assert genai.wait_for(cloud, first)["status"] == "ABORTED"
    assert lease(cloud) is not None  # left behind
    again = runner.start(cloud, "GenAiReleaseStateMachine", {"version": version}, name="after-the-stop")
    outcome = genai.outcome_of(genai.wait_for(cloud, again))
    assert (outcome["status"], outcome.get("result")) == ("SUCCEEDED", "SUCCEEDED"), outcome
    assert genai.live_alias(cloud) == {"version": version, "weights": {}}


def test_a_published_version_event_starts_the_release(cloud: LocalCloud) -> None:
    version = good_version(cloud)
    event = json.loads((genai_events() / "genai-version-published.json").read_text())
    event["detail"]["responseElements"]["version"] = version
    cloud.put_events([event])
    cloud.wait_until_quiet(timeout=120)
    [execution] = [
        e
        for e in cloud.executions(MACHINE)
        if (e.get("output") or {}).get("trigger") == "publish" or e["input"].get("source") == "aws.lambda"
    ]
    assert execution["status"] == "SUCCEEDED"
    assert execution["output"]["trigger"] == "publish"
    assert genai.live_alias(cloud)["version"] == version


def genai_events() -> Path:
    return Path(__file__).resolve().parents[2] / "events"
