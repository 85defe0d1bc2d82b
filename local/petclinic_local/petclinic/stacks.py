"""The PetClinic stack as the provision workflow makes it: infra/*.yaml uploaded content-addressed
to the control plane's artifact bucket, then each stack in dependency order through a change set
planned by the provision function's own domain code (``petclinic_ops.domain.provision``), so the
parameters (defaults, owned values, the operator's) are the workflow's.

``upload_templates`` is what ``petclinic-ops provision`` does on AWS before it starts the
workflow. ``provision_directly`` is the local cloud's fast path to the same stacks (LocalCloud
starts with them, in about the time the workflow would take in states alone): the same change
sets, executed without the workflow's orchestration, and the same stack policy on the data stack.
``petclinic-ops local provision`` runs the workflow itself on a cloud started without them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from petclinic_ops.domain import provision

TEMPLATE_PARAMETER = "/petclinic/{environment}/provision/templates"


def template_files(root: Path) -> dict[str, Path]:
    return {stack: root / "infra" / f"{stack}.yaml" for stack in provision.STACKS}


def upload_templates(
    *, s3: Any, ssm: Any, bucket: str, environment: str, root: Path, region: str
) -> dict[str, str]:
    """Put each template at templates/<sha256>.yaml (unchanged content, unchanged key) and record
    the set in /petclinic/{env}/provision/templates, where the workflow reads it."""
    urls = {}
    for stack, path in template_files(root).items():
        body = path.read_bytes()
        key = f"templates/{hashlib.sha256(body).hexdigest()}.yaml"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")
        urls[stack] = f"https://{bucket}.s3.{region}.amazonaws.com/{key}"
    ssm.put_parameter(
        Name=TEMPLATE_PARAMETER.format(environment=environment),
        Type="String",
        Overwrite=True,
        Value=json.dumps(urls, sort_keys=True),
        Description="The infra templates petclinic-ops provision uploaded last (the workflow reads them)",
    )
    return urls


def provision_directly(
    session: Any,
    *,
    environment: str,
    templates: Mapping[str, str],
    rotation_function_arn: str,
    permissions_boundary_arn: str,
    bucket: str,
    deployment_hook_function_arn: str = "",
    parameters: Mapping[str, Mapping[str, str]] | None = None,
    region: str,
    after_stack: Callable[[str], None] | None = None,
) -> list[provision.StackPlan]:
    """Every stack, in order, through the provision function's template check, its planning and
    its change set; ``after_stack(stack)`` runs once each stack is complete (what a person does
    between stacks: the first images pushed once the data stack holds the repositories)."""
    from petclinic_ops.adapters.provision import CloudFormationStacks, LiveResources  # noqa: PLC0415
    from petclinic_ops.adapters.templates import S3Templates  # noqa: PLC0415
    from petclinic_ops.domain import template_location  # noqa: PLC0415

    template_location.verify_templates(
        templates,
        bucket=bucket,
        region=region,
        store=S3Templates(client=session.client("s3", region_name=region)),
    )

    cfn = session.client("cloudformation", region_name=region)
    stacks = CloudFormationStacks(client=cfn, tags={"project": "petclinic", "managed-by": "petclinic-ops"})
    live = LiveResources(
        ecs=session.client("ecs", region_name=region),
        autoscaling=session.client("application-autoscaling", region_name=region),
        rds=session.client("rds", region_name=region),
    )
    plans = []
    for stack in provision.STACKS:
        plan = provision.prepare(
            provision.PrepareRequest(
                environment=environment,
                stack=stack,
                template_url=templates[stack],
                parameters=dict((parameters or {}).get(stack, {})),
                plan=False,
                change_set_name="petclinic-local-seed",
                rotation_function_arn=rotation_function_arn,
                deployment_hook_function_arn=deployment_hook_function_arn,
                permissions_boundary_arn=permissions_boundary_arn,
            ),
            stacks=stacks,
            live=live,
        )
        if plan.action == "EXECUTE":
            cfn.execute_change_set(ChangeSetName=plan.change_set_id)
        described = cfn.describe_stacks(StackName=plan.stack_name)["Stacks"][0]
        plan.status = described["StackStatus"]
        if plan.status not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
            raise RuntimeError(
                f"local stack {plan.stack_name} ended {plan.status}: {_failure(cfn, plan.stack_name)}"
            )
        plan.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if plan.stack_policy and plan.set_policy:  # as the workflow protects the data stack
            cfn.set_stack_policy(StackName=plan.stack_name, StackPolicyBody=plan.stack_policy)
        plans.append(plan)
        if after_stack is not None:
            after_stack(stack)
    return plans


def _failure(cfn: Any, name: str) -> str:
    for event in cfn.describe_stack_events(StackName=name)["StackEvents"]:
        if event["ResourceStatus"].endswith("_FAILED"):
            return f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason')}"
    return "no failed resource recorded"
