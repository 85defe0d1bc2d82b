"""State transitions and Lambda invocations per service restarted after a rotation.

A RotationSucceeded event on the local cloud (the real template, ASL and handlers) restarts the
three services that read the secret; each restart is a deploy execution (`startExecution.sync:2`).
Counts every state entered in the rotation rollout and in the deploy executions it started (what
Standard workflows bill), and the Lambda invocations.

    python benchmarks/rotation_transitions.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from moto.secretsmanager.models import secretsmanager_backends

from petclinic_local import runner
from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud
from petclinic_local.moto_compat.secretsmanager import rotation_event

ROLLOUT = "petclinic-ops-dev-rotation-rollout"
DEPLOY = "petclinic-ops-dev-deploy"


ASL = Path(__file__).resolve().parents[1] / "statemachines" / "rotation-rollout.asl.json"


def entered(cloud: LocalCloud, execution_arn: str) -> list[str]:
    """The name of every state entered, in order."""
    return runner.states_entered(runner.history(cloud, execution_arn))


def per_service_states() -> set[str]:
    """The states of the rollout's per-service Map (RollOutServices)."""
    states = json.loads(ASL.read_text())["States"]["RollOutServices"]["ItemProcessor"]["States"]
    return set(states)


def main() -> int:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        secret = secretsmanager_backends[ACCOUNT][REGION].secrets[cloud.seeded["databaseSecretArn"]]
        cloud.client("events").put_events(Entries=[rotation_event(secret, "RotationSucceeded")])
        cloud.wait_until_quiet(timeout=300)
        [rollout] = cloud.executions(ROLLOUT)
        restarts = cloud.executions(DEPLOY)
        services = len(rollout["output"]["redeployed"])
        names = entered(cloud, rollout["executionArn"])
        inner = sum(1 for name in names if name in per_service_states())
        children = sum(len(entered(cloud, e["executionArn"])) for e in restarts)
        assert cloud.runtime is not None
        lambdas = len(cloud.runtime.invocations)
    parent = len(names)
    fixed = parent - inner  # what a rotation costs whatever the services
    per_service = (inner + children) / services
    print(
        f"rotation rollout (RotationSucceeded) restarting {services} services: "
        f"{parent} Standard transitions in the rollout ({fixed} whatever the services), "
        f"{children} in the {len(restarts)} deploy executions; "
        f"{per_service:.1f} Standard transitions and {lambdas / services:.1f} Lambda invocations per "
        "restarted service"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
