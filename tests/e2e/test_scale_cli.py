"""`petclinic-ops local scale` and `petclinic-ops scale` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.cli import scale
from petclinic_local.cli.aws import Target
from petclinic_local.cloud import LocalCloud
from petclinic_local.scaling import live_state

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]
SEEDED = {"customers-service": 2, "vets-service": 2, "visits-service": 2, "admin-server": 1}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)


def test_local_scale_night_json_applies_the_diff_and_dry_run_shows_it_changing_nothing() -> None:
    applied = run_cli("local", "scale", "night", "--json")
    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    assert {"profile", "dryRun", "changes", "monthlyCostDelta", "result"} <= set(report)
    assert (report["profile"], report["dryRun"], report["result"]) == ("night", False, "APPLIED")
    assert {c["target"] for c in report["changes"]} == {
        "service/customers-service",
        "service/vets-service",
        "service/visits-service",
        "service/admin-server",
        "aurora/petclinic-dev",
    }
    assert report["monthlyCostDelta"] == {"fargate": -100.92, "aurora": -43.8, "total": -144.72}
    assert {name: s["runningCount"] for name, s in report["live"]["services"].items()} == dict.fromkeys(
        SEEDED, 0
    )
    assert report["live"]["aurora"]["petclinic-dev"]["MinCapacity"] == 0

    dry = run_cli("local", "scale", "night", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    dry_report = json.loads(dry.stdout)
    assert (dry_report["dryRun"], dry_report["result"]) == (True, "DRY_RUN")
    assert dry_report["changes"] == report["changes"]
    assert dry_report["monthlyCostDelta"] == report["monthlyCostDelta"]
    assert {name: s["runningCount"] for name, s in dry_report["live"]["services"].items()} == SEEDED
    assert dry_report["live"]["aurora"]["petclinic-dev"]["MinCapacity"] == 0.5


# The workflow's state names that would mislead or mean nothing to an operator (ScaleFailed is
# where an INCOMPLETE run ends too): the progress says what happens instead (issue 19).
STATE_NAMES = ("ReadRequest", "ClaimService", "WaitForSteadyState", "ScaleFailed", "RouteRun", "Conclude")


def test_local_scale_prints_progress_and_a_table_for_people_and_rejects_unknown_profiles() -> None:
    shown = run_cli("local", "scale", "peak")
    assert shown.returncode == 0, shown.stderr
    for words in (
        "planning: reading profile peak and the live stack",
        "applying to customers-service",
        "applying to Aurora cluster petclinic-dev",
        "waiting for services to be steady",
        "customers-service is steady",
        "finished",
    ):
        assert words in shown.stdout, (words, shown.stdout)
    assert not [name for name in STATE_NAMES if name in shown.stdout], shown.stdout
    assert shown.stdout.count("waiting for services to be steady") == 1  # four services, one line
    assert "Scale to peak (apply)" in shown.stdout
    assert "monthly cost change: Fargate" in shown.stdout
    assert "APPLIED" in shown.stdout
    unknown = run_cli("local", "scale", "weekend")
    assert unknown.returncode == 2
    assert "Scale to weekend" not in unknown.stdout  # no empty diff table
    assert "target" not in unknown.stdout
    assert "rejected: nothing changed" in unknown.stdout
    assert "REJECTED, nothing changed: arn:aws:states:" in unknown.stdout
    assert (
        "UnknownScaleProfile: no scale profile weekend: Parameter Store has no /petclinic/dev/scale/weekend"
        in unknown.stdout
    )
    bad = run_cli("local", "scale", "Night!")
    assert bad.returncode == 2
    assert "bad profile name 'Night!'" in bad.stderr


def test_scale_on_aws_follows_the_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    """The AWS command against the local cloud's control plane stack (same API calls)."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        target = Target(stack=cloud.stack_name)
        before = live_state(cloud)
        code = scale.run_aws(
            "night",
            dry_run=True,
            target=target,
            timeout=120,
            poll_seconds=0.1,
            as_json=True,
            session=cloud.session,
        )
        dry = json.loads(capsys.readouterr().out)
        assert (code, dry["result"], live_state(cloud)) == (0, "DRY_RUN", before)
        code = scale.run_aws(
            "night",
            dry_run=False,
            target=target,
            timeout=120,
            poll_seconds=0.1,
            as_json=True,
            session=cloud.session,
        )
        applied = json.loads(capsys.readouterr().out)
        assert (code, applied["result"], applied["changes"]) == (0, "APPLIED", dry["changes"])
        cloud.wait_until_quiet()
        assert live_state(cloud)["services"]["admin-server"]["desiredCount"] == 0
        code = scale.run_aws(
            "weekend",
            dry_run=False,
            target=target,
            timeout=120,
            poll_seconds=0.1,
            as_json=True,
            session=cloud.session,
        )
        rejected = json.loads(capsys.readouterr().out)
        assert (code, rejected["result"], rejected["execution"]["error"]) == (
            2,
            "REJECTED",
            "UnknownScaleProfile",
        )


def _put_profile(cloud: LocalCloud, name: str, profile: dict[str, Any]) -> None:
    cloud.client("ssm").put_parameter(
        Name=f"/petclinic/dev/scale/{name}", Value=json.dumps(profile), Type="String", Overwrite=True
    )


def test_scale_for_people_names_every_bad_field_and_says_when_nothing_changes(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A rejected run and a run with nothing to change print a sentence, no empty diff table; a
    rejected profile's every bad field on a line of its own, an unknown service among them.
    (capfd: the console writes to the process's stdout, past sys.stdout.)"""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        target = Target(stack=cloud.stack_name)
        _put_profile(
            cloud,
            "bad",
            {
                "services": {
                    "owners-service": {"desiredCount": 1},
                    "vets-service": {"desiredCount": "2"},
                    "admin-server": {"minCapacity": 1, "maxCapacity": 2},
                },
                "aurora": {"petclinic-dev": {"minCapacity": 0.7, "maxCapacity": 4}},
            },
        )
        _put_profile(cloud, "admin-one", {"services": {"admin-server": {"desiredCount": 1}}})

        def run(profile: str) -> tuple[int, str]:
            code = scale.run_aws(
                profile,
                dry_run=False,
                target=target,
                timeout=120,
                poll_seconds=0.1,
                as_json=False,
                session=cloud.session,
            )
            return code, capfd.readouterr().out

        code, rejected = run("bad")
        assert code == 2, rejected
        lines = [line.strip() for line in rejected.splitlines()]
        assert "InvalidScaleProfile: profile bad:" in lines, rejected
        for problem in (
            "aurora.petclinic-dev.minCapacity: 0.7 is not a multiple of 0.5 ACU",
            "services.admin-server: minCapacity/maxCapacity given but Application Auto Scaling does not "
            "manage this service, give desiredCount",
            "services.owners-service: unknown service owners-service (this environment's services: "
            "customers-service, vets-service, visits-service, admin-server)",
            "services.vets-service.desiredCount: must be a whole number of tasks (0-1000), not a string",
        ):
            assert problem in lines, (problem, rejected)
        assert "Scale to bad" not in rejected
        assert "┏" not in rejected  # no table at all

        code, unchanged = run("admin-one")  # the seeded admin-server runs 1 task already
        assert code == 0, unchanged
        assert "nothing to change: every target already matches profile admin-one" in unchanged
        assert "NO_CHANGE" in unchanged
        assert "Scale to admin-one" not in unchanged
        assert "┏" not in unchanged
        assert "monthly cost change" not in unchanged
        assert not [name for name in STATE_NAMES if name in unchanged], unchanged
