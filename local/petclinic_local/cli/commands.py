"""The operator's commands (issue: what people reach for at 3 a.m.): their arguments and their
dispatch, kept apart from main.py's older commands.

    status [SERVICE]                        what runs, the lease, the last deployment
    history SERVICE [--limit N]             the ledger, newest first
    rollback SERVICE [--to REV | --steps N] an earlier image, through the deploy workflow
    diff SERVICE IMAGE                      the task definition a deploy would register
    executions [--workflow W] [--status S]  recent executions of the control plane's workflows
    local invoke FUNCTION --event FILE      sam local invoke without Docker
    local serve [--port P]                  the local cloud behind an HTTP endpoint
    local push SERVICE TAG                  an image into the served ECR, with its push event
    completion bash|zsh                     shell completion
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from petclinic_local.cli import aws
from petclinic_local.cli.completion import script as completion_script
from petclinic_local.errors import UsageError

CommandFailed = aws.AwsFailure

FOLLOW_EXIT_CODES = (
    "exit codes: 0 the image is live, 1 the deployment failed (rolled back) or was still running at "
    "--timeout, 2 bad input (unknown service, nothing to roll back to, stack not found, no credentials: "
    "nothing started), 3 queued behind or superseded by another execution"
)
READ_EXIT_CODES = (
    "exit codes: 0 shown, 1 an AWS call failed, 2 bad input or configuration (unknown service, stack "
    "not found, no credentials)"
)


if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def _command(
    commands: Commands, name: str, summary: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_aws_commands(commands: Commands) -> None:
    status = _command(
        commands,
        "status",
        "per service: revision, image, rollout, tasks, the deploy lease and the last deployment",
        "What runs now, per service (or one): task definition revision, image tag and digest, the PRIMARY "
        "deployment's rollout state, desired/running/pending tasks, the execution holding the deploy "
        "lease (and what is in flight and queued behind it), the last ledger row.",
        READ_EXIT_CODES,
    )
    status.add_argument("service", nargs="?", help="one service (default: every service the stack manages)")
    _common(status)

    history = _command(
        commands,
        "history",
        "a service's deployments from the ledger, newest first",
        "The deploy ledger of SERVICE, newest first: who or what started each deployment, tag, digest, "
        "task definition revisions before and after, result, reason, duration, execution.",
        READ_EXIT_CODES,
    )
    history.add_argument("service")
    history.add_argument("--limit", type=_positive, default=20, help="rows to show (default 20)")
    _common(history)

    rollback = _command(
        commands,
        "rollback",
        "deploy an earlier successful image again, through the deploy workflow, and follow it",
        "Deploys the image (by digest) of an earlier SUCCEEDED deployment of SERVICE through the deploy "
        "workflow (lease, ledger and notifications hold) and follows it like `deploy`. Default: the "
        "previous image (--steps 1); --to REVISION: the image of that task definition revision.",
        FOLLOW_EXIT_CODES,
    )
    rollback.add_argument("service")
    which = rollback.add_mutually_exclusive_group()
    which.add_argument(
        "--to", type=_positive, metavar="REVISION", help="the task definition revision to go back to"
    )
    which.add_argument("--steps", type=_positive, metavar="N", help="the N-th earlier image (default 1)")
    rollback.add_argument("--reason", help="recorded in the ledger (default: rollback to TAG (family:REV))")
    aws.add_follow_arguments(rollback, timeout=7200.0, poll_seconds=5.0)
    _common(rollback)

    diff = _command(
        commands,
        "diff",
        "the task definition a deploy of IMAGE would register, against the running one (changes nothing)",
        "Computes the task definition the deploy workflow would register for IMAGE (tag or sha256 digest) "
        "with the workflow's own rewrite (statemachines/deploy.asl.json, RegisterTaskDefinition) and shows "
        "it against the running revision as a unified diff. Reads only.",
        READ_EXIT_CODES + "; image not found: 2",
    )
    diff.add_argument("service")
    diff.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")
    _common(diff)

    executions = _command(
        commands,
        "executions",
        "recent executions of the control plane's workflows with their results and reasons",
        "Executions of every Standard workflow the stack outputs (deploy, rotation-rollout...), newest "
        "first, with the workflow's result (SUCCEEDED, COALESCED, FAILED...) and reason.",
        READ_EXIT_CODES + "; unknown workflow: 2",
    )
    executions.add_argument("--workflow", metavar="W", help="deploy, rotation-rollout... (a name or ARN)")
    executions.add_argument("--status", choices=("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"))
    executions.add_argument("--limit", type=_positive, default=20, help="executions to show (default 20)")
    _common(executions)

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description="Prints a completion script: `source <(petclinic-ops completion bash)` (in ~/.bashrc), "
        "or for zsh `source <(petclinic-ops completion zsh)` (in ~/.zshrc).",
        epilog="exit codes: 0 printed, 2 bad input (a shell other than bash or zsh)",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))


def add_local_commands(local: Commands) -> None:
    invoke = _command(
        local,
        "invoke",
        "run a function of template.yaml with an event, without Docker (sam local invoke)",
        "Runs FUNCTION (its logical id in template.yaml) in-process with its CodeUri, layers, handler, and "
        "Environment (Globals merged) from the template, against a fresh local cloud (or --endpoint-url: "
        "a `local serve` endpoint). The result is printed as JSON on stdout, the logs on stderr.",
        "exit codes: 0 the handler returned, 1 it raised (the error payload is printed, and the error type "
        "and message on stderr), 2 bad input (unknown function, unreadable event, --env-vars or --template "
        "file)",
    )
    aws.fresh_cloud(invoke)  # without --endpoint-url
    invoke.add_argument("function", help="logical id, e.g. ResolveDeployFunction")
    invoke.add_argument("--event", "-e", required=True, metavar="FILE", help="the event (JSON; - for stdin)")
    invoke.add_argument(
        "--env-vars",
        "-n",
        metavar="FILE",
        help='SAM\'s env vars JSON: {"Parameters": {...}, "<LogicalId>": {...}}',
    )
    invoke.add_argument(
        "--template",
        "-t",
        type=Path,
        default=None,
        metavar="FILE",
        help="default: the project's template.yaml",
    )
    _common(invoke, json_flag=False)

    serve = _command(
        local,
        "serve",
        "the local cloud behind an HTTP endpoint on 127.0.0.1 for the AWS CLI and any SDK, until Ctrl-C",
        "Deploys the control plane (template.yaml) into a local cloud, seeds PetClinic, and serves every "
        "AWS API it has on http://127.0.0.1:PORT (moto's server in this process, with the local cloud's "
        "functions, ECS rollout simulator and EventBridge delivery). Use it with --endpoint-url.",
        "exit codes: 0 stopped (Ctrl-C or SIGTERM), 2 cannot serve (port taken) or bad input",
    )
    aws.fresh_cloud(serve)
    serve.add_argument(
        "--port", type=int, default=5000, help="TCP port on 127.0.0.1 (default 5000; 0: any free port)"
    )
    serve.add_argument(
        "--stack",
        default=aws.DEFAULT_STACK,
        help=f"the control plane's stack name (default {aws.DEFAULT_STACK}, as on AWS)",
    )
    serve.add_argument(
        "--time-scale",
        type=aws.positive,
        default=0.01,
        help="real seconds per simulated second (default 0.01)",
    )
    serve.add_argument(
        "--rollout-seconds", type=aws.seconds, default=90.0, help="simulated ECS rollout time (default 90)"
    )
    serve.add_argument(
        "--mysql",
        default="mysql://root@127.0.0.1:3306",
        metavar="URL",
        help="MySQL/MariaDB for rotations, when reachable (default mysql://root@127.0.0.1:3306)",
    )
    serve.add_argument("--no-mysql", action="store_true", help="do not look for a database")

    push = _command(
        local,
        "push",
        "put an image into a served local cloud's ECR and send ECR's push event (as `docker push` would)",
        "Puts an image manifest tagged TAG into SERVICE's repository at --endpoint-url and puts ECR's "
        "'ECR Image Action' PUSH event on its default bus, which deploys it.",
        "exit codes: 0 pushed, 1 an AWS call failed, 2 bad input (unknown service, bad tag, no endpoint)",
    )
    push.add_argument("service")
    push.add_argument("tag")
    push.add_argument("--no-event", action="store_true", help="the image only, no push event")
    _common(push)


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")
    aws.add_arguments(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


@contextlib.contextmanager
def one_line_aws_errors() -> Iterator[None]:
    """Any AWS error a command did not handle, as one line (never a traceback)."""
    with aws.aws_errors(None, "AWS error"):
        yield


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    """Run one of this module's commands; None for the others."""
    if args.command == "completion":
        print(completion_script(parser, args.shell), end="")
        return 0
    if args.command == "local":
        return _local(args)
    runner = _AWS_COMMANDS.get(args.command)
    return runner(args) if runner else None


def _local(args: argparse.Namespace) -> int | None:
    if args.local_command == "invoke":
        from petclinic_local.cli import invoke  # noqa: PLC0415

        return invoke.run(
            args.function,
            args.event,
            env_vars=args.env_vars,
            target=aws.Target.from_args(args),
            **({"template": args.template} if args.template else {}),
        )
    if args.local_command == "serve":
        from petclinic_local.cli import local_serve  # noqa: PLC0415

        return local_serve.serve(
            port=args.port,
            time_scale=args.time_scale,
            rollout_seconds=args.rollout_seconds,
            mysql_url=None if args.no_mysql else args.mysql,
            stack=args.stack,
        )
    if args.local_command == "push":
        from petclinic_local.cli import local_serve  # noqa: PLC0415

        return local_serve.push(
            aws.Target.from_args(args),
            args.service,
            args.tag,
            send_event=not args.no_event,
            as_json=args.json,
        )
    return None


def _status(args: argparse.Namespace) -> int:
    from petclinic_local.cli import status  # noqa: PLC0415

    return status.run(aws.Target.from_args(args), args.service, as_json=args.json)


def _history(args: argparse.Namespace) -> int:
    from petclinic_local.cli import history  # noqa: PLC0415

    return history.run(aws.Target.from_args(args), args.service, limit=args.limit, as_json=args.json)


def _rollback(args: argparse.Namespace) -> int:
    from petclinic_local.cli import rollback  # noqa: PLC0415

    return rollback.run(
        aws.Target.from_args(args),
        args.service,
        to=args.to,
        steps=args.steps,
        reason=args.reason,
        as_json=args.json,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )


def _diff(args: argparse.Namespace) -> int:
    from petclinic_local.cli import diff  # noqa: PLC0415

    return diff.run(aws.Target.from_args(args), args.service, args.image, as_json=args.json)


def _executions(args: argparse.Namespace) -> int:
    from petclinic_local.cli import executions  # noqa: PLC0415

    return executions.run(
        aws.Target.from_args(args),
        workflow=args.workflow,
        status=args.status,
        limit=args.limit,
        as_json=args.json,
    )


_AWS_COMMANDS = {
    "status": _status,
    "history": _history,
    "rollback": _rollback,
    "diff": _diff,
    "executions": _executions,
}

__all__ = [
    "CommandFailed",
    "UsageError",
    "add_aws_commands",
    "add_local_commands",
    "dispatch",
    "one_line_aws_errors",
]
