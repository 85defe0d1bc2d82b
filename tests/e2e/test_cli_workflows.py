"""Issue 19: what the operator could only do with a raw `aws stepfunctions start-execution` and
an ARN, now commands that go through the workflows and follow them like `deploy`: `restart
SERVICE`, `rotation start SECRET [--restart-only]`, `rotation status SECRET`. On one local cloud,
the commands' own functions with its session (as test_cli.py's `deploy` tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from petclinic_local.cli import restart, rotation_workflow
from petclinic_local.cli.aws import Target
from petclinic_local.cli.main import main
from petclinic_local.cloud import LocalCloud
from petclinic_local.errors import UsageError

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli-workflows")]
SECRET = "petclinic/dev/aurora/app"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as local:
        yield local


def here(cloud: LocalCloud) -> Target:
    return Target(stack=cloud.stack_name)


def last_json(capfd: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capfd.readouterr().out)


# pytest-xdist may run a test of this module on the other worker (a cloud of its own there), so a
# test that needs a restart or a rotation on record makes sure of it rather than count on an
# earlier test having run on the same cloud.


def ensure_restarted(cloud: LocalCloud) -> None:
    """The ledger has a restart (of vets-service), whichever tests ran before on this cloud."""
    if not any(row["kind"] == "restart" for row in cloud.deployments()):
        assert restart.run("vets-service", target=here(cloud), session=cloud.session, poll_seconds=0.1) == 0


def ensure_rotation_restarted(cloud: LocalCloud) -> None:
    """A restart-only rotation rollout of SECRET has run on this cloud."""
    if not any(row["source"] == "rotation" for row in cloud.deployments()):
        code = rotation_workflow.start(
            SECRET, target=here(cloud), restart_only=True, session=cloud.session, poll_seconds=0.1
        )
        assert code == 0


def test_restart_deploys_the_running_revision_again_through_the_deploy_workflow(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str]
) -> None:
    before = cloud.services()["vets-service"]
    capfd.readouterr()
    code = restart.run(
        "vets-service",
        target=here(cloud),
        reason="INC-19",
        as_json=True,
        session=cloud.session,
        poll_seconds=0.1,
    )
    report = last_json(capfd)
    assert code == 0, report
    assert report["request"] == {"service": "vets-service", "restart": True, "reason": "INC-19"}
    assert report["result"] == "SUCCEEDED"
    [execution] = [e for e in cloud.executions() if e["executionArn"] == report["executionArn"]]
    assert execution["input"] == report["request"]
    after = cloud.services()["vets-service"]
    assert after["image"] == before["image"]  # the same image, a new deployment
    assert after["deployment"]["id"] != before["deployment"]["id"]
    [row] = [r for r in cloud.deployments() if r["service"] == "vets-service"]
    assert (row["kind"], row["source"], row["result"]) == ("restart", "manual", "SUCCEEDED")
    assert row["executionArn"] == report["executionArn"]
    table = capfd.readouterr()  # the table form: each state, then the result
    assert restart.run("vets-service", target=here(cloud), session=cloud.session, poll_seconds=0.1) == 0
    table = capfd.readouterr()
    assert "restarting vets-service (its running revision)" in table.out
    assert "RestartService" in table.out
    assert "SUCCEEDED" in table.out


def test_restart_refuses_an_unknown_service_before_starting_anything(cloud: LocalCloud) -> None:
    started = len(cloud.executions())
    with pytest.raises(
        UsageError, match="unknown service 'billing-service': stack petclinic-ops-local manages"
    ):
        restart.run("billing-service", target=here(cloud), session=cloud.session)
    with pytest.raises(UsageError, match="invalid request: "):
        restart.run("vets service", target=here(cloud), session=cloud.session)
    assert len(cloud.executions()) == started


def test_rotation_start_restart_only_restarts_the_services_that_read_the_secret(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    code = rotation_workflow.start(
        SECRET, target=here(cloud), restart_only=True, as_json=True, session=cloud.session, poll_seconds=0.1
    )
    report = last_json(capfd)
    assert code == 0, report
    assert report["request"]["restartOnly"] is True
    assert report["request"]["secret"].startswith("arn:aws:secretsmanager:us-west-2:123456789012:secret:")
    assert report["result"] == "SUCCEEDED"
    assert sorted(report["details"]["redeployed"]) == ["customers-service", "vets-service", "visits-service"]
    rows = [r for r in cloud.deployments() if r["source"] == "rotation"]
    assert sorted(r["service"] for r in rows) == ["customers-service", "vets-service", "visits-service"]


def test_rotation_start_refuses_an_unknown_secret_before_starting_anything(cloud: LocalCloud) -> None:
    started = len(cloud.executions())
    with pytest.raises(UsageError, match="secret 'petclinic/dev/nope' not found in us-west-2"):
        rotation_workflow.start("petclinic/dev/nope", target=here(cloud), session=cloud.session)
    with pytest.raises(UsageError, match="secret 'petclinic/dev/nope' not found"):
        rotation_workflow.status("petclinic/dev/nope", target=here(cloud), session=cloud.session)
    assert len(cloud.executions()) == started


def test_rotation_status_shows_the_versions_stages_an_incomplete_rotation_and_recent_runs(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_rotation_restarted(cloud)
    secrets = cloud.client("secretsmanager")
    current = secrets.get_secret_value(SecretId=SECRET)
    capfd.readouterr()
    assert rotation_workflow.status(SECRET, target=here(cloud), as_json=True, session=cloud.session) == 0
    report = last_json(capfd)
    assert report["name"] == SECRET
    assert report["rotationEnabled"] is True
    assert report["incompleteRotation"] is None
    stages = {v["versionId"]: v["stages"] for v in report["versions"]}
    assert stages[current["VersionId"]] == ["AWSCURRENT"]
    assert all(not s or s == ["AWSPREVIOUS"] for v, s in stages.items() if v != current["VersionId"])
    assert current["SecretString"] not in json.dumps(report)  # no secret value
    assert [(e["restartOnly"], e["result"]) for e in report["executions"]][:1] == [(True, "SUCCEEDED")]

    # A rotation that failed leaves its version AWSPENDING: status says so.
    pending = secrets.put_secret_value(
        SecretId=SECRET, SecretString=current["SecretString"], VersionStages=["AWSPENDING"]
    )["VersionId"]
    try:
        assert rotation_workflow.status(SECRET, target=here(cloud), as_json=True, session=cloud.session) == 0
        report = last_json(capfd)
        assert report["incompleteRotation"] == pending
        stages = {v["versionId"]: v["stages"] for v in report["versions"]}
        assert (stages[current["VersionId"]], stages[pending]) == (["AWSCURRENT"], ["AWSPENDING"])
        monkeypatch.setenv("COLUMNS", "200")
        assert rotation_workflow.status(SECRET, target=here(cloud), session=cloud.session) == 0
        table = capfd.readouterr().out
        assert f"a rotation is incomplete: AWSPENDING is on {pending}" in " ".join(table.split())
        assert "rotation enabled" in table
    finally:
        secrets.update_secret_version_stage(
            SecretId=SECRET, VersionStage="AWSPENDING", RemoveFromVersionId=pending
        )


def test_the_new_commands_are_in_the_cli_with_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["restart"], ["rotation", "start"], ["rotation", "status"]):
        with pytest.raises(SystemExit) as shown:
            main([*command, "--help"])
        assert shown.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "exit codes: 0" in text, command
        assert "--endpoint-url" in text, command


def test_history_takes_the_ledgers_own_names_scale_and_genai(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: `history scale` and `history genai`, as the runbook writes them, failed with
    "unknown service"; the ledger's own names work, and an unknown name says which exist."""
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.cli import history  # noqa: PLC0415

    execution = runner.run(cloud, "ScaleStateMachine", {"profile": "night", "dryRun": True}, name="dry")
    assert execution["status"] == "SUCCEEDED", execution
    capfd.readouterr()
    assert history.run(here(cloud), "scale", as_json=True, session=cloud.session) == 0
    [row] = last_json(capfd)["deployments"]
    assert (row["kind"], row["profile"], row["result"]) == ("scale", "night", "DRY_RUN")
    assert history.run(here(cloud), "scale", session=cloud.session) == 0
    assert "profile night (dry run)" in capfd.readouterr().out
    assert history.run(here(cloud), "genai", session=cloud.session) == 0
    assert "no deployment of genai recorded" in capfd.readouterr().out
    with pytest.raises(UsageError, match=r"unknown service 'scales': .*; the ledger also has scale, genai"):
        history.run(here(cloud), "scales", session=cloud.session)


@pytest.mark.parametrize("columns", ["60", "100"])
def test_tables_fit_the_width_and_never_drop_or_cut_a_column(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    """Issue 19: at 80-100 columns, and piped, `status` lost the lease and last deployment and cut
    tags, `history` lost reason and execution. COLUMNS is honoured; a table that does not fit
    with every column whole is printed a row per block (`column: value`)."""
    from petclinic_local.cli import history, status  # noqa: PLC0415

    ensure_restarted(cloud)
    monkeypatch.setenv("COLUMNS", columns)
    capfd.readouterr()
    assert status.run(here(cloud), session=cloud.session) == 0
    text = capfd.readouterr().out
    rows = {row["service"]: row for row in _status_rows(cloud)}
    for name, row in rows.items():
        assert name in text
        assert f"  tag: {row['tag']}" in text, text
        assert f"  lease: {'free' if not row['lease'] else 'held'}" in text, text
    assert "  last deployment: SUCCEEDED restart" in text, text
    assert history.run(here(cloud), "vets-service", session=cloud.session) == 0
    text = capfd.readouterr().out
    [newest, *_] = [r for r in cloud.deployments() if r["service"] == "vets-service"][::-1]
    assert f"  reason: {newest['reason']}" in text, text
    assert f"  execution: {newest['executionArn'].rsplit(':', 1)[-1]}" in text, text
    monkeypatch.setenv("COLUMNS", "300")
    assert status.run(here(cloud), session=cloud.session) == 0
    [header] = [line for line in capfd.readouterr().out.splitlines() if "last deployment" in line]
    assert "tasks d/r/p" in header  # wide enough: the table, every column in it


def _status_rows(cloud: LocalCloud) -> list[dict[str, Any]]:
    from petclinic_local.cli import aws, status  # noqa: PLC0415

    plane = aws.control_plane(here(cloud), session=cloud.session)
    return status.describe(plane, list(plane.services))
