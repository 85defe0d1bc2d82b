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

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from petclinic_ops.domain.provision import STACKS, stack_name

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

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
    started = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["ProvisionStateMachineArn"],
        name=f"provision-{uuid.uuid4().hex[:12]}",
        input=json.dumps(request),
    )
    return str(started["executionArn"])


def provision(
    cloud: LocalCloud, request: dict[str, Any] | None = None, *, timeout: float = 600.0
) -> dict[str, Any]:
    """Run the workflow once (default: provision every stack of dev) and report it."""
    request = request if request is not None else {"environment": "dev"}
    began = time.perf_counter()
    execution_arn = start(cloud, request)
    cloud.wait_until_quiet(timeout=timeout)
    report = execution_report(cloud, execution_arn)
    report["wallSeconds"] = round(time.perf_counter() - began, 2)
    return report


def states_entered(cloud: LocalCloud, execution_arn: str) -> int:
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return sum(1 for event in history["events"] if event["type"].endswith("StateEntered"))


def execution_report(cloud: LocalCloud, execution_arn: str) -> dict[str, Any]:
    described = cloud.client("stepfunctions").describe_execution(executionArn=execution_arn)
    output = json.loads(described.get("output") or "null") or {}
    cause = _maybe_json(described.get("cause"))
    environment = json.loads(described["input"]).get("environment", "dev")
    results = output.get("stacks") or (cause.get("stacks") if isinstance(cause, dict) else None) or []
    execution: dict[str, Any] = {"executionArn": execution_arn, "status": described["status"]}
    if described["status"] != "SUCCEEDED":
        execution.update(error=described.get("error"), cause=cause)
    stacks = [_stack_report(cloud, row) for row in results]
    return {
        "execution": execution,
        "action": output.get("action") or json.loads(described["input"]).get("action", "provision"),
        "stacks": stacks,
        "notEmulated": not_emulated(cloud, environment, [row["stack"] for row in results]),
        "parameters": sorted(row["outputsParameter"] for row in results if row.get("outputsParameter")),
        "transitions": states_entered(cloud, execution_arn),
        "lambdaInvocations": _lambda_invocations(cloud, execution_arn),
    }


def _lambda_invocations(cloud: LocalCloud, execution_arn: str) -> int:
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return sum(
        1
        for event in history["events"]
        if event["type"] == "TaskScheduled"
        and "lambda" in json.dumps(event.get("taskScheduledEventDetails", {}))
    )


def _stack_report(cloud: LocalCloud, row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": row["stack"],
        "stackName": row["stackName"],
        "status": row.get("status"),
        "action": row.get("action"),
        "added": row.get("added", 0),
        "modified": row.get("modified", 0),
        "removed": row.get("removed", 0),
    }
    for key in ("changes", "parameterChanges", "protected"):
        if row.get(key):
            entry[key] = row[key]
    if row.get("parametersOnly"):
        entry["parametersOnly"] = True
    if row.get("drift") is not None:
        entry["drift"] = row["drift"]
    if row.get("reason"):
        entry["reason"] = row["reason"]
    entry["resources"] = _resources(cloud, row["stackName"])
    return entry


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
    (first images pushed, first deployments completed), so `local run` and `local rotate` work on it."""
    from petclinic_local.petclinic import seed as petclinic_seed  # noqa: PLC0415

    cfn = cloud.client("cloudformation")
    outputs = {}
    for stack in STACKS:
        described = cfn.describe_stacks(StackName=stack_name(environment, stack))["Stacks"][0]
        outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    cloud.seeded = petclinic_seed.settle(cloud.session, cloud.region, cloud.seed_spec, outputs)
    return cloud.seeded


def _maybe_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
