"""What the resource providers call: the embedded moto's service APIs through boto3 (as a real
resource handler calls the service's API), and the template's properties as those APIs take them
(moto's models resolved to names, dynamic references to Secrets Manager resolved, CloudFormation's
"true"/"false" text as booleans, PascalCase as camelCase)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

_DYNAMIC_SECRET = re.compile(
    r"\{\{resolve:secretsmanager:(?P<id>[^:]+(?::[^:]+){0,6}?):SecretString:(?P<key>[^:}]+)\}\}"
)


@cache
def aws(service: str, region: str) -> Any:
    """A boto3 client of the embedded moto's service (one per service and region)."""
    import boto3  # noqa: PLC0415

    return boto3.session.Session(region_name=region).client(service, region_name=region)  # type: ignore[call-overload]


def resolve_dynamic(value: Any, region: str) -> Any:
    """{{resolve:secretsmanager:<arn>:SecretString:<key>}} as CloudFormation resolves it."""
    if isinstance(value, dict):
        return {k: resolve_dynamic(v, region) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_dynamic(v, region) for v in value]
    if isinstance(value, str) and "{{resolve:secretsmanager:" in value:

        def secret(match: re.Match[str]) -> str:
            raw = aws("secretsmanager", region).get_secret_value(SecretId=match["id"])["SecretString"]
            return str(json.loads(raw)[match["key"]])

        return _DYNAMIC_SECRET.sub(secret, value)
    return value


def plain(value: Any) -> Any:
    """Props as the API takes them: moto resolves Ref of some of its own models (a DB subnet
    group) to the model object rather than its name."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    for attribute in ("physical_resource_id", "subnet_name", "name", "id"):
        if isinstance(getattr(value, attribute, None), str):
            return getattr(value, attribute)
    raise TypeError(f"cannot pass {type(value).__name__} to an API call")


_BOOL = {"true": True, "false": False}


def flag(value: Any) -> bool:
    return value if isinstance(value, bool) else _BOOL[str(value).lower()]


def camel(value: Any, *, keep: frozenset[str] = frozenset({"Options", "DockerLabels"})) -> Any:
    """CloudFormation's PascalCase properties as ECS's API names them (maps of user keys kept)."""
    if isinstance(value, list):
        return [camel(item, keep=keep) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key[:1].lower() + key[1:]: (item if key in keep else camel(item, keep=keep))
        for key, item in value.items()
    }
