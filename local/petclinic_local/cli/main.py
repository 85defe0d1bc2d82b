"""`petclinic-ops`: the operator's command line.

    petclinic-ops demo                                   narrated scenario on the local cloud
    petclinic-ops local run --event FILE [...] [--json]  events through the local cloud, then a report
    petclinic-ops local rotate [--strategy S] [--json]  rotate real MariaDB credentials, roll out, report
    petclinic-ops local rotate --fail-at STEP --recover  a rotation fails, `rotation cancel`, rotate again
    petclinic-ops deploy SERVICE IMAGE [--profile P]     a manual deployment on AWS, followed to the end
    petclinic-ops rotation cancel SECRET [--profile P]   clear the AWSPENDING a failed rotation left
    petclinic-ops status|history|rollback|diff|executions  what runs, what ran, take a service back
    petclinic-ops local invoke|serve|push               sam local invoke without Docker; the local
                                                         cloud as an endpoint; an image into its ECR
    petclinic-ops completion bash|zsh                    shell completion
    petclinic-ops local ask "QUESTION" [--json]          one chat turn with the GenAI function (stand-ins)
    petclinic-ops local api [--port N]                   the GenAI chat API and a chat page on 127.0.0.1
    petclinic-ops local genai release [--json]           a good version promoted, bad ones rolled back
    petclinic-ops genai release VERSION [--profile P]    release a published GenAI version on AWS

    petclinic-ops provision [--env E] [--plan] [--stack S] [--parameter STACK.NAME=V] [--force]
                                                         the PetClinic stacks on AWS, through change sets
    petclinic-ops teardown --env E [--force] [--discard-data] | drift --env E   the same workflow
    petclinic-ops local provision [--plan] [--json] | local teardown | local drift   on the local cloud
    petclinic-ops scale PROFILE [--dry-run] [--json]     scale the stack to a profile on AWS, followed
    petclinic-ops local scale PROFILE [--dry-run] [--json]  the scale workflow on the local cloud


Exit codes: 0 done (for `deploy`/`rollback`: the image is live), 1 the deployment failed or an AWS
call failed (`rotation cancel`: refused, nothing changed; `local invoke`: the handler raised;
`provision`/`teardown`/`drift`/`scale`: the run failed), 2 bad input or configuration (nothing was
started: unknown service, stack not found, no credentials...), 3 `deploy`/`rollback` queued or
superseded (another execution deploys).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from petclinic_local.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_DEPLOYED = 0, 1, 2, 3
EXIT_CODES_HELP = (
    "exit codes: 0 done (deploy/rollback: the image is live), 1 failed (deployment failed, AWS call "
    "failed, handler raised), 2 bad input or configuration (unknown service, stack not found, no "
    "credentials: nothing started), 3 deploy/rollback queued or superseded by another execution"
)
PROVISION_ACTIONS = ("provision", "teardown", "drift")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petclinic-ops",
        description="Operations control plane of the Spring PetClinic stack on AWS.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="narrated scenarios on the embedded local cloud")
    demo.add_argument("--fast", action="store_true", help="shorter simulated rollouts")

    local = commands.add_parser("local", help="the Docker-free local cloud").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    run = local.add_parser(
        "run",
        help="put EventBridge events on a fresh local cloud, wait for every execution, report",
        description="A fresh local cloud (control plane deployed from template.yaml, PetClinic seeded); "
        "the events go on the default bus in order without waiting in between, as a burst arrives on AWS. "
        "An ECR push event also lands its image in the local ECR, as the push it reports would have.",
    )
    run.add_argument(
        "--event",
        dest="events",
        action="append",
        required=True,
        metavar="FILE",
        help="an EventBridge envelope (as `sam local invoke -e` takes); repeat for more",
    )
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument(
        "--fail-digest",
        action="append",
        default=[],
        metavar="DIGEST",
        help="the rollout of this image digest fails (repeatable)",
    )
    run.add_argument(
        "--rollout-seconds", type=float, default=90.0, help="simulated rollout time (default 90)"
    )
    run.add_argument(
        "--time-scale", type=float, default=0.01, help="real seconds per simulated second (default 0.01)"
    )
    rotate = local.add_parser(
        "rotate",
        help="rotate real MySQL/MariaDB credentials through the local cloud, roll out, report logins",
        description="Creates an application database, user and superuser on the server, and their secrets; "
        "rotates through Secrets Manager (the rotation function's four steps run in-process against the "
        "server); the rollout workflow redeploys the services that read the secret; reports which "
        "versions' credentials log in now. Drops what it created unless --keep.",
    )
    rotate.add_argument("--strategy", choices=("alternating", "single"), default="alternating")
    rotate.add_argument(
        "--mysql",
        default="mysql://root@127.0.0.1:3306",
        metavar="URL",
        help="server to use, as mysql://user[:password]@host[:port] (default mysql://root@127.0.0.1:3306)",
    )
    rotate.add_argument("--json", action="store_true", help="print the report as JSON")
    rotate.add_argument("--keep", action="store_true", help="keep the database and users afterwards")
    rotate.add_argument(
        "--fail-at",
        choices=("setSecret", "testSecret"),
        help="make the rotation fail at this step (setSecret: the account it logs in with is locked; "
        "testSecret: the application user cannot use its database); AWSPENDING stays behind",
    )
    rotate.add_argument(
        "--recover",
        action="store_true",
        help="with --fail-at: then repair the cause, run `rotation cancel` and rotate again (the runbook's "
        "'A rotation failed' on one local cloud)",
    )

    from petclinic_local.cli import commands as operator_commands  # noqa: PLC0415

    operator_commands.add_local_commands(local)  # invoke, serve, push

    _genai_parsers(commands, local)  # local ask|api|genai, genai release

    rotation = commands.add_parser(
        "rotation", help="the database credentials' rotation on AWS"
    ).add_subparsers(dest="rotation_command", required=True, metavar="COMMAND")
    cancel = rotation.add_parser(
        "cancel",
        help="take AWSPENDING off the version a failed rotation left, when that is safe",
        description="A failed rotation leaves its version staged AWSPENDING and RotateSecret refuses the "
        "next one. This removes that label (rotation stays enabled) so the next rotation starts afresh, "
        "unless that would lose the only working password: with a single user it asks the rotation "
        "function (testSecret) whether the database already accepts the AWSPENDING password, and then "
        "refuses (exit 1). Exit 0: removed or nothing to cancel; 2: bad input, nothing changed.",
    )
    cancel.add_argument("secret", help="the secret's name or ARN, e.g. petclinic/dev/aurora/app")
    cancel.add_argument("--profile", help="AWS profile (default: the SDK's default chain)")
    cancel.add_argument("--region", help="AWS region (default: the profile's, else us-west-2)")
    cancel.add_argument("--json", action="store_true", help="print the outcome as JSON")
    cancel.add_argument("--endpoint-url", metavar="URL", help="send every AWS call here (local serve)")

    _provision_parsers(commands, local)
    _scale_parsers(commands, local)

    deploy = commands.add_parser(
        "deploy",
        help="deploy an image to a service on AWS (manual execution) and follow it to the end",
    )
    deploy.add_argument("service", help="ECS service, e.g. customers-service")
    deploy.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")
    deploy.add_argument("--reason", help="recorded in the ledger and the notification")
    deploy.add_argument("--profile", help="AWS profile (default: the SDK's default chain)")
    deploy.add_argument("--region", help="AWS region (default: the profile's, else us-west-2)")
    deploy.add_argument(
        "--stack", default="petclinic-ops-dev", help="control plane stack (default petclinic-ops-dev)"
    )
    deploy.add_argument(
        "--timeout", type=float, default=7200.0, help="stop following after this many seconds"
    )
    deploy.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    deploy.add_argument("--endpoint-url", metavar="URL", help="send every AWS call here (local serve)")
    operator_commands.add_aws_commands(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("petclinic-ops")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without `make setup`
        return "unknown"


def _genai_parsers(commands: Any, local: Any) -> None:
    """`local ask`, `local api`, `local genai release` and `genai release` (cli/genai.py)."""
    ask = local.add_parser(
        "ask",
        help="ask the GenAI function one question through its live alias (Bedrock, PetClinic: stand-ins)",
    )
    ask.add_argument("question", help='e.g. "Which vets are radiologists?"')
    ask.add_argument(
        "--json", action="store_true", help="the answer, model, route, tool calls and usage as JSON"
    )
    api = local.add_parser("api", help="serve the GenAI chat API and a chat page on 127.0.0.1 until Ctrl-C")
    api.add_argument(
        "--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0: any free one)"
    )
    local_genai = local.add_parser("genai", help="the GenAI function's release workflow on the local cloud")
    local_release = local_genai.add_subparsers(
        dest="genai_command", required=True, metavar="COMMAND"
    ).add_parser(
        "release",
        help="publish three versions and release each: one promoted, two rolled back (alarm, smoke test)",
    )
    local_release.add_argument(
        "--json", action="store_true", help="print the releases and the ledger as JSON"
    )
    genai = commands.add_parser("genai", help="the GenAI function on AWS").add_subparsers(
        dest="genai_command", required=True, metavar="COMMAND"
    )
    release = genai.add_parser(
        "release",
        help="release a published version of the GenAI function (smoke test, canary, alarms, rollback)",
        description='Starts the genai-release workflow with {"version": VERSION} and follows it. Exit 0: the '
        "version takes all of live; 1: rolled back or failed (live is on the previous version unless the "
        "output says the rollback failed); 2: bad input (unknown version), nothing changed.",
    )
    release.add_argument(
        "version", help="the published version number (sam deploy prints it; `candidate` points at it)"
    )
    release.add_argument("--profile", help="AWS profile (default: the SDK's default chain)")
    release.add_argument("--region", help="AWS region (default: the profile's, else us-west-2)")
    release.add_argument(
        "--stack", default="petclinic-ops-dev", help="control plane stack (default petclinic-ops-dev)"
    )
    release.add_argument(
        "--timeout", type=float, default=7200.0, help="stop following after this many seconds"
    )
    release.add_argument("--json", action="store_true", help="print the outcome as JSON")
    release.add_argument("--poll-seconds", type=float, default=10.0, help=argparse.SUPPRESS)


def _genai_command(args: argparse.Namespace) -> int:
    from petclinic_local.cli import genai  # noqa: PLC0415

    if args.command == "genai":
        return genai.run_release(
            args.version,
            profile=args.profile,
            region=args.region,
            stack=args.stack,
            timeout=args.timeout,
            poll_seconds=args.poll_seconds,
            as_json=args.json,
        )
    if args.local_command == "ask":
        return genai.run_ask(args.question, as_json=args.json)
    if args.local_command == "api":
        return genai.run_api(port=args.port)
    return genai.run_local_release(as_json=args.json)


def _provision_arguments(parser: argparse.ArgumentParser, action: str, *, aws: bool) -> None:
    parser.add_argument("--env", default="dev", choices=("dev", "prod"), help="environment (default dev)")
    parser.add_argument(
        "--stack",
        dest="stacks",
        action="append",
        default=[],
        choices=("network", "data", "services", "edge"),
        help="only this stack (repeatable; default all, in dependency order)",
    )
    if action == "provision":
        parser.add_argument(
            "--plan", action="store_true", help="report the changes per stack, change nothing"
        )
        parser.add_argument(
            "--parameter",
            dest="parameters",
            action="append",
            default=[],
            metavar="STACK.NAME=VALUE",
            help="a template parameter, e.g. edge.GenAiFunctionArn=arn:... (repeatable); a parameter not "
            "given keeps the stack's current value",
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
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    if aws:
        parser.add_argument("--profile", help="AWS profile (default: the SDK's default chain)")
        parser.add_argument("--region", help="AWS region (default: the profile's, else us-west-2)")
        parser.add_argument(
            "--control-plane", default=None, help="control plane stack (default petclinic-ops-{env})"
        )
        parser.add_argument(
            "--timeout", type=float, default=7200.0, help="stop following after this many seconds"
        )
        parser.add_argument("--poll-seconds", type=float, default=10.0, help=argparse.SUPPRESS)


def _provision_parsers(commands: Any, local: Any) -> None:
    helps = {
        "provision": "create or update the PetClinic stacks (network, data, services, edge), change sets",
        "teardown": "delete the PetClinic stacks in reverse order (prod only with --force; data kept)",
        "drift": "report the resources that drifted from their templates",
    }
    for action, text in helps.items():
        _provision_arguments(commands.add_parser(action, help=f"{text}, on AWS"), action, aws=True)
        _provision_arguments(
            local.add_parser(action, help=f"{text}, on a fresh local cloud"), action, aws=False
        )


def _scale_parsers(commands: Any, local: Any) -> None:
    from petclinic_local.cli import aws  # noqa: PLC0415

    for where, parser in (
        ("AWS", commands.add_parser("scale", help="scale the PetClinic stack to a profile on AWS, followed")),
        ("local", local.add_parser("scale", help="the scale workflow on a fresh local cloud")),
    ):
        parser.add_argument("scale_profile", metavar="PROFILE", help="business-hours, night, peak...")
        parser.add_argument(
            "--dry-run", action="store_true", help="report the diff and its cost, change nothing"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        if where == "AWS":
            aws.add_arguments(parser)
            parser.add_argument(
                "--timeout", type=float, default=3600.0, help="stop following after this many seconds"
            )
            parser.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)


def _scale_command(args: argparse.Namespace) -> int:
    from petclinic_local.cli import aws, scale  # noqa: PLC0415

    if args.command == "local":
        return scale.run_local(args.scale_profile, dry_run=args.dry_run, as_json=args.json)
    return scale.run_aws(
        args.scale_profile,
        dry_run=args.dry_run,
        target=aws.Target.from_args(args),
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )


def _provision_command(args: argparse.Namespace) -> int:
    from petclinic_local.cli import provision  # noqa: PLC0415

    action = args.local_command if args.command == "local" else args.command
    request = provision.build_request(
        environment=args.env,
        action=action,
        stacks=args.stacks,
        plan=getattr(args, "plan", False),
        parameters=getattr(args, "parameters", []),
        force=getattr(args, "force", False),
        discard_data=getattr(args, "discard_data", False),
    )
    if args.command == "local":
        return provision.run_local(request, as_json=args.json)
    return provision.run_aws(
        request,
        profile=args.profile,
        region=args.region,
        stack=args.control_plane or f"petclinic-ops-{args.env}",
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )


def _rotation_command(args: argparse.Namespace) -> int:
    """`rotation cancel` and `local rotate` (with --fail-at: the failed-rotation rehearsal)."""
    from petclinic_local.cli import local_rotate, rotation  # noqa: PLC0415

    if args.command == "rotation":
        session = None
        if args.endpoint_url:
            from petclinic_local.cli import aws  # noqa: PLC0415

            session = aws.session_for(aws.Target(args.profile, args.region, endpoint_url=args.endpoint_url))
        return rotation.run_cancel(
            args.secret, profile=args.profile, region=args.region, as_json=args.json, session=session
        )
    if args.fail_at is None:
        if args.recover:
            raise UsageError("--recover needs --fail-at STEP: it recovers from the failure that makes")
        return local_rotate.run(
            mysql_url=args.mysql, strategy=args.strategy, as_json=args.json, keep=args.keep
        )
    return rotation.rehearse(
        mysql_url=args.mysql,
        strategy=args.strategy,
        fail_at=args.fail_at,
        recover=args.recover,
        as_json=args.json,
        keep=args.keep,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from petclinic_local.cli import commands as operator_commands  # noqa: PLC0415

    try:
        with operator_commands.one_line_aws_errors():
            return _dispatch(parser, args)
    except UsageError as exc:
        print(f"petclinic-ops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except operator_commands.CommandFailed as exc:
        print(f"petclinic-ops: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `petclinic-ops history X --json | head`: the reader left
        import os  # noqa: PLC0415

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:  # noqa: PLR0911 - one return per command
    from petclinic_local.cli import commands as operator_commands  # noqa: PLC0415

    handled = operator_commands.dispatch(parser, args)
    if handled is not None:
        return handled
    if args.command == "demo":
        from petclinic_local.cli import demo  # noqa: PLC0415 - each command imports what it needs

        return demo.run(fast=args.fast)
    if args.command == "local" and args.local_command == "run":
        from petclinic_local.cli import local_run  # noqa: PLC0415

        return local_run.run(
            args.events,
            as_json=args.json,
            fail_digests=args.fail_digest,
            rollout_seconds=args.rollout_seconds,
            time_scale=args.time_scale,
        )
    if args.command in PROVISION_ACTIONS or (
        args.command == "local" and args.local_command in PROVISION_ACTIONS
    ):
        return _provision_command(args)
    if args.command == "scale" or (args.command == "local" and args.local_command == "scale"):
        return _scale_command(args)
    if args.command == "rotation" or (args.command == "local" and args.local_command == "rotate"):
        return _rotation_command(args)
    if args.command == "genai" or (args.command == "local" and args.local_command in {"ask", "api", "genai"}):
        return _genai_command(args)
    if args.command == "deploy":
        from petclinic_local.cli import aws, deploy  # noqa: PLC0415

        return deploy.run(
            args.service,
            args.image,
            reason=args.reason,
            profile=args.profile,
            region=args.region,
            stack=args.stack,
            timeout=args.timeout,
            poll_seconds=args.poll_seconds,
            session=aws.session_for(aws.Target(args.profile, args.region, args.stack, args.endpoint_url))
            if args.endpoint_url
            else None,
        )
    raise AssertionError(f"unhandled command {args}")  # argparse requires a known command


if __name__ == "__main__":
    sys.exit(main())
