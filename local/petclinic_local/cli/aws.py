"""What every AWS command of the CLI shares: the session (``--profile``, ``--region``,
``--endpoint-url``), the control plane stack (``--stack``: its outputs and parameters), and AWS
errors turned into one line (no credentials, unknown profile, stack not found, unreachable
endpoint, unknown service).

    plane = aws.control_plane(aws.Target.from_args(args))
    plane.client("ecs").describe_services(cluster=plane.cluster, services=[plane.service(name)])

``--endpoint-url`` points every client at one endpoint (``petclinic-ops local serve``, or any
AWS-compatible endpoint), as the AWS CLI's option of that name does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petclinic_local.errors import UsageError

DEFAULT_REGION = "us-west-2"
DEFAULT_STACK = "petclinic-ops-dev"


class AwsFailure(Exception):
    """An AWS call failed after the command began (exit 1, one line)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--profile/--region/--stack/--endpoint-url``, as every AWS command takes them."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--profile", help="AWS profile (default: the SDK's default chain)")
    group.add_argument("--region", help=f"AWS region (default: the profile's, else {DEFAULT_REGION})")
    group.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"control plane stack (default {DEFAULT_STACK})"
    )
    group.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="send every AWS call here (e.g. `petclinic-ops local serve`'s http://127.0.0.1:PORT)",
    )


@dataclass(frozen=True)
class Target:
    profile: str | None = None
    region: str | None = None
    stack: str = DEFAULT_STACK
    endpoint_url: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        return cls(
            profile=args.profile,
            region=args.region,
            stack=args.stack,
            endpoint_url=args.endpoint_url,
        )


class EndpointSession:
    """A boto3 session whose clients all go to one endpoint (``--endpoint-url``)."""

    def __init__(self, session: Any, endpoint_url: str | None) -> None:
        self._session = session
        self.endpoint_url = endpoint_url
        self.region_name: str = session.region_name

    def client(self, service: str, **options: Any) -> Any:
        if self.endpoint_url and "endpoint_url" not in options:
            options["endpoint_url"] = self.endpoint_url
        return self._session.client(service, **options)


def session_for(target: Target) -> EndpointSession:
    import boto3  # noqa: PLC0415
    from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

    try:
        session = boto3.Session(profile_name=target.profile, region_name=target.region)
        if session.region_name is None:
            session = boto3.Session(profile_name=target.profile, region_name=DEFAULT_REGION)
    except ProfileNotFound:
        raise UsageError(
            f"AWS profile {target.profile!r} not found in ~/.aws/config or ~/.aws/credentials"
        ) from None
    return EndpointSession(session, target.endpoint_url)


def _where(session: EndpointSession | None) -> str:
    if session is None:
        return "AWS"
    return session.endpoint_url or session.region_name


@contextlib.contextmanager
def aws_errors(session: EndpointSession | None, doing: str, *, usage: bool = False) -> Iterator[None]:
    """AWS errors as one line: UsageError (exit 2) when ``usage`` or when nothing could be asked
    at all (no credentials, no endpoint), else AwsFailure (exit 1)."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )
    from botocore.parsers import ResponseParserError  # noqa: PLC0415

    try:
        yield
    except NoCredentialsError:
        raise UsageError(
            "no AWS credentials: configure a profile (aws configure), pass --profile, or set "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from None
    except NoRegionError:
        raise UsageError("no AWS region: pass --region or set AWS_REGION") from None
    except EndpointConnectionError as exc:
        raise UsageError(f"cannot reach {exc.kwargs.get('endpoint_url') or _where(session)}") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = f"{doing}: {error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
        if usage or error.get("Code") in {
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "ExpiredToken",
            "ExpiredTokenException",
            "AccessDenied",
            "AccessDeniedException",
        }:
            raise UsageError(message) from None
        raise AwsFailure(message) from None
    except (BotoCoreError, ResponseParserError) as exc:
        raise AwsFailure(f"{doing}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def _parameter_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass
class ControlPlane:
    """The control plane stack as the CLI needs it: where its workflows and tables are, which
    cluster and services it manages, and clients for it."""

    session: EndpointSession
    stack: str
    stack_id: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    @property
    def region(self) -> str:
        return self.stack_id.split(":")[3]

    @property
    def account(self) -> str:
        return self.stack_id.split(":")[4]

    @property
    def cluster(self) -> str:
        return self.parameters.get("ClusterName") or "petclinic-dev"

    @property
    def services(self) -> tuple[str, ...]:
        return _parameter_list(self.parameters.get("ServiceNames", ""))

    @property
    def repository_prefix(self) -> str:
        return self.parameters.get("RepositoryPrefix", "petclinic/")

    def repository(self, service: str) -> str:
        return f"{self.repository_prefix}{service}"

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise UsageError(
                f"stack {self.stack} has no {key} output: is it the petclinic-ops control plane?"
            )
        return self.outputs[key]

    def service(self, name: str) -> str:
        """``name`` if the control plane manages it, else a UsageError listing those it does."""
        if name not in self.services:
            raise UsageError(
                f"unknown service {name!r}: stack {self.stack} manages "
                f"{', '.join(self.services) or 'no services'} in cluster {self.cluster}"
            )
        return name

    def state_machines(self) -> dict[str, str]:
        """Every workflow the stack outputs: short name (deploy, rotation-rollout...) -> ARN."""
        prefix = f"petclinic-ops-{self.parameters.get('EnvironmentName', 'dev')}-"
        machines = {}
        for key, value in self.outputs.items():
            if key.endswith("StateMachineArn"):
                name = value.rsplit(":", 1)[-1]
                machines[name.removeprefix(prefix)] = value
        return machines

    @contextlib.contextmanager
    def errors(self, doing: str, *, usage: bool = False) -> Iterator[None]:
        with aws_errors(self.session, doing, usage=usage):
            yield


def control_plane(target: Target, *, session: Any = None) -> ControlPlane:
    """Read the stack (DescribeStacks): a UsageError names a missing stack, profile or credentials."""
    if session is None:
        session = session_for(target)
    elif not isinstance(session, EndpointSession):
        session = EndpointSession(session, target.endpoint_url)
    from botocore.exceptions import ClientError  # noqa: PLC0415

    with aws_errors(session, f"cannot read stack {target.stack}", usage=True):
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=target.stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in exc.response.get("Error", {}).get("Message", ""):
                raise UsageError(f"stack {target.stack} not found in {_where(session)}") from None
            raise
    described = stacks[0]
    return ControlPlane(
        session=session,
        stack=target.stack,
        stack_id=described["StackId"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
    )


def local_endpoint_environment(endpoint_url: str) -> dict[str, str]:
    """What a process needs to talk to a local endpoint: the endpoint and dummy credentials
    (moto accepts any), unless real ones are set."""
    env = {"AWS_ENDPOINT_URL": endpoint_url}
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return env
