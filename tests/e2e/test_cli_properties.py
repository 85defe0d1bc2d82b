"""Every command and subcommand of `petclinic-ops`, found by walking its argument parser, driven
with generated arguments, files and environment (hypothesis), in this process (``main(argv)``):
no traceback, ever, and every exit code one its --help documents ("exit codes: 0 ..., 1 ...").

What is generated, per command:
* arguments from each argparse action: a positional or option value from words the project uses
  (services, profiles, functions, versions, tags, digests, stacks), numbers (negative, huge,
  nan, inf), long, empty and unicode text, option look-alikes; flags on or off; choices or not;
  now and then an unknown option or a help flag;
* files for every FILE option: the samples of events/, and empty, non-UTF-8, 3 MB, 100,000-deep,
  JSON-array, 5,000-digit files, a YAML that is no template, a directory, a missing path, stdin;
* the environment: AWS_ENDPOINT_URL (malformed, a closed port, `local serve`), AWS_PROFILE of a
  missing profile, AWS_DEFAULT_REGION and AWS_REGION garbage, credentials or none.

What each command may reach, so that the run stays fast and touches nothing real:
* a command that starts a fresh local cloud stops where the cloud would start (``CloudStarts``
  raised from LocalCloud.start: everything before it, its validation, has run), and at that
  moment no AWS_* variable of the caller's may be in the environment (the seal);
* the commands that only read (status, history, diff, executions) may meet a real `local serve`
  (one for the module); every other AWS command meets a malformed endpoint, a closed port on
  127.0.0.1 or no endpoint (and then no credentials); names other than loopback do not resolve
  and AWS_MAX_ATTEMPTS is 1, so nothing waits on a network;
* --mysql is malformed or a closed port.

PETCLINIC_CLI_EXAMPLES sets the examples per command (default 12: the whole run in about a
minute on 2 cores). The counts are printed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import socket
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from template_resources import functions, state_machines

from petclinic_local.cli import aws, registry
from petclinic_local.cli.main import main
from petclinic_local.cloud import LocalCloud
from petclinic_local.server import LocalEndpoint

pytestmark = [pytest.mark.xdist_group("cli-properties")]  # one served cloud for the module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("PETCLINIC_CLI_EXAMPLES", "12"))
COMMANDS = registry.parsers()
READ_ONLY = {"status", "history", "diff", "executions", "rotation status"}  # may meet the served cloud
CLOSED = "http://127.0.0.1:9"  # discard: nothing listens there
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class CloudStarts(BaseException):
    """Raised where a fresh local cloud would start: the command's validation is behind it."""


# --------------------------------------------------------------------------- what --help documents


def documented_exit_codes(parser: argparse.ArgumentParser) -> set[int]:
    text = " ".join(parser.format_help().split())
    match = re.search(r"exit codes: (.*)", text)
    assert match, f"{parser.prog}: --help documents no exit codes"
    return {int(code) for code in re.findall(r"(?:^|, )(\d+) ", match.group(1))}


def test_every_command_documents_its_exit_codes() -> None:
    for path, parser in COMMANDS.items():
        codes = documented_exit_codes(parser)
        assert {0, 2} <= codes <= {0, 1, 2, 3}, (path, codes)


# --------------------------------------------------------------------------- what is generated


def _words() -> list[str]:
    return [
        *("customers-service", "vets-service", "visits-service", "admin-server", "genai"),
        *("night", "peak", "business-hours", "nosuch"),
        *(function.logical_id for function in functions()),
        *(machine.name for machine in state_machines()),
        *("1", "2", "7", "99", "0", "01", "-1", "1.0.0", "3.4.1", "latest", "2.0.0-broken"),
        "sha256:" + "a" * 64,
        "sha256:short",
        *("petclinic/dev/aurora/app", "petclinic-ops-dev", "petclinic-ops-prod", "network", "edge"),
        *("RUNNING", "FAILED", "bash", "zsh", "fish"),
        *("network.X=1", "services.CustomersDesiredCount=3", "cdn.Size=1", "=", "a.b"),
        *("", " ", "-", "--", "--json", "-h", "é", "\u202e", "x" * 300, "\\", "'", '"', "${HOME}"),
    ]


WORDS = _words()
SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)  # as argv can be
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "0", "0.0", "-0", "9" * 30, "0x10", "1_000"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
TEXT = st.one_of(st.sampled_from(WORDS), SAFE_TEXT, NUMBERS)
MALFORMED_URLS = ["notaurl", "http://", "ftp://127.0.0.1:5000", "http://127.0.0.1:99999", "http://[::1", ""]


def make_files(folder: Path) -> list[str]:
    made = {
        "empty.json": b"",
        "not-utf8.json": b'{"source": "aws.ecr", "detail-type": "x", "detail": {"x": "\xff\xfe"}}',
        "huge.json": json.dumps(
            {"source": "s", "detail-type": "d", "detail": {"x": "y" * 3_000_000}}
        ).encode(),
        "nested.json": b"[" * 100_000 + b"]" * 100_000,
        "nested-detail.json": b'{"source": "s", "detail-type": "d", "detail": '
        + b"[" * 900
        + b"]" * 900
        + b"}",
        "array.json": b"[1, 2]",
        "big-int.json": b'{"detail": ' + b"9" * 5000 + b"}",
        "env-vars.json": json.dumps({"Parameters": {"LOG_LEVEL": "DEBUG"}}).encode(),
        "env-vars-bad.json": json.dumps({"Parameters": {"X": [1]}, "F": 3}).encode(),
        "template.yaml": b"Resources: [unclosed",
        "list.yaml": b"- a\n- b\n",
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    (folder / "a-directory").mkdir()
    samples = sorted(str(path) for path in (ROOT / "events").glob("*.json"))
    return [
        *samples,
        *(str(folder / name) for name in made),
        str(folder / "a-directory"),
        str(folder / "missing"),
        "-",
    ]


@st.composite
def option_value(draw: Any, action: argparse.Action, files: list[str], endpoints: list[str]) -> str:
    metavar = str(action.metavar or "")
    if action.dest == "endpoint_url":
        return str(draw(st.one_of(st.sampled_from(endpoints), TEXT)))
    if action.dest == "mysql":
        return str(
            draw(st.sampled_from(["mysql://root@127.0.0.1:9", "mysql://[::1", "postgres://x", "mysql://"]))
        )
    if "FILE" in metavar or action.dest in {"event", "events", "env_vars", "template"}:
        return str(draw(st.one_of(st.sampled_from(files), TEXT)))
    if action.choices and draw(st.integers(0, 4)):
        return str(draw(st.sampled_from([str(choice) for choice in action.choices])))
    if action.type is not None:
        return str(draw(st.one_of(NUMBERS, TEXT)))
    return str(draw(TEXT))


@st.composite
def arguments(draw: Any, path: str, files: list[str], endpoints: list[str]) -> list[str]:
    parser = COMMANDS[path]
    positionals: list[str] = []
    chosen: list[list[str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            if draw(st.integers(0, 40)) == 0:
                chosen.append(["--help"])
            continue
        if not action.option_strings:
            if action.nargs != "?" or draw(st.booleans()):
                positionals.append(draw(option_value(action, files, endpoints)))
            continue
        present = draw(st.integers(0, 9)) < (9 if action.required else 4)
        if not present:
            continue
        option = draw(st.sampled_from(list(action.option_strings)))
        repeats = draw(st.integers(1, 2)) if isinstance(action, argparse._AppendAction) else 1
        for _ in range(repeats):
            if action.nargs == 0:
                chosen.append([option])
            else:
                chosen.append([option, draw(option_value(action, files, endpoints))])
    if draw(st.integers(0, 20)) == 0:
        chosen.append([draw(st.sampled_from(["--no-such-option", "--endpoint", "-x", "extra"]))])
    order = draw(st.permutations(range(len(chosen))))
    return [*path.split(), *positionals, *(part for index in order for part in chosen[index])]


@st.composite
def environment(draw: Any, argv: list[str], endpoints: list[str]) -> dict[str, str]:
    env = {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }
    choices: dict[str, Any] = {
        "AWS_ENDPOINT_URL": st.sampled_from([*MALFORMED_URLS, *endpoints]),
        "AWS_PROFILE": st.one_of(st.just("nosuch"), SAFE_TEXT),
        "AWS_DEFAULT_REGION": st.sampled_from(["us-west-2", "not a region", "x" * 80, "", "-"]),
        "AWS_REGION": st.sampled_from(["eu-west-1", "garbage region", ""]),
    }
    for name, values in choices.items():
        if draw(st.booleans()):
            env[name] = draw(values)
    # Credentials only where the calls go to 127.0.0.1 (or nowhere): never to AWS.
    targets = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--endpoint-url"]
    targets.append(env.get("AWS_ENDPOINT_URL", ""))
    if any(target in endpoints for target in targets) and draw(st.booleans()):
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return env


# --------------------------------------------------------------------------- running one example


@contextlib.contextmanager
def process_environment(env: dict[str, str]) -> Iterator[None]:
    saved = {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    try:
        yield
    finally:
        for key in [key for key in os.environ if key.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(saved)


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Names other than loopback do not resolve (botocore: EndpointConnectionError, at once)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.strip("[]") not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not resolved in this test")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class Counts:
    def __init__(self) -> None:
        self.examples = 0
        self.tracebacks = 0
        self.exit_codes: Counter[str] = Counter()
        self.per_command: Counter[str] = Counter()


def run(argv: list[str], env: dict[str, str], stdin: bytes) -> tuple[str, str, str | None]:
    """(exit code or "cloud", stdout+stderr, the traceback of an exception main let out) of one
    run; AssertionError for an environment that a fresh local cloud would have seen."""
    out = io.StringIO()
    seen: dict[str, str] = {}

    def starts(self: Any) -> None:
        seen.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
        raise CloudStarts

    saved_stdin, saved_start = sys.stdin, LocalCloud.start
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    LocalCloud.start = starts  # type: ignore[method-assign]
    try:
        with (
            process_environment(env),
            loopback_only(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
        ):
            escaped = None
            try:
                code: object = main(argv)
            except SystemExit as exc:
                code = exc.code or 0
            except CloudStarts:
                code = "cloud"
            except Exception:
                code, escaped = "traceback", traceback.format_exc()
    finally:
        sys.stdin, LocalCloud.start = saved_stdin, saved_start  # type: ignore[method-assign]
    if code == "cloud":
        leaked = {k: v for k, v in seen.items() if k not in aws.SEALED_ENVIRONMENT}
        assert not leaked, f"a fresh local cloud would have seen {leaked} for {argv}"
    return str(code), out.getvalue(), escaped


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def served() -> Iterator[LocalEndpoint]:
    with LocalEndpoint(LocalCloud(stack_name="petclinic-ops-dev"), port=0) as endpoint:
        yield endpoint


def check_command(path: str, files: list[str], served_url: str, counts: Counts) -> Callable[[], None]:
    parser = COMMANDS[path]
    codes = {str(code) for code in documented_exit_codes(parser)}
    endpoints = [CLOSED, *([served_url] if path in READ_ONLY else [])]
    fresh = bool(parser.get_default("fresh_cloud"))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: Any) -> None:
        argv = data.draw(arguments(path, files, endpoints), label="argv")
        env = data.draw(environment(argv, endpoints), label="env")
        stdin = data.draw(st.sampled_from([b"", b"\xff\xfe", b'{"a": 1}', b"[" * 5000]), label="stdin")
        code, output, escaped = run(argv, env, stdin)
        counts.examples += 1
        counts.per_command[path] += 1
        counts.exit_codes[code] += 1
        if escaped or "Traceback (most recent call last)" in output:
            counts.tracebacks += 1
        assert escaped is None, f"traceback for {argv} with {env}:\n{escaped}"
        assert "Traceback (most recent call last)" not in output, (argv, output[-3000:])
        if code == "cloud":
            assert fresh, f"{path} started a local cloud but is not marked fresh_cloud"
            return
        assert code in codes, f"{argv} exited {code}, --help documents {sorted(codes)}:\n{output[-2000:]}"

    return check


def test_every_command_with_generated_arguments_files_and_environment(
    served: LocalEndpoint, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    files = make_files(tmp_path_factory.mktemp("cli-files"))
    counts = Counts()
    failures = []
    for path in COMMANDS:
        try:
            check_command(path, files, served.url, counts)()
        except AssertionError as exc:
            failures.append(f"{path}: {exc}")
    with capsys.disabled():
        print(
            f"\nCLI property run: {len(COMMANDS)} commands, {counts.examples} examples "
            f"({EXAMPLES} per command), {counts.tracebacks} tracebacks, {len(failures)} commands failing; "
            f"exit codes seen: {dict(sorted(counts.exit_codes.items()))} ('cloud': stopped where a fresh "
            "local cloud starts, after its validation)"
        )
    assert not failures, "\n\n".join(failures)
