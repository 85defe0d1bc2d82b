"""`petclinic-ops local serve` as a subprocess for the end-to-end tests, and the commands that
drive it: the CLI (`petclinic-ops ... --endpoint-url`) and the real AWS CLI (awscli from PyPI,
installed in the project's environment by `make setup`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(sys.executable).parent / "aws"
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]
READY = re.compile(r"local serve: (http://127\.0\.0\.1:\d+) ready in ([0-9.]+) s")
START_TIMEOUT = 180.0


def client_environment(**extra: str) -> dict[str, str]:
    """Any credentials do for the local endpoint; no instance metadata lookups; no colour."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-west-2",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return env


@dataclass
class Served:
    url: str
    start_seconds: float
    process: subprocess.Popen[str]

    def cli(
        self, *args: str, env: dict[str, str] | None = None, endpoint: bool = True, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """The CLI against the endpoint; ``stdin`` is all it reads (no answer to a question: "")."""
        command = [*CLI, *args, *(["--endpoint-url", self.url] if endpoint else [])]
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            env=env or client_environment(),
            check=False,
        )

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def aws(self, *args: str) -> Any:
        """The AWS CLI against the endpoint; its JSON answer."""
        assert AWS_CLI.exists(), f"{AWS_CLI} is missing: run `make setup` (requirements/dev.txt pins awscli)"
        done = subprocess.run(
            [str(AWS_CLI), "--endpoint-url", self.url, "--region", "us-west-2", "--output", "json", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=client_environment(),
            check=False,
        )
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def boto3(self, service: str) -> Any:
        import boto3  # noqa: PLC0415

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name="us-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def deploy_executions(self) -> list[dict[str, Any]]:
        sfn = self.boto3("stepfunctions")
        arn = next(
            m["stateMachineArn"]
            for m in sfn.list_state_machines()["stateMachines"]
            if m["name"].endswith("-deploy")
        )
        return list(sfn.list_executions(stateMachineArn=arn)["executions"])

    def wait_until_idle(self, count: int, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Until at least ``count`` deploy executions exist and none runs."""
        executions: list[dict[str, Any]] = wait_for(
            lambda: (
                (listed := self.deploy_executions())
                and len(listed) >= count
                and all(e["status"] != "RUNNING" for e in listed)
                and listed
            ),
            timeout,
            f"{count} deploy executions to end",
        )
        return executions


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextmanager
def local_serve(*extra: str) -> Iterator[Served]:
    """`petclinic-ops local serve --port 0` until the block ends (SIGTERM, as Ctrl-C); with
    --no-mysql unless ``extra`` gives --mysql."""
    errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed after the process
    process = subprocess.Popen(
        [
            *CLI,
            "local",
            "serve",
            "--port",
            "0",
            "--rollout-seconds",
            "60",
            *([] if "--mysql" in extra else ["--no-mysql"]),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        cwd=ROOT,
        env=client_environment(),
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                errors.seek(0)
                raise AssertionError(f"local serve exited {process.returncode}: {errors.read()[-3000:]}")
            if match := READY.search(line):
                yield Served(match.group(1), float(match.group(2)), process)
                break
        else:
            raise AssertionError(f"local serve not ready after {START_TIMEOUT} s: {line}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()
