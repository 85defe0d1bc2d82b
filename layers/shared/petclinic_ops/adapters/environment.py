"""Configuration handed to a function by the template, as JSON in an environment variable.

The template builds it from its parameters, so changing it is a reviewed `sam deploy`; reading it
costs no API call and no boto3 import on the cold start.
"""

from __future__ import annotations

import os
from functools import cached_property

from pydantic import ValidationError

from petclinic_ops.domain.validation import describe
from petclinic_ops.errors import InvalidConfiguration
from petclinic_ops.models.deploy import DeployConfig


class EnvironmentConfig:
    def __init__(self, variable: str = "DEPLOY_CONFIG") -> None:
        self.variable = variable

    @cached_property
    def _deploy(self) -> DeployConfig:
        raw = os.environ.get(self.variable)
        if not raw:
            raise InvalidConfiguration(f"environment variable {self.variable} is not set")
        try:
            return DeployConfig.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidConfiguration(f"environment variable {self.variable}: {describe(exc)}") from None

    def deploy_config(self) -> DeployConfig:
        return self._deploy
