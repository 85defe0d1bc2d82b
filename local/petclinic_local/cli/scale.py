"""`petclinic-ops scale PROFILE [--dry-run]` (AWS: start the scale workflow and follow it) and
`petclinic-ops local scale PROFILE [--dry-run] [--json]` (the same workflow on a fresh local
cloud). Both follow the run in words (scaling.PROGRESS: planning, applying to each target,
waiting for services to be steady...), then print the diff (target, attribute, before, after),
each target's result, the monthly cost change and the result; a rejected run its reason (a
profile's every bad field, one a line) and a run with nothing to change a sentence, no table.
Exit 0 applied (or dry run, or nothing to change), 1 failed or incomplete, 2 rejected (unknown
profile, invalid values: nothing changed)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cli.aws import Target

PROFILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
REJECTIONS = ("InvalidScaleRequest", "UnknownScaleProfile", "InvalidScaleProfile", "ScaleRefused")


def check_profile(profile: str) -> str:
    if not PROFILE.fullmatch(profile):
        raise UsageError(f"bad profile name {profile!r}: lowercase letters, digits and '-', at most 63")
    return profile


def exit_code(report: dict[str, Any]) -> int:
    if report["result"] in ("APPLIED", "DRY_RUN", "NO_CHANGE"):
        return 0
    return 2 if report["result"] == "REJECTED" else 1


def run_local(profile: str, *, dry_run: bool, as_json: bool, time_scale: float = 0.01) -> int:
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415
    from petclinic_local.scaling import scale  # noqa: PLC0415

    check_profile(profile)
    say = None if as_json else _say(render.console())
    with LocalCloud(time_scale=time_scale) as cloud:
        report = scale(cloud, profile, dry_run=dry_run, say=say)
    show(report, as_json=as_json)
    return exit_code(report)


def run_aws(
    profile: str,
    *,
    dry_run: bool,
    target: Target,
    timeout: float,
    poll_seconds: float,
    as_json: bool,
    session: Any = None,
) -> int:
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.scaling import WORKFLOW, progress, run_report  # noqa: PLC0415

    check_profile(profile)
    plane = aws.control_plane(target, session=session)
    request = {"profile": profile, **({"dryRun": True} if dry_run else {})}
    with plane.errors("cannot start the scale workflow"):
        execution_arn = runner.start(plane, WORKFLOW, request, name=f"scale-{profile}")
    out = render.console()
    if not as_json:
        out.print(f"started {execution_arn}")
    with plane.errors("cannot follow the scale workflow"):
        execution = runner.follow(
            plane,
            execution_arn,
            timeout=timeout,
            poll_seconds=poll_seconds,
            on_entered=None if as_json else progress(_say(out)),
        )
    report = run_report(execution)
    show(report, as_json=as_json)
    return exit_code(report)


def _say(out: Any) -> Callable[[str], None]:
    """A progress line as it is: one line however narrow the terminal, no markup."""
    return lambda line: out.print(line, soft_wrap=True, markup=False, highlight=False)


def show(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    render_report(render.console(), report)


def render_report(out: Any, report: dict[str, Any]) -> None:
    """The diff as a table, the per-target results, the cost change, the result (a rich Console).
    A rejected run says why instead of a table, a run with nothing to change says so."""
    if report["result"] == "REJECTED":
        _render_rejection(out, report)
    elif not report["changes"]:
        out.print(f"nothing to change: every target already matches profile {report['profile']}")
    else:
        _render_changes(out, report)
    execution = report["execution"]
    if report["result"] != "REJECTED":
        out.print(f"{render.styled(str(report['result']))} {execution['executionArn']}", soft_wrap=True)
        if execution["status"] != "SUCCEEDED":
            out.print(f"  {execution.get('error')}: {_cause_text(execution.get('cause'))}", soft_wrap=True)
    if "stateTransitions" in report:
        out.print(
            f"[dim]{report['stateTransitions']} state transitions, {report['lambdaInvocations']} Lambda "
            f"invocation(s), {report.get('wallSeconds', '?')} s[/dim]"
        )


def _render_changes(out: Any, report: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415

    mode = "dry run" if report["dryRun"] else "apply"
    table = Table(title=f"Scale to {report['profile']} ({mode})", title_justify="left")
    for column in ("target", "attribute", "before", "after"):
        table.add_column(column)
    for change in report["changes"]:
        table.add_row(change["target"], change["attribute"], str(change["before"]), str(change["after"]))
    render.print_table(out, table)
    for row in report.get("targets", []):  # each target's result, and why when it is not applied
        out.print(f"  {row['target']}: {render.styled(str(row['result']))}{_why(row)}", soft_wrap=True)
    cost = report.get("monthlyCostDelta")
    if cost:
        out.print(
            f"monthly cost change: Fargate {cost['fargate']:+.2f} USD, Aurora {cost['aurora']:+.2f} USD, "
            f"total {cost['total']:+.2f} USD"
        )


_PROFILE_PROBLEMS = re.compile(r"(profile \S+): (.*)", re.DOTALL)


def _render_rejection(out: Any, report: dict[str, Any]) -> None:
    """``REJECTED: nothing changed`` and the reason; a profile's problems one a line."""
    execution = report["execution"]
    out.print(f"{render.styled('REJECTED')}, nothing changed: {execution['executionArn']}", soft_wrap=True)
    cause = _cause_text(execution.get("cause"))
    problems = cause.split("; ")
    found = _PROFILE_PROBLEMS.fullmatch(problems[0])
    if len(problems) > 1 and found:
        out.print(f"  {execution.get('error')}: {found[1]}:", soft_wrap=True)
        for problem in [found[2], *problems[1:]]:
            out.print(f"    {problem}", soft_wrap=True, markup=False, highlight=False)
    else:
        out.print(f"  {execution.get('error')}: {cause}", soft_wrap=True, markup=False, highlight=False)


def _why(row: dict[str, Any]) -> str:
    """`` (NotSteady: 2 of 3 tasks running ...)``: a target's error and reason, unless applied."""
    if row.get("result") in ("APPLIED", "UNCHANGED", "DRY_RUN") or not (
        row.get("reason") or row.get("error")
    ):
        return ""
    return f" ({': '.join(str(part) for part in (row.get('error'), row.get('reason')) if part)})"


# A target's result in a run (scale.asl.json): STEADY and APPLIED took their change; these did not
# (NOT_STEADY keeps its change, but ECS has not reached it).
NOT_APPLIED = ("FAILED", "NOT_STEADY")


def _cause_text(cause: Any) -> str:
    """A failed run's cause in words: its reason, the failed step, or which targets did not
    apply (each named above); never the whole JSON."""
    if not isinstance(cause, dict):
        return str(cause or "")
    if cause.get("reason"):
        return str(cause["reason"])
    failure = cause.get("failure")
    if isinstance(failure, dict) and failure:
        return ": ".join(
            str(failure[key]) for key in ("step", "error", "reason", "cause") if failure.get(key)
        )
    targets = [t for t in cause.get("targets") or [] if isinstance(t, dict)]
    left = [str(t.get("target")) for t in targets if t.get("result") in NOT_APPLIED]
    if targets:
        return f"{len(left)} of {len(targets)} targets not applied: {', '.join(left)} (why: above)"
    return json.dumps(cause)[:300]


# --------------------------------------------------------------------------- the commands

_CODES = (
    "exit codes: 0 applied, dry run or nothing to change, 1 failed or incomplete{timeout}, 2 rejected "
    "(unknown profile, invalid values: nothing changed) or bad input"
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scale_profile", metavar="PROFILE", help="business-hours, night, peak...")
    registry.dry_run(parser, "report the diff and its cost, change nothing")


@registry.command(
    "scale",
    arguments=_arguments,
    help="scale the PetClinic stack to a profile on AWS, followed",
    epilog=_CODES.format(timeout=", or still running at --timeout"),
    json="print the report as JSON",
    follow=registry.Follow(timeout=3600.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _scale(args: argparse.Namespace) -> int:
    return run_aws(
        args.scale_profile,
        dry_run=args.dry_run,
        target=aws.Target.from_args(args),
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )


@registry.command(
    "local scale",
    arguments=_arguments,
    help="the scale workflow on a fresh local cloud",
    epilog=_CODES.format(timeout=""),
    json="print the report as JSON",
    fresh_cloud=True,
)
def _local_scale(args: argparse.Namespace) -> int:
    return run_local(args.scale_profile, dry_run=args.dry_run, as_json=args.json)
