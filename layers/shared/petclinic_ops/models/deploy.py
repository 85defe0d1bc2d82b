"""Models of the deploy workflow: its inputs (ECR events, manual requests), its configuration
and the plan the resolver hands back to the state machine."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from petclinic_ops.models.common import (
    ClusterName,
    Environment,
    NameList,
    RepositoryPrefix,
    RolloutTimeoutSeconds,
    environment_repository_prefix,
)
from petclinic_ops.models.common import Regex as Regex  # noqa: PLC0414 - re-exported

# \A and \Z, not ^ and $: "$" also matches before a trailing newline.
DIGEST_PATTERN = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
# ECR's own rule for tags.
TAG_PATTERN = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
SERVICE_PATTERN = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,254}\Z")
# Artifacts pushed next to images (signatures, SBOMs, attestations) carry their own config
# media type; only these are runnable container images.
IMAGE_CONFIG_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.oci.image.config.v1+json",
    }
)


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


# --------------------------------------------------------------------------- inputs


def _digest(value: str) -> str:
    if not DIGEST_PATTERN.match(value):
        raise ValueError("must be sha256: followed by 64 lowercase hex digits")
    return value


def _tag(value: str) -> str:
    if not TAG_PATTERN.match(value):
        raise ValueError(
            "must be an image tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        )
    return value


def _service(value: str) -> str:
    if not SERVICE_PATTERN.match(value):
        raise ValueError("must be an ECS service name (letters, digits, '-' and '_')")
    return value


def _image(value: str) -> str:
    if not (DIGEST_PATTERN.match(value) or TAG_PATTERN.match(value)):
        raise ValueError(
            "must be an image tag (e.g. 3.4.1) or a digest (sha256: and 64 lowercase hex digits)"
        )
    return value


Digest = Annotated[str, AfterValidator(_digest)]
ImageTag = Annotated[str, AfterValidator(_tag)]
ServiceName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_service)]
ImageReference = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_image)]
# ECS's deploymentConfiguration.strategy values: a request may choose one for its deployment.
DeploymentStrategy = Literal["ROLLING", "CANARY", "LINEAR", "BLUE_GREEN"]
DEPLOYMENT_STRATEGIES: tuple[str, ...] = get_args(DeploymentStrategy)
# A restart (the running revision again, the rotation rollout's path) never starts a canary of an
# unchanged image: it always deploys by this strategy, whatever the service is configured with.
RESTART_STRATEGY: DeploymentStrategy = "ROLLING"


class EcrImageAction(BaseModel):
    """``detail`` of an EventBridge "ECR Image Action" event: ``result`` (SUCCESS or FAILURE),
    ``action-type`` (PUSH, DELETE, REPLICATE), ``repository-name``, ``image-digest``, ``image-tag``
    and, on newer events, the artifact and manifest media types. ECR delivers at least once."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    result: str = Field(max_length=32)
    action_type: str = Field(alias="action-type", max_length=32)
    repository_name: str = Field(alias="repository-name", min_length=2, max_length=256)
    image_digest: Digest | None = Field(default=None, alias="image-digest")
    image_tag: ImageTag | None = Field(default=None, alias="image-tag")
    artifact_media_type: str | None = Field(default=None, alias="artifact-media-type")
    manifest_media_type: str | None = Field(default=None, alias="manifest-media-type")


class EcrImageActionEvent(BaseModel):
    """The EventBridge envelope with an ECR detail (Powertools' EventBridgeModel shape)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(max_length=128)
    source: Literal["aws.ecr"]
    detail_type: Literal["ECR Image Action"] = Field(alias="detail-type")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(min_length=1)
    time: datetime
    detail: EcrImageAction


class ManualRestartRequest(BaseModel):
    """A new deployment of the service's running revision, so new tasks read the secrets anew:
    ``{"service": "vets-service", "restart": true}``. The rotation rollout sends these (with
    ``source: "rotation"`` and the secret version) for every service that reads a rotated secret.
    Strict: ``restart`` is the JSON boolean true (1 is not a restart request)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    service: ServiceName
    restart: Literal[True]
    reason: str | None = Field(default=None, max_length=256)
    source: Literal["manual", "rotation"] = "manual"
    requested_by: str | None = Field(default=None, alias="requestedBy", min_length=1, max_length=256)
    secret_version: str | None = Field(default=None, alias="secretVersion", min_length=1, max_length=64)

    @field_validator("restart", mode="before")
    @classmethod
    def _the_boolean_true(cls, value: Any) -> Any:
        if value is not True:  # pydantic's Literal[True] takes 1 and 1.0 for True, even when strict
            raise ValueError(f"Input should be True (the JSON boolean), not {value!r:.40}")
        return value


class ManualDeployRequest(BaseModel):
    """Input of a manual execution: ``{"service": "customers-service", "image": "1.4.2"}``, with
    ``"strategy"`` (ROLLING, CANARY, LINEAR or BLUE_GREEN) to deploy by that strategy instead of
    the service's configured one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    service: ServiceName
    image: ImageReference
    reason: str | None = Field(default=None, max_length=256)
    strategy: DeploymentStrategy | None = None

    @property
    def is_digest(self) -> bool:
        return bool(DIGEST_PATTERN.match(self.image))


# --------------------------------------------------------------------------- configuration


class TagPolicy(CamelModel):
    """Which pushed tags an environment deploys automatically (manual requests bypass it)."""

    include: Regex = ".+"
    exclude: Regex | None = None
    deploy_untagged: bool = False

    def rejects(self, tag: str | None) -> str | None:
        """The reason this tag is not deployed automatically, or None when it is."""
        if tag is None:
            return None if self.deploy_untagged else "the image was pushed without a tag"
        if not re.fullmatch(self.include, tag):
            return f"tag {tag!r} does not match the include pattern '{self.include}'"
        if self.exclude and re.fullmatch(self.exclude, tag):
            return f"tag {tag!r} matches the exclude pattern '{self.exclude}'"
        return None


class DeployConfig(CamelModel):
    """What the resolver decides against: built from the function's settings (environment
    variables the template sets from its parameters), so a change is a reviewed `sam deploy`."""

    cluster: ClusterName
    # The environment this control plane operates: its repositories are its own (below).
    environment: Environment
    services: NameList = Field(min_length=1)
    # Each service's repository is this + its name; empty: the environment's, petclinic/{env}/.
    repository_prefix: RepositoryPrefix = ""
    # Repository name -> service name, for repositories that do not follow the prefix rule.
    repositories: dict[str, str] = Field(default_factory=dict)
    tag_policy: TagPolicy = Field(default_factory=TagPolicy)
    rollout_timeout_seconds: RolloutTimeoutSeconds = 1800
    lease_seconds: int | None = Field(default=None, ge=1, le=86400)

    @model_validator(mode="after")
    def _check(self) -> DeployConfig:
        unknown = sorted(set(self.repositories.values()) - set(self.services))
        if unknown:
            raise ValueError(f"repositories: map to services that are not listed: {', '.join(unknown)}")
        return self

    @property
    def effective_lease_seconds(self) -> int:
        """A lease outlives a rollout and its rollback, so only a dead execution loses it."""
        return self.lease_seconds or 2 * self.rollout_timeout_seconds + 300

    @property
    def effective_repository_prefix(self) -> str:
        return self.repository_prefix or environment_repository_prefix(self.environment)

    def repository_for(self, service: str) -> str:
        for repository, mapped in self.repositories.items():
            if mapped == service:
                return repository
        return f"{self.effective_repository_prefix}{service}"

    def service_for(self, repository: str) -> str | None:
        if repository in self.repositories:
            return self.repositories[repository]
        prefix = self.effective_repository_prefix
        if repository.startswith(prefix):
            name = repository[len(prefix) :]
            if name in self.services:
                return name
        return None

    def unmapped(self, repository: str) -> str:
        """Why a repository that service_for maps to nothing is not deployed; another environment's
        (same account, its own control plane) is said to be so."""
        prefix = self.effective_repository_prefix
        if repository.startswith(prefix):
            return f"repository {repository} maps to no managed service"
        ours = f"this control plane deploys {self.environment}'s, {prefix}<service>"
        for other in get_args(Environment):
            if other != self.environment and repository.startswith(environment_repository_prefix(other)):
                return f"repository {repository} is the {other} environment's ({ours})"
        return f"repository {repository} maps to no managed service ({ours})"


# --------------------------------------------------------------------------- output


class DeployPlan(CamelModel):
    """What the resolver decided; the state machine reads it by these (camelCase) names."""

    action: Literal["DEPLOY", "RESTART", "SKIP"]
    reason: str
    source: Literal["ecr", "manual", "rotation"]
    requested_by: str
    cluster: str
    service: str | None = None
    repository: str | None = None
    registry: str | None = None
    # What to look up in ECR: the digest when known, else the tag (manual requests by tag).
    digest: str | None = None
    tag: str | None = None
    dedupe_key: str | None = None
    secret_version: str | None = None
    # The deployment strategy the request chose (a restart: always ROLLING); None: the service's own.
    strategy: DeploymentStrategy | None = None
    rollout_timeout_seconds: int
    lease_seconds: int

    def to_output(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class RejectedRequest(CamelModel):
    """A request the workflow must not act on: it ends FAILED with ``error`` and ``reason``
    without touching the dedupe table, the lease or the ledger. Returned, not raised, so a bad
    input does not count as a Lambda error (which pages)."""

    action: Literal["REJECT"] = "REJECT"
    error: Literal["InvalidDeployRequest", "UnknownService"]
    reason: str = Field(max_length=1000)

    def to_output(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class ResolveDeployInput(CamelModel):
    """Payload the deploy state machine sends to the resolver Lambda."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    request: Any
    execution_id: str = Field(min_length=1)
