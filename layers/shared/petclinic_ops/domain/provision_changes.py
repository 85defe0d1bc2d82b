"""What one provision run changes on a stack that exists, and what it must not change unasked
(no boto3; ``domain.provision`` plans the stack with these).

Parameters (``assemble``): a run keeps every parameter's current value on the stack unless it
names a new one, as CloudFormation's ``UsePreviousValue`` does; the values other workflows own
(images, desired counts, scaling bounds, Aurora's capacity and auto-pause) are read from the
running resources; the operator's values win over both. A template default applies only to a
parameter the stack does not have yet (a new stack, or a parameter the template gained). The
parameters the run does not set are passed as ``UsePreviousValue`` rather than as the values
DescribeStacks shows, because DescribeStacks masks a NoEcho parameter (``****``): passing that
back would set it to the four asterisks. Every difference is a ``ParameterChange`` (before ->
after, who set it), NoEcho values masked.

Protected resources (``protected_changes``): a change that replaces or deletes the Aurora
cluster or an instance, a secret, a KMS key, an ECR repository or a log group, or that turns
``DeletionProtection`` off. In prod such a change set is refused unless the run is forced; in
dev it is flagged. On AWS a stack policy backs this up on the data stack (``stack_policy``):
it denies Update:Replace and Update:Delete on those types; a run that may make such a change
sets a temporary policy (``override_policy``: the same deny, except for the resources the plan
showed) before executing the change set, because ExecuteChangeSet takes no policy override,
and puts the protecting one back afterwards, whatever the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MASK = "****"

# Stateful types: replacing or deleting one loses data (or, for a KMS key, what it encrypted).
PROTECTED_TYPES: dict[str, str] = {
    "AWS::RDS::DBCluster": "the Aurora cluster",
    "AWS::RDS::DBInstance": "an Aurora instance",
    "AWS::SecretsManager::Secret": "a secret",
    "AWS::KMS::Key": "a KMS key",
    "AWS::ECR::Repository": "an ECR repository",
    "AWS::Logs::LogGroup": "a log group",
}
# The stacks a stack policy protects on AWS (the data: Aurora, its secrets, its key and logs).
POLICY_STACKS: tuple[str, ...] = ("data",)
DELETION_PROTECTION = "DeletionProtection"
BY_ENVIRONMENT = "environment"  # DeletionProtection's default: on in prod, off in dev


def owner_of(parameter: str) -> str:
    """Which workflow owns an owned parameter (see ``provision.owned_parameters``)."""
    return "deploy" if parameter.endswith("Image") else "scale"


@dataclass(frozen=True)
class ParameterChange:
    name: str
    before: str | None  # None: the stack does not have it yet
    after: str | None  # None: the template no longer has it
    source: str  # operator | owned by deploy | owned by scale | wired | template default | removed
    secret: bool = False  # NoEcho: both values masked

    def to_output(self) -> dict[str, Any]:
        def shown(value: str | None) -> str | None:
            return MASK if self.secret and value is not None else value

        out: dict[str, Any] = {
            "name": self.name,
            "before": shown(self.before),
            "after": shown(self.after),
            "source": self.source,
        }
        if self.secret:
            out["noEcho"] = True
        return out

    def text(self) -> str:
        out = self.to_output()
        return f"{self.name} {_quoted(out['before'])} -> {_quoted(out['after'])} ({self.source})"


def _quoted(value: str | None) -> str:
    return "(none)" if value is None else repr(value)


@dataclass
class Parameters:
    """What a change set is given: ``values`` explicitly, ``previous`` as UsePreviousValue."""

    values: dict[str, str] = field(default_factory=dict)
    previous: list[str] = field(default_factory=list)
    effective: dict[str, str] = field(default_factory=dict)  # what the stack will have
    changes: list[ParameterChange] = field(default_factory=list)


@dataclass(frozen=True)
class Sources:
    """Where a run's parameter values come from, in order of precedence."""

    operator: Mapping[str, str]
    wired: Mapping[str, str]
    owned: Mapping[str, str]


def _chosen(name: str, sources: Sources) -> tuple[str, str] | None:
    if name in sources.operator:
        return sources.operator[name], "operator"
    if name in sources.wired:
        return sources.wired[name], "wired"
    if name in sources.owned:
        return sources.owned[name], f"owned by {owner_of(name)}"
    return None


def assemble(
    defaults: Mapping[str, str | None],
    sources: Sources,
    current: Mapping[str, str] | None,
    secret: Iterable[str] = (),
) -> tuple[Parameters, list[str]]:
    """The parameters of a run, and the names that have no value at all (no default, not set).

    ``current`` is the stack's parameters (None for a stack that does not exist yet)."""
    hidden = set(secret)
    result, missing = Parameters(), []
    for name, default in defaults.items():
        chosen = _chosen(name, sources)
        if chosen is None and current is not None and name in current:
            result.previous.append(name)
            result.effective[name] = current[name]
            continue
        if chosen is None and default is None:
            missing.append(name)
            continue
        value, source = chosen if chosen is not None else (str(default), "template default")
        result.values[name] = result.effective[name] = value
        if current is None:
            continue
        before = current.get(name)
        if before != value or (name in hidden and source == "operator"):
            result.changes.append(ParameterChange(name, before, value, source, name in hidden))
    if current is not None:
        result.changes += [
            ParameterChange(name, value, None, "removed from the template", name in hidden)
            for name, value in sorted(current.items())
            if name not in defaults
        ]
    result.changes.sort(key=lambda change: change.name)
    return result, missing


def masked(values: Mapping[str, str], secret: Iterable[str]) -> dict[str, str]:
    hidden = set(secret)
    return {name: MASK if name in hidden else value for name, value in values.items()}


# --------------------------------------------------------------------------- protection


@dataclass(frozen=True)
class ProtectedChange:
    logical_id: str
    resource_type: str
    what: str  # replace | may replace | delete | turn deletion protection off

    def to_output(self) -> dict[str, str]:
        return {"logicalId": self.logical_id, "type": self.resource_type, "change": self.what}

    def text(self) -> str:
        if self.what == "turn deletion protection off":
            return f"turn {self.logical_id} off"
        kind = PROTECTED_TYPES.get(self.resource_type, self.resource_type)
        return f"{self.what} {self.logical_id} ({kind}, {self.resource_type})"


def deletion_protected(value: str | None, environment: str) -> bool:
    """DeletionProtection as infra/data.yaml reads it: true, or ``environment`` (its default) in prod."""
    text = str(value).lower()
    return text == "true" or (text == BY_ENVIRONMENT and environment == "prod")


def protected_changes(
    changes: Iterable[tuple[str, str, str, str | None]],
    parameters: Iterable[ParameterChange],
    environment: str,
) -> list[ProtectedChange]:
    """The protected changes among (logical id, type, action, replacement) resource changes and
    the parameter changes (DeletionProtection read as the data stack reads it in ``environment``)."""
    found = []
    for logical_id, kind, action, replacement in changes:
        if kind not in PROTECTED_TYPES:
            continue
        what = {"Remove": "delete"}.get(action) or {"True": "replace", "Conditional": "may replace"}.get(
            str(replacement) if action == "Modify" else ""
        )
        if what:
            found.append(ProtectedChange(logical_id, kind, what))
    found += [
        ProtectedChange(change.name, "parameter", "turn deletion protection off")
        for change in parameters
        if change.name == DELETION_PROTECTION
        and deletion_protected(change.before, environment)
        and not deletion_protected(change.after, environment)
    ]
    return found


def _statements(exempt: Iterable[str] = ()) -> list[dict[str, Any]]:
    deny: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["Update:Replace", "Update:Delete"],
        "Condition": {"StringEquals": {"ResourceType": sorted(PROTECTED_TYPES)}},
    }
    spared = sorted(set(exempt))
    if spared:
        deny["NotResource"] = [f"LogicalResourceId/{logical_id}" for logical_id in spared]
    else:
        deny["Resource"] = "*"
    return [{"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}, deny]


def stack_policy(stack: str) -> str | None:
    """The stack policy that protects the stack's stateful resources (None: the stack has none)."""
    if stack not in POLICY_STACKS:
        return None
    return json.dumps({"Statement": _statements()}, sort_keys=True)


def override_policy(stack: str, allowed: Iterable[ProtectedChange]) -> str | None:
    """The temporary policy of a run that may replace or delete the given protected resources:
    the protecting one, minus those resources (None when no resource needs it)."""
    exempt = [change.logical_id for change in allowed if change.resource_type in PROTECTED_TYPES]
    if stack not in POLICY_STACKS or not exempt:
        return None
    return json.dumps({"Statement": _statements(exempt)}, sort_keys=True)


def same_policy(current: str | None, wanted: str | None) -> bool:
    if not current or not wanted:
        return not current and not wanted
    try:
        return bool(json.loads(current) == json.loads(wanted))
    except ValueError:
        return False
