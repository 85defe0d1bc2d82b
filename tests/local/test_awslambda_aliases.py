"""moto_compat.awslambda_aliases: fn:alias and fn:version run the routed version."""

from __future__ import annotations

import json
from typing import Any

from moto_gaps import FakeHooks, FunctionResult, client, create_function, local_aws

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.moto_compat.awslambda_aliases import split_qualifier


def _version(tag: str) -> Any:
    def run(payload: Any) -> FunctionResult:
        return {"ran": tag, "payload": payload}, False, f"{tag}\n"

    return run


def _hooks() -> FakeHooks:
    return FakeHooks(functions={"fn": _version("latest"), "fn:1": _version("v1"), "fn:2": _version("v2")})


def _publish_two_versions() -> None:
    create_function("fn")
    lam = client("lambda")
    lam.publish_version(FunctionName="fn")
    lam.update_function_configuration(FunctionName="fn", Description="second")
    lam.publish_version(FunctionName="fn")
    lam.create_alias(
        FunctionName="fn",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )


def _ran(response: Any) -> str:
    return str(json.loads(response["Payload"].read())["ran"])


def test_needed_lambda_qualified_invocations() -> None:
    """If this fails, moto fixed lambda-qualified-invocations: delete the workaround (moto runs the
    version an alias routes to, with that version's configuration)."""
    with local_aws(skip={"lambda-qualified-invocations"}, hooks=_hooks()) as hooks:
        _publish_two_versions()
        ran = [_ran(client("lambda").invoke(FunctionName="fn", Qualifier="live")) for _ in range(10)]
    assert set(ran) == {"latest"}  # the alias and its weights are ignored
    assert [name for name, _ in hooks.invocations] == ["fn"] * 10


def test_closed_lambda_qualified_invocations() -> None:
    recorded: list[tuple[str, str | None, str, bool]] = []

    class Recording(FakeHooks):
        def lambda_invoked(self, function: str, qualifier: str | None, version: str, **kw: Any) -> None:
            recorded.append((function, qualifier, version, kw["errored"]))

    hooks = Recording(functions=_hooks().functions)
    with local_aws(hooks=hooks):
        _publish_two_versions()
        lam = client("lambda")
        ran = [_ran(lam.invoke(FunctionName="fn", Qualifier="live")) for _ in range(20)]
        by_arn = _ran(lam.invoke(FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:2"))
        unqualified = _ran(lam.invoke(FunctionName="fn"))
        lam.update_alias(FunctionName="fn", Name="live", FunctionVersion="2", RoutingConfig={})
        promoted = {_ran(lam.invoke(FunctionName="fn", Qualifier="live")) for _ in range(5)}
    assert (ran.count("v2"), ran.count("v1")) == (2, 18)  # exactly 10 %
    assert (by_arn, unqualified, promoted) == ("v2", "latest", {"v2"})
    assert recorded[0] == ("fn", "live", ran[0][1:], False)
    assert ("fn", "2", "2", False) in recorded


def test_split_qualifier() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
    assert split_qualifier("fn", None) == ("fn", None)
    assert split_qualifier("fn:live", None) == ("fn", "live")
    assert split_qualifier(arn, "3") == ("fn", "3")
    assert split_qualifier(f"{arn}:live", None) == ("fn", "live")
