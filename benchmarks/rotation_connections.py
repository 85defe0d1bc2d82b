"""Database connections per rotation: how many times the rotation function connects to the
database during one whole rotation (createSecret to finishSecret), alternating and single user.

One rotation per strategy through the local cloud (Secrets Manager invokes the real handler's
four steps in-process) against a real MySQL/MariaDB. Every connection attempt PyMySQL makes in
this process during the rotation is counted (a refused login counts: it is a TCP connection and
a handshake); nothing else connects to the database meanwhile. AWS's own MultiUser rotation
function needs 4 for an alternating rotation.

    python benchmarks/rotation_connections.py [--mysql URL]
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local.errors import UsageError
from petclinic_local.petclinic.database import DEFAULT_URL, PetClinicDatabase
from petclinic_local.rotations import rotation_cloud

TARGET = 3
AWS_MULTI_USER = 4


@contextmanager
def counting_connections() -> Iterator[Counter[str]]:
    """Counts PyMySQL connection attempts in this process, by user name."""
    from pymysql.connections import Connection  # noqa: PLC0415

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = Connection.connect

    def connect(self: Any, sock: Any = None) -> Any:
        user = self.user.decode() if isinstance(self.user, bytes) else str(self.user)
        with lock:
            counts[user] += 1
        return original(self, sock)

    Connection.connect = connect  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection.connect = original  # type: ignore[method-assign]


def measure(strategy: str, url: str) -> dict[str, Any]:
    database = PetClinicDatabase.create(url)
    try:
        with rotation_cloud(database, strategy) as cloud:
            secrets = cloud.client("secretsmanager")
            arn = cloud.seeded["databaseSecretArn"]
            before = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
            with counting_connections() as counts:
                token = secrets.rotate_secret(SecretId=arn)["VersionId"]
                cloud.wait_until_quiet(timeout=300)
            stages = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
            if "AWSCURRENT" not in stages.get(token, []) or token in before:
                raise RuntimeError(f"the {strategy} rotation did not finish: {stages}")
            return {"strategy": strategy, "connections": sum(counts.values()), "by_user": dict(counts)}
    finally:
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mysql", default=DEFAULT_URL)
    args = parser.parse_args()
    try:
        rows = [measure(strategy, args.mysql) for strategy in ("alternating", "single")]
    except UsageError as exc:
        print(f"skipped: {exc}")
        return 0
    table = Table(title="Database connections per rotation (one whole rotation)", title_justify="left")
    for column in ("strategy", "connections", "target", "AWS MultiUser function"):
        table.add_column(column)
    for row in rows:
        aws = str(AWS_MULTI_USER) if row["strategy"] == "alternating" else "-"
        table.add_row(row["strategy"], str(row["connections"]), f"<= {TARGET}", aws)
    Console(width=140).print(table)
    worst = max(row["connections"] for row in rows)
    print(f"database connections per rotation: {worst} at most (target <= {TARGET})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
