"""The scale workflow: state transitions and Lambda invocations per applied profile (and per
target changed), for a dry run and a no-change re-run, and the wall time of `local scale` on the
four services and the Aurora cluster (a fresh local cloud each time, as the command runs).

Counts every state entered (what Standard workflows bill) in the scale executions, on the local
cloud running the real template, ASL file and handler. Targets: <= 10 transitions per target
changed, <= 1 Lambda invocation per run.

    python benchmarks/scale.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local.cloud import LocalCloud
from petclinic_local.scaling import scale

ROOT = Path(__file__).resolve().parents[1]
TARGET_PER_CHANGED = 10
TARGET_LAMBDAS = 1


def targets_changed(report: dict[str, Any]) -> int:
    return len({change["target"] for change in report["changes"]})


def runs() -> list[dict[str, Any]]:
    rows = []
    with LocalCloud() as cloud:
        for profile, dry_run in (
            ("night", True),
            ("night", False),
            ("night", False),
            ("peak", False),
            ("business-hours", False),
        ):
            report = scale(cloud, profile, dry_run=dry_run)
            assert report["result"] in ("APPLIED", "DRY_RUN", "NO_CHANGE"), report["execution"]
            changed = targets_changed(report)
            rows.append(
                {
                    "run": f"{profile}{' (dry run)' if dry_run else ''}",
                    "result": report["result"],
                    "targets changed": changed,
                    "transitions": report["stateTransitions"],
                    "per target": round(report["stateTransitions"] / changed, 1) if changed else None,
                    "lambdas": report["lambdaInvocations"],
                    "seconds": report["wallSeconds"],
                }
            )
    return rows


def command_seconds(repeats: int = 3) -> list[float]:
    """`petclinic-ops local scale night --json` end to end (a fresh local cloud, the run, the report)."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "petclinic_local.cli.main", "local", "scale", "night", "--json"],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - began)
    return times


def main() -> int:
    rows = runs()
    table = Table(
        title="Scale workflow per run (local cloud: 4 services, 1 Aurora cluster)", title_justify="left"
    )
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    out = Console(width=120)
    out.print(table)
    times = command_seconds()
    out.print(
        f"`petclinic-ops local scale night --json`: median {statistics.median(times):.1f} s "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)}; most of it starting the local cloud)"
    )
    applied = [row for row in rows if row["result"] == "APPLIED"]
    worst = max(row["per target"] for row in applied)
    lambdas = max(row["lambdas"] for row in rows)
    out.print(
        f"worst {worst} transitions per target changed (target <= {TARGET_PER_CHANGED}); "
        f"at most {lambdas} Lambda invocation(s) per run (target <= {TARGET_LAMBDAS})"
    )
    return 0 if worst <= TARGET_PER_CHANGED and lambdas <= TARGET_LAMBDAS else 1


if __name__ == "__main__":
    sys.exit(main())
