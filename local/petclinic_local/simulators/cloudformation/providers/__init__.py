"""CloudFormation's resource providers on the local cloud, one module per AWS service, as
LocalStack lays its providers out: each module registers the types of its service
(``registry.provider`` on a handler class, ``registry.known`` for a type moto's own CloudFormation
makes or nothing local can make). Every module of this package is imported here, so a new
resource type is one file: its service's module (a new module for a new service).

    apigateway              the account's CloudWatch role, stages (refused with logging and no
                            role, as API Gateway refuses them), methods, usage plans
    applicationautoscaling  scalable targets (drift), scaling policies
    cloudwatch              alarms: refused (moto skips them, no handler yet)
    ec2                     elastic IPs, NAT gateways, VPC endpoints, route tables, routes and their
                            associations, gateway attachments, security group egress; flow logs
    ecr                     repositories (drift)
    ecs                     clusters, task definitions, services (drift)
    elasticloadbalancingv2  load balancers (moto's own, no traffic)
    logs                    log groups (moto's own; drift)
    rds                     Aurora clusters (drift) and instances
    s3                      bucket policies
    secretsmanager          secrets, target attachments, rotation schedules
    servicediscovery        private DNS namespaces, services
    ssm                     parameters (moto's own; drift)
    wafv2                   web ACLs, their associations and logging configurations

The views below are what the rest of the local cloud reads: ``SIMULATED_TYPES`` (type -> handler;
``moto_compat.cloudformation`` routes those types here), ``PARTIAL`` and ``NOT_EMULATED`` (type ->
reason, for the provisioning reports), ``DRIFT_READERS`` (type -> reader, ``drift``).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from petclinic_local.simulators.cloudformation.registry import REGISTRY, Reader

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

SIMULATED_TYPES: dict[str, Any] = {name: t.handler for name, t in REGISTRY.items() if t.handler is not None}
PARTIAL: dict[str, str] = {name: t.partial for name, t in REGISTRY.items() if t.partial is not None}
NOT_EMULATED: dict[str, str] = {name: t.refused for name, t in REGISTRY.items() if t.refused is not None}
DRIFT_READERS: dict[str, Reader] = {name: t.read for name, t in REGISTRY.items() if t.read is not None}

__all__ = ["DRIFT_READERS", "NOT_EMULATED", "PARTIAL", "SIMULATED_TYPES"]
