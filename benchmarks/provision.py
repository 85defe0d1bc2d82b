"""The provision workflow: state transitions and Lambda invocations per stack provisioned and per
no-change re-run, the Express relay's transitions, the local provision's wall time, and how long a
LocalCloud takes to start with the PetClinic stack (the seed is the provisioned stacks) and without.

Counts every state entered (what Standard workflows bill) in the provision executions, on the
local cloud running the real template, ASL files, handler and infra templates.

    python benchmarks/provision.py
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local import provisioning, runner
from petclinic_local.cloud import LocalCloud
from petclinic_local.petclinic.seed import PetClinicSeed

STACKS = ("network", "data", "services", "edge")
TARGET_TRANSITIONS_NO_CHANGE = 60  # all stacks, one run


def relay_transitions(cloud: LocalCloud, before: set[str]) -> tuple[int, int]:
    relays = [
        e for e in cloud.executions("petclinic-ops-dev-stack-events") if e["executionArn"] not in before
    ]
    return len(relays), sum(runner.transitions(runner.history(cloud, e["executionArn"])) for e in relays)


def run(cloud: LocalCloud, request: dict[str, Any]) -> dict[str, Any]:
    before = {e["executionArn"] for e in cloud.executions("petclinic-ops-dev-stack-events")}
    report = provisioning.provision(cloud, request)
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    report["relays"], report["express"] = relay_transitions(cloud, before)
    return report


def per_stack() -> list[dict[str, Any]]:
    rows = []
    with LocalCloud(seed=PetClinicSeed(provisioned=False)) as cloud:
        for stack in STACKS:
            created = run(cloud, {"environment": "dev", "stacks": [stack]})
            unchanged = run(cloud, {"environment": "dev", "stacks": [stack]})
            rows.append(
                {
                    "stack": stack,
                    "resources": created["stacks"][0]["added"],
                    "create": created["transitions"],
                    "create express": created["express"],
                    "create lambdas": created["lambdaInvocations"],
                    "no change": unchanged["transitions"],
                    "no change lambdas": unchanged["lambdaInvocations"],
                }
            )
    return rows


def whole() -> dict[str, Any]:
    with LocalCloud(seed=PetClinicSeed(provisioned=False)) as cloud:
        plan = run(cloud, {"environment": "dev", "plan": True})
        apply = run(cloud, {"environment": "dev"})
        again = run(cloud, {"environment": "dev"})
    return {"plan": plan, "apply": apply, "again": again}


def start_times(repeats: int = 3) -> dict[str, float]:
    figures: dict[str, list[float]] = {"with the PetClinic stack": [], "control plane only": []}
    for _ in range(repeats):
        for label, seed in (
            ("with the PetClinic stack", PetClinicSeed()),
            ("control plane only", PetClinicSeed(provisioned=False)),
        ):
            began = time.perf_counter()
            with LocalCloud(seed=seed):
                figures[label].append(time.perf_counter() - began)
    return {label: statistics.median(values) for label, values in figures.items()}


def main() -> int:
    out = Console()
    with LocalCloud():  # warm-up: imports, the first parses
        pass
    rows = per_stack()
    table = Table(
        title="Per stack (a run of that stack alone: includes the run's own ~10 states)", title_justify="left"
    )
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    out.print(table)

    runs = whole()
    summary = Table(title="All four stacks in one run", title_justify="left")
    for column in ("run", "transitions", "express (relay)", "lambdas", "wall s"):
        summary.add_column(column)
    for label, report in runs.items():
        summary.add_row(
            label,
            str(report["transitions"]),
            f"{report['express']} in {report['relays']} executions",
            str(report["lambdaInvocations"]),
            str(report["wallSeconds"]),
        )
    out.print(summary)

    starts = start_times()
    out.print(
        "LocalCloud() start, median of 3: "
        + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in starts.items())
    )
    again = runs["again"]
    ok = again["transitions"] <= TARGET_TRANSITIONS_NO_CHANGE and again["lambdaInvocations"] <= len(STACKS)
    out.print(
        f"no-change re-run of all stacks: {again['transitions']} transitions "
        f"(target <= {TARGET_TRANSITIONS_NO_CHANGE}), "
        f"{again['lambdaInvocations']} Lambda invocations (target <= {len(STACKS)}, one per stack): "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
