"""`petclinic-ops local serve`: how long it takes to be ready (from the command to the "ready"
line: interpreter, imports, moto, the template deployed, PetClinic seeded, the server up), and
a deployment through the AWS CLI end to end (ecr put-image, events put-events with ECR's push
event, describe-execution until it ends), then `petclinic-ops status` against it.

Rollouts are simulated: 60 s at the default time scale 0.01, so 0.6 s of the deployment is the
ECS rollout stand-in; the rest is the workflow (17 state transitions), the endpoint and the AWS
CLI's own start-up (about 0.5 s per command here).
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]
AWS = str(Path(sys.executable).parent / "aws")
READY = re.compile(r"(http://127\.0\.0\.1:\d+) ready in")
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_EC2_METADATA_DISABLED": "true",
}
RUNS = 3


def start() -> tuple[subprocess.Popen[str], str, float]:
    began = time.perf_counter()
    process = subprocess.Popen(
        [*CLI, "local", "serve", "--port", "0", "--no-mysql", "--rollout-seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=tempfile.TemporaryFile(mode="w+"),  # noqa: SIM115 - closed with the process
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if match := READY.search(line):
            return process, match.group(1), time.perf_counter() - began
    raise RuntimeError(f"local serve exited {process.wait()}")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def aws(url: str, *args: str) -> Any:
    done = subprocess.run(
        [AWS, "--endpoint-url", url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return json.loads(done.stdout) if done.stdout.strip() else None


def deploy_through_the_aws_cli(url: str) -> tuple[float, int]:
    """Seconds from `aws ecr put-image` to the execution SUCCEEDED, and AWS CLI calls made."""
    began = time.perf_counter()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 1,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "size": 1,
                "digest": "sha256:" + "b" * 64,
            }
        ],
    }
    repository = "petclinic/dev/customers-service"
    image = aws(url, "ecr", "put-image", "--repository-name", repository,
                "--image-tag", "9.9.9", "--image-manifest", json.dumps(manifest))  # fmt: skip
    digest = image["image"]["imageId"]["imageDigest"]
    detail = {"result": "SUCCESS", "action-type": "PUSH", "repository-name": repository,
              "image-digest": digest, "image-tag": "9.9.9"}  # fmt: skip
    entry = {"Source": "aws.ecr", "DetailType": "ECR Image Action", "Detail": json.dumps(detail)}
    aws(url, "events", "put-events", "--entries", json.dumps([entry]))
    calls = 2
    machines = aws(url, "stepfunctions", "list-state-machines")["stateMachines"]
    deploy = next(m["stateMachineArn"] for m in machines if m["name"].endswith("-deploy"))
    calls += 1
    while True:
        listed = aws(url, "stepfunctions", "list-executions", "--state-machine-arn", deploy)["executions"]
        calls += 1
        if listed:
            described = aws(
                url, "stepfunctions", "describe-execution", "--execution-arn", listed[0]["executionArn"]
            )
            calls += 1
            if described["status"] != "RUNNING":
                assert described["status"] == "SUCCEEDED", described
                return time.perf_counter() - began, calls
        time.sleep(0.1)


def main() -> int:
    starts = []
    for _ in range(RUNS):
        process, url, seconds = start()
        starts.append(seconds)
        stop(process)
    process, url, _ = start()
    try:
        deploy_seconds, calls = deploy_through_the_aws_cli(url)
        began = time.perf_counter()
        status = subprocess.run(
            [*CLI, "status", "--endpoint-url", url, "--json"],
            capture_output=True,
            text=True,
            env=ENV,
            check=True,
        )
        status_seconds = time.perf_counter() - began
        row = json.loads(status.stdout)["services"][0]
        assert row["tag"] == "9.9.9", row
    finally:
        stop(process)
    print(
        f"local serve ready: median {statistics.median(starts):.1f} s of {RUNS} starts "
        f"({', '.join(f'{s:.1f}' for s in starts)})"
    )
    print(
        f"AWS CLI: put-image -> put-events -> deploy SUCCEEDED: {deploy_seconds:.1f} s ({calls} aws commands)"
    )
    print(f"petclinic-ops status --endpoint-url (4 services): {status_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
