"""State transitions and Lambda invocations per deployment, by path and by rollout length.

Counts every state entered (what Standard workflows bill: USD 0.025 per 1,000 transitions) in
the deploy execution and in the deployment-events (Express) executions that resumed it, on the
local cloud running the real template, ASL files and handlers.

    python benchmarks/deploy_transitions.py
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local import runner
from petclinic_local.cloud import LocalCloud

PRICE_PER_TRANSITION = 0.025 / 1000
# 20 before issue 17's image protection (ReadImageManifests, and ProtectImages' Map over the
# deployed and the running revision's image: 6 more).
TARGET_STANDARD = 26


def states_entered(cloud: LocalCloud, execution_arn: str) -> int:
    return runner.transitions(runner.history(cloud, execution_arn))


def measure(
    label: str, *, rollout_seconds: float, time_scale: float, tag: str, breaker_rollback: bool = False
) -> dict[str, Any]:
    with LocalCloud(time_scale=time_scale, rollout_seconds=rollout_seconds) as cloud:
        if breaker_rollback:
            cloud.set_circuit_breaker("customers-service", enable=True, rollback=True)
        cloud.push_image("customers-service", tag)
        cloud.wait_until_quiet(timeout=300)
        [deploy] = cloud.executions("petclinic-ops-dev-deploy")
        relays = cloud.executions("petclinic-ops-dev-deployment-events")
        assert cloud.runtime is not None
        standard = states_entered(cloud, deploy["executionArn"])
        express = sum(states_entered(cloud, relay["executionArn"]) for relay in relays)
        result = runner.result(deploy)
        return {
            "path": label,
            "rollout": f"{rollout_seconds:.0f} s",
            "result": result,
            "standard": standard,
            "express": express,
            "relays": len(relays),
            "lambdas": len(cloud.runtime.invocations),
        }


def main() -> int:
    rows = [
        # Rollout lengths under the 1800 s rollout timeout, each taking about a second here.
        measure("happy path", rollout_seconds=60, time_scale=0.01, tag="1.1.0"),
        measure("happy path", rollout_seconds=300, time_scale=0.004, tag="1.1.0"),
        measure("happy path", rollout_seconds=1200, time_scale=0.001, tag="1.1.0"),
        measure(
            "no completion, timed out and rolled back",
            rollout_seconds=60,
            time_scale=0.001,
            tag="1.1.0-stall",
        ),
        measure(
            "failed, rolled back by the workflow", rollout_seconds=60, time_scale=0.01, tag="1.1.0-broken"
        ),
        measure(
            "failed, circuit breaker rolled back",
            rollout_seconds=60,
            time_scale=0.01,
            tag="1.1.0-broken",
            breaker_rollback=True,
        ),
    ]
    table = Table(
        title="Per deployment (deploy execution + the ECS-event relays that resumed it)", title_justify="left"
    )
    for column in (
        "path",
        "rollout",
        "result",
        "Standard transitions",
        "Express transitions",
        "ECS events relayed",
        "Lambda invocations",
        "USD per 1,000 deployments (transitions)",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["path"],
            row["rollout"],
            row["result"],
            str(row["standard"]),
            str(row["express"]),
            str(row["relays"]),
            str(row["lambdas"]),
            f"{row['standard'] * PRICE_PER_TRANSITION * 1000:.3f}",
        )
    Console(width=160).print(table)
    happy = [row for row in rows if row["path"] == "happy path"]
    constant = len({(row["standard"], row["express"], row["lambdas"]) for row in happy}) == 1
    standard = happy[0]["standard"]
    print(
        f"happy path: {standard} Standard transitions (target <= {TARGET_STANDARD}; billed per transition) + "
        f"{happy[0]['express']} Express (billed per request and duration), "
        f"{happy[0]['lambdas']} Lambda invocation(s) (target <= 1); "
        f"independent of the rollout's length: {'yes' if constant else 'NO'}"
    )
    return 0 if constant and standard <= TARGET_STANDARD and happy[0]["lambdas"] <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
