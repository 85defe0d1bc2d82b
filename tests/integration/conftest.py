"""Fixtures that run the real template, ASL files and handlers on the local cloud."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from petclinic_local.cloud import LocalCloud
from petclinic_local.petclinic.database import PetClinicDatabase


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    """A fresh local cloud: control plane deployed, PetClinic seeded, rollouts of 0.6 s."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as local:
        yield local


@pytest.fixture
def short_timeout_cloud() -> Iterator[LocalCloud]:
    """Rollouts time out after 1,200 simulated seconds (6 s); a rollout (or rollback) that does
    complete takes 1 (5 ms). The rollback after a timeout is waited for with the same timeout:
    it must be far longer than what a rollback takes on a busy machine (at 3 s the rollback was
    not seen to complete in 1 of 3 runs with both CPUs saturated)."""
    timeout = {"RolloutTimeoutSeconds": "1200"}
    with LocalCloud(time_scale=0.005, rollout_seconds=1, parameters=timeout) as local:
        yield local


@pytest.fixture
def database(mysql_admin: Any) -> Iterator[PetClinicDatabase]:
    """PetClinic's database, application user and superuser on the real server (dropped afterwards)."""
    url = f"mysql://{quote(mysql_admin.user)}:{quote(mysql_admin.password)}@{mysql_admin.host}:{mysql_admin.port}"
    created = PetClinicDatabase.create(url)
    yield created
    created.drop()
