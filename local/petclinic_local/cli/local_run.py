"""`petclinic-ops local run`: EventBridge events through a fresh local cloud, then a report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

REQUIRED_KEYS = ("source", "detail-type", "detail")
# PutEvents' limits: what EventBridge itself would refuse is refused here, naming the field.
MAX_DETAIL_BYTES = 256 * 1024


def read_event(path: str) -> dict[str, Any]:
    """One EventBridge envelope from a file, or a UsageError naming the file and the problem."""
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the event file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: the event file is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise UsageError(f"{path}: the event nests too deeply to read") from None
    except ValueError as exc:  # an integer past Python's 4,300 digits
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(event, dict):
        raise UsageError(f"{path}: an EventBridge event is a JSON object, this is a {type(event).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in event]
    if missing:
        raise UsageError(f"{path}: not an EventBridge event, missing {', '.join(missing)}")
    _check_envelope(path, event)
    return event


def _check_envelope(path: str, event: dict[str, Any]) -> None:
    """The fields PutEvents takes from the envelope (Source, DetailType, Detail, Resources, Time)."""
    if not isinstance(event["detail"], dict):
        raise UsageError(f"{path}: 'detail' must be a JSON object")
    for key in ("source", "detail-type"):
        if not isinstance(event[key], str) or not 1 <= len(event[key]) <= 256:
            raise UsageError(f"{path}: '{key}' must be a string of 1 to 256 characters")
    resources = event.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(item, str) for item in resources):
        raise UsageError(f"{path}: 'resources' must be a list of ARNs (strings)")
    if "time" in event and event["time"] is not None and _timestamp(event["time"]) is None:
        raise UsageError(f"{path}: 'time' must be an ISO 8601 timestamp such as 2026-11-26T09:15:00Z")
    if len(json.dumps(event["detail"]).encode()) > MAX_DETAIL_BYTES:
        raise UsageError(f"{path}: 'detail' is larger than EventBridge's 256 KB")


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def pushed_images(
    events: Sequence[dict[str, Any]], repositories: set[str]
) -> Iterator[tuple[str, str | None, str]]:
    """(repository, tag, digest) of each successful push to a known repository, in event order.

    Only details ECR could have sent (the resolver's own model) count: a malformed one goes on the
    bus as it is, and the deploy workflow rejects it, naming the field."""
    from pydantic import ValidationError  # noqa: PLC0415

    from petclinic_ops.models.deploy import EcrImageAction  # noqa: PLC0415

    for event in events:
        if event["source"] != "aws.ecr":
            continue
        try:
            detail = EcrImageAction.model_validate(event["detail"])
        except ValidationError:
            continue
        if (
            detail.action_type == "PUSH"
            and detail.result == "SUCCESS"
            and detail.repository_name in repositories
            and detail.image_digest
        ):
            yield detail.repository_name, detail.image_tag, detail.image_digest


def land_pushed_images(cloud: Any, events: Sequence[dict[str, Any]]) -> None:
    """An ECR push event reports a push: put its image in the local ECR (in event order)."""
    from petclinic_local.petclinic import seed as petclinic_seed  # noqa: PLC0415

    repositories = {r["repositoryName"] for r in cloud.client("ecr").describe_repositories()["repositories"]}
    for repository, tag, digest in pushed_images(events, repositories):
        petclinic_seed.register_image(cloud.region, repository, tag, digest)


def run(
    paths: Sequence[str],
    *,
    as_json: bool,
    fail_digests: Sequence[str] = (),
    rollout_seconds: float = 90.0,
    time_scale: float = 0.01,
) -> int:
    events = [read_event(path) for path in paths]  # all of them, before anything starts
    if not (time_scale > 0 and rollout_seconds >= 0):
        raise UsageError("--time-scale must be positive and --rollout-seconds not negative")
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415 - moto is slow to import

    console = render.console()
    with console.status(
        "starting the local cloud (deploying template.yaml, seeding PetClinic)", spinner="dots"
    ):
        cloud = LocalCloud(time_scale=time_scale, rollout_seconds=rollout_seconds).__enter__()
    try:
        for digest in fail_digests:
            cloud.inject_fault(digest, "FAILED")
        land_pushed_images(cloud, events)
        with console.status(
            f"{len(events)} event(s) on the bus, waiting for every execution to end", spinner="dots"
        ):
            cloud.put_events(events)
            cloud.wait_until_quiet()
        report = cloud.report()
    finally:
        cloud.close()
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render.report(console, report)
    return 0


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event",
        dest="events",
        action="append",
        required=True,
        metavar="FILE",
        help="an EventBridge envelope (as `sam local invoke -e` takes); repeat for more",
    )
    parser.add_argument(
        "--fail-digest",
        action="append",
        default=[],
        metavar="DIGEST",
        help="the rollout of this image digest fails (repeatable)",
    )
    parser.add_argument(
        "--rollout-seconds", type=aws.seconds, default=90.0, help="simulated rollout time (default 90)"
    )
    parser.add_argument(
        "--time-scale",
        type=aws.positive,
        default=0.01,
        help="real seconds per simulated second (default 0.01)",
    )


@registry.command(
    "local run",
    arguments=_arguments,
    help="put EventBridge events on a fresh local cloud, wait for every execution, report",
    description="A fresh local cloud (control plane deployed from template.yaml, PetClinic seeded); "
    "the events go on the default bus in order without waiting in between, as a burst arrives on AWS. "
    "An ECR push event also lands its image in the local ECR, as the push it reports would have.",
    epilog="exit codes: 0 every execution ended (the report says how), 2 bad input (an event file "
    "unreadable or not an EventBridge event: nothing started)",
    json="print the report as JSON",
    fresh_cloud=True,
)
def _run(args: argparse.Namespace) -> int:
    return run(
        args.events,
        as_json=args.json,
        fail_digests=args.fail_digest,
        rollout_seconds=args.rollout_seconds,
        time_scale=args.time_scale,
    )
