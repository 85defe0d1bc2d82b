"""Kinds of value more than one model or settings class takes: one validator each, so the same
input gets the same answer whichever function reads it."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field


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

# The environments a control plane operates (its EnvironmentName).
Environment = Literal["dev", "prod"]


def environment_repository_prefix(environment: str) -> str:
    """The prefix of an environment's ECR repositories: the data stack (infra/data.yaml) names them
    petclinic/{environment}/{service}, so dev and prod in one account never share one, and the
    template's RepositoryPrefix means this when empty."""
    return f"petclinic/{environment}/"


# A prefix of ECR repository names, used verbatim ("petclinic/dev/" names petclinic/dev/vets-service,
# "petclinic-dev-" petclinic-dev-vets-service); empty: the environment's own (above). The template's
# RepositoryPrefix takes the same pattern.
RepositoryPrefix = Annotated[str, Field(max_length=200, pattern=r"^([a-z0-9][a-z0-9._/-]*)?$")]
ClusterName = Annotated[str, Field(min_length=1, max_length=255)]
RolloutTimeoutSeconds = Annotated[int, Field(ge=1, le=21600)]


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from exc
    return value


# A regular expression (the deploy tag policy's), checked by compiling it.
Regex = Annotated[str, AfterValidator(_regex)]

# The rotation strategies (a rotation setting, and what a secret's rotation uses).
Strategy = Literal["alternating", "single"]

# Characters GetRandomPassword must not use. What is left is letters, digits and "-", "_", ".":
# RFC 3986's unreserved set without "~", so a password needs no escaping anywhere it travels:
#  - MySQL: no quote, backslash or backtick (string literals, option files, CLI arguments);
#  - URLs and JDBC URLs (user:password@host/db?k=v): none of : / ? # [ ] @ ! $ & ' ( ) * + , ; = %;
#  - Spring: "$", "{", "}" would make ${...} placeholder expressions in an injected property;
#  - shells and env files: no $ ` ! * ? ~ | & ; < > ( ) quotes or spaces (IncludeSpace stays off);
#  - RDS itself refuses "/", "@", '"' and space in master passwords.
# 32 characters from the remaining 65 are about 192 bits of entropy.
DEFAULT_EXCLUDE_CHARACTERS = "/@\"'\\`:;%&?#[]{}<>|^~=+,$!*() "
