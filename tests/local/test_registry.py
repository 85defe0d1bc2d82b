"""The registry of moto gaps: each described, each shown still needed by a test in the test
module of its service (test_ecr.py for moto_compat/ecr.py...), installed and removed cleanly."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from moto_gaps import FakeHooks

from petclinic_local import moto_compat
from petclinic_local.moto_compat import cloudformation

HERE = Path(__file__).resolve().parent


def _needed_docstrings(service_module: str) -> list[str]:
    """The docstrings of the ``test_needed_*`` tests in tests/local/test_<service_module>.py."""
    path = HERE / f"test_{service_module}.py"
    if not path.exists():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        ast.get_docstring(node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_needed_")
    ]


def _service_module(function: object) -> str:
    """``ecr`` for a function defined in petclinic_local/moto_compat/ecr.py, ``cloudformation``
    for one in a module of the package petclinic_local/moto_compat/cloudformation/."""
    module = inspect.getmodule(function)
    assert module is not None, function
    assert module.__name__.startswith("petclinic_local.moto_compat."), function
    return module.__name__.removeprefix("petclinic_local.moto_compat.").split(".", maxsplit=1)[0]


def test_every_gap_is_described_and_tested() -> None:
    names = [gap.name for gap in moto_compat.GAPS]
    assert len(names) == len(set(names))
    for gap in moto_compat.GAPS:
        assert gap.name.strip(), gap
        assert gap.problem.strip(), gap
        assert gap.upstream.strip(), gap
        assert gap.moto_services, gap
        service = _service_module(gap.install)
        assert any(
            f"moto fixed {gap.name}:" in " ".join(doc.split()) for doc in _needed_docstrings(service)
        ), f"no test in tests/local/test_{service}.py shows that gap {gap.name} is still needed"


def test_every_gap_names_moto_packages_that_exist() -> None:
    """``make moto-tests`` runs moto's tests of these packages: each must be one of moto's."""
    import moto  # noqa: PLC0415

    packages = {path.name for path in Path(moto.__file__).parent.iterdir() if path.is_dir()}
    assert set(moto_compat.moto_services()) <= packages


def test_every_cloudformation_helper_is_tested() -> None:
    """The plain functions whose docstring starts with "Gap:" (prepare_template_for_moto, ...)."""
    helpers = [
        name
        for name, value in vars(cloudformation).items()
        if callable(value) and (value.__doc__ or "").startswith("Gap:")
    ]
    assert {
        "prepare_template_for_moto",
        "complete_parameters",
        "recreate_state_machine",
        "apply_rotation_schedules",
        "create_alarms",
    } <= set(helpers)
    docs = _needed_docstrings("cloudformation")
    for name in helpers:
        assert any(f"moto fixed {name}:" in " ".join(doc.split()) for doc in docs), (
            f"no test in tests/local/test_cloudformation.py shows that {name} is still needed"
        )


def test_install_rejects_unknown_gaps_and_uninstalls_cleanly() -> None:
    with pytest.raises(ValueError, match="unknown"):
        moto_compat.install(FakeHooks(), skip={"unknown"})

    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
    from moto.events.models import Rule  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    before = (LambdaSimpleBackend.invoke, Rule.send_to_targets, dict(aws_sdk._SERVICE_ERROR_NAMES))
    with moto_compat.install(FakeHooks()):
        assert LambdaSimpleBackend.invoke is not before[0]
    assert (LambdaSimpleBackend.invoke, Rule.send_to_targets, dict(aws_sdk._SERVICE_ERROR_NAMES)) == before


def test_every_contradicted_moto_test_belongs_to_a_package_of_its_gap() -> None:
    """``make moto-tests`` expects these moto tests to fail: each is in the moto tests of a
    package its gap patches (tests.test_<package>...), named once."""
    for gap in moto_compat.GAPS:
        for test in gap.contradicts:
            assert any(test.startswith(f"tests.test_{service}.") for service in gap.moto_services), test
    assert len(moto_compat.contradicted_moto_tests()) == sum(len(gap.contradicts) for gap in moto_compat.GAPS)
