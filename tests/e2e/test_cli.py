"""The `petclinic-ops` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.cli import deploy, executions, status
from petclinic_local.cli.aws import Target
from petclinic_local.cli.main import main
from petclinic_local.cloud import LocalCloud
from petclinic_local.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False
    )


def test_local_run_deploys_a_customers_push_and_reports_json() -> None:
    push = json.loads((EVENTS / "ecr-push-customers-service.json").read_text())
    done = run_cli("local", "run", "--event", "events/ecr-push-customers-service.json", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    digest = push["detail"]["image-digest"]
    service = report["services"]["customers-service"]
    assert (
        service["image"]
        == f"123456789012.dkr.ecr.us-west-2.amazonaws.com/petclinic/dev/customers-service@{digest}"
    )
    assert service["taskDefinition"].endswith("petclinic-dev-customers-service:2")
    [row] = report["deployments"]
    assert (row["service"], row["digest"], row["result"]) == ("customers-service", digest, "SUCCEEDED")
    deploys = [e for e in report["executions"] if e["stateMachine"] == "petclinic-ops-dev-deploy"]
    assert [(e["status"], e["input"]["detail"]["image-digest"]) for e in deploys] == [("SUCCEEDED", digest)]
    assert deploys[0]["output"]["result"] == "SUCCEEDED"


def test_local_run_takes_several_events_in_order_and_reports_each() -> None:
    done = run_cli(
        "local",
        "run",
        "--json",
        "--event",
        "events/ecr-push-vets-service-broken.json",
        "--event",
        "events/ecr-delete.json",
        "--event",
        "events/ecr-push-unknown-repository.json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    results = sorted(
        (e.get("output") or e.get("cause") or {}).get("result", e.get("error"))
        for e in report["executions"]
        if e["stateMachine"] == "petclinic-ops-dev-deploy"
    )
    assert results == ["FAILED", "SKIPPED", "SKIPPED"]
    assert report["services"]["vets-service"]["image"].endswith("vets-service:1.0.0")  # rolled back
    assert [row["result"] for row in report["deployments"]] == ["FAILED"]


def test_local_run_prints_tables_for_people() -> None:
    done = run_cli("local", "run", "--event", "events/ecr-push-customers-service.json")
    assert done.returncode == 0, done.stderr
    assert "Deploy executions" in done.stdout
    assert "Ledger (every deployment)" in done.stdout
    assert "SUCCEEDED" in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)",
        ),
        ("[1, 2]", "an EventBridge event is a JSON object, this is a list"),
        (
            '{"service": "customers-service", "image": "1.1.0"}',
            "not an EventBridge event, missing source, detail-type, detail",
        ),
        (
            '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": "x"}',
            "'detail' must be a JSON object",
        ),
        (  # Before: a traceback from PutEvents.
            '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {}, "time": "yesterday"}',
            "'time' must be an ISO 8601 timestamp such as 2026-11-26T09:15:00Z",
        ),
        (
            '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {}, "resources": "arn:x"}',
            "'resources' must be a list of ARNs (strings)",
        ),
    ],
)
def test_local_run_refuses_a_bad_event_file_before_starting(
    tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    done = run_cli("local", "run", "--event", "events/ecr-push-customers-service.json", "--event", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == f"petclinic-ops: {bad}: {message}"
    assert done.stdout == ""


def test_local_run_runs_a_push_whose_repository_is_a_list_and_reports_the_rejection(tmp_path: Path) -> None:
    """Before: a traceback (a list is not hashable). Now the event runs and the workflow names the field."""
    push = json.loads((EVENTS / "ecr-push-customers-service.json").read_text())
    push["detail"]["repository-name"] = ["petclinic/dev/customers-service"]
    event = tmp_path / "list.json"
    event.write_text(json.dumps(push))
    done = run_cli("local", "run", "--event", str(event), "--json")
    assert done.returncode == 0, done.stderr
    [execution] = json.loads(done.stdout)["executions"]
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidDeployRequest")
    assert "detail.repository-name" in execution["cause"]


def test_local_run_refuses_a_missing_file() -> None:
    done = run_cli("local", "run", "--event", "events/no-such-event.json")
    assert done.returncode == 2
    assert "events/no-such-event.json: cannot read the event file (No such file or directory)" in done.stderr


def test_deploy_follows_a_manual_deployment_to_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        push = cloud.push_image("admin-server", "2.0.0", send=False)
        code = deploy.run(
            "admin-server",
            "2.0.0",
            target=Target(stack=cloud.stack_name),
            reason="release 2.0.0",
            session=cloud.session,
            poll_seconds=0.1,
        )
        assert code == 0
        assert cloud.services()["admin-server"]["image"].endswith(push["detail"]["image-digest"])
        broken = cloud.push_image("admin-server", "2.0.1-broken", send=False)
        code = deploy.run(
            "admin-server",
            broken["detail"]["image-digest"],
            target=Target(stack=cloud.stack_name),
            session=cloud.session,
            poll_seconds=0.1,
        )
        assert code == 1
        assert cloud.services()["admin-server"]["image"].endswith(push["detail"]["image-digest"])
        assert [row["result"] for row in cloud.deployments()] == ["SUCCEEDED", "FAILED"]


def test_deploy_during_a_held_lease_says_it_is_queued_behind_which_execution_and_how_to_follow(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Issue 19: `deploy` while another deployment of the service runs returns at once (exit 3);
    it says the image is queued, behind which execution, and how to follow it. --json too."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        here = Target(stack=cloud.stack_name)
        cloud.push_image("visits-service", "1.1.0", send=False)
        with cloud.simulator.holding():  # the first rollout lasts until the block ends
            cloud.push_image("visits-service", "1.2.0")
            holder = _wait_for_lease_holder(cloud, "visits-service")
            capfd.readouterr()
            code = deploy.run("visits-service", "1.1.0", target=here, session=cloud.session, poll_seconds=0.1)
            text = " ".join(capfd.readouterr().out.split())
            assert code == 3, text
            assert "deploying 1.1.0 to visits-service: arn:aws:states:" in text
            assert "COALESCED: a deployment of this service is running; this image is queued" in text
            assert f"queued behind {holder}: it deploys this image when it ends" in text
            assert "petclinic-ops status visits-service" in text
            code = deploy.run(
                "visits-service", "1.1.0", target=here, session=cloud.session, poll_seconds=0.1, as_json=True
            )
            out, err = capfd.readouterr()
            report = json.loads(out)  # stdout is the JSON alone; progress went to stderr
            assert (code, report["exitCode"], report["result"]) == (3, 3, "COALESCED")
            assert report["details"]["queuedBehind"] == holder
            assert report["request"] == {"service": "visits-service", "image": "1.1.0"}
            assert "deploying 1.1.0 to visits-service" in err
            assert status.run(here, "visits-service", as_json=True, session=cloud.session) == 0
            lease = json.loads(capfd.readouterr().out)["services"][0]["lease"]
            assert (lease["holder"], lease["holderAlive"]) == (holder, True)
            assert lease["waitDeadline"] > lease["inflight"]["startedAt"]  # the wait's timeout, from AWS
            # The holder dies (stopped) while it waits: status says so, and who takes the lease.
            cloud.client("stepfunctions").stop_execution(executionArn=holder, cause="drill")
            assert status.run(here, "visits-service", as_json=True, session=cloud.session) == 0
            lease = json.loads(capfd.readouterr().out)["services"][0]["lease"]
            assert (lease["holder"], lease["holderStatus"], lease["holderAlive"]) == (
                holder,
                "ABORTED",
                False,
            )
            assert "waitDeadline" not in lease
            assert status.run(here, "visits-service", session=cloud.session) == 0
            text = " ".join(capfd.readouterr().out.split())
            assert "that execution is ABORTED: the next request takes the lease over" in text
        # The next request takes the dead execution's lease over and deploys.
        code = deploy.run("visits-service", "1.1.0", target=here, session=cloud.session, poll_seconds=0.1)
        assert code == 0, capfd.readouterr().out
        cloud.wait_until_quiet()
        [last] = [r for r in cloud.deployments() if r["service"] == "visits-service"][-1:]
        assert (last["tag"], last["result"]) == ("1.1.0", "SUCCEEDED")


def _wait_for_lease_holder(cloud: LocalCloud, service: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = (
            cloud.client("dynamodb")
            .get_item(
                TableName=cloud.outputs["LeasesTableName"],
                Key={"service": {"S": service}},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
        if "inflight" in item and "leaseHolder" in item:
            return str(item["leaseHolder"]["S"])
        time.sleep(0.05)
    raise AssertionError(f"no deployment of {service} took its lease within {timeout} s")


def test_deploy_refuses_bad_input_before_starting_anything() -> None:
    with LocalCloud() as cloud:
        here = Target(stack=cloud.stack_name)
        with pytest.raises(UsageError, match="invalid request: image: must be an image tag"):
            deploy.run("admin-server", "not a tag", target=here, session=cloud.session)
        with pytest.raises(UsageError, match="stack petclinic-ops-prod not found"):
            deploy.run(
                "admin-server", "2.0.0", target=Target(stack="petclinic-ops-prod"), session=cloud.session
            )
        with pytest.raises(UsageError, match="unknown service 'nosuch': stack petclinic-ops-local manages "):
            deploy.run("nosuch", "1.0.0", target=here, session=cloud.session)
        assert cloud.executions() == []


def test_deploy_names_a_profile_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = us-west-2\n")
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    done = run_cli("deploy", "customers-service", "1.1.0", "--profile", "opps", env=env)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "petclinic-ops: --profile 'opps': no such profile in ~/.aws/config or ~/.aws/credentials"
    )


def test_usage_errors_exit_2_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "customers-service", "sha256:short"]) == 2
    assert "invalid request: image: must be an image tag" in capsys.readouterr().err


ASSISTANT = "8. The assistant answers through tools, falls back, releases safely"
PROGRESSIVE = "9. A canary promotes a good image and rolls back one that fails 5 % of requests"


@pytest.mark.slow
@pytest.mark.mysql
def test_demo_tells_the_five_stories(mysql_admin: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # tables one line per row
    done = run_cli("demo", "--fast")
    assert done.returncode == 0, done.stderr
    for title in (
        "1. A push is deployed",
        "2. A broken image fails and is rolled back",
        "3. A burst of ten pushes coalesces",
        "4. A duplicate delivery is ignored",
        "5. Credentials rotate, the services that use them roll, no login fails",
        "6. The PetClinic stack is provisioned: plan, apply, re-apply with no change",
        "7. The stack scales: night as a dry run, night applied, peak on an alarm",
        ASSISTANT,
        PROGRESSIVE,
    ):
        assert title in done.stdout
    assert "NO_CHANGE" in done.stdout
    assert "DUPLICATE" in done.stdout
    assert "no two rollouts overlapped: yes" in done.stdout
    assert "AWSCURRENT logs in, AWSPREVIOUS logs in" in done.stdout
    assistant = done.stdout.split(ASSISTANT, 1)[1]
    assert "Helen Leary (radiology)" in assistant
    assert "anthropic.claude-3-haiku-20240307-v1:0 answered; tools: listVets (ok)" in assistant
    throttled = next(line for line in assistant.splitlines() if "default-prompt-router" in line)
    assert throttled.startswith("  default-prompt-router/anthropic.claude:1 throttled, "), throttled
    assert throttled.endswith(", so anthropic.claude-3-haiku-20240307-v1:0 answered; tools: listVets (ok)")
    releases = assistant.split("GenAI releases (genai-release workflow, local cloud)", 1)[1]
    rows = [line.split("│") for line in releases.splitlines() if line.startswith(("│ 2 ", "│ 3 "))]
    # version, result, live before -> after: 2 promoted, 3 rolled back with live left on 2
    assert [[row[i].strip() for i in (1, 3, 4)] for row in rows] == [
        ["2", "SUCCEEDED", "1 -> 2"],
        ["3", "ROLLED_BACK", "2 -> 2"],
    ], releases
    assert "alarm at 10%:" in releases
    assert "stand-in bedrock: Bedrock: local stand-in" in assistant
    assert "live: version 2" in assistant
    canary = done.stdout.split(PROGRESSIVE, 1)[1]
    good, errors = canary.split("vets-service:1.1.0-errors by canary", 1)
    assert "customers-service:1.1.0 by canary: SUCCEEDED, gate: bake" in " ".join(good.split())
    assert "FAILED (rolled back), gate: hook" in " ".join(errors.split()), errors
    # Its share of errors is ~5 % (the simulator's *errors* images), drawn at random: the line says
    # whether a fixed 10 % alarm would have fired on what it served.
    assert "a fixed 10% 5xx alarm would" in " ".join(errors.split())


@pytest.mark.mysql
def test_local_rotate_alternating_leaves_both_versions_logging_in(mysql_admin: object) -> None:
    done = run_cli("local", "rotate", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["logins"] == {"AWSCURRENT": True, "AWSPREVIOUS": True}
    assert report["currentUser"].endswith("_clone")
    assert sorted(report["redeployed"]) == ["customers-service", "vets-service", "visits-service"]
    assert {v["username"] for v in report["versions"]} == {
        report["currentUser"],
        report["currentUser"].removesuffix("_clone"),
    }


def test_local_rotate_says_when_no_mysql_is_reachable() -> None:
    done = run_cli("local", "rotate", "--mysql", "mysql://root@127.0.0.1:1")
    assert done.returncode == 2
    assert "petclinic-ops: no MySQL reachable at 127.0.0.1:1 as root" in done.stderr


@pytest.mark.mysql
def test_local_rotate_rehearses_a_failed_rotation_cancelled_and_redone(mysql_admin: object) -> None:
    done = run_cli("local", "rotate", "--fail-at", "setSecret", "--recover", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    failed = report["failed"]["execution"]
    assert (failed["status"], failed["error"]) == ("FAILED", "RotationFailed")
    assert "failed at setSecret: SuperuserCredentialsRejected" in failed["cause"]
    assert report["cancel"]["action"] == "removed"
    assert report["cancel"]["rotationEnabled"] is True
    assert report["rotation"]["execution"]["status"] == "SUCCEEDED"
    assert report["rotation"]["logins"] == {"AWSCURRENT": True, "AWSPREVIOUS": True}


def test_local_rotate_recover_needs_a_failure_to_recover_from() -> None:
    done = run_cli("local", "rotate", "--recover")
    assert done.returncode == 2
    assert (
        done.stderr
        == "petclinic-ops: --recover needs --fail-at STEP: it recovers from the failure that makes\n"
    )
    assert done.stdout == ""


@pytest.mark.slow
def test_local_provision_json_reports_every_stack_complete_and_what_is_not_emulated() -> None:
    done = run_cli("local", "provision", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(s["name"], s["status"]) for s in report["stacks"]] == [
        ("network", "CREATE_COMPLETE"),
        ("data", "CREATE_COMPLETE"),
        ("services", "CREATE_COMPLETE"),
        ("edge", "CREATE_COMPLETE"),
    ]
    assert all(s["added"] == len(s["resources"]) for s in report["stacks"])
    assert report["parameters"] == [
        f"/petclinic/dev/stacks/{s}/outputs" for s in ("data", "edge", "network", "services")
    ]
    assert {row["type"] for row in report["notEmulated"]} >= {"AWS::EC2::NatGateway", "AWS::RDS::DBCluster"}
    assert all({"stack", "logicalId", "type", "reason"} <= set(row) for row in report["notEmulated"])
    assert report["services"]["customers-service"]["deployment"]["rolloutState"] == "COMPLETED"


def test_local_provision_plan_and_bad_input() -> None:
    done = run_cli("local", "provision", "--plan", "--only", "network", "--json")
    assert done.returncode == 0, done.stderr
    [network] = json.loads(done.stdout)["stacks"]
    assert (network["action"], network["added"]) == ("PLANNED", 53)  # dev: one NAT, one interface endpoint
    bad = run_cli("local", "provision", "--parameter", "cdn.Size=1")
    assert bad.returncode == 2
    assert "unknown stack 'cdn'" in bad.stderr


def test_teardown_of_prod_is_refused_without_force() -> None:
    done = run_cli("teardown", "--env", "prod")
    assert done.returncode == 2
    assert "refusing to tear down prod without --force" in done.stderr


def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def lease_item(cloud: LocalCloud, service: str) -> dict[str, Any]:
    answer = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["LeasesTableName"], Key={"service": {"S": service}}, ConsistentRead=True
    )
    return dict(answer.get("Item", {}))


def test_executions_shows_each_outcome_of_an_execution_that_deployed_a_queued_push(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: a stalled (here broken) push with a newer one queued behind it: the execution
    deploys the queued image too and ends SUCCEEDED. `executions` shows both deployments'
    outcomes, and --status FAILED finds it."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        with cloud.simulator.holding():
            broken = cloud.push_image("customers-service", "1.1.0-broken")
            wait_for(lambda: "taskToken" in lease_item(cloud, "customers-service"))
            cloud.push_image("customers-service", "1.2.0")
            wait_for(lambda: len([e for e in cloud.executions() if e["status"] != "RUNNING"]) >= 1)
        cloud.wait_until_quiet()
        [stalled] = [
            e
            for e in cloud.executions()
            if (e["input"].get("detail") or {}).get("image-digest") == broken["detail"]["image-digest"]
        ]
        assert stalled["status"] == "SUCCEEDED"  # it went on to deploy 1.2.0
        here = Target(stack=cloud.stack_name)
        capfd.readouterr()
        assert executions.run(here, status="FAILED", as_json=True, session=cloud.session) == 0
        rows = json.loads(capfd.readouterr().out)["executions"]
        [row] = [r for r in rows if r["executionArn"] == stalled["executionArn"]]
        assert row["status"] == "SUCCEEDED"
        assert [(o["image"], o["result"]) for o in row["outcomes"]] == [
            ("1.1.0-broken", "FAILED"),
            ("1.2.0", "SUCCEEDED"),
        ]
        assert row["outcomes"][0]["reason"]
        assert executions.run(here, status="SUCCEEDED", as_json=True, session=cloud.session) == 0
        succeeded = json.loads(capfd.readouterr().out)["executions"]
        assert all(r["status"] == "SUCCEEDED" for r in succeeded)
        monkeypatch.setenv("COLUMNS", "300")  # one line per row
        assert executions.run(here, workflow="deploy", session=cloud.session) == 0
        table = capfd.readouterr().out
        [first] = [line for line in table.splitlines() if " 1. 1.1.0-broken " in line]
        assert "FAILED" in first, table
        assert "rolled back" in first, table
        [second] = [line for line in table.splitlines() if " 2. 1.2.0 " in line]
        assert "SUCCEEDED" in second, table
