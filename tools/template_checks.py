"""Write template.yaml as the CloudFormation that SAM deploys, with the workflows' ASL inside.

``cfn-lint`` on the SAM template (and ``sam validate --lint``) checks the SAM resources but reads
neither the ASL files behind ``DefinitionUri`` nor the IAM statements of SAM ``Policies``. This
command pastes each state machine's ASL into the template as ``Definition`` (its
``DefinitionSubstitutions`` stay as they are), points code and layer folders at placeholder S3
objects (what ``sam package`` would upload; each folder must exist), transforms the result offline
with the SAM translator, the way ``sam deploy`` would, and writes the CloudFormation JSON, on which
cfn-lint checks the ASL (E3601) and the IAM actions (W3037)::

    python tools/template_checks.py .aws-sam/checks/template.json          # write it
    python tools/template_checks.py .aws-sam/checks/template.json --lint   # and lint it

One step after the translator: it writes a definition as ``DefinitionString: {"Fn::Join": ["\\n",
[one string per line]]}``. cfn-lint 1.58 does not check a definition in that form (only a plain
string or a ``Definition`` object), and on a long one it fails with E1022 "maximum recursion depth
exceeded" (it recurses once per joined item). A join of plain strings is that string, so the
definition is written back as the equivalent ``Definition`` object, which cfn-lint checks and
locates line by line.

``--lint`` runs cfn-lint (the project environment's) on the result and fails on any finding but
the few documented in ``KNOWN_FALSE_POSITIVES``, each matched narrowly and printed, never hidden.
Nothing here calls AWS: the translator's managed-policy lookup is answered offline
(``petclinic_local.stack.template``, which the local cloud's deploy shares).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petclinic_local.stack.template import load_template, transform

DEFAULT_REGION = "us-west-2"  # the project's region (Makefile REGION)
# What `sam package` would upload, by resource type: the property that names a local folder.
ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
PLACEHOLDER_BUCKET = "petclinic-ops-template-checks"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
JSONATA_FIELDS_NUMBER_OR_EXPRESSION = frozenset({"TimeoutSeconds", "HeartbeatSeconds"})

PathKey = str | int


class TemplateCheckError(Exception):
    """The template cannot be prepared for the checks; the message says which resource and why."""


# --------------------------------------------------------------------------- prepare and transform


def _read_definition(logical_id: str, uri: Any, root: Path) -> dict[str, Any]:
    if not isinstance(uri, str):
        raise TemplateCheckError(f"{logical_id}: DefinitionUri {uri!r} is not a local file (the ASL file)")
    path = root / uri
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TemplateCheckError(f"{logical_id}: DefinitionUri {uri} does not exist under {root}") from error
    except json.JSONDecodeError as error:
        raise TemplateCheckError(f"{logical_id}: {uri} is not valid JSON: {error}") from error
    if not isinstance(definition, dict):
        raise TemplateCheckError(f"{logical_id}: {uri} must hold a JSON object (the state machine)")
    return definition


def _placeholder(logical_id: str, prop: str, uri: Any, root: Path) -> Any:
    """An S3 URI in place of a local folder (which must exist); anything else is kept."""
    if not isinstance(uri, str) or uri.startswith("s3://"):
        return uri
    if not (root / uri).is_dir():
        raise TemplateCheckError(f"{logical_id}: {prop} {uri} is not a folder under {root}")
    return f"s3://{PLACEHOLDER_BUCKET}/{uri.strip('/')}.zip"


def prepare(template: dict[str, Any], root: Path) -> dict[str, Any]:
    """Return a copy of ``template`` ready for the offline transform.

    Each state machine's ``DefinitionUri`` file becomes its ``Definition``; each function's and
    layer's local folder becomes a placeholder S3 URI. ``root`` is the folder that the relative
    paths start from (the template's own).
    """
    prepared: dict[str, Any] = json.loads(json.dumps(template))
    function_globals = prepared.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = _placeholder("Globals", "CodeUri", function_globals["CodeUri"], root)
    for logical_id, resource in prepared.get("Resources", {}).items():
        kind = resource.get("Type")
        props = resource.setdefault("Properties", {})
        if kind == SAM_STATE_MACHINE and "DefinitionUri" in props:
            props["Definition"] = _read_definition(logical_id, props.pop("DefinitionUri"), root)
        prop = ARTIFACT_PROPERTIES.get(kind, "")
        if prop in props:
            props[prop] = _placeholder(logical_id, prop, props[prop], root)
    return prepared


def definitions_as_objects(cloudformation: dict[str, Any]) -> dict[str, Any]:
    """Write each translator-made ``DefinitionString`` join of plain lines as its ``Definition``.

    Equivalent CloudFormation (a join of plain strings is that string), in the form cfn-lint
    checks; see the module docstring. Anything else (a join with intrinsics in it) is kept.
    """
    for resource in cloudformation.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") != STATE_MACHINE or not isinstance(props.get("DefinitionString"), dict):
            continue
        join = props["DefinitionString"].get("Fn::Join")
        if not (isinstance(join, list) and len(join) == 2 and isinstance(join[0], str)):
            continue
        if isinstance(join[1], list) and all(isinstance(line, str) for line in join[1]):
            del props["DefinitionString"]
            props["Definition"] = json.loads(join[0].join(join[1]))
    return cloudformation


def api_skips_on_stages(cloudformation: dict[str, Any], sam: dict[str, Any]) -> dict[str, Any]:
    """Give each AWS::Serverless::Api's generated AWS::ApiGateway::Stage the checkov skips written
    on the Api. The translator copies a SAM resource's Metadata to the RestApi only, but stage
    settings (caching, logging) are what some of those skips are about; without this step checkov
    would report, on the transformed template, what the SAM template already justifies."""
    for sam_id, resource in sam.get("Resources", {}).items():
        skips = (resource.get("Metadata") or {}).get("checkov", {}).get("skip")
        if resource.get("Type") != "AWS::Serverless::Api" or not skips:
            continue
        for generated in cloudformation.get("Resources", {}).values():
            if generated.get("Type") == "AWS::ApiGateway::Stage" and generated.get("Properties", {}).get(
                "RestApiId"
            ) == {"Ref": sam_id}:
                generated.setdefault("Metadata", {}).setdefault("checkov", {})["skip"] = skips
    return cloudformation


@contextlib.contextmanager
def _region(region: str) -> Iterator[None]:
    """The translator resolves AWS::Region/AWS::Partition from a boto3 session's region."""
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def transformed_template(template_path: Path, *, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """The CloudFormation that ``template_path`` deploys as, state machine definitions included."""
    from samtranslator.model.exceptions import InvalidDocumentException  # noqa: PLC0415

    source = load_template(template_path)
    template = prepare(source, template_path.parent)
    try:
        with _region(region):
            cloudformation = transform(template, {})
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause.message) for cause in error.causes)
        raise TemplateCheckError(f"the SAM translator rejects {template_path}: {causes}") from error
    return api_skips_on_stages(definitions_as_objects(cloudformation), source)


# --------------------------------------------------------------------------- workflow endings

ENDING = ("Conclude", "RecordResult", "Notify", "PublishMetrics", "Finish")
ENDING_RESOURCES = {
    "RecordResult": ("arn:aws:states:::dynamodb:putItem", "arn:aws:states:::dynamodb:updateItem"),
    "Notify": ("arn:aws:states:::sns:publish",),
    "PublishMetrics": ("arn:aws:states:::aws-sdk:cloudwatch:putMetricData",),
}


def _targets(state: dict[str, Any]) -> list[str]:
    """The states ``state`` can go to: Next, each Catch, each Choice rule and the Default."""
    rules = [*state.get("Catch", []), *state.get("Choices", [])]
    targets = [state.get("Next"), state.get("Default"), *(rule.get("Next") for rule in rules)]
    return [target for target in targets if target]


def _assigned(state: dict[str, Any]) -> set[str]:
    """The variables ``state`` assigns, in its own Assign and in its Catch and Choice rules'."""
    blocks = [state, *state.get("Catch", []), *state.get("Choices", [])]
    return {name for block in blocks if isinstance(block.get("Assign"), dict) for name in block["Assign"]}


def _reaches(states: dict[str, Any], start: str, goal: str) -> bool:
    seen: set[str] = set()
    pending = [start]
    while pending:
        current = pending.pop()
        if current == goal:
            return True
        if current not in seen and current in states:
            seen.add(current)
            pending += _targets(states[current])
    return False


def _entry_findings(states: dict[str, Any]) -> list[str]:
    """Conclude computes the result and alone leads into RecordResult."""
    conclude = states["Conclude"]
    findings = (
        []
        if conclude.get("Type") == "Pass" and conclude.get("Assign")
        else ["Conclude must be a Pass that assigns"]
    )
    gate = states.get(conclude.get("Next", ""), {})
    gated = gate.get("Type") == "Choice" and gate.get("Default") == "RecordResult"
    if gated and any(rule.get("Next") != "Notify" for rule in gate.get("Choices", [])):
        gated = False
    if conclude.get("Next") != "RecordResult" and not gated:
        findings.append("Conclude must go to RecordResult (or to a Choice: RecordResult, else Notify)")
    entry = conclude.get("Next") if gated else "Conclude"
    findings += [
        f"{other} goes to RecordResult: only Conclude may (the result is computed there)"
        for other, state in states.items()
        if other != entry and "RecordResult" in _targets(state)
    ]
    return findings


def _chain_findings(states: dict[str, Any]) -> list[str]:
    """RecordResult, Notify, PublishMetrics: the right integration, each on to the next whatever
    happens, then Finish, a Choice."""
    findings: list[str] = []
    for current, following in itertools.pairwise(ENDING[1:]):
        state = states[current]
        if state.get("Resource") not in ENDING_RESOURCES.get(current, (state.get("Resource"),)):
            findings.append(f"{current} must be a Task on {' or '.join(ENDING_RESOURCES[current])}")
        if current == "PublishMetrics":
            if not _reaches(states, current, following):
                findings.append(f"{current} must lead to {following}")
            continue
        if set(_targets(state)) != {following}:
            findings.append(f"{current} must go on to {following} (Next and every Catch)")
    for current in ENDING[1:4]:
        if not any(
            "States.ALL" in catch.get("ErrorEquals", []) for catch in states[current].get("Catch", [])
        ):
            findings.append(f"{current} must catch States.ALL (the ending is never cut short)")
    if states["Finish"].get("Type") != "Choice":
        findings.append("Finish must be a Choice on the result")
    return findings


def _reads_findings(states: dict[str, Any]) -> list[str]:
    """The ending reads the result and recomputes none of it."""
    result = {"result", *(states["Conclude"].get("Assign") or {})}
    findings: list[str] = []
    for current in ENDING[1:]:
        state = states[current]
        if overwritten := sorted(_assigned(state) & result):
            findings.append(f"{current} assigns {overwritten}: Conclude computes the result")
        if not any(f"${variable}" in json.dumps(state) for variable in result):
            findings.append(f"{current} does not read the result (${', $'.join(sorted(result))})")
    return findings


def ending_findings(definition: dict[str, Any]) -> list[str]:
    """The one workflow ending, checked on a Standard workflow's top-level states.

    A workflow computes its result once and ends on it: ``Conclude`` (a Pass) assigns the result
    (``$result``, or what completes a ``$result`` set where the outcome was decided); then
    ``RecordResult`` (the ledger or the workflow's table), ``Notify`` (SNS) and ``PublishMetrics``
    (CloudWatch), each going on to the next whatever happens (Next and every Catch, States.ALL
    caught); then ``Finish`` (a Choice) picks the terminal state. Only Conclude leads into
    RecordResult (directly, or through a Choice whose other branches go to Notify: a result that
    must not be recorded yet); no state of the ending assigns the result, and each reads it.
    Returns one line per rule broken."""
    states: dict[str, Any] = definition.get("States", {})
    missing = [f"no {state} state" for state in ENDING if state not in states]
    if missing:
        return missing
    return [*_entry_findings(states), *_chain_findings(states), *_reads_findings(states)]


def workflow_endings(template: dict[str, Any], root: Path) -> list[str]:
    """``ending_findings`` for every Standard workflow of ``template`` (the Express relays end
    with the workflow they resume)."""
    findings: list[str] = []
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") != SAM_STATE_MACHINE or props.get("Type") == "EXPRESS":
            continue
        definition = _read_definition(logical_id, props.get("DefinitionUri"), root)
        findings += [f"{logical_id}: {finding}" for finding in ending_findings(definition)]
    return findings


# --------------------------------------------------------------------------- cfn-lint


def _walk(document: Any, path: Sequence[PathKey]) -> Iterator[Any]:
    """Every node from ``document`` down along ``path`` (stops where the path leaves the document)."""
    node = document
    yield node
    for key in path:
        in_dict = isinstance(node, dict) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not (in_dict or in_list):
            return
        node = node[key]
        yield node


@dataclass(frozen=True)
class LintContext:
    """What a finding is judged against: the CloudFormation cfn-lint read, and its SAM source."""

    cloudformation: dict[str, Any]
    sam: dict[str, Any]


def _jsonata_number_field(context: LintContext, path: Sequence[PathKey]) -> bool:
    """The value at ``path`` is a ``{% ... %}`` expression in a Task's TimeoutSeconds or
    HeartbeatSeconds, in a state whose query language is JSONata (its own or its machine's)."""
    if not path or path[-1] not in JSONATA_FIELDS_NUMBER_OR_EXPRESSION or "Definition" not in path:
        return False
    nodes = list(_walk(context.cloudformation, path))
    if len(nodes) != len(path) + 1:
        return False
    value, state = nodes[-1], nodes[-2]
    if not (isinstance(value, str) and value.strip().startswith("{%") and value.strip().endswith("%}")):
        return False
    language = "JSONPath"
    for node in nodes[:-1]:
        if isinstance(node, dict) and isinstance(node.get("QueryLanguage"), str):
            language = node["QueryLanguage"]
    return isinstance(state, dict) and state.get("Type") == "Task" and language == "JSONata"


def _sub_has_variables(value: Any) -> bool:
    text = value.get("Fn::Sub") if isinstance(value, dict) else None
    if isinstance(text, list) and text:
        text = text[0]
    return isinstance(text, str) and re.search(r"\$\{[^!]", text) is not None


def _translator_resolved_layer_name(context: LintContext, path: Sequence[PathKey]) -> bool:
    """``Fn::Sub`` without variables in a layer's LayerName, where the SAM template's own LayerName
    has variables: the translator resolved ``!Sub name-${Parameter}`` with the parameter's value.
    (cfn-lint does not apply W1020 to the SAM template's LayerName, so a real one is kept here.)"""
    if len(path) != 5 or path[0] != "Resources" or list(path[2:]) != ["Properties", "LayerName", "Fn::Sub"]:
        return False
    layer_id = str(path[1])
    if context.cloudformation["Resources"].get(layer_id, {}).get("Type") != "AWS::Lambda::LayerVersion":
        return False
    for sam_id, resource in context.sam.get("Resources", {}).items():
        # The translator names a layer version after its SAM resource plus a 10-hex-digit hash.
        suffix = layer_id[len(sam_id) :]
        if (
            resource.get("Type") == "AWS::Serverless::LayerVersion"
            and layer_id.startswith(sam_id)
            and re.fullmatch(r"[0-9a-f]{10}", suffix)
        ):
            return _sub_has_variables(resource.get("Properties", {}).get("LayerName"))
    return False


def _translator_usage_plan_depends_on(context: LintContext, path: Sequence[PathKey]) -> bool:
    """A DependsOn of the usage plan resources the SAM translator generates for an
    AWS::Serverless::Api's ``Auth.UsagePlan`` (``<Api>UsagePlan``, ``<Api>UsagePlanKey``): the
    translator writes the DependsOn itself, beside the Ref, and the SAM template has none to drop."""
    if len(path) < 3 or path[0] != "Resources" or path[2] != "DependsOn":
        return False
    resource_id = str(path[1])
    kind = context.cloudformation["Resources"].get(resource_id, {}).get("Type")
    if kind not in {"AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey"}:
        return False
    return any(
        resource.get("Type") == "AWS::Serverless::Api"
        and resource_id in {f"{sam_id}UsagePlan", f"{sam_id}UsagePlanKey"}
        and "UsagePlan" in (resource.get("Properties", {}).get("Auth") or {})
        for sam_id, resource in context.sam.get("Resources", {}).items()
    )


@dataclass(frozen=True)
class KnownFalsePositive:
    """A cfn-lint finding that is wrong about this kind of template, matched by rule and place."""

    rule: str
    reason: str
    applies: Callable[[LintContext, Sequence[PathKey]], bool]


KNOWN_FALSE_POSITIVES: tuple[KnownFalsePositive, ...] = (
    KnownFalsePositive(
        rule="E3601",
        reason=(
            "cfn-lint 1.58 requires a number for a Task's TimeoutSeconds/HeartbeatSeconds, but in a JSONata "
            "state Step Functions takes a {% %} expression there (the ASL spec, CDK's Timeout.jsonata, "
            "asl-validator 4). Same bug class as cfn-lint #4342 (Wait Seconds, fixed) and #4398 (Arguments)."
        ),
        applies=_jsonata_number_field,
    ),
    KnownFalsePositive(
        rule="W1020",
        reason=(
            "the SAM translator resolves parameters in a layer's LayerName: the template's "
            "!Sub name-${EnvironmentName} becomes Fn::Sub name-dev in what it writes."
        ),
        applies=_translator_resolved_layer_name,
    ),
    KnownFalsePositive(
        rule="W3005",
        reason=(
            "the SAM translator writes DependsOn beside a Ref in the usage plan resources it generates for "
            "an Api's Auth.UsagePlan; the SAM template has no DependsOn to drop."
        ),
        applies=_translator_usage_plan_depends_on,
    ),
)


def _known_false_positive(match: Any, context: LintContext) -> KnownFalsePositive | None:
    path: list[PathKey] = list(getattr(match, "path", None) or [])
    for known in KNOWN_FALSE_POSITIVES:
        if match.rule.id == known.rule and known.applies(context, path):
            return known
    return None


def lint(path: Path, *, sam_template: dict[str, Any], region: str = DEFAULT_REGION) -> int:
    """cfn-lint ``path`` (written from ``sam_template``); print every finding; 0 when all of them
    are known false positives."""
    from cfnlint.api import ManualArgs  # noqa: PLC0415
    from cfnlint.api import lint as cfn_lint  # noqa: PLC0415

    text = path.read_text(encoding="utf-8")
    context = LintContext(cloudformation=json.loads(text), sam=sam_template)
    findings = 0
    rules: set[str] = set()
    for match in cfn_lint(text, config=ManualArgs(regions=[region])):
        rules.add(match.rule.id)
        place = f"{path}:{match.linenumber}:{match.columnnumber}"
        known = _known_false_positive(match, context)
        if known is None:
            findings += 1
            print(f"{match.rule.id} {match.message}\n{place}\n")
        else:
            print(f"known false positive, not counted: {match.rule.id} {match.message}\n{place}")
            print(f"  ({known.reason})\n")
    for known in KNOWN_FALSE_POSITIVES:
        if known.rule not in rules:
            print(
                f"note: cfn-lint reported no {known.rule} here; if it fixed the known false positive, drop it"
            )
    print(f"cfn-lint {path}: {findings} finding(s)")
    return 1 if findings else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/template_checks.py",
        description="Write template.yaml, transformed offline with the ASL inlined, as CloudFormation JSON.",
    )
    parser.add_argument("out", type=Path, help="where to write the CloudFormation JSON")
    parser.add_argument(
        "--template", type=Path, default=Path("template.yaml"), help="SAM template (template.yaml)"
    )
    parser.add_argument(
        "--region", default=DEFAULT_REGION, help=f"region to transform and lint for ({DEFAULT_REGION})"
    )
    parser.add_argument("--lint", action="store_true", help="then run cfn-lint on it (fails on any finding)")
    args = parser.parse_args(argv)
    try:
        cloudformation = transformed_template(args.template, region=args.region)
    except TemplateCheckError as error:
        print(f"template_checks: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cloudformation, indent=2) + "\n", encoding="utf-8")
    print(f"template_checks: wrote {args.out} ({len(cloudformation.get('Resources', {}))} resources)")
    if not args.lint:
        return 0
    sam_template = load_template(args.template)
    endings = workflow_endings(sam_template, args.template.parent)
    for finding in endings:
        print(f"workflow ending: {finding}")
    print(f"workflow endings: {len(endings)} finding(s)")
    return max(lint(args.out, sam_template=sam_template, region=args.region), 1 if endings else 0)


if __name__ == "__main__":
    sys.exit(main())
