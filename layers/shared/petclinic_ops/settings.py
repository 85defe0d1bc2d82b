"""Function settings: one pydantic model per function, read from the environment once.

The template sets each function's environment variables from its parameters. A handler reads
its settings on the first invocation (``@functools.cache``) and hands them to the domain, which
reads no environment itself. Each field's alias is the variable's name, so a bad value fails with
``InvalidConfiguration`` naming the variable, never the value (a setting is not a secret, but a
message should not echo input either).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from petclinic_ops.errors import InvalidConfiguration


class FunctionSettings(BaseModel):
    """Base of the settings models: fields aliased to environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        values = {
            alias: source[alias]
            for name, field in cls.model_fields.items()
            if (alias := field.alias or name) in source
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise InvalidConfiguration(_describe(cls, exc)) from None


def _describe(model: type[FunctionSettings], exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        variable = ".".join(str(part) for part in error["loc"]) or model.__name__
        if error["type"] == "missing":
            parts.append(f"environment variable {variable} is not set")
        else:
            parts.append(f"environment variable {variable}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
