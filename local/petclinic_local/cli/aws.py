"""What every AWS command of the CLI shares: the session (``--profile``, ``--region``,
``--endpoint-url``), the control plane stack (``--stack``: its outputs and parameters), AWS
errors turned into one line (no credentials, unknown profile, stack not found, unreachable or
malformed endpoint, bad region, unknown service), and the sealed environment of the commands
that start a fresh local cloud.

    plane = aws.control_plane(aws.Target.from_args(args))
    plane.client("ecs").describe_services(cluster=plane.cluster, services=[plane.service(name)])

``--endpoint-url`` points every client at one endpoint (``petclinic-ops local serve``, or any
AWS-compatible endpoint), as the AWS CLI's option of that name does; without it the SDK's own
configuration decides, ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) included, as
with the AWS CLI. Commands that start a fresh local cloud (``fresh_cloud``) ignore all of it.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from petclinic_local.errors import UsageError

DEFAULT_REGION = "us-west-2"
DEFAULT_STACK = "petclinic-ops-dev"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# A fresh local cloud's process sees these, and no other AWS_* variable of the caller's.
SEALED_ENVIRONMENT = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class AwsFailure(Exception):
    """An AWS call failed after the command began (exit 1, one line)."""


# --------------------------------------------------------------------------- the options


def add_arguments(
    parser: argparse.ArgumentParser, *, stack: bool = True, stack_default: str | None = DEFAULT_STACK
) -> None:
    """``--profile/--region/--stack/--endpoint-url``, as every AWS command takes them. ``--stack``
    is always the control plane's stack (``stack_default`` None: petclinic-ops-{env})."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--profile", help="AWS profile (default: AWS_PROFILE, else the SDK's default chain)")
    group.add_argument(
        "--region",
        help=f"AWS region (default: AWS_DEFAULT_REGION, else the profile's, else {DEFAULT_REGION})",
    )
    if stack:
        shown = stack_default or "petclinic-ops-{env}"
        group.add_argument(
            "--stack", default=stack_default, help=f"the control plane's stack (default {shown})"
        )
    group.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help=f"send every AWS call here (default: {ENDPOINT_VARIABLE}, else AWS), e.g. `petclinic-ops local "
        "serve`'s http://127.0.0.1:PORT",
    )


class DeprecatedAlias(argparse.Action):
    """An old spelling kept working: stores into ``dest`` as the new option does (appending when
    ``append``) and says so on stderr. Hidden from --help."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, instead: str, append: bool = False, **kwargs: Any
    ) -> None:
        self.instead = instead
        self.append = append
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"petclinic-ops: {option_string} is deprecated: use {self.instead}", file=sys.stderr)
        if self.append:
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a finite number of seconds, 0 or more")
    return value


def positive(text: str) -> float:
    """An argparse type: a finite number over 0 (a poll interval, a time scale)."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: more than 0")
    return value


def count(text: str) -> int:
    """An argparse type: a whole number, 1 or more (a limit, a revision, a number of steps)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def add_follow_arguments(parser: argparse.ArgumentParser, *, timeout: float, poll_seconds: float) -> None:
    """``--timeout`` (stop following; the execution goes on, exit 1) and the hidden ``--poll-seconds``."""
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=timeout,
        help=f"stop following after this many seconds (default {timeout:.0f}; the execution goes on)",
    )
    parser.add_argument("--poll-seconds", type=positive, default=poll_seconds, help=argparse.SUPPRESS)


def fresh_cloud(parser: argparse.ArgumentParser) -> None:
    """Mark a command that starts its own local cloud: it runs in ``sealed_environment``."""
    parser.set_defaults(fresh_cloud=True)


def check_endpoint_url(url: str, where: str) -> str:
    """``url`` if botocore can send to it (http or https, a host, a port in range), else a
    UsageError naming ``where`` it came from."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url  # noqa: PLC0415

    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in {"http", "https"}:
            problem = "expected http:// or https://"
        elif not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
            problem = "no host, or a character no URL has"
    if problem:
        raise UsageError(f"{where} {url!r} is not an endpoint URL ({problem}; e.g. http://127.0.0.1:5000)")
    return url


def configured_endpoints() -> dict[str, str]:
    """The endpoint variables the SDK reads (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), each
    checked; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return {}
    return {
        name: check_endpoint_url(value, name)
        for name, value in os.environ.items()
        if name == ENDPOINT_VARIABLE or name.startswith(f"{ENDPOINT_VARIABLE}_")
    }


@dataclass(frozen=True)
class Target:
    profile: str | None = None
    region: str | None = None
    stack: str = DEFAULT_STACK
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if self.endpoint_url is not None:
            check_endpoint_url(self.endpoint_url, "--endpoint-url")
        if not self.stack:
            raise UsageError("--stack: a stack name is needed")

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, default_stack: str = DEFAULT_STACK) -> Target:
        return cls(
            profile=getattr(args, "profile", None),
            region=getattr(args, "region", None),
            stack=getattr(args, "stack", None) or default_stack,
            endpoint_url=getattr(args, "endpoint_url", None),
        )

    @property
    def endpoint(self) -> str | None:
        """Where the calls go: --endpoint-url, else AWS_ENDPOINT_URL (None: AWS)."""
        return self.endpoint_url or configured_endpoints().get(ENDPOINT_VARIABLE)


class EndpointSession:
    """A boto3 session whose clients all go to one endpoint (``--endpoint-url``)."""

    def __init__(self, session: Any, endpoint_url: str | None) -> None:
        self._session = session
        self.endpoint_url = endpoint_url
        self.region_name: str = session.region_name

    def client(self, service: str, **options: Any) -> Any:
        if self.endpoint_url and "endpoint_url" not in options:
            options["endpoint_url"] = self.endpoint_url
        try:
            return self._session.client(service, **options)
        except ValueError as exc:  # botocore: "Invalid endpoint: ..." from a config file's endpoint_url
            raise UsageError(f"cannot make an AWS client for {service}: {exc}") from None


def session_for(target: Target) -> EndpointSession:
    """The session of ``target``: a UsageError names a missing profile, a region or an endpoint
    variable that is not one."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import InvalidRegionError, ProfileNotFound  # noqa: PLC0415
    from botocore.utils import validate_region_name  # noqa: PLC0415

    configured_endpoints()
    try:
        session = boto3.Session(profile_name=target.profile, region_name=target.region)
        if session.region_name is None:
            session = boto3.Session(profile_name=target.profile, region_name=DEFAULT_REGION)
    except ProfileNotFound as exc:
        where = (
            f"--profile {target.profile!r}"
            if target.profile
            else f"AWS_PROFILE {exc.kwargs.get('profile')!r}"
        )
        raise UsageError(f"{where}: no such profile in ~/.aws/config or ~/.aws/credentials") from None
    try:
        validate_region_name(session.region_name)
    except InvalidRegionError:
        where = (
            "--region"
            if target.region
            else "AWS_DEFAULT_REGION"
            if os.environ.get("AWS_DEFAULT_REGION")
            else "the profile's region"
        )
        raise UsageError(f"{where} {session.region_name!r} is not a region name (e.g. us-west-2)") from None
    return EndpointSession(session, target.endpoint_url)


@contextlib.contextmanager
def sealed_environment() -> Iterator[None]:
    """No AWS_* variable of the caller's while a fresh local cloud runs (its endpoint, profile,
    credentials, region, config files: the local cloud sets its own), then all of them back."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(SEALED_ENVIRONMENT)
    try:
        yield
    finally:
        for key in [key for key in os.environ if key.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(saved)


def _where(session: EndpointSession | None) -> str:
    if session is None:
        return "AWS"
    return session.endpoint_url or configured_endpoints().get(ENDPOINT_VARIABLE) or session.region_name


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
        raise UsageError("no AWS region: pass --region or set AWS_DEFAULT_REGION") from None
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
    def stack_name(self) -> str:
        return self.stack

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
        """The stack's RepositoryPrefix; empty (its default): the environment's repositories."""
        from petclinic_ops.models.common import environment_repository_prefix  # noqa: PLC0415

        return self.parameters.get("RepositoryPrefix") or environment_repository_prefix(
            self.parameters.get("EnvironmentName") or "dev"
        )

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
                raise UsageError(
                    f"stack {target.stack} not found in {_where(session)}{_hint(target.stack)}"
                ) from None
            raise
    if not stacks:
        raise UsageError(f"stack {target.stack} not found in {_where(session)}")
    described = stacks[0]
    return ControlPlane(
        session=session,
        stack=target.stack,
        stack_id=described["StackId"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
    )


def _hint(stack: str) -> str:
    if stack in {"network", "data", "services", "edge"}:
        return (
            f" (--stack names the control plane's stack; the PetClinic stacks a run covers: --only {stack})"
        )
    return ""


def local_endpoint_environment(endpoint_url: str) -> dict[str, str]:
    """What a process needs to talk to a local endpoint: the endpoint and dummy credentials
    (moto accepts any), unless real ones are set."""
    env = {"AWS_ENDPOINT_URL": endpoint_url}
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return env
