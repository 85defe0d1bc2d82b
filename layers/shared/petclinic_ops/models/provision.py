"""The provision function's input (what the provision workflow passes for one stack)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class PrepareStackInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    action: Literal["provision", "drift"] = "provision"
    environment: Literal["dev", "prod"]
    stack: Literal["network", "data", "services", "edge"]
    # Which URLs are accepted is the domain's check (domain.template_location), which names them.
    template_url: str = Field(alias="templateUrl", default="", max_length=2048)
    # The run's templates (stack -> URL), sent with its first stack: all are checked before the
    # first change set of the run.
    templates: dict[str, Annotated[str, Field(max_length=2048)]] = Field(default_factory=dict, max_length=4)
    parameters: dict[str, str] = Field(default_factory=dict)
    plan: bool = False
    # prod: a change set that replaces or deletes a protected resource is refused without it
    force: bool = False
    change_set_name: str = Field(alias="changeSetName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    execution_id: str = Field(alias="executionId", default="")
