"""`petclinic-ops history SERVICE [--limit N]`: the deploy ledger of one service, newest first
(who or what started each deployment, tag, digest, strategy, revisions before and after, result,
the gate that failed it, reason, duration, execution). The ledger's other names work too:
`history scale` (the scale workflow's runs: profile, result), `history genai` (the GenAI
releases: versions, result).

Needs: cloudformation:DescribeStacks on the stack, dynamodb:Query on the ledger table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

EXIT_OK = 0
# Ledger rows of the other workflows, under their own names (besides the services' deployments).
WORKFLOW_LEDGERS = {"scale": "the scale workflow's runs", "genai": "the GenAI releases"}


def plain(value: Any) -> Any:
    """A deserialised DynamoDB value as JSON has it (Decimal -> int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(item) for item in value]
    return value


def item_to_row(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    deserialize = TypeDeserializer().deserialize
    return {key: plain(deserialize(value)) for key, value in item.items()}


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def duration_seconds(row: dict[str, Any]) -> float | None:
    started, ended = parse_time(row.get("startedAt")), parse_time(row.get("endedAt"))
    if started is None or ended is None:
        return None
    return round((ended - started).total_seconds(), 3)


def ledger(plane: aws.ControlPlane, service: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The service's ledger rows, newest first (Query on service, ScanIndexForward false)."""
    dynamodb = plane.client("dynamodb")
    table = plane.output("LedgerTableName")
    rows: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "service = :service",
        "ExpressionAttributeValues": {":service": {"S": service}},
        "ScanIndexForward": False,
    }
    with plane.errors(f"cannot read the ledger {table}"):
        while True:
            if limit is not None:
                request["Limit"] = limit - len(rows)
            page = dynamodb.query(**request)
            rows += [item_to_row(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page or (limit is not None and len(rows) >= limit):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for row in rows:
        row["durationSeconds"] = duration_seconds(row)
    return rows


def started_by(row: dict[str, Any]) -> str:
    source, by = row.get("source") or "-", row.get("requestedBy")
    return source if not by or by in {source, "ecr-push"} else f"{source} ({by})"


def _what(row: dict[str, Any]) -> str:
    """The tag column: the image's tag, or what a restart, a scale run or a GenAI release was."""
    kind = row.get("kind")
    if kind == "restart":
        return "restart"
    if kind == "scale":
        return f"profile {row.get('profile', '?')}" + (" (dry run)" if row.get("dryRun") else "")
    if kind == "genai-release":
        return f"version {row.get('previousVersion', '?')} -> {row.get('version', '?')}"
    return str(row.get("tag") or "-")


def gate_text(row: dict[str, Any]) -> str:
    """Which gate failed a deployment (the ledger's ``gate``: a lifecycle hook, an alarm, the
    circuit breaker, a timeout), or "-"."""
    gate = row.get("gate")
    if not isinstance(gate, dict) or not gate.get("type"):
        return "-"
    return f"{gate['type']} {gate['name']}" if gate.get("name") else str(gate["type"])


def history_table(service: str, rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"Ledger of {service}, newest first", title_justify="left")
    for column in (
        "started (UTC)",
        "by",
        "tag",
        "digest",
        "strategy",
        "revision",
        "result",
        "gate",
        "reason",
        "took",
        "execution",
    ):
        # Short values stay on one line (readable, greppable); reasons and ARNs wrap.
        table.add_column(column, overflow="fold", no_wrap=column not in {"by", "gate", "reason", "execution"})
    for row in rows:
        took = row.get("durationSeconds")
        table.add_row(
            (row.get("startedAt") or "-")[:19].replace("T", " "),
            started_by(row),
            _what(row),
            render.short(row.get("digest")),
            str(row.get("strategy") or "-"),
            f"{render.revision(row.get('taskDefinitionBefore'))} -> "
            f"{render.revision(row.get('taskDefinitionAfter'))}",
            render.styled(row.get("result", "?")) + (" (rolled back)" if row.get("rolledBack") else ""),
            gate_text(row),
            row.get("reason") or "",
            "-" if took is None else f"{took:.1f} s",
            render.short(row.get("executionArn")),
        )
    return table


def run(
    target: aws.Target, service: str, *, limit: int = 20, as_json: bool = False, session: Any = None
) -> int:
    plane = aws.control_plane(target, session=session)
    if service not in WORKFLOW_LEDGERS:
        try:
            plane.service(service)
        except UsageError as exc:
            raise UsageError(f"{exc}; the ledger also has {', '.join(WORKFLOW_LEDGERS)}") from None
    rows = ledger(plane, service, limit)
    if as_json:
        print(json.dumps({"service": service, "deployments": rows}, indent=2, default=str))
        return EXIT_OK
    out = render.console()
    if not rows:
        out.print(f"no deployment of {service} recorded in {plane.output('LedgerTableName')}")
        return EXIT_OK
    render.print_table(out, history_table(service, rows))
    return EXIT_OK


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "service", help="a service, or the ledger's other names: scale (scale runs), genai (GenAI releases)"
    )
    parser.add_argument("--limit", type=aws.count, default=20, help="rows to show (default 20)")


@registry.command(
    "history",
    arguments=_arguments,
    help="a service's deployments from the ledger, newest first",
    description="The deploy ledger of SERVICE, newest first: who or what started each deployment, tag, "
    "digest, strategy, task definition revisions before and after, result, the gate that failed it "
    "(lifecycle hook, alarm, circuit breaker, timeout), reason, duration, execution.",
    epilog=registry.READ_EXIT_CODES,
    raw_description=True,
    json=registry.JSON,
    aws=registry.Aws(),
)
def _history(args: argparse.Namespace) -> int:
    return run(aws.Target.from_args(args), args.service, limit=args.limit, as_json=args.json)
