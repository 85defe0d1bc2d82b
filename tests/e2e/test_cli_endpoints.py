"""The commands against `local serve` (a LocalEndpoint in this process, the CLI as a subprocess):
AWS_ENDPOINT_URL is honoured as the AWS CLI honours it; `provision`, `teardown`, `drift` and
`genai release` (which took no --endpoint-url) and `rotation cancel` reach the endpoint, not AWS;
`deploy nosuch 1.0.0` starts nothing and exits 2; a command that starts a fresh local cloud
ignores the caller's AWS environment (issue 19: `local rotate` wrote into a served cloud)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.cloud import LocalCloud
from petclinic_local.server import LocalEndpoint

pytestmark = [pytest.mark.xdist_group("cli-endpoints"), pytest.mark.slow]  # one served cloud per module

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]
EVENT = "events/ecr-push-customers-service.json"


@pytest.fixture(scope="module")
def served() -> Iterator[LocalEndpoint]:
    with LocalEndpoint(LocalCloud(stack_name="petclinic-ops-dev"), port=0) as endpoint:
        yield endpoint


def clean_environment(**extra: str) -> dict[str, str]:
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


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=600, cwd=ROOT, env=env, check=False
    )


def deploy_executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.executions("petclinic-ops-dev-deploy")


def test_aws_endpoint_url_is_honoured_as_the_aws_cli_does(served: LocalEndpoint) -> None:
    done = run_cli("status", "--json", env=clean_environment(AWS_ENDPOINT_URL=served.url))
    assert done.returncode == 0, done.stderr
    services = [row["service"] for row in json.loads(done.stdout)["services"]]
    assert services == ["customers-service", "vets-service", "visits-service", "admin-server"]
    done = run_cli("local", "push", "admin-server", "9.9.9", "--no-event", "--json",
                   env=clean_environment(AWS_ENDPOINT_URL=served.url))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["repository"] == "petclinic/dev/admin-server"


@pytest.mark.parametrize(
    "args",
    [
        ["teardown", "--env", "dev", "--stack", "nosuch-plane"],
        ["drift", "--env", "dev", "--stack", "nosuch-plane"],
        ["provision", "--env", "dev", "--plan", "--stack", "nosuch-plane"],
        ["genai", "release", "2", "--stack", "nosuch-plane"],
    ],
)
def test_the_commands_that_reached_aws_go_to_the_endpoint(served: LocalEndpoint, args: list[str]) -> None:
    """These took no --endpoint-url, so a user following the README against `local serve` reached
    AWS: here the endpoint answers that it has no such stack."""
    done = run_cli(*args, "--endpoint-url", served.url, env=clean_environment())
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"petclinic-ops: stack nosuch-plane not found in {served.url}\n"


def test_provision_drift_release_and_cancel_run_on_the_endpoint(served: LocalEndpoint) -> None:
    env = clean_environment()
    done = run_cli(
        "provision", "--plan", "--only", "network", "--json", "--endpoint-url", served.url, env=env
    )
    assert done.returncode == 0, done.stderr
    assert [(s["name"], s["action"]) for s in json.loads(done.stdout)["stacks"]] == [("network", "NO_CHANGE")]
    done = run_cli("drift", "--only", "edge", "--json", "--endpoint-url", served.url, env=env)
    assert done.returncode == 0, done.stderr
    assert [s["name"] for s in json.loads(done.stdout)["stacks"]] == ["edge"]
    done = run_cli(
        "rotation", "cancel", "petclinic/dev/aurora/app", "--json", "--endpoint-url", served.url, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action"] == "nothing"
    done = run_cli("genai", "release", "99", "--json", "--endpoint-url", served.url, env=env)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["error"] == "UnknownVersion"


def test_provision_stack_of_a_petclinic_stack_points_at_only(served: LocalEndpoint) -> None:
    done = run_cli("provision", "--stack", "network", "--endpoint-url", served.url, env=clean_environment())
    assert done.returncode == 2
    assert done.stderr == (
        f"petclinic-ops: stack network not found in {served.url} (--stack names the control plane's "
        "stack; the PetClinic stacks a run covers: --only network)\n"
    )


def test_deploy_of_an_unknown_service_starts_nothing_and_exits_2(served: LocalEndpoint) -> None:
    before = deploy_executions(served.cloud)
    done = run_cli("deploy", "nosuch", "1.0.0", "--endpoint-url", served.url, env=clean_environment())
    assert done.returncode == 2
    assert done.stderr.startswith("petclinic-ops: unknown service 'nosuch': stack petclinic-ops-dev manages ")
    assert deploy_executions(served.cloud) == before


def test_a_fresh_local_cloud_ignores_the_callers_aws_environment(served: LocalEndpoint) -> None:
    """Issue 19: with AWS_ENDPOINT_URL at a served cloud, a fresh-cloud command wrote into it.
    Here the caller's endpoint, profile, credentials and region all point elsewhere."""
    hostile = clean_environment(
        AWS_ENDPOINT_URL=served.url,
        AWS_PROFILE="nosuch",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00",
        AWS_DEFAULT_REGION="not a region",
    )
    parameters = served.cloud.client("ssm").describe_parameters()["Parameters"]
    before = deploy_executions(served.cloud)
    done = run_cli("local", "run", "--event", EVENT, "--json", env=hostile)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)["deployments"]
    assert (row["service"], row["result"]) == ("customers-service", "SUCCEEDED")
    done = run_cli(
        "local",
        "invoke",
        "ResolveDeployFunction",
        "--event",
        "events/resolve-deploy-payload.json",
        env=hostile,
    )
    assert done.returncode == 0, done.stderr
    assert deploy_executions(served.cloud) == before
    assert served.cloud.client("ssm").describe_parameters()["Parameters"] == parameters


@pytest.mark.parametrize(
    "variable",
    [
        ("AWS_ENDPOINT_URL", None),
        ("AWS_PROFILE", "nosuch"),
    ],  # on main: BucketAlreadyOwnedByYou, ProfileNotFound
)
def test_each_aws_variable_alone_is_ignored_by_a_fresh_local_cloud(
    served: LocalEndpoint, variable: tuple[str, str | None]
) -> None:
    name, value = variable
    before = deploy_executions(served.cloud)
    env = clean_environment(**{name: value or served.url})
    done = run_cli("local", "scale", "night", "--dry-run", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "DRY_RUN"
    assert deploy_executions(served.cloud) == before
