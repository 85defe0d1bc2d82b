"""CloudFormation's resource provider schemas (the ones cfn-lint ships, as CloudFormation
publishes them): which properties of a type cannot change in place (``createOnlyProperties``) and
which name it (its writable ``primaryIdentifier``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _schemas() -> Path:
    import cfnlint  # noqa: PLC0415 - only a change set that updates a stack needs the schemas

    return Path(cfnlint.__file__).parent / "data" / "schemas"


@cache
def _index(region: str) -> dict[str, str]:
    path = _schemas() / "providers" / f"{region}.json"
    if not path.exists():
        path = _schemas() / "providers" / "us-east-1.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


@cache
def schema(resource_type: str, region: str) -> dict[str, Any]:
    """The resource provider schema of a type (empty for a type cfn-lint does not know)."""
    digest = _index(region).get(resource_type)
    if digest is None:
        return {}
    return dict(json.loads((_schemas() / "resources" / f"{digest}.json").read_text(encoding="utf-8")))


def _paths(resource_type: str, region: str, key: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(path.removeprefix("/properties/").split("/"))
        for path in schema(resource_type, region).get(key, [])
        if path.startswith("/properties/")
    )


def create_only(resource_type: str, region: str) -> tuple[tuple[str, ...], ...]:
    """``createOnlyProperties`` as property paths: a change to one replaces the resource."""
    return _paths(resource_type, region, "createOnlyProperties")


def custom_name(resource_type: str, region: str) -> tuple[str, ...]:
    """The writable properties of the type's primary identifier (its name, when the template sets it)."""
    read_only = set(_paths(resource_type, region, "readOnlyProperties"))
    return tuple(
        path[0] for path in _paths(resource_type, region, "primaryIdentifier") if path not in read_only
    )
