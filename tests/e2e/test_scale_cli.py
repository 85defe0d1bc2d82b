"""`petclinic-ops local scale` and `petclinic-ops scale` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_local_scale_prints_a_table_for_people_and_rejects_unknown_profiles() -> None:
    shown = run_cli("local", "scale", "peak", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert "Scale to peak (dry run)" in shown.stdout
    assert "monthly cost change: Fargate" in shown.stdout
    unknown = run_cli("local", "scale", "weekend", "--json")
    assert unknown.returncode == 2
    assert json.loads(unknown.stdout)["execution"]["error"] == "UnknownScaleProfile"
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
