"""Database logins during credential rotations, alternating users against a single user.

Simulated ECS tasks keep opening connections to a real MySQL/MariaDB with the credentials they
read when they started (ECS injects secrets only at task start). When a deployment of their
service starts, new tasks start and read AWSCURRENT; when it completes, the old tasks stop.
Meanwhile several rotations run one after another through the local cloud (Secrets Manager,
the rotation function's four steps, the rollout workflow). Prints attempted and failed logins
per strategy and how long the rotations and rollouts took.

    python benchmarks/rotation_logins.py [--rotations 3] [--tasks 2] [--mysql URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from petclinic_local import runner
from petclinic_local.errors import UsageError
from petclinic_local.petclinic.database import DEFAULT_URL, PetClinicDatabase, can_login
from petclinic_local.rotations import rotation_cloud, start_rotation

SERVICES = ("customers-service", "vets-service", "visits-service")


@dataclass
class Task:
    service: str
    deployment: str
    username: str
    password: str
    stop: threading.Event = field(default_factory=threading.Event)


class Fleet:
    """Tasks of the services that read the secret, replaced as ECS replaces them."""

    def __init__(self, cloud: Any, database: PetClinicDatabase, tasks_per_service: int) -> None:
        self.cloud = cloud
        self.database = database
        self.per_service = tasks_per_service
        self.tasks: list[Task] = []
        self.attempts = self.failures = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads: list[threading.Thread] = []

    def current_credentials(self) -> tuple[str, str]:
        secret = self.cloud.client("secretsmanager").get_secret_value(
            SecretId=self.cloud.seeded["databaseSecretArn"], VersionStage="AWSCURRENT"
        )
        value = json.loads(secret["SecretString"])
        return value["username"], value["password"]

    def start_tasks(self, service: str, deployment: str) -> None:
        username, password = self.current_credentials()
        for _ in range(self.per_service):
            task = Task(service, deployment, username, password)
            self.tasks.append(task)
            thread = threading.Thread(target=self.run_task, args=(task,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def run_task(self, task: Task) -> None:
        while not task.stop.is_set() and not self.done.is_set():
            ok = can_login(
                self.database.host, self.database.port, task.username, task.password, self.database.name
            )
            with self.lock:
                self.attempts += 1
                self.failures += not ok
            time.sleep(0.02)

    def watch(self) -> None:
        """Follow ECS: a new PRIMARY deployment starts tasks; a COMPLETED one stops the older ones."""
        while not self.done.is_set():
            for name, service in self.cloud.services().items():
                if name not in SERVICES:
                    continue
                deployment = service["deployment"]
                if not any(t.service == name and t.deployment == deployment["id"] for t in self.tasks):
                    self.start_tasks(name, deployment["id"])
                if deployment["rolloutState"] == "COMPLETED":
                    for task in self.tasks:
                        if task.service == name and task.deployment != deployment["id"]:
                            task.stop.set()
            time.sleep(0.05)

    def __enter__(self) -> Fleet:
        watcher = threading.Thread(target=self.watch, daemon=True)
        self.threads.append(watcher)
        watcher.start()
        while len(self.tasks) < len(SERVICES) * self.per_service:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in list(self.threads):
            thread.join(timeout=5)


def seconds_between(events: list[dict[str, Any]], first: str, last: str) -> float:
    entered = {
        e["stateEnteredEventDetails"]["name"]: e["timestamp"]
        for e in events
        if e["type"].endswith("StateEntered")
    }
    return (entered[last] - entered[first]).total_seconds()


def measure(strategy: str, url: str, rotations: int, tasks: int) -> dict[str, Any]:
    database = PetClinicDatabase.create(url)
    try:
        with (
            rotation_cloud(database, strategy) as cloud,
            Fleet(cloud, database, tasks) as fleet,
        ):
            rotation_times, rollout_times, results = [], [], []
            for _ in range(rotations):
                execution = runner.wait(cloud, start_rotation(cloud), timeout=300)
                time.sleep(0.3)  # the old tasks have stopped; the fleet settles
                history = runner.history(cloud, execution["executionArn"])
                results.append(execution["status"])
                rotation_times.append(seconds_between(history, "RotateSecret", "ListServices"))
                rollout_times.append(seconds_between(history, "ListServices", "Finish"))
            return {
                "strategy": strategy,
                "rotations": f"{results.count('SUCCEEDED')}/{rotations} succeeded",
                "attempts": fleet.attempts,
                "failures": fleet.failures,
                "rotation": statistics.mean(rotation_times),
                "rollout": statistics.mean(rollout_times),
            }
    finally:
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rotations", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2, help="tasks per service")
    parser.add_argument("--mysql", default=DEFAULT_URL)
    args = parser.parse_args()
    try:
        rows = [
            measure(strategy, args.mysql, args.rotations, args.tasks)
            for strategy in ("alternating", "single")
        ]
    except UsageError as exc:
        print(f"skipped: {exc}")
        return 0
    table = Table(
        title=f"Logins while {args.rotations} rotations and rollouts run "
        f"({args.tasks} tasks per service, 3 services)",
        title_justify="left",
    )
    for column in (
        "strategy",
        "rotations",
        "login attempts",
        "failed logins",
        "failed %",
        "rotation (s)",
        "rollout (s)",
    ):
        table.add_column(column)
    for row in rows:
        share = 100 * row["failures"] / max(row["attempts"], 1)
        table.add_row(
            row["strategy"],
            row["rotations"],
            str(row["attempts"]),
            str(row["failures"]),
            f"{share:.1f}",
            f"{row['rotation']:.2f}",
            f"{row['rollout']:.2f}",
        )
    Console(width=140).print(table)
    print(
        "(local cloud: rollouts of 20 simulated s at time scale 0.05; "
        "rotation = RotateSecret until AWSCURRENT moved)"
    )
    alternating = rows[0]
    print(
        f"alternating users: {alternating['failures']} failed logins of {alternating['attempts']} (target 0)"
    )
    return 0 if alternating["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
