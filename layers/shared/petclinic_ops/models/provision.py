"""The provision function's input (what the provision workflow passes for one stack)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PrepareStackInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    action: Literal["provision", "drift"] = "provision"
    environment: Literal["dev", "prod"]
    stack: Literal["network", "data", "services", "edge"]
    template_url: str = Field(alias="templateUrl", default="", pattern=r"^(https://\S+)?$")
    parameters: dict[str, str] = Field(default_factory=dict)
    plan: bool = False
    # prod: a change set that replaces or deletes a protected resource is refused without it
    force: bool = False
    change_set_name: str = Field(alias="changeSetName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    execution_id: str = Field(alias="executionId", default="")
