"""`petclinic-ops local serve [--port P]` (the local cloud behind an HTTP endpoint on 127.0.0.1,
until interrupted) and `petclinic-ops local push SERVICE TAG --endpoint-url URL` (a `docker
push` to it: the image in its ECR, then ECR's push event on its default bus).

With a MySQL/MariaDB server reachable at ``--mysql`` (default mysql://root@127.0.0.1:3306), the
served cloud's managed database secret is a fresh PetClinic database's user on it (dropped when
the server stops), so rotations work end to end; without one, the seeded secret names no real
database and a rotation fails at setSecret.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from petclinic_local.cli import aws, registry
from petclinic_local.errors import UsageError

SERVE_STACK = aws.DEFAULT_STACK


@contextlib.contextmanager
def _database(mysql_url: str | None, say: Any) -> Iterator[Any]:
    if mysql_url is None:
        yield None
        return
    from petclinic_local.petclinic.database import PetClinicDatabase  # noqa: PLC0415

    try:
        database = PetClinicDatabase.create(mysql_url)
    except UsageError as exc:
        say(f"rotation: {exc}; the seeded secret names no real database (rotations fail at setSecret)")
        yield None
        return
    say(
        f"rotation: the database secret is user {database.app_user} of {database.name} "
        f"on {database.host}:{database.port}"
    )
    try:
        yield database
    finally:
        database.drop()


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    *,
    port: int,
    time_scale: float,
    rollout_seconds: float,
    mysql_url: str | None,
    stack: str = SERVE_STACK,
) -> int:
    from petclinic_local.cloud import REGION, LocalCloud  # noqa: PLC0415
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415
    from petclinic_local.server import serve as serve_endpoint  # noqa: PLC0415

    def say(text: str) -> None:
        print(text, flush=True)

    if port < 0 or port > 65535:
        raise UsageError(f"--port {port}: not a TCP port")
    if not (time_scale > 0 and rollout_seconds >= 0):
        raise UsageError("--time-scale must be positive and --rollout-seconds not negative")
    with _database(mysql_url, say) as database:
        seed = (
            PetClinicSeed(secret_value=database.app_secret(), master_secret_value=database.superuser_secret())
            if database
            else None
        )
        cloud = LocalCloud(
            time_scale=time_scale, rollout_seconds=rollout_seconds, seed=seed, stack_name=stack
        )

        def ready(endpoint: Any, seconds: float) -> None:
            say(
                f"petclinic-ops local serve: {endpoint.url} ready in {seconds:.1f} s "
                f"(stack {stack}, region {REGION})"
            )
            say(f"  aws --endpoint-url {endpoint.url} --region {REGION} stepfunctions list-state-machines")
            say(f"  petclinic-ops status --endpoint-url {endpoint.url}")
            say("  (any credentials are accepted; Ctrl-C stops it and forgets everything)")

        try:
            serve_endpoint(cloud, port=port, ready=ready, until=_wait_for_signal)
        except OSError as exc:
            raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    return 0


def _manifest(service: str, tag: str) -> str:
    """An OCI image manifest of a new build: its config and layer digests are new for every push
    (the image digest depends on them; moto derives it from the layers' digests)."""
    build = f"{service}:{tag}:{uuid.uuid4()}"
    config, layer = (hashlib.sha256(f"{part}:{build}".encode()).hexdigest() for part in ("config", "layer"))
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 7023,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": 31457280,
                    "digest": f"sha256:{layer}",
                }
            ],
        }
    )


def push(
    target: aws.Target, service: str, tag: str, *, send_event: bool = True, as_json: bool = False
) -> int:
    from petclinic_local.cloud import ecr_push_event  # noqa: PLC0415
    from petclinic_ops.models.deploy import TAG_PATTERN  # noqa: PLC0415

    if not target.endpoint:
        raise UsageError(
            "local push needs --endpoint-url (or AWS_ENDPOINT_URL): it writes ECR's push event itself, "
            "which only a local endpoint accepts"
        )
    if not TAG_PATTERN.match(tag):
        raise UsageError(
            f"tag {tag!r}: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        )
    plane = aws.control_plane(target)
    repository = plane.repository(plane.service(service))
    with plane.errors(f"cannot put the image into {repository}"):
        image = plane.client("ecr").put_image(
            repositoryName=repository,
            imageManifest=_manifest(service, tag),
            imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
            imageTag=tag,
        )["image"]
    digest = image["imageId"]["imageDigest"]
    event = ecr_push_event(repository, digest, tag, account=plane.account, region=plane.region)
    event_id = None
    if send_event:
        with plane.errors("cannot put the ECR event"):
            answer = plane.client("events").put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event["resources"],
                    }
                ]
            )
        if answer.get("FailedEntryCount"):
            raise aws.AwsFailure(f"EventBridge refused the push event: {answer['Entries']}")
        event_id = answer["Entries"][0].get("EventId")
    if as_json:
        print(
            json.dumps(
                {"repository": repository, "tag": tag, "digest": digest, "eventId": event_id, "event": event},
                indent=2,
            )
        )
    else:
        sent = f"; ECR push event {event_id} sent" if event_id else "; no event sent"
        print(f"pushed {repository}:{tag} {digest}{sent}", file=sys.stdout)
    return 0


# --------------------------------------------------------------------------- the commands


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=5000, help="TCP port on 127.0.0.1 (default 5000; 0: any free port)"
    )
    parser.add_argument(
        "--stack",
        default=aws.DEFAULT_STACK,
        help=f"the control plane's stack name (default {aws.DEFAULT_STACK}, as on AWS)",
    )
    parser.add_argument(
        "--time-scale",
        type=aws.positive,
        default=0.01,
        help="real seconds per simulated second (default 0.01)",
    )
    parser.add_argument(
        "--rollout-seconds", type=aws.seconds, default=90.0, help="simulated ECS rollout time (default 90)"
    )
    parser.add_argument(
        "--mysql",
        default="mysql://root@127.0.0.1:3306",
        metavar="URL",
        help="MySQL/MariaDB for rotations, when reachable (default mysql://root@127.0.0.1:3306)",
    )
    parser.add_argument("--no-mysql", action="store_true", help="do not look for a database")


@registry.command(
    "local serve",
    arguments=_serve_arguments,
    help="the local cloud behind an HTTP endpoint on 127.0.0.1 for the AWS CLI and any SDK, until Ctrl-C",
    description="Deploys the control plane (template.yaml) into a local cloud, seeds PetClinic, and serves "
    "every AWS API it has on http://127.0.0.1:PORT (moto's server in this process, with the local cloud's "
    "functions, ECS rollout simulator and EventBridge delivery). Use it with --endpoint-url.",
    epilog="exit codes: 0 stopped (Ctrl-C or SIGTERM), 2 cannot serve (port taken) or bad input",
    raw_description=True,
    fresh_cloud=True,
)
def _serve(args: argparse.Namespace) -> int:
    return serve(
        port=args.port,
        time_scale=args.time_scale,
        rollout_seconds=args.rollout_seconds,
        mysql_url=None if args.no_mysql else args.mysql,
        stack=args.stack,
    )


def _push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service")
    parser.add_argument("tag")
    parser.add_argument("--no-event", action="store_true", help="the image only, no push event")


@registry.command(
    "local push",
    arguments=_push_arguments,
    help="put an image into a served local cloud's ECR and send ECR's push event (as `docker push` would)",
    description="Puts an image manifest tagged TAG into SERVICE's repository at --endpoint-url and puts "
    "ECR's 'ECR Image Action' PUSH event on its default bus, which deploys it.",
    epilog="exit codes: 0 pushed, 1 an AWS call failed, 2 bad input (unknown service, bad tag, no endpoint)",
    raw_description=True,
    json=registry.JSON,
    aws=registry.Aws(),
)
def _push(args: argparse.Namespace) -> int:
    return push(
        aws.Target.from_args(args), args.service, args.tag, send_event=not args.no_event, as_json=args.json
    )
