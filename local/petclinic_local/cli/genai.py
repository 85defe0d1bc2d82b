"""The GenAI commands.

    petclinic-ops local ask "QUESTION" [--json]      one chat turn through live, on a fresh local cloud
    petclinic-ops local api [--port N]               the chat API and a chat page on 127.0.0.1
    petclinic-ops local genai release [--json]       a good version promoted, two bad ones rolled back
    petclinic-ops genai release VERSION [--profile]  the release workflow on AWS, followed to the end

Local commands run on stand-ins for Bedrock and the PetClinic services and say so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from petclinic_local.cli import registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cli.aws import Target

EXIT_OK, EXIT_FAILED = 0, 1
WORKFLOW = "GenAiReleaseStateMachine"


def _started_cloud(console: Any, **options: Any) -> Any:
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415 - moto is slow to import

    with console.status(
        "starting the local cloud (deploying template.yaml, PetClinic stand-ins)", spinner="dots"
    ):
        return LocalCloud(**options).__enter__()


# --------------------------------------------------------------------------- local ask


def run_ask(question: str, *, as_json: bool) -> int:
    from petclinic_local import genai  # noqa: PLC0415
    from petclinic_ops.domain.genai.api import ChatInputError, check_message  # noqa: PLC0415
    from petclinic_ops.models.genai import MAX_MESSAGE_CHARS  # noqa: PLC0415

    try:
        check_message(question, MAX_MESSAGE_CHARS)
    except ChatInputError as exc:
        raise UsageError(str(exc).replace("the message", "the question", 1)) from None
    console = render.console()
    cloud = _started_cloud(console)
    try:
        reply = genai.ask(cloud, question)
        alias = genai.live_alias(cloud)
        calls = [call.__dict__ for call in cloud.bedrock.calls]
        http = list(cloud.petclinic_http.requests)
    finally:
        cloud.close()
    report = {
        "question": question,
        **reply,
        "liveVersion": alias["version"],
        "bedrockCalls": calls,
        "petclinicRequests": [f"{method} {path} -> {status}" for method, path, status in http],
        "standIns": genai.stand_ins(cloud),
    }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print_answer(console, report)
    return EXIT_OK if reply["status"] == 200 else EXIT_FAILED


def _print_answer(console: Any, report: dict[str, Any]) -> None:
    from rich.markdown import Markdown  # noqa: PLC0415

    console.print(f"[bold]Q:[/bold] {report['question']}")
    if report["status"] != 200:
        console.print(f"[red]{report['status']}[/red] {report.get('message', '')}")
        return
    console.print(Markdown(report["answer"]))
    route = " -> ".join(f"{render.short(step['model'])} {step['outcome']}" for step in report["route"])
    tools = ", ".join(f"{t['name']} ({'ok' if t['ok'] else 'error'})" for t in report["toolCalls"]) or "none"
    usage = report["usage"]
    console.print(
        f"[dim]model {report['model']} (live = version {report['liveVersion']}); route: {route}; "
        f"tools: {tools}; tokens {usage['inputTokens']} in / {usage['outputTokens']} out[/dim]"
    )
    for name, label in report["standIns"].items():
        console.print(f"[yellow]stand-in[/yellow] {name}: {label}")


# --------------------------------------------------------------------------- local api


def run_api(*, port: int) -> int:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0..65535, not {port}")
    from petclinic_local import genai  # noqa: PLC0415
    from petclinic_local.genai_api import GenAiApiServer  # noqa: PLC0415

    console = render.console()
    cloud = _started_cloud(console)
    try:
        with GenAiApiServer(cloud, port=port) as server:
            console.print(f"chat page:  {server.url}/", soft_wrap=True)
            console.print(
                f"API:        POST {server.url}/api/genai/chatclient | /api/genai/chat", soft_wrap=True
            )
            for name, label in genai.stand_ins(cloud).items():
                console.print(f"stand-in {name}: {label}", soft_wrap=True)
            console.print("Ctrl-C stops it.")
            if sys.__stdout__ is not None:
                sys.__stdout__.flush()
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stopped, exit 0 (as local serve)
                while True:
                    time.sleep(3600)
        return EXIT_OK
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    finally:
        cloud.close()


# --------------------------------------------------------------------------- local genai release


def release_scenarios(genai: Any) -> list[dict[str, Any]]:
    """The versions `local genai release` (and the demo's scene 8) publish and release: the
    change, the environment it sets, the stand-in's faults, the result the workflow must reach."""
    sonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    return [
        {
            "change": "MAX_TOKENS 512 -> 400 (shorter answers)",
            "environment": {"MAX_TOKENS": "400"},
            "faults": [],
            "expect": "SUCCEEDED",
        },
        {
            "change": "chain: a prompt router first (the stand-in throttles it on every call)",
            "environment": {"MODEL_CHAIN": f"{genai.PROMPT_ROUTER},{genai.HAIKU},{genai.TITAN}"},
            "faults": [(genai.PROMPT_ROUTER, "ThrottlingException")],
            "expect": "ROLLED_BACK",
        },
        {
            "change": "chain: Claude 3.5 Sonnet only (the account has no access to it: AccessDenied)",
            "environment": {"MODEL_CHAIN": sonnet},
            "faults": [(sonnet, "AccessDeniedException")],
            "expect": "ROLLED_BACK",
        },
    ]


def publish_scenario(cloud: Any, scenario: dict[str, Any]) -> str:
    """Publish the scenario's version (as ``sam deploy`` does) and script the stand-in's faults."""
    from petclinic_local import genai  # noqa: PLC0415

    version = genai.publish_version(cloud, scenario["environment"], scenario["change"])
    for model, error in scenario["faults"]:
        cloud.bedrock.inject(model, error)
    return version


def release_scenario(console: Any, cloud: Any, scenario: dict[str, Any], version: str) -> dict[str, Any]:
    """Release ``version`` through the genai-release workflow (synthetic users meanwhile): a row
    for ``print_releases``."""
    from petclinic_local import genai  # noqa: PLC0415

    before = genai.live_alias(cloud)["version"]
    with console.status(f"releasing version {version}: {scenario['change']}", spinner="dots"):
        outcome = genai.release(cloud, version)
    return {"version": version, "change": scenario["change"], "liveBefore": before,
            "expected": scenario["expect"], **outcome}  # fmt: skip


def run_local_release(*, as_json: bool, bake_seconds: int = 30) -> int:
    from petclinic_local import genai  # noqa: PLC0415

    console = render.console()
    cloud = _started_cloud(console, parameters={"GenAiBakeSeconds": str(bake_seconds)})
    rows = []
    try:
        for scenario in release_scenarios(genai):
            version = publish_scenario(cloud, scenario)
            rows.append(release_scenario(console, cloud, scenario, version))
        ledger = genai.ledger(cloud)
    finally:
        cloud.close()
    stand_ins = genai.stand_ins(cloud)
    if as_json:
        print(json.dumps({"releases": rows, "ledger": ledger, "standIns": stand_ins}, indent=2, default=str))
    else:
        print_releases(console, rows, stand_ins)
    as_expected = all(row.get("result") == row["expected"] for row in rows)
    return EXIT_OK if as_expected else EXIT_FAILED


def print_releases(console: Any, rows: list[dict[str, Any]], stand_ins: dict[str, str]) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="GenAI releases (genai-release workflow, local cloud)", show_lines=True)
    for column in ("version", "change", "result", "live before -> after", "reason", "traffic"):
        table.add_column(column, overflow="fold")
    for row in rows:
        result = row.get("result", row.get("error", "?"))
        table.add_row(
            row["version"],
            row["change"],
            f"[{'green' if result == 'SUCCEEDED' else 'red'}]{result}[/]",
            f"{row['liveBefore']} -> {row['aliasAfter']['version']}",
            str(row.get("reason", "")),
            f"{row['traffic']['requests']} requests, {row['traffic']['non2xx']} not 2xx",
        )
    render.print_table(console, table)
    for name, label in stand_ins.items():
        console.print(f"[yellow]stand-in[/yellow] {name}: {label}")


# --------------------------------------------------------------------------- genai release (AWS)


def run_release(
    version: str,
    *,
    target: Target,
    timeout: float,
    poll_seconds: float,
    as_json: bool,
    session: Any = None,
) -> int:
    if not version.isdigit() or version.startswith("0"):
        raise UsageError(f"VERSION must be a published version number (1, 2, ...), not {version!r}")
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.cli import aws  # noqa: PLC0415
    from petclinic_local.genai import outcome_of  # noqa: PLC0415

    plane = aws.control_plane(target, session=session)
    runner.state_machine_arn(plane, WORKFLOW)  # before anything: is it the control plane?
    request = {"version": version, "requestedBy": _caller(plane.session)}
    with plane.errors("cannot start the release", usage=True):
        execution_arn = runner.start(plane, WORKFLOW, request, name=f"release-v{version}")
    progress = render.stderr_console() if as_json else render.console()
    progress.print(f"releasing version {version}: {execution_arn}", soft_wrap=True)
    steps = ReleaseProgress(version, progress.print)
    with plane.errors("cannot follow the release"):
        execution = runner.follow(
            plane, execution_arn, timeout=timeout, poll_seconds=poll_seconds, on_state=steps.entered
        )
    outcome = {**outcome_of(execution), "executionArn": execution_arn}
    if as_json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        for line in release_lines(outcome):
            progress.print(line, soft_wrap=True)
    if outcome.get("error") in {"InvalidReleaseRequest", "UnknownVersion"}:
        return 2
    return EXIT_OK if outcome["status"] == "SUCCEEDED" else EXIT_FAILED


# What each state of genai-release.asl.json means to the operator following it (states not
# listed, the Choices and the ending's bookkeeping, print nothing).
RELEASE_STEPS = {
    "DescribeVersion": "checking that version {version} exists",
    "GetLiveAlias": "reading what live serves now",
    "AlreadyLive": "version {version} already serves all of live: nothing to do",
    "AcquireLease": "taking the release lease (one release at a time)",
    "TakeOverLease": "taking over the lease of a release that no longer runs",
    "CreateAlarms": "creating version {version}'s alarms (errors, p99 latency, 5xx, model fallback rate)",
    "SmokeTest": "smoke test: a scripted conversation with version {version} (no live traffic)",
    "SmokeTestFailed": "the smoke test failed: rolling back",
    "ShiftTraffic": "shifting the next share of live to version {version} (step {shift})",
    "Bake": "baking: watching the alarms at this share",
    "Promote": "promoting: version {version} takes all of live",
    "RollBack": "rolling back: all of live to the previous version",
    "Cleanup": "deleting the release's alarms",
    "RecordResult": "recording the result in the ledger (history genai)",
}


# The release's errors before it touches anything (its Fail states before AcquireLease).
CHANGED_NOTHING = frozenset({"InvalidReleaseRequest", "UnknownVersion", "ReleaseInProgress"})


class ReleaseProgress:
    """``runner.follow``'s on_state for a release: a line per step, in the operator's words."""

    def __init__(self, version: str, say: Any) -> None:
        self.version, self.say, self.shifts = version, say, 0

    def entered(self, state: str, at: Any) -> None:
        if state == "ShiftTraffic":
            self.shifts += 1
        text = RELEASE_STEPS.get(state)
        if text:
            self.say(f"  {at:%H:%M:%S}  {text.format(version=self.version, shift=self.shifts)}")


def release_lines(outcome: dict[str, Any]) -> list[str]:
    """The result and its reason, then what live serves: the version the workflow reports, never
    a placeholder (a release that failed before reading live changed nothing there)."""
    reason = outcome.get("reason") or outcome.get("cause") or outcome.get("error") or ""
    lines = [f"{outcome.get('result') or outcome['status']}: {reason}".rstrip(": ")]
    live, arn = outcome.get("liveVersion"), outcome["executionArn"]
    if live:
        lines.append(f"live: version {live}; execution {arn}")
    elif outcome.get("error") in CHANGED_NOTHING:
        lines.append(f"live: unchanged (the release ended before any traffic moved); execution {arn}")
    else:  # stopped or timed out: no account of its own (the next release takes its lease over)
        lines.append(f"live: not reported (the execution is {outcome['status']}); execution {arn}")
    return lines


def _caller(session: Any) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except Exception:
        return "petclinic-ops genai release"


# --------------------------------------------------------------------------- the commands

registry.group("genai", "the GenAI function on AWS")
registry.group("local genai", "the GenAI function's release workflow on the local cloud")


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", help='e.g. "Which vets are radiologists?"')


@registry.command(
    "local ask",
    arguments=_ask_arguments,
    help="ask the GenAI function one question through its live alias (Bedrock, PetClinic: stand-ins)",
    epilog="exit codes: 0 answered, 1 the function answered an error (503...), 2 bad input (an empty "
    "or too long question)",
    json="the answer, model, route, tool calls and usage as JSON",
    fresh_cloud=True,
)
def _ask(args: argparse.Namespace) -> int:
    return run_ask(args.question, as_json=args.json)


def _api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0: any free one)"
    )


@registry.command(
    "local api",
    arguments=_api_arguments,
    help="serve the GenAI chat API and a chat page on 127.0.0.1 until Ctrl-C",
    epilog="exit codes: 0 stopped (Ctrl-C), 2 cannot serve (bad or taken port)",
    fresh_cloud=True,
)
def _api(args: argparse.Namespace) -> int:
    return run_api(port=args.port)


@registry.command(
    "local genai release",
    help="publish three versions and release each: one promoted, two rolled back (alarm, smoke test)",
    epilog="exit codes: 0 each release ended as expected (promoted, rolled back, rolled back), 1 one "
    "did not, 2 bad input",
    json="print the releases and the ledger as JSON",
    fresh_cloud=True,
)
def _local_release(args: argparse.Namespace) -> int:
    return run_local_release(as_json=args.json)


def _release_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "version", help="the published version number (sam deploy prints it; `candidate` points at it)"
    )


@registry.command(
    "genai release",
    arguments=_release_arguments,
    help="release a published version of the GenAI function (smoke test, canary, alarms, rollback)",
    description='Starts the genai-release workflow with {"version": VERSION} and follows it.',
    epilog="exit codes: 0 the version takes all of live, 1 rolled back or failed (live is on the "
    "previous version unless the output says the rollback failed), or still running at --timeout, "
    "2 bad input (unknown version, stack not found, no credentials: nothing changed)",
    json="print the outcome as JSON",
    follow=registry.Follow(timeout=7200.0, poll_seconds=10.0),
    aws=registry.Aws(),
)
def _release(args: argparse.Namespace) -> int:
    from petclinic_local.cli import aws  # noqa: PLC0415

    return run_release(
        args.version,
        target=aws.Target.from_args(args),
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )
