"""The profiles template.yaml ships (Parameter Store, dev and prod) are valid profiles, cover
business-hours, night and peak, and keep prod's guard rails: dev's night scales every service to 0
and pauses Aurora; prod's profiles keep every service at or above its floor parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petclinic_local.stack.template import load_template
from petclinic_ops.domain.scale import parse_profile
from petclinic_ops.models.scale import ScaleProfile

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
FLOORS = {
    "customers-service": "ProdFloorCustomersService",
    "vets-service": "ProdFloorVetsService",
    "visits-service": "ProdFloorVisitsService",
    "admin-server": "ProdFloorAdminServer",
}


def shipped() -> dict[tuple[str, str], ScaleProfile]:
    profiles = {}
    for resource in TEMPLATE["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::SSM::Parameter" or "/scale/" not in str(properties.get("Name")):
            continue
        name = properties["Name"]["Fn::Sub"].rsplit("/", 1)[-1]
        condition, prod, dev = properties["Value"]["Fn::If"]
        assert condition == "IsProd"
        profiles[("prod", name)] = parse_profile(name, prod)
        profiles[("dev", name)] = parse_profile(name, dev)
    return profiles


def test_dev_and_prod_ship_business_hours_night_and_peak() -> None:
    assert sorted(shipped()) == [
        (env, name) for env in ("dev", "prod") for name in ("business-hours", "night", "peak")
    ]


def test_dev_night_scales_every_service_to_zero_and_pauses_aurora() -> None:
    night = shipped()[("dev", "night")]
    assert all(entry.lowest == 0 and entry.max_capacity in (None, 0) for entry in night.services.values())
    assert set(night.services) == set(FLOORS)
    assert night.aurora["petclinic-dev"].auto_pause


@pytest.mark.parametrize("name", ["business-hours", "night", "peak"])
def test_prod_profiles_keep_the_floors(name: str) -> None:
    profile = shipped()[("prod", name)]
    parameters: dict[str, Any] = TEMPLATE["Parameters"]
    for service, entry in profile.services.items():
        assert entry.lowest >= int(parameters[FLOORS[service]]["Default"]), service
    assert list(profile.aurora) == ["petclinic-prod"]


@pytest.mark.parametrize("name", ["business-hours", "night", "peak"])
def test_prod_profiles_keep_aurora_above_its_floors_without_pausing(name: str) -> None:
    parameters: dict[str, Any] = TEMPLATE["Parameters"]
    assert parameters["ProdAuroraAutoPause"]["Default"] == "refused"
    for capacity in shipped()[("prod", name)].aurora.values():
        assert not capacity.auto_pause
        assert capacity.min_capacity >= float(parameters["ProdAuroraMinCapacity"]["Default"])
        assert capacity.max_capacity >= float(parameters["ProdAuroraMaxCapacity"]["Default"])
