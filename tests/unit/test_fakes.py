"""The fakes of tests/fakes.py stay what their Protocols say (mypy checks the same in `make types`)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fakes import FakeDatabase, FakeLive, FakeScale, FakeSecrets, FakeStacks

from petclinic_ops.domain.provision import LiveState, StackPort
from petclinic_ops.domain.rotation import Database, SecretStore
from petclinic_ops.domain.scale import ScalePorts


def members(protocol: type[Any]) -> list[str]:
    return sorted(
        name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")
    )


def shape(function: Any) -> tuple[Any, ...]:
    """Parameters (name, kind, default, annotation) and return annotation, without ``self``."""
    signature = inspect.signature(function)
    parameters = [
        (p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values() if p.name != "self"
    ]
    return (*parameters, signature.return_annotation)


@pytest.mark.parametrize(
    ("fake", "protocol"),
    [
        (FakeSecrets, SecretStore),
        (FakeDatabase, Database),
        (FakeStacks, StackPort),
        (FakeLive, LiveState),
        (FakeScale, ScalePorts),
    ],
)
def test_a_fake_has_every_method_of_its_protocol_with_the_same_signature(
    fake: type[Any], protocol: type[Any]
) -> None:
    assert members(protocol), f"{protocol.__name__} has no methods: the comparison would prove nothing"
    for name in members(protocol):
        assert hasattr(fake, name), f"{fake.__name__} lacks {protocol.__name__}.{name}"
        assert shape(getattr(fake, name)) == shape(getattr(protocol, name)), (
            f"{fake.__name__}.{name} drifted from {protocol.__name__}.{name}: "
            f"{inspect.signature(getattr(fake, name))} != {inspect.signature(getattr(protocol, name))}"
        )


def test_the_comparison_notices_a_drift() -> None:
    class Drifted(FakeDatabase):
        def can_login(self, credentials: Any, *, retries: int = 1) -> bool:
            return False

    assert shape(Drifted.can_login) != shape(Database.can_login)
