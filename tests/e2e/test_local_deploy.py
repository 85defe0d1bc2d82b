"""`petclinic-ops local deploy SERVICE TAG [--strategy ...] [--json]`: one deployment on a fresh
local cloud through ECR's push event and the deploy workflow, by the strategy the services stack
is provisioned with; the JSON from the workflow's outcome and the ECS simulator's record.

The CLI runs in this process (``main``), so it is the checkout's own code that runs (the test's
PYTHONPATH), not whichever petclinic-ops is installed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from petclinic_local.cli import local_deploy
from petclinic_local.cli.main import main
from petclinic_local.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["service", "strategy", "result", "rolledBack", "gate", "reason", "stages"]


def deploy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["local", "deploy", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_command_that_runs_is_this_checkouts() -> None:
    assert Path(local_deploy.__file__).resolve().is_relative_to(ROOT)


def test_rolling_a_good_image_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = deploy(capsys, "customers-service", "1.1.0")

    assert list(out) == KEYS
    assert code == 0
    assert {key: out[key] for key in KEYS if key != "reason"} == {
        "service": "customers-service",
        "strategy": "rolling",  # dev's, from the services stack
        "result": "SUCCEEDED",
        "rolledBack": False,
        "gate": "rollout",
        "stages": [],  # a rolling update has no lifecycle stages
    }
    assert out["reason"].endswith("completed")


def test_a_canary_of_a_good_image_goes_through_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = deploy(capsys, "vets-service", "1.1.0", "--strategy", "canary")

    assert code == 0
    assert (out["strategy"], out["result"], out["rolledBack"], out["gate"]) == (
        "canary",
        "SUCCEEDED",
        False,
        "bake",
    )
    # The services stack's canary: 10 % for 10 minutes, then 100 %; dev's bake time 0.
    assert out["stages"] == [
        {"stage": "SCALE_UP", "productionPercent": 0.0, "testPercent": 0.0, "result": "SUCCEEDED"},
        {
            "stage": "TEST_TRAFFIC_SHIFT",
            "productionPercent": 0.0,
            "testPercent": 100.0,
            "result": "SUCCEEDED",
        },
        {
            "stage": "PRODUCTION_TRAFFIC_SHIFT",
            "productionPercent": 10.0,
            "testPercent": 100.0,
            "result": "SUCCEEDED",
        },
        {
            "stage": "PRODUCTION_TRAFFIC_SHIFT",
            "productionPercent": 100.0,
            "testPercent": 100.0,
            "result": "SUCCEEDED",
        },
        {"stage": "BAKE_TIME", "productionPercent": 100.0, "testPercent": 0.0, "result": "SUCCEEDED"},
    ]


def test_a_broken_image_is_rolled_back_after_the_circuit_breaker(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = deploy(capsys, "visits-service", "1.1.0-broken", "--strategy", "canary")

    assert code == 1
    assert (out["strategy"], out["result"], out["rolledBack"], out["gate"]) == (
        "canary",
        "FAILED",
        True,
        "circuit breaker",
    )
    assert out["reason"].startswith("ECS deployment circuit breaker: tasks failed to start")
    assert "rolled back to" in out["reason"]
    assert out["stages"] == []  # its tasks never started: no traffic ever shifted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["owners-service", "1.1.0"], "unknown service 'owners-service': choose customers-service"),
        (["customers-service", ".1.0"], "tag '.1.0': ECR takes up to 128 letters"),
        (["customers-service", "1.1.0/x"], "tag '1.1.0/x': ECR takes up to 128 letters"),
        (["customers-service", "x" * 129], "ECR takes up to 128 letters"),
        (
            ["customers-service", "1.1.0", "--strategy", "CANARY"],
            "--strategy: invalid choice: 'CANARY'",
        ),
        (
            ["customers-service", "1.1.0", "--strategy", "bluegreen"],
            "--strategy: invalid choice: 'bluegreen'",
        ),
    ],
)
def test_bad_input_is_named_and_nothing_starts(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_cloud(*_: object, **__: object) -> None:
        raise AssertionError("a local cloud was started")

    monkeypatch.setattr(local_deploy, "start_cloud", no_cloud)
    try:
        code = main(["local", "deploy", *args, "--json"])
    except SystemExit as exc:  # argparse's own refusal (a strategy not among its choices)
        code = int(exc.code or 0)
    assert code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_a_strategy_given_in_code_is_checked_too() -> None:
    with pytest.raises(UsageError, match="--strategy 'CANARY': choose rolling, canary, linear, blue-green"):
        local_deploy.check("customers-service", "1.1.0", "CANARY")


def test_the_report_for_people_shows_the_stages_and_the_requests() -> None:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    stage = {"stage": "PRODUCTION_TRAFFIC_SHIFT", "productionPercent": 10.0, "testPercent": 100.0}
    local_deploy.print_outcome(
        out,
        "1.1.0-errors",
        {
            "service": "vets-service",
            "strategy": "canary",
            "result": "FAILED",
            "rolledBack": True,
            "gate": "hook",
            "reason": "lifecycle hook returned FAILED: new revision 5xx 4.4%",
            "_stages": [{**stage, "result": "FAILED", "simulatedSecond": 150.0}],
            "_record": {
                "requests": {"old": {"requests": 2669, "5xx": 1}, "new": {"requests": 296, "5xx": 13}},
                "hooks": [
                    {"hook": "judge", "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT", "hookStatus": "FAILED"}
                ],
            },
        },
    )
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "vets-service:1.1.0-errors by canary: FAILED (rolled back), gate: hook" in text
    assert "PRODUCTION_TRAFFIC_SHIFT │ 10" in text
    assert "new revision 296 (13 5xx)" in text
    assert "judge PRODUCTION_TRAFFIC_SHIFT FAILED" in text
