"""What enforcing IAM costs the local cloud: the same work with enforcement on and off.

Each round starts a local cloud (the real template, ASL files and handlers), deploys all four
services from ECR pushes (the deploy workflow: leases, ledger, ECR, ECS, SNS, the resolver
function) and waits until everything is quiet; rounds alternate on and off so that the machine's
noise falls on both. Also: the cost of one authorisation (a Task state's UpdateService, decided
against the deploy role's policies), and the requests authorised and refused (none may be).

    python benchmarks/iam_enforcement.py
"""

from __future__ import annotations

import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

from petclinic_local.cloud import LocalCloud
from petclinic_local.moto_compat import iam

TARGET_RATIO = 1.10  # enforcement within 10 % of the time without it
ROUNDS = 3
SERVICES = ("customers-service", "vets-service", "visits-service", "admin-server")


def one_round(enforce: bool) -> tuple[float, int, int]:
    started = time.perf_counter()
    with LocalCloud(time_scale=0.01, rollout_seconds=60, enforce_iam=enforce) as cloud:
        for service in SERVICES:
            cloud.push_image(service, "2.0.0")
        cloud.wait_until_quiet(timeout=300)
        authorised, refused = iam.AUTHORISED[0], len(iam.REFUSALS)
    return time.perf_counter() - started, authorised, refused


def decision_cost(samples: int = 2000) -> float:
    """Microseconds per authorisation of a typical Task state call, inside a running cloud."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        role = next(
            r["Arn"]
            for r in cloud.client("iam").list_roles()["Roles"]
            if "DeployStateMachineRole" in r["RoleName"]
        )
        principal = iam.Principal(role, "bench")
        params = {"cluster": "petclinic-dev", "service": "customers-service", "forceNewDeployment": True}
        started = time.perf_counter()
        for _ in range(samples):
            assert iam.authorise(principal, "ecs", "UpdateService", params, "us-west-2") is None
        return (time.perf_counter() - started) / samples * 1e6


def main() -> int:
    times: dict[bool, list[float]] = {True: [], False: []}
    authorised = refused = 0
    for _ in range(ROUNDS):
        for enforce in (False, True):
            seconds, count, refusals = one_round(enforce)
            times[enforce].append(seconds)
            if enforce:
                authorised, refused = max(authorised, count), refused + refusals
    off, on = statistics.median(times[False]), statistics.median(times[True])
    ratio = on / off
    table = Table(title=f"Four deployments on a new local cloud, {ROUNDS} rounds each (median)")
    for column in ("IAM", "seconds (median)", "rounds", "requests authorised", "refused"):
        table.add_column(column)
    table.add_row("off", f"{off:.2f}", " ".join(f"{t:.2f}" for t in times[False]), "-", "-")
    table.add_row("on", f"{on:.2f}", " ".join(f"{t:.2f}" for t in times[True]), str(authorised), str(refused))
    console = Console(width=110)
    console.print(table)
    cost = decision_cost()
    console.print(f"on/off: {ratio:.3f} (target <= {TARGET_RATIO:.2f}); one authorisation: {cost:.0f} us")
    return 0 if ratio <= TARGET_RATIO and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
