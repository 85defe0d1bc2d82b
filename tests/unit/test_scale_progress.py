"""What `scale` and `local scale` print while they follow the workflow (issue 19): operator
words for each state of statemachines/scale.asl.json, from one mapping, never ScaleFailed for a
run that ended INCOMPLETE."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from petclinic_local.scaling import PROGRESS, progress, progress_line

ROOT = Path(__file__).resolve().parents[2]


def _state_names(states: dict[str, Any]) -> set[str]:
    names = set(states)
    for state in states.values():
        if state["Type"] == "Map":
            names |= _state_names(state["ItemProcessor"]["States"])
        for branch in state.get("Branches", []):
            names |= _state_names(branch["States"])
    return names


def test_every_state_of_the_workflow_has_words_or_is_silent_and_none_is_shown_by_its_name() -> None:
    definition = json.loads((ROOT / "statemachines/scale.asl.json").read_text())
    names = _state_names(definition["States"])
    assert names == set(PROGRESS), names ^ set(PROGRESS)
    shown = {name: words for name, words in PROGRESS.items() if words}
    assert not [name for name, words in shown.items() if name in words]


def test_the_words_name_the_target_from_the_states_input() -> None:
    claim = {"item": {"service": "vets-service", "desiredCount": 0}}
    assert progress_line("ClaimService", json.dumps(claim)) == "applying to vets-service"
    described = {"Services": [{"ServiceName": "admin-server", "RunningCount": 1}]}
    assert str(progress_line("ServiceNotSteady", described)).startswith("admin-server is not steady in time")
    assert progress_line("ModifyDBCluster", {"item": {"cluster": "petclinic-dev"}}) == (
        "applying to Aurora cluster petclinic-dev"
    )
    assert str(progress_line("Plan", '{"profile": "night"}')).startswith("planning: reading profile night")
    assert progress_line("ClaimService", "not json") == "applying to a service"
    assert progress_line("RouteRun", {}) is None
    assert progress_line("SomeNewState", {}) == "SomeNewState"  # never hidden


def test_an_incomplete_run_ends_in_words_and_parallel_waits_make_one_line() -> None:
    said: list[str] = []
    entered = progress(said.append)
    at = dt.datetime(2026, 12, 7, 3, 0, 5, tzinfo=dt.UTC)
    for name in ("WaitForSteadyState", "WaitForSteadyState", "ServiceNotSteady", "ScaleFailed"):
        entered(
            {
                "timestamp": at,
                "stateEnteredEventDetails": {
                    "name": name,
                    "input": json.dumps({"Services": [{"ServiceName": "admin-server"}]}),
                },
            }
        )
    assert said == [
        "  03:00:05  waiting for services to be steady",
        "  03:00:05  admin-server is not steady in time (it keeps its change; ECS goes on with it)",
        "  03:00:05  finished: not every target applied (which and why: below)",
    ]
