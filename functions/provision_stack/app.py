"""Plan one PetClinic stack for the provision workflow: its template checked (the control plane's
artifact bucket, content-addressed, hashed), its parameters (the stack's current
values, the values the deploy and scale workflows own read from the live resources, the
operator's; template defaults only for what the stack does not have yet), a change set, what it
would add, modify and remove, each parameter change, and the protected changes (refused in prod
unless forced). One invocation per stack; executing the change set, the stack policy and waiting
for the stack are the workflow's (SDK integrations and a task token).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.provision import CloudFormationStacks, LiveResources
from petclinic_ops.adapters.templates import S3Templates
from petclinic_ops.domain import provision, template_location
from petclinic_ops.models.provision import PrepareStackInput
from petclinic_ops.settings import ProvisionSettings

logger = Logger()
tracer = Tracer(auto_patch=False)


@cache
def settings() -> ProvisionSettings:
    return ProvisionSettings.from_environ()


@cache
def ports() -> tuple[CloudFormationStacks, LiveResources]:
    config = settings()
    tags = {"project": "petclinic", "managed-by": "petclinic-ops"}
    return CloudFormationStacks(role_arn=config.cloudformation_role_arn, tags=tags), LiveResources()


@cache
def templates() -> S3Templates:
    return S3Templates()


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=PrepareStackInput)
def lambda_handler(event: PrepareStackInput, context: LambdaContext) -> dict[str, Any]:
    stacks, live = ports()
    logger.info(
        "preparing stack",
        extra={"stack": event.stack, "environment": event.environment, "action": event.action},
    )
    if event.action == "drift":
        checked = provision.check_drift(event.environment, event.stack, stacks=stacks).to_output()
        logger.info(
            "drift checked", extra={"stackName": checked["stackName"], "drift": checked["drift"]["status"]}
        )
        return checked
    # Only the control plane's own templates, each hashed, before any change set (the run's
    # templates with its first stack, this stack's own every time).
    template_location.verify_templates(
        {**event.templates, event.stack: event.template_url},
        bucket=settings().artifact_bucket,
        region=settings().region,
        store=templates(),
    )
    request = provision.PrepareRequest(
        environment=event.environment,
        stack=event.stack,
        template_url=event.template_url,
        parameters=event.parameters,
        plan=event.plan,
        change_set_name=event.change_set_name,
        rotation_function_arn=settings().rotation_function_arn,
        permissions_boundary_arn=settings().permissions_boundary_arn,
        force=event.force,
    )
    plan = provision.prepare(request, stacks=stacks, live=live)
    output = plan.to_output()
    logger.info(
        "stack prepared",
        extra={
            **{k: output[k] for k in ("stackName", "action", "status", "added", "modified", "removed")},
            "parametersChanged": [p["name"] for p in output["parameterChanges"]],
            "parametersOnly": output["parametersOnly"],
            "protected": [p["logicalId"] for p in output["protected"]],
        },
    )
    return output
