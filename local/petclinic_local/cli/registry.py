"""The commands of `petclinic-ops`, each registered by the module that runs it: its path, its help
and exit codes, its own arguments, the shared options it takes, and its run. main.py builds the
parser from here and dispatches; completion.py and the README's CLI table
(tests/unit/test_cli_shell.py) are checked against it. A new command is one module in cli/:

    from petclinic_local.cli import registry

    def _arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")

    @registry.command(
        "status",                                   # a path: "local scale", "genai release"
        arguments=_arguments,
        help="one line for `petclinic-ops --help`",
        epilog="exit codes: 0 shown, 1 an AWS call failed, 2 bad input",
        aws=registry.Aws(),                        # --profile, --region, --endpoint-url, --stack
        json="print the result as JSON",            # --json
    )
    def _status(args: argparse.Namespace) -> int:
        return run(aws.Target.from_args(args), args.service, as_json=args.json)

The shared options come from here only: ``aws`` (cli/aws.py's ``--profile``, ``--region``,
``--endpoint-url`` and, unless ``Aws(stack=False)``, ``--stack``), ``follow`` (``--timeout`` and
the hidden ``--poll-seconds`` of a command that follows an execution), ``json`` and
``fresh_cloud`` (the command starts its own local cloud: it runs with none of the caller's
``AWS_*`` variables); ``dry_run(parser, help)`` adds ``--dry-run`` and its alias ``--plan``. A
run returns the exit code; it raises UsageError for bad input (exit 2), AwsFailure, StillRunning
or QuietTimeout when it failed or waited past its timeout (exit 1): main.py prints one line.
Every module of this package is imported to find the commands: keep their
top-level imports light (rich, pydantic, boto3 and moto inside the functions that need them);
tests/unit/test_cli_registry.py checks that building the parser imports none of them.

Commands are listed in --help and completed in alphabetical order.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from petclinic_local.cli import aws

Run = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]
RunT = TypeVar("RunT", bound=Run)

EXIT_CODES_HELP = (
    "exit codes: 0 done (deploy/rollback: the image is live), 1 failed (deployment failed, AWS call "
    "failed, handler raised), 2 bad input or configuration (unknown service, stack not found, no "
    "credentials: nothing started), 3 deploy/rollback queued or superseded by another execution"
)
JSON = "print the result as JSON (for scripts)"
READ_EXIT_CODES = (
    "exit codes: 0 shown, 1 an AWS call failed, 2 bad input or configuration (unknown service, stack "
    "not found, no credentials)"
)


@dataclass(frozen=True)
class Aws:
    """The shared AWS options: ``--profile``, ``--region``, ``--endpoint-url`` and ``--stack`` (the
    control plane's stack; ``stack_default`` None: petclinic-ops-{env})."""

    stack: bool = True
    stack_default: str | None = aws.DEFAULT_STACK


@dataclass(frozen=True)
class Follow:
    """``--timeout`` (stop following, exit 1; the execution goes on) and ``--poll-seconds``."""

    timeout: float
    poll_seconds: float


@dataclass(frozen=True)
class Command:
    path: str
    run: Run
    help: str
    epilog: str
    arguments: Arguments | None = None
    description: str | None = None
    aws: Aws | None = None
    follow: Follow | None = None
    json: str | None = None
    fresh_cloud: bool = False
    raw_description: bool = False

    def build(self, parser: argparse.ArgumentParser) -> None:
        """This command's arguments, then the shared options, in the order --help shows them."""
        if self.arguments is not None:
            self.arguments(parser)
        if self.json is not None:
            parser.add_argument("--json", action="store_true", help=self.json)
        if self.follow is not None:
            aws.add_follow_arguments(
                parser, timeout=self.follow.timeout, poll_seconds=self.follow.poll_seconds
            )
        if self.aws is not None:
            aws.add_arguments(parser, stack=self.aws.stack, stack_default=self.aws.stack_default)
        if self.fresh_cloud:
            aws.fresh_cloud(parser)
        parser.set_defaults(run=self.run)


def dry_run(parser: argparse.ArgumentParser, help: str) -> None:
    """``--dry-run``, and ``--plan`` the same (``provision``'s first spelling): report what would
    change, change nothing (``args.dry_run``)."""
    parser.add_argument("--dry-run", "--plan", dest="dry_run", action="store_true", help=help)


@dataclass
class _Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    loaded: bool = False


_REGISTRY = _Registry()


def group(path: str, help: str) -> None:
    """A command that only holds others (``local``, ``genai``, ``rotation``, ``local genai``)."""
    _REGISTRY.groups[path] = help


def command(
    path: str,
    *,
    help: str,
    epilog: str,
    arguments: Arguments | None = None,
    description: str | None = None,
    aws: Aws | None = None,
    follow: Follow | None = None,
    json: str | None = None,
    fresh_cloud: bool = False,
    raw_description: bool = False,
) -> Callable[[RunT], RunT]:
    """Register the decorated function as the run of command ``path`` (see the module's docstring)."""

    def register(run: RunT) -> RunT:
        if path in _REGISTRY.commands or path in _REGISTRY.groups:
            raise ValueError(f"command {path!r} is registered twice")
        _REGISTRY.commands[path] = Command(
            path=path,
            run=run,
            help=help,
            epilog=epilog,
            arguments=arguments,
            description=description,
            aws=aws,
            follow=follow,
            json=json,
            fresh_cloud=fresh_cloud,
            raw_description=raw_description,
        )
        return run

    return register


def commands() -> dict[str, Command]:
    """Every registered command by path, in alphabetical order (each module of this package
    imported once, which registers its commands)."""
    if not _REGISTRY.loaded:
        import petclinic_local.cli as package  # noqa: PLC0415

        for module in pkgutil.iter_modules(package.__path__):
            if module.name != "main":
                importlib.import_module(f"{package.__name__}.{module.name}")
        _REGISTRY.loaded = True
    return dict(sorted(_REGISTRY.commands.items()))


def groups() -> dict[str, str]:
    commands()
    return dict(sorted(_REGISTRY.groups.items()))


def parser() -> argparse.ArgumentParser:
    """The whole argument parser, built from the registry."""
    top = argparse.ArgumentParser(
        prog="petclinic-ops",
        description="Operations control plane of the Spring PetClinic stack on AWS.",
        epilog=EXIT_CODES_HELP,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def children(path: str, parent: argparse.ArgumentParser) -> None:
        subparsers[path] = parent.add_subparsers(
            dest=f"{path.replace(' ', '_')}_command" if path else "command", required=True, metavar="COMMAND"
        )

    children("", top)
    entries: dict[str, Command | str] = {**groups(), **commands()}
    for path in sorted(entries, key=lambda p: (p.count(" "), p)):
        *parents, name = path.split(" ")
        under = " ".join(parents)
        if under not in subparsers:
            raise ValueError(f"command {path!r}: no group {under!r} (registry.group)")
        entry = entries[path]
        if isinstance(entry, str):
            children(path, subparsers[under].add_parser(name, help=entry))
            continue
        child = subparsers[under].add_parser(
            name,
            help=entry.help,
            description=entry.description,
            epilog=entry.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter
            if entry.raw_description
            else argparse.HelpFormatter,
        )
        entry.build(child)
    return top


def version() -> str:
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as installed  # noqa: PLC0415

    try:
        return installed("petclinic-ops")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without `make setup`
        return "unknown"


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by path ("local invoke", "status"...), walked from ``parser()``."""
    from petclinic_local.cli.completion import commands as walk  # noqa: PLC0415

    return walk(parser())


group("local", "the Docker-free local cloud")
