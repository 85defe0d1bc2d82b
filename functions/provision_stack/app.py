"""Plan one PetClinic stack for the provision workflow: its template checked (the control plane's
artifact bucket, content-addressed, hashed), its parameters (the stack's current
values, the values the deploy and scale workflows own read from the live resources, the
operator's; template defaults only for what the stack does not have yet), a change set, what it
would add, modify and remove, each parameter change, and the protected changes (refused in prod
unless forced). One invocation per stack; executing the change set, the stack policy and waiting
for the stack are the workflow's (SDK integrations and a task token). The use case is
petclinic_ops.domain.provision.handle, the wiring the handler kit's (petclinic_ops.handler).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.provision import CloudFormationStacks, LiveResources
from petclinic_ops.adapters.templates import S3Templates
from petclinic_ops.domain import provision
from petclinic_ops.handler import Function
from petclinic_ops.models.provision import PrepareStackInput
from petclinic_ops.settings import ProvisionSettings

kit = Function(ProvisionSettings, correlation_id="executionId", metrics=False)
settings = kit.settings
stacks = kit.once(
    lambda: CloudFormationStacks(role_arn=settings().cloudformation_role_arn, tags=provision.TAGS)
)
live = kit.once(LiveResources)
templates = kit.once(S3Templates)


@kit.handler(parse=PrepareStackInput)
def lambda_handler(event: PrepareStackInput, context: LambdaContext) -> dict[str, Any]:
    return provision.handle(
        event, settings().to_domain(), stacks=stacks(), live=live(), templates=templates(), telemetry=kit
    )
