"""The on-call drill: each incident played on `petclinic-ops local serve` and resolved by following
docs/runbook.md, command for command, as a new on-call engineer would.

Every command an incident runs is taken from the runbook's own text (``Runbook.command``: it
must be there, in the section the incident follows, or the test fails); what the drill does
that is not the operator's (pushing a broken image, breaking a secret, deleting an image from
ECR: the incident itself) goes through ``local push`` and the SDK and is named ``cause``. A
static test checks the other way round: every command of the sections the drill covers is
followed by an incident, or listed in ``NOT_REHEARSED`` with the reason. So the runbook cannot
drift from the CLI (a renamed option, a changed output) without this test failing.

The incidents: a broken image (rolled back by the workflow), a stalled rollout with a newer push
queued behind it, a failed rotation (MariaDB), a rejected and an incomplete scale run, a GenAI
release rolled back by its smoke test.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from served import AWS_CLI, ROOT, Served, client_environment, local_serve, wait_for

pytestmark = [pytest.mark.xdist_group("drill"), pytest.mark.slow]

RUNBOOK = ROOT / "docs" / "runbook.md"
SECRET = "petclinic/dev/aurora/app"
COLUMNS = "100"  # a terminal of 100 columns: nothing the runbook points at may be cut

# Commands of the covered sections that the drill does not run, and why.
NOT_REHEARSED = {
    'petclinic-ops deploy customers-service sha256:<digest> --reason "roll back INC-123"': (
        "the same workflow as rollback, which the drill runs; test_operator_cli deploys by digest"
    ),
    'petclinic-ops rollback customers-service --reason "roll back INC-123"': (
        "after an automatic rollback the runbook says there is nothing more to roll back; the drill "
        "checks that --dry-run says so (test_operator_cli runs a rollback)"
    ),
    "aws secretsmanager cancel-rotate-secret": "the runbook says not to use it",
    "petclinic-ops rotation start petclinic/dev/aurora/app --restart-only": (
        "another section (a service failed to restart); test_rotation_rollout covers restartOnly"
    ),
    "petclinic-ops local rotate --fail-at setSecret --recover": "a fresh local cloud of its own (test_cli)",
    "petclinic-ops local scale night --json": "a fresh local cloud of its own (test_scale_cli)",
    "petclinic-ops provision --env dev --only services": (
        "after an AccessDenied of RegisterScalableTarget: the local cloud does not enforce IAM yet"
    ),
    "aws lambda update-alias --function-name petclinic-ops-dev-genai --name live --function-version "
    "<previousVersion> --routing-config AdditionalVersionWeights={}": (
        "for ROLLBACK_FAILED, a fault of Lambda itself: the fault-injection suite's territory"
    ),
    "aws dynamodb delete-item --table-name petclinic-ops-dev-leases --key "
    '\'{"service": {"S": "genai-release"}}\'': "with the update-alias above (ROLLBACK_FAILED)",
}


# --------------------------------------------------------------------------- the runbook's commands


class Runbook:
    """docs/runbook.md's commands by section: indented and fenced code lines and inline code that
    start with `petclinic-ops ` or `aws ` (a trailing `# comment` dropped, spaces collapsed)."""

    def __init__(self, text: str) -> None:
        self.sections: dict[str, list[str]] = {}
        for chunk in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
            title, _, body = chunk.partition("\n")
            self.sections[title.strip()] = self._commands(body)

    @staticmethod
    def _commands(body: str) -> list[str]:
        found = []
        code_lines = re.findall(r"^(?: {4,}|\t)(.+)$", body, flags=re.MULTILINE)
        fenced = re.findall(r"```(?:bash)?\n(.*?)```", body, flags=re.DOTALL)
        code_lines += [line for block in fenced for line in block.replace("\\\n", " ").splitlines()]
        inline = re.findall(r"`([^`]+)`", body)
        for candidate in [*code_lines, *inline]:
            command = " ".join(candidate.split(" #", 1)[0].split())
            if command.startswith(("petclinic-ops ", "aws ")) and command not in found:
                found.append(command)
        return found

    def command(self, section: str, command: str) -> str:
        """``command`` as the section writes it (optional ``[...]`` parts may be left out)."""
        written = self.sections[section]
        plain = {re.sub(r"\s*\[[^\]]*\]", "", c): c for c in written}
        assert command in written or command in plain, (
            f"the runbook's section {section!r} does not say `{command}`; it says: {written}"
        )
        return command


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return Runbook(RUNBOOK.read_text(encoding="utf-8"))


class Operator:
    """Runs a runbook command against the served cloud, as typed in a terminal of COLUMNS columns
    (``<placeholders>`` filled in), and remembers which commands it ran."""

    def __init__(self, served: Served, runbook: Runbook, workdir: Path) -> None:
        self.served = served
        self.runbook = runbook
        self.workdir = workdir
        self.followed: list[tuple[str, str]] = []

    def run(self, section: str, command: str, *, expect: int = 0, **values: str) -> str:
        self.followed.append((section, self.runbook.command(section, command)))
        for name, value in values.items():
            command = command.replace(f"<{name}>", value)
        argv = shlex.split(command)
        env = client_environment(COLUMNS=COLUMNS)
        if argv[0] == "aws":
            argv = [str(AWS_CLI), "--endpoint-url", self.served.url, *argv[1:]]
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=120, cwd=self.workdir, env=env, check=False
            )
        else:
            done = self.served.cli(*argv[1:], env=env)
        assert done.returncode == expect, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    # 0.02 real seconds per simulated second: a stalled rollout waits 36 s for ECS
    # (RolloutTimeoutSeconds 1800), a scale run 18 s for a steady state (ScaleTimeoutSeconds 900).
    with local_serve("--time-scale", "0.02", "--rollout-seconds", "50") as endpoint:
        yield endpoint


@pytest.fixture
def operator(served: Served, runbook: Runbook, tmp_path: Path) -> Operator:
    return Operator(served, runbook, tmp_path)


def cause_push(served: Served, service: str, tag: str) -> None:
    """The incident's cause: an image pushed (as CI would), its deployment waited for."""
    before = len(served.deploy_executions())
    pushed = served.cli("local", "push", service, tag, "--json")
    assert pushed.returncode == 0, pushed.stderr
    served.wait_until_idle(before + 1)


def status_of(served: Served, service: str) -> dict[str, Any]:
    report: dict[str, Any] = served.cli_json("status", service)["services"][0]
    return report


# --------------------------------------------------------------------------- the incidents


def test_drill_a_broken_image(served: Served, operator: Operator) -> None:
    cause_push(served, "customers-service", "1.1.0")
    cause_push(served, "customers-service", "1.2.0-broken")

    look = "Where to look"
    failed = operator.run(look, "petclinic-ops executions --status FAILED")
    assert "ECR Image Action: petclinic/dev/customers-service 1.2.0-broken" in failed
    assert "the deploy workflow rolled back to" in failed, failed
    paging = json.loads(operator.run(look, "aws cloudwatch describe-alarms --state-value ALARM"))
    assert "petclinic-ops-dev-deployments-failed" in [a["AlarmName"] for a in paging["MetricAlarms"]]
    events = json.loads(
        operator.run(
            look,
            "aws ecs describe-services --cluster petclinic-dev --services customers-service "
            "--query 'services[0].events[:10]'",
        )
    )
    said = [event["message"] for event in events]
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in said), said
    assert any("Stopped reason: Essential container in task exited" in m for m in said), said

    failed_section = "A deployment failed"
    history = operator.run(failed_section, "petclinic-ops history customers-service")
    assert "result: FAILED (rolled back)" in history, history
    status = operator.run(failed_section, "petclinic-ops status customers-service")
    assert re.search(r"tag\s*:?\s+1\.1\.0\b", status), status
    assert "COMPLETED" in status, status

    plan = operator.run("Roll back by hand", "petclinic-ops rollback customers-service --dry-run")
    assert re.search(r"runs now:\s+1\.1\.0 ", plan), plan
    assert "already rolled back" in plan, plan
    assert "dry run: nothing started" in plan, plan

    cause_push(served, "customers-service", "1.2.1")  # "Fix the image and push again."
    assert status_of(served, "customers-service")["tag"] == "1.2.1"
    assert operator.followed == FOLLOWED["broken image"]


def test_drill_a_stalled_rollout_with_a_newer_push_behind_it(served: Served, operator: Operator) -> None:
    before = len(served.deploy_executions())
    assert served.cli("local", "push", "customers-service", "1.3.0-stall", "--json").returncode == 0
    wait_for(
        lambda: (
            (lease := status_of(served, "customers-service")["lease"])
            and (lease.get("inflight") or {}).get("phase") == "rollout"
        ),
        60,
        "the stalled rollout to be in flight",
    )
    assert served.cli("local", "push", "customers-service", "1.3.1", "--json").returncode == 0
    wait_for(
        lambda: (status_of(served, "customers-service")["lease"] or {}).get("pendingRequest"),
        60,
        "the newer push to queue",
    )

    section = "A lease looks stuck"
    status = operator.run(section, "petclinic-ops status customers-service")
    holder = re.search(r"held by (arn:aws:states:\S+):", status)
    assert holder, status
    assert "it waits for ECS until" in status, status
    assert "queued: 1.3.1" in status, status
    described = json.loads(
        operator.run(
            section,
            "aws stepfunctions describe-execution --execution-arn <leaseHolder>",
            leaseHolder=holder[1],
        )
    )
    assert described["status"] == "RUNNING"
    operator.run(
        section, "aws stepfunctions stop-execution --execution-arn <leaseHolder>", leaseHolder=holder[1]
    )
    restarted = operator.run(section, 'petclinic-ops restart customers-service --reason "finish INC-123"')
    assert f"finished first what {holder[1]} left" in restarted, restarted
    served.wait_until_idle(before + 3)

    history = operator.run(section, "petclinic-ops history customers-service")
    newest, stalled = history.split("\n20")[1:3]
    assert "tag: 1.3.1" in newest, history
    assert "result: SUCCEEDED" in newest, history
    assert "tag: 1.3.0-stall" in stalled, history
    assert "FAILED (rolled back)" in stalled, history
    after = status_of(served, "customers-service")
    assert (after["tag"], after["lease"], after["rollout"]["state"]) == ("1.3.1", None, "COMPLETED")
    # The restart SUCCEEDED (it deployed 1.3.1), yet `--status FAILED` lists it: it also recorded
    # the stalled deployment's failure, and says so beside the success.
    failed = operator.run("Where to look", "petclinic-ops executions --status FAILED")
    block = next((b for b in failed.split("\n20") if "manual-customers-service-" in b), "")
    assert "1.3.0-stall" in block, failed
    assert "FAILED" in block, failed
    assert "1.3.1" in block, failed
    assert operator.followed == FOLLOWED["stalled rollout"]


def test_drill_a_rejected_and_an_incomplete_scale_run(served: Served, operator: Operator) -> None:
    section = "Scaling"
    ssm, ecs = served.boto3("ssm"), served.boto3("ecs")
    night = ssm.get_parameter(Name="/petclinic/dev/scale/night")["Parameter"]["Value"]
    edit = "aws ssm put-parameter --name /petclinic/dev/scale/night --type String --overwrite --value file://night.json"
    services = ["customers-service", "vets-service", "visits-service", "admin-server"]

    def counts() -> dict[str, int]:
        described = ecs.describe_services(cluster="petclinic-dev", services=services)["services"]
        return {s["serviceName"]: s["desiredCount"] for s in described}

    # "Change a profile": an edit with three mistakes, all named in one dry run, nothing changed.
    bad = json.loads(night)
    bad["services"]["vets-service"] = {"minCapacity": True, "maxCapacity": "8"}
    bad["services"]["billing-service"] = {"desiredCount": 1}
    (operator.workdir / "night.json").write_text(json.dumps(bad))
    operator.run(section, edit)
    before = counts()
    rejected = operator.run(section, "petclinic-ops scale night --dry-run", expect=2)
    assert "REJECTED, nothing changed" in rejected, rejected
    for field in (
        "services.billing-service: unknown service billing-service",
        "services.vets-service.maxCapacity: must be a whole number of tasks (0-1000), not a string",
        "services.vets-service.minCapacity: must be a whole number of tasks (0-1000), not a boolean (true)",
    ):
        assert field in rejected, rejected
    assert "┏" not in rejected  # a sentence, no empty diff table
    assert counts() == before
    (operator.workdir / "night.json").write_text(night)
    operator.run(section, edit)

    # "A run ended INCOMPLETE": vets-service's image is gone from ECR, so its new tasks cannot start.
    tag = status_of(served, "vets-service")["tag"]
    served.boto3("ecr").batch_delete_image(
        repositoryName="petclinic/dev/vets-service", imageIds=[{"imageTag": tag}]
    )
    incomplete = operator.run(section, "petclinic-ops scale peak", expect=1)
    assert "service/vets-service: NOT_STEADY" in incomplete, incomplete
    # Only the target that did not get there (the others are STEADY or APPLIED) is named.
    assert re.search(
        r"ScaleIncomplete: 1 of \d targets not applied: service/vets-service \(why: above\)", incomplete
    )
    assert "ScaleFailed" not in incomplete
    events = json.loads(
        operator.run(
            section,
            "aws ecs describe-services --cluster petclinic-dev --services vets-service "
            "--query 'services[0].events[:10]'",
        )
    )
    assert (
        "is unable to consistently start tasks successfully. CannotPullContainerError" in events[0]["message"]
    )
    ledger = operator.run(section, "petclinic-ops history scale")
    assert "result: INCOMPLETE" in ledger.split("\n20")[1], ledger

    cause_push(served, "vets-service", tag)  # "push it again; its deployment starts the tasks"
    again = operator.run(section, "petclinic-ops scale peak")
    assert "nothing to change: every target already matches profile peak" in again, again
    vets = status_of(served, "vets-service")
    assert vets["running"] == vets["desired"] >= 3
    assert operator.followed == FOLLOWED["scale"]


def test_drill_a_genai_release_rolled_back(served: Served, operator: Operator) -> None:
    ssm, lam = served.boto3("ssm"), served.boto3("lambda")
    function = "petclinic-ops-dev-genai"
    url_name = "/petclinic/dev/services/customers-service/url"
    url = ssm.get_parameter(Name=url_name)["Parameter"]["Value"]

    def sam_deploy(change: str) -> str:
        """What `sam deploy` does for a changed function: a new configuration, a new version."""
        variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        lam.update_function_configuration(
            FunctionName=function, Environment={"Variables": {**variables, "DRILL_CHANGE": change}}
        )
        return str(lam.publish_version(FunctionName=function)["Version"])

    live_before = lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
    ssm.put_parameter(Name=url_name, Value="http://127.0.0.1:9", Type="String", Overwrite=True)  # the cause
    bad = sam_deploy("one")
    section = "A GenAI release was rolled back"
    rolled_back = operator.run(section, "petclinic-ops genai release <version>", expect=1, version=bad)
    assert "ROLLED_BACK: smoke test failed" in rolled_back, rolled_back
    assert (
        "the tool call failed, not the model (listOwners failed: customers-service did not answer"
        in rolled_back
    )
    assert f"live: version {live_before}" in rolled_back
    assert "version ?" not in rolled_back

    history = operator.run(section, "petclinic-ops history genai")
    assert f"tag: version {live_before} -> {bad}" in history, history
    assert "result: ROLLED_BACK" in history, history
    alias = json.loads(
        operator.run(section, "aws lambda get-alias --function-name petclinic-ops-dev-genai --name live")
    )
    assert alias["FunctionVersion"] == live_before
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    ssm.put_parameter(Name=url_name, Value=url, Type="String", Overwrite=True)  # the fix
    good = sam_deploy("two")  # a newer version: its containers read the URLs afresh
    released = operator.run(section, "petclinic-ops genai release <version>", version=good)
    assert "SUCCEEDED" in released, released
    assert f"live: version {good}" in released, released
    assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == good
    assert operator.followed == FOLLOWED["genai release"]


@pytest.mark.mysql
def test_drill_a_failed_rotation(mysql_admin: Any, runbook: Runbook, tmp_path: Path) -> None:
    url = f"mysql://{mysql_admin.user}:{mysql_admin.password}@{mysql_admin.host}:{mysql_admin.port}"
    with local_serve("--mysql", url, "--time-scale", "0.05", "--rollout-seconds", "20") as served:
        operator = Operator(served, runbook, tmp_path)
        secrets = served.boto3("secretsmanager")
        app = json.loads(secrets.get_secret_value(SecretId=SECRET)["SecretString"])
        master = secrets.get_secret_value(SecretId=app["masterarn"])["SecretString"]
        wrong = {**json.loads(master), "password": "not-the-superuser-password"}
        secrets.put_secret_value(SecretId=app["masterarn"], SecretString=json.dumps(wrong))  # the cause

        now = "Rotate the database credentials now"
        failed = operator.run(now, "petclinic-ops rotation start petclinic/dev/aurora/app", expect=1)
        assert "SuperuserCredentialsRejected" in failed, failed
        section = "A rotation failed"
        status = operator.run(now, "petclinic-ops rotation status petclinic/dev/aurora/app")
        assert "a rotation is incomplete" in status, status

        secrets.put_secret_value(SecretId=app["masterarn"], SecretString=master)  # "Fix the cause"
        cancelled = operator.run(section, "petclinic-ops rotation cancel petclinic/dev/aurora/app")
        assert "AWSPENDING" in cancelled, cancelled
        rotated = operator.run(now, "petclinic-ops rotation start petclinic/dev/aurora/app")
        assert "SUCCEEDED" in rotated, rotated
        after = operator.run(now, "petclinic-ops rotation status petclinic/dev/aurora/app")
        assert "a rotation is incomplete" not in after, after
        current = json.loads(secrets.get_secret_value(SecretId=SECRET)["SecretString"])
        assert current["username"] != app["username"]  # alternating users: the other one now
        assert operator.followed == FOLLOWED["failed rotation"]


# --------------------------------------------------------------------------- the runbook, covered

# What each incident runs, in order: (the runbook's section, its command as written there).
FOLLOWED: dict[str, list[tuple[str, str]]] = {
    "broken image": [
        ("Where to look", "petclinic-ops executions --status FAILED"),
        ("Where to look", "aws cloudwatch describe-alarms --state-value ALARM"),
        (
            "Where to look",
            "aws ecs describe-services --cluster petclinic-dev --services customers-service "
            "--query 'services[0].events[:10]'",
        ),
        ("A deployment failed", "petclinic-ops history customers-service"),
        ("A deployment failed", "petclinic-ops status customers-service"),
        ("Roll back by hand", "petclinic-ops rollback customers-service --dry-run"),
    ],
    "stalled rollout": [
        ("A lease looks stuck", "petclinic-ops status customers-service"),
        ("A lease looks stuck", "aws stepfunctions describe-execution --execution-arn <leaseHolder>"),
        ("A lease looks stuck", "aws stepfunctions stop-execution --execution-arn <leaseHolder>"),
        ("A lease looks stuck", 'petclinic-ops restart customers-service --reason "finish INC-123"'),
        ("A lease looks stuck", "petclinic-ops history customers-service"),
        ("Where to look", "petclinic-ops executions --status FAILED"),
    ],
    "scale": [
        (
            "Scaling",
            "aws ssm put-parameter --name /petclinic/dev/scale/night --type String --overwrite "
            "--value file://night.json",
        ),
        ("Scaling", "petclinic-ops scale night --dry-run"),
        (
            "Scaling",
            "aws ssm put-parameter --name /petclinic/dev/scale/night --type String --overwrite "
            "--value file://night.json",
        ),
        ("Scaling", "petclinic-ops scale peak"),
        (
            "Scaling",
            "aws ecs describe-services --cluster petclinic-dev --services vets-service "
            "--query 'services[0].events[:10]'",
        ),
        ("Scaling", "petclinic-ops history scale"),
        ("Scaling", "petclinic-ops scale peak"),
    ],
    "genai release": [
        ("A GenAI release was rolled back", "petclinic-ops genai release <version>"),
        ("A GenAI release was rolled back", "petclinic-ops history genai"),
        (
            "A GenAI release was rolled back",
            "aws lambda get-alias --function-name petclinic-ops-dev-genai --name live",
        ),
        ("A GenAI release was rolled back", "petclinic-ops genai release <version>"),
    ],
    "failed rotation": [
        ("Rotate the database credentials now", "petclinic-ops rotation start petclinic/dev/aurora/app"),
        ("Rotate the database credentials now", "petclinic-ops rotation status petclinic/dev/aurora/app"),
        ("A rotation failed", "petclinic-ops rotation cancel petclinic/dev/aurora/app"),
        ("Rotate the database credentials now", "petclinic-ops rotation start petclinic/dev/aurora/app"),
        ("Rotate the database credentials now", "petclinic-ops rotation status petclinic/dev/aurora/app"),
    ],
}


def _plain(command: str) -> str:
    return re.sub(r"\s*\[[^\]]*\]", "", command)


def test_every_command_of_the_drilled_sections_is_followed_or_says_why_not(runbook: Runbook) -> None:
    """The other direction: a command the runbook adds to a section the drill follows is drilled
    (in that section or another), or its absence is explained in NOT_REHEARSED."""
    drilled = {command for steps in FOLLOWED.values() for _, command in steps}
    sections = {section for steps in FOLLOWED.values() for section, _ in steps}
    for steps in FOLLOWED.values():
        for section, command in steps:
            runbook.command(section, command)
    for section in sorted(sections):
        left = [
            c
            for c in runbook.sections[section]
            if c not in drilled and _plain(c) not in drilled and c not in NOT_REHEARSED
        ]
        assert left == [], f"{section}: commands neither drilled nor in NOT_REHEARSED: {left}"
    for command, reason in NOT_REHEARSED.items():
        assert reason, command
        assert any(command in commands for commands in runbook.sections.values()), command
