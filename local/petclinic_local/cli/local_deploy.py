"""`petclinic-ops local deploy SERVICE TAG [--strategy ...]`: one deployment on a fresh local cloud,
as on AWS: the services stack provisioned with the strategy (its DeploymentStrategy parameter, so
the service's deploymentConfiguration is the stack's, lifecycle hooks and alarms included), an
image pushed to the service's ECR repository, ECR's push event on the bus, the deploy workflow
followed to its end; then the workflow's outcome and the ECS simulator's record of the stages.

``deploy_once`` is the part benchmarks/deploy_strategies.py measures too."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

# The option's spelling -> ECS's deploymentConfiguration.strategy (the services stack's parameter).
STRATEGIES = {"rolling": "ROLLING", "canary": "CANARY", "linear": "LINEAR", "blue-green": "BLUE_GREEN"}
# A canary of 10 % for 10 simulated minutes after a 90 s scale-up: 690 simulated seconds, ~7 s here.
TIME_SCALE = 0.01  # the workflow's timeouts scale with it; the hook's calls (real time) do not
DEPLOY = "petclinic-ops-dev-deploy"
GATES_HELP = (
    "What decides (the JSON's gate): 'rollout' a rolling update whose tasks started and passed their "
    "health checks; 'circuit breaker' tasks that cannot start (an image tagged *broken*), under any "
    "strategy: ECS's deployment circuit breaker fails the deployment and the deploy workflow rolls "
    "back; 'timeout' no completion within the workflow's rollout timeout (*stall*); for canary, linear "
    "and blue-green, 'hook' a lifecycle hook answered FAILED and 'alarm' a deployment alarm went to "
    "ALARM (ECS shifts production traffic back), 'bake' every step and the bake time passed. Hooks "
    "and alarms are the ones the services stack configures for the service: until the stack sets the "
    "lifecycle hook (its comparison of the new revision with the running one), nothing judges the "
    "new revision's errors or latency, and an *errors*, *slow* or *unhealthy* image (README, the "
    "local cloud) is promoted."
)


def check(service: str, tag: str, strategy: str | None) -> None:
    """A UsageError naming the service, tag or strategy that is wrong (before anything starts)."""
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415
    from petclinic_ops.models.deploy import TAG_PATTERN  # noqa: PLC0415

    services = [s.name for s in PetClinicSeed().services]
    if service not in services:
        raise UsageError(f"unknown service {service!r}: choose {', '.join(services)}")
    if not TAG_PATTERN.match(tag):
        raise UsageError(
            f"tag {tag!r}: ECR takes up to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'"
        )
    if strategy is not None and strategy not in STRATEGIES:
        raise UsageError(f"--strategy {strategy!r}: choose {', '.join(STRATEGIES)}")


def start_cloud(strategy: str | None, *, time_scale: float = TIME_SCALE) -> LocalCloud:
    """A fresh local cloud whose services stack deploys every service by ``strategy`` (the option's
    spelling; None: the environment's, dev ROLLING): the stack's DeploymentStrategy parameter."""
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415 - moto is slow to import
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415

    parameters = {"services": {"DeploymentStrategy": STRATEGIES[strategy]}} if strategy else None
    return LocalCloud(time_scale=time_scale, seed=PetClinicSeed(parameters=parameters)).__enter__()


def configured_strategy(cloud: LocalCloud, service: str) -> str:
    """The service's deploymentConfiguration.strategy (ROLLING when it names none), spelled as
    the option spells it."""
    [described] = cloud.client("ecs").describe_services(cluster=cloud.seed_spec.cluster, services=[service])[
        "services"
    ]
    ecs = (described.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING"
    return next((name for name, value in STRATEGIES.items() if value == ecs), ecs)


def gate_of(record: dict[str, Any] | None, reason: str) -> str | None:
    """Which gate decided: the simulator's (hook, alarm, bake) for a progressive deployment, else
    from how the deployment ended (circuit breaker, timeout, rollout); None without a deployment."""
    if record is None:
        return "timeout" if "no completion within" in reason else None
    if record.get("gate"):
        return str(record["gate"]["type"])
    if "no completion within" in reason:
        return "timeout"
    if record.get("outcome") == "FAILED":
        return "circuit breaker"
    if record.get("outcome") == "COMPLETED":
        return "rollout"
    return None


def deploy_once(cloud: LocalCloud, service: str, tag: str, *, timeout: float = 600.0) -> dict[str, Any]:
    """Push ``tag`` to the service's repository (ECR's push event deploys it), wait until the local
    cloud is quiet; the outcome: the command's JSON, plus (keys starting with "_") the execution,
    the simulator's record and the stages with their simulated seconds."""
    from petclinic_local import runner  # noqa: PLC0415

    strategy = configured_strategy(cloud, service)
    known = {e["executionArn"] for e in cloud.executions(DEPLOY)}
    history_start = len(cloud.simulator.history)
    cloud.push_image(service, tag)
    cloud.wait_until_quiet(timeout=timeout)
    executions = [e for e in cloud.executions(DEPLOY) if e["executionArn"] not in known]
    if not executions:
        raise aws.AwsFailure(f"the push of {service}:{tag} started no deploy execution")
    execution = executions[0]
    outcome = runner.detail(execution)
    reason = str(outcome.get("reason") or execution.get("cause") or "")
    deployment_id = outcome.get("deploymentId")
    records = [h for h in cloud.simulator.history[history_start:] if h.get("service") == service]
    record = next((h for h in records if deployment_id and h.get("deploymentId") == deployment_id), None)
    stages = list((record or {}).get("stages") or [])
    return {
        "service": service,
        "strategy": strategy,
        "result": runner.result(execution),
        "rolledBack": bool(outcome.get("rolledBack", False)),
        "gate": gate_of(record, reason),
        "reason": reason,
        "stages": [
            {key: stage[key] for key in ("stage", "productionPercent", "testPercent", "result")}
            for stage in stages
        ],
        "_execution": execution,
        "_record": record,
        "_stages": stages,
    }


def run(
    service: str, tag: str, *, strategy: str | None, as_json: bool, time_scale: float = TIME_SCALE
) -> int:
    check(service, tag, strategy)
    if not time_scale > 0:
        raise UsageError("--time-scale must be positive")
    progress = render.stderr_console() if as_json else render.console()
    how = f"by {strategy}" if strategy else "by its configured strategy"
    with progress.status("starting the local cloud (template.yaml, the PetClinic stacks)", spinner="dots"):
        cloud = start_cloud(strategy, time_scale=time_scale)
    try:
        with progress.status(f"pushing {service}:{tag}, deploying {how}", spinner="dots"):
            outcome = deploy_once(cloud, service, tag)
    finally:
        cloud.close()
    shown = {key: value for key, value in outcome.items() if not key.startswith("_")}
    if as_json:
        print(json.dumps(shown, indent=2, default=str))
    else:
        print_outcome(render.console(), tag, outcome)
    return 0 if outcome["result"] == "SUCCEEDED" else 1


def print_outcome(out: Any, tag: str, outcome: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415

    out.print(
        f"{outcome['service']}:{render.escape(tag)} by {outcome['strategy']}: "
        f"{render.styled(outcome['result'])}"
        + (" (rolled back)" if outcome["rolledBack"] else "")
        + f", gate: {outcome['gate'] or '-'}"
    )
    out.print(f"  {render.escape(outcome['reason'])}", soft_wrap=True)
    if outcome["_stages"]:
        table = Table(title="Stages (ECS's lifecycle, simulated time)", title_justify="left")
        for column in ("stage", "production %", "test %", "result", "simulated s"):
            table.add_column(column)
        for stage in outcome["_stages"]:
            table.add_row(
                stage["stage"],
                f"{stage['productionPercent']:g}",
                f"{stage['testPercent']:g}",
                render.styled(stage["result"]),
                f"{stage.get('simulatedSecond', 0):g}",
            )
        render.print_table(out, table)
    else:
        out.print("  (a rolling update: no lifecycle stages, no traffic shifting)")
    record = outcome["_record"] or {}
    requests = record.get("requests")
    if requests:
        old, new = requests["old"], requests["new"]
        out.print(
            f"  production requests: running revision {old['requests']} ({old['5xx']} 5xx), "
            f"new revision {new['requests']} ({new['5xx']} 5xx)"
        )
    hooks = record.get("hooks") or []
    if hooks:
        out.print(
            "  hooks: " + ", ".join(f"{h['hook']} {h['lifecycleStage']} {h['hookStatus']}" for h in hooks)
        )


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", help="the ECS service (customers-service, vets-service, ...)")
    parser.add_argument(
        "tag",
        help="the image tag to push; it chooses the image's behaviour: *broken*, *stall*, *errors*, "
        "*slow*, *unhealthy* (README, the local cloud), anything else a good image",
    )
    parser.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        help="how ECS rolls the service out (the services stack's DeploymentStrategy); default: the "
        "environment's (dev: rolling)",
    )
    parser.add_argument(
        "--time-scale",
        type=aws.positive,
        default=TIME_SCALE,
        help=f"real seconds per simulated second (default {TIME_SCALE}: a 10-minute canary in about 7 s)",
    )


@registry.command(
    "local deploy",
    arguments=_arguments,
    help="one deployment of SERVICE:TAG on a fresh local cloud, by a strategy; the stages and the gate",
    description="Starts a fresh local cloud whose services stack deploys by --strategy, pushes TAG to "
    "SERVICE's ECR repository, and ECR's push event runs the deploy workflow (as on AWS), followed to "
    "its end. Prints the workflow's result, whether it rolled back, the gate that decided and why, and "
    "the stages ECS went through with the traffic on the new revision. " + GATES_HELP,
    epilog="exit codes: 0 the image is live, 1 the deployment failed (rolled back) or did not deploy, "
    "2 bad input (unknown service, a tag ECR refuses, unknown strategy: nothing started)",
    json="print {service, strategy, result, rolledBack, gate, reason, stages: [{stage, "
    "productionPercent, testPercent, result}]}",
    fresh_cloud=True,
)
def _deploy(args: argparse.Namespace) -> int:
    return run(args.service, args.tag, strategy=args.strategy, as_json=args.json, time_scale=args.time_scale)
