"""ECS: UpdateService starts a new deployment, as ECS does; the host's rollout simulator
(``Hooks.deployment_started``, ``simulators.ecs``) takes it from there. A new desired count
alone starts none: the PRIMARY deployment takes it, and the host's simulator starts or stops
its tasks (``Hooks.desired_count_changed``).

CreateService keeps ``deploymentConfiguration`` (moto drops it; UpdateService kept it already),
including the 2025 fields (``strategy`` ROLLING | BLUE_GREEN | CANARY | LINEAR,
``bakeTimeInMinutes``, ``canaryConfiguration``, ``linearConfiguration``, ``lifecycleHooks``,
``alarms``), and both validate them as ECS does (``strategy_problem``): percentages and bake
times in range, each strategy's configuration only with it, hooks with a target, a role and
known stages, and every load balancer of a BLUE_GREEN, CANARY or LINEAR service with an
``advancedConfiguration`` (alternate target group, production listener rule, role).
``loadBalancers[].advancedConfiguration`` round-trips as moto keeps it."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches

# ECS deployments change under UpdateService and under the rollout simulator: one lock for both.
deployment_lock = threading.RLock()


def new_deployment(service: Any, task_definition: str) -> dict[str, Any]:
    """A PRIMARY deployment of ``task_definition`` as ECS starts it, IN_PROGRESS (``service`` is
    moto's ECS service)."""
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformFamily": "FARGATE" if service.launch_type != "EC2" else "EC2",
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }


def set_desired_count(service: Any, count: int, hooks: Hooks) -> None:
    """A new desired count (UpdateService, Application Auto Scaling): ECS gives it to the PRIMARY
    deployment, so a rollout in flight completes at it, and starts or stops tasks."""
    with deployment_lock:
        service.desired_count = count
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["desiredCount"] = count
    hooks.desired_count_changed(service)


def _ecs_deployments(hooks: Hooks) -> Patches:
    from moto.ecs.models import EC2ContainerServiceBackend  # noqa: PLC0415

    original = EC2ContainerServiceBackend.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = service_properties["service"].split("/")[-1]
        force = bool(service_properties.pop("force_new_deployment", False))
        with deployment_lock:
            existing = self._get_service(cluster, name)
            before, count_before = existing.task_definition, existing.desired_count
            service = original(self, service_properties)
            if service.task_definition != before or force:
                task_definition = self.describe_task_definition(service.task_definition).arn
                previous = copy.copy(next((d for d in service.deployments if d["status"] == "PRIMARY"), None))
                for deployment in service.deployments:
                    if deployment["status"] == "PRIMARY":
                        deployment["status"] = "ACTIVE"
                deployment = new_deployment(service, task_definition)
                service.deployments.insert(0, deployment)
                service.task_definition = task_definition
                hooks.deployment_started(service, deployment, previous)
            elif service.desired_count != count_before:
                set_desired_count(service, service.desired_count, hooks)
        return service

    yield mock.patch.object(EC2ContainerServiceBackend, "update_service", update_service)


STRATEGIES = ("ROLLING", "BLUE_GREEN", "CANARY", "LINEAR")
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
MAX_BAKE_MINUTES = 1440


def _percent_problem(name: str, value: Any, low: float) -> str | None:
    if not isinstance(value, int | float) or not low <= value <= 100.0:
        return f"{name} must be between {low} and 100.0."
    if abs(round(value * 10) - value * 10) > 1e-6:
        return f"{name} must be a multiple of 0.1."
    return None


def _minutes_problem(name: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, int) or not 0 <= value <= MAX_BAKE_MINUTES):
        return f"{name} must be between 0 and {MAX_BAKE_MINUTES} minutes."
    return None


def _hooks_problem(hooks: list[dict[str, Any]]) -> str | None:
    for hook in hooks:
        target_type = hook.get("targetType", "AWS_LAMBDA")
        if target_type == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            return "hookTargetArn is required for a lifecycle hook of targetType AWS_LAMBDA."
        if target_type == "AWS_LAMBDA" and not hook.get("roleArn"):
            return "roleArn is required for a lifecycle hook of targetType AWS_LAMBDA."
        stages = hook.get("lifecycleStages") or []
        if not stages:
            return "lifecycleStages must contain at least one lifecycle stage."
        unknown = [stage for stage in stages if stage not in HOOK_STAGES]
        if unknown:
            return f"Invalid lifecycle stage {unknown[0]}. Valid values: {', '.join(HOOK_STAGES)}."
    return None


def _balancers_problem(strategy: str, load_balancers: list[dict[str, Any]]) -> str | None:
    if not load_balancers:
        return f"The {strategy} deployment strategy requires a load balancer with advancedConfiguration."
    for balancer in load_balancers:
        advanced = balancer.get("advancedConfiguration") or {}
        for field in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not advanced.get(field):
                return (
                    f"loadBalancers.advancedConfiguration.{field} is required for the "
                    f"{strategy} deployment strategy."
                )
    return None


def strategy_problem(
    configuration: dict[str, Any] | None, load_balancers: list[dict[str, Any]] | None
) -> str | None:
    """Why ECS would reject this deploymentConfiguration with these loadBalancers (an
    InvalidParameterException's message), or None."""
    configuration = configuration or {}
    strategy = configuration.get("strategy", "ROLLING")
    if strategy not in STRATEGIES:
        return f"Invalid deployment strategy {strategy}. Valid values: {', '.join(STRATEGIES)}."
    canary, linear = configuration.get("canaryConfiguration"), configuration.get("linearConfiguration")
    if canary is not None and strategy != "CANARY":
        return "canaryConfiguration is only valid when the deployment strategy is CANARY."
    if linear is not None and strategy != "LINEAR":
        return "linearConfiguration is only valid when the deployment strategy is LINEAR."
    problems = [
        _minutes_problem("bakeTimeInMinutes", configuration.get("bakeTimeInMinutes")),
        _hooks_problem(configuration.get("lifecycleHooks") or []),
    ]
    if canary is not None:
        problems += [
            _percent_problem("canaryPercent", canary.get("canaryPercent", 5.0), 0.1),
            _minutes_problem("canaryBakeTimeInMinutes", canary.get("canaryBakeTimeInMinutes")),
        ]
    if linear is not None:
        problems += [
            _percent_problem("stepPercent", linear.get("stepPercent", 10.0), 3.0),
            _minutes_problem("stepBakeTimeInMinutes", linear.get("stepBakeTimeInMinutes")),
        ]
    if strategy != "ROLLING":
        problems.insert(0, _balancers_problem(strategy, load_balancers or []))
    return next((problem for problem in problems if problem), None)


def _ecs_deployment_strategies(hooks: Hooks) -> Patches:
    from moto.ecs.exceptions import InvalidParameterException  # noqa: PLC0415
    from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: PLC0415

    original_create = EC2ContainerServiceResponse.create_service
    original_update = EC2ContainerServiceResponse.update_service

    def create_service(self: Any) -> Any:
        configuration = self._get_param("deploymentConfiguration")
        problem = strategy_problem(configuration, self._get_param("loadBalancers"))
        if problem:
            raise InvalidParameterException(problem)
        result = original_create(self)
        if configuration is not None:
            cluster = self._get_param("cluster", "default")
            self.ecs_backend._get_service(
                cluster, self._get_param("serviceName")
            ).deployment_configuration = configuration
        return result

    def update_service(self: Any) -> Any:
        configuration = self._get_param("deploymentConfiguration")
        balancers = self._get_param("loadBalancers")
        if configuration is not None or balancers is not None:
            existing = self.ecs_backend._get_service(
                self._get_param("cluster", "default"), self._get_param("service").split("/")[-1]
            )
            if configuration is None:
                configuration = getattr(existing, "deployment_configuration", None)
            problem = strategy_problem(
                configuration, balancers if balancers is not None else existing.load_balancers
            )
            if problem:
                raise InvalidParameterException(problem)
        return original_update(self)

    yield mock.patch.object(EC2ContainerServiceResponse, "create_service", create_service)
    yield mock.patch.object(EC2ContainerServiceResponse, "update_service", update_service)


def _ecs_service_deployments(hooks: Hooks) -> Patches:
    """ListServiceDeployments, DescribeServiceDeployments and DescribeServiceRevisions over what
    the host's simulator keeps on each (moto) service: ``service.service_deployments``, objects
    whose ``service_deployment()`` is ECS's ServiceDeployment of the moment (its lifecycle stage and
    traffic weights) and ``service_revisions()`` the two revisions it moves traffic between (each
    with the target group it takes traffic in, ``resolvedConfiguration.loadBalancers``)."""
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.ecs.exceptions import InvalidParameterException  # noqa: PLC0415
    from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: PLC0415

    def deployments_of(service: Any) -> list[dict[str, Any]]:
        with deployment_lock:
            runs = list(getattr(service, "service_deployments", []))
        return [run.service_deployment() for run in runs]

    def list_service_deployments(self: Any) -> Any:
        service_name = str(self._get_param("service") or "")
        if not service_name:
            raise InvalidParameterException("service is required.")
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), service_name.rsplit("/", maxsplit=1)[-1]
        )  # ServiceNotFoundException as ECS answers
        wanted = set(self._get_param("status") or [])
        brief = (
            "serviceDeploymentArn",
            "serviceArn",
            "clusterArn",
            "startedAt",
            "createdAt",
            "finishedAt",
            "status",
            "statusReason",
        )
        found = [
            {k: d[k] for k in brief if d.get(k) is not None}
            | {"targetServiceRevisionArn": d["targetServiceRevision"]["arn"]}
            for d in reversed(deployments_of(service))
            if not wanted or d["status"] in wanted
        ]
        return ActionResult({"serviceDeployments": found})

    def describe_service_deployments(self: Any) -> Any:
        arns = list(self._get_param("serviceDeploymentArns") or [])
        if not arns:
            raise InvalidParameterException("serviceDeploymentArns must contain at least one ARN.")
        known = {
            d["serviceDeploymentArn"]: d
            for service in list(self.ecs_backend.services.values())
            for d in deployments_of(service)
        }
        return ActionResult(
            {
                "serviceDeployments": [known[arn] for arn in arns if arn in known],
                "failures": [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in known],
            }
        )

    def describe_service_revisions(self: Any) -> Any:
        arns = list(self._get_param("serviceRevisionArns") or [])
        if not arns:
            raise InvalidParameterException("serviceRevisionArns must contain at least one ARN.")
        with deployment_lock:
            runs = [
                run
                for service in list(self.ecs_backend.services.values())
                for run in getattr(service, "service_deployments", [])
            ]
        known: dict[str, dict[str, Any]] = {}
        for run in runs:  # oldest first: a revision's latest view wins
            known |= {revision["serviceRevisionArn"]: revision for revision in run.service_revisions()}
        return ActionResult(
            {
                "serviceRevisions": [known[arn] for arn in arns if arn in known],
                "failures": [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in known],
            }
        )

    yield mock.patch.object(
        EC2ContainerServiceResponse, "list_service_deployments", list_service_deployments, create=True
    )
    yield mock.patch.object(
        EC2ContainerServiceResponse, "describe_service_revisions", describe_service_revisions, create=True
    )
    yield mock.patch.object(
        EC2ContainerServiceResponse, "describe_service_deployments", describe_service_deployments, create=True
    )


GAPS = (
    Gap(
        "ecs-deployments",
        "UpdateService never starts a new deployment: the PRIMARY deployment keeps its id, task "
        "definition and rolloutState (force_new_deployment only renames it); a new desiredCount "
        "leaves the deployment's desiredCount as it was",
        "moto/ecs/models.py EC2ContainerServiceBackend.update_service",
        ("ecs",),
        _ecs_deployments,
    ),
    Gap(
        "ecs-deployment-strategies",
        "CreateService drops deploymentConfiguration (DescribeServices shows none), and neither "
        "CreateService nor UpdateService validates the strategies' fields (canaryPercent, stepPercent, "
        "bake times, lifecycle hooks, a load balancer's advancedConfiguration)",
        "moto/ecs/responses.py EC2ContainerServiceResponse.create_service",
        ("ecs",),
        _ecs_deployment_strategies,
    ),
    Gap(
        "ecs-service-deployments",
        "ListServiceDeployments, DescribeServiceDeployments and DescribeServiceRevisions are not "
        "implemented (a deployment's lifecycle stage and traffic weights, and which target group "
        "serves which revision, cannot be read); here they cover the simulator's BLUE_GREEN, "
        "CANARY and LINEAR deployments, not ROLLING ones",
        "moto/ecs/responses.py EC2ContainerServiceResponse",
        ("ecs",),
        _ecs_service_deployments,
    ),
)
