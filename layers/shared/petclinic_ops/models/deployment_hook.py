"""What ECS sends the lifecycle-hook function and what the function answers.

ECS's payload (Amazon ECS Developer Guide, "Lifecycle hooks for Amazon ECS service deployments",
"Lifecycle payloads"; the local ECS simulator sends the same, simulators/ecs.py)::

    {"executionDetails": {"testTrafficWeights": {revision ARN: percent},
                          "productionTrafficWeights": {revision ARN: percent},
                          "serviceArn": "...", "targetServiceRevisionArn": "..."},
     "executionId": "...", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "resourceArn": "...",
     "hookDetails": {...}}

The weights are keyed by service revision ARN, not by target group: the function finds the
target groups from the service (adapters.deployment_hook). Unknown fields are ignored (ECS may
add some); a missing or mistyped one is a ValidationError the domain turns into a FAILED answer
naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Weights = dict[str, float]
SERVICE_ARN = r"^arn:aws[a-z-]*:ecs:[^:]*:\d{12}:service/[^/]+/[^/]+$"


class ExecutionDetails(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    test_traffic_weights: Weights = Field(default_factory=dict, alias="testTrafficWeights")
    production_traffic_weights: Weights = Field(default_factory=dict, alias="productionTrafficWeights")
    service_arn: str = Field(
        alias="serviceArn", pattern=r"^arn:aws[a-z-]*:ecs:[^:]*:\d{12}:service/[^/]+/[^/]+$"
    )
    target_service_revision_arn: str = Field(alias="targetServiceRevisionArn", min_length=1)

    @property
    def cluster(self) -> str:
        return self.service_arn.rsplit("/", 2)[-2]

    @property
    def service(self) -> str:
        return self.service_arn.rsplit("/", 1)[-1]

    @property
    def new_production_percent(self) -> float:
        return self.production_traffic_weights.get(self.target_service_revision_arn, 0.0)

    @property
    def baseline_revision_arn(self) -> str:
        """The revision being replaced: the other one with the most production traffic ("" when
        the new revision is the only one)."""
        others = {
            revision: weight
            for revision, weight in self.production_traffic_weights.items()
            if revision != self.target_service_revision_arn
        }
        return max(others, key=lambda revision: others[revision]) if others else ""

    @property
    def baseline_production_percent(self) -> float:
        """Production traffic on every other revision (the one being replaced)."""
        return sum(
            weight
            for revision, weight in self.production_traffic_weights.items()
            if revision != self.target_service_revision_arn
        )


class HookEvent(BaseModel):
    """One invocation of the hook by ECS."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    execution_details: ExecutionDetails = Field(alias="executionDetails")
    execution_id: str = Field(default="", alias="executionId")
    lifecycle_stage: str = Field(alias="lifecycleStage", min_length=1)
    resource_arn: str = Field(default="", alias="resourceArn")
    hook_details: dict[str, Any] = Field(default_factory=dict, alias="hookDetails")


class ServiceTargets(BaseModel):
    """Where a service's two revisions take traffic: the ALB and the two target groups."""

    model_config = ConfigDict(frozen=True)

    load_balancer: str  # app/name/id (or the ARN)
    baseline_target_group: str
    new_target_group: str
