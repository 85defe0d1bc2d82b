"""`petclinic-ops local rotate`: rotate the Aurora-style credentials of a real MySQL/MariaDB
through the local cloud (Secrets Manager calls the rotation function's four steps), then the
rollout workflow redeploys the services that read the secret; report who can log in now."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from petclinic_local.cli import registry, render
from petclinic_local.errors import UsageError


@contextmanager
def local_rotation_cloud(
    console: Any, *, mysql_url: str, strategy: str, keep: bool
) -> Iterator[tuple[Any, Any]]:
    """(cloud, database): an application database on the server and a local cloud whose managed
    secret is its user; the cloud is closed and, unless ``keep``, the database dropped after."""
    from petclinic_local.petclinic.database import PetClinicDatabase  # noqa: PLC0415
    from petclinic_local.rotations import rotation_cloud  # noqa: PLC0415

    if strategy not in {"alternating", "single"}:
        raise UsageError(f"--strategy {strategy!r}: choose alternating or single")
    database = PetClinicDatabase.create(mysql_url)
    try:
        with console.status("starting the local cloud with the database's secrets", spinner="dots"):
            cloud = rotation_cloud(database, strategy).__enter__()
        try:
            yield cloud, database
        finally:
            cloud.close()
    finally:
        if not keep:
            database.drop()


def run(*, mysql_url: str, strategy: str, as_json: bool, keep: bool = False) -> int:
    from petclinic_local.rotations import rotate_and_report  # noqa: PLC0415

    console = render.console()
    with (
        local_rotation_cloud(console, mysql_url=mysql_url, strategy=strategy, keep=keep) as (
            cloud,
            database,
        ),
        console.status(f"rotating ({strategy} users) and rolling out", spinner="dots"),
    ):
        report = rotate_and_report(cloud, database, strategy)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render.rotation_report(console, report)
    return 0 if report["execution"]["status"] == "SUCCEEDED" else 1


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", choices=("alternating", "single"), default="alternating")
    parser.add_argument(
        "--mysql",
        default="mysql://root@127.0.0.1:3306",
        metavar="URL",
        help="server to use, as mysql://user[:password]@host[:port] (default mysql://root@127.0.0.1:3306)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and users afterwards")
    parser.add_argument(
        "--fail-at",
        choices=("setSecret", "testSecret"),
        help="make the rotation fail at this step (setSecret: the account it logs in with is locked; "
        "testSecret: the application user cannot use its database); AWSPENDING stays behind",
    )
    parser.add_argument(
        "--recover",
        action="store_true",
        help="with --fail-at: then repair the cause, run `rotation cancel` and rotate again (the runbook's "
        "'A rotation failed' on one local cloud)",
    )


@registry.command(
    "local rotate",
    arguments=_arguments,
    help="rotate real MySQL/MariaDB credentials through the local cloud, roll out, report logins",
    description="Creates an application database, user and superuser on the server, and their secrets; "
    "rotates through Secrets Manager (the rotation function's four steps run in-process against the "
    "server); the rollout workflow redeploys the services that read the secret; reports which "
    "versions' credentials log in now. Drops what it created unless --keep.",
    epilog="exit codes: 0 the (last) rotation succeeded, 1 it failed, 2 bad input (no database at "
    "--mysql, --recover without --fail-at: nothing started)",
    json="print the report as JSON",
    fresh_cloud=True,
)
def _rotate(args: argparse.Namespace) -> int:
    """`local rotate`, and with --fail-at the failed-rotation rehearsal (cli/rotation.py)."""
    if args.fail_at is None:
        if args.recover:
            raise UsageError("--recover needs --fail-at STEP: it recovers from the failure that makes")
        return run(mysql_url=args.mysql, strategy=args.strategy, as_json=args.json, keep=args.keep)
    from petclinic_local.cli import rotation  # noqa: PLC0415

    return rotation.rehearse(
        mysql_url=args.mysql,
        strategy=args.strategy,
        fail_at=args.fail_at,
        recover=args.recover,
        as_json=args.json,
        keep=args.keep,
    )
