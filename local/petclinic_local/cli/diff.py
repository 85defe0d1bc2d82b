"""`petclinic-ops diff SERVICE IMAGE`: the task definition the deploy workflow would register for
this image, against the one the service runs, as a readable diff. Changes nothing.

The new definition is computed by the deploy workflow's own rewrite: the JSONata expression of
statemachines/deploy.asl.json's RegisterTaskDefinition state, evaluated on what that state
would receive (DescribeTaskDefinition of the running revision with its tags, as Step Functions
hands an SDK response over: PascalCase, timestamps as ISO 8601), with ``$job.image`` the
digest-pinned image the workflow's LookupImage state would make. So it cannot drift from what
the workflow does.

Needs: cloudformation:DescribeStacks, ecr:DescribeImages, ecs:DescribeServices,
ecs:DescribeTaskDefinition.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path
from typing import Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.cli.deploy import validated_input
from petclinic_local.errors import UsageError

EXIT_OK = 0
ASL = Path(__file__).resolve().parents[3] / "statemachines" / "deploy.asl.json"
STATE = "RegisterTaskDefinition"


def rewrite_expression(asl_path: Path = ASL) -> str:
    """The JSONata text of the RegisterTaskDefinition state's Arguments (without ``{% %}``)."""
    definition = json.loads(asl_path.read_text())
    arguments = definition["States"][STATE]["Arguments"]
    if not (isinstance(arguments, str) and arguments.startswith("{%") and arguments.endswith("%}")):
        raise RuntimeError(f"{asl_path}: {STATE}.Arguments is no longer one JSONata expression")
    return arguments[2:-2].strip()


def as_step_functions_input(response: dict[str, Any]) -> dict[str, Any]:
    """A DescribeTaskDefinition response as the aws-sdk integration hands it to the next state."""
    import botocore.session  # noqa: PLC0415

    from petclinic_local.moto_compat.sdk_integrations import sfn_cased  # noqa: PLC0415

    shape = botocore.session.get_session().get_service_model("ecs").operation_model("DescribeTaskDefinition")
    body = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    cased: dict[str, Any] = sfn_cased(body, shape.output_shape)
    return cased


def registered_definition(described: dict[str, Any], image: str) -> dict[str, Any]:
    """What RegisterTaskDefinition would be called with for ``image`` (registry/repo@digest)."""
    from petclinic_local.jsonata import evaluate_jsonata  # noqa: PLC0415

    bindings = {"states": {"input": as_step_functions_input(described)}, "job": {"image": image}}
    try:
        result: dict[str, Any] = evaluate_jsonata(rewrite_expression(), bindings)
    except Exception as exc:  # the expression's own $error (no container of this repository...)
        raise UsageError(f"the deploy would fail at {STATE}: {exc}") from None
    return result


def resolve_image(plane: aws.ControlPlane, service: str, image: str) -> dict[str, Any]:
    """LookupImage: the digest and tags of a tag or digest in the service's repository."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    repository = plane.repository(service)
    image_id = {"imageDigest": image} if image.startswith("sha256:") else {"imageTag": image}
    with plane.errors(f"cannot read images of {repository}"):
        try:
            details = plane.client("ecr").describe_images(repositoryName=repository, imageIds=[image_id])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in {"ImageNotFoundException", "RepositoryNotFoundException"}:
                raise UsageError(f"image {image} not found in repository {repository}") from None
            raise
    found = details["imageDetails"][0]
    from petclinic_ops.domain.deploy import registry_host  # noqa: PLC0415

    return {
        "repository": repository,
        "digest": found["imageDigest"],
        "tags": found.get("imageTags", []),
        "image": f"{registry_host(plane.account, plane.region)}/{repository}@{found['imageDigest']}",
    }


def running_definition(plane: aws.ControlPlane, service: str) -> dict[str, Any]:
    """DescribeTaskDefinition (with tags) of the service's running revision."""
    ecs = plane.client("ecs")
    with plane.errors(f"cannot read service {service}"):
        services = ecs.describe_services(cluster=plane.cluster, services=[service]).get("services", [])
        active = [s for s in services if s.get("status") == "ACTIVE"]
        if not active:
            raise UsageError(f"service {service} is not ACTIVE in cluster {plane.cluster}")
        described: dict[str, Any] = ecs.describe_task_definition(
            taskDefinition=active[0]["taskDefinition"], include=["TAGS"]
        )
    return described


def compare(described: dict[str, Any], registered: dict[str, Any]) -> dict[str, Any]:
    """The running definition (as Step Functions sees it) against the one to register."""
    current = as_step_functions_input(described)
    running = dict(current["TaskDefinition"])
    if current.get("Tags"):
        running["Tags"] = current["Tags"]
    dropped = sorted(set(running) - set(registered))
    before = {key: value for key, value in running.items() if key in registered}
    before_text = json.dumps(before, indent=2, sort_keys=True).splitlines()
    after_text = json.dumps(registered, indent=2, sort_keys=True).splitlines()
    revision = running.get("TaskDefinitionArn", "running")
    diff = list(
        difflib.unified_diff(before_text, after_text, render.short(revision), "to register", lineterm="", n=3)
    )
    containers = []
    for old, new in zip(
        running.get("ContainerDefinitions", []), registered.get("ContainerDefinitions", []), strict=False
    ):
        if old.get("Image") != new.get("Image"):
            containers.append(
                {"container": new.get("Name"), "before": old.get("Image"), "after": new.get("Image")}
            )
    return {"taskDefinition": revision, "dropped": dropped, "changes": containers, "diff": diff}


def print_diff(out: Any, service: str, found: dict[str, Any], compared: dict[str, Any]) -> None:
    from rich.text import Text  # noqa: PLC0415

    tags = ", ".join(found["tags"]) or "untagged"
    out.print(
        f"{service}: {render.short(compared['taskDefinition'])} -> a new revision running "
        f"{render.short(found['image'])} ({tags})"
    )
    if not compared["changes"]:
        out.print(
            "no container changes: the service already runs this image "
            "(the deploy would register an identical revision)"
        )
    for change in compared["changes"]:
        out.print(
            f"  container {change['container']}: "
            f"{render.short(change['before'])} -> {render.short(change['after'])}"
        )
    out.print(f"not copied (read-only): {', '.join(compared['dropped']) or 'nothing'}")
    for line in compared["diff"]:
        style = (
            "bold"
            if line.startswith(("---", "+++"))
            else "cyan"
            if line.startswith("@@")
            else ("green" if line.startswith("+") else "red" if line.startswith("-") else "")
        )
        out.print(Text(line, style=style), soft_wrap=True)


def run(target: aws.Target, service: str, image: str, *, as_json: bool = False, session: Any = None) -> int:
    validated_input(service, image, None)
    plane = aws.control_plane(target, session=session)
    plane.service(service)
    found = resolve_image(plane, service, image)
    described = running_definition(plane, service)
    registered = registered_definition(described, found["image"])
    compared = compare(described, registered)
    if as_json:
        print(
            json.dumps(
                {"service": service, **found, **compared, "register": registered}, indent=2, default=str
            )
        )
        return EXIT_OK
    print_diff(render.console(), service, found, compared)
    return EXIT_OK


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service")
    parser.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")


@registry.command(
    "diff",
    arguments=_arguments,
    help="the task definition a deploy of IMAGE would register, against the running one (changes nothing)",
    description="Computes the task definition the deploy workflow would register for IMAGE (tag or sha256 "
    "digest) with the workflow's own rewrite (statemachines/deploy.asl.json, RegisterTaskDefinition) and "
    "shows it against the running revision as a unified diff. Reads only.",
    epilog=registry.READ_EXIT_CODES + "; image not found: 2",
    raw_description=True,
    json=registry.JSON,
    aws=registry.Aws(),
)
def _diff(args: argparse.Namespace) -> int:
    return run(aws.Target.from_args(args), args.service, args.image, as_json=args.json)
