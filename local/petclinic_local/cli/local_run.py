"""`petclinic-ops local run`: EventBridge events through a fresh local cloud, then a report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from petclinic_local.cli import render
from petclinic_local.errors import UsageError

REQUIRED_KEYS = ("source", "detail-type", "detail")


def read_event(path: str) -> dict[str, Any]:
    """One EventBridge envelope from a file, or a UsageError naming the file and the problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the event file ({exc.strerror or exc})") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(event, dict):
        raise UsageError(f"{path}: an EventBridge event is a JSON object, this is a {type(event).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in event]
    if missing:
        raise UsageError(f"{path}: not an EventBridge event, missing {', '.join(missing)}")
    if not isinstance(event["detail"], dict):
        raise UsageError(f"{path}: 'detail' must be a JSON object")
    if not all(isinstance(event[key], str) for key in ("source", "detail-type")):
        raise UsageError(f"{path}: 'source' and 'detail-type' must be strings")
    return event


def land_pushed_images(cloud: Any, events: Sequence[dict[str, Any]]) -> None:
    """An ECR push event reports a push: put its image in the local ECR (in event order)."""
    from petclinic_local.petclinic import seed as petclinic_seed  # noqa: PLC0415

    repositories = {r["repositoryName"] for r in cloud.client("ecr").describe_repositories()["repositories"]}
    for event in events:
        detail = event["detail"]
        if (
            event["source"] == "aws.ecr"
            and detail.get("action-type") == "PUSH"
            and detail.get("result") == "SUCCESS"
            and detail.get("repository-name") in repositories
            and isinstance(detail.get("image-digest"), str)
        ):
            petclinic_seed.register_image(
                cloud.region, detail["repository-name"], detail.get("image-tag"), detail["image-digest"]
            )


def run(
    paths: Sequence[str],
    *,
    as_json: bool,
    fail_digests: Sequence[str] = (),
    rollout_seconds: float = 90.0,
    time_scale: float = 0.01,
) -> int:
    events = [read_event(path) for path in paths]  # all of them, before anything starts
    if time_scale <= 0 or rollout_seconds < 0:
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
