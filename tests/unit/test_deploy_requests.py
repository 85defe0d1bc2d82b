"""Resolving deploy requests: event parsing, service mapping, tag policy, configuration."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from petclinic_ops.domain.deploy import parse_request, registry_host, resolve
from petclinic_ops.errors import InvalidDeployRequest, UnknownService
from petclinic_ops.models.deploy import DeployConfig, EcrImageActionEvent, ManualDeployRequest, TagPolicy

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:e1"
CONFIG = DeployConfig(
    cluster="petclinic-dev",
    environment="dev",
    services=("customers-service", "vets-service", "visits-service", "admin-server"),
)


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def plan(raw: Any, config: DeployConfig = CONFIG) -> Any:
    return resolve(raw, config=config, execution_id=EXECUTION, account="123456789012", region="us-west-2")


# --------------------------------------------------------------------------- ECR events


def test_a_push_to_a_service_repository_deploys_its_digest() -> None:
    push = event("ecr-push-customers-service.json")
    result = plan(push)
    assert result.action == "DEPLOY"
    assert result.service == "customers-service"
    assert result.repository == "petclinic/dev/customers-service"
    assert result.digest == push["detail"]["image-digest"]
    assert result.tag == "1.1.0"
    assert result.registry == "123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert result.dedupe_key == f"ecr:petclinic/dev/customers-service@{push['detail']['image-digest']}"
    assert result.source == "ecr"


def test_the_plan_the_workflow_reads_uses_camel_case() -> None:
    output = plan(event("ecr-push-customers-service.json")).to_output()
    assert {"action", "dedupeKey", "rolloutTimeoutSeconds", "leaseSeconds", "requestedBy"} <= set(output)
    assert output["leaseSeconds"] == 2 * 1800 + 300


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("ecr-delete.json", "DELETE events do not deploy"),
        ("ecr-push-failed.json", "did not succeed (result FAILURE)"),
        (
            "ecr-push-unknown-repository.json",
            "repository petclinic/dev/billing-service maps to no managed service",
        ),
        ("ecr-push-untagged.json", "pushed without a tag"),
    ],
)
def test_events_that_change_nothing_say_why(file: str, reason: str) -> None:
    result = plan(event(file))
    assert result.action == "SKIP"
    assert reason in result.reason


def test_replicate_events_do_not_deploy() -> None:
    replicate = event("ecr-push-customers-service.json")
    replicate["detail"]["action-type"] = "REPLICATE"
    assert plan(replicate).action == "SKIP"


@pytest.mark.parametrize(
    ("environment", "repository", "reason"),
    [
        (
            "dev",
            "petclinic/prod/customers-service",
            "repository petclinic/prod/customers-service is the prod environment's "
            "(this control plane deploys dev's, petclinic/dev/<service>)",
        ),
        (
            "prod",
            "petclinic/dev/customers-service",
            "repository petclinic/dev/customers-service is the dev environment's "
            "(this control plane deploys prod's, petclinic/prod/<service>)",
        ),
        (
            "dev",
            "petclinic/customers-service",
            "repository petclinic/customers-service maps to no managed service "
            "(this control plane deploys dev's, petclinic/dev/<service>)",
        ),
    ],
)
def test_a_push_to_another_environments_repository_is_not_this_control_planes(
    environment: str, repository: str, reason: str
) -> None:
    """Dev and prod share an account: each control plane deploys its own environment's pushes only
    (its rule does not match the other's; were one delivered, the resolver skips it, saying whose)."""
    push = event("ecr-push-customers-service.json")
    push["detail"]["repository-name"] = repository
    result = plan(push, CONFIG.model_copy(update={"environment": environment}))
    assert (result.action, result.service, result.reason) == ("SKIP", None, reason)
    own = push | {
        "detail": push["detail"] | {"repository-name": f"petclinic/{environment}/customers-service"}
    }
    assert plan(own, CONFIG.model_copy(update={"environment": environment})).action == "DEPLOY"


@pytest.mark.parametrize(
    ("prefix", "repository"),
    [
        ("", "petclinic/dev/vets-service"),  # empty: the environment's, as the data stack names them
        ("petclinic/dev/", "petclinic/dev/vets-service"),
        ("petclinic-dev-", "petclinic-dev-vets-service"),  # no "/": used verbatim all the same
        ("team/petclinic/", "team/petclinic/vets-service"),
    ],
)
def test_the_repository_prefix_is_used_verbatim_and_empty_means_the_environments(
    prefix: str, repository: str
) -> None:
    config = CONFIG.model_copy(update={"repository_prefix": prefix})
    assert config.repository_for("vets-service") == repository
    assert config.service_for(repository) == "vets-service"
    push = event("ecr-push-customers-service.json")
    push["detail"]["repository-name"] = repository
    assert (plan(push, config).action, plan(push, config).service) == ("DEPLOY", "vets-service")
    assert plan({"service": "vets-service", "image": "2.0.1"}, config).repository == repository


@pytest.mark.parametrize("prefix", ["Petclinic/", "/petclinic/", "-dev-", "petclinic dev/", "x" * 201])
def test_a_repository_prefix_ecr_could_not_name_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="repository_prefix"):
        DeployConfig(cluster="c", environment="dev", services=("a",), repository_prefix=prefix)


def test_signatures_and_sboms_pushed_beside_images_do_not_deploy() -> None:
    signature = event("ecr-push-customers-service.json")
    signature["detail"]["artifact-media-type"] = "application/vnd.dev.cosign.artifact.sig.v1+json"
    result = plan(signature)
    assert result.action == "SKIP"
    assert "not a container image" in result.reason


def test_a_push_without_a_digest_is_malformed() -> None:
    with pytest.raises(InvalidDeployRequest, match=r"detail\.repository-name: is required"):
        plan(event("ecr-push-malformed.json"))
    no_digest = event("ecr-push-customers-service.json")
    del no_digest["detail"]["image-digest"]
    with pytest.raises(InvalidDeployRequest, match="image-digest: is required"):
        plan(no_digest)


def test_an_event_from_another_source_is_rejected() -> None:
    other = event("ecr-push-customers-service.json")
    other["source"] = "aws.s3"
    with pytest.raises(InvalidDeployRequest, match="invalid ECR Image Action event: source"):
        parse_request(other)


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha256:abc123", "image-digest: must be sha256: followed by 64 lowercase hex digits"),
        ("latest", "image-digest: must be sha256:"),
        ("sha256:" + "A" * 64, "image-digest: must be sha256:"),
        ("sha512:" + "a" * 128, "image-digest: must be sha256:"),
        ("sha256:" + "a" * 64 + "\n", "image-digest: must be sha256:"),
    ],
)
def test_a_push_with_a_digest_ecr_never_produces_is_rejected(digest: str, message: str) -> None:
    """Before: the digest was taken as it came and deployed as repo@<that>."""
    push = event("ecr-push-customers-service.json")
    push["detail"]["image-digest"] = digest
    with pytest.raises(InvalidDeployRequest, match=message):
        plan(push)


@pytest.mark.parametrize("tag", ["x" * 129, "-leading-dash", ".hidden", "with space", "über", "a/b"])
def test_a_push_with_a_tag_ecr_never_produces_is_rejected(tag: str) -> None:
    push = event("ecr-push-customers-service.json")
    push["detail"]["image-tag"] = tag
    with pytest.raises(InvalidDeployRequest, match="image-tag: must be an image tag"):
        plan(push)


@pytest.mark.parametrize(
    ("account", "region"), [("999999999999", "us-west-2"), ("123456789012", "eu-west-1")]
)
def test_an_event_from_another_account_or_region_is_rejected(account: str, region: str) -> None:
    """Before: an ECR-shaped event naming another account or region was deployed, pulling from
    that account's registry."""
    push = event("ecr-push-customers-service.json")
    push["account"], push["region"] = account, region
    with pytest.raises(InvalidDeployRequest, match=f"comes from account {account} in {region}"):
        plan(push)


def test_the_registry_is_the_functions_own() -> None:
    result = resolve(
        event("ecr-push-customers-service.json") | {"account": "111122223333", "region": "eu-west-1"},
        config=CONFIG,
        execution_id=EXECUTION,
        account="111122223333",
        region="eu-west-1",
    )
    assert result.registry == "111122223333.dkr.ecr.eu-west-1.amazonaws.com"


def test_a_restart_request() -> None:
    result = plan({"service": "vets-service", "restart": True, "reason": "credentials rotated"})
    assert (result.action, result.service, result.source, result.digest, result.tag) == (
        "RESTART",
        "vets-service",
        "manual",
        None,
        None,
    )
    assert result.reason == "credentials rotated"
    rotation = plan(
        {
            "service": "vets-service",
            "restart": True,
            "source": "rotation",
            "requestedBy": "rotation of petclinic/dev/aurora/app (operator)",
            "secretVersion": "v-1",
        }
    )
    assert (rotation.source, rotation.requested_by, rotation.secret_version) == (
        "rotation",
        "rotation of petclinic/dev/aurora/app (operator)",
        "v-1",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"service": "vets-service", "restart": False}, "restart: Input should be True"),
        # A number or a string is not a boolean (1 was taken as true: a restart nobody asked for).
        ({"service": "vets-service", "restart": 1}, "restart: Input should be True"),
        ({"service": "vets-service", "restart": 1.0}, "restart: Input should be True"),
        ({"service": "vets-service", "restart": True, "image": "1.0"}, "image: is not a known field"),
        ({"service": "vets service", "restart": True}, "service: must be an ECS service name"),
        ({"service": "vets-service", "restart": True, "source": "ecr"}, "source: Input should be"),
    ],
)
def test_a_malformed_restart_request_names_the_field(raw: Any, message: str) -> None:
    with pytest.raises(InvalidDeployRequest, match="invalid restart request") as raised:
        plan(raw)
    assert message in str(raised.value)


def test_a_restart_of_an_unknown_service_is_refused() -> None:
    with pytest.raises(UnknownService, match="known services"):
        plan({"service": "billing-service", "restart": True})


def test_repository_overrides_map_to_services() -> None:
    config = DeployConfig(
        cluster="c",
        environment="dev",
        services=("customers-service",),
        repositories={"legacy/customers": "customers-service"},
    )
    push = event("ecr-push-customers-service.json")
    push["detail"]["repository-name"] = "legacy/customers"
    assert plan(push, config).service == "customers-service"
    assert config.repository_for("customers-service") == "legacy/customers"


# --------------------------------------------------------------------------- tag policy


@pytest.mark.parametrize(
    ("policy", "tag", "deploys"),
    [
        (TagPolicy(), "1.2.3", True),
        (TagPolicy(include=r"v?[0-9]+\.[0-9]+\.[0-9]+"), "1.2.3", True),
        (TagPolicy(include=r"v?[0-9]+\.[0-9]+\.[0-9]+"), "1.2.3-rc1", False),
        (TagPolicy(exclude="dev-.*|latest"), "latest", False),
        (TagPolicy(exclude="dev-.*|latest"), "dev-42", False),
        (TagPolicy(exclude="dev-.*|latest"), "1.2.3", True),
        (TagPolicy(), None, False),
        (TagPolicy(deploy_untagged=True), None, True),
    ],
)
def test_tag_policy(policy: TagPolicy, tag: str | None, deploys: bool) -> None:
    assert (policy.rejects(tag) is None) is deploys


def test_a_tag_the_policy_excludes_changes_nothing_and_says_why() -> None:
    config = CONFIG.model_copy(update={"tag_policy": TagPolicy(exclude="1\\..*")})
    result = plan(event("ecr-push-customers-service.json"), config)
    assert result.action == "SKIP"
    assert result.reason == "tag policy: tag '1.1.0' matches the exclude pattern '1\\..*'"


def test_the_workflows_own_protection_tag_changes_nothing_whatever_the_tag_policy() -> None:
    """ProtectImages tags each digest it deploys deployed-<hex>: ECR announces it as a push of
    that tag, which must not deploy the image again (for the running revision's image, that
    would roll the service back once its delivery row has expired)."""
    push = event("ecr-push-customers-service.json")
    hex_digest = push["detail"]["image-digest"].removeprefix("sha256:")
    push["detail"]["image-tag"] = f"deployed-{hex_digest}"
    for config in (CONFIG, CONFIG.model_copy(update={"tag_policy": TagPolicy(include="deployed-.*")})):
        result = plan(push, config)
        assert result.action == "SKIP"
        assert result.reason.startswith(f"tag deployed-{hex_digest} is the deploy workflow's protection")


def test_an_invalid_pattern_is_a_configuration_error_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"tagPolicy\.include"):
        DeployConfig.model_validate(
            {"cluster": "c", "environment": "dev", "services": ["a"], "tagPolicy": {"include": "("}}
        )


def test_configuration_is_checked() -> None:
    with pytest.raises(ValidationError, match="names must be unique"):
        DeployConfig(cluster="c", environment="dev", services=("a", "a"))
    with pytest.raises(ValidationError, match="not listed: b"):
        DeployConfig(cluster="c", environment="dev", services=("a",), repositories={"r": "b"})


# --------------------------------------------------------------------------- manual requests


def test_a_manual_request_by_tag() -> None:
    result = plan({"service": "vets-service", "image": "2.0.1", "reason": "hotfix"})
    assert (result.action, result.service, result.tag, result.digest) == (
        "DEPLOY",
        "vets-service",
        "2.0.1",
        None,
    )
    assert result.repository == "petclinic/dev/vets-service"
    assert result.reason == "hotfix"
    assert result.dedupe_key == f"manual:{EXECUTION}"


def test_a_manual_request_by_digest() -> None:
    digest = "sha256:" + "a" * 64
    result = plan({"service": "vets-service", "image": digest})
    assert (result.digest, result.tag) == (digest, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"service": "customers-service", "imgae": "1.1.0"},
            "image: is required; imgae: is not a known field",
        ),
        ({"service": "customers-service"}, "image: is required"),
        ({"image": "1.1.0"}, "service: is required"),
        ({"service": "customers-service", "image": "sha256:abc"}, "image: must be an image tag"),
        ({"service": "customers-service", "image": "-bad"}, "image: must be an image tag"),
        ({"service": "customers service", "image": "1.0"}, "service: must be an ECS service name"),
        ({"service": "customers-service", "image": 7}, "image: Input should be a valid string"),
        (["customers-service"], "input must be a JSON object, got list"),
        ("customers-service", "input must be a JSON object, got str"),
    ],
)
def test_a_malformed_manual_request_names_the_field(raw: Any, message: str) -> None:
    with pytest.raises(InvalidDeployRequest) as raised:
        plan(raw)
    assert message in str(raised.value)


@pytest.mark.parametrize("strategy", ["ROLLING", "CANARY", "LINEAR", "BLUE_GREEN"])
def test_a_manual_request_may_choose_the_deployment_strategy(strategy: str) -> None:
    result = plan({"service": "vets-service", "image": "2.0.1", "strategy": strategy})
    assert (result.action, result.strategy) == ("DEPLOY", strategy)
    assert result.to_output()["strategy"] == strategy


def test_without_a_strategy_the_service_deploys_by_its_own() -> None:
    assert plan({"service": "vets-service", "image": "2.0.1"}).strategy is None
    assert plan(event("ecr-push-customers-service.json")).to_output()["strategy"] is None


@pytest.mark.parametrize("strategy", ["canary", "BLUEGREEN", "", 1, None, ["CANARY"]])
def test_an_unknown_strategy_is_refused_naming_the_field_and_the_allowed_values(strategy: Any) -> None:
    raw = {"service": "vets-service", "image": "2.0.1", "strategy": strategy}
    if strategy is None:  # null is absent: the service's own strategy
        assert plan(raw).strategy is None
        return
    with pytest.raises(InvalidDeployRequest, match="invalid manual request") as raised:
        plan(raw)
    message = str(raised.value)
    assert "strategy:" in message
    for allowed in ("ROLLING", "CANARY", "LINEAR", "BLUE_GREEN"):
        assert allowed in message


def test_a_restart_always_deploys_rolling() -> None:
    """A rotation restart never starts a canary of an unchanged image."""
    assert plan({"service": "vets-service", "restart": True}).strategy == "ROLLING"
    with pytest.raises(InvalidDeployRequest, match="strategy: is not a known field"):
        plan({"service": "vets-service", "restart": True, "strategy": "CANARY"})


def test_an_unknown_service_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownService, match="known services: customers-service, vets-service"):
        plan(event("manual-deploy-unknown-service.json"))


def test_parsing_does_not_mutate_the_input() -> None:
    raw = event("ecr-push-customers-service.json")
    before = copy.deepcopy(raw)
    plan(raw)
    assert raw == before


def test_registry_hosts() -> None:
    assert registry_host("111122223333", "eu-west-1") == "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
    assert registry_host("111122223333", "cn-north-1") == "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"


# --------------------------------------------------------------------------- properties

TAGS = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
DIGESTS = st.from_regex(r"\Asha256:[0-9a-f]{64}\Z")


@given(image=st.one_of(TAGS, DIGESTS))
def test_every_valid_tag_or_digest_is_accepted(image: str) -> None:
    request = ManualDeployRequest(service="vets-service", image=image)
    assert request.is_digest == image.startswith("sha256:")


@given(image=st.text(min_size=1, max_size=40))
def test_anything_else_is_refused(image: str) -> None:
    valid = (image[0].isascii() and (image[0].isalnum() or image[0] == "_")) and all(
        c.isascii() and (c.isalnum() or c in "._-") for c in image
    )
    try:
        ManualDeployRequest(service="vets-service", image=image)
    except ValidationError:
        assert not valid
    else:
        assert valid


@given(tag=st.one_of(st.none(), TAGS))
def test_a_push_either_deploys_or_says_why_not(tag: str | None) -> None:
    push = event("ecr-push-customers-service.json")
    if tag is None:
        del push["detail"]["image-tag"]
    else:
        push["detail"]["image-tag"] = tag
    result = plan(push)
    assert result.action in {"DEPLOY", "SKIP"}
    assert result.reason
    assert isinstance(parse_request(push), EcrImageActionEvent)
