"""`petclinic-ops status [SERVICE]`: what runs now, per service: the task definition revision,
the image (tag and digest), the PRIMARY deployment's rollout state (with the deployment strategy,
and for a CANARY, LINEAR or BLUE_GREEN deployment in flight its lifecycle stage and the new
revision's share of production and test traffic), desired/running/pending
tasks, the deploy lease (the execution holding it, the deployment in flight, the request
queued behind it) and the last ledger row. One screen for the four services.

Needs: cloudformation:DescribeStacks, ecs:DescribeServices, ecs:DescribeTaskDefinition,
ecr:DescribeImages (tags of pinned images), ecs:ListServiceDeployments and
ecs:DescribeServiceDeployments (a progressive deployment in flight), dynamodb:GetItem on the
leases table, dynamodb:Query on the ledger table, states:DescribeExecution and
states:GetExecutionHistory on a lease holder's execution (is it alive; until when it waits for ECS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from petclinic_local import runner
from petclinic_local.cli import aws, registry, render
from petclinic_local.cli.history import item_to_row, ledger

EXIT_OK = 0


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of ``registry/repo:tag`` or ``registry/repo@sha256:...``."""
    name, _, digest = image.partition("@")
    path = name.partition("/")[2] if "." in name.partition("/")[0] else name
    repository, _, tag = path.partition(":")
    return repository, tag or None, digest or None


def _service_container(definition: dict[str, Any], service: str, repository: str) -> dict[str, Any]:
    containers = definition.get("containerDefinitions", [])
    for container in containers:
        if container.get("name") == service:
            return dict(container)
    for container in containers:
        if split_image(container.get("image", ""))[0] == repository:
            return dict(container)
    return dict(containers[0]) if containers else {}


def _image_tags(plane: aws.ControlPlane, repository: str, image_id: dict[str, str]) -> dict[str, Any]:
    """ECR's record of the image: its digest and tags ({} when ECR does not know it)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        details = plane.client("ecr").describe_images(repositoryName=repository, imageIds=[image_id])
    except (ClientError, BotoCoreError):
        return {}  # no tag to show: the image is gone, or ECR may not be read
    found = details.get("imageDetails", [])
    return dict(found[0]) if found else {}


def lease(plane: aws.ControlPlane, service: str) -> dict[str, Any] | None:
    """The deploy lease of the service: held by an execution, with what is in flight and queued."""
    table = plane.output("LeasesTableName")
    with plane.errors(f"cannot read the leases table {table}"):
        item = (
            plane.client("dynamodb")
            .get_item(TableName=table, Key={"service": {"S": service}}, ConsistentRead=True)
            .get("Item")
        )
    if not item:
        return None
    row = item_to_row(item)
    if "leaseHolder" not in row and "pendingRequest" not in row:
        return None
    expires = row.get("leaseExpiresAt")
    holder = row.get("leaseHolder")
    held = {
        "holder": holder,
        "kind": row.get("leaseKind"),
        "expiresAt": dt.datetime.fromtimestamp(expires / 1000, dt.UTC).isoformat() if expires else None,
        "inflight": _json(row.get("inflight")),
        "pendingRequest": _json(row.get("pendingRequest")),
        "parked": "taskToken" in row,
    }
    if holder:
        held |= _holder(plane, holder, parked=held["parked"])
    return held


def _holder(plane: aws.ControlPlane, execution_arn: str, *, parked: bool) -> dict[str, Any]:
    """Is the lease's holder still running (a dead one's lease is taken over by the next
    request), and, while it waits on ECS (its token parked), until when it waits: the wait's
    TaskScheduled event, its time plus its timeout (what Step Functions enforces)."""
    sfn = plane.client("stepfunctions")
    with plane.errors(f"cannot read the lease holder {execution_arn}"):
        status = runner.describe(plane, execution_arn)["status"]
        found: dict[str, Any] = {"holderStatus": status, "holderAlive": status == "RUNNING"}
        if not (parked and status == "RUNNING"):
            return found
        events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=50)
    for event in events.get("events", []):
        if event["type"] == "TaskScheduled":
            timeout = event.get("taskScheduledEventDetails", {}).get("timeoutInSeconds")
            if timeout:
                deadline = event["timestamp"] + dt.timedelta(seconds=int(timeout))
                found["waitDeadline"] = deadline.astimezone(dt.UTC).isoformat()
            break
    return found


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


PROGRESSIVE = ("CANARY", "LINEAR", "BLUE_GREEN")


def traffic(plane: aws.ControlPlane, service: str) -> dict[str, Any]:
    """The service's CANARY, LINEAR or BLUE_GREEN deployment in flight: its lifecycle stage and the
    new revision's requested share of production and test traffic ({} when there is none, or ECS's
    service deployments cannot be read)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    ecs = plane.client("ecs")
    try:
        running = ecs.list_service_deployments(
            cluster=plane.cluster, service=service, status=["IN_PROGRESS", "ROLLBACK_IN_PROGRESS"]
        )["serviceDeployments"]
        if not running:
            return {}
        [deployment] = ecs.describe_service_deployments(
            serviceDeploymentArns=[running[0]["serviceDeploymentArn"]]
        )["serviceDeployments"]
    except (ClientError, BotoCoreError, ValueError):
        return {}  # shown without the split: the status of the rest still stands
    target = deployment.get("targetServiceRevision") or {}
    return {
        "stage": deployment.get("lifecycleStage"),
        "productionPercent": target.get("requestedProductionTrafficWeight"),
        "testPercent": target.get("requestedTestTrafficWeight"),
        "serviceDeployment": deployment.get("serviceDeploymentArn"),
    }


def describe(plane: aws.ControlPlane, services: list[str]) -> list[dict[str, Any]]:
    ecs = plane.client("ecs")
    with plane.errors(f"cannot read services of cluster {plane.cluster}"):
        described = []
        for start in range(0, len(services), 10):
            answer = ecs.describe_services(cluster=plane.cluster, services=services[start : start + 10])
            described += answer.get("services", [])
    by_name = {service["serviceName"]: service for service in described}
    return [_status(plane, name, by_name.get(name)) for name in services]


def _status(plane: aws.ControlPlane, name: str, service: dict[str, Any] | None) -> dict[str, Any]:
    status: dict[str, Any] = {"service": name, "cluster": plane.cluster}
    last = ledger(plane, name, 1)
    status["lease"] = lease(plane, name)
    status["lastDeployment"] = last[0] if last else None
    if service is None or service.get("status") != "ACTIVE":
        status["status"] = service.get("status", "MISSING") if service else "MISSING"
        return status
    arn = service["taskDefinition"]
    with plane.errors(f"cannot read task definition {arn}"):
        definition = plane.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    repository = plane.repository(name)
    container = _service_container(definition, name, repository)
    image = container.get("image", "")
    _, tag, digest = split_image(image)
    if digest and status["lastDeployment"] and status["lastDeployment"].get("digest") == digest:
        tag = status["lastDeployment"].get("tag")
    elif digest or tag:
        known = _image_tags(plane, repository, {"imageDigest": digest} if digest else {"imageTag": tag or ""})
        digest = digest or known.get("imageDigest")
        tag = tag or next(iter(known.get("imageTags", [])), None)
    primary: dict[str, Any] = next(
        (d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {}
    )
    status |= {
        "status": service["status"],
        "taskDefinition": arn,
        "revision": definition.get("revision"),
        "image": image,
        "tag": tag,
        "digest": digest,
        "rollout": {
            "state": primary.get("rolloutState"),
            "reason": primary.get("rolloutStateReason"),
            "deploymentId": primary.get("id"),
            "strategy": (service.get("deploymentConfiguration") or {}).get("strategy", "ROLLING"),
        },
        "deployments": len(service.get("deployments", [])),
        "desired": service.get("desiredCount"),
        "running": service.get("runningCount"),
        "pending": service.get("pendingCount"),
    }
    if status["rollout"]["strategy"] in PROGRESSIVE and status["rollout"]["state"] == "IN_PROGRESS":
        status["rollout"] |= traffic(plane, name)
    return status


def _rollout_text(rollout: dict[str, Any]) -> str:
    """IN_PROGRESS, and for a progressive deployment its strategy, stage and the new revision's
    share of production (and test) traffic: "IN_PROGRESS CANARY PRODUCTION_TRAFFIC_SHIFT 10% (test 100%)"."""
    state = rollout.get("state") or "-"
    style = {"COMPLETED": "green", "FAILED": "red", "IN_PROGRESS": "blue"}.get(state, "white")
    text = f"[{style}]{state}[/{style}]"
    if rollout.get("strategy") in PROGRESSIVE:
        text += f" {rollout['strategy']}"
    if rollout.get("stage"):
        text += f" {rollout['stage']} {rollout.get('productionPercent', 0):g}%"
        if rollout.get("testPercent"):
            text += f" (test {rollout['testPercent']:g}%)"
    return text


def _lease_text(held: dict[str, Any] | None) -> str:
    if not held:
        return "free"
    parts = []
    if held.get("holder"):
        inflight = held.get("inflight") or {}
        job = inflight.get("job") or {}
        what = job.get("tag") or render.short(job.get("digest")) if job else ""
        phase = f" ({inflight.get('phase')})" if inflight.get("phase") else ""
        # The whole ARN: what `aws stepfunctions describe-execution/stop-execution` take (runbook).
        parts.append(f"held by {held['holder']}{': ' + what if what else ''}{phase}")
        if held.get("holderAlive") is False:
            parts.append(
                f"that execution is {held.get('holderStatus')}: the next request takes the lease over"
            )
        elif held.get("waitDeadline"):
            parts.append(
                f"it waits for ECS until {held['waitDeadline'][11:19]} UTC, then inspects the rollout"
            )
    queued = held.get("pendingRequest")
    if queued:
        parts.append(
            f"queued: {queued.get('tag') or render.short(queued.get('digest')) or queued.get('kind')}"
        )
    return "; ".join(parts) or "free"


def _last_text(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    what = row.get("tag") or ("restart" if row.get("kind") == "restart" else render.short(row.get("digest")))
    started = (row.get("startedAt") or "")[:19].replace("T", " ")
    return f"{render.styled(row.get('result', '?'))} {what} {started}"


def _lease_summary(held: dict[str, Any] | None) -> str:
    if not held:
        return "free"
    summary = "held" if held.get("holder") else "free"
    if held.get("holderAlive") is False:
        summary += " (dead)"
    return summary + (" +queued" if held.get("pendingRequest") else "")


def status_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in ("service", "rev", "tag", "digest", "rollout", "tasks d/r/p", "lease", "last deployment"):
        table.add_column(column, overflow="fold", no_wrap=column not in {"lease", "last deployment"})
    for row in rows:
        if "taskDefinition" not in row:
            table.add_row(row["service"], "-", "-", "-", f"[red]{row['status']}[/red]", "-", "-", "-")
            continue
        table.add_row(
            row["service"],
            str(row.get("revision") or render.revision(row["taskDefinition"])),
            row.get("tag") or "-",
            render.short(row.get("digest")),
            _rollout_text(row["rollout"])
            + (f" ({row['deployments']} deployments)" if row["deployments"] > 1 else ""),
            f"{row['desired']}/{row['running']}/{row['pending']}",
            _lease_summary(row.get("lease")),
            _last_text(row.get("lastDeployment")),
        )
    return table


def run(target: aws.Target, service: str | None = None, *, as_json: bool = False, session: Any = None) -> int:
    plane = aws.control_plane(target, session=session)
    services = [plane.service(service)] if service else list(plane.services)
    rows = describe(plane, services)
    if as_json:
        print(
            json.dumps(
                {"stack": plane.stack, "cluster": plane.cluster, "services": rows}, indent=2, default=str
            )
        )
        return EXIT_OK
    out = render.console()
    render.print_table(out, status_table(rows, f"{plane.cluster} ({plane.stack}, {plane.region})"))
    for row in rows:  # the lease in full: which execution, what it deploys, what waits behind it
        if row.get("lease"):
            out.print(f"{row['service']}: {_lease_text(row['lease'])}", soft_wrap=True)
    return EXIT_OK


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", nargs="?", help="one service (default: every service the stack manages)")


@registry.command(
    "status",
    arguments=_arguments,
    help="per service: revision, image, rollout, tasks, the deploy lease and the last deployment",
    description="What runs now, per service (or one): task definition revision, image tag and digest, the "
    "PRIMARY deployment's rollout state, desired/running/pending tasks, the execution holding the deploy "
    "lease (and what is in flight and queued behind it), the last ledger row.",
    epilog=registry.READ_EXIT_CODES,
    raw_description=True,
    json=registry.JSON,
    aws=registry.Aws(),
)
def _status_command(args: argparse.Namespace) -> int:
    return run(aws.Target.from_args(args), args.service, as_json=args.json)
