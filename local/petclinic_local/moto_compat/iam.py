"""IAM: every call the control plane makes runs as its role, and IAM decides as AWS would.

moto authorises every call unless ``INITIAL_NO_AUTH_ACTION_COUNT`` is set, and then only for
requests signed with an IAM user's or an assumed role's keys; its Step Functions interpreter signs
every Task state's call with the fixed keys "ak"/"sk", whatever the state machine's role. The local
cloud closes both gaps here:

* ``iam-states-role``: a state machine's Task states (SDK and optimised integrations, ``.sync``
  polling, Lambda invocations) call AWS as an assumed-role session of the state machine's role,
  read from the execution's context (``$$.Execution.RoleArn``);
* ``iam-enforcement``: every botocore call made as a principal (a Task state's session; a Lambda
  handler's, which ``LambdaRuntime`` sets with ``acting_as`` for the invocation's thread, since a
  handler's boto3 session keeps the first credentials it saw) is authorised first: the call's
  requests (``iam_requests``: the action, the resource ARN, the condition keys, and the
  ``iam:PassRole`` a call implies) are evaluated against the role's policies in moto's IAM (inline
  and attached, its permissions boundary: ``iam_policy``). A refusal raises what the service
  raises on AWS (AccessDeniedException; AccessDenied for the query protocols; SNS's
  AuthorizationError) with AWS's message naming the session, the action and the resource. What the
  called service then does on its own (moto's work, a simulator, a function it invokes, which runs
  as its own role) runs as no principal. Calls made as no principal (the host, tests, operators'
  CLIs) are not checked: they stand for an administrator.

EventBridge's Step Functions targets are checked with the target's ``RoleArn``
(``target_refusal``, used by ``moto_compat.events``) and Secrets Manager invokes a rotation
function only where the function's resource policy lets ``secretsmanager.amazonaws.com`` do so
(``function_policy_refusal``, used by ``moto_compat.secretsmanager``).

``REFUSALS`` keeps every refusal (tests print them when they fail); ``AUTHORISED`` counts
authorised requests. Both are process-wide and reset by ``reset()`` (each local cloud's start).

Two environment variables serve tools/iam_mutation.py, which proves every statement of the
control plane's roles needed by a test:

* ``PETCLINIC_IAM_WITHOUT``: mutations, separated by ";", each ``<role>/<policy>/<statement>``
  (the role's logical id in template.yaml, the inline policy's name, the statement's Sid or its
  index in the policy) or ``<role>/<policy>/<statement>/<action>``: the role's policies are read
  without that statement, or without that action of its ``Action`` list;
* ``PETCLINIC_IAM_RECORD``: a file each authorised request of a role from the template appends a
  JSON line to: the test (``PYTEST_CURRENT_TEST``), the role's logical id, the first ``Allow``
  statement that allows it (``<policy>/<statement>``, as above) and the action of that statement
  that matched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import FrameType
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.iam_policy import Policies, Request, Statement, listed, refusal, statements
from petclinic_local.moto_compat.iam_requests import UnknownAction, Where, requests_for

ACCOUNT = "123456789012"
WITHOUT = "PETCLINIC_IAM_WITHOUT"  # mutations: the statements (or actions) the roles lack
RECORD = "PETCLINIC_IAM_RECORD"  # a file: which statement allowed each request, in which test
PRINCIPAL_ATTRIBUTE = "_petclinic_principal"  # set on the clients a Task state creates


@dataclass(frozen=True)
class Principal:
    """An assumed-role session: the role's ARN and the session's name."""

    role_arn: str
    session: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        account = self.role_arn.split(":")[4] or ACCOUNT
        return f"arn:aws:sts::{account}:assumed-role/{self.role_name}/{self.session}"


@dataclass(frozen=True)
class Refusal:
    principal: str
    action: str
    resource: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"User: {self.principal} is not authorized to perform: {self.action} on resource: "
            f"{self.resource} {self.reason}"
        )


REFUSALS: list[Refusal] = []
AUTHORISED = [0]
ENFORCING = [False]  # while the iam-enforcement gap is installed
_acting = threading.local()


def reset() -> None:
    REFUSALS.clear()
    AUTHORISED[0] = 0


def current() -> Principal | None:
    principal: Principal | None = getattr(_acting, "principal", None)
    return principal


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Calls made on this thread inside the block are made as ``principal`` (None: as no one)."""
    previous = current()
    _acting.principal = principal
    try:
        yield
    finally:
        _acting.principal = previous


# --------------------------------------------------------------------------- the decision


def _parsed(document: Any) -> tuple[Any, ...]:
    """A policy's statements (moto keeps a CloudFormation-made policy as a mapping, others as JSON;
    a statement ``Fn::If`` turned into ``AWS::NoValue`` as None, where CloudFormation drops it)."""
    found = _parsed_json(document) if isinstance(document, str) else statements(document)
    return tuple(s for s in found if s is not None)


@lru_cache(maxsize=1024)
def _parsed_json(document: str) -> tuple[Any, ...]:
    return statements(document)


def _document(policy: Any) -> Any:
    return next(v.document for v in policy.versions if v.is_default)


STACK_ROLE = re.compile(r".+-(?P<logical_id>[A-Za-z0-9]+)-[A-Z0-9]{12,13}")


def logical_id(role_name: str) -> str | None:
    """The template's logical id of a role CloudFormation named ``<stack>-<logical id>-<suffix>``
    (None: a role named otherwise, not one of a stack's)."""
    found = STACK_ROLE.fullmatch(role_name)
    return found["logical_id"] if found else None


@dataclass(frozen=True)
class Mutation:
    """A statement (or one action of it) a role's policies are read without."""

    role: str  # the role's logical id
    policy: str
    statement: str  # its Sid, or its index in the policy
    action: str | None = None  # None: the whole statement

    @classmethod
    def parse(cls, text: str) -> Mutation:
        parts = text.strip().split("/")
        if len(parts) not in {3, 4} or not all(parts):
            raise ValueError(f"{WITHOUT}: {text!r} is not <role>/<policy>/<Sid or index>[/<action>]")
        return cls(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)

    def __str__(self) -> str:
        return "/".join(p for p in (self.role, self.policy, self.statement, self.action) if p)


def mutations(environ: Mapping[str, str] = os.environ) -> tuple[Mutation, ...]:
    return tuple(Mutation.parse(m) for m in environ.get(WITHOUT, "").split(";") if m.strip())


def statement_key(statement: Statement, index: int) -> str:
    return str(statement.get("Sid") or index)


def mutated(
    role: str | None, policy: str, found: tuple[Statement, ...], without: tuple[Mutation, ...]
) -> list[tuple[str, Statement]]:
    """A policy's statements keyed by Sid or index, less those (or the actions of them) the
    mutations remove."""
    kept: list[tuple[str, Statement]] = []
    for index, original in enumerate(found):
        key = statement_key(original, index)
        mine = [m for m in without if (m.role, m.policy, m.statement) == (role, policy, key)]
        if any(m.action is None for m in mine):
            continue
        statement = original
        removed = {m.action.lower() for m in mine if m.action}
        if removed and "Action" in original:
            actions = [a for a in listed(original["Action"]) if str(a).lower() not in removed]
            if not actions:
                continue
            statement = {**original, "Action": actions}
        kept.append((f"{policy}/{key}", statement))
    return kept


def _role(role_arn: str) -> tuple[Any, Any]:
    from moto.iam.models import iam_backends  # noqa: PLC0415

    account = role_arn.split(":")[4] or ACCOUNT
    backend = iam_backends[account]["global"]
    return backend, next((r for r in backend.roles.values() if r.arn == role_arn), None)


def inline_statements(role: Any) -> list[tuple[str, Statement]]:
    """The role's inline statements keyed ``<policy>/<Sid or index>``, less ``WITHOUT``'s."""
    without, name = mutations(), logical_id(role.name)
    return [
        keyed
        for policy, document in role.policies.items()
        for keyed in mutated(name, policy, _parsed(document), without)
    ]


def policies_of(role_arn: str) -> Policies | None:
    """The role's identity policies and boundary as moto's IAM holds them (None: no such role),
    less what ``WITHOUT`` removes."""
    backend, role = _role(role_arn)
    if role is None:
        return None
    identity = [s for _, s in inline_statements(role)]
    identity += [s for policy in role.managed_policies.values() for s in _parsed(_document(policy))]
    boundary = None
    if role.permissions_boundary_arn:
        policy = backend.managed_policies.get(role.permissions_boundary_arn)
        boundary = _parsed(_document(policy)) if policy is not None else ()
    return Policies(tuple(identity), boundary)


def decide(principal: Principal, requests: list[Request], *, resource_known: bool = True) -> Refusal | None:
    """The first request IAM refuses (recorded in ``REFUSALS``), or None: all authorised."""
    policies = policies_of(principal.role_arn)
    if policies is None:
        # A role moto does not have: moto's own tests name roles they never create. Every role the
        # local cloud runs as is created from template.yaml, so none of its calls lands here.
        return None
    for request in requests:
        reason = refusal(policies, request, resource_known=resource_known)
        if reason is not None and not resource_known:
            reason += (
                " on every resource (the local cloud cannot tell this call's resource: gap "
                "iam-enforcement, petclinic_local/moto_compat/iam_requests.py)"
            )
        if reason is not None:
            found = Refusal(principal.arn, request.action, request.resource, reason)
            REFUSALS.append(found)
            return found
        AUTHORISED[0] += 1
        if os.environ.get(RECORD):
            record(principal, request, os.environ[RECORD])
    return None


_RECORDED: set[tuple[str, ...]] = set()
_RECORD_LOCK = threading.Lock()


def granting(keyed: list[tuple[str, Statement]], request: Request) -> tuple[str, str] | None:
    """The first ``Allow`` statement that allows the request, and the action of it that matched:
    (``<policy>/<statement>``, action); None: none of these statements does."""
    for key, statement in keyed:
        if statement.get("Effect") != "Allow" or refusal(Policies((statement,)), request) is not None:
            continue
        if "Action" not in statement:
            return key, "NotAction"
        for action in listed(statement["Action"]):
            if refusal(Policies(({**statement, "Action": action},)), request) is None:
                return key, str(action)
    return None


def record(principal: Principal, request: Request, path: str) -> None:
    """Appends to ``path`` which statement of a template role's inline policies allowed the
    request, in which test (nothing for a role not from a stack, or a request that only a managed
    policy allows)."""
    _, role = _role(principal.role_arn)
    name = logical_id(role.name) if role is not None else None
    found = granting(inline_statements(role), request) if name is not None else None
    if found is None or name is None:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    line = (test, name, found[0], found[1])
    with _RECORD_LOCK:
        if line in _RECORDED:
            return
        _RECORDED.add(line)
        with open(path, "a", encoding="utf-8") as file:
            keys = ("test", "role", "statement", "action")
            file.write(json.dumps(dict(zip(keys, line, strict=True))) + "\n")


def authorise(
    principal: Principal, service_name: str, operation: str, params: Any, region: str
) -> Refusal | None:
    where = Where(region, principal.role_arn.split(":")[4] or ACCOUNT)
    try:
        requests = requests_for(service_name, operation, params or {}, where)
    except UnknownAction as unknown:
        return decide(principal, [Request(str(unknown), "*", {})], resource_known=False)
    return decide(principal, requests)


def error_code(service_model: Any) -> str:
    """The error code a service answers an authorisation failure with."""
    if service_model.service_name == "sns":
        return "AuthorizationError"
    metadata = service_model.metadata
    if metadata.get("protocol") in {"query", "ec2", "rest-xml"} or "awsQueryCompatible" in metadata:
        return "AccessDenied"
    return "AccessDeniedException"


def client_error(client: Any, operation: str, found: Refusal) -> Exception:
    code = error_code(client.meta.service_model)
    response = {
        "Error": {"Code": code, "Message": found.message},
        "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": str(uuid.uuid4())},
    }
    error: Exception = client.exceptions.from_code(code)(response, operation)
    return error


# --------------------------------------------------------------------------- the patches


def _enforcement(hooks: Hooks) -> Patches:
    from botocore.client import BaseClient  # noqa: PLC0415

    if not hooks.enforce_iam:
        return

    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        principal = getattr(self, PRINCIPAL_ATTRIBUTE, None) or current()
        if principal is None:
            return original(self, operation_name, api_params)
        model = self.meta.service_model
        found = authorise(principal, model.service_name, operation_name, api_params, self.meta.region_name)
        if found is not None:
            raise client_error(self, operation_name, found)
        with acting_as(None):  # what the service does in turn is the service's, not the caller's
            return original(self, operation_name, api_params)

    reset()
    yield mock.patch.object(BaseClient, "_make_api_call", _make_api_call)
    yield _enforcing()


@contextlib.contextmanager
def _enforcing() -> Iterator[None]:
    ENFORCING[0] = True
    try:
        yield
    finally:
        ENFORCING[0] = False


def _execution_role(frame: FrameType | None) -> tuple[str, str] | None:
    """The (role ARN, execution name) of the execution whose state is creating a client: the
    interpreter's ``Environment`` is a local of the caller (or of its caller)."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment  # noqa: PLC0415

    for _ in range(4):
        if frame is None:
            return None
        for value in frame.f_locals.values():
            if isinstance(value, Environment):
                execution = value.states.context_object.context_object_data["Execution"]
                return str(execution["RoleArn"]), str(execution["Name"])
        frame = frame.f_back
    return None


def _states_role(_: Hooks) -> Patches:
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: F401, PLC0415
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    original = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original(region=region, service=service, state_credentials=state_credentials)
        found = _execution_role(sys._getframe(1))
        if found is not None:
            setattr(client, PRINCIPAL_ATTRIBUTE, Principal(found[0], found[1][:64]))
        return client

    users = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser")
        and getattr(module, "boto_client_for", None) is original
    ]
    for module in users:
        yield mock.patch.object(module, "boto_client_for", boto_client_for)


def target_refusal(role_arn: str | None, target_arn: str, region: str) -> Refusal | None:
    """Whether EventBridge may start the target's execution with the target's role (None: it may;
    a target without a role, or with a role moto does not have, is not checked)."""
    if not ENFORCING[0] or not role_arn or policies_of(role_arn) is None:
        return None
    return decide(Principal(role_arn, "events"), [Request("states:StartExecution", target_arn, {})])


def function_policy_refusal(
    function_arn: str, service: str, source_account: str, source_arn: str
) -> Refusal | None:
    """Whether the function's resource policy lets ``service`` invoke it (Secrets Manager's
    rotation; AWS refuses an invocation no statement allows). None: it may (or nothing is enforced)."""
    from moto.awslambda.utils import get_backend  # noqa: PLC0415

    if not ENFORCING[0]:
        return None
    parts = function_arn.split(":")
    backend = get_backend(parts[4], parts[3])
    name = parts[6]
    try:
        function = backend._lambdas.get_function_by_name_or_arn_with_qualifier(name, None)
        document = function.policy.get_policy()["Policy"]
    except Exception:
        document = None
    request = Request(
        "lambda:InvokeFunction",
        function_arn,
        {"aws:SourceAccount": source_account, "aws:SourceArn": source_arn, "aws:PrincipalService": service},
    )
    allowed = document is not None and any(
        s.get("Effect") == "Allow"
        and service in _principals(s.get("Principal"))
        and refusal(Policies((s,)), request) is None
        for s in statements(document)
    )
    if allowed:
        AUTHORISED[0] += 1
        return None
    found = Refusal(
        service,
        "lambda:InvokeFunction",
        function_arn,
        "because no resource-based policy allows the lambda:InvokeFunction action",
    )
    REFUSALS.append(found)
    return found


def _principals(principal: Any) -> set[str]:
    if not isinstance(principal, dict):
        return {str(principal)}
    return {str(p) for value in principal.values() for p in (value if isinstance(value, list) else [value])}


def _without_no_value(value: Any) -> Any:
    """What CloudFormation makes of ``!Ref AWS::NoValue`` in a list or a mapping: nothing."""
    if isinstance(value, list):
        return [_without_no_value(v) for v in value if v is not None]
    if isinstance(value, dict):
        return {k: _without_no_value(v) for k, v in value.items() if v is not None}
    return value


def _cloudformation_policy_documents(_: Hooks) -> Patches:
    from moto.iam.models import Role  # noqa: PLC0415

    original = Role.put_policy

    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        if not isinstance(policy_json, str):  # a role's Policies from a CloudFormation template
            policy_json = json.dumps(_without_no_value(policy_json), default=str)
        original(self, policy_name, policy_json)

    yield mock.patch.object(Role, "put_policy", put_policy)


GAPS = (
    Gap(
        "iam-cloudformation-policy-documents",
        "a role's inline policies from a CloudFormation template are kept as Python mappings: "
        "GetRolePolicy returns their repr (not JSON), and an !If with AWS::NoValue stays as None",
        "moto/iam/models.py Role.create_from_cloudformation_json (role.put_policy with the mapping)",
        ("iam",),
        _cloudformation_policy_documents,
    ),
    Gap(
        "iam-states-role",
        "Task states call AWS with the fixed keys 'ak'/'sk', not as the state machine's role",
        "moto/stepfunctions/parser/asl/utils/boto_client.py boto_client_for",
        ("stepfunctions",),
        _states_role,
    ),
    Gap(
        "iam-enforcement",
        "every call is authorised: identity policies are evaluated only with "
        "INITIAL_NO_AUTH_ACTION_COUNT and keys of a user or assumed role, without most condition "
        "operators, permissions boundaries or the action names some services authorise under",
        "moto/core/access_control.py IAMRequest (its docs call the implementation basic)",
        # It patches botocore's client, and changes moto only where a call has a principal: Task
        # states (iam-states-role), EventBridge's targets and Secrets Manager's rotations.
        ("stepfunctions", "events", "secretsmanager"),
        _enforcement,
    ),
)
