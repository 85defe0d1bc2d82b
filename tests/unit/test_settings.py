"""One validator per setting: a variable that more than one function reads gets the same answer
from each (the value, or the same refusal naming the variable), and a list variable refuses an
empty or repeated name instead of dropping it."""

from __future__ import annotations

from typing import Any

import pytest

from petclinic_ops import settings
from petclinic_ops.errors import InvalidConfiguration
from petclinic_ops.models.scale import AuroraScale

# The least each settings class needs to load.
BASE: dict[type[settings.FunctionSettings], dict[str, str]] = {
    settings.ResolveDeploySettings: {
        "ENVIRONMENT_NAME": "dev",
        "CLUSTER_NAME": "petclinic-dev",
        "SERVICE_NAMES": "a,b",
    },
    settings.RotateSecretSettings: {},
    settings.GenAiSettings: {"ROUTER_STATE_TABLE": "router", "CONVERSATIONS_TABLE": "conversations"},
    settings.ProvisionSettings: {"ARTIFACT_BUCKET": "artifacts", "AWS_REGION": "us-west-2"},
    settings.ScaleSettings: {
        "ENVIRONMENT_NAME": "dev",
        "CLUSTER_NAME": "petclinic-dev",
        "SERVICE_NAMES": "a,b",
    },
    settings.DeploymentHookSettings: {},
}
PROBES = ("", " ", "a", "a, b", "a,,b", "a,", ",a", "a,b,a", "x" * 256, "x" * 300, "0", "-1", "1.5", "true")


def _aliases(model: type[settings.FunctionSettings]) -> dict[str, str]:
    return {field.alias or name: name for name, field in model.model_fields.items()}


def _shared() -> list[tuple[str, list[type[settings.FunctionSettings]]]]:
    readers: dict[str, list[type[settings.FunctionSettings]]] = {}
    for model in BASE:
        for alias in _aliases(model):
            readers.setdefault(alias, []).append(model)
    return sorted((alias, models) for alias, models in readers.items() if len(models) > 1)


def _answer(model: type[settings.FunctionSettings], alias: str, value: str) -> Any:
    try:
        loaded = model.from_environ({**BASE[model], alias: value})
    except InvalidConfiguration as exc:
        return ("refused", [part for part in str(exc).split("; ") if alias in part])
    return ("read", getattr(loaded, _aliases(model)[alias]))


def test_every_settings_class_is_covered() -> None:
    assert set(BASE) == set(settings.FunctionSettings.__subclasses__())


@pytest.mark.parametrize(("alias", "models"), _shared(), ids=[alias for alias, _ in _shared()])
def test_a_variable_read_by_several_functions_gets_one_answer(
    alias: str, models: list[type[settings.FunctionSettings]]
) -> None:
    for value in PROBES:
        answers = {model.__name__: _answer(model, alias, value) for model in models}
        assert len({repr(answer) for answer in answers.values()}) == 1, (alias, value, answers)


@pytest.mark.parametrize("value", ["a,,b", "a,", "a,b,a", " , "])
@pytest.mark.parametrize("model", [settings.ResolveDeploySettings, settings.ScaleSettings])
def test_service_names_refuse_an_empty_or_repeated_name(
    model: type[settings.FunctionSettings], value: str
) -> None:
    with pytest.raises(
        InvalidConfiguration, match=r"environment variable SERVICE_NAMES: (a comma-separated|names must)"
    ):
        model.from_environ({**BASE[model], "SERVICE_NAMES": value})


def test_lists_of_names_read_alike() -> None:
    scale = settings.ScaleSettings.from_environ(
        {**BASE[settings.ScaleSettings], "SERVICE_NAMES": " a , b ", "AURORA_CLUSTERS": ""}
    )
    assert (scale.services, scale.aurora_clusters) == (("a", "b"), ())
    chain = "anthropic.claude-3-haiku-20240307-v1:0,,amazon.titan-text-express-v1"
    with pytest.raises(
        InvalidConfiguration, match="MODEL_CHAIN: a comma-separated list of names, none empty"
    ):
        settings.GenAiSettings.from_environ({**BASE[settings.GenAiSettings], "MODEL_CHAIN": chain})
    with pytest.raises(InvalidConfiguration, match="AURORA_CLUSTERS: names must be unique"):
        settings.ScaleSettings.from_environ({**BASE[settings.ScaleSettings], "AURORA_CLUSTERS": "c,c"})


@pytest.mark.parametrize("value", ["1.25", "0.3", "300"])
def test_prod_aurora_capacities_follow_the_profiles_rule(value: str) -> None:
    """PROD_AURORA_MIN_CAPACITY refuses what a profile's minCapacity refuses, with its words."""
    from decimal import Decimal  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    with pytest.raises(ValidationError) as profile:
        AuroraScale.model_validate({"minCapacity": Decimal(value), "maxCapacity": 256})
    with pytest.raises(InvalidConfiguration) as setting:
        settings.ScaleSettings.from_environ(
            {**BASE[settings.ScaleSettings], "PROD_AURORA_MIN_CAPACITY": value}
        )
    reason = profile.value.errors()[0]["msg"].removeprefix("Value error, ")
    assert str(setting.value) == f"environment variable PROD_AURORA_MIN_CAPACITY: {reason}"
