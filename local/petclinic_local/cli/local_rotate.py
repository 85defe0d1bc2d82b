"""`petclinic-ops local rotate`: rotate the Aurora-style credentials of a real MySQL/MariaDB
through the local cloud (Secrets Manager calls the rotation function's four steps), then the
rollout workflow redeploys the services that read the secret; report who can log in now."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from petclinic_local.cli import render
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
