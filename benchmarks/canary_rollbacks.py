"""How fast a bad image is taken off production, and how much of production met it, by strategy.

Each run is one deployment on a fresh local cloud (`petclinic-ops local deploy SERVICE TAG
--strategy S`, ``local_deploy.deploy_once``): the services stack's defaults (canary 10 % for 10
minutes, linear 25 % steps of 5 minutes), the control plane's lifecycle hook judging each
production step against the running revision, ECS's simulated traffic (50 requests per second;
the image tag's behaviour: ``*errors*`` ~5 % 5xx, ``*slow*`` ~3x the p99). From the simulator's
record of the deployment:

- time to rollback: simulated seconds from the first production request the new revision served
  to the rollback (all production traffic back on the running revision);
- exposure: the share of production requests, over the deployment, that the new revision served;
- for good images (``--good N``): how many of N canaries of a baseline-like image were rolled
  back (target 0; benchmarks/canary_judge.py runs the judge alone over 500).

    python benchmarks/canary_rollbacks.py [--good 50]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local.cli import local_deploy

SERVICE = "customers-service"


def deploy(strategy: str, tag: str) -> dict[str, Any]:
    cloud = local_deploy.start_cloud(strategy)
    try:
        outcome = local_deploy.deploy_once(cloud, SERVICE, tag)
    finally:
        cloud.close()
    record = outcome["_record"] or {}
    requests = record.get("requests") or {"old": {"requests": 0}, "new": {"requests": 0}}
    served = requests["old"]["requests"] + requests["new"]["requests"]
    first = record.get("firstNewRequestSecond")
    back = next((s["simulatedSecond"] for s in outcome["_stages"] if s["stage"] == "ROLLBACK"), None)
    return {
        "strategy": strategy,
        "tag": tag,
        "result": outcome["result"],
        "gate": outcome["gate"] or "-",
        "reason": outcome["reason"],
        "rolledBack": outcome["rolledBack"],
        "toRollback": None if first is None or back is None else back - first,
        "exposure": requests["new"]["requests"] / served if served else 0.0,
        "newRequests": requests["new"]["requests"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--good", type=int, default=10, help="canaries of a good image (false rollbacks)")
    args = parser.parse_args(argv)
    rows = [deploy(s, t) for s in ("canary", "linear") for t in ("1.1.0-errors", "1.1.0-slow")]
    table = Table(title="A bad image, by strategy (simulated time, 50 req/s)", title_justify="left")
    columns = ("strategy", "image", "result", "gate", "first request -> rollback", "requests", "exposure")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["strategy"],
            row["tag"],
            row["result"] + (" (rolled back)" if row["rolledBack"] else ""),
            row["gate"],
            "-" if row["toRollback"] is None else f"{row['toRollback']:g} s",
            str(row["newRequests"]),
            f"{100 * row['exposure']:.2f} %",
        )
    console = Console(width=160)
    console.print(table)
    good = [deploy("canary", f"1.1.{n}") for n in range(args.good)]
    false = [row for row in good if row["rolledBack"] or row["result"] != "SUCCEEDED"]
    console.print(f"good images deployed by canary: {len(good)}, rolled back or failed: {len(false)}")
    for row in false:
        console.print(f"  {row['tag']}: {row['result']}, gate {row['gate']}: {row['reason']}", soft_wrap=True)
    caught = all(row["rolledBack"] and row["gate"] == "hook" for row in rows)
    return 0 if caught and not false else 1


if __name__ == "__main__":
    sys.exit(main())
