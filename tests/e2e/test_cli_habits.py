"""One set of habits for every command (issue 15, section 5), each command found by walking the
argument parser, not from a list:

* every command that calls AWS takes --profile, --region and --endpoint-url; --stack is the
  control plane's stack wherever it appears, --only the PetClinic stacks of a provision run;
* a malformed endpoint (option or AWS_ENDPOINT_URL), a missing profile, a region that is none:
  one line, exit 2;
* unreadable, non-UTF-8 and too deeply nested files, a --template that is missing or no
  template: one line, exit 2.

Against `local serve`: test_cli_endpoints.py.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.cli import registry
from petclinic_local.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = registry.parsers()
EVENT = "events/ecr-push-customers-service.json"
# A value for each positional argument, so that a command gets past its own checks of them.
POSITIONALS = {
    "service": "customers-service",
    "image": "1.0.0",
    "tag": "1.0.0",
    "secret": "petclinic/dev/aurora/app",
    "version": "7",
    "scale_profile": "night",
    "function": "ResolveDeployFunction",
    "question": "Which vets are radiologists?",
    "shell": "bash",
}
REQUIRED_OPTIONS = {
    "local invoke": ["--event", str(ROOT / EVENT)],
    "local run": ["--event", str(ROOT / EVENT)],
}


def options(parser: Any) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def fresh_cloud(parser: Any) -> bool:
    return bool(parser.get_default("fresh_cloud"))


def argv(path: str, *extra: str) -> list[str]:
    parser = COMMANDS[path]
    positionals = [a.dest for a in parser._actions if not a.option_strings]
    return [*path.split(), *(POSITIONALS[p] for p in positionals), *REQUIRED_OPTIONS.get(path, []), *extra]


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS configuration of the machine's: no profile, no credentials, no endpoint."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# --------------------------------------------------------------------------- the options


def test_every_command_that_calls_aws_takes_profile_region_and_endpoint_url() -> None:
    calls_aws = [p for p, parser in COMMANDS.items() if not fresh_cloud(parser) and p != "completion"]
    assert {"provision", "teardown", "drift", "genai release", "rotation cancel", "deploy"} <= set(calls_aws)
    missing = {
        path: sorted({"--profile", "--region", "--endpoint-url"} - options(COMMANDS[path]))
        for path in [*calls_aws, "local invoke"]
    }
    assert {path: gaps for path, gaps in missing.items() if gaps} == {}


def test_stack_is_the_control_plane_stack_wherever_it_appears() -> None:
    for path, parser in COMMANDS.items():
        for action in parser._actions:
            if "--stack" in action.option_strings and action.help != "==SUPPRESS==":
                assert action.dest == "stack", path
                assert "control plane" in (action.help or ""), path
    for path in ("provision", "teardown", "drift", "local provision", "local teardown", "local drift"):
        assert "--only" in options(COMMANDS[path]), path


def test_the_old_spellings_still_work_with_a_deprecation_note(capsys: pytest.CaptureFixture[str]) -> None:
    args = registry.parser().parse_args(["local", "provision", "--stack", "network", "--only", "data"])
    assert args.stacks == ["network", "data"]
    args = registry.parser().parse_args(["provision", "--control-plane", "petclinic-ops-prod"])
    assert args.stack == "petclinic-ops-prod"
    assert capsys.readouterr().err.splitlines() == [
        "petclinic-ops: --stack is deprecated: use --only",
        "petclinic-ops: --control-plane is deprecated: use --stack",
    ]


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize("path", [p for p, parser in COMMANDS.items() if "--endpoint-url" in options(parser)])
@pytest.mark.parametrize(
    "url", ["notaurl", "http://", "ftp://127.0.0.1:5000", "http://127.0.0.1:99999", "http://[::1"]
)
def test_a_malformed_endpoint_url_is_one_line_and_exit_2(
    path: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv(path, "--endpoint-url", url)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"petclinic-ops: --endpoint-url {url!r} is not an endpoint URL (")
    assert len(err.splitlines()) == 1


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize(
    "path", [p for p, parser in COMMANDS.items() if not fresh_cloud(parser) and p != "completion"]
)
def test_the_aws_environment_is_checked_in_one_line(
    path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "notaurl")
    assert main(argv(path)) == 2
    assert capsys.readouterr().err == (
        "petclinic-ops: AWS_ENDPOINT_URL 'notaurl' is not an endpoint URL "
        "(expected http:// or https://; e.g. http://127.0.0.1:5000)\n"
    )
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    assert main(argv(path, "--endpoint-url", "http://127.0.0.1:9")) == 2
    assert capsys.readouterr().err == (
        "petclinic-ops: AWS_PROFILE 'nosuch': no such profile in ~/.aws/config or ~/.aws/credentials\n"
    )
    monkeypatch.delenv("AWS_PROFILE")
    assert main(argv(path, "--region", "not a region", "--endpoint-url", "http://127.0.0.1:9")) == 2
    assert (
        capsys.readouterr().err
        == "petclinic-ops: --region 'not a region' is not a region name (e.g. us-west-2)\n"
    )


# --------------------------------------------------------------------------- files


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "not-utf8.json": b'{"source": "aws.ecr", "detail": "\xff\xfe"}',
        "nested.json": b"[" * 100_000 + b"]" * 100_000,
        "big-int.json": b'{"detail": ' + b"9" * 5000 + b"}",
        "empty.json": b"",
        "template.yaml": b"Resources: [unclosed",
        "not-a-template.yaml": b"- just\n- a list\n",
        "not-utf8.yaml": b"Resources:\n  X: \xff\n",
        "no-function.yaml": b"Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n",
        "bad-properties.yaml": b"Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
        b"    Properties: [1]\n",
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize(
    "name", ["not-utf8.json", "nested.json", "big-int.json", "empty.json", "missing.json"]
)
@pytest.mark.parametrize("command", [["local", "run"], ["local", "invoke", "ResolveDeployFunction"]])
def test_an_event_file_that_cannot_be_read_is_one_line_and_exit_2(
    command: list[str], name: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = files.get(name, files["empty.json"].parent / name)
    assert main([*command, "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"petclinic-ops: {path}: ")
    assert len(err.splitlines()) == 1


@pytest.mark.usefixtures("no_aws")
def test_env_vars_and_stdin_that_are_not_utf8_are_one_line_and_exit_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = str(ROOT / "events/resolve-deploy-payload.json")
    invoke = ["local", "invoke", "ResolveDeployFunction"]
    assert main([*invoke, "--event", event, "--env-vars", str(files["not-utf8.json"])]) == 2
    assert "the --env-vars file is not UTF-8" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe")))
    assert main([*invoke, "--event", "-"]) == 2
    assert (
        capsys.readouterr().err
        == "petclinic-ops: -: the event file is not UTF-8 (invalid start byte at byte 0)\n"
    )


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.yaml", "cannot read it (No such file or directory)"),
        ("template.yaml", "not YAML or JSON"),
        ("not-a-template.yaml", "not a SAM template (no Resources mapping)"),
        ("not-utf8.yaml", "not UTF-8"),
        ("no-function.yaml", None),
        ("bad-properties.yaml", None),
    ],
)
def test_a_template_that_is_missing_or_no_template_is_one_line_and_exit_2(
    name: str, message: str | None, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    template = files.get(name, files["empty.json"].parent / name)
    event = str(ROOT / "events/resolve-deploy-payload.json")
    function = "F" if "properties" in name else "ResolveDeployFunction"
    assert main(["local", "invoke", function, "--event", event, "--template", str(template)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    if message:
        assert err.startswith(f"petclinic-ops: --template {template}: {message}")
    elif name == "no-function.yaml":
        assert err == "petclinic-ops: unknown function 'ResolveDeployFunction': no-function.yaml has none\n"
    else:
        assert err.startswith(
            f"petclinic-ops: --template {template}: F is not a function this command can read"
        )
