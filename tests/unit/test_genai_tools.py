"""The PetClinic tools over real HTTP (the local PetClinic stand-in on 127.0.0.1), the vet
similarity search and its vector cache, and the service URLs from Parameter Store."""

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


def test_add_owner_posts_it_and_it_is_listed_afterwards(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    owner = {"firstName": "Ada", "lastName": "Lovelace", "address": "12 Analytical St.", "city": "Madison",
             "telephone": "608-555-0199"}  # fmt: skip
    result, call = tools.run("addOwnerToPetclinic", owner)
    assert call.ok, result
    assert result["owner"]["id"] == 11
    assert result["owner"]["telephone"] == "6085550199"
    listed, _ = tools.run("listOwners", {})
    assert listed["owners"][-1]["lastName"] == "Lovelace"
    assert ("POST", "/owners", 201) in service.requests


def test_add_pet_to_an_owner_and_to_an_unknown_owner(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    added, call = tools.run(
        "addPetToOwner", {"ownerId": 1, "pet": {"name": "Biscuit", "birthDate": "2024-02-03", "typeId": 2}}
    )
    assert call.ok, added
    assert (added["pet"]["name"], added["pet"]["type"]["name"]) == ("Biscuit", "dog")
    assert [p["name"] for p in service.data.owners[1]["pets"]] == ["Leo", "Biscuit"]
    missing, call = tools.run(
        "addPetToOwner", {"ownerId": 99, "pet": {"name": "X", "birthDate": "2024-02-03", "typeId": 1}}
    )
    assert not call.ok
    assert missing == {
        "error": 'customers-service answered 404: {"error": "Owner 99 not found", "status": 404}'
    }


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("addOwnerToPetclinic", {"firstName": "Ada"}, "lastName is required"),
        (
            "addOwnerToPetclinic",
            {"firstName": "A", "lastName": "B", "address": "c", "city": "d", "telephone": "phone"},
            "telephone must be up to 12 digits",
        ),
        ("addPetToOwner", {"ownerId": "x", "pet": {}}, "ownerId is required"),
        (
            "addPetToOwner",
            {"ownerId": 1, "pet": {"name": "X", "birthDate": "2024-02-03", "typeId": 9}},
            "pet.typeId must be one of",
        ),
        (
            "addPetToOwner",
            {"ownerId": 1, "pet": {"name": "X", "birthDate": "yesterday", "typeId": 1}},
            "YYYY-MM-DD",
        ),
        ("listVets", {"query": 3}, "query must be a string"),
        ("deleteEverything", {}, "there is no tool named 'deleteEverything'"),
        ("listOwners", ["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_bad_tool_input_goes_back_to_the_model_as_an_error(
    service: PetClinicHttpService, embedder: CountingEmbedder, name: str, arguments: Any, problem: str
) -> None:
    result, call = toolbox(service, embedder).run(name, arguments)
    assert not call.ok
    assert problem in result["error"]
    assert [r for r in service.requests if r[0] != "GET"] == []  # nothing was changed


def test_a_failing_or_unreachable_service_is_a_tool_error_not_a_crash(
    service: PetClinicHttpService, embedder: CountingEmbedder
) -> None:
    tools = toolbox(service, embedder)
    service.fail_next(1, 503)
    failed, call = tools.run("listOwners", {})
    assert not call.ok
    assert failed["error"].startswith("customers-service answered 503")
    url = service.url
    service.close()
    down = Toolbox(
        PetClinicHttp(parameter_path="/p/", url_source=lambda _: {"vets-service": url}, timeout=1),
        VetIndex(embedder),
    )
    unreachable, call = down.run("listVets", {"query": "surgery"})
    assert not call.ok
    assert unreachable == {"error": "vets-service did not answer (NewConnectionError)"}


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
