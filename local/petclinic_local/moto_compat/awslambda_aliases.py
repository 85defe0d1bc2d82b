"""Lambda versions and aliases: moto 5.2.5 invokes a qualified function (``fn:live``, ``fn:3``)
as it invokes ``$LATEST``: an alias's weighted routing (RoutingConfig.AdditionalVersionWeights)
and the version's own configuration are ignored. For the host's functions, resolve the
qualifier to a version (an alias routes by its weights: smooth weighted round-robin, kept on
moto's alias object, so 10 % is exactly 1 call in 10) and run that version
(``hooks.invoke_function("fn:VERSION", ...)``: its environment as published). A host with
``lambda_invoked`` (LocalCloud) is told of each such invocation, to publish Lambda's metrics.
Unqualified calls and functions the host does not run are left to moto (and the
lambda-in-process gap).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def split_qualifier(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    """``(name, qualifier)`` of ``fn``, ``fn:q``, ``arn:...:function:fn`` or ``arn:...:function:fn:q``."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6], qualifier or (parts[7] if len(parts) > 7 else None)
    name, _, inline = function_name.partition(":")
    return name, qualifier or inline or None


def route(alias: Any) -> str:
    """The version an alias sends this call to (smooth weighted round-robin over its weights)."""
    weights = dict((alias.routing_config or {}).get("AdditionalVersionWeights") or {})
    if not weights:
        return str(alias.function_version)
    shares = {str(version): float(weight) for version, weight in weights.items()}
    shares[str(alias.function_version)] = max(0.0, 1.0 - sum(shares.values()))
    credit: dict[str, float] = getattr(alias, "_local_routing_credit", {})
    for version, share in shares.items():
        credit[version] = credit.get(version, 0.0) + share
    chosen = max(shares, key=lambda version: (credit[version], version == str(alias.function_version)))
    credit[chosen] -= 1.0
    alias._local_routing_credit = {version: credit[version] for version in shares}
    return chosen


def _qualified_invocations(hooks: Hooks) -> Patches:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> str | bytes | None:
        name, qualifier = split_qualifier(function_name, qualifier)
        if qualifier is None or not hooks.has_function(name):
            return original(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
        version = qualifier
        if not (qualifier.isdigit() or qualifier == "$LATEST"):
            version = route(self._lambdas.get_alias(qualifier, name))
        else:
            self.get_function(name, qualifier)  # ResourceNotFoundException for an unknown version
        started = time.perf_counter()
        payload, errored, logs = hooks.invoke_function(f"{name}:{version}", json.loads(body) if body else {})
        record = getattr(hooks, "lambda_invoked", None)
        if record is not None:
            record(
                name, qualifier, version, errored=errored, duration_ms=(time.perf_counter() - started) * 1000
            )
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if headers.get("x-amz-log-type") == "Tail":
            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        response_headers["x-amz-executed-version"] = version
        return json.dumps(payload).encode()

    yield mock.patch.object(LambdaSimpleBackend, "invoke", invoke)

    from moto.awslambda.responses import LambdaResponse  # noqa: PLC0415

    original_response = LambdaResponse.invoke

    def invoke_response(self: Any) -> Any:
        # moto reads the Qualifier query parameter as "qualifier" and so never sees it: hand the
        # backend "fn:QUALIFIER" (the qualified name Lambda accepts too) when one was sent.
        qualifier = (self.querystring.get("Qualifier") or [None])[0]
        head, name, tail = self.path.rsplit("/", 2)
        plain = name.replace("%3A", ":")
        if qualifier and ":" not in plain and hooks.has_function(plain):
            self.path = f"{head}/{name}:{qualifier}/{tail}"
        return original_response(self)

    yield mock.patch.object(LambdaResponse, "invoke", invoke_response)


GAPS = (
    Gap(
        "lambda-qualified-invocations",
        "an invocation of fn:alias or fn:version runs $LATEST: alias weights (AdditionalVersionWeights) "
        "and the published version's configuration are ignored",
        "moto/awslambda_simple/models.py LambdaSimpleBackend.invoke (ignores the qualifier's routing)",
        ("awslambda_simple", "awslambda"),
        _qualified_invocations,
    ),
)
