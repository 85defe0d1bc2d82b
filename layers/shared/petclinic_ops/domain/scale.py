"""Scaling the PetClinic stack to a named profile: validate the profile against the live stack,
compute the diff (target, attribute, before, after) and the monthly cost it implies, and the
actions the scale workflow applies. Pure: the live state comes through ``ScalePorts``.

Decisions:
- A service Application Auto Scaling manages is scaled through its scalable target's bounds
  (RegisterScalableTarget); its desiredCount is the scaler's. A profile that gives such a service
  a ``desiredCount`` N pins it (minCapacity = maxCapacity = N). A ``minCapacity``/``maxCapacity``
  for a service without a scalable target is refused (there is nothing to give them to).
- Cost estimate, per month of 730 hours: Fargate tasks x (vCPU x vCPU-hour price + GB x GB-hour
  price) of the running task definition's cpu/memory and architecture (ARM64 or X86_64 prices);
  an autoscaled service counts as its current desired count clamped into its bounds (what the
  scaler does at once). Aurora Serverless v2 counts as its minimum capacity in ACU-hours (the
  steady, idle estimate; load above it costs more; a paused cluster costs no ACUs; storage,
  I/O and the ALB are not in it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from petclinic_ops.domain.telemetry import Telemetry
from petclinic_ops.errors import InvalidScaleProfile, InvalidScaleRequest, ScaleRefused, UnknownScaleProfile
from petclinic_ops.models.scale import AuroraScale, OutOfRange, ScaleInput, ScaleProfile, ServiceScale

HOURS_PER_MONTH = 730
PROFILE_PARAMETER = "/petclinic/{environment}/scale/{profile}"


@dataclass(frozen=True)
class Prices:
    """USD list prices (us-west-2 defaults are the template's parameters)."""

    fargate_vcpu_hour_x86: float = 0.04048
    fargate_gb_hour_x86: float = 0.004445
    fargate_vcpu_hour_arm: float = 0.03238
    fargate_gb_hour_arm: float = 0.00356
    aurora_acu_hour: float = 0.12

    def task_hour(self, cpu_units: int, memory_mib: int, architecture: str) -> float:
        arm = architecture.upper() == "ARM64"
        vcpu = self.fargate_vcpu_hour_arm if arm else self.fargate_vcpu_hour_x86
        gb = self.fargate_gb_hour_arm if arm else self.fargate_gb_hour_x86
        return cpu_units / 1024 * vcpu + memory_mib / 1024 * gb


@dataclass(frozen=True)
class LiveService:
    name: str
    desired_count: int
    running_count: int
    cpu: int
    memory: int
    architecture: str = "X86_64"
    min_capacity: int | None = None
    max_capacity: int | None = None

    @property
    def autoscaled(self) -> bool:
        return self.min_capacity is not None


@dataclass(frozen=True)
class LiveCluster:
    identifier: str
    engine: str
    engine_version: str
    min_capacity: float
    max_capacity: float
    seconds_until_auto_pause: int | None = None


class ScalePorts(Protocol):
    def profile(self, environment: str, name: str) -> str | None:
        """The profile's JSON text, None when the parameter does not exist."""
        ...

    def services(self, cluster: str, names: list[str]) -> dict[str, LiveService]: ...

    def clusters(self, identifiers: list[str]) -> dict[str, LiveCluster]: ...


@dataclass(frozen=True)
class AuroraFloor:
    """Prod's floor for its Aurora clusters (template parameters): a profile's minCapacity and
    maxCapacity are at least these, and minCapacity 0 (auto-pause) only when ``auto_pause``."""

    min_capacity: float = 1.0
    max_capacity: float = 4.0
    auto_pause: bool = False


@dataclass(frozen=True)
class ScaleContext:
    environment: str
    cluster: str
    services: tuple[str, ...]
    floors: dict[str, int] = field(default_factory=dict)
    prices: Prices = field(default_factory=Prices)
    # The Aurora clusters this environment scales, by identifier (the scale role may modify these
    # and no other); empty: petclinic-{environment}.
    clusters: tuple[str, ...] = ()
    aurora_floor: AuroraFloor = field(default_factory=AuroraFloor)

    @property
    def aurora_clusters(self) -> tuple[str, ...]:
        return self.clusters or (f"petclinic-{self.environment}",)


@dataclass
class ScalePlan:
    profile: str
    environment: str
    dry_run: bool
    changes: list[dict[str, Any]]
    services: list[dict[str, Any]]
    aurora: list[dict[str, Any]]
    cost: dict[str, dict[str, float]]

    def to_output(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "environment": self.environment,
            "dryRun": self.dry_run,
            "changes": self.changes,
            "services": self.services,
            "aurora": self.aurora,
            "monthlyCostDelta": self.cost["delta"],
            "monthlyCost": {"before": self.cost["before"], "after": self.cost["after"]},
        }


# ----------------------------------------------------------------------------- profiles


# JSON integers longer than this cannot be any value a profile takes (counts <= 1,000, seconds <=
# 86,400): they stay unconverted (Python refuses to convert more than 4,300 digits, with a
# ValueError), and the field they are in rejects them by name.
_LONGEST_INTEGER = 20


def _integer(text: str) -> int | OutOfRange:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= _LONGEST_INTEGER else OutOfRange(digits)


def _read_json(name: str, text: str) -> Any:
    """The profile's JSON as written (integers as int, other numbers as Decimal; NaN and Infinity
    too), so the model judges each number strictly: nothing here converts, rounds or raises on one."""
    try:
        return json.loads(text, parse_int=_integer, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidScaleProfile(f"profile {name}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # Lambda's Python stops at 1,000 frames
        raise InvalidScaleProfile(f"profile {name}: nested too deeply to read as JSON") from None


def parse_profile(name: str, text: str) -> ScaleProfile:
    """The profile's JSON, validated; InvalidScaleProfile names the profile and each bad field
    (what needs the live stack is ``plan``'s and ``check``'s)."""
    try:
        return ScaleProfile.model_validate(_read_json(name, text))
    except ValidationError as exc:
        raise InvalidScaleProfile(f"profile {name}: {describe(exc)}") from None


def problems_of(exc: ValidationError, whole: str = "profile") -> list[str]:
    """Each error as ``field.path: message``; an error of the document itself as ``whole: ...``."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or whole
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return parts


def describe(exc: ValidationError, whole: str = "profile") -> str:
    return "; ".join(problems_of(exc, whole))


# At most this many problems in one message, each at most _LONGEST_PROBLEM characters, all of
# them at most _LONGEST_MESSAGE: the message is the workflow's error cause, which it keeps whole
# up to 4,000 characters (problems past these limits are counted, "and N more").
_MOST_PROBLEMS = 20
_LONGEST_PROBLEM = 300
_LONGEST_MESSAGE = 3_800


def rejection(name: str, problems: list[str]) -> str:
    """``profile NAME: a; b; c``: every problem, sorted by field, shortened only past the limits."""
    shown: list[str] = []
    for problem in sorted(problems, key=lambda problem: problem.split(": ", 1)[0]):
        short = problem if len(problem) <= _LONGEST_PROBLEM else problem[: _LONGEST_PROBLEM - 3] + "..."
        if len(shown) == _MOST_PROBLEMS or sum(len(p) + 2 for p in shown) + len(short) > _LONGEST_MESSAGE:
            break
        shown.append(short)
    more = len(problems) - len(shown)
    return f"profile {name}: " + "; ".join(shown + ([f"and {more} more"] if more else []))


def _entries(data: Any, key: str, model: type[ServiceScale] | type[AuroraScale]) -> dict[str, Any]:
    """An invalid profile's entries under ``key``, each its model, or None when it is invalid
    itself (already named): the checks against the live stack still name what else is wrong."""
    raw = data.get(key) if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return {}
    entries: dict[str, Any] = {}
    for entry, value in raw.items():
        try:
            entries[entry] = model.model_validate(value)
        except ValidationError:
            entries[entry] = None
    return entries


_MYSQL_VERSION = re.compile(r"mysql_aurora\.(\d+)\.(\d+)\.(\d+)")
# Aurora PostgreSQL minor versions from which Serverless v2 can pause (Aurora User Guide,
# "Scaling to Zero ACUs with automatic pause and resume for Aurora Serverless v2").
_POSTGRES_AUTO_PAUSE = {13: 15, 14: 12, 15: 7, 16: 3}


def supports_auto_pause(engine: str, version: str) -> bool:
    """Whether the engine version can scale to 0 ACUs: Aurora MySQL 3.08.0 and later, Aurora
    PostgreSQL 13.15, 14.12, 15.7, 16.3 and later."""
    if engine == "aurora-mysql":
        found = _MYSQL_VERSION.search(version)
        return bool(found) and tuple(int(part) for part in found.groups()) >= (3, 8, 0)  # type: ignore[union-attr]
    if engine == "aurora-postgresql":
        match = re.match(r"(\d+)\.(\d+)", version)
        if not match:
            return False
        major, minor = int(match.group(1)), int(match.group(2))
        return major > max(_POSTGRES_AUTO_PAUSE) or minor >= _POSTGRES_AUTO_PAUSE.get(major, 10**6)
    return False


def check(
    name: str,
    profile: ScaleProfile,
    context: ScaleContext,
    live: dict[str, LiveService],
    clusters: dict[str, LiveCluster],
) -> None:
    """What needs the live stack: known services and clusters, the forms they take, auto-pause
    support (InvalidScaleProfile naming each), then prod's floors and no prod profile that scales
    every service to 0 (ScaleRefused naming each)."""
    problems = [
        *name_problems(profile.services, profile.aurora, context),
        *live_problems(profile.services, profile.aurora, context, live, clusters),
    ]
    if problems:
        raise InvalidScaleProfile(rejection(name, problems))
    if context.environment == "prod":
        refusals = [
            *_prod_guard_rails(profile, context, live),
            *_prod_aurora_floor(profile, context.aurora_floor),
        ]
        if refusals:
            raise ScaleRefused(rejection(name, refusals))


def name_problems(services: dict[str, Any], aurora: dict[str, Any], context: ScaleContext) -> list[str]:
    """Services and clusters this environment does not have. Clusters by identifier, this
    environment's only: what the plan reads is what the apply modifies (ModifyDBCluster takes an
    identifier, and the scale role may modify these only)."""
    problems = [
        f"services.{service}: unknown service {service}"
        for service in sorted(services)
        if service not in context.services
    ]
    if problems:
        problems[-1] += f" (this environment's services: {', '.join(context.services)})"
    allowed = context.aurora_clusters
    for identifier in sorted(set(aurora) - set(allowed)):
        hint = (
            "name the cluster by its identifier, not its ARN"
            if identifier.startswith("arn:")
            else f"unknown Aurora cluster {identifier}"
        )
        problems.append(f"aurora.{identifier}: {hint} (this environment scales {', '.join(allowed)})")
    return problems


def live_problems(
    services: Mapping[str, ServiceScale | None],
    aurora: Mapping[str, AuroraScale | None],
    context: ScaleContext,
    live: dict[str, LiveService],
    clusters: dict[str, LiveCluster],
) -> list[str]:
    """Known services ECS does not run, bounds for a service Application Auto Scaling does not
    manage, known clusters RDS does not have, auto-pause on an engine that cannot pause. Entries
    that are None (invalid, named already) or unknown (named by ``name_problems``) are skipped."""
    problems = []
    for service, wanted in sorted(services.items()):
        if service not in context.services:
            continue
        if service not in live:
            problems.append(f"services.{service}: not found in ECS cluster {context.cluster}")
        elif wanted is not None and wanted.autoscaled and not live[service].autoscaled:
            problems.append(
                f"services.{service}: minCapacity/maxCapacity given but Application Auto Scaling "
                "does not manage this service, give desiredCount"
            )
    for identifier, capacity in sorted(aurora.items()):
        if identifier not in context.aurora_clusters or capacity is None:
            continue
        cluster = clusters.get(identifier)
        if cluster is None:
            problems.append(f"aurora.{identifier}: unknown Aurora cluster {identifier}")
        elif capacity.auto_pause and not supports_auto_pause(cluster.engine, cluster.engine_version):
            problems.append(
                f"aurora.{identifier}.minCapacity: 0 (auto-pause) needs Aurora MySQL 3.08.0+ or a "
                f"supporting PostgreSQL version (the cluster runs {cluster.engine} {cluster.engine_version})"
            )
    return problems


def _prod_aurora_floor(profile: ScaleProfile, floor: AuroraFloor) -> list[str]:
    refusals = []
    for identifier, wanted in sorted(profile.aurora.items()):
        where = f"aurora.{identifier}"
        if wanted.auto_pause and not floor.auto_pause:
            refusals.append(
                f"{where}.minCapacity 0 (auto-pause) is refused in prod: the template parameter "
                "ProdAuroraAutoPause does not allow it"
            )
        if not wanted.auto_pause and wanted.min_capacity < floor.min_capacity:
            refusals.append(
                f"{where}.minCapacity {wanted.min_capacity:g} is below prod's floor of "
                f"{floor.min_capacity:g} ACU (template parameter ProdAuroraMinCapacity)"
            )
        if wanted.max_capacity < floor.max_capacity:
            refusals.append(
                f"{where}.maxCapacity {wanted.max_capacity:g} is below prod's floor of "
                f"{floor.max_capacity:g} ACU (template parameter ProdAuroraMaxCapacity)"
            )
    return refusals


def _prod_guard_rails(
    profile: ScaleProfile, context: ScaleContext, live: dict[str, LiveService]
) -> list[str]:
    refusals = []
    for service, wanted in sorted(profile.services.items()):
        floor = context.floors.get(service, 0)
        if wanted.lowest < floor:
            form = "desiredCount" if not wanted.autoscaled else "minCapacity"
            refusals.append(
                f"services.{service}.{form} {wanted.lowest} is below prod's floor "
                f"of {floor} tasks (template parameter)"
            )
    # Every service at 0 after the profile (the ones it does not name keep their counts).
    after = {
        service: (profile.services[service].lowest if service in profile.services else state.desired_count)
        for service, state in live.items()
    }
    if after and all(count == 0 for count in after.values()):
        refusals.append("services: refusing to scale every prod service to 0")
    return refusals


# ----------------------------------------------------------------------------- the plan


def plan(name: str, dry_run: bool, context: ScaleContext, ports: ScalePorts) -> ScalePlan:
    """Load, validate and diff the profile against the live stack; raises before anything changes."""
    text = ports.profile(context.environment, name)
    if text is None:
        raise UnknownScaleProfile(
            f"no scale profile {name}: Parameter Store has no "
            f"{PROFILE_PARAMETER.format(environment=context.environment, profile=name)}"
        )
    profile = _validated(name, text, context, ports)
    live = ports.services(context.cluster, list(context.services))
    readable = [identifier for identifier in sorted(profile.aurora) if identifier in context.aurora_clusters]
    clusters = ports.clusters(readable) if readable else {}  # never an ARN or another's cluster
    check(name, profile, context, live, clusters)
    changes: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for service in sorted(profile.services):
        action = _service_action(context.cluster, live[service], profile.services[service], changes)
        if action:
            actions.append(action)
    aurora: list[dict[str, Any]] = []
    for identifier in sorted(profile.aurora):
        modify = _aurora_action(clusters[identifier], profile.aurora[identifier], changes)
        if modify:
            aurora.append(modify)
    cost = monthly_cost(live, profile, clusters, context.prices)
    return ScalePlan(name, context.environment, dry_run, changes, actions, aurora, cost)


def _validated(name: str, text: str, context: ScaleContext, ports: ScalePorts) -> ScaleProfile:
    """The profile, or InvalidScaleProfile naming every bad field in one message: the model's
    errors, unknown services and clusters, and what the live stack says of the entries that are
    valid themselves. Only this environment's clusters are read (never an ARN or another's)."""
    data = _read_json(name, text)
    try:
        return ScaleProfile.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc)
    services = _entries(data, "services", ServiceScale)
    aurora = _entries(data, "aurora", AuroraScale)
    problems += name_problems(services, aurora, context)
    live = ports.services(context.cluster, list(context.services)) if services else {}
    readable = sorted(c for c, entry in aurora.items() if entry is not None and c in context.aurora_clusters)
    clusters = ports.clusters(readable) if readable else {}
    problems += live_problems(services, aurora, context, live, clusters)
    raise InvalidScaleProfile(rejection(name, problems))


def parse_input(event: Any) -> ScaleInput:
    """The plan function's input, strictly (a field of the wrong type is InvalidScaleRequest naming it)."""
    try:
        return ScaleInput.model_validate(event)
    except ValidationError as exc:
        raise InvalidScaleRequest(f"scale request: {describe(exc, 'request')}") from None


def handle(
    request: ScaleInput, context: ScaleContext, ports: ScalePorts, telemetry: Telemetry
) -> dict[str, Any]:
    """The plan function's call: the plan's output, and a log line summing it up."""
    output = plan(request.profile, request.dry_run, context, ports).to_output()
    telemetry.info(
        "scale planned",
        profile=request.profile,
        dryRun=request.dry_run,
        changes=len(output["changes"]),
        monthlyCostDelta=output["monthlyCostDelta"],
    )
    return output


def targets_after(state: LiveService, wanted: ServiceScale) -> dict[str, int]:
    """The attributes the profile sets on the service (bounds for an autoscaled one)."""
    if state.autoscaled:
        if wanted.autoscaled:
            return {
                "minCapacity": int(wanted.min_capacity or 0),
                "maxCapacity": int(wanted.max_capacity or 0),
            }
        count = int(wanted.desired_count or 0)
        return {"minCapacity": count, "maxCapacity": count}
    return {"desiredCount": int(wanted.desired_count or 0)}


def _before(state: LiveService) -> dict[str, int | None]:
    return {
        "desiredCount": state.desired_count,
        "minCapacity": state.min_capacity,
        "maxCapacity": state.max_capacity,
    }


def _service_action(
    cluster: str, state: LiveService, wanted: ServiceScale, changes: list[dict[str, Any]]
) -> dict[str, Any] | None:
    after = targets_after(state, wanted)
    before = _before(state)
    changed = [(key, value) for key, value in after.items() if before[key] != value]
    if not changed:
        return None
    target = f"service/{state.name}"
    changes.extend({"target": target, "attribute": k, "before": before[k], "after": v} for k, v in changed)
    expected = expected_count(state, wanted)
    return {
        "service": state.name,
        "resourceId": f"service/{cluster}/{state.name}",
        "autoscaled": state.autoscaled,
        "expectedCount": expected,
        # The desired count moves: ECS announces SERVICE_STEADY_STATE when the service runs it (the
        # workflow waits for that event); new bounds around the current count announce nothing.
        "awaitsEvent": expected != state.desired_count,
        **after,
    }


def _aurora_action(
    cluster: LiveCluster, wanted: AuroraScale, changes: list[dict[str, Any]]
) -> dict[str, Any] | None:
    before: dict[str, float | int | None] = {
        "minCapacity": cluster.min_capacity,
        "maxCapacity": cluster.max_capacity,
        "secondsUntilAutoPause": cluster.seconds_until_auto_pause if cluster.min_capacity == 0 else None,
    }
    after: dict[str, float | int | None] = {
        "minCapacity": wanted.min_capacity,
        "maxCapacity": wanted.max_capacity,
        "secondsUntilAutoPause": wanted.seconds_until_auto_pause,
    }
    changed = [key for key in after if before[key] != after[key]]
    if not changed:
        return None
    changes.extend(
        {"target": f"aurora/{cluster.identifier}", "attribute": k, "before": before[k], "after": after[k]}
        for k in changed
    )
    scaling: dict[str, Any] = {"MinCapacity": wanted.min_capacity, "MaxCapacity": wanted.max_capacity}
    if wanted.seconds_until_auto_pause is not None:
        scaling["SecondsUntilAutoPause"] = wanted.seconds_until_auto_pause
    return {"cluster": cluster.identifier, "scaling": scaling}


def expected_count(state: LiveService, wanted: ServiceScale | None) -> int:
    """The tasks the service runs once the profile applies (an autoscaled service: its current
    desired count clamped into the new bounds, what Application Auto Scaling does at once)."""
    if wanted is None:
        return state.desired_count
    after = targets_after(state, wanted)
    if "desiredCount" in after:
        return after["desiredCount"]
    return min(max(state.desired_count, after["minCapacity"]), after["maxCapacity"])


def monthly_cost(
    live: dict[str, LiveService],
    profile: ScaleProfile,
    clusters: dict[str, LiveCluster],
    prices: Prices,
) -> dict[str, dict[str, float]]:
    """Monthly USD before and after the profile, and the delta: {fargate, aurora, total}."""
    fargate_before = fargate_after = 0.0
    for name, state in live.items():
        hourly = prices.task_hour(state.cpu, state.memory, state.architecture) * HOURS_PER_MONTH
        fargate_before += state.desired_count * hourly
        fargate_after += expected_count(state, profile.services.get(name)) * hourly
    aurora_before = aurora_after = 0.0
    for identifier, wanted in profile.aurora.items():
        cluster = clusters[identifier]
        aurora_before += cluster.min_capacity * prices.aurora_acu_hour * HOURS_PER_MONTH
        aurora_after += wanted.min_capacity * prices.aurora_acu_hour * HOURS_PER_MONTH

    def row(fargate: float, aurora: float) -> dict[str, float]:
        cents = round(fargate, 2), round(aurora, 2)  # the total adds up what is shown
        return {"fargate": cents[0], "aurora": cents[1], "total": round(sum(cents), 2)}

    return {
        "before": row(fargate_before, aurora_before),
        "after": row(fargate_after, aurora_after),
        "delta": row(fargate_after - fargate_before, aurora_after - aurora_before),
    }
