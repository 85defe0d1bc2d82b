"""In-memory fakes of the rotation's ports (petclinic_ops.domain.rotation's Protocols) and the
provisioning's (petclinic_ops.domain.provision's).

They follow Secrets Manager's and MySQL's rules closely enough to catch contract slips:
PutSecretValue never overwrites a version's value, UpdateSecretVersionStage needs the version
AWSCURRENT is removed from, a login works only with the user's password, and only a superuser
creates users. mypy checks each fake against its Protocol (the assignments at the end; `make
types` runs mypy on this module) and tests/unit/test_fakes.py fails when a fake's methods drift
from the Protocol's signatures.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from petclinic_ops.domain.scale import LiveCluster, LiveService
from petclinic_ops.errors import (
    ChangeSetFailed,
    CredentialsRejected,
    DatabaseOperationFailed,
    DatabaseUnreachable,
)
from petclinic_ops.models.rotation import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    DbCredentials,
    SecretDescription,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from petclinic_ops.domain.provision import LiveState, StackPort
    from petclinic_ops.domain.rotation import Database, SecretStore
    from petclinic_ops.domain.scale import ScalePorts

HOST, PORT = "petclinic.cluster-abc.us-west-2.rds.amazonaws.com", 3306


@dataclass
class SecretVersion:
    value: str | None
    stages: set[str]


@dataclass
class FakeSecrets:
    """Secrets Manager: versions with staging labels, RotateSecret's value-less AWSPENDING version."""

    secrets: dict[str, dict[str, SecretVersion]] = field(default_factory=dict)
    rotation: dict[str, bool] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def create(self, secret_id: str, value: dict[str, Any] | str, *, rotation_enabled: bool = True) -> None:
        raw = value if isinstance(value, str) else json.dumps(value)
        self.secrets[secret_id] = {uuid.uuid4().hex: SecretVersion(raw, {AWSCURRENT})}
        self.rotation[secret_id] = rotation_enabled

    def start_rotation(self, secret_id: str) -> str:
        """What RotateSecret does before it invokes the function: a new version staged AWSPENDING."""
        token = str(uuid.uuid4())
        for version in self.secrets[secret_id].values():
            version.stages.discard(AWSPENDING)
        self.secrets[secret_id][token] = SecretVersion(None, {AWSPENDING})
        return token

    def end_rotation(self, secret_id: str, token: str) -> None:
        """What Secrets Manager does after a successful finishSecret."""
        self.secrets[secret_id][token].stages.discard(AWSPENDING)

    def value(self, secret_id: str, stage: str) -> dict[str, Any]:
        (version,) = [v for v in self.secrets[secret_id].values() if stage in v.stages]
        assert version.value is not None
        loaded: dict[str, Any] = json.loads(version.value)
        return loaded

    # the port

    def describe(self, secret_id: str) -> SecretDescription:
        versions = self.secrets[secret_id]
        return SecretDescription(
            arn=secret_id,
            name=secret_id.rsplit(":", 1)[-1],
            rotation_enabled=self.rotation[secret_id],
            versions={vid: frozenset(v.stages) for vid, v in versions.items() if v.stages},
        )

    def get_value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        versions = self.secrets.get(secret_id)
        if versions is None:
            return None
        if version_id is not None:
            version = versions.get(version_id)
            if version is None:
                return None
            assert stage in version.stages, "GetSecretValue: VersionId and VersionStage do not match"
            return version.value
        matching = [v for v in versions.values() if stage in v.stages]
        return matching[0].value if matching else None

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        existing = self.secrets[secret_id].get(token)
        assert existing is None or existing.value is None, "PutSecretValue would overwrite a version's value"
        for version in self.secrets[secret_id].values():
            version.stages.discard(AWSPENDING)
        self.secrets[secret_id][token] = SecretVersion(value, {AWSPENDING})
        self.writes.append(("put_pending", token))

    def random_password(self, *, length: int, exclude_characters: str) -> str:
        alphabet = [
            c
            for c in string.ascii_letters + string.digits + string.punctuation
            if c not in exclude_characters
        ]
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def move_current(self, secret_id: str, *, to_version: str, from_version: str | None) -> bool:
        versions = self.secrets[secret_id]
        holder = next((vid for vid, v in versions.items() if AWSCURRENT in v.stages), None)
        if holder != from_version:  # UpdateSecretVersionStage: RemoveFromVersionId must hold AWSCURRENT
            return False
        for version in versions.values():
            version.stages.discard(AWSPREVIOUS)
        if from_version is not None:
            versions[from_version].stages.discard(AWSCURRENT)
            versions[from_version].stages.add(AWSPREVIOUS)
        versions[to_version].stages.add(AWSCURRENT)
        self.writes.append(("move_current", to_version))
        return True


@dataclass
class User:
    password: str
    grants: set[str]
    superuser: bool = False


@dataclass
class FakeDatabase:
    """One MySQL server: users with passwords and grants; superusers create users and copy grants.

    It answers at ``host:port`` and at its ``aliases`` (other endpoints of the same server, as
    an Aurora cluster's reader endpoint). ``impostors`` are endpoints of other servers, which
    refuse every login; anything else is unreachable. ``offered`` keeps every login attempt, at
    any endpoint: what each host was sent.
    """

    host: str = HOST
    port: int = PORT
    users: dict[str, User] = field(default_factory=dict)
    databases: set[str] = field(default_factory=lambda: {"petclinic"})
    writes: list[tuple[str, str]] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)
    impostors: set[str] = field(default_factory=set)
    offered: list[DbCredentials] = field(default_factory=list)

    def _reach(self, credentials: DbCredentials) -> bool:
        """True at this server, False at an impostor (it refuses the login)."""
        self.offered.append(credentials)
        if credentials.endpoint == f"{self.host}:{self.port}" or credentials.endpoint in self.aliases:
            return True
        if credentials.endpoint in self.impostors:
            return False
        raise DatabaseUnreachable(f"cannot connect to {credentials.endpoint}: timed out")

    def sent_to(self, password: str) -> set[str]:
        """The endpoints a login with ``password`` was attempted at."""
        return {c.endpoint for c in self.offered if c.password.get_secret_value() == password}

    def logs_in(self, user: str, password: str) -> bool:
        return user in self.users and self.users[user].password == password

    # the port

    def can_login(self, credentials: DbCredentials) -> bool:
        return self._reach(credentials) and self.logs_in(
            credentials.username, credentials.password.get_secret_value()
        )

    def set_password(
        self, admin_credentials: DbCredentials, user: str, password: SecretStr, clone_from: str | None = None
    ) -> None:
        if not self.can_login(admin_credentials):
            raise CredentialsRejected(f"refused the login of user {admin_credentials.username}")
        admin = self.users[admin_credentials.username]
        if clone_from is None and user == admin_credentials.username:
            admin.password = password.get_secret_value()
            self.writes.append(("own password", user))
            return
        if not admin.superuser:
            raise DatabaseOperationFailed("(1227) Access denied; you need the CREATE USER privilege")
        if clone_from is not None:
            source = self.users[clone_from]
            target = self.users.setdefault(user, User(password=uuid.uuid4().hex, grants=set()))
            target.grants |= source.grants
        self.users[user].password = password.get_secret_value()
        self.writes.append(("password", user))

    def run_test_query(self, credentials: DbCredentials) -> None:
        if not self.can_login(credentials):
            raise CredentialsRejected(f"refused the login of user {credentials.username}")
        if credentials.dbname and credentials.dbname not in self.databases:
            raise DatabaseOperationFailed(f"(1049) Unknown database '{credentials.dbname}'")


# --------------------------------------------------------------------------- provisioning


@dataclass
class FakeStack:
    status: str
    parameters: dict[str, str]
    template_url: str
    outputs: dict[str, str] = field(default_factory=dict)
    stack_id: str = ""


@dataclass
class FakeStacks:
    """CloudFormation as the provision domain sees it: a change set lists the resources a template
    adds and removes, and the resources a changed parameter value modifies (``uses``: logical id
    -> the parameters it refers to; a resource not listed there refers to every parameter), each
    with the Details CloudFormation gives (ParameterReference, the parameter); a parameter in
    ``replaces`` (logical id -> parameters whose change recreates it) makes it Replacement True.
    A parameter given as UsePreviousValue keeps the stack's value, one not given at all takes the
    template's default, as on CloudFormation. The same template and effective parameters again,
    or parameter changes no resource refers to, are a FAILED change set "didn't contain changes"."""

    templates: dict[str, dict[str, str]]  # template URL -> {logical id: type}
    defaults: dict[str, dict[str, str | None]]  # template URL -> parameter defaults
    stacks: dict[str, FakeStack] = field(default_factory=dict)
    change_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_review_stacks: list[str] = field(default_factory=list)
    drifts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_change_set: str | None = None
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    replaces: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_echo: frozenset[str] = frozenset()
    policies: dict[str, str] = field(default_factory=dict)
    given: list[dict[str, Any]] = field(default_factory=list)  # every CreateChangeSet's Parameters

    def describe(self, name: str) -> dict[str, Any] | None:
        stack = self.stacks.get(name)
        if stack is None:
            return None
        return {
            "StackStatus": stack.status,
            "StackId": stack.stack_id,
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": "****" if k in self.no_echo else v}
                for k, v in stack.parameters.items()
            ],
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in stack.outputs.items()],
        }

    def template_parameters(self, template_url: str) -> dict[str, str | None]:
        return dict(self.defaults[template_url])

    def no_echo_parameters(self, template_url: str) -> frozenset[str]:
        return frozenset(self.no_echo & set(self.defaults[template_url]))

    def stack_policy(self, name: str) -> str | None:
        return self.policies.get(name)

    def template_resources(self, template_url: str) -> list[tuple[str, str]]:
        return sorted(self.templates[template_url].items())

    def _effective(
        self, stack: FakeStack, template_url: str, parameters: Mapping[str, str], previous: Collection[str]
    ) -> dict[str, str]:
        values = {k: v for k, v in self.defaults[template_url].items() if v is not None}
        for name in previous:
            if name not in stack.parameters:
                raise ChangeSetFailed(f"Invalid input for parameter key {name}: no previous value")
            values[name] = stack.parameters[name]
        values.update(parameters)
        return {k: v for k, v in values.items() if k in self.defaults[template_url]}

    def _modified(self, old: dict[str, str], new: dict[str, str], changed: set[str]) -> list[dict[str, Any]]:
        changes = []
        for logical_id, kind in new.items():
            causes = sorted(changed & set(self.uses.get(logical_id, changed)))
            if logical_id not in old or not causes:
                continue
            recreate = set(self.replaces.get(logical_id, ())) & set(causes)
            details = [
                {
                    "Target": {
                        "Attribute": "Properties",
                        "Name": f"Uses{name}",
                        "RequiresRecreation": "Always" if name in recreate else "Never",
                    },
                    "Evaluation": "Static",
                    "ChangeSource": "ParameterReference",
                    "CausingEntity": name,
                }
                for name in causes
            ]
            changes.append(
                {
                    "ResourceChange": {
                        "Action": "Modify",
                        "LogicalResourceId": logical_id,
                        "ResourceType": kind,
                        "Replacement": "True" if recreate else "False",
                        "Details": details,
                    }
                }
            )
        return changes

    def create_change_set(
        self,
        *,
        name: str,
        template_url: str,
        parameters: Mapping[str, str],
        create: bool,
        change_set: str,
        previous: Collection[str] = (),
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        self.given.append(
            {
                "stack": name,
                "parameters": dict(parameters),
                "previous": sorted(previous),
                "tags": dict(tags or {}),
            }
        )
        if self.fail_change_set:
            raise ChangeSetFailed(f"stack {name}: {self.fail_change_set}")
        if create:
            stack_id = f"arn:aws:cloudformation:us-west-2:123456789012:stack/{name}/{uuid.uuid4()}"
            self.stacks[name] = FakeStack("REVIEW_IN_PROGRESS", {}, "", stack_id=stack_id)
        stack = self.stacks[name]
        identifier = f"arn:aws:cloudformation:us-west-2:123456789012:changeSet/{change_set}/{uuid.uuid4()}"
        effective = self._effective(stack, template_url, parameters, () if create else previous)
        old = self.templates.get(stack.template_url, {}) if not create else {}
        new = self.templates[template_url]
        changes = [
            {"ResourceChange": {"Action": "Add", "LogicalResourceId": k, "ResourceType": t}}
            for k, t in new.items()
            if k not in old
        ]
        changes += [
            {"ResourceChange": {"Action": "Remove", "LogicalResourceId": k, "ResourceType": t}}
            for k, t in old.items()
            if k not in new
        ]
        if not create:
            changed = {
                k
                for k in set(effective) | set(stack.parameters)
                if effective.get(k) != stack.parameters.get(k)
            }
            changes += self._modified(old, new, changed)
        self.change_sets[identifier] = {
            "stack": name,
            "changes": changes,
            "parameters": effective,
            "template": template_url,
        }
        return identifier, stack.stack_id

    def wait_change_set(self, change_set_id: str) -> tuple[str, str, list[dict[str, Any]]]:
        changes = self.change_sets[change_set_id]["changes"]
        if not changes:
            return (
                "FAILED",
                "The submitted information didn't contain changes. "
                "Submit different information to create a change set.",
                [],
            )
        return "CREATE_COMPLETE", "", changes

    def delete_change_set(self, change_set_id: str) -> None:
        del self.change_sets[change_set_id]

    def delete_review_stack(self, stack_id: str) -> None:
        [name] = [n for n, s in self.stacks.items() if s.stack_id == stack_id]
        assert self.stacks[name].status == "REVIEW_IN_PROGRESS", "only a stack nothing was created in"
        del self.stacks[name]
        self.deleted_review_stacks.append(name)

    def detect_drift(self, name: str) -> tuple[str, list[dict[str, Any]]]:
        drifts = self.drifts.get(name, [])
        return ("DRIFTED" if drifts else "IN_SYNC"), drifts

    def execute(self, change_set_id: str) -> None:
        """What ExecuteChangeSet does (the workflow's step, not the domain's)."""
        change_set = self.change_sets.pop(change_set_id)
        stack = self.stacks[change_set["stack"]]
        created = stack.status == "REVIEW_IN_PROGRESS"
        stack.status = "CREATE_COMPLETE" if created else "UPDATE_COMPLETE"
        stack.parameters, stack.template_url = change_set["parameters"], change_set["template"]


@dataclass
class FakeLive:
    """The running resources' owned values (the deploy and scale workflows' work)."""

    running: dict[str, dict[str, Any]] = field(default_factory=dict)
    capacity: tuple[float, float, int | None] | None = None

    def services(self, cluster: str, names: list[str]) -> dict[str, dict[str, Any]]:
        return {name: dict(self.running[name]) for name in names if name in self.running}

    def aurora_capacity(self, cluster_identifier: str) -> tuple[float, float, int | None] | None:
        return self.capacity


@dataclass
class FakeScale:
    """Scale profiles (Parameter Store JSON by environment and name) and the live stack."""

    profiles: dict[tuple[str, str], str] = field(default_factory=dict)
    running: dict[str, LiveService] = field(default_factory=dict)
    aurora: dict[str, LiveCluster] = field(default_factory=dict)

    def profile(self, environment: str, name: str) -> str | None:
        return self.profiles.get((environment, name))

    def services(self, cluster: str, names: list[str]) -> dict[str, LiveService]:
        return {name: self.running[name] for name in names if name in self.running}

    def clusters(self, identifiers: list[str]) -> dict[str, LiveCluster]:
        return {name: self.aurora[name] for name in identifiers if name in self.aurora}


if TYPE_CHECKING:  # mypy: each fake is what its Protocol says
    _secrets: SecretStore = FakeSecrets()
    _database: Database = FakeDatabase()
    _stacks: StackPort = FakeStacks({}, {})
    _live: LiveState = FakeLive()
    _scale: ScalePorts = FakeScale()
