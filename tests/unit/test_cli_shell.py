"""Shell habits: --version, completion scripts that complete, exit codes in --help, NO_COLOR and
a non-terminal stdout giving plain text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

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
    assert complete(script, "local", "") == [
        "run",
        "rotate",
        "invoke",
        "serve",
        "push",
        "ask",
        "api",
        "genai",
        "provision",
        "teardown",
        "drift",
        "scale",
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


@pytest.mark.parametrize("command", ["status", "history", "rollback", "diff", "executions"])
def test_help_documents_exit_codes_and_the_aws_options(command: str) -> None:
    done = run_cli(command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "exit codes: 0" in text
    assert "2 bad input" in text
    for option in ("--profile", "--region", "--stack", "--endpoint-url", "--json"):
        assert option in text


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
