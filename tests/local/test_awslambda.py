"""moto_compat.awslambda: the host's functions run in-process."""

from __future__ import annotations

import base64
import json
from typing import Any

from moto_gaps import (
    FakeHooks,
    FunctionResult,
    client,
    create_function,
    local_aws,
)

from petclinic_local.cloud import ACCOUNT, REGION


def _in_process(payload: Any) -> FunctionResult:
    if payload.get("fail"):
        return {"errorType": "ValueError", "errorMessage": "asked to fail"}, True, "failing\n"
    return {"handled": payload}, False, "handled\n"


def test_needed_lambda_in_process() -> None:
    """If this fails, moto fixed lambda-in-process: delete the workaround (moto runs the
    function without Docker instead of echoing the payload)."""
    with local_aws(skip={"lambda-in-process"}, hooks=FakeHooks(functions={"fn": _in_process})) as hooks:
        create_function("fn")
        lam = client("lambda")
        ok = lam.invoke(FunctionName="fn", Payload=json.dumps({"n": 1}))
        failed = lam.invoke(FunctionName="fn", Payload=json.dumps({"fail": True}))
    assert json.loads(ok["Payload"].read()) == {"n": 1}
    assert json.loads(failed["Payload"].read()) == {"fail": True}
    assert "FunctionError" not in failed
    assert hooks.invocations == []


def test_closed_lambda_in_process() -> None:
    with local_aws(hooks=FakeHooks(functions={"fn": _in_process})) as hooks:
        create_function("fn")
        create_function("other")
        lam = client("lambda")
        ok = lam.invoke(FunctionName="fn", Payload=json.dumps({"n": 1}), LogType="Tail")
        failed = lam.invoke(
            FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn", Payload='{"fail": true}'
        )
        other = lam.invoke(FunctionName="other", Payload=json.dumps({"n": 2}))
    assert json.loads(ok["Payload"].read()) == {"handled": {"n": 1}}
    assert "FunctionError" not in ok
    assert base64.b64decode(ok["LogResult"]).decode() == "handled\n"
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "asked to fail"
    assert json.loads(other["Payload"].read()) == {"n": 2}  # not the host's function: moto's echo
    assert hooks.invocations == [("fn", {"n": 1}), ("fn", {"fail": True})]
