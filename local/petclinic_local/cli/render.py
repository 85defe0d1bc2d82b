"""Terminal output of the CLI (rich, imported when a command prints: every CLI module is imported
to build the parser): reports, execution tables, the ledger."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

RESULT_STYLES = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "COALESCED": "cyan",
    "SUPERSEDED": "cyan",
    "DUPLICATE": "yellow",
    "SKIPPED": "yellow",
    "RUNNING": "blue",
}


def console() -> Console:
    from rich.console import Console  # noqa: PLC0415

    # The local cloud redirects sys.stdout while a function runs (its logs are captured): write
    # to the process's real stdout so progress never lands in a function's log.
    # No emoji codes: ARNs contain ":secret:", which rich would print as an emoji.
    # NO_COLOR (no-color.org) and a stdout that is not a terminal: plain text, no escape codes.
    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    out = Console(file=sys.__stdout__, highlight=False, emoji=False, **plain)  # type: ignore[arg-type]
    if not out.is_terminal:  # piped: COLUMNS if set (as a terminal's width), else 120
        out = Console(file=sys.__stdout__, highlight=False, emoji=False, width=width(), color_system=None)
    return out


def width(default: int = 120) -> int:
    """The width to print in when stdout is not a terminal: ``COLUMNS`` when it is a number of
    at least 20, else ``default``."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return default
    return columns if columns >= 20 else default


def stderr_console() -> Console:
    """Progress and notes beside a command's result (with --json, stdout holds the JSON only)."""
    from rich.console import Console  # noqa: PLC0415

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    return Console(file=sys.__stderr__, highlight=False, emoji=False, soft_wrap=True, **plain)  # type: ignore[arg-type]


def short(value: str | None) -> str:
    """Digests to 12 hex digits, task definition ARNs to family:revision, images to name@digest."""
    if not value:
        return "-"
    if value.startswith("sha256:"):
        return value[:19]
    if value.startswith("arn:") and ":task-definition/" in value:
        return value.rsplit("/", 1)[-1]
    if value.startswith("arn:"):
        return value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if "/" in value and ("@sha256:" in value or ":" in value.rsplit("/", 1)[-1]):
        name = value.rsplit("/", 1)[-1]
        return name[: name.index("@sha256:") + 20] if "@sha256:" in name else name
    return value


def revision(task_definition: str | None) -> str:
    return task_definition.rsplit(":", 1)[-1] if task_definition else "-"


def styled(result: str) -> str:
    style = RESULT_STYLES.get(result, "white")
    return f"[{style}]{result}[/{style}]"


def outcome(execution: dict[str, Any]) -> tuple[str, str]:
    """(result, reason) of a deploy execution, from its output or its error."""
    if execution["status"] == "RUNNING":
        return "RUNNING", ""
    output = execution.get("output") or {}
    if output:
        return output.get("result", execution["status"]), output.get("reason", "")
    cause = execution.get("cause")
    if isinstance(cause, dict):
        return cause.get("result", execution["status"]), cause.get("reason", "")
    return execution.get("error") or execution["status"], str(cause or "")


def request_of(execution: dict[str, Any]) -> tuple[str, str]:
    """(service or repository, tag or image) the execution was asked to deploy."""
    given = execution.get("input") or {}
    if isinstance(given, dict) and "detail" in given:
        detail = given["detail"]
        name = str(detail.get("repository-name", "?")).rsplit("/", 1)[-1]
        return name, detail.get("image-tag") or short(detail.get("image-digest"))
    if isinstance(given, dict):
        return str(given.get("service", "?")), short(str(given.get("image", "?")))
    return "?", "?"


def executions_table(executions: Iterable[dict[str, Any]], title: str = "Deploy executions") -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in ("#", "request", "image", "result", "why"):
        table.add_column(column, overflow="fold")
    for number, execution in enumerate(executions, 1):
        service, image = request_of(execution)
        result, reason = outcome(execution)
        table.add_row(str(number), service, image, styled(result), reason)
    return table


def ledger_table(rows: Iterable[dict[str, Any]], title: str = "Ledger (every deployment)") -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in ("started", "service", "tag", "digest", "result", "revision", "rolled back", "by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["startedAt"][11:19],
            row["service"],
            row.get("tag") or "-",
            short(row.get("digest")),
            styled(row["result"]),
            f"{revision(row.get('taskDefinitionBefore'))} -> {revision(row.get('taskDefinitionAfter'))}",
            "yes" if row.get("rolledBack") else "no",
            row.get("source", "-"),
        )
    return table


def services_table(services: dict[str, dict[str, Any]]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Services now", title_justify="left")
    for column in ("service", "revision", "image", "rollout"):
        table.add_column(column, overflow="fold")
    for name, service in services.items():
        table.add_row(
            name,
            revision(service["taskDefinition"]),
            short(service["image"]),
            service["deployment"]["rolloutState"],
        )
    return table


def report(out: Console, report: dict[str, Any]) -> None:
    deploys = [e for e in report["executions"] if e["stateMachine"].endswith("-deploy")]
    print_table(out, executions_table(deploys))
    print_table(out, services_table(report["services"]))
    print_table(out, ledger_table(report["deployments"]))


def rotation_report(out: Console, report: dict[str, Any]) -> None:
    execution = report["execution"]
    status = execution["status"]
    out.print(f"rotation ({report['strategy']} users) of {report['database']['name']}: {styled(status)}")
    if status != "SUCCEEDED":
        out.print(f"  {execution.get('error')}: {execution.get('cause')}")
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Secret versions", title_justify="left")
    for column in ("version", "stages", "user"):
        table.add_column(column)
    for version in report["versions"]:
        table.add_row(version["versionId"], ", ".join(version["stages"]) or "-", version["username"])
    print_table(out, table)
    logins = ", ".join(f"{stage} {'logs in' if ok else 'refused'}" for stage, ok in report["logins"].items())
    out.print(f"current user {report['currentUser']}; {logins}")
    out.print(f"redeployed: {', '.join(report['redeployed']) or 'nothing'}")


# --------------------------------------------------------------------------- tables that fit

WRAPPED_MINIMUM = 16  # a wrapping column (reasons, ARNs) is readable from this width on


def _plain(cell: Any) -> str:
    from rich.text import Text  # noqa: PLC0415

    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


def needed_width(table: Table) -> int:
    """The width at which every column of ``table`` shows whole: a column that does not wrap
    its longest value, a wrapping one at least ``WRAPPED_MINIMUM`` (or its longest value), plus
    the borders and padding (3 per column, 1 more)."""
    total = 1
    for column in table.columns:
        values = [_plain(column.header), *(_plain(cell) for cell in column.cells)]
        longest = max((len(line) for value in values for line in value.splitlines() or [""]), default=0)
        total += (longest if column.no_wrap else min(longest, WRAPPED_MINIMUM)) + 3
    return total


def print_table(out: Console, table: Table) -> None:
    """``table`` when it fits ``out``'s width (a terminal's, or COLUMNS when piped) with every
    column whole; else each row as a block of ``column: value`` lines, the title first: no
    column is ever dropped or cut."""
    if out.width >= needed_width(table):
        out.print(table)
        return
    if table.title:
        out.print(table.title, soft_wrap=True)
    headers = [_plain(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    for row in range(table.row_count):
        values = [column[row] if row < len(column) else "" for column in cells]
        first = _plain(values[0]) or "-"
        out.print(f"{escape(first)}", soft_wrap=True)
        for header, value in zip(headers[1:], values[1:], strict=True):
            if _plain(value):
                out.print(f"  {escape(header)}: {value}", soft_wrap=True)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape  # noqa: PLC0415

    return rich_escape(text)
