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

    petclinic-ops provision [--env E] [--plan] [--only S] [--parameter STACK.NAME=V] [--force]
                                                         the PetClinic stacks on AWS, through change sets
    petclinic-ops teardown --env E [--force] [--discard-data] | drift --env E   the same workflow
    petclinic-ops local provision [--plan] [--json] | local teardown | local drift   on the local cloud
    petclinic-ops scale PROFILE [--dry-run] [--json]     scale the stack to a profile on AWS, followed
    petclinic-ops local scale PROFILE [--dry-run] [--json]  the scale workflow on the local cloud


Every command that calls AWS takes --profile, --region, --endpoint-url (else AWS_ENDPOINT_URL) and,
where it reads the control plane, --stack (cli/aws.py); the commands that start a fresh local
cloud run with none of the caller's AWS_* variables (aws.sealed_environment).

Exit codes (each command's --help says its own): 0 done (for `deploy`/`rollback`: the image is
live), 1 the deployment failed or an AWS call failed (`rotation cancel`: refused, nothing changed;
`local invoke`: the handler raised; `provision`/`teardown`/`drift`/`scale`: the run failed; a
follow that reached --timeout), 2 bad input or configuration (nothing was started: unknown
service, stack not found, no credentials...), 3 `deploy`/`rollback` queued or superseded
(another execution deploys).
"""

from __future__ import annotations

import argparse
import contextlib
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
    from petclinic_local.cli import aws  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="petclinic-ops",
        description="Operations control plane of the Spring PetClinic stack on AWS.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="narrated scenarios on the embedded local cloud",
        epilog="exit codes: 0 every scene ran, 2 bad input",
    )
    demo.add_argument("--fast", action="store_true", help="shorter simulated rollouts")
    aws.fresh_cloud(demo)

    local = commands.add_parser("local", help="the Docker-free local cloud").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    run = local.add_parser(
        "run",
        help="put EventBridge events on a fresh local cloud, wait for every execution, report",
        description="A fresh local cloud (control plane deployed from template.yaml, PetClinic seeded); "
        "the events go on the default bus in order without waiting in between, as a burst arrives on AWS. "
        "An ECR push event also lands its image in the local ECR, as the push it reports would have.",
        epilog="exit codes: 0 every execution ended (the report says how), 2 bad input (an event file "
        "unreadable or not an EventBridge event: nothing started)",
    )
    aws.fresh_cloud(run)
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
        "--rollout-seconds", type=aws.seconds, default=90.0, help="simulated rollout time (default 90)"
    )
    run.add_argument(
        "--time-scale",
        type=aws.positive,
        default=0.01,
        help="real seconds per simulated second (default 0.01)",
    )
    rotate = local.add_parser(
        "rotate",
        help="rotate real MySQL/MariaDB credentials through the local cloud, roll out, report logins",
        description="Creates an application database, user and superuser on the server, and their secrets; "
        "rotates through Secrets Manager (the rotation function's four steps run in-process against the "
        "server); the rollout workflow redeploys the services that read the secret; reports which "
        "versions' credentials log in now. Drops what it created unless --keep.",
        epilog="exit codes: 0 the (last) rotation succeeded, 1 it failed, 2 bad input (no database at "
        "--mysql, --recover without --fail-at: nothing started)",
    )
    aws.fresh_cloud(rotate)
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
        "refuses (exit 1).",
        epilog="exit codes: 0 removed or nothing to cancel, 1 refused (nothing changed), 2 bad input "
        "(unknown secret, no credentials: nothing changed)",
    )
    cancel.add_argument("secret", help="the secret's name or ARN, e.g. petclinic/dev/aurora/app")
    cancel.add_argument("--json", action="store_true", help="print the outcome as JSON")
    aws.add_arguments(cancel, stack=False)

    _provision_parsers(commands, local)
    _scale_parsers(commands, local)

    deploy = commands.add_parser(
        "deploy",
        help="deploy an image to a service on AWS (manual execution) and follow it to the end",
        description="Starts the deploy workflow with {service, image, reason} after checking the request "
        "with the workflow's own model and the service against the stack, and follows it to the end.",
        epilog=operator_commands.FOLLOW_EXIT_CODES,
    )
    deploy.add_argument("service", help="ECS service, e.g. customers-service")
    deploy.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")
    deploy.add_argument("--reason", help="recorded in the ledger and the notification")
    aws.add_follow_arguments(deploy, timeout=7200.0, poll_seconds=5.0)
    aws.add_arguments(deploy)
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
    from petclinic_local.cli import aws  # noqa: PLC0415

    ask = local.add_parser(
        "ask",
        help="ask the GenAI function one question through its live alias (Bedrock, PetClinic: stand-ins)",
        epilog="exit codes: 0 answered, 1 the function answered an error (503...), 2 bad input (an empty "
        "or too long question)",
    )
    ask.add_argument("question", help='e.g. "Which vets are radiologists?"')
    ask.add_argument(
        "--json", action="store_true", help="the answer, model, route, tool calls and usage as JSON"
    )
    aws.fresh_cloud(ask)
    api = local.add_parser(
        "api",
        help="serve the GenAI chat API and a chat page on 127.0.0.1 until Ctrl-C",
        epilog="exit codes: 0 stopped (Ctrl-C), 2 cannot serve (bad or taken port)",
    )
    api.add_argument(
        "--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0: any free one)"
    )
    aws.fresh_cloud(api)
    local_genai = local.add_parser("genai", help="the GenAI function's release workflow on the local cloud")
    local_release = local_genai.add_subparsers(
        dest="genai_command", required=True, metavar="COMMAND"
    ).add_parser(
        "release",
        help="publish three versions and release each: one promoted, two rolled back (alarm, smoke test)",
        epilog="exit codes: 0 each release ended as expected (promoted, rolled back, rolled back), 1 one "
        "did not, 2 bad input",
    )
    local_release.add_argument(
        "--json", action="store_true", help="print the releases and the ledger as JSON"
    )
    aws.fresh_cloud(local_release)
    genai = commands.add_parser("genai", help="the GenAI function on AWS").add_subparsers(
        dest="genai_command", required=True, metavar="COMMAND"
    )
    release = genai.add_parser(
        "release",
        help="release a published version of the GenAI function (smoke test, canary, alarms, rollback)",
        description='Starts the genai-release workflow with {"version": VERSION} and follows it.',
        epilog="exit codes: 0 the version takes all of live, 1 rolled back or failed (live is on the "
        "previous version unless the output says the rollback failed), or still running at --timeout, "
        "2 bad input (unknown version, stack not found, no credentials: nothing changed)",
    )
    release.add_argument(
        "version", help="the published version number (sam deploy prints it; `candidate` points at it)"
    )
    release.add_argument("--json", action="store_true", help="print the outcome as JSON")
    aws.add_follow_arguments(release, timeout=7200.0, poll_seconds=10.0)
    aws.add_arguments(release)


def _genai_command(args: argparse.Namespace) -> int:
    from petclinic_local.cli import genai  # noqa: PLC0415

    if args.command == "genai":
        from petclinic_local.cli import aws  # noqa: PLC0415

        return genai.run_release(
            args.version,
            target=aws.Target.from_args(args),
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
    from petclinic_local.cli import aws as shared  # noqa: PLC0415

    stacks = ("network", "data", "services", "edge")
    parser.add_argument("--env", default="dev", choices=("dev", "prod"), help="environment (default dev)")
    parser.add_argument(
        "--only",
        dest="stacks",
        action="append",
        default=[],
        choices=stacks,
        metavar="STACK",
        help=f"only this PetClinic stack: {', '.join(stacks)} (repeatable; default all, in dependency order)",
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
        shared.add_follow_arguments(parser, timeout=7200.0, poll_seconds=10.0)
        shared.add_arguments(parser, stack_default=None)
        parser.add_argument("--control-plane", dest="stack", action=shared.DeprecatedAlias, instead="--stack")
    else:  # --stack was the PetClinic stack here; everywhere else it is the control plane's
        parser.add_argument(
            "--stack",
            dest="stacks",
            choices=stacks,
            action=shared.DeprecatedAlias,
            instead="--only",
            append=True,
        )
        shared.fresh_cloud(parser)


def _provision_parsers(commands: Any, local: Any) -> None:
    helps = {
        "provision": "create or update the PetClinic stacks (network, data, services, edge), change sets",
        "teardown": "delete the PetClinic stacks in reverse order (prod only with --force; data kept)",
        "drift": "report the resources that drifted from their templates",
    }
    for action, text in helps.items():
        aws_codes = (
            "exit codes: 0 the run succeeded, 1 it failed (stack, resource, reason printed) or was still "
            "running at --timeout, 2 bad input (stack not found, no credentials: nothing started)"
        )
        local_codes = (
            "exit codes: 0 the run succeeded, 1 it failed (stack, resource, reason printed), 2 bad input"
        )
        _provision_arguments(
            commands.add_parser(action, help=f"{text}, on AWS", epilog=aws_codes), action, aws=True
        )
        _provision_arguments(
            local.add_parser(action, help=f"{text}, on a fresh local cloud", epilog=local_codes),
            action,
            aws=False,
        )


def _scale_parsers(commands: Any, local: Any) -> None:
    from petclinic_local.cli import aws  # noqa: PLC0415

    codes = (
        "exit codes: 0 applied, dry run or nothing to change, 1 failed or incomplete{timeout}, 2 rejected "
        "(unknown profile, invalid values: nothing changed) or bad input"
    )
    for where, parser in (
        (
            "AWS",
            commands.add_parser(
                "scale",
                help="scale the PetClinic stack to a profile on AWS, followed",
                epilog=codes.format(timeout=", or still running at --timeout"),
            ),
        ),
        (
            "local",
            local.add_parser(
                "scale", help="the scale workflow on a fresh local cloud", epilog=codes.format(timeout="")
            ),
        ),
    ):
        parser.add_argument("scale_profile", metavar="PROFILE", help="business-hours, night, peak...")
        parser.add_argument(
            "--dry-run", action="store_true", help="report the diff and its cost, change nothing"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        if where == "AWS":
            aws.add_follow_arguments(parser, timeout=3600.0, poll_seconds=5.0)
            aws.add_arguments(parser)
        else:
            aws.fresh_cloud(parser)


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
    from petclinic_local.cli import aws  # noqa: PLC0415

    return provision.run_aws(
        request,
        target=aws.Target.from_args(args, default_stack=f"petclinic-ops-{args.env}"),
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
        as_json=args.json,
    )


def _rotation_command(args: argparse.Namespace) -> int:
    """`rotation cancel` and `local rotate` (with --fail-at: the failed-rotation rehearsal)."""
    from petclinic_local.cli import local_rotate, rotation  # noqa: PLC0415

    if args.command == "rotation":
        from petclinic_local.cli import aws  # noqa: PLC0415

        return rotation.run_cancel(args.secret, target=aws.Target.from_args(args), as_json=args.json)
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
    from petclinic_local.cli import aws  # noqa: PLC0415
    from petclinic_local.cli import commands as operator_commands  # noqa: PLC0415

    sealed = getattr(args, "fresh_cloud", False) and not getattr(args, "endpoint_url", None)
    try:
        with (
            aws.sealed_environment() if sealed else contextlib.nullcontext(),
            operator_commands.one_line_aws_errors(),
        ):
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
            target=aws.Target.from_args(args),
            reason=args.reason,
            timeout=args.timeout,
            poll_seconds=args.poll_seconds,
        )
    raise AssertionError(f"unhandled command {args}")  # argparse requires a known command


if __name__ == "__main__":
    sys.exit(main())
