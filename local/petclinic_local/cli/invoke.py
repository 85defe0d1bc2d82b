"""`petclinic-ops local invoke FUNCTION --event FILE [--env-vars FILE] [--endpoint-url URL]`:
`sam local invoke` without Docker.

The function is named by its logical id in template.yaml and runs in this process (the local
cloud's Lambda runtime, ``stack.lambda_runtime``) with what the template gives it: its CodeUri,
its layers, its handler, and its Environment with Globals merged and every reference resolved,
as the template is deployed. ``--env-vars`` takes SAM's JSON format (``{"Parameters": {VAR:
value}, "<LogicalId>": {VAR: value}}``; the function's own entry wins) and, as in SAM, overrides
only the variables the template declares for the function. The handler's return value is
printed as JSON on stdout and its logs go to stderr; when it raises, the error payload (Lambda's
``errorType``/``errorMessage``) is printed and the exit code is 1.

Where its AWS calls go:
* without ``--endpoint-url``: a fresh local cloud in this process (template deployed, PetClinic
  seeded), so a handler that calls ECR or Secrets Manager finds them;
* with ``--endpoint-url``: the `petclinic-ops local serve` endpoint (the stack ``--stack``
  deployed there): the function's configuration is read from it (Lambda
  GetFunctionConfiguration of the stack's function) and the handler's clients are pointed at it.

Not what the Lambda service runs: the handler runs in this Python (3.11) on this machine's
architecture, with this environment's packages rather than the layer's `sam build` output, no
memory limit and no timeout enforced. `sam local invoke` (Docker) runs the built artifacts in
the Lambda image: use it to check packaging, native wheels and the runtime itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

EXIT_OK, EXIT_RAISED = 0, 1
TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def read_json(path: str, what: str) -> Any:
    """A JSON file (``-``: stdin), or a UsageError naming it and what is wrong (unreadable, not
    UTF-8, not JSON, nested too deeply for Python's parser)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: the {what} file is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise UsageError(f"{path}: the {what} file nests too deeply to read") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None


def env_overrides(path: str | None, logical_id: str, name: str) -> dict[str, str]:
    """The variables an --env-vars file sets for this function: ``Parameters`` for every
    function, then the function's own entry (by logical id, else by function name)."""
    if path is None:
        return {}
    document = read_json(path, "--env-vars")
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise UsageError(
            f"{path}: SAM's --env-vars format is a JSON object of objects: "
            '{"Parameters": {"VAR": "value"}, "<LogicalId>": {"VAR": "value"}}'
        )
    own = document.get(logical_id) or document.get(name) or {}
    merged = {**document.get("Parameters", {}), **own}
    for key, value in merged.items():
        if isinstance(value, dict | list) or value is None:
            raise UsageError(f"{path}: {key} must be a string, number or boolean")
    return {
        key: json.dumps(value) if isinstance(value, bool) else str(value) for key, value in merged.items()
    }


def with_overrides(spec: Any, overrides: dict[str, str], say: Any) -> Any:
    declared = {key: value for key, value in overrides.items() if key in spec.environment}
    ignored = sorted(set(overrides) - set(declared))
    if ignored:
        say(
            f"--env-vars: {', '.join(ignored)} not declared in the template for {spec.logical_id}: "
            "ignored (as SAM does)"
        )
    return dataclasses.replace(spec, environment={**spec.environment, **declared})


def _template(path: Path) -> dict[str, Any]:
    """The template at ``path`` (YAML or JSON), or a UsageError naming what is wrong with it."""
    import yaml  # noqa: PLC0415 - the SAM translator's parser (load_template)

    from petclinic_local.stack.template import load_template  # noqa: PLC0415

    try:
        template = load_template(path)
    except OSError as exc:
        raise UsageError(f"--template {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--template {path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise UsageError(f"--template {path}: not YAML or JSON ({_first_line(exc)})") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise UsageError(f"--template {path}: not a SAM template (no Resources mapping)")
    return template


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _code_location(template_path: Path, logical_id: str) -> tuple[Path, tuple[Path, ...]]:
    """CodeUri and layer ContentUri folders of a function (Globals' layers first, as SAM merges)."""
    template = _template(template_path)
    try:
        return _code_folders(template, template_path.parent, logical_id, template_path.name)
    except (AttributeError, TypeError) as exc:  # a Properties, Globals or Layers of the wrong kind
        raise UsageError(
            f"--template {template_path}: {logical_id} is not a function this command can read ({exc})"
        ) from None


def _code_folders(
    template: dict[str, Any], root: Path, logical_id: str, name: str
) -> tuple[Path, tuple[Path, ...]]:
    found = {
        key: resource
        for key, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function"
    }
    if logical_id not in found:
        raise UsageError(f"unknown function {logical_id!r}: {name} has {', '.join(sorted(found)) or 'none'}")
    props = found[logical_id].get("Properties") or {}
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    layers = []
    for layer in [*globals_.get("Layers", []), *props.get("Layers", [])]:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        content = template["Resources"].get(ref, {}).get("Properties", {}).get("ContentUri") if ref else None
        if not isinstance(content, str):
            raise UsageError(f"{logical_id}: only layers defined in the template run locally, got {layer!r}")
        layers.append(root / content)
    code = props.get("CodeUri") or globals_.get("CodeUri")
    if not isinstance(code, str):
        raise UsageError(f"{logical_id}: CodeUri must be a local folder")
    return root / code, tuple(layers)


def spec_from_endpoint(target: aws.Target, logical_id: str, template_path: Path) -> Any:
    """The function as the endpoint's stack deployed it: its configuration from Lambda, its code
    and layers from the template's folders."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from petclinic_local.stack.deploy import FunctionSpec  # noqa: PLC0415

    code_dir, layer_dirs = _code_location(template_path, logical_id)
    session = aws.session_for(target)
    with aws.aws_errors(session, f"cannot read function {logical_id} of stack {target.stack}", usage=True):
        try:
            resource = session.client("cloudformation").describe_stack_resource(
                StackName=target.stack, LogicalResourceId=logical_id
            )["StackResourceDetail"]
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            if message.startswith("Stack with id"):
                raise UsageError(f"stack {target.stack} not found in {target.endpoint_url}") from None
            if "does not exist" in message:
                raise UsageError(
                    f"stack {target.stack} at {target.endpoint_url} has no function {logical_id}"
                ) from None
            raise
        config = session.client("lambda").get_function_configuration(
            FunctionName=resource["PhysicalResourceId"]
        )
    return FunctionSpec(
        logical_id=logical_id,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        code_dir=code_dir,
        handler=config["Handler"],
        layer_dirs=layer_dirs,
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        timeout=int(config.get("Timeout", 3)),
        memory=int(config.get("MemorySize", 128)),
        log_group=f"/aws/lambda/{config['FunctionName']}",
    )


def invoke(
    spec: Any, event: Any, region: str, extra_environment: dict[str, str] | None = None
) -> tuple[Any, bool, str]:
    from petclinic_local.stack.lambda_runtime import LambdaRuntime  # noqa: PLC0415

    if extra_environment:
        spec = dataclasses.replace(spec, environment={**spec.environment, **extra_environment})
    return LambdaRuntime({spec.logical_id: spec}, region=region).invoke(spec.name, event)


def _report(function: str, payload: Any, errored: bool, logs: str) -> int:
    if logs:
        print(logs, end="" if logs.endswith("\n") else "\n", file=sys.stderr)
    print(json.dumps(payload, default=str))
    if errored:
        error = payload if isinstance(payload, dict) else {}
        print(
            f"petclinic-ops: {function} raised {error.get('errorType', 'an error')}: "
            f"{error.get('errorMessage', '')}",
            file=sys.stderr,
        )
        return EXIT_RAISED
    return EXIT_OK


def run(
    function: str,
    event_path: str,
    *,
    env_vars: str | None = None,
    target: aws.Target | None = None,
    template: Path = TEMPLATE,
) -> int:
    event = read_json(event_path, "event")
    say = render.stderr_console().print
    if target is not None and target.endpoint_url:
        spec = spec_from_endpoint(target, function, template)
        spec = with_overrides(spec, env_overrides(env_vars, spec.logical_id, spec.name), say)
        region = aws.session_for(target).region_name
        payload, errored, logs = invoke(
            spec, event, region, aws.local_endpoint_environment(target.endpoint_url)
        )
        return _report(function, payload, errored, logs)
    _code_location(template, function)  # an unknown function is refused before the cloud starts
    if template.name != "template.yaml":
        raise UsageError(
            f"--template {template}: a fresh local cloud deploys the folder's template.yaml (with the code "
            "folders it names); name it so, or use --endpoint-url"
        )
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415 - moto is slow to import

    with render.stderr_console().status("starting the local cloud", spinner="dots"):
        try:
            cloud = LocalCloud(root=template.parent).__enter__()
        except FileNotFoundError as exc:  # a CodeUri or ContentUri that is not there
            raise UsageError(f"--template {template}: {exc}") from None
    try:
        assert cloud.stack is not None
        if function not in cloud.stack.functions:
            raise UsageError(
                f"function {function} is not deployed (a condition of template.yaml leaves it out)"
            )
        spec = cloud.stack.functions[function]
        spec = with_overrides(spec, env_overrides(env_vars, spec.logical_id, spec.name), say)
        payload, errored, logs = invoke(spec, event, cloud.region)
    finally:
        cloud.close()
    return _report(function, payload, errored, logs)


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="logical id, e.g. ResolveDeployFunction")
    parser.add_argument("--event", "-e", required=True, metavar="FILE", help="the event (JSON; - for stdin)")
    parser.add_argument(
        "--env-vars",
        "-n",
        metavar="FILE",
        help='SAM\'s env vars JSON: {"Parameters": {...}, "<LogicalId>": {...}}',
    )
    parser.add_argument(
        "--template",
        "-t",
        type=Path,
        default=None,
        metavar="FILE",
        help="default: the project's template.yaml",
    )


@registry.command(
    "local invoke",
    arguments=_arguments,
    help="run a function of template.yaml with an event, without Docker (sam local invoke)",
    description="Runs FUNCTION (its logical id in template.yaml) in-process with its CodeUri, layers, "
    "handler, and Environment (Globals merged) from the template, against a fresh local cloud (or "
    "--endpoint-url: a `local serve` endpoint). The result is printed as JSON on stdout, the logs on stderr.",
    epilog="exit codes: 0 the handler returned, 1 it raised (the error payload is printed, and the error "
    "type and message on stderr), 2 bad input (unknown function, unreadable event, --env-vars or "
    "--template file)",
    raw_description=True,
    aws=registry.Aws(),
    fresh_cloud=True,  # without --endpoint-url
)
def _invoke(args: argparse.Namespace) -> int:
    return run(
        args.function,
        args.event,
        env_vars=args.env_vars,
        target=aws.Target.from_args(args),
        **({"template": args.template} if args.template else {}),
    )
