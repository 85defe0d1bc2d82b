"""Deciding what a deploy request means: parse it, map it to a service, apply the tag policy.

Pure logic: no AWS calls. The state machine does the rest with SDK integrations (image lookup,
lease, task definition, rollout), so this is the only Lambda on a deployment's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from petclinic_ops.domain.telemetry import Telemetry
from petclinic_ops.domain.validation import describe
from petclinic_ops.errors import InvalidDeployRequest, UnknownService
from petclinic_ops.models.deploy import (
    IMAGE_CONFIG_MEDIA_TYPES,
    RESTART_STRATEGY,
    DeployConfig,
    DeployPlan,
    EcrImageActionEvent,
    ManualDeployRequest,
    ManualRestartRequest,
    RejectedRequest,
    ResolveDeployInput,
)

MAX_REASON = 500
# The tag the deploy workflow puts on every digest it deploys (ProtectImages in
# statemachines/deploy.asl.json), which the repositories' lifecycle policy keeps. ECR announces
# that tagging as a push: it is the workflow's own, never a new image to deploy.
PROTECTION_TAG_PREFIX = "deployed-"
DeployRequest = EcrImageActionEvent | ManualDeployRequest | ManualRestartRequest


def _kind(raw: Mapping[Any, Any]) -> tuple[str, type[BaseModel]]:
    if "restart" in raw:
        return "restart request", ManualRestartRequest
    if "detail-type" in raw or "source" in raw:
        return "ECR Image Action event", EcrImageActionEvent
    return "manual request", ManualDeployRequest


def parse_request(raw: Any) -> DeployRequest:
    """An ECR "Image Action" event, a manual ``{"service", "image"}`` request or a
    ``{"service", "restart": true}`` request, else an error naming the fields."""
    if not isinstance(raw, Mapping):
        raise InvalidDeployRequest(f"input must be a JSON object, got {type(raw).__name__}")
    kind, model = _kind(raw)
    try:
        return cast(DeployRequest, model.model_validate(raw))
    except ValidationError as exc:
        raise InvalidDeployRequest(f"invalid {kind}: {describe(exc)}") from None


def registry_host(account: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def resolve(raw: Any, *, config: DeployConfig, execution_id: str, account: str, region: str) -> DeployPlan:
    """The plan for one execution input; SKIP plans carry the reason nothing changes."""
    request = parse_request(raw)
    if isinstance(request, ManualDeployRequest):
        return _resolve_manual(request, config, execution_id, account, region)
    if isinstance(request, ManualRestartRequest):
        return _resolve_restart(request, config)
    return _resolve_push(request, config, account, region)


def handle(
    event: ResolveDeployInput, config: DeployConfig, *, function_arn: str, telemetry: Telemetry
) -> dict[str, Any]:
    """The resolver function's call: the plan's output, or a REJECT output for a request that
    must not be acted on (returned, not raised: a bad input is no Lambda error, which pages)."""
    _, _, _, region, account, *_ = function_arn.split(":")
    try:
        plan = resolve(
            event.request, config=config, execution_id=event.execution_id, account=account, region=region
        )
    except (InvalidDeployRequest, UnknownService) as exc:
        reason = str(exc)
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 3] + "..."
        telemetry.metric("DeployRequestsRejected", 1)
        telemetry.warning("deploy request rejected", error=type(exc).__name__, reason=reason)
        error = "UnknownService" if isinstance(exc, UnknownService) else "InvalidDeployRequest"
        return RejectedRequest(error=error, reason=reason).to_output()
    telemetry.metric(f"DeployRequests{plan.action.title()}", 1)
    telemetry.info(
        "deploy request resolved",
        action=plan.action,
        reason=plan.reason,
        ecs_service=plan.service,
        tag=plan.tag,
    )
    return plan.to_output()


def _common(config: DeployConfig) -> dict[str, Any]:
    return {
        "cluster": config.cluster,
        "rollout_timeout_seconds": config.rollout_timeout_seconds,
        "lease_seconds": config.effective_lease_seconds,
    }


def _check_known(service: str, config: DeployConfig) -> None:
    if service not in config.services:
        raise UnknownService(
            f"service {service!r} is not managed in cluster {config.cluster}; "
            f"known services: {', '.join(config.services)}"
        )


def _resolve_restart(request: ManualRestartRequest, config: DeployConfig) -> DeployPlan:
    _check_known(request.service, config)
    return DeployPlan(
        action="RESTART",
        reason=request.reason or "restart: new tasks of the running revision",
        source=request.source,
        requested_by=request.requested_by or request.source,
        service=request.service,
        secret_version=request.secret_version,
        strategy=RESTART_STRATEGY,
        **_common(config),
    )


def _resolve_manual(
    request: ManualDeployRequest, config: DeployConfig, execution_id: str, account: str, region: str
) -> DeployPlan:
    _check_known(request.service, config)
    return DeployPlan(
        action="DEPLOY",
        reason=request.reason or "manual deployment",
        source="manual",
        requested_by="manual",
        service=request.service,
        repository=config.repository_for(request.service),
        registry=registry_host(account, region),
        digest=request.image if request.is_digest else None,
        tag=None if request.is_digest else request.image,
        # Every manual execution is its own request: an operator may redeploy a digest on purpose.
        dedupe_key=f"manual:{execution_id}",
        strategy=request.strategy,
        **_common(config),
    )


def _skip(reason: str, config: DeployConfig, **fields: Any) -> DeployPlan:
    return DeployPlan(
        action="SKIP", reason=reason, source="ecr", requested_by="ecr-push", **fields, **_common(config)
    )


def _check_origin(event: EcrImageActionEvent, account: str, region: str) -> None:
    """Images deploy from this stack's own registry only: an event naming another account or
    region is not ours (a forged or misrouted event), whatever its repository says."""
    if (event.account, event.region) != (account, region):
        raise InvalidDeployRequest(
            f"invalid ECR Image Action event: it comes from account {event.account} in {event.region}; "
            f"this control plane deploys images of account {account} in {region} only"
        )


def _tag_not_deployed(tag: str | None, config: DeployConfig) -> str | None:
    """Why a push of this tag deploys nothing, or None when it deploys."""
    if tag and tag.startswith(PROTECTION_TAG_PREFIX):
        return (
            f"tag {tag} is the deploy workflow's protection of an image it deployed "
            "(kept by the lifecycle policy), not a new image"
        )
    rejected = config.tag_policy.rejects(tag)
    return f"tag policy: {rejected}" if rejected else None


def _resolve_push(event: EcrImageActionEvent, config: DeployConfig, account: str, region: str) -> DeployPlan:
    _check_origin(event, account, region)
    detail = event.detail
    known = {"repository": detail.repository_name, "tag": detail.image_tag}
    if detail.action_type != "PUSH":
        return _skip(f"{detail.action_type} events do not deploy", config, **known)
    if detail.result != "SUCCESS":
        return _skip(f"the push did not succeed (result {detail.result})", config, **known)
    if not detail.image_digest:
        raise InvalidDeployRequest(
            "invalid ECR Image Action event: detail.image-digest: is required for a PUSH"
        )
    if detail.artifact_media_type and detail.artifact_media_type not in IMAGE_CONFIG_MEDIA_TYPES:
        return _skip(f"artifact {detail.artifact_media_type} is not a container image", config, **known)
    service = config.service_for(detail.repository_name)
    if service is None:
        return _skip(config.unmapped(detail.repository_name), config, **known)
    not_deployed = _tag_not_deployed(detail.image_tag, config)
    if not_deployed:
        return _skip(not_deployed, config, service=service, **known)
    return DeployPlan(
        action="DEPLOY",
        reason=f"image pushed to {detail.repository_name}",
        source="ecr",
        requested_by="ecr-push",
        service=service,
        repository=detail.repository_name,
        # The function's own account and region, never the event's.
        registry=registry_host(account, region),
        digest=detail.image_digest,
        tag=detail.image_tag,
        # ECR delivers at least once: the same repository + digest deploys once.
        dedupe_key=f"ecr:{detail.repository_name}@{detail.image_digest}",
        **_common(config),
    )
