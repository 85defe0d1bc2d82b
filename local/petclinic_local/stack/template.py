"""template.yaml as SAM reads it, and its offline transform into CloudFormation.

Shared by the deploy into moto (``stack.deploy``) and the build tool that writes the
transformed template for cfn-lint (tools/template_checks.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415

    return yaml_parse(path.read_text())  # type: ignore[no-any-return]


class _NoManagedPolicies:
    """The translator asks IAM for AWS managed policy ARNs; offline there are none to ask."""

    def load(self) -> dict[str, str]:
        return {}


def transform(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM translator's transform, offline (``sam deploy`` does the same server-side)."""
    from samtranslator.translator.transform import transform as sam_transform  # noqa: PLC0415

    return sam_transform(template, parameters, _NoManagedPolicies())  # type: ignore[no-any-return]
