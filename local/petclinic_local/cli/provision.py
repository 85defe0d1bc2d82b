"""`petclinic-ops provision | teardown | drift` on AWS and `petclinic-ops local provision |
teardown | drift` on the local cloud: the provision workflow, started and followed to the end.

On AWS, `provision` first uploads infra/*.yaml to the control plane's artifact bucket under
content-addressed keys (templates/<sha256>.yaml) and records them in
/petclinic/{env}/provision/templates, where the workflow reads them. A parameter not given keeps
the stack's current value; the report shows each parameter change (before -> after) beside the
resource changes, and the protected changes: a change that replaces or deletes Aurora, a secret, a
KMS key, an ECR repository or a log group, or turns DeletionProtection off, is refused in prod
without --force (the run fails naming the resources, nothing changed) and flagged in dev. Exit
codes: 0 succeeded, 1 the run failed (the stack, resource and reason are printed), 2 bad input
(nothing started).

Needs on AWS: cloudformation:DescribeStacks on the control plane stack, s3:PutObject on its
artifact bucket (templates/*), ssm:PutParameter on /petclinic/{env}/provision/templates,
states:StartExecution on the provision workflow, states:DescribeExecution and
states:GetExecutionHistory on its executions.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from petclinic_local.cli.aws import Target

PROJECT_ROOT = Path(__file__).resolve().parents[3]
STACKS = ("network", "data", "services", "edge")


# --------------------------------------------------------------------------- the request


def parse_parameters(pairs: Sequence[str]) -> dict[str, dict[str, str]]:
    """--parameter services.CustomersDesiredCount=3 (repeatable) -> {"services": {...}}."""
    parameters: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        stack, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise UsageError(
                f"--parameter {pair!r}: expected STACK.NAME=VALUE, e.g. services.CustomersDesiredCount=3"
            )
        if stack not in STACKS:
            raise UsageError(
                f"--parameter {pair!r}: unknown stack {stack!r}; the stacks are {', '.join(STACKS)}"
            )
        parameters.setdefault(stack, {})[name] = value
    return parameters


def build_request(
    *,
    environment: str,
    action: str = "provision",
    stacks: Sequence[str] = (),
    plan: bool = False,
    parameters: Sequence[str] = (),
    force: bool = False,
    discard_data: bool = False,
) -> dict[str, Any]:
    if environment not in {"dev", "prod"}:
        raise UsageError(f"--env {environment!r}: dev or prod")
    unknown = sorted(set(stacks) - set(STACKS))
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: unknown; the stacks are {', '.join(STACKS)}")
    if action == "teardown" and environment == "prod" and not force:
        raise UsageError("refusing to tear down prod without --force (the workflow refuses it too)")
    request: dict[str, Any] = {"environment": environment}
    if action != "provision":
        request["action"] = action
    if stacks:
        request["stacks"] = list(stacks)
    if plan:
        request["plan"] = True
    if parameters:
        request["parameters"] = parse_parameters(parameters)
    if force:
        request["force"] = True
    if discard_data:
        request["keepData"] = False
    return request


# --------------------------------------------------------------------------- AWS


def run_aws(
    request: dict[str, Any],
    *,
    target: Target,
    timeout: float,
    poll_seconds: float,
    as_json: bool,
    root: Path = PROJECT_ROOT,
    session: Any = None,
) -> int:
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.cli.deploy import follow  # noqa: PLC0415
    from petclinic_local.petclinic.stacks import upload_templates  # noqa: PLC0415
    from petclinic_local.provisioning import WORKFLOW, run_name, run_report  # noqa: PLC0415

    plane = aws.control_plane(target, session=session)
    runner.state_machine_arn(plane, WORKFLOW)  # before anything: is it the control plane?
    out = render.console()
    if request.get("action", "provision") == "provision":
        with plane.errors("cannot upload the templates"):
            urls = upload_templates(
                s3=plane.client("s3"),
                ssm=plane.client("ssm"),
                bucket=plane.output("ArtifactBucketName"),
                environment=request["environment"],
                root=root,
                region=plane.session.region_name,
            )
        if not as_json:
            for name, url in urls.items():
                out.print(f"template {name}: {url}")
    with plane.errors("cannot start the provision workflow"):
        execution_arn = runner.start(plane, WORKFLOW, request, name=run_name(request))
    if not as_json:
        out.print(f"started {execution_arn}")
    say = (lambda _: None) if as_json else out.print
    with plane.errors("cannot follow the provision workflow"):
        execution = follow(plane, execution_arn, timeout=timeout, poll_seconds=poll_seconds, say=say)
    report = run_report(execution)
    show(report, as_json=as_json)
    return 0 if execution["status"] == "SUCCEEDED" else 1


def _aws_report(described: dict[str, Any]) -> dict[str, Any]:
    """The report of a DescribeExecution answer (provisioning.run_report)."""
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.provisioning import run_report  # noqa: PLC0415

    return run_report(runner.record(described))


# --------------------------------------------------------------------------- the local cloud


def run_local(request: dict[str, Any], *, as_json: bool, time_scale: float = 0.01) -> int:
    """A fresh local cloud: without the PetClinic stack for `provision` (the workflow makes it),
    with it for `teardown` and `drift`; then the workflow, and the report."""
    from petclinic_local import provisioning  # noqa: PLC0415
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415

    from_nothing = request.get("action", "provision") == "provision"
    env = request["environment"]
    seed = PetClinicSeed(
        environment=env,
        cluster=f"petclinic-{env}",
        database_secret=f"petclinic/{env}/aurora/app",
        master_secret=f"petclinic/{env}/aurora/master",
        provisioned=not from_nothing,
    )
    parameters = {"EnvironmentName": env, "ClusterName": f"petclinic-{env}"}
    with LocalCloud(time_scale=time_scale, seed=seed, parameters=parameters) as cloud:
        report = provisioning.provision(cloud, request)
        if from_nothing and not request.get("plan") and report["execution"]["status"] == "SUCCEEDED":
            provisioning.adopt(cloud, request["environment"])
            report["services"] = cloud.services()
    show(report, as_json=as_json)
    return 0 if report["execution"]["status"] == "SUCCEEDED" else 1


# --------------------------------------------------------------------------- output


def show(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    out = render.console()
    render_report(out, report)


def render_report(out: Console, report: dict[str, Any]) -> None:
    render.print_table(out, _stacks_table(report))
    for stack in report["stacks"]:
        _plan_details(out, stack)
        if stack.get("drift"):
            _drift(out, stack["name"], stack["drift"])
    execution = report["execution"]
    out.print(f"{render.styled(execution['status'])} {execution['executionArn']}")
    if execution["status"] != "SUCCEEDED":
        out.print(f"  {execution.get('error')}: {_failure(execution.get('cause'))}")
    if report.get("parameters"):
        out.print("Parameter Store: " + ", ".join(report["parameters"]))
    _not_emulated(out, report.get("notEmulated", []))
    if "transitions" in report:
        out.print(
            f"[dim]{report['transitions']} state transitions, {report['lambdaInvocations']} Lambda "
            f"invocations, {report.get('wallSeconds', '?')} s[/dim]"
        )


def _stacks_table(report: dict[str, Any]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"Stacks ({report.get('action') or 'provision'})", title_justify="left")
    for column in ("stack", "status", "action", "added", "modified", "removed", "parameters", "resources"):
        table.add_column(column)
    for stack in report["stacks"]:
        action = str(stack.get("action"))
        table.add_row(
            stack["name"],
            render.styled(str(stack.get("status"))),
            f"{action} (parameters only)" if stack.get("parametersOnly") else action,
            str(stack["added"]),
            str(stack["modified"]),
            str(stack["removed"]),
            str(len(stack.get("parameterChanges", []))),
            str(len(stack.get("resources", []))),
        )
    return table


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def _plan_details(out: Console, stack: dict[str, Any]) -> None:
    """Each parameter change (before -> after, who set it; NoEcho values arrive masked), and the
    protected changes (refused in prod without --force, flagged in dev)."""
    changes = stack.get("parameterChanges") or []
    if changes:
        only = (
            " (only parameters change: no resource is added or removed)"
            if stack.get("parametersOnly")
            else ""
        )
        out.print(f"parameters {stack['name']}{only}:")
    for change in changes:
        out.print(
            f"  {change['name']}: {_shown(change.get('before'))} -> {_shown(change.get('after'))} "
            f"({change.get('source')})"
        )
    for change in stack.get("changes") or []:
        if change.get("action") == "Modify" and change.get("replacement") in {"True", "Conditional"}:
            by = ", ".join(change.get("replacedBy") or []) or "?"
            out.print(
                f"  replaces {change['logicalId']} ({change['type']}): {change['replacement']}, by {by}"
            )
    protected = stack.get("protected") or []
    if protected:
        out.print(
            f"[bold]protected {stack['name']}[/bold] (refused in prod without --force; flagged in dev):"
        )
    for row in protected:
        out.print(f"  {row['change']} {row['logicalId']} ({row['type']})")


def _drift(out: Console, name: str, drift: dict[str, Any]) -> None:
    out.print(f"drift {name}: {drift['status']}")
    for row in drift.get("drifted", []):
        out.print(f"  drifted {row['logicalId']} ({row['type']}): {row['status']} {row.get('properties')}")
    for row in drift.get("owned", []):
        out.print(f"  owned by another workflow {row['logicalId']}: {row.get('properties')}")


def _failure(cause: Any) -> str:
    if not isinstance(cause, dict):
        return str(cause)
    return (
        f"stack {cause.get('stack')}, resource {cause.get('resource')} ({cause.get('resourceType')}): "
        f"{cause.get('reason')}; stack status {cause.get('stackStatus')}; "
        f"not run: {', '.join(cause.get('notRun') or []) or 'none'}"
    )


def _not_emulated(out: Console, rows: list[dict[str, Any]]) -> None:
    missing = [row for row in rows if not row.get("created")]
    partial = sorted({(row["type"], row["reason"]) for row in rows if row.get("created")})
    if missing:
        out.print("[bold]not emulated locally (not created):[/bold]")
        for row in missing:
            out.print(f"  {row['stack']} {row['logicalId']} {row['type']}: {row['reason']}")
    if partial:
        count = sum(1 for row in rows if row.get("created"))
        out.print(f"[dim]created at the API level only ({count} resources):[/dim]")
        for kind, reason in partial:
            out.print(f"[dim]  {kind}: {reason}[/dim]")


# --------------------------------------------------------------------------- the commands

_HELPS = {
    "provision": "create or update the PetClinic stacks (network, data, services, edge), change sets",
    "teardown": "delete the PetClinic stacks in reverse order (prod only with --force; data kept)",
    "drift": "report the resources that drifted from their templates",
}
_AWS_CODES = (
    "exit codes: 0 the run succeeded, 1 it failed (stack, resource, reason printed) or was still "
    "running at --timeout, 2 bad input (stack not found, no credentials: nothing started)"
)
_LOCAL_CODES = "exit codes: 0 the run succeeded, 1 it failed (stack, resource, reason printed), 2 bad input"


def _arguments(action: str, *, local: bool) -> registry.Arguments:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--env", default="dev", choices=("dev", "prod"), help="environment (default dev)")
        parser.add_argument(
            "--only",
            dest="stacks",
            action="append",
            default=[],
            choices=STACKS,
            metavar="STACK",
            help=f"only this PetClinic stack: {', '.join(STACKS)} (repeatable; default all, in dependency "
            "order)",
        )
        if action == "provision":
            registry.dry_run(parser, "report the changes per stack (the plan), change nothing")
            parser.add_argument(
                "--parameter",
                dest="parameters",
                action="append",
                default=[],
                metavar="STACK.NAME=VALUE",
                help="a template parameter, e.g. edge.GenAiFunctionArn=arn:... (repeatable); a parameter "
                "not given keeps the stack's current value",
            )
            parser.add_argument(
                "--force",
                action="store_true",
                help="prod: allow a change that replaces or deletes Aurora, a secret, a KMS key, an ECR "
                "repository or a log group, or turns DeletionProtection off (refused without it)",
            )
        if action == "teardown":
            parser.add_argument("--force", action="store_true", help="needed for prod")
            parser.add_argument(
                "--discard-data",
                action="store_true",
                help="also delete the retained database secrets (Aurora's final snapshot stays)",
            )
        if local:  # --stack was the PetClinic stack here; everywhere else it is the control plane's
            parser.add_argument(
                "--stack",
                dest="stacks",
                choices=STACKS,
                action=aws.DeprecatedAlias,
                instead="--only",
                append=True,
            )
        else:
            parser.add_argument(
                "--control-plane", dest="stack", action=aws.DeprecatedAlias, instead="--stack"
            )

    return arguments


def _run(args: argparse.Namespace, action: str, *, local: bool) -> int:
    request = build_request(
        environment=args.env,
        action=action,
        stacks=args.stacks,
        plan=getattr(args, "dry_run", False),
        parameters=getattr(args, "parameters", []),
        force=getattr(args, "force", False),
        discard_data=getattr(args, "discard_data", False),
    )
    if local:
        return run_local(request, as_json=args.json)
    return run_aws(
        request,
        target=aws.Target.from_args(args, default_stack=f"petclinic-ops-{args.env}"),
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )


def _register(action: str) -> None:
    def on_aws(args: argparse.Namespace) -> int:
        return _run(args, action, local=False)

    def on_local(args: argparse.Namespace) -> int:
        return _run(args, action, local=True)

    registry.command(
        action,
        arguments=_arguments(action, local=False),
        help=f"{_HELPS[action]}, on AWS",
        epilog=_AWS_CODES,
        json="print the report as JSON",
        follow=registry.Follow(timeout=7200.0, poll_seconds=10.0),
        aws=registry.Aws(stack_default=None),
    )(on_aws)
    registry.command(
        f"local {action}",
        arguments=_arguments(action, local=True),
        help=f"{_HELPS[action]}, on a fresh local cloud",
        epilog=_LOCAL_CODES,
        json="print the report as JSON",
        fresh_cloud=True,
    )(on_local)


for _action in _HELPS:
    _register(_action)
