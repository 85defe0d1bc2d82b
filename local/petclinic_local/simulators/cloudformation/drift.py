"""What DetectStackDrift finds: for the types the local cloud can read back (a ``read`` in the
registry, ``providers.DRIFT_READERS``), the template's properties (resolved) against the live
values; other types are NOT_CHECKED, as AWS reports the types its drift detection does not support.
"""

from __future__ import annotations

import json
from typing import Any

from petclinic_local.simulators.cloudformation.providers import DRIFT_READERS


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(_same(value, actual.get(key)) for key, value in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    try:
        return float(expected) == float(actual)
    except (TypeError, ValueError):
        return str(expected) == str(actual)


def _differences(expected: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    found = []
    for key, actual_value in actual.items():
        if key not in expected:
            continue
        expected_value = expected[key]
        if isinstance(expected_value, dict) and isinstance(actual_value, dict):
            found += _differences(expected_value, actual_value, f"{prefix}/{key}")
        elif not _same(expected_value, actual_value):
            found.append(
                {
                    "PropertyPath": f"{prefix}/{key}",
                    "ExpectedValue": json.dumps(expected_value)
                    if not isinstance(expected_value, str)
                    else expected_value,
                    "ActualValue": json.dumps(actual_value)
                    if not isinstance(actual_value, str)
                    else actual_value,
                    "DifferenceType": "NOT_EQUAL",
                }
            )
    return found


def resource_drift(
    kind: str, physical: str, expected: dict[str, Any], region: str
) -> tuple[str, list[dict[str, Any]]]:
    """(StackResourceDriftStatus, PropertyDifferences) of one resource."""
    reader = DRIFT_READERS.get(kind)
    if reader is None:
        return "NOT_CHECKED", []
    try:
        actual = reader(physical, region)
    except Exception:
        return "DELETED", []
    differences = _differences(expected, actual)
    return ("MODIFIED" if differences else "IN_SYNC"), differences
