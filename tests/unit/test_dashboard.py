"""The on-call dashboard (template.yaml's OnCallDashboard) shows no dead widget: every metric a
widget names, with its namespace and dimensions, is one that something in the template emits.

What is emitted is read from where it is emitted, not from a list kept here:

- workflows: every ``cloudwatch:putMetricData`` Task state of every state machine's ASL (its
  Namespace as the state machine's DefinitionSubstitutions give it, each MetricName: a literal, or
  every string literal of a JSONata choice, and the names of its Dimensions);
- functions: every ``telemetry.metric(...)`` call in the modules a function's app.py imports (the
  layer's modules, followed transitively), with Powertools' namespace (POWERTOOLS_METRICS_NAMESPACE)
  and dimensions: ``service`` (the function's POWERTOOLS_SERVICE_NAME) and every
  ``telemetry.dimension(...)`` name of those modules; a function built with ``metrics=False`` emits
  none. The names are literals, or f-strings matched as patterns;
- AWS: the metrics AWS publishes for a resource type (the one list kept here, AWS_METRICS), when
  the dimension names a resource of that type in the template.

Log widgets name a log group of the template whose function logs the message they filter on and
the fields they compute with; the alarm widget lists exactly the template's alarms. The checker
is proven to fail by mutating the body (test_a_dead_widget_is_reported).

The other direction: every metric a workflow or function emits is on a widget, or NOT_SHOWN says
why not (a deployment's stages and traffic split, when their metrics come, get widgets).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from template_eval import ACCOUNT, PARTITION, REGION, Evaluator, evaluate
from template_resources import TEMPLATE, state_machines

from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
DASHBOARD = "OnCallDashboard"
ENVIRONMENTS = ["dev", "prod"]

# What AWS publishes, per namespace: the resource type whose resources the key dimension names,
# the metric names a widget may show, and the dimension sets they are published with.
AWS_METRICS: dict[str, tuple[str, str, frozenset[str], tuple[frozenset[str], ...]]] = {
    "AWS/Lambda": (
        "AWS::Serverless::Function",
        "FunctionName",
        frozenset({"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"}),
        (
            frozenset({"FunctionName"}),
            frozenset({"FunctionName", "Resource"}),
            frozenset({"FunctionName", "Resource", "ExecutedVersion"}),
        ),
    ),
    "AWS/States": (
        "AWS::Serverless::StateMachine",
        "StateMachineArn",
        frozenset(
            {
                "ExecutionsStarted",
                "ExecutionsSucceeded",
                "ExecutionsFailed",
                "ExecutionsTimedOut",
                "ExecutionsAborted",
                "ExecutionThrottled",
                "ExecutionTime",
            }
        ),
        (frozenset({"StateMachineArn"}),),
    ),
    "AWS/SQS": (
        "AWS::SQS::Queue",
        "QueueName",
        frozenset(
            {
                "ApproximateNumberOfMessagesVisible",
                "ApproximateAgeOfOldestMessage",
                "NumberOfMessagesSent",
                "NumberOfMessagesReceived",
            }
        ),
        (frozenset({"QueueName"}),),
    ),
}


# --------------------------------------------------------------------------- what is emitted


@dataclass(frozen=True)
class Emitted:
    namespace: str
    name: str  # a regular expression (a literal name escaped)
    dimensions: frozenset[str]
    values: tuple[tuple[str, str], ...] = ()  # dimension -> the one value it has (the others: any)
    source: str = ""

    def matches(self, namespace: str, name: str, dimensions: dict[str, str | None]) -> bool:
        if namespace != self.namespace or not re.fullmatch(self.name, name):
            return False
        if frozenset(dimensions) != self.dimensions:
            return False
        fixed = dict(self.values)
        return all(value is None or fixed.get(key, value) == value for key, value in dimensions.items())


@dataclass
class Template:
    """template.yaml for one environment: the raw template and its evaluated resources."""

    environment: str
    raw: dict[str, Any] = field(init=False)
    resources: dict[str, Any] = field(init=False)
    evaluator: Evaluator = field(init=False)

    def __post_init__(self) -> None:
        self.raw = load_template(TEMPLATE)
        parameters: dict[str, str | list[str]] = {"EnvironmentName": self.environment}
        self.resources = evaluate(self.raw, parameters)
        self.evaluator = Evaluator(self.raw, parameters)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {key: r["Properties"] for key, r in self.resources.items() if r["Type"] == kind}

    def body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.resources[DASHBOARD]["Properties"]["DashboardBody"])
        return loaded


def _put_metric_data_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if str(state.get("Resource", "")).endswith(":cloudwatch:putMetricData"):
            yield state
        for branch in state.get("Branches", []):
            yield from _put_metric_data_states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _put_metric_data_states(state[key]["States"])


def _names(metric_name: str) -> list[str]:
    """A MetricName: the literal, or what a JSONata expression can give: each string literal it
    starts with or a condition chooses (``{% $ok ? 'A' : 'B' %}``: A and B, not what $ok compares)."""
    if metric_name.startswith("{%"):
        return re.findall(r"(?:\{%|\?|:)\s*'([A-Za-z0-9_]+)'", metric_name)
    return [metric_name]


def workflow_metrics(template: Template) -> list[Emitted]:
    emitted = []
    for machine in state_machines():
        substitutions = {name: template.evaluator.value(value) for name, value in machine.substitutions}
        for state in _put_metric_data_states(machine.definition()["States"]):
            arguments = state.get("Arguments") or state.get("Parameters") or {}
            namespace = str(arguments["Namespace"])
            for substituted, value in substitutions.items():
                namespace = namespace.replace("${" + substituted + "}", str(value))
            for datum in arguments["MetricData"]:
                dimensions = datum.get("Dimensions", [])
                fixed = tuple((d["Name"], d["Value"]) for d in dimensions if "{%" not in str(d["Value"]))
                for name in _names(datum["MetricName"]):
                    emitted.append(
                        Emitted(
                            namespace,
                            re.escape(name),
                            frozenset(d["Name"] for d in dimensions),
                            fixed,
                            f"{machine.logical_id} (statemachines/{machine.asl.name})",
                        )
                    )
    return emitted


def _module_file(module: str) -> Path | None:
    base = LAYER.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("petclinic_ops"):
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"  # a submodule imported by name
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("petclinic_ops"))


@cache
def modules_of(app: Path) -> tuple[Path, ...]:
    """app.py and every layer module it imports, transitively."""
    seen: dict[Path, ast.Module] = {}
    pending = [app]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen[path] = ast.parse(path.read_text(encoding="utf-8"))
        for module in _imported(seen[path]):
            found = _module_file(module)
            if found is not None and found not in seen:
                pending.append(found)
    return tuple(seen)


def _is_telemetry(node: ast.expr) -> bool:
    """``telemetry``, ``self.telemetry`` or ``kit``: the Telemetry port (petclinic_ops.domain.telemetry)."""
    text = ast.unparse(node)
    return text == "kit" or text.split(".")[-1] == "telemetry"


def _literals(trees: tuple[ast.Module, ...]) -> dict[str, tuple[str, ...]]:
    """Fields annotated ``name: Literal["A", "B"]`` in the modules: name -> its values (of every
    field so named: a superset of what one of them can hold)."""
    found: dict[str, tuple[str, ...]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            annotation = node.annotation
            if isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value) == "Literal":
                items = (
                    annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
                )
                values = [item.value for item in items if isinstance(item, ast.Constant)]
                found[node.target.id] = (*found.get(node.target.id, ()), *(str(value) for value in values))
    return found


def _placeholder(node: ast.expr, literals: dict[str, tuple[str, ...]]) -> str:
    """An f-string's ``{x.field}`` or ``{x.field.title()}`` (lower, upper): the values of the
    field's Literal annotation, so transformed; anything else: any word."""
    method = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
        method, node = node.func.attr, node.func.value
    if (
        isinstance(node, ast.Attribute)
        and node.attr in literals
        and method in {None, "title", "lower", "upper"}
    ):
        values = [getattr(value, method)() if method else value for value in literals[node.attr]]
        return "(?:" + "|".join(re.escape(value) for value in values) + ")"
    return "[A-Za-z0-9]+"


def _name_pattern(node: ast.expr, literals: dict[str, tuple[str, ...]]) -> str | None:
    """A metric name: a literal, or an f-string as a regular expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            re.escape(str(part.value))
            if isinstance(part, ast.Constant)
            else _placeholder(part.value, literals)
            if isinstance(part, ast.FormattedValue)
            else "[A-Za-z0-9]+"
            for part in node.values
        )
    return None


@dataclass(frozen=True)
class Reported:
    """What one function's code reports through the Telemetry port."""

    metrics: frozenset[str]  # name patterns
    dimensions: frozenset[str]
    messages: frozenset[str]  # log messages (info, warning, error, exception)
    fields: frozenset[str]  # their keyword fields


def reported(app: Path) -> Reported:
    metrics: set[str] = set()
    dimensions: set[str] = set()
    messages: set[str] = set()
    fields: set[str] = set()
    trees = tuple(ast.parse(path.read_text(encoding="utf-8")) for path in modules_of(app))
    literals = _literals(trees)
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if not (_is_telemetry(node.func.value) and node.args):
                continue
            first = node.args[0]
            if node.func.attr == "metric" and (pattern := _name_pattern(first, literals)) is not None:
                metrics.add(pattern)
            elif node.func.attr == "dimension" and isinstance(first, ast.Constant):
                dimensions.add(str(first.value))
            elif node.func.attr in {"info", "warning", "error", "exception"} and isinstance(
                first, ast.Constant
            ):
                messages.add(str(first.value))
                fields.update(keyword.arg for keyword in node.keywords if keyword.arg)
    return Reported(frozenset(metrics), frozenset(dimensions), frozenset(messages), frozenset(fields))


def _metrics_off(app: Path) -> bool:
    """``Function(..., metrics=False)``: the handler kit emits nothing."""
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "Function":
            for keyword in node.keywords:
                if keyword.arg == "metrics" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value is False
    return False


def _environment(template: Template, properties: dict[str, Any], name: str) -> str:
    own = properties.get("Environment", {}).get("Variables", {})
    if name in own:
        return str(own[name])
    globals_ = template.raw["Globals"]["Function"]["Environment"]["Variables"]
    return str(template.evaluator.value(globals_[name]))


def function_metrics(template: Template) -> list[Emitted]:
    emitted = []
    for logical_id, properties in template.of_type("AWS::Serverless::Function").items():
        app = ROOT / properties["CodeUri"] / "app.py"
        if _metrics_off(app):
            continue
        namespace = _environment(template, properties, "POWERTOOLS_METRICS_NAMESPACE")
        service = _environment(template, properties, "POWERTOOLS_SERVICE_NAME")
        found = reported(app)
        for pattern in found.metrics:
            emitted.append(
                Emitted(
                    namespace,
                    pattern,
                    frozenset({"service"}) | found.dimensions,
                    (("service", service),),
                    f"{logical_id} ({properties['CodeUri']})",
                )
            )
    return emitted


def aws_metrics(template: Template) -> list[Emitted]:
    emitted = []
    for namespace, (kind, _, names, dimension_sets) in AWS_METRICS.items():
        for logical_id in template.of_type(kind):
            for name in names:
                for dimensions in dimension_sets:
                    emitted.append(Emitted(namespace, re.escape(name), dimensions, (), logical_id))
    return emitted


def _aws_value_ok(template: Template, namespace: str, dimensions: dict[str, str | None]) -> bool:
    """The key dimension of an AWS metric names a resource of the template of its type: its Ref or
    an attribute (``<LogicalId>``, ``<LogicalId.Attribute>``) or, for a function, its name."""
    kind, key, _, _ = AWS_METRICS[namespace]
    value = dimensions.get(key)
    if value is None:
        return True  # a SEARCH over every value
    resources = template.of_type(kind)
    placeholder = re.fullmatch(r"<(\w+)(?:\.\w+)?>", value)
    if placeholder:
        return placeholder.group(1) in resources
    return any(value == props.get("FunctionName") for props in resources.values())


# --------------------------------------------------------------------------- what the dashboard shows


@dataclass(frozen=True)
class Shown:
    widget: str
    namespace: str
    name: str
    dimensions: dict[str, str | None]  # None: a SEARCH over every value


def _rows(metrics: list[list[Any]]) -> Iterator[list[Any]]:
    """The metric rows of a widget, "." (the row above's item) expanded, options dropped."""
    previous: list[Any] = []
    for row in metrics:
        items = [item for item in row if not isinstance(item, dict)]
        items = [previous[i] if item == "." and i < len(previous) else item for i, item in enumerate(items)]
        previous = items
        yield items


def _search(expression: str, widget: str) -> Iterator[Shown | str]:
    for query in re.findall(r"SEARCH\(\s*'((?:[^'\\]|\\.)*)'", expression):
        schema = re.match(r"\s*\{([^}]*)\}(.*)", query)
        if schema is None:
            yield f"{widget}: SEARCH without a schema {{Namespace,dimensions}}: {query}"
            continue
        namespace, *names = [part.strip().strip('"') for part in schema.group(1).split(",")]
        terms = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', schema.group(2)))
        name = terms.pop("MetricName", None)
        if name is None:
            yield f'{widget}: SEARCH without MetricName="...": {query}'
            continue
        stray = set(terms) - set(names)
        if stray:
            yield f"{widget}: SEARCH filters on {sorted(stray)}, not in its schema: {query}"
        yield Shown(widget, namespace, name, {n: terms.get(n) for n in names})


def shown(body: dict[str, Any]) -> Iterator[Shown | str]:
    """Every metric the metric widgets show (a str: a widget the checker cannot read)."""
    for index, widget in enumerate(body["widgets"]):
        if widget["type"] != "metric":
            continue
        title = f"widget {index} ({widget['properties'].get('title', '')})"
        for row in widget["properties"]["metrics"]:
            options = next((item for item in row if isinstance(item, dict)), {})
            if "expression" in options:
                yield from _search(options["expression"], title)
        for items in _rows([row for row in widget["properties"]["metrics"] if len(row) > 1 or row[0] != "."]):
            if not items:
                continue
            namespace, name, *pairs = items
            if len(pairs) % 2:
                yield f"{title}: dimensions are not name, value pairs: {items}"
                continue
            yield Shown(title, namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)))


# --------------------------------------------------------------------------- the checker


def _metric_problems(template: Template, body: dict[str, Any]) -> Iterator[str]:
    catalog = workflow_metrics(template) + function_metrics(template) + aws_metrics(template)
    for metric in shown(body):
        if isinstance(metric, str):
            yield metric
            continue
        matching = [e for e in catalog if e.matches(metric.namespace, metric.name, metric.dimensions)]
        if not matching:
            same_name = sorted(
                {
                    f"{e.namespace} {sorted(e.dimensions)} by {e.source}"
                    for e in catalog
                    if re.fullmatch(e.name, metric.name)
                }
            )
            yield (
                f"{metric.widget}: nothing emits {metric.namespace} {metric.name} with dimensions "
                f"{metric.dimensions}" + (f" (emitted: {'; '.join(same_name)})" if same_name else "")
            )
        elif metric.namespace in AWS_METRICS and not _aws_value_ok(
            template, metric.namespace, metric.dimensions
        ):
            yield (
                f"{metric.widget}: {metric.namespace} {metric.name} {metric.dimensions} "
                "names no resource of the template"
            )


def _alarm_problems(template: Template, body: dict[str, Any]) -> Iterator[str]:
    alarms = {props["AlarmName"] for props in template.of_type("AWS::CloudWatch::Alarm").values()}
    prefix = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:"
    listed: set[str] = set()
    for widget in body["widgets"]:
        if widget["type"] == "alarm":
            for arn in widget["properties"]["alarms"]:
                name = arn.removeprefix(prefix)
                if not arn.startswith(prefix) or name not in alarms:
                    yield f"alarm widget: {arn} is no alarm of the template"
                listed.add(name)
    if alarms - listed:
        yield f"alarm widget: the template's alarms {sorted(alarms - listed)} are not shown"


def _log_problems(template: Template, body: dict[str, Any]) -> Iterator[str]:
    by_log_group = {
        props.get("LoggingConfig", {}).get("LogGroup"): ROOT / props["CodeUri"] / "app.py"
        for props in template.of_type("AWS::Serverless::Function").values()
    }
    for index, widget in enumerate(body["widgets"]):
        if widget["type"] != "log":
            continue
        query = widget["properties"]["query"]
        title = f"widget {index} ({widget['properties'].get('title', '')})"
        sources = re.findall(r"SOURCE\s+'([^']+)'", query)
        if not sources:
            yield f"{title}: no SOURCE log group"
        for source in sources:
            if source not in by_log_group:
                yield f"{title}: {source} is no function's log group in the template"
                continue
            logged = reported(by_log_group[source])
            for message in re.findall(r"message\s*=\s*'([^']*)'", query):
                if message not in logged.messages:
                    yield f"{title}: the function never logs the message {message!r}"
            for name in re.findall(r"\b(?:sum|avg|min|max|pct|count)\(\s*(\w+)", query):
                if name not in logged.fields:
                    yield f"{title}: the function logs no field {name!r}"


def _layout_problems(body: dict[str, Any]) -> Iterator[str]:
    taken: dict[tuple[int, int], int] = {}
    for index, widget in enumerate(body["widgets"]):
        x, y, width, height = (widget[key] for key in ("x", "y", "width", "height"))
        if x + width > 24:
            yield f"widget {index} runs past the 24 columns"
        for cell in ((col, row) for col in range(x, x + width) for row in range(y, y + height)):
            if cell in taken:
                yield f"widget {index} overlaps widget {taken[cell]}"
                break
            taken[cell] = index


def problems(template: Template, body: dict[str, Any]) -> list[str]:
    known = {"metric", "alarm", "log", "text"}
    found = [
        f"widget {i}: type {w['type']!r} is not checked"
        for i, w in enumerate(body["widgets"])
        if w["type"] not in known
    ]
    found += _metric_problems(template, body)
    found += _alarm_problems(template, body)
    found += _log_problems(template, body)
    found += _layout_problems(body)
    return found


# --------------------------------------------------------------------------- the tests


@cache
def template_for(environment: str) -> Template:
    return Template(environment)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_widget_shows_what_is_emitted(environment: str) -> None:
    template = template_for(environment)
    assert problems(template, template.body()) == []


def test_the_catalog_is_read_from_the_code() -> None:
    """The readers find what the workflows and functions emit (a reader that finds nothing would
    make every widget of its kind dead, or, with a broken matcher, none)."""
    template = template_for("dev")
    workflows = {(e.name.replace("\\", ""), e.dimensions) for e in workflow_metrics(template)}
    assert ("DeploymentsSucceeded", frozenset({"service"})) in workflows
    assert ("DeploymentsFailed", frozenset()) in workflows
    assert ("ScalingRuns", frozenset({"Result"})) in workflows
    functions = {e.source.split()[0]: e for e in function_metrics(template)}
    assert set(functions) == {
        "ResolveDeployFunction",
        "RotateSecretFunction",
        "GenAiFunction",
        "DeploymentHookFunction",
    }
    assert functions["DeploymentHookFunction"].dimensions == {"service", "verdict"}
    assert functions["GenAiFunction"].dimensions == {"service", "functionVersion"}
    assert dict(functions["GenAiFunction"].values) == {"service": "petclinic-genai"}
    assert functions["RotateSecretFunction"].dimensions == {"service", "step"}
    resolver = [e.name for e in function_metrics(template) if e.source.startswith("ResolveDeployFunction")]
    assert any(re.fullmatch(pattern, "DeployRequestsSkip") for pattern in resolver)


# Emitted and on no widget, each with the reason: (emitter's logical id, metric, dimensions).
NOT_SHOWN = {
    ("DeployStateMachine", "DeploymentsSucceeded", ()): "the total of the per-service lines shown",
    ("DeployStateMachine", "DeploymentsFailed", ()): (
        "the total of the per-service lines shown (the deployments-failed alarm reads it)"
    ),
    ("ResolveDeployFunction", "DeployRequestsRejected", ("service",)): (
        "the deploy workflow's DeployRequestsRejected (shown) counts these and the inputs rejected "
        "before the resolver"
    ),
}


def unshown(template: Template, body: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    """What the workflows and functions emit and no widget shows."""
    on_widgets = [metric for metric in shown(body) if isinstance(metric, Shown)]
    return {
        (e.source.split()[0], e.name.replace("\\", ""), tuple(sorted(e.dimensions)))
        for e in workflow_metrics(template) + function_metrics(template)
        if not any(e.matches(m.namespace, m.name, m.dimensions) for m in on_widgets)
    }


def test_every_emitted_metric_is_shown_or_says_why_not() -> None:
    """The other direction: a metric a workflow or function starts to emit (a deployment's stage,
    its traffic split) gets a widget, or a reason in NOT_SHOWN."""
    template = template_for("dev")
    missing = unshown(template, template.body())
    assert missing - set(NOT_SHOWN) == set(), "emitted, on no widget and not in NOT_SHOWN"
    assert set(NOT_SHOWN) - missing == set(), "in NOT_SHOWN but shown, or no longer emitted"


def _rows_of(body: dict[str, Any], title: str) -> list[list[Any]]:
    widget = next(w for w in body["widgets"] if w["properties"].get("title") == title)
    rows: list[list[Any]] = widget["properties"]["metrics"]
    return rows


def _rename_metric(body: dict[str, Any]) -> None:
    _rows_of(body, "Deploy requests: what the resolver decided")[0][1] = "DeployRequestsDeployed"


def _wrong_dimension_name(body: dict[str, Any]) -> None:
    _rows_of(body, "Deploy requests: what the resolver decided")[0][2] = "Service"


def _extra_dimension(body: dict[str, Any]) -> None:
    _rows_of(body, "Rollouts: services restarted, services that failed")[0][2:2] = ["service", "vets-service"]


def _wrong_service(body: dict[str, Any]) -> None:
    _rows_of(body, "Deploy requests: what the resolver decided")[0][3] = "petclinic-genai"


def _search_schema(body: dict[str, Any]) -> None:
    row = _rows_of(body, "Scale runs by result")[0][0]
    row["expression"] = row["expression"].replace(",Result}", ",service}")


def _search_namespace(body: dict[str, Any]) -> None:
    row = _rows_of(body, "Deployments per service: succeeded, failed")[0][0]
    row["expression"] = re.sub(r"PetClinicOps/\w+", "PetClinicOps/staging", row["expression"])


def _search_unknown_name(body: dict[str, Any]) -> None:
    row = _rows_of(body, "Deployments per service: succeeded, failed")[1][0]
    row["expression"] = row["expression"].replace("DeploymentsFailed", "DeploymentStage")


def _aws_unknown_function(body: dict[str, Any]) -> None:
    _rows_of(body, "Resolver function")[0][3] = "some-other-function"


def _aws_wrong_resource_type(body: dict[str, Any]) -> None:
    _rows_of(body, "Resolver function")[0][3] = "<DeployStateMachine>"


def _aws_unknown_metric(body: dict[str, Any]) -> None:
    _rows_of(body, "Deploy workflow executions")[0][1] = "ExecutionsRolledBack"


def _unknown_alarm(body: dict[str, Any]) -> None:
    widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    widget["properties"]["alarms"].append(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:no-such-alarm")


def _missing_alarm(body: dict[str, Any]) -> None:
    widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    widget["properties"]["alarms"].pop()


def _log_field(body: dict[str, Any]) -> None:
    widget = next(w for w in body["widgets"] if w["type"] == "log")
    widget["properties"]["query"] = widget["properties"]["query"].replace("sum(cost_usd)", "sum(cost_eur)")


def _log_message(body: dict[str, Any]) -> None:
    widget = next(w for w in body["widgets"] if w["type"] == "log")
    widget["properties"]["query"] = widget["properties"]["query"].replace("'chat answered'", "'chat priced'")


def _log_group(body: dict[str, Any]) -> None:
    widget = next(w for w in body["widgets"] if w["type"] == "log")
    widget["properties"]["query"] = widget["properties"]["query"].replace(
        "<GenAiLogGroup>", "<GenAiApiAccessLogGroup>"
    )


def _overlap(body: dict[str, Any]) -> None:
    body["widgets"][-1]["y"] = body["widgets"][-2]["y"]
    body["widgets"][-1]["x"] = body["widgets"][-2]["x"]


@pytest.mark.parametrize(
    ("mutate", "reported_as"),
    [
        (_rename_metric, "nothing emits PetClinicOps/dev DeployRequestsDeployed"),
        (
            _wrong_dimension_name,
            "nothing emits PetClinicOps/dev DeployRequestsDeploy with dimensions {'Service'",
        ),
        (
            _extra_dimension,
            "nothing emits PetClinicOps/dev RotationRolloutsSucceeded with dimensions {'service'",
        ),
        (_wrong_service, "{'service': 'petclinic-genai'}"),
        (_search_schema, "nothing emits PetClinicOps/dev ScalingRuns with dimensions {'service': None}"),
        (_search_namespace, "nothing emits PetClinicOps/staging DeploymentsSucceeded"),
        (_search_unknown_name, "nothing emits PetClinicOps/dev DeploymentStage"),
        (_aws_unknown_function, "names no resource of the template"),
        (_aws_wrong_resource_type, "names no resource of the template"),
        (_aws_unknown_metric, "nothing emits AWS/States ExecutionsRolledBack"),
        (_unknown_alarm, "no-such-alarm is no alarm of the template"),
        (_missing_alarm, "are not shown"),
        (_log_field, "logs no field 'cost_eur'"),
        (_log_message, "never logs the message 'chat priced'"),
        (_log_group, "<GenAiApiAccessLogGroup> is no function's log group"),
        (_overlap, "overlaps widget"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] if callable(value) else "",
)
def test_a_dead_widget_is_reported(mutate: Any, reported_as: str) -> None:
    template = template_for("dev")
    body = copy.deepcopy(template.body())
    mutate(body)
    found = problems(template, body)
    assert any(reported_as in problem for problem in found), found


def test_a_metric_without_a_widget_is_reported() -> None:
    template = template_for("dev")
    body = copy.deepcopy(template.body())
    body["widgets"] = [w for w in body["widgets"] if w["properties"].get("title") != "Scale runs by result"]
    assert unshown(template, body) - set(NOT_SHOWN) == {("ScaleStateMachine", "ScalingRuns", ("Result",))}
