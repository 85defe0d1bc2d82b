"""State transitions, Lambda invocations and time per deployment, by ECS deployment strategy.

For each strategy, a good image pushed to customers-service on a fresh local cloud whose services
stack deploys by that strategy (`petclinic-ops local deploy customers-service 1.1.0 --strategy S`,
``local_deploy.deploy_once``): the deploy execution's states entered (Standard, billed per
transition), the deployment-events relays' (Express), the Lambda invocations (the workflow's and,
once the services stack names one, the lifecycle hook's), the simulated time ECS took and the wall
time from the push to a quiet cloud.

    python benchmarks/deploy_strategies.py
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local import runner
from petclinic_local.cli import local_deploy

DEPLOY = "petclinic-ops-dev-deploy"
RELAYS = "petclinic-ops-dev-deployment-events"
SERVICE = "customers-service"
EARLY = "ReadEarlyOutcome"


def states_entered(cloud: Any, execution_arn: str) -> list[str]:
    return runner.states_entered(runner.history(cloud, execution_arn))


def measure(strategy: str) -> dict[str, Any]:
    cloud = local_deploy.start_cloud(strategy)
    try:
        assert cloud.runtime is not None
        relays_before = {e["executionArn"] for e in cloud.executions(RELAYS)}
        lambdas_before = len(cloud.runtime.invocations)
        started = time.monotonic()
        outcome = local_deploy.deploy_once(cloud, SERVICE, "1.1.0")
        wall = time.monotonic() - started
        relays = [e for e in cloud.executions(RELAYS) if e["executionArn"] not in relays_before]
        stages = outcome["_stages"]
        deploy = states_entered(cloud, outcome["_execution"]["executionArn"])
        return {
            "strategy": strategy,
            "result": outcome["result"],
            "gate": outcome["gate"] or "-",
            "stages": len(stages),
            "standard": len(deploy),
            # ECS's event arrived before the workflow parked its task token (ReadEarlyOutcome,
            # CheckRollout: 2 more states), likelier the shorter the rollout is in wall time.
            "early": EARLY in deploy,
            "express": sum(len(states_entered(cloud, relay["executionArn"])) for relay in relays),
            "relays": len(relays),
            "lambdas": len(calls := cloud.runtime.invocations[lambdas_before:]),
            "hook": sum(1 for call in calls if call.function.endswith("-deployment-hook")),
            "simulated": stages[-1]["simulatedSecond"] if stages else cloud.simulator.rollout_seconds,
            "wall": wall,
            "time_scale": cloud.time_scale,
        }
    finally:
        cloud.close()


def main() -> int:
    rows = [measure(strategy) for strategy in local_deploy.STRATEGIES]
    table = Table(
        title="Per deployment of a good image (deploy execution + the ECS-event relays that resumed it)",
        title_justify="left",
    )
    for column in (
        "strategy",
        "result",
        "gate",
        "stages",
        "Standard transitions",
        "event before token",
        "Express transitions",
        "ECS events relayed",
        "Lambda invocations (hook)",
        "simulated s",
        "wall s (push to quiet)",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["strategy"],
            row["result"],
            row["gate"],
            str(row["stages"]),
            str(row["standard"]),
            "yes" if row["early"] else "no",
            str(row["express"]),
            str(row["relays"]),
            f"{row['lambdas']} ({row['hook']})",
            f"{row['simulated']:g}",
            f"{row['wall']:.1f}",
        )
    Console(width=160).print(table)
    print(
        f"time scale {rows[0]['time_scale']} (real seconds per simulated second); the services stack's "
        "defaults: canary 10 % for 10 min, linear 25 % steps of 5 min, dev bake time 0; the control "
        "plane's lifecycle hook at each test and production step (its calls are ECS's, not the "
        "workflow's); no deployment alarm"
    )
    # The early-outcome path's 2 states are a race with ECS, not the strategy's doing.
    same = (
        len(
            {
                (row["standard"] - 2 * row["early"], row["express"], row["lambdas"] - row["hook"])
                for row in rows
            }
        )
        == 1
    )
    print(
        "the workflow's cost is the same for every strategy (it waits on ECS's events, whatever the "
        f"stages; the early-outcome path's 2 states aside): {'yes' if same else 'NO'}"
    )
    return 0 if all(row["result"] == "SUCCEEDED" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
