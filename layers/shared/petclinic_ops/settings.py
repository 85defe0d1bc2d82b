"""Function settings: one pydantic model per function, read from the environment once.

The template sets each function's environment variables from its parameters. A handler reads
its settings on the first invocation (``@functools.cache``) and hands them to the domain, which
reads no environment itself. Each field's alias is the variable's name, so a bad value fails with
``InvalidConfiguration`` naming the variable, never the value (a setting is not a secret, but a
message should not echo input either).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from petclinic_ops.errors import InvalidConfiguration
from petclinic_ops.models.common import (
    DEFAULT_EXCLUDE_CHARACTERS,
    ClusterName,
    Environment,
    NameList,
    Regex,
    RepositoryPrefix,
    RolloutTimeoutSeconds,
    Strategy,
)

# Each function imports this module: a class's to_domain() imports the domain's types it builds,
# so a function loads its own models only (cold starts).
if TYPE_CHECKING:
    from petclinic_ops.domain.genai.router import RouterConfig
    from petclinic_ops.domain.provision import ProvisionConfig
    from petclinic_ops.domain.scale import ScaleContext
    from petclinic_ops.models.canary import CanaryThresholds
    from petclinic_ops.models.deploy import DeployConfig
    from petclinic_ops.models.rotation import RotationSettings


class FunctionSettings(BaseModel):
    """Base of the settings models: fields aliased to environment variable names."""

    # Built on first use (defer_build): a function validates its own settings class only.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        values = {
            alias: source[alias]
            for name, field in cls.model_fields.items()
            if (alias := field.alias or name) in source
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise InvalidConfiguration(_describe(cls, exc)) from None


def _describe(model: type[FunctionSettings], exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        variable = ".".join(str(part) for part in error["loc"]) or model.__name__
        if error["type"] == "missing":
            parts.append(f"environment variable {variable} is not set")
        else:
            parts.append(f"environment variable {variable}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


class ResolveDeploySettings(FunctionSettings):
    """functions/resolve_deploy: the deploy configuration, one plain variable per template
    parameter (no JSON assembled by string substitution, so any valid regular expression works)."""

    environment: Environment = Field(alias="ENVIRONMENT_NAME")
    cluster: ClusterName = Field(alias="CLUSTER_NAME")
    services: NameList = Field(alias="SERVICE_NAMES", min_length=1)
    # Empty: the environment's repositories, petclinic/{ENVIRONMENT_NAME}/ (the template passes
    # its RepositoryPrefix resolved the same way).
    repository_prefix: RepositoryPrefix = Field(alias="REPOSITORY_PREFIX", default="")
    tag_include: Regex = Field(alias="DEPLOY_TAG_INCLUDE", default=".+", min_length=1)
    tag_exclude: Regex = Field(alias="DEPLOY_TAG_EXCLUDE", default="")
    rollout_timeout_seconds: RolloutTimeoutSeconds = Field(alias="ROLLOUT_TIMEOUT_SECONDS", default=1800)

    def to_domain(self) -> DeployConfig:
        from petclinic_ops.models.deploy import DeployConfig, TagPolicy  # noqa: PLC0415

        return DeployConfig(
            cluster=self.cluster,
            environment=self.environment,
            services=self.services,
            repository_prefix=self.repository_prefix,
            tag_policy=TagPolicy(include=self.tag_include, exclude=self.tag_exclude or None),
            rollout_timeout_seconds=self.rollout_timeout_seconds,
        )


# --------------------------------------------------------------------------- rotate_secret


class RotateSecretSettings(FunctionSettings):
    """functions/rotate_secret: the rotation strategy, the passwords and the database connection.

    ROTATION_STRATEGY  alternating | single; unset or empty: alternating when the secret has a
                       masterarn, else single
    EXCLUDE_CHARACTERS the characters GetRandomPassword must not use
    DB_TLS             required (default; verified against the CA bundle) | disabled (local
                       databases without TLS only)
    DB_CA_BUNDLE       a CA bundle file (default: the Lambda runtime's system bundle when it
                       exists, else Python's default trust store)
    DB_CONNECT_TIMEOUT seconds per connection attempt, 0 < t <= 300 (default 5)
    """

    rotation_strategy: Strategy | None = Field(default=None, alias="ROTATION_STRATEGY")
    exclude_characters: str = Field(default=DEFAULT_EXCLUDE_CHARACTERS, alias="EXCLUDE_CHARACTERS")
    db_tls: Literal["required", "disabled"] = Field(default="required", alias="DB_TLS")
    db_ca_bundle: FilePath | None = Field(default=None, alias="DB_CA_BUNDLE")
    db_connect_timeout: float = Field(default=5.0, gt=0, le=300, alias="DB_CONNECT_TIMEOUT")

    @field_validator("rotation_strategy", "db_tls", "db_ca_bundle", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """An empty variable (a template parameter left empty) means the default; case does not matter."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return cls.model_fields[info.field_name or ""].default
            if info.field_name != "db_ca_bundle":
                return value.lower()
        return value

    @property
    def tls(self) -> bool:
        return self.db_tls == "required"

    def to_domain(self) -> RotationSettings:
        """The part the domain reads (the connection settings are the database adapter's)."""
        from petclinic_ops.models.rotation import RotationSettings  # noqa: PLC0415

        return RotationSettings(strategy=self.rotation_strategy, exclude_characters=self.exclude_characters)

    def rotation(self) -> RotationSettings:
        """The former name of ``to_domain``."""
        return self.to_domain()


# --------------------------------------------------------------------------- genai


class GenAiSettings(FunctionSettings):
    """functions/genai: the model chain, the router's limits, its tables and the PetClinic services.

    MODEL_CHAIN              comma-separated Converse model ids / prompt router ARNs, in order
    COOLDOWN_SECONDS         how long a throttled/unavailable/timed-out model is skipped (shared)
    DAILY_TOKEN_BUDGET       tokens per UTC day; DEGRADE_AT_PERCENT of it: cheapest models only
    MAX_TOKENS               per model call (the answer's length); MAX_MESSAGE_CHARS per question
    MODEL_TIMEOUT_SECONDS    read timeout of one model call (then the next model is tried)
    GUARDRAIL_ID/_VERSION    an Amazon Bedrock Guardrail applied to every call (both or neither)
    EMBEDDING_MODEL_ID       the vets' embeddings (Titan Text Embeddings V2)
    ROUTER_STATE_TABLE, CONVERSATIONS_TABLE, CONVERSATION_TTL_SECONDS
    PETCLINIC_PARAMETER_PATH Parameter Store path of the services' base URLs; CLOUD_MAP_NAMESPACE
    ALLOWED_ORIGIN           CORS origin of the PetClinic front-end ("*": any, without cookies)
    STATE_CACHE_SECONDS      how long a container reuses its read of cooldowns and budget (default 1)
    """

    model_chain: NameList = Field(
        alias="MODEL_CHAIN",
        default=("anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-text-express-v1"),
        min_length=1,
        max_length=6,
    )
    cooldown_seconds: float = Field(alias="COOLDOWN_SECONDS", default=5.0, ge=0, le=3600)
    daily_token_budget: int = Field(alias="DAILY_TOKEN_BUDGET", default=2_000_000, ge=1)
    degrade_at_percent: float = Field(alias="DEGRADE_AT_PERCENT", default=80.0, gt=0, le=100)
    max_tokens: int = Field(alias="MAX_TOKENS", default=512, ge=16, le=4096)
    max_message_chars: int = Field(alias="MAX_MESSAGE_CHARS", default=2000, ge=1, le=2000)
    model_timeout_seconds: float = Field(alias="MODEL_TIMEOUT_SECONDS", default=20.0, gt=0, le=120)
    guardrail_id: str = Field(alias="GUARDRAIL_ID", default="", max_length=2048)
    guardrail_version: str = Field(alias="GUARDRAIL_VERSION", default="", max_length=20)
    embedding_model_id: str = Field(alias="EMBEDDING_MODEL_ID", default="amazon.titan-embed-text-v2:0")
    router_state_table: str = Field(alias="ROUTER_STATE_TABLE", min_length=3)
    conversations_table: str = Field(alias="CONVERSATIONS_TABLE", min_length=3)
    conversation_ttl_seconds: int = Field(alias="CONVERSATION_TTL_SECONDS", default=86400, ge=60)
    petclinic_parameter_path: str = Field(
        alias="PETCLINIC_PARAMETER_PATH", default="/petclinic/dev/services/", pattern=r"^/(.*/)?$"
    )
    cloud_map_namespace: str = Field(alias="CLOUD_MAP_NAMESPACE", default="petclinic.local", min_length=1)
    tool_timeout_seconds: float = Field(alias="TOOL_TIMEOUT_SECONDS", default=5.0, gt=0, le=30)
    allowed_origin: str = Field(alias="ALLOWED_ORIGIN", default="*", min_length=1)
    state_cache_seconds: float = Field(alias="STATE_CACHE_SECONDS", default=1.0, ge=0, le=60)

    @field_validator("model_chain")
    @classmethod
    def _chain(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from petclinic_ops.models.genai import ModelTarget  # noqa: PLC0415

        for model_id in value:
            ModelTarget.of(model_id)  # an unknown model fails here, naming it
        return value

    @model_validator(mode="after")
    def _guardrail_pair(self) -> Self:
        if bool(self.guardrail_id) != bool(self.guardrail_version):
            raise ValueError("GUARDRAIL_ID and GUARDRAIL_VERSION are set together or not at all")
        return self

    def to_domain(self) -> RouterConfig:
        """The model router's configuration (the tables, timeouts and PetClinic's are the adapters')."""
        from petclinic_ops.domain.genai.router import RouterConfig  # noqa: PLC0415
        from petclinic_ops.models.genai import ModelTarget  # noqa: PLC0415

        guardrail = (
            {"guardrailIdentifier": self.guardrail_id, "guardrailVersion": self.guardrail_version}
            if self.guardrail_id
            else None
        )
        return RouterConfig(
            chain=tuple(ModelTarget.of(model) for model in self.model_chain),
            cooldown_seconds=self.cooldown_seconds,
            daily_token_budget=self.daily_token_budget,
            degrade_at=self.degrade_at_percent / 100,
            max_tokens=self.max_tokens,
            guardrail=guardrail,
        )


class ProvisionSettings(FunctionSettings):
    """functions/provision_stack: the role CloudFormation provisions with, the control plane's
    rotation function the data stack's application secret is wired to, its deployment lifecycle-hook
    function the services stack's ECS services call, the permissions boundary
    of the roles the stacks create, and the artifact bucket the templates must come from."""

    cloudformation_role_arn: str = Field(alias="CLOUDFORMATION_ROLE_ARN", default="")
    rotation_function_arn: str = Field(alias="ROTATION_FUNCTION_ARN", default="")
    deployment_hook_function_arn: str = Field(alias="DEPLOYMENT_HOOK_FUNCTION_ARN", default="")
    permissions_boundary_arn: str = Field(alias="PERMISSIONS_BOUNDARY_ARN", default="")
    # Templates are accepted only from here (domain.template_location); AWS_REGION is Lambda's own.
    artifact_bucket: str = Field(alias="ARTIFACT_BUCKET", min_length=3, max_length=63)
    region: str = Field(alias="AWS_REGION", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")

    def to_domain(self) -> ProvisionConfig:
        """What the provision domain reads (the role is the CloudFormation adapter's)."""
        from petclinic_ops.domain.provision import ProvisionConfig  # noqa: PLC0415

        return ProvisionConfig(
            artifact_bucket=self.artifact_bucket,
            region=self.region,
            rotation_function_arn=self.rotation_function_arn,
            deployment_hook_function_arn=self.deployment_hook_function_arn,
            permissions_boundary_arn=self.permissions_boundary_arn,
        )


def _acus(value: object) -> object:
    """Aurora capacities as a scale profile's: 0-256 ACUs in steps of 0.5 (models.scale's one rule)."""
    from petclinic_ops.models.scale import acus  # noqa: PLC0415

    return acus(value)


Acus = Annotated[float, AfterValidator(_acus)]


class ScaleSettings(FunctionSettings):
    """functions/plan_scale: the environment, its cluster and services, prod's floors and the
    prices the cost estimate uses (template parameters)."""

    environment: Environment = Field(alias="ENVIRONMENT_NAME")
    cluster: ClusterName = Field(alias="CLUSTER_NAME")
    services: NameList = Field(alias="SERVICE_NAMES", min_length=1)
    floors: dict[str, int] = Field(alias="PROD_FLOORS", default_factory=dict)
    fargate_vcpu_hour_x86: float = Field(alias="PRICE_FARGATE_VCPU_HOUR_X86", default=0.04048, ge=0)
    fargate_gb_hour_x86: float = Field(alias="PRICE_FARGATE_GB_HOUR_X86", default=0.004445, ge=0)
    fargate_vcpu_hour_arm: float = Field(alias="PRICE_FARGATE_VCPU_HOUR_ARM", default=0.03238, ge=0)
    fargate_gb_hour_arm: float = Field(alias="PRICE_FARGATE_GB_HOUR_ARM", default=0.00356, ge=0)
    aurora_acu_hour: float = Field(alias="PRICE_AURORA_ACU_HOUR", default=0.12, ge=0)
    aurora_clusters: NameList = Field(alias="AURORA_CLUSTERS", default=())
    prod_aurora_min_capacity: Acus = Field(alias="PROD_AURORA_MIN_CAPACITY", default=1.0, gt=0)
    prod_aurora_max_capacity: Acus = Field(alias="PROD_AURORA_MAX_CAPACITY", default=4.0, ge=1)
    prod_aurora_auto_pause: Literal["allowed", "refused"] = Field(
        alias="PROD_AURORA_AUTO_PAUSE", default="refused"
    )

    @field_validator("floors", mode="before")
    @classmethod
    def _service_floors(cls, value: object) -> object:
        """``name=count,name=count`` (the template joins its per-service floor parameters)."""
        if isinstance(value, str):
            floors: dict[str, int] = {}
            for pair in filter(None, (part.strip() for part in value.split(","))):
                name, sep, count = pair.partition("=")
                if not sep or not re.fullmatch(r"[0-9]{1,4}", count.strip()):
                    raise ValueError("name=count pairs, comma-separated")
                floors[name.strip()] = int(count)
            return floors
        return value

    def to_domain(self) -> ScaleContext:
        """What the scale domain checks a profile against and prices it with."""
        from petclinic_ops.domain import scale  # noqa: PLC0415

        prices = scale.Prices(
            fargate_vcpu_hour_x86=self.fargate_vcpu_hour_x86,
            fargate_gb_hour_x86=self.fargate_gb_hour_x86,
            fargate_vcpu_hour_arm=self.fargate_vcpu_hour_arm,
            fargate_gb_hour_arm=self.fargate_gb_hour_arm,
            aurora_acu_hour=self.aurora_acu_hour,
        )
        return scale.ScaleContext(
            environment=self.environment,
            cluster=self.cluster,
            services=self.services,
            floors=self.floors,
            prices=prices,
            clusters=self.aurora_clusters,
            aurora_floor=scale.AuroraFloor(
                min_capacity=self.prod_aurora_min_capacity,
                max_capacity=self.prod_aurora_max_capacity,
                auto_pause=self.prod_aurora_auto_pause == "allowed",
            ),
        )


class DeploymentHookSettings(FunctionSettings):
    """functions/deployment_hook: where the smoke test finds the origin (Parameter Store path of
    the services' URLs, the origin secret's name) and the canary judge's thresholds (template
    parameters; the defaults are CanaryThresholds')."""

    parameter_path: str = Field(
        alias="PETCLINIC_PARAMETER_PATH", default="/petclinic/dev/services/", pattern=r"^/(.*/)?$"
    )
    origin_secret: str = Field(
        alias="ORIGIN_SECRET_NAME", default="petclinic/dev/services/origin-verify", min_length=1
    )
    http_timeout_seconds: float = Field(alias="SMOKE_TIMEOUT_SECONDS", default=5.0, gt=0, le=25)
    min_requests: int = Field(alias="CANARY_MIN_REQUESTS", default=200, ge=1)
    min_latency_requests: int = Field(alias="CANARY_MIN_LATENCY_REQUESTS", default=1000, ge=1)
    z_threshold: float = Field(alias="CANARY_Z_THRESHOLD", default=3.0, gt=0, le=10)
    max_error_ratio_increase: float = Field(
        alias="CANARY_MAX_ERROR_RATIO_INCREASE", default=0.005, ge=0, le=1
    )
    p99_ratio_limit: float = Field(alias="CANARY_P99_RATIO_LIMIT", default=2.0, gt=1)
    p99_floor_ms: float = Field(alias="CANARY_P99_FLOOR_MS", default=50.0, ge=0)
    alarm_error_ratio: float = Field(alias="CANARY_ALARM_ERROR_RATIO", default=0.10, gt=0, le=1)
    callback_delay_seconds: int = Field(alias="CANARY_CALLBACK_DELAY_SECONDS", default=30, ge=1, le=900)

    def to_domain(self) -> CanaryThresholds:
        """The canary judge's thresholds (the hook's only domain configuration)."""
        from petclinic_ops.models.canary import CanaryThresholds  # noqa: PLC0415

        return CanaryThresholds(
            min_requests=self.min_requests,
            min_latency_requests=self.min_latency_requests,
            z_threshold=self.z_threshold,
            max_error_ratio_increase=self.max_error_ratio_increase,
            p99_ratio_limit=self.p99_ratio_limit,
            p99_floor_ms=self.p99_floor_ms,
            alarm_error_ratio=self.alarm_error_ratio,
            callback_delay_seconds=self.callback_delay_seconds,
        )
