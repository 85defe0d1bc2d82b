"""Kinds of value more than one model or settings class takes: one validator each, so the same
input gets the same answer whichever function reads it."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from pydantic import BeforeValidator, Field


def names(value: object) -> object:
    """A list of names, or the comma-separated text a template's CommaDelimitedList joins into
    (an empty text is no names): none empty, none twice."""
    if isinstance(value, str):
        if not value.strip():
            return ()
        value = tuple(name.strip() for name in value.split(","))
        if "" in value:
            raise ValueError("a comma-separated list of names, none empty")
    if isinstance(value, tuple | list):
        twice = sorted(str(name) for name, count in Counter(value).items() if count > 1)
        if twice:
            raise ValueError(f"names must be unique ({', '.join(twice)} listed more than once)")
    return value


NameList = Annotated[tuple[str, ...], BeforeValidator(names)]
ClusterName = Annotated[str, Field(min_length=1, max_length=255)]
RolloutTimeoutSeconds = Annotated[int, Field(ge=1, le=21600)]
