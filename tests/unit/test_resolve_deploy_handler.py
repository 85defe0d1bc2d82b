"""The resolver Lambda's handler: settings from its environment, plans out, rejections returned
(not raised, so a bad input is no Lambda error), a broken configuration raised naming the variable."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from petclinic_local.stack.lambda_runtime import LambdaContext
from petclinic_ops.errors import InvalidConfiguration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ARN = "arn:aws:lambda:us-west-2:123456789012:function:petclinic-ops-dev-resolve-deploy"
ENVIRONMENT = {
    "CLUSTER_NAME": "petclinic-dev",
    "SERVICE_NAMES": "customers-service,vets-service,visits-service,admin-server",
    # The template's Globals; REPOSITORY_PREFIX as the template resolves its empty RepositoryPrefix.
    "ENVIRONMENT_NAME": "dev",
    "REPOSITORY_PREFIX": "petclinic/dev/",
    "DEPLOY_TAG_INCLUDE": r"v?\d+\.\d+\.\d+",
    "DEPLOY_TAG_EXCLUDE": "",
    "ROLLOUT_TIMEOUT_SECONDS": "1800",
    # Not the template's "petclinic-ops": Powertools binds a service's logger to the stdout it sees
    # first, and the local cloud's functions in this process log as petclinic-ops into their own
    # log groups (tests/integration reads them there).
    "POWERTOOLS_SERVICE_NAME": "resolve-deploy-unit-test",
    "POWERTOOLS_METRICS_NAMESPACE": "PetClinicOps/dev",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """functions/resolve_deploy/app.py imported as Lambda would (a fresh module: a cold start)."""
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(
        "resolve_deploy_app", ROOT / "functions/resolve_deploy/app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    module.settings.cache_clear()


def invoke(module: ModuleType, request: Any) -> Any:
    payload = {"request": request, "executionId": "arn:aws:states:us-west-2:123456789012:execution:deploy:e1"}
    return module.lambda_handler(payload, LambdaContext("resolve", ARN, 256, 10))


def event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def test_a_push_becomes_a_plan_in_the_workflows_names(handler: ModuleType) -> None:
    plan = invoke(handler, event("ecr-push-customers-service.json"))
    assert plan["action"] == "DEPLOY"
    assert plan["registry"] == "123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert plan["dedupeKey"].startswith("ecr:petclinic/dev/customers-service@sha256:")


def test_a_tag_policy_with_backslashes_is_applied(handler: ModuleType) -> None:
    """Before: DEPLOY_CONFIG was JSON assembled by string substitution; v?\\d+... broke every deploy."""
    push = event("ecr-push-customers-service.json")
    push["detail"]["image-tag"] = "v1.2.3"
    assert invoke(handler, push)["action"] == "DEPLOY"
    push["detail"]["image-tag"] = "1.2.3-rc1"
    skipped = invoke(handler, push)
    assert skipped["action"] == "SKIP"
    assert r"v?\d+\.\d+\.\d+" in skipped["reason"]


@pytest.mark.parametrize(
    ("request_file", "error"),
    [
        ("manual-deploy-malformed.json", "InvalidDeployRequest"),
        ("manual-deploy-unknown-service.json", "UnknownService"),
    ],
)
def test_a_bad_request_is_returned_as_a_rejection_not_raised(
    handler: ModuleType, request_file: str, error: str
) -> None:
    rejection = invoke(handler, event(request_file))
    assert rejection["action"] == "REJECT"
    assert rejection["error"] == error
    assert 0 < len(rejection["reason"]) <= 500


def test_a_huge_bad_request_gets_a_short_reason(handler: ModuleType) -> None:
    request = {f"field{n}": n for n in range(300)}
    rejection = invoke(handler, request)
    assert rejection["action"] == "REJECT"
    assert len(rejection["reason"]) <= 500


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLUSTER_NAME", None, "environment variable CLUSTER_NAME is not set"),
        ("SERVICE_NAMES", "a,,b", "environment variable SERVICE_NAMES: a comma-separated list"),
        ("DEPLOY_TAG_INCLUDE", "(", r"environment variable DEPLOY_TAG_INCLUDE: '\(' is not a valid regular"),
        ("ROLLOUT_TIMEOUT_SECONDS", "soon", "environment variable ROLLOUT_TIMEOUT_SECONDS"),
        ("ENVIRONMENT_NAME", None, "environment variable ENVIRONMENT_NAME is not set"),
        (
            "ENVIRONMENT_NAME",
            "staging",
            "environment variable ENVIRONMENT_NAME: Input should be 'dev' or 'prod'",
        ),
        ("REPOSITORY_PREFIX", "/petclinic/", "environment variable REPOSITORY_PREFIX: String should match"),
    ],
)
def test_a_broken_configuration_raises_naming_the_variable(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidConfiguration, match=message):
        invoke(handler, event("ecr-push-customers-service.json"))


@pytest.mark.parametrize(
    ("environment", "prefix", "repository"),
    [
        ({"ENVIRONMENT_NAME": "prod"}, "", "petclinic/prod/customers-service"),
        ({"ENVIRONMENT_NAME": "prod"}, None, "petclinic/prod/customers-service"),
        ({"ENVIRONMENT_NAME": "dev"}, "petclinic-dev-", "petclinic-dev-customers-service"),
    ],
)
def test_an_empty_or_unset_prefix_means_the_environments_repositories(
    handler: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    prefix: str | None,
    repository: str,
) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    if prefix is None:
        monkeypatch.delenv("REPOSITORY_PREFIX")
    else:
        monkeypatch.setenv("REPOSITORY_PREFIX", prefix)
    push = event("ecr-push-customers-service.json")
    push["detail"]["repository-name"] = repository
    plan = invoke(handler, push)
    assert (plan["action"], plan["service"], plan["repository"]) == (
        "DEPLOY",
        "customers-service",
        repository,
    )


def test_settings_are_read_once_per_container(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    invoke(handler, event("ecr-push-customers-service.json"))
    monkeypatch.setenv("CLUSTER_NAME", "another-cluster")
    assert invoke(handler, event("ecr-push-customers-service.json"))["cluster"] == "petclinic-dev"
