"""The provision workflow on the local cloud: upload infra/*.yaml to the control plane's artifact
bucket (as ``petclinic-ops provision`` does on AWS), start an execution, wait for it, and report
per stack its status, change counts and resources, its parameter changes (before -> after, NoEcho
values masked), whether only parameters change, its protected changes, what the local cloud does
not emulate, and the Parameter Store names written.

    with LocalCloud(seed=PetClinicSeed(provisioned=False)) as cloud:   # no PetClinic stack yet
        report = provision(cloud, {"environment": "dev"})               # the workflow makes it
        adopt(cloud)                                                    # first images, deployments done
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from petclinic_local import runner
from petclinic_ops.domain.provision import STACKS, stack_name

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

WORKFLOW = "ProvisionStateMachine"
PROVISION = "petclinic-ops-{environment}-provision"
STACK_EVENTS = "petclinic-ops-{environment}-stack-events"


def upload(cloud: LocalCloud, environment: str = "dev") -> dict[str, str]:
    from petclinic_local.petclinic import stacks  # noqa: PLC0415

    return stacks.upload_templates(
        s3=cloud.client("s3"),
        ssm=cloud.client("ssm"),
        bucket=cloud.outputs["ArtifactBucketName"],
        environment=environment,
        root=cloud.root,
        region=cloud.region,
    )


def start(cloud: LocalCloud, request: dict[str, Any], *, upload_templates: bool = True) -> str:
    if upload_templates and request.get("action", "provision") != "teardown":
        upload(cloud, str(request.get("environment", "dev")))
    return runner.start(cloud, WORKFLOW, request, name=run_name(request))


def run_name(request: Mapping[str, Any]) -> str:
    """The execution's name before its unique part: provision-dev, teardown-prod..."""
    return f"{request.get('action', 'provision')}-{request.get('environment', 'dev')}"


def provision(
    cloud: LocalCloud, request: dict[str, Any] | None = None, *, timeout: float = 600.0
) -> dict[str, Any]:
    """Run the workflow once (default: provision every stack of dev) and report it."""
    request = request if request is not None else {"environment": "dev"}
    began = time.perf_counter()
    execution = runner.wait(cloud, start(cloud, request), timeout=timeout)
    report = execution_report(cloud, execution["executionArn"], execution)
    report["wallSeconds"] = round(time.perf_counter() - began, 2)
    return report


def execution_report(
    cloud: LocalCloud, execution_arn: str, execution: runner.Execution | None = None
) -> dict[str, Any]:
    """``report`` of the execution, with each stack's resources, what the local cloud does not
    emulate, and the execution's transitions and Lambda invocations."""
    execution = execution or runner.describe(cloud, execution_arn)
    report = run_report(execution)
    for stack in report["stacks"]:
        stack["resources"] = _resources(cloud, stack["stackName"])
    environment = (execution["input"] or {}).get("environment", "dev")
    report["notEmulated"] = not_emulated(cloud, environment, [stack["name"] for stack in report["stacks"]])
    events = runner.history(cloud, execution_arn)
    report["transitions"] = runner.transitions(events)
    report["lambdaInvocations"] = runner.lambda_invocations(events)
    return report


# What a stack's row of the workflow's output adds to the counts, when it has it.
_PLAN_KEYS = ("changes", "parameterChanges", "parametersOnly", "protected", "drift", "reason")


def run_report(execution: runner.Execution) -> dict[str, Any]:
    """The run as the CLI reports it, on AWS and locally: the execution (status; error and cause
    when it failed), the action, per stack its status, action, change counts and its plan
    (changes, parameter changes, protected changes, drift, reason), the Parameter Store names
    written; ``notEmulated`` is the local cloud's to fill."""
    detail = runner.detail(execution)
    request = execution["input"] if isinstance(execution["input"], dict) else {}
    summary: dict[str, Any] = {"executionArn": execution["executionArn"], "status": execution["status"]}
    if execution["status"] != "SUCCEEDED":
        summary.update(error=execution.get("error"), cause=execution.get("cause"))
    rows = detail.get("stacks") or []
    return {
        "execution": summary,
        "action": detail.get("action") or request.get("action", "provision"),
        "stacks": [
            {
                "name": row["stack"],
                "stackName": row["stackName"],
                "status": row.get("status"),
                "action": row.get("action"),
                "added": row.get("added", 0),
                "modified": row.get("modified", 0),
                "removed": row.get("removed", 0),
                **{key: row[key] for key in _PLAN_KEYS if row.get(key)},
            }
            for row in rows
        ],
        "notEmulated": [],
        "parameters": sorted(row["outputsParameter"] for row in rows if row.get("outputsParameter")),
    }


def _resources(cloud: LocalCloud, name: str) -> list[dict[str, str]]:
    cfn = cloud.client("cloudformation")
    try:
        listed = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    except cfn.exceptions.ClientError:
        return []
    return sorted(
        (
            {
                "logicalId": r["LogicalResourceId"],
                "type": r["ResourceType"],
                "physicalId": r.get("PhysicalResourceId", ""),
            }
            for r in listed
        ),
        key=lambda r: r["logicalId"],
    )


def not_emulated(cloud: LocalCloud, environment: str, stacks: list[str]) -> list[dict[str, Any]]:
    """Resources of the provisioned stacks the local cloud does not hold (created: false), and
    those it holds at the API level only, whose behaviour it does not reproduce (created: true)."""
    from petclinic_local.simulators.cloudformation import NOT_EMULATED, PARTIAL  # noqa: PLC0415

    rows = []
    cfn = cloud.client("cloudformation")
    for stack in stacks:
        name = stack_name(environment, stack)
        try:
            template = cfn.get_template(StackName=name)["TemplateBody"]
        except cfn.exceptions.ClientError:
            continue
        declared = _declared(template)
        present = {r["logicalId"] for r in _resources(cloud, name)}
        for logical_id, kind in sorted(declared.items()):
            if logical_id not in present:
                reason = NOT_EMULATED.get(
                    kind, "the local cloud made no such resource (condition false or skipped)"
                )
                if kind in NOT_EMULATED:
                    rows.append(
                        {
                            "stack": stack,
                            "logicalId": logical_id,
                            "type": kind,
                            "reason": reason,
                            "created": False,
                        }
                    )
            elif kind in PARTIAL:
                rows.append(
                    {
                        "stack": stack,
                        "logicalId": logical_id,
                        "type": kind,
                        "reason": PARTIAL[kind],
                        "created": True,
                    }
                )
    return rows


def _declared(template: Any) -> dict[str, str]:
    if isinstance(template, str):
        import yaml  # noqa: PLC0415
        from moto.cloudformation.utils import yaml_tag_constructor  # noqa: PLC0415

        class Loader(yaml.CSafeLoader):  # type: ignore[misc]
            pass

        Loader.add_multi_constructor("", yaml_tag_constructor)
        template = yaml.load(template, Loader=Loader)  # noqa: S506 - CSafeLoader with the intrinsic tags
    return {logical_id: spec["Type"] for logical_id, spec in template.get("Resources", {}).items()}


def adopt(cloud: LocalCloud, environment: str = "dev") -> dict[str, Any]:
    """After a provision from nothing: what the local cloud's seed does once the stacks exist
    (first images pushed; the services, created at 0 tasks, running their counts), so `local run`
    and `local rotate` work on it."""
    from petclinic_local.petclinic import seed as petclinic_seed  # noqa: PLC0415

    cfn = cloud.client("cloudformation")
    outputs = {}
    for stack in STACKS:
        described = cfn.describe_stacks(StackName=stack_name(environment, stack))["Stacks"][0]
        outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    petclinic_seed.push_first_images(cloud.region, cloud.seed_spec)
    cloud.seeded = petclinic_seed.settle(cloud.session, cloud.region, cloud.seed_spec, outputs)
    return cloud.seeded
