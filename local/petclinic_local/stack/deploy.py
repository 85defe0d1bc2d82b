"""Deploy the real template.yaml into the embedded moto, the way `sam deploy` would.

`sam package` step: zip each CodeUri/ContentUri folder and DefinitionUri file into (moto) S3 and
point the template at them. Transform with the SAM translator offline (``stack.template``).
`create_stack` in moto's CloudFormation. What moto's CloudFormation gets wrong or skips (KMS key
policies, CommaDelimitedList defaults, state machines created where they cannot run, rotation
schedules) is worked around by the steps in ``moto_compat.cloudformation``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petclinic_local.moto_compat import cloudformation as cfn_gaps
from petclinic_local.stack.template import load_template, transform

ARTIFACT_BUCKET = "petclinic-ops-local-artifacts"


@dataclass(frozen=True)
class FunctionSpec:
    """How to run one function in-process: what Lambda would unpack into /var/task and /opt."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]
    timeout: int
    memory: int
    log_group: str
    role_arn: str = ""  # the execution role; "": none (runs as no principal)


@dataclass
class DeployedStack:
    name: str
    outputs: dict[str, str]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    resources: dict[str, str] = field(default_factory=dict)  # logical id -> physical id


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(folder).as_posix())
    return buffer.getvalue()


class _Packager:
    def __init__(self, root: Path, s3: Any) -> None:
        self.root = root
        self.s3 = s3
        self.keys: dict[str, Path] = {}
        s3.create_bucket(
            Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name}
        )

    def upload(self, relative: str, *, zipped: bool) -> str:
        path = (self.root / relative).resolve()
        if not path.exists():
            raise FileNotFoundError(f"template points at {relative}, which does not exist under {self.root}")
        key = f"{relative.strip('/').replace('/', '-')}{'.zip' if zipped else ''}"
        body = _zip_folder(path) if zipped else path.read_bytes()
        self.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)
        self.keys[key] = path
        return f"s3://{ARTIFACT_BUCKET}/{key}"

    def package(self, template: dict[str, Any]) -> dict[str, Any]:
        packaged: dict[str, Any] = json.loads(json.dumps(template))
        for resource in packaged.get("Resources", {}).values():
            props = resource.get("Properties", {})
            kind = resource.get("Type")
            if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
                props["CodeUri"] = self.upload(props["CodeUri"], zipped=True)
            elif kind == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
                props["ContentUri"] = self.upload(props["ContentUri"], zipped=True)
            elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
                props["DefinitionUri"] = self.upload(props["DefinitionUri"], zipped=False)
        return packaged

    def local_path(self, s3_location: dict[str, Any]) -> Path:
        return self.keys[s3_location.get("Key") or s3_location["S3Key"]]


@contextlib.contextmanager
def _unsupported_types_quiet() -> Iterator[None]:
    """moto skips types it does not model (CloudWatch alarms here) with a warning and a log line
    per resource, and the SAM translator warns about its own unpublished usage metrics; the local
    cloud needs neither, so keep the console readable."""
    loggers = [logging.getLogger(name) for name in ("moto", "samtranslator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def deploy_template(
    template_path: Path, *, stack_name: str, parameters: dict[str, str], session: Any, region: str
) -> DeployedStack:
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415
    from moto.cloudformation.parsing import clean_json  # noqa: PLC0415

    root = template_path.parent
    packager = _Packager(root, session.client("s3", region_name=region))
    template = load_template(template_path)
    parameters = cfn_gaps.complete_parameters(template, parameters)
    with _unsupported_types_quiet():
        transformed = transform(packager.package(template), parameters)
    cfn = session.client("cloudformation", region_name=region)
    for_moto, aliases = cfn_gaps.prepare_lambda_aliases(
        cfn_gaps.drop_openapi_deployments(cfn_gaps.prepare_template_for_moto(transformed))
    )
    with _unsupported_types_quiet():
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(for_moto),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    described = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(
            f"local stack {stack_name} ended {described['StackStatus']}: {described.get('StackStatusReason')}"
        )
    account = described["StackId"].split(":")[4]
    stack = cloudformation_backends[account][region].stacks[described["StackId"]]
    with _unsupported_types_quiet():
        resources = {
            logical_id: str(model.physical_resource_id)
            for logical_id in for_moto["Resources"]
            if (model := stack.resource_map[logical_id]) is not None
            and hasattr(model, "physical_resource_id")
        }
    deployed = DeployedStack(
        name=stack_name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        resources=resources,
    )
    body = transformed["Resources"]
    lambda_client = session.client("lambda", region_name=region)
    conditions = stack.resource_map.lazy_condition_map
    cfn_gaps.create_lambda_aliases(
        {
            key: value
            for key, value in aliases.items()
            if not body[key].get("Condition") or conditions[body[key]["Condition"]]
        },
        lambda value: clean_json(value, stack.resource_map),
        lambda_client,
        lambda logical_id: str(stack.resource_map[logical_id].version),
    )
    for logical_id, resource in body.items():
        if resource["Type"] == "AWS::Lambda::Function" and logical_id in resources:
            deployed.functions[logical_id] = _function_spec(
                logical_id=logical_id,
                resource=resource,
                body=body,
                resources=resources,
                packager=packager,
                client=lambda_client,
            )
    sfn = session.client("stepfunctions", region_name=region)
    for logical_id, resource in body.items():
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and logical_id in resources:
            deployed.state_machines[logical_id] = _create_state_machine(
                resource,
                resources[logical_id],
                packager,
                lambda value: clean_json(value, stack.resource_map),
                sfn,
            )
    created = {
        key: value
        for key, value in body.items()
        if not value.get("Condition") or conditions[value["Condition"]]
    }
    cfn_gaps.apply_rotation_schedules(
        created, lambda value: clean_json(value, stack.resource_map), account, region
    )
    cfn_gaps.create_alarms(
        created,
        lambda value: clean_json(value, stack.resource_map),
        session.client("cloudwatch", region_name=region),
    )
    return deployed


def _function_spec(
    *,
    logical_id: str,
    resource: dict[str, Any],
    body: dict[str, Any],
    resources: dict[str, str],
    packager: _Packager,
    client: Any,
) -> FunctionSpec:
    props = resource["Properties"]
    name = resources[logical_id]
    config = client.get_function_configuration(FunctionName=name)
    layers = []
    for layer in props.get("Layers", []):
        layer_id = layer["Ref"] if isinstance(layer, dict) and "Ref" in layer else None
        if layer_id is None or body.get(layer_id, {}).get("Type") != "AWS::Lambda::LayerVersion":
            raise ValueError(f"{logical_id}: only layers defined in the template run locally, got {layer!r}")
        layers.append(packager.local_path(body[layer_id]["Properties"]["Content"]))
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=config["FunctionArn"],
        code_dir=packager.local_path(props["Code"]),
        handler=config["Handler"],
        layer_dirs=tuple(layers),
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        timeout=int(config.get("Timeout", 3)),
        memory=int(config.get("MemorySize", 128)),
        log_group=_log_group(props, resources, name),
        role_arn=str(config.get("Role", "")),
    )


def _log_group(props: dict[str, Any], resources: dict[str, str], name: str) -> str:
    group = props.get("LoggingConfig", {}).get("LogGroup")
    if isinstance(group, dict) and "Ref" in group:
        return resources[group["Ref"]]
    return group if isinstance(group, str) else f"/aws/lambda/{name}"


def _create_state_machine(
    resource: dict[str, Any], physical_arn: str, packager: _Packager, resolve: Any, sfn: Any
) -> str:
    props = resource["Properties"]
    return cfn_gaps.recreate_state_machine(
        sfn,
        expected_arn=physical_arn,
        definition=packager.local_path(props["DefinitionS3Location"]).read_text(),
        substitutions=resolve(props.get("DefinitionSubstitutions", {})),
        role_arn=resolve(props["RoleArn"]),
        kind=props.get("StateMachineType", "STANDARD"),
    )
