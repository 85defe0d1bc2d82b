"""The lifecycle hook ECS invokes during a blue/green, canary or linear deployment of a PetClinic
service: a smoke test through the test route after test traffic shifts, the canary judge on each
production step (petclinic_ops.domain.deployment_hook says what it answers, and why).

ECS invokes it synchronously with its hook role and reads ``hookStatus`` (and ``callBackDelay``,
``hookDetails``) from the answer; a payload that is not ECS's is answered FAILED naming the field,
never with a traceback. The wiring is the handler kit's (petclinic_ops.handler); the AWS reads are
adapters.deployment_hook's, built on first use (no boto3 on the cold start).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.deployment_hook import AwsHookPorts
from petclinic_ops.domain import deployment_hook
from petclinic_ops.handler import Function
from petclinic_ops.settings import DeploymentHookSettings

kit = Function(DeploymentHookSettings, correlation_id="executionId")
settings = kit.settings

ports = kit.once(lambda: AwsHookPorts.from_settings(settings()), patch=("botocore",))


@kit.handler()
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return deployment_hook.handle(event, settings().to_domain(), ports(), kit)
