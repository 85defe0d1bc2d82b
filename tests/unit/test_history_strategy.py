"""`history` shows each deployment's strategy and the gate that failed it (issue 21); older ledger
rows, without either, still print."""

from __future__ import annotations

import pytest
from rich.console import Console

from petclinic_local.cli.history import gate_text, history_table


def _text(rows: list[dict[str, object]]) -> str:
    console = Console(width=400, record=True, color_system=None)
    console.print(history_table("vets-service", rows))
    return console.export_text()


def test_the_strategy_and_the_gate_are_shown() -> None:
    row = {
        "startedAt": "2026-12-07T23:00:00Z",
        "result": "FAILED",
        "rolledBack": True,
        "strategy": "CANARY",
        "gate": {"type": "alarm", "name": "vets-canary-5xx", "reason": "CloudWatch alarm ..."},
        "reason": "rolled back",
    }
    text = _text([row])
    assert "strategy" in text
    assert "gate" in text
    assert "CANARY" in text
    assert "alarm vets-canary-5xx" in text


def test_gate_text() -> None:
    assert gate_text({"gate": {"type": "circuit breaker", "reason": "tasks failed to start"}}) == (
        "circuit breaker"
    )
    assert gate_text({"gate": {"type": "hook", "name": "canary-judge"}}) == "hook canary-judge"
    assert gate_text({}) == "-"
    assert gate_text({"gate": None}) == "-"


def test_rows_written_before_strategies_still_print() -> None:
    text = _text([{"startedAt": "2026-11-30T00:00:00Z", "result": "SUCCEEDED", "tag": "1.0.0"}])
    assert "SUCCEEDED" in text
    assert "1.0.0" in text


def test_deploy_takes_a_strategy_in_the_issues_spelling() -> None:
    from petclinic_local.cli.deploy import validated_input  # noqa: PLC0415
    from petclinic_local.errors import UsageError  # noqa: PLC0415

    assert validated_input("vets-service", "1.0.0", None, "blue-green")["strategy"] == "BLUE_GREEN"
    assert "strategy" not in validated_input("vets-service", "1.0.0", None)
    with pytest.raises(UsageError, match="strategy:"):
        validated_input("vets-service", "1.0.0", None, "sideways")
