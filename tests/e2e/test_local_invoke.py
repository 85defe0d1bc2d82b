"""`petclinic-ops local invoke`: every function sample in events/ runs (events/index.json says
which function takes which event), SAM's --env-vars format, errors, and the `local serve`
endpoint as the handler's AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from served import ROOT, client_environment, local_serve
from template_resources import functions

from petclinic_local.stack.template import load_template

EVENTS = ROOT / "events"
INDEX: dict[str, Any] = json.loads((EVENTS / "index.json").read_text())
SAMPLES = {name: entry for name, entry in INDEX.items() if not name.startswith("$")}
FUNCTION_EVENTS = sorted(name for name, entry in SAMPLES.items() if "function" in entry)
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]


def invoke(*args: str, cwd: Path = ROOT) -> Any:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    return subprocess.run(
        [sys.executable, "-m", "petclinic_local.cli.main", "local", "invoke", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=client_environment(),
        check=False,
    )


def test_every_sample_in_events_is_classified() -> None:
    files = {path.name for path in EVENTS.glob("*.json")} - {"index.json"}
    assert set(SAMPLES) == files, "events/index.json must list every sample (function or workflow)"
    for name, entry in SAMPLES.items():
        kind = "AWS::Serverless::Function" if "function" in entry else "AWS::Serverless::StateMachine"
        logical_id = entry.get("function") or entry.get("workflow")
        assert RESOURCES.get(logical_id, {}).get("Type") == kind, f"{name}: {logical_id} is no {kind}"
    assert FUNCTION_EVENTS, "no function event to run"


@pytest.mark.parametrize("sample", FUNCTION_EVENTS)
def test_every_function_event_runs_with_local_invoke(sample: str) -> None:
    entry = SAMPLES[sample]
    done = invoke(entry["function"], "--event", f"events/{sample}")
    payload = json.loads(done.stdout)
    expect = entry["expect"]
    if "errorType" in expect:
        assert done.returncode == 1, done.stderr
        assert payload["errorType"] == expect["errorType"]
        last = done.stderr.strip().splitlines()[-1]
        assert (
            last
            == f"petclinic-ops: {entry['function']} raised {expect['errorType']}: {payload['errorMessage']}"
        )
    else:
        assert done.returncode == 0, done.stderr
        assert {key: payload.get(key) for key in expect["result"]} == expect["result"]
    assert '"level":' in done.stderr  # the handler's Powertools log lines go to stderr


def test_env_vars_in_sam_format_override_declared_variables_only(tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {
                "Parameters": {"DEPLOY_TAG_EXCLUDE": ".*", "NOT_IN_THE_TEMPLATE": "x"},
                "ResolveDeployFunction": {"DEPLOY_TAG_EXCLUDE": "1\\.1\\..*"},
            }
        )
    )
    done = invoke(
        "ResolveDeployFunction", "--event", "events/resolve-deploy-payload.json", "--env-vars", str(env_vars)
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["action"] == "SKIP"
    assert plan["reason"] == "tag policy: tag '1.1.0' matches the exclude pattern '1\\.1\\..*'"
    assert (
        "NOT_IN_THE_TEMPLATE not declared in the template for ResolveDeployFunction: ignored" in done.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("NoSuchFunction", "--event", "events/manual-deploy.json"),
            "unknown function 'NoSuchFunction': template.yaml has "
            + ", ".join(sorted(function.logical_id for function in functions())),
        ),
        (
            ("ResolveDeployFunction", "--event", "events/none.json"),
            "events/none.json: cannot read the event file (No such file or directory)",
        ),
        (
            (
                "ResolveDeployFunction",
                "--event",
                "events/manual-deploy.json",
                "--env-vars",
                "events/manual-deploy.json",
            ),
            "events/manual-deploy.json: SAM's --env-vars format is a JSON object of objects",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = invoke(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"petclinic-ops: {message}")
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


@pytest.mark.slow
def test_invoke_against_the_served_endpoint() -> None:
    """With --endpoint-url, the configuration comes from the served stack and the handler's AWS
    calls go there: the rotation step finds the version the AWS CLI staged AWSPENDING."""
    with local_serve() as served:
        token = json.loads((EVENTS / "rotation-step.json").read_text())["ClientRequestToken"]
        current = served.boto3("secretsmanager").get_secret_value(SecretId="petclinic/dev/aurora/app")
        served.aws(
            "secretsmanager", "put-secret-value", "--secret-id", "petclinic/dev/aurora/app",
            "--client-request-token", token, "--secret-string", current["SecretString"],
            "--version-stages", "AWSPENDING",
        )  # fmt: skip
        resolved = invoke(
            "ResolveDeployFunction",
            "--event",
            "events/resolve-deploy-payload.json",
            "--endpoint-url",
            served.url,
        )
        rotated = invoke(
            "RotateSecretFunction", "--event", "events/rotation-step.json", "--endpoint-url", served.url
        )
        missing = invoke(
            "ResolveDeployFunction", "--event", "events/manual-deploy.json", "--endpoint-url", served.url,
            "--stack", "petclinic-ops-prod",
        )  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr
    assert json.loads(resolved.stdout)["service"] == "customers-service"
    assert '"function_name":"petclinic-ops-dev-resolve-deploy"' in resolved.stderr
    assert rotated.returncode == 0, rotated.stderr
    result = json.loads(rotated.stdout)
    assert result["step"] == "createSecret"
    assert token in rotated.stderr  # the correlation id of its log lines
    assert missing.returncode == 2
    assert missing.stderr == f"petclinic-ops: stack petclinic-ops-prod not found in {served.url}\n"
