"""CloudFormation as the local cloud runs it, by concern, as LocalStack lays its CloudFormation out.

Stand-in, not the real thing: moto's CloudFormation creates most of the PetClinic templates'
resources itself (VPC, subnets, ALB, ECS, ECR, IAM, KMS, logs, SSM...); for the types it skips
or gets wrong, a resource provider here creates the resource through that service's API-level
moto backend (boto3 calls to the embedded moto, exactly as a resource handler calls the service
API), so the local cloud really holds the Aurora cluster, the secrets, the Cloud Map namespace
and services, the Application Auto Scaling targets and policies, the WAF web ACL and the API
stage. ``moto_compat.cloudformation`` routes those types here, records each resource event and
applies the planned updates and the stack policy.

    registry.py   the resource types the local cloud knows: ``provider`` (a handler class),
                  ``known`` (moto's own, or refused); what each does not reproduce (partial),
                  how drift detection reads it back
    providers/    one module per AWS service with its handlers (rds, secretsmanager,
                  servicediscovery, wafv2, apigateway, applicationautoscaling, ecs, ecr, ec2, s3,
                  cloudwatch, elasticloadbalancingv2, logs, ssm); ``SIMULATED_TYPES``, ``PARTIAL``,
                  ``NOT_EMULATED``, ``DRIFT_READERS``
    api.py        the providers' clients of the embedded moto, properties as the APIs take them
    events.py     stack and resource events on EventBridge (``StackEvents``), injected faults
    drift.py      DetectStackDrift: the template's properties against the live values
    template.py   a template and its parameters resolved as CloudFormation resolves them
    schemas.py    the resource provider schemas: create-only properties, custom names
    changes.py    the change-set engine: an update planned (Modify, Details, Replacement) and
                  how executing it goes (replacements as new physical resources)
    policy.py     what a stack policy allows of a planned update

Adding a resource type is one file: a handler class decorated with ``@provider("AWS::X::Y")`` in
``providers/<service>.py`` (a new module for a new service is imported by ``providers`` itself),
or ``known("AWS::X::Y", refused="why")`` there for a type the local cloud cannot create. Its
facts (``partial``, ``read``) sit beside it. ``tests/local/test_cloudformation_providers.py``
checks that every type infra/ uses is created locally (by moto or a provider) or refused.

What the handlers do not reproduce: the real providers' validation of every property, and an
UPDATE rollback restores the previous template and status only (resources already modified in
place stay modified).
"""

from __future__ import annotations

from petclinic_local.simulators.cloudformation.api import plain
from petclinic_local.simulators.cloudformation.drift import resource_drift
from petclinic_local.simulators.cloudformation.events import StackEvents, StackFault
from petclinic_local.simulators.cloudformation.providers import (
    DRIFT_READERS,
    NOT_EMULATED,
    PARTIAL,
    SIMULATED_TYPES,
)
from petclinic_local.simulators.cloudformation.registry import Created

__all__ = [
    "DRIFT_READERS",
    "NOT_EMULATED",
    "PARTIAL",
    "SIMULATED_TYPES",
    "Created",
    "StackEvents",
    "StackFault",
    "plain",
    "resource_drift",
]
