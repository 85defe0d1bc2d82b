"""The fault-injection suite's scenarios and judge for the genai-release workflow (fault_suite.py
has the deploy and rotation-rollout workflows' and says how a case runs).

A good version released step by step reaches every Task state but the rollback and the
takeover; a version whose smoke test fails reaches the rollback; a release after one that died
while it baked reaches the takeover. Where the workflow waits (the Bake Wait between traffic
steps) the execution is also stopped while it waits.

A known state: no release running; the lease free, or held by an execution no longer running
(the next release takes it over); the live alias fully on one version, with no routing weight
left, unless a dead holder left it mid-shift (its successor puts it right); every release that
ended says so: a stopped one by its status, the others by their result, and a ledger row, where
one was written, with that result and the version live after it. After the successor (a new
version released with the fault gone): live fully on the successor's version, its ledger row
SUCCEEDED, the lease free.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from deploy_helpers import running, stop, wait_for

from petclinic_local import genai, runner
from petclinic_local.cloud import LocalCloud

RELEASE = "petclinic-ops-dev-genai-release"
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
_TOKENS = itertools.count(300)  # each published version differs (MAX_TOKENS), as sam deploy's do


def good_release(cloud: LocalCloud) -> str:
    version = genai.publish_version(cloud, {"MAX_TOKENS": str(next(_TOKENS))}, "fault suite: good")
    genai.start_release(cloud, version)
    cloud.wait_until_quiet()
    return version


def smoke_test_fails(cloud: LocalCloud) -> str:
    """A version whose model is denied: its smoke test fails and it is rolled back."""
    version = genai.publish_version(
        cloud, {"MODEL_CHAIN": SONNET, "MAX_TOKENS": str(next(_TOKENS))}, "denied"
    )
    cloud.bedrock.inject(SONNET, "AccessDeniedException")
    genai.start_release(cloud, version)
    cloud.wait_until_quiet()
    return version


def _entered(cloud: LocalCloud, execution_arn: str, state: str) -> bool:
    events = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events["events"])


def stopped_while_baking(cloud: LocalCloud) -> str:
    """The release is stopped while it bakes at its first traffic step (live split two ways)."""
    version = genai.publish_version(cloud, {"MAX_TOKENS": str(next(_TOKENS))}, "fault suite: baking")
    execution = genai.start_release(cloud, version)
    wait_for(lambda: _entered(cloud, execution, "Bake"), what="the release to bake")
    stop(cloud, execution)
    cloud.wait_until_quiet()
    return version


def after_a_dead_release(cloud: LocalCloud) -> str:
    """The previous release died while it baked (live split, the lease left held): the next one
    finds its holder no longer running and takes the lease over."""
    stopped_while_baking(cloud)
    return good_release(cloud)


GENAI_SCENARIOS: dict[str, Callable[[LocalCloud], str]] = {
    "DescribeVersion": good_release,
    "GetLiveAlias": good_release,
    "AcquireLease": good_release,
    "InspectLease": after_a_dead_release,
    "DescribeHolder": after_a_dead_release,
    "TakeOverLease": after_a_dead_release,
    "PutAlarm": good_release,
    "Ask": good_release,
    "ShiftTraffic": good_release,
    "CheckAlarms": good_release,
    "Promote": good_release,
    "RollBack": smoke_test_fails,
    "Cleanup": good_release,
    "RecordResult": good_release,
    "Notify": good_release,
    "PublishMetrics": good_release,
    "ReleaseLease": good_release,
}
GENAI_WAITS = {"Bake": stopped_while_baking}


def lease(cloud: LocalCloud) -> dict[str, Any]:
    item: dict[str, Any] = (
        cloud.client("dynamodb")
        .get_item(
            TableName=cloud.outputs["LeasesTableName"],
            Key={"service": {"S": "genai-release"}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return item


def releases(cloud: LocalCloud) -> set[str]:
    return {e["executionArn"] for e in cloud.executions(RELEASE)}


def genai_known_state(
    cloud: LocalCloud, earlier: set[str], *, strict: bool, successor: str | None = None
) -> list[str]:
    """What is not in a known state (empty when everything is); ``earlier``: releases of other
    cases, not judged. ``strict``: after the successor, whose version ``successor`` is."""
    problems: list[str] = []
    if running(cloud, RELEASE):
        problems.append(f"releases still running: {running(cloud, RELEASE)}")
    holder = lease(cloud).get("leaseHolder", {}).get("S")
    holder_dead = holder is not None and holder not in running(cloud, RELEASE)
    if holder and (strict or not holder_dead):
        problems.append(f"the lease is held by {holder}")
    live = genai.live_alias(cloud)
    if live["weights"] and (strict or not holder_dead):
        problems.append(f"live is split: {live}")
    executions = [
        e for e in cloud.executions(RELEASE) if e["status"] != "RUNNING" and e["executionArn"] not in earlier
    ]
    rows = {str(row.get("executionArn")): row for row in genai.ledger(cloud)}
    for execution in executions:
        arn = execution["executionArn"]
        if execution["status"] == "ABORTED":
            continue  # stopped: it reports itself by its status
        if not execution.get("error") and execution["status"] != "SUCCEEDED":
            problems.append(f"{arn} {execution['status']} without an error")
        detail = runner.detail(execution)
        row = rows.get(arn)
        if row is not None and row["result"] != detail.get("result"):
            problems.append(
                f"the ledger row of {arn} says {row['result']}, the release {detail.get('result')}"
            )
    last = executions[-1] if executions else None
    if last is not None and last["status"] != "ABORTED" and not holder_dead:
        detail = runner.detail(last)
        expected = detail.get("liveVersion")
        if expected is not None and detail.get("result") != "ROLLBACK_FAILED" and live["version"] != expected:
            problems.append(f"the last release says live is on {expected}; live is {live}")
    if strict:
        assert last is not None
        row = rows.get(last["executionArn"])
        if live != {"version": successor, "weights": {}}:
            problems.append(f"live is {live}, not all on the successor's version {successor}")
        if row is None or row["result"] != "SUCCEEDED":
            problems.append(f"the successor ended {runner.result(last)} with ledger row {row}")
    return problems


def genai_successor(cloud: LocalCloud) -> str:
    """The outage is over: the next version is released."""
    cloud.faults.clear()
    cloud.bedrock.clear()
    return good_release(cloud)
