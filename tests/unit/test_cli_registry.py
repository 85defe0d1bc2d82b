"""The CLI registry (local/petclinic_local/cli/registry.py): every command comes from it, a new
command is one module, the shared options are defined in one place, --dry-run and --plan are
one option, and finding the commands imports nothing heavy. README's table against it:
test_cli_shell.py."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import petclinic_local.cli as cli_package
from petclinic_local.cli import completion, registry
from petclinic_local.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "local" / "petclinic_local" / "cli"


def test_every_command_of_the_parser_is_registered_and_every_registration_is_in_the_parser() -> None:
    assert list(registry.parsers()) == list(registry.commands())
    assert set(registry.groups()) == {"local", "genai", "local genai", "rotation"}


def test_every_command_gives_its_exit_codes_and_runs_its_registered_function() -> None:
    for path, command in registry.commands().items():
        assert command.epilog.startswith("exit codes: 0"), path
        assert registry.parsers()[path].get_default("run") is command.run, path


@pytest.mark.parametrize("path", ["provision", "local provision", "scale night", "local scale night"])
@pytest.mark.parametrize("spelling", ["--dry-run", "--plan"])
def test_dry_run_and_plan_are_one_option(path: str, spelling: str) -> None:
    """Before: `provision --dry-run` and `scale --plan` were refused (exit 2)."""
    args = registry.parser().parse_args([*path.split(), spelling])
    assert args.dry_run is True
    assert registry.parser().parse_args(path.split()).dry_run is False


def test_the_shared_options_are_defined_in_one_place() -> None:
    """--profile, --region, --endpoint-url, --timeout and --json are added by cli/aws.py and
    cli/registry.py only; a command asks for them (registry.Aws, Follow, json)."""
    shared = ("--profile", "--region", "--endpoint-url", "--timeout", "--poll-seconds", "--json")
    pattern = re.compile(rf'add_argument\(\s*"({"|".join(map(re.escape, shared))})"')
    found = [
        f"{path.name}: {match}"
        for path in sorted(CLI.glob("*.py"))
        if path.name not in {"aws.py", "registry.py"}
        for match in pattern.findall(path.read_text())
    ]
    assert found == []


def test_finding_the_commands_imports_nothing_heavy() -> None:
    """Every module of cli/ is imported to build the parser: `petclinic-ops --help` stays fast."""
    script = (
        "import sys; from petclinic_local.cli import registry; registry.parser(); "
        "heavy = ('rich', 'pydantic', 'boto3', 'botocore', 'moto', 'yaml'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- a new command: one module

HELLO = """
import argparse

from petclinic_local.cli import registry


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")


@registry.command(
    "local hello",
    arguments=_arguments,
    help="say hello",
    epilog="exit codes: 0 said, 2 bad input",
    json="print it as JSON",
    aws=registry.Aws(),
)
def _hello(args: argparse.Namespace) -> int:
    from petclinic_local.cli import aws
    from petclinic_local.errors import QuietTimeout, UsageError
    from petclinic_local.runner import StillRunning

    raising = {"usage": UsageError, "aws": aws.AwsFailure, "late": StillRunning, "busy": QuietTimeout}
    if args.name in raising:
        raise raising[args.name](f"{args.name} went wrong")
    print({"hello": args.name, "json": args.json, "stack": args.stack})
    return 0
"""


@pytest.fixture
def hello_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A module `hello.py` in cli/ (here: a folder added to the package's path), and a registry
    that has read none of the modules yet."""
    (tmp_path / "hello.py").write_text(HELLO)
    monkeypatch.setattr(cli_package, "__path__", [*cli_package.__path__, str(tmp_path)])
    fresh = registry._Registry(groups={"local": "the Docker-free local cloud"})
    monkeypatch.setattr(registry, "_REGISTRY", fresh)
    yield
    sys.modules.pop("petclinic_local.cli.hello", None)


@pytest.mark.usefixtures("hello_module")
def test_a_new_command_is_one_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert "local hello" in registry.commands()
    assert main(["local", "hello", "you", "--json", "--stack", "mine"]) == 0
    assert capsys.readouterr().out == "{'hello': 'you', 'json': True, 'stack': 'mine'}\n"
    parser = registry.parsers()["local hello"]
    assert {"--profile", "--region", "--endpoint-url", "--stack"} <= {
        option for action in parser._actions for option in action.option_strings
    }
    table = completion.table(registry.parser())
    assert "hello" in table["local"][0]
    assert "--endpoint-url" in table["local hello"][0]
    assert isinstance(parser, argparse.ArgumentParser)


@pytest.mark.usefixtures("hello_module")
@pytest.mark.parametrize(("name", "code"), [("usage", 2), ("aws", 1), ("late", 1), ("busy", 1)])
def test_what_a_run_raises_is_one_line_and_its_exit_code(
    name: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A follow past --timeout (StillRunning) and a local cloud that never went quiet
    (QuietTimeout) are exit 1 and one line, as a failed AWS call; bad input exit 2."""
    assert main(["local", "hello", name]) == code
    assert capsys.readouterr().err == f"petclinic-ops: {name} went wrong\n"
