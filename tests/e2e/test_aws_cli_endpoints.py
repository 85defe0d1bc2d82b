"""Which commands of the pinned AWS CLI (awscli in requirements/dev.txt, the one README's `local
serve` section drives) honour AWS_ENDPOINT_URL: issue 19's drill found SQS's going to AWS. Each
command is pointed at a closed local port and the endpoint it tried is read from its error, so
README's note can say exactly which services need `--endpoint-url` (no local cloud needed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

AWS = str(Path(sys.executable).parent / "aws")
CLOSED = "http://127.0.0.1:9"
TRIED = re.compile(r'Could not connect to the endpoint URL: "([^"]+)"')

# The services README's `local serve` section and docs/runbook.md use, a read-only command each.
HONOURED = {
    "stepfunctions": ["stepfunctions", "list-state-machines"],
    "ecr": ["ecr", "describe-repositories"],
    "events": ["events", "list-rules"],
    "dynamodb": ["dynamodb", "list-tables"],
    "ecs": ["ecs", "list-clusters"],
    "ssm": ["ssm", "describe-parameters"],
    "secretsmanager": ["secretsmanager", "list-secrets"],
    "cloudformation": ["cloudformation", "list-stacks"],
    "sns": ["sns", "list-topics"],
    "cloudwatch": ["cloudwatch", "describe-alarms"],
    "lambda": ["lambda", "list-functions"],
    "s3": ["s3api", "list-buckets"],
}


def tried(command: list[str], **variables: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-west-2"}
    env |= {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **variables}
    done = subprocess.run(
        [AWS, *command, "--cli-connect-timeout", "1", "--cli-read-timeout", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    found = TRIED.search(done.stderr)
    assert found, done.stderr
    return found.group(1)


@pytest.mark.parametrize("service", sorted(HONOURED))
def test_the_pinned_aws_cli_honours_aws_endpoint_url(service: str) -> None:
    assert tried(HONOURED[service], AWS_ENDPOINT_URL=CLOSED).startswith(CLOSED)


def test_its_sqs_commands_ignore_it_and_need_endpoint_url_as_readme_says() -> None:
    """awscli 1.x rewrites SQS's endpoint to queue.amazonaws.com (its legacy SQS customisation),
    whatever AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_SQS say; --endpoint-url is honoured."""
    assert tried(["sqs", "list-queues"], AWS_ENDPOINT_URL=CLOSED) == "https://us-west-2.queue.amazonaws.com/"
    assert tried(["sqs", "list-queues"], AWS_ENDPOINT_URL_SQS=CLOSED).endswith("queue.amazonaws.com/")
    assert tried(["sqs", "list-queues", "--endpoint-url", CLOSED]).startswith(CLOSED)
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "SQS commands ignore `AWS_ENDPOINT_URL`" in readme
