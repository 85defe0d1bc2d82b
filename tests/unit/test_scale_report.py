"""What `petclinic-ops scale` prints for an INCOMPLETE run: only the targets that did not take their
change are counted as not applied (STEADY and APPLIED did)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from petclinic_local.cli.scale import render_report

ARN = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-scale:scale-peak-1"


def _incomplete(results: dict[str, str]) -> dict[str, Any]:
    targets = [{"target": target, "result": result} for target, result in results.items()]
    return {
        "result": "INCOMPLETE",
        "profile": "peak",
        "dryRun": False,
        "changes": [{"target": t, "attribute": "desiredCount", "before": 1, "after": 2} for t in results],
        "targets": targets,
        "monthlyCostDelta": {},
        "execution": {
            "executionArn": ARN,
            "status": "FAILED",
            "error": "ScaleIncomplete",
            "cause": {"targets": targets},
        },
    }


def test_an_incomplete_run_names_only_the_targets_that_did_not_get_there() -> None:
    console = Console(record=True, width=200, color_system=None)
    render_report(
        console,
        _incomplete(
            {
                "service/customers-service": "STEADY",
                "service/vets-service": "NOT_STEADY",
                "service/admin-server": "FAILED",
                "aurora/petclinic-dev": "APPLIED",
            }
        ),
    )
    text = console.export_text()
    assert (
        "ScaleIncomplete: 2 of 4 targets not applied: service/vets-service, service/admin-server (why: above)"
        in text
    ), text
