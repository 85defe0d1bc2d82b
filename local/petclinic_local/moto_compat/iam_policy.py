"""IAM's policy evaluation for one principal and one request, as AWS documents it.

moto evaluates identity policies only for requests signed with the keys of an IAM user or an
assumed role, only with ``INITIAL_NO_AUTH_ACTION_COUNT`` set, and without condition operators
beyond a few, permissions boundaries or the action names some services authorise under
(``lambda:InvokeFunction`` for Invoke, ``bedrock:InvokeModel`` for Converse). The local cloud
decides here instead, for the roles the control plane runs as (``moto_compat.iam``):

* an explicit ``Deny`` of any identity policy (or of the boundary) refuses;
* otherwise an ``Allow`` of an identity policy (inline or attached) is needed, and, where the
  role has a permissions boundary, an ``Allow`` of the boundary too;
* ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``; ``Resource``/``NotResource``
  case-sensitively, ``*`` spanning ``/`` and ``:``;
* ``Condition``: the String, Arn, Bool and Null operators, ``...IfExists``, and the
  ``ForAnyValue:``/``ForAllValues:`` qualifiers; keys case-insensitive. A key missing from the
  request matches no positive operator and every negated one, as on AWS. An operator this module
  does not know never allows (and always denies): it is refused, naming the operator.

The messages are AWS's: "User: <session> is not authorized to perform: <action> on resource:
<resource> because no identity-based policy allows the <action> action" (or "... with an explicit
deny in an identity-based policy", "... because no permissions boundary allows ...").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Statement = Mapping[str, Any]

NO_IDENTITY_ALLOW = "because no identity-based policy allows the {action} action"
EXPLICIT_DENY = "with an explicit deny in an identity-based policy"
NO_BOUNDARY_ALLOW = "because no permissions boundary allows the {action} action"


@dataclass(frozen=True)
class Request:
    """One authorisation AWS makes for a call: the action, its resource and the context keys."""

    action: str
    resource: str
    context: Mapping[str, Any]


@dataclass(frozen=True)
class Policies:
    """What IAM evaluates for a role: its identity policies' statements and its boundary's."""

    identity: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None = None  # None: the role has no permissions boundary


def statements(document: str | Mapping[str, Any]) -> tuple[Statement, ...]:
    """A policy document's statements (a JSON string, URL-decoded by moto, or a mapping)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", [])
    # CloudFormation drops an ``!If [..., AWS::NoValue]`` statement; moto keeps it as None.
    return tuple(s for s in (found if isinstance(found, list) else [found]) if isinstance(s, Mapping))


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_wildcard(str(p), True).fullmatch(action) for p in listed(patterns))


def _resource_matches(patterns: Any, resource: str) -> bool:
    return any(_wildcard(str(p), False).fullmatch(resource) for p in listed(patterns))


def _applies(statement: Statement, request: Request, *, any_resource: bool = False) -> bool:
    if "Action" in statement:
        if not _action_matches(statement["Action"], request.action):
            return False
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return False
    else:
        return False
    if any_resource:
        pass  # a Deny of the action on any resource may be this request's
    elif "Resource" in statement:
        if not _resource_matches(statement["Resource"], request.resource):
            return False
    elif "NotResource" in statement and _resource_matches(statement["NotResource"], request.resource):
        return False
    return conditions_hold(
        statement.get("Condition", {}), request.context, deny=statement.get("Effect") == "Deny"
    )


class UnknownConditionOperator(Exception):
    """A condition operator this evaluator does not implement (never taken as a match for Allow)."""


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Any], *, deny: bool = False) -> bool:
    """Whether every operator block of a statement's ``Condition`` holds for the context keys.
    An unknown operator holds for a Deny and fails for an Allow: it can only refuse."""
    keys = {key.lower(): value for key, value in context.items()}
    for operator, tests in condition.items():
        try:
            held = _operator_holds(operator, tests, keys)
        except UnknownConditionOperator:
            held = deny
        if not held:
            return False
    return True


_COMPARE = {
    "StringEquals": lambda v, p: v == p,
    "StringNotEquals": lambda v, p: v != p,
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringNotEqualsIgnoreCase": lambda v, p: v.lower() != p.lower(),
    "StringLike": lambda v, p: bool(_wildcard(p, False).fullmatch(v)),
    "StringNotLike": lambda v, p: not _wildcard(p, False).fullmatch(v),
    "ArnEquals": lambda v, p: bool(_wildcard(p, False).fullmatch(v)),
    "ArnLike": lambda v, p: bool(_wildcard(p, False).fullmatch(v)),
    "ArnNotEquals": lambda v, p: not _wildcard(p, False).fullmatch(v),
    "ArnNotLike": lambda v, p: not _wildcard(p, False).fullmatch(v),
    "Bool": lambda v, p: v.lower() == p.lower(),
}


def _operator_holds(operator: str, tests: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    negated = "Not" in name
    for key, expected in tests.items():
        value = keys.get(key.lower())
        patterns = [str(p) for p in listed(expected)]
        if name == "Null":
            if (value is None) != (patterns[0].lower() == "true"):
                return False
            continue
        compare = _COMPARE.get(name)
        if compare is None or qualifier not in {"", "ForAnyValue", "ForAllValues"}:
            raise UnknownConditionOperator(operator)
        if value is None:
            if not (if_exists or negated or qualifier == "ForAllValues"):
                return False
            continue
        values = [str(v) for v in listed(value)]
        if not _compared(compare, values, patterns, negated=negated, qualifier=qualifier):
            return False
    return True


def _compared(compare: Any, values: list[str], patterns: list[str], *, negated: bool, qualifier: str) -> bool:
    def one(value: str) -> bool:
        # A negated operator holds when the value matches none of the patterns; a positive one, any.
        if negated:
            return all(compare(value, p) for p in patterns)
        return any(compare(value, p) for p in patterns)

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def refusal(policies: Policies, request: Request, *, resource_known: bool = True) -> str | None:
    """Why IAM refuses the request (AWS's words after "on resource: ..."), or None: allowed.

    ``resource_known=False`` (a call whose resource cannot be told, ``request.resource`` "*"): only
    a statement allowing the action on every resource allows it, and a Deny of the action on any
    resource refuses it."""
    everything: Iterable[Statement] = (*policies.identity, *(policies.boundary or ()))
    if any(
        s.get("Effect") == "Deny" and _applies(s, request, any_resource=not resource_known)
        for s in everything
    ):
        return EXPLICIT_DENY
    if not any(s.get("Effect") == "Allow" and _applies(s, request) for s in policies.identity):
        return NO_IDENTITY_ALLOW.format(action=request.action)
    if policies.boundary is not None and not any(
        s.get("Effect") == "Allow" and _applies(s, request) for s in policies.boundary
    ):
        return NO_BOUNDARY_ALLOW.format(action=request.action)
    return None
