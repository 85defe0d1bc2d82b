"""The resource types the local CloudFormation knows, each registered once, by the module of
``providers/`` that covers its service.

    @provider("AWS::RDS::DBCluster", partial="no MySQL server behind it", read=_live_db_cluster)
    class DBCluster:
        create(props, logical_id, region) -> Created
        update(created, props, region, previous) -> Created   (optional)
        delete(created, props, region, deletion_policy) -> None

    known("AWS::SSM::Parameter", read=_live_ssm_parameter)          moto's CloudFormation makes it
    known("AWS::CloudWatch::Alarm", refused="no local handler")     nothing local makes it

``provider``: the local cloud creates the type through the service's API (moto's CloudFormation
skips it, or gets it wrong); a handler without ``update`` is replaced (created anew, the old one
deleted) when its properties change. ``partial``: what the local cloud does not reproduce of a
type it holds at the API level (reported with created true in every provisioning report).
``read``: the live properties drift detection compares with the template (a type without one is
NOT_CHECKED). ``refused``: why no local handler can create the type (reported with created
false; a template that uses it fails to provision locally, naming it: nothing is faked).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

Reader = Callable[[str, str], dict[str, Any]]
Handler = TypeVar("Handler", bound=type)


@dataclass
class Created:
    """What a handler made: the physical id CloudFormation reports, and the attributes Fn::GetAtt reads."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceType:
    """What the local CloudFormation knows of one resource type."""

    name: str
    module: str  # the providers module that registered it
    handler: Any = None
    partial: str | None = None
    read: Reader | None = None
    refused: str | None = None


REGISTRY: dict[str, ResourceType] = {}


def _add(entry: ResourceType) -> None:
    if not entry.name.startswith("AWS::") or entry.name.count("::") != 2:
        raise ValueError(f"{entry.name!r} is not a resource type name (AWS::Service::Resource)")
    if entry.name in REGISTRY:
        raise ValueError(f"{entry.name} is registered twice")
    REGISTRY[entry.name] = entry


def provider(
    resource_type: str, *, partial: str | None = None, read: Reader | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated class as the handler the local cloud creates ``resource_type`` with."""

    def register(handler: Handler) -> Handler:
        missing = [name for name in ("create", "delete") if not callable(getattr(handler, name, None))]
        if missing:
            raise TypeError(f"{resource_type}: {handler.__name__} has no {' or '.join(missing)}")
        _add(ResourceType(resource_type, handler.__module__, handler=handler, partial=partial, read=read))
        return handler

    return register


def known(
    resource_type: str, *, partial: str | None = None, read: Reader | None = None, refused: str | None = None
) -> None:
    """Register what the local cloud knows of a type it has no handler for: one moto's own
    CloudFormation creates (``partial``, ``read``), or one nothing local creates (``refused``)."""
    if refused is not None and (partial is not None or read is not None):
        raise ValueError(f"{resource_type}: a refused type is neither partial nor read")
    module = str(sys._getframe(1).f_globals.get("__name__", ""))  # the providers module calling
    _add(ResourceType(resource_type, module, partial=partial, read=read, refused=refused))
