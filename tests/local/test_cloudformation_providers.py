"""The local CloudFormation's resource providers (simulators/cloudformation/providers/): every
resource type the PetClinic templates use is made locally (by moto's own CloudFormation or a
registered provider) or refused with a reason, and the registry keeps one entry per type, in the
module of its service."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

from petclinic_local.simulators.cloudformation import NOT_EMULATED, PARTIAL, SIMULATED_TYPES, providers
from petclinic_local.simulators.cloudformation.registry import REGISTRY, known, provider
from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = providers.__name__


def _infra_types() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "infra").glob("*.yaml")):
        for logical_id, resource in load_template(path)["Resources"].items():
            used.setdefault(resource["Type"], []).append(f"{path.name}:{logical_id}")
    return used


def test_every_type_infra_uses_is_made_locally_or_refused() -> None:
    from moto.cloudformation.parsing import get_model_map  # noqa: PLC0415 - moto is slow to import

    moto_models = set(get_model_map())
    unknown = {
        kind: where
        for kind, where in _infra_types().items()
        if kind not in moto_models and kind not in SIMULATED_TYPES and kind not in NOT_EMULATED
    }
    assert not unknown, (
        "resource types neither moto's CloudFormation nor a provider of "
        f"simulators/cloudformation/providers/ makes (add one, or known(..., refused=...)): {unknown}"
    )


def test_each_type_is_registered_by_the_module_of_its_service() -> None:
    modules = {module.name for module in pkgutil.iter_modules(providers.__path__)}
    for name, entry in REGISTRY.items():
        service = name.split("::")[1].lower()
        assert entry.module == f"{PACKAGE}.{service}", f"{name} is registered in {entry.module}"
        assert entry.handler is not None or entry.partial or entry.read or entry.refused, name
    assert modules == {name.split("::")[1].lower() for name in REGISTRY}, (
        "a providers module registers nothing"
    )


def test_the_views_are_the_registry() -> None:
    assert set(SIMULATED_TYPES) == {name for name, entry in REGISTRY.items() if entry.handler}
    assert set(PARTIAL) | set(NOT_EMULATED) <= set(REGISTRY)
    assert not set(NOT_EMULATED) & (set(SIMULATED_TYPES) | set(PARTIAL))


def test_a_type_is_registered_once_by_a_handler_that_creates_and_deletes() -> None:
    before = dict(REGISTRY)

    class Half:
        @staticmethod
        def create() -> None: ...

    with pytest.raises(ValueError, match="AWS::RDS::DBCluster is registered twice"):
        known("AWS::RDS::DBCluster", refused="a second entry")
    with pytest.raises(TypeError, match="AWS::Example::Thing: Half has no delete"):
        provider("AWS::Example::Thing")(Half)
    with pytest.raises(ValueError, match="not a resource type name"):
        known("RDS::DBCluster", refused="no AWS:: prefix")
    with pytest.raises(ValueError, match="a refused type is neither partial nor read"):
        known("AWS::Example::Thing", refused="no handler", partial="but partial")
    assert before == REGISTRY
