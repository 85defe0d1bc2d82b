"""What a stack policy allows: the changes of a planned update (``changes.PlannedChange``) it
does not, each with CloudFormation's reason (``policy_denials``)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from petclinic_local.simulators.cloudformation.changes import PlannedChange
from petclinic_local.simulators.cloudformation.template import listed


def _action(change: PlannedChange) -> str | None:
    if change.action == "Remove":
        return "Update:Delete"
    if change.action == "Modify":
        return "Update:Replace" if change.replaces else "Update:Modify"
    return None  # a stack policy governs updates of existing resources, not additions


def _listed_text(value: Any) -> list[str]:
    return [str(item) for item in listed(value)] if value is not None else []


def _matches(statement: dict[str, Any], action: str, change: PlannedChange) -> bool:
    if not any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed_text(statement.get("Action"))):
        return False
    resource = f"LogicalResourceId/{change.logical_id}"
    if "NotResource" in statement:
        if any(fnmatch.fnmatchcase(resource, p) for p in _listed_text(statement["NotResource"])):
            return False
    elif not any(
        fnmatch.fnmatchcase(resource, p) or p == "*" for p in _listed_text(statement.get("Resource"))
    ):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        wanted = _listed_text(tests.get("ResourceType"))
        match = fnmatch.fnmatchcase if operator == "StringLike" else str.__eq__
        if wanted and not any(match(change.resource_type, pattern) for pattern in wanted):
            return False
    return True


def policy_denials(policy: str | None, changes: Iterable[PlannedChange]) -> list[tuple[PlannedChange, str]]:
    """The changes a stack policy does not allow, each with CloudFormation's reason. With a
    policy, everything not explicitly allowed is denied; an explicit Deny wins over any Allow."""
    if not policy:
        return []
    statements = json.loads(policy).get("Statement", [])
    denied = []
    for change in changes:
        action = _action(change)
        if action is None:
            continue
        matching = [(index, s) for index, s in enumerate(statements, 1) if _matches(s, action, change)]
        denies = [index for index, s in matching if s.get("Effect") == "Deny"]
        if denies:
            denied.append(
                (change, f"Action denied by stack policy: Statement [#{denies[0]}] has a Deny effect")
            )
        elif not matching:
            denied.append((change, "Action not allowed by stack policy: no statement allows it"))
    return denied
