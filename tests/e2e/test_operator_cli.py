"""The operator's commands (status, history, rollback, diff, executions, local push) and the real
AWS CLI against `petclinic-ops local serve`, every one as a user runs it: a subprocess with
--endpoint-url, in table and JSON form, after a few deployments.

One served local cloud for the module (one xdist worker): customers-service gets 1.1.0, 1.2.0
and a broken 2.0.0 (rolled back); admin-server 2.0.0 and 2.1.0, then is rolled back; visits-service
is diffed and deployed (the diff must match what the workflow registers); vets-service is
deployed through the AWS CLI alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from served import Served, client_environment, local_serve, wait_for
from template_resources import state_machines

pytestmark = [pytest.mark.xdist_group("local-serve"), pytest.mark.slow]

REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
SERVICES = ["customers-service", "vets-service", "visits-service", "admin-server"]
# The Express workflows (no execution list), in template order, as the stack outputs them.
EXPRESS = [machine.name for machine in state_machines() if machine.express]


def push(served: Served, service: str, tag: str) -> str:
    pushed = served.cli_json("local", "push", service, tag)
    assert pushed["repository"] == f"petclinic/dev/{service}"
    return str(pushed["digest"])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with local_serve() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def deployed(served: Served) -> dict[str, str]:
    """Digests by "service:tag", each deployment waited for before the next push."""
    digests = {}
    pushes = [
        ("customers-service", "1.1.0"),
        ("customers-service", "1.2.0"),
        ("customers-service", "2.0.0-broken"),
        ("admin-server", "2.0.0"),
        ("admin-server", "2.1.0"),
    ]
    for count, (service, tag) in enumerate(pushes, 1):
        digests[f"{service}:{tag}"] = push(served, service, tag)
        served.wait_until_idle(count)
    return digests


def test_local_serve_starts_and_says_where(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert served.start_seconds > 0
    print(f"local serve ready in {served.start_seconds:.1f} s")


def test_status_shows_every_service_in_json_and_as_a_table(served: Served, deployed: dict[str, str]) -> None:
    report = served.cli_json("status")
    assert report["cluster"] == "petclinic-dev"
    by_name = {row["service"]: row for row in report["services"]}
    assert list(by_name) == SERVICES
    customers = by_name["customers-service"]
    digest = deployed["customers-service:1.2.0"]
    assert customers["image"] == f"{REGISTRY}/petclinic/dev/customers-service@{digest}"
    assert (customers["tag"], customers["digest"], customers["revision"]) == ("1.2.0", digest, 3)
    assert customers["rollout"]["state"] == "COMPLETED"
    assert (customers["desired"], customers["running"], customers["pending"]) == (2, 2, 0)
    assert customers["lease"] is None
    last = customers["lastDeployment"]
    assert (last["tag"], last["result"], last["rolledBack"]) == ("2.0.0-broken", "FAILED", True)
    vets = by_name["vets-service"]
    assert (vets["tag"], vets["revision"], vets["lastDeployment"]) == ("1.0.0", 1, None)
    assert vets["image"].endswith("/petclinic/dev/vets-service:1.0.0")
    assert vets["digest"].startswith("sha256:")  # the seeded tag's digest, from ECR

    one = served.cli_json("status", "customers-service")
    assert [row["service"] for row in one["services"]] == ["customers-service"]

    table = served.cli("status")
    assert table.returncode == 0, table.stderr
    for text in (*SERVICES, "1.2.0", "COMPLETED", "2/2/0", "FAILED", "2.0.0-broken", "free"):
        assert text in table.stdout
    assert "\x1b[" not in table.stdout  # not a terminal: plain text


def test_status_shows_the_lease_and_the_queued_request_while_a_deployment_runs() -> None:
    """A rollout held open: status names the execution holding the lease, the deployment in
    flight and the newer push queued behind it."""
    with local_serve("--rollout-seconds", "100000") as endpoint:
        push(endpoint, "visits-service", "3.0.0")
        wait_for(
            lambda: (
                (row := endpoint.cli_json("status", "visits-service")["services"][0])["lease"]
                and row["lease"]["inflight"]
                and row["lease"]["inflight"]["phase"] == "rollout"
            ),
            120,
            "the rollout to be in flight",
        )
        push(endpoint, "visits-service", "3.0.1")
        row = wait_for(
            lambda: (
                (row := endpoint.cli_json("status", "visits-service")["services"][0])["lease"][
                    "pendingRequest"
                ]
                and row
            ),
            120,
            "the second push to be queued",
        )
        lease = row["lease"]
        assert lease["holder"].startswith(
            "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:"
        )
        assert lease["inflight"]["job"]["tag"] == "3.0.0"
        assert lease["pendingRequest"]["tag"] == "3.0.1"
        assert row["rollout"]["state"] == "IN_PROGRESS"
        assert (lease["holderStatus"], lease["holderAlive"], lease["parked"]) == ("RUNNING", True, True)
        assert lease["waitDeadline"] > lease["inflight"]["startedAt"]  # the wait's own timeout
        table = endpoint.cli("status", "visits-service")
        assert "held by" in table.stdout
        assert "queued: 3.0.1" in table.stdout
        assert f"it waits for ECS until {lease['waitDeadline'][11:19]} UTC" in table.stdout


def test_history_lists_the_ledger_newest_first(served: Served, deployed: dict[str, str]) -> None:
    rows = served.cli_json("history", "customers-service")["deployments"]
    assert [(r["tag"], r["result"]) for r in rows] == [
        ("2.0.0-broken", "FAILED"),
        ("1.2.0", "SUCCEEDED"),
        ("1.1.0", "SUCCEEDED"),
    ]
    assert rows[0]["rolledBack"] is True
    assert [r["digest"] for r in rows[1:]] == [
        deployed["customers-service:1.2.0"],
        deployed["customers-service:1.1.0"],
    ]
    assert [r["taskDefinitionAfter"].rsplit(":", 1)[-1] for r in rows] == ["4", "3", "2"]
    assert all(r["source"] == "ecr" and r["durationSeconds"] > 0 for r in rows)
    assert len(served.cli_json("history", "customers-service", "--limit", "2")["deployments"]) == 2
    table = served.cli("history", "customers-service")
    assert table.returncode == 0, table.stderr
    for text in ("Ledger of customers-service", "2.0.0-broken", "(rolled back)", "3 -> 4", "1 -> 2", "ecr"):
        assert text in table.stdout
    empty = served.cli("history", "vets-service", "--stack", "petclinic-ops-dev")
    assert empty.returncode == 0
    assert "no deployment of vets-service recorded" in empty.stdout


def test_diff_shows_what_the_deploy_would_register_and_changes_nothing(
    served: Served, deployed: dict[str, str]
) -> None:
    before = served.cli_json("status", "customers-service")["services"][0]
    diff = served.cli_json("diff", "customers-service", "1.1.0")
    old, new = (
        f"{REGISTRY}/petclinic/dev/customers-service@{deployed[f'customers-service:{t}']}"
        for t in ("1.2.0", "1.1.0")
    )
    assert diff["changes"] == [{"container": "customers-service", "before": old, "after": new}]
    assert diff["register"]["ContainerDefinitions"][0]["Image"] == new
    assert diff["register"]["ContainerDefinitions"][1]["Image"] == "public.ecr.aws/xray/aws-xray-daemon:3.3.7"
    assert {"TaskDefinitionArn", "Revision", "Status"} <= set(diff["dropped"])
    assert f'+      "Image": "{new}",' in diff["diff"]
    assert f'-      "Image": "{old}",' in diff["diff"]
    table = served.cli("diff", "customers-service", "1.1.0")
    assert table.returncode == 0, table.stderr
    assert "container customers-service: customers-service@sha256:" in table.stdout
    assert f'+      "Image": "{new}",' in table.stdout
    assert served.cli_json("status", "customers-service")["services"][0] == before  # nothing changed


def test_diff_matches_what_the_workflow_registers(served: Served) -> None:
    """The seeded visits-service runs `...:1.0.0` by tag; the diff's definition is what the
    deploy of 1.0.0 then registers (pinned by digest), field for field."""
    predicted = served.cli_json("diff", "visits-service", "1.0.0")["register"]
    done = served.cli("deploy", "visits-service", "1.0.0", "--poll-seconds", "0.1")
    assert done.returncode == 0, done.stdout + done.stderr
    ecs = served.boto3("ecs")
    arn = ecs.describe_services(cluster="petclinic-dev", services=["visits-service"])["services"][0][
        "taskDefinition"
    ]
    registered = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    definition = registered["taskDefinition"]
    assert definition["revision"] == 2
    assert [c["image"] for c in definition["containerDefinitions"]] == [
        c["Image"] for c in predicted["ContainerDefinitions"]
    ]
    assert predicted["ContainerDefinitions"][0]["Image"].startswith(
        f"{REGISTRY}/petclinic/dev/visits-service@sha256:"
    )
    for key in ("family", "cpu", "memory", "networkMode", "taskRoleArn", "executionRoleArn"):
        assert definition[key] == predicted[key[0].upper() + key[1:]], key
    assert registered["tags"] == [{"key": t["Key"], "value": t["Value"]} for t in predicted["Tags"]]


def test_rollback_goes_back_to_the_previous_image_through_the_workflow(
    served: Served, deployed: dict[str, str]
) -> None:
    done = served.cli("rollback", "admin-server", "--json", "--yes", "--poll-seconds", "0.1")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    previous = deployed["admin-server:2.0.0"]
    assert report["target"]["digest"] == previous
    assert report["request"] == {
        "service": "admin-server",
        "image": previous,
        "reason": "rollback to 2.0.0 (petclinic-dev-admin-server:2)",
    }
    assert report["result"] == "SUCCEEDED"
    assert "ResolveRequest" in done.stderr  # progress goes to stderr with --json
    [newest, *_] = served.cli_json("history", "admin-server")["deployments"]
    assert (newest["digest"], newest["result"], newest["source"]) == (previous, "SUCCEEDED", "manual")
    assert newest["executionArn"] == report["executionArn"]
    # The ledger's reason is the outcome's; the request's reason is in the execution's input.
    [execution] = [
        e
        for e in served.cli_json("executions", "--workflow", "deploy")["executions"]
        if e["executionArn"] == report["executionArn"]
    ]
    assert execution["input"]["reason"] == "rollback to 2.0.0 (petclinic-dev-admin-server:2)"
    status = served.cli_json("status", "admin-server")["services"][0]
    assert (status["digest"], status["tag"], status["revision"]) == (previous, "2.0.0", 4)

    # --to 1: the seeded revision's image (a tag there, resolved to its digest in ECR), confirmed
    table = served.cli("rollback", "admin-server", "--to", "1", "--poll-seconds", "0.1", stdin="y\n")
    assert table.returncode == 0, table.stdout + table.stderr
    assert "deploy 1.0.0 to admin-server? [y/N]" in table.stderr
    assert "SUCCEEDED" in table.stdout
    status = served.cli_json("status", "admin-server")["services"][0]
    assert (status["tag"], status["revision"]) == ("1.0.0", 5)


def test_rollback_after_an_automatic_one_says_what_runs_and_what_it_deploys_and_asks(
    served: Served, deployed: dict[str, str]
) -> None:
    """Issue 19: customers-service's 2.0.0-broken failed and was rolled back to 1.2.0 by the
    workflow. `rollback` targets the last image that succeeded before the one running (1.1.0),
    says what runs now and what it will deploy (tag and digest) and that the last deployment
    was already rolled back; it asks, and deploys nothing without a yes; --dry-run shows it."""
    running, target = deployed["customers-service:1.2.0"], deployed["customers-service:1.1.0"]
    before = len(served.deploy_executions())
    shown = served.cli("rollback", "customers-service", "--dry-run")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    text = " ".join(shown.stdout.split())
    assert f"customers-service runs now: 1.2.0 ({running}) on petclinic-dev-customers-service:3" in text
    assert f"rollback deploys: 1.1.0 ({target}) on petclinic-dev-customers-service:2" in text
    assert "the last deployment (2.0.0-broken) FAILED and was already rolled back" in text
    assert "dry run: nothing started" in text
    plan = served.cli_json("rollback", "customers-service", "--dry-run")
    assert (plan["running"]["digest"], plan["target"]["digest"], plan["dryRun"]) == (running, target, True)
    assert plan["request"] == {
        "service": "customers-service",
        "image": target,
        "reason": "rollback to 1.1.0 (petclinic-dev-customers-service:2)",
    }
    for answer in ("", "n\n"):
        refused = served.cli("rollback", "customers-service", stdin=answer)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "deploy 1.1.0 to customers-service? [y/N]" in refused.stderr
        assert refused.stderr.rstrip().endswith(
            "petclinic-ops: not confirmed: nothing started (answer y, or pass --yes)"
        )
        assert f"rollback deploys:  1.1.0 ({target})" in refused.stdout
    assert len(served.deploy_executions()) == before  # nothing started
    assert served.cli_json("status", "customers-service")["services"][0]["digest"] == running


def test_executions_lists_the_workflows_runs_with_results(served: Served, deployed: dict[str, str]) -> None:
    report = served.cli_json("executions", "--workflow", "deploy", "--limit", "50")
    rows = report["executions"]
    assert report["expressWorkflows"] == []
    assert all(row["workflow"] == "deploy" for row in rows)
    starts = [row["startDate"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    broken = [r for r in rows if (r["input"].get("detail") or {}).get("image-tag") == "2.0.0-broken"]
    assert [(r["status"], r["result"]) for r in broken] == [("FAILED", "FAILED")]
    assert broken[0]["reason"]
    failed_only = served.cli_json("executions", "--status", "FAILED")["executions"]
    assert all(r["status"] == "FAILED" for r in failed_only)
    everything = served.cli_json("executions")
    assert sorted(everything["expressWorkflows"]) == sorted(EXPRESS)
    assert len(served.cli_json("executions", "--limit", "2")["executions"]) == 2
    table = served.cli("executions", "--limit", "5")
    assert table.returncode == 0, table.stderr
    assert "Executions of petclinic-ops-dev's workflows" in table.stdout
    assert f"not listed: {', '.join(EXPRESS)} (Express" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("status", "billing-service"),
            "unknown service 'billing-service': stack petclinic-ops-dev manages customers-service, "
            "vets-service, visits-service, admin-server in cluster petclinic-dev",
        ),
        (("history", "billing-service"), "unknown service 'billing-service'"),
        (("rollback", "billing-service"), "unknown service 'billing-service'"),
        (("diff", "billing-service", "1.0.0"), "unknown service 'billing-service'"),
        (
            ("diff", "customers-service", "9.9.9"),
            "image 9.9.9 not found in repository petclinic/dev/customers-service",
        ),
        (("diff", "customers-service", "not a tag"), "invalid request: image: must be an image tag"),
        (
            ("executions", "--workflow", "billing"),
            "unknown workflow 'billing': stack petclinic-ops-dev has "
            + ", ".join(sorted(machine.name for machine in state_machines())),
        ),
        (
            ("rollback", "customers-service", "--steps", "9"),
            "--steps 9: customers-service has 2 earlier image(s) to roll back to",
        ),
        (("rollback", "customers-service", "--to", "77"), "--to 77: no revision 77 of customers-service"),
        (
            ("status", "--stack", "petclinic-ops-prod"),
            "stack petclinic-ops-prod not found in http://127.0.0.1:",
        ),
        (("local", "push", "customers-service", ".bad"), "tag '.bad': up to 128 letters"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    served: Served, deployed: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    before = len(served.deploy_executions())
    done = served.cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"petclinic-ops: {message}"), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert len(served.deploy_executions()) == before  # nothing started


def test_no_credentials_and_no_endpoint_are_one_line(served: Served) -> None:
    env = client_environment()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    for command in (
        ("status",),
        ("history", "customers-service"),
        ("executions",),
        ("rollback", "admin-server"),
    ):
        done = served.cli(*command, env=env)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("petclinic-ops: no AWS credentials: configure a profile"), done.stderr
        assert done.stderr.count("\n") == 1
    unreachable = served.cli("status", "--endpoint-url", "http://127.0.0.1:9", endpoint=False)
    assert unreachable.returncode == 2
    assert unreachable.stderr == "petclinic-ops: cannot reach http://127.0.0.1:9/\n"


def test_the_aws_cli_deploys_through_the_endpoint_as_on_aws(served: Served) -> None:
    """The README's AWS commands, with --endpoint-url: an image into ECR, ECR's push event on
    the bus, the workflow's execution followed with describe-execution; then a manual
    start-execution; `petclinic-ops status` shows the result."""
    started = time.monotonic()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 7023,
            "digest": "sha256:" + "c" * 64,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "size": 1024,
                "digest": "sha256:" + "d" * 64,
            }
        ],
    }
    put = served.aws(
        "ecr",
        "put-image",
        "--repository-name",
        "petclinic/dev/vets-service",
        "--image-tag",
        "4.0.0",
        "--image-manifest",
        json.dumps(manifest),
    )
    digest = put["image"]["imageId"]["imageDigest"]
    detail = {
        "result": "SUCCESS",
        "repository-name": "petclinic/dev/vets-service",
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": "4.0.0",
        "artifact-media-type": "application/vnd.oci.image.config.v1+json",
        "manifest-media-type": "application/vnd.oci.image.manifest.v1+json",
    }
    entry = {"Source": "aws.ecr", "DetailType": "ECR Image Action", "Detail": json.dumps(detail)}
    sent = served.aws("events", "put-events", "--entries", json.dumps([entry]))
    assert sent["FailedEntryCount"] == 0
    machines = served.aws("stepfunctions", "list-state-machines")["stateMachines"]
    deploy_arn = next(m["stateMachineArn"] for m in machines if m["name"] == "petclinic-ops-dev-deploy")

    def pushed_execution() -> dict[str, Any] | None:
        for listed in served.aws("stepfunctions", "list-executions", "--state-machine-arn", deploy_arn)[
            "executions"
        ]:
            described = served.aws(
                "stepfunctions", "describe-execution", "--execution-arn", listed["executionArn"]
            )
            given = json.loads(described["input"])
            if given.get("detail", {}).get("image-digest") == digest and described["status"] != "RUNNING":
                return dict(described)
        return None

    described = wait_for(pushed_execution, 120, "the push's execution to end")
    push_seconds = time.monotonic() - started
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["result"] == "SUCCEEDED"

    manual = served.aws(
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        deploy_arn,
        "--input",
        json.dumps({"service": "vets-service", "image": "1.0.0", "reason": "back to 1.0.0"}),
    )
    final = wait_for(
        lambda: (
            (
                d := served.aws(
                    "stepfunctions", "describe-execution", "--execution-arn", manual["executionArn"]
                )
            )["status"]
            != "RUNNING"
            and d
        ),
        120,
        "the manual execution to end",
    )
    assert final["status"] == "SUCCEEDED", final
    assert json.loads(final["output"])["result"] == "SUCCEEDED"
    status = served.cli_json("status", "vets-service")["services"][0]
    assert (status["tag"], status["revision"], status["rollout"]["state"]) == ("1.0.0", 3, "COMPLETED")
    assert status["lastDeployment"]["source"] == "manual"
    rows = served.cli_json("history", "vets-service")["deployments"]
    assert [(r["tag"], r["source"]) for r in rows] == [("1.0.0", "manual"), ("4.0.0", "ecr")]
    print(f"AWS CLI push -> deploy SUCCEEDED in {push_seconds:.1f} s")


def test_deploy_and_rotation_cancel_take_the_endpoint_too(served: Served) -> None:
    """The commands that were there before take --endpoint-url as well."""
    cancel = served.cli("rotation", "cancel", "petclinic/dev/aurora/app", "--json")
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout)["action"] == "nothing"
    before = len(served.deploy_executions())
    bad = served.cli("deploy", "billing-service", "1.0.0", "--poll-seconds", "0.1")
    assert bad.returncode == 2  # refused before anything starts, as --help says
    assert bad.stderr.startswith("petclinic-ops: unknown service 'billing-service': stack petclinic-ops-dev")
    assert len(served.deploy_executions()) == before


@pytest.mark.mysql
def test_a_rotation_through_the_served_endpoint_with_mariadb(mysql_admin: Any) -> None:
    """With a database, `local serve` manages a real PetClinic user's secret: `petclinic-ops
    rotation start` starts the rotation workflow and follows it; it rotates the secret (the
    rotation function logs in to MariaDB) and rolls the services that read it; `rotation status`
    shows the run; the database is dropped when the server stops."""
    url = f"mysql://{mysql_admin.user}:{mysql_admin.password}@{mysql_admin.host}:{mysql_admin.port}"
    with local_serve("--mysql", url, "--time-scale", "0.05", "--rollout-seconds", "20") as endpoint:
        # The runbook's command: the rotation rollout workflow, followed (issue 19).
        done = endpoint.cli(
            "rotation", "start", "petclinic/dev/aurora/app", "--json", "--poll-seconds", "0.2"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["status"] == "SUCCEEDED", report
        assert "RotateSecret" in done.stderr  # each state as it is entered
        machines = endpoint.aws("stepfunctions", "list-state-machines")["stateMachines"]
        rollout = next(m["stateMachineArn"] for m in machines if m["name"].endswith("-rotation-rollout"))
        final = endpoint.aws("stepfunctions", "describe-execution", "--execution-arn", report["executionArn"])
        assert final["stateMachineArn"] == rollout
        assert final["status"] == "SUCCEEDED", final
        assert sorted(json.loads(final["output"])["redeployed"]) == [
            "customers-service",
            "vets-service",
            "visits-service",
        ]
        status = endpoint.cli_json("rotation", "status", "petclinic/dev/aurora/app")
        assert status["incompleteRotation"] is None
        # this execution, and the one RotationSucceeded started (the version was claimed: DUPLICATE)
        runs = {e["executionArn"]: e["result"] for e in status["executions"]}
        assert runs[report["executionArn"]] == "SUCCEEDED"
        assert [v["stages"] for v in status["versions"] if "AWSCURRENT" in v["stages"]] == [["AWSCURRENT"]]
        rows = endpoint.cli_json("history", "vets-service")["deployments"]
        assert [(r["kind"], r["source"], r["result"]) for r in rows] == [("restart", "rotation", "SUCCEEDED")]
        current = endpoint.boto3("secretsmanager").get_secret_value(SecretId="petclinic/dev/aurora/app")
        assert json.loads(current["SecretString"])["username"].endswith("_clone")
