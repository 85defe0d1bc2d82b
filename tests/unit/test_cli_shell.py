"""Shell habits: --version, completion scripts that complete, exit codes in --help, NO_COLOR and
a non-terminal stdout giving plain text."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from petclinic_local.cli import registry
from petclinic_local.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]
ESCAPE = "\x1b["


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **env},
        check=False,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"petclinic-ops {version('petclinic-ops')}\n"


def complete(script: str, *words: str) -> list[str]:
    """What bash completes after ``petclinic-ops WORDS`` (the last word is the one being typed)."""
    line = " ".join(f"'{word}'" for word in ["petclinic-ops", *words])
    program = f"""{script}
COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=()
_petclinic_ops
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_options_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "complete -o default -F _petclinic_ops petclinic-ops" in script
    top = complete(script, "")
    assert {
        "status",
        "history",
        "rollback",
        "diff",
        "executions",
        "deploy",
        "local",
        "completion",
        "--version",
    } <= set(top)
    assert complete(script, "st") == ["status"]
    assert complete(script, "local", "") == [  # the registry's commands, in alphabetical order
        "api",
        "ask",
        "deploy",
        "drift",
        "genai",
        "invoke",
        "provision",
        "push",
        "rotate",
        "run",
        "scale",
        "serve",
        "teardown",
        "--help",
    ]
    assert complete(script, "executions", "--status", "") == [
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "ABORTED",
    ]
    assert complete(script, "rollback", "customers-service", "--st") == ["--steps", "--stack"]
    assert complete(script, "status", "--json", "--end") == ["--endpoint-url"]
    assert complete(script, "local", "invoke", "--event", "") == []  # a file: the shell's own completion
    assert complete(script, "completion", "") == ["--help", "bash", "zsh"]


def test_zsh_completion_uses_the_same_function(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "_petclinic_ops()" in script


def test_no_color_and_a_pipe_give_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    """rich colours a terminal (FORCE_COLOR pretends one); NO_COLOR or a pipe give no escape codes."""
    script = (
        "from petclinic_local.cli import render;"
        "from petclinic_local.cli.history import history_table;"
        "row = {'startedAt': '2026-11-30T00:00:00Z', 'result': 'FAILED'};"
        "render.console().print(history_table('x', [row]))"
    )

    def output(**env: str) -> str:
        clean = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR", "TERM"}}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env={**clean, **env},
            check=True,
        )
        return done.stdout

    assert ESCAPE in output(FORCE_COLOR="1", TERM="xterm-256color")
    assert ESCAPE not in output(FORCE_COLOR="1", TERM="xterm-256color", NO_COLOR="1")
    piped = output()
    assert ESCAPE not in piped
    assert "FAILED" in piped


# --------------------------------------------------------------------------- README's CLI table and --help

COMMANDS = registry.parsers()
# Named once in the prose above the table (README "CLI"), not in each row.
COMMON_OPTIONS = ("--help", "--profile", "--region", "--stack", "--endpoint-url", "--json", "--timeout")


def exit_codes(text: str) -> set[int]:
    """0, 1, 2... of "0 shown, 1 AWS call failed, 2 bad input" (each code leads an item)."""
    return {int(code) for code in re.findall(r"(?:^|, )(\d)\b", text.strip())}


def help_exit_codes(path: str) -> set[int]:
    text = " ".join(COMMANDS[path].format_help().split())
    match = re.search(r"exit codes: (.*)", text)
    assert match, f"{path}: --help gives no exit codes"
    return exit_codes(match.group(1))


def readme_cli() -> tuple[str, list[tuple[list[str], set[str], set[int]]]]:
    """README's CLI section, and its table: per row the commands, the options and the exit codes."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## CLI\n") :]
    section = section[: section.index("\n## ", 5)]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        paths, options = [], set()
        for usage in re.findall(r"`([^`]+)`", cells[0]):
            words = usage.replace("\\|", "|").split()
            path = next((" ".join(words[:n]) for n in (3, 2, 1) if " ".join(words[:n]) in COMMANDS), None)
            paths.append(path or words[0])
            options |= set(re.findall(r"--[a-z][a-z-]*", usage))
        rows.append((paths, options, exit_codes(cells[2])))
    return section, rows


def shown_options(path: str) -> set[str]:
    return {
        option
        for action in COMMANDS[path]._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
        if option.startswith("--")
    }


def test_readme_cli_table_has_every_command_and_only_commands_that_exist() -> None:
    _, rows = readme_cli()
    listed = [path for paths, _, _ in rows for path in paths]
    assert sorted(set(listed) - {"--version"}) == sorted(COMMANDS)
    assert len(listed) == len(set(listed)), "a command in two rows"


def test_readme_cli_table_names_every_option_of_help_and_help_every_option_of_the_table() -> None:
    section, rows = readme_cli()
    for option in COMMON_OPTIONS[1:]:
        assert f"`{option}`" in section, f"README's CLI prose does not name {option}"
    for paths, options, _ in rows:
        if paths == ["--version"]:
            continue
        offered = set().union(*(shown_options(path) for path in paths))
        assert offered - set(COMMON_OPTIONS) <= options, (
            paths,
            sorted(offered - set(COMMON_OPTIONS) - options),
        )
        assert options <= offered, (paths, sorted(options - offered))


def test_readme_cli_table_gives_the_exit_codes_help_gives() -> None:
    _, rows = readme_cli()
    for paths, _, codes in rows:
        if paths != ["--version"]:
            assert codes == set().union(*(help_exit_codes(path) for path in paths)), paths


def test_every_aws_command_documents_exit_codes_and_the_aws_options() -> None:
    for path, parser in COMMANDS.items():
        if parser.get_default("fresh_cloud") or path == "completion":
            continue
        text = " ".join(parser.format_help().split())
        assert "exit codes: 0" in text, path
        assert re.search(r", 2 .*bad input", text), path
        for option in ("--profile", "--region", "--endpoint-url"):
            assert option in text, (path, option)
