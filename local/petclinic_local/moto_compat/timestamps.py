"""Timestamps as AWS writes them where moto keeps datetimes or unix numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any


def iso(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as Step Functions and the SDK integrations write it."""
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def jsonable(value: Any) -> Any:
    """A document as Step Functions hands it over: timestamps become ISO 8601 strings."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


def event_time(value: Any) -> str:
    """EventBridge's ``time``: ISO 8601 in UTC, whole seconds."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
