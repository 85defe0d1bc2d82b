"""The PetClinic assistant's tools, as the upstream assistant has them: listOwners,
addOwnerToPetclinic, listVets (similarity search over the vets), addPetToOwner.

Each tool validates the model's input, calls the PetClinic services through the
``PetClinicApi`` port (HTTP in AWS and locally), and returns a JSON result. A failing tool (bad
input, a service error, a timeout) returns ``{"error": ...}`` with status "error": the model
reads it and answers accordingly; nothing raises past ``Toolbox.run``.

listVets embeds each vet's description once (``Embedder`` port; vectors cached for the
container's life, keyed by the description, so a changed vet is re-embedded) and the query on
each call, and returns the vets ranked by cosine similarity.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from petclinic_ops.models.genai import ToolCall

PET_TYPES = {1: "cat", 2: "dog", 3: "lizard", 4: "snake", 5: "bird", 6: "hamster"}
TELEPHONE = re.compile(r"\A\d{1,12}\Z")  # the customers service's own rule
DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
MAX_FIELD = 80


class ToolError(Exception):
    """A tool could not do what the model asked; the message goes back to the model."""


class PetClinicApi(Protocol):
    def list_owners(self) -> list[dict[str, Any]]: ...

    def add_owner(self, owner: dict[str, str]) -> dict[str, Any]: ...

    def list_vets(self) -> list[dict[str, Any]]: ...

    def add_pet(self, owner_id: int, pet: dict[str, Any]) -> dict[str, Any]: ...


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text."""
        ...


def _spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}


_TEXT = {"type": "string"}
TOOL_SPECS: list[dict[str, Any]] = [
    _spec("listOwners", "List the owners that the pet clinic has, with their pets.", {}, []),
    _spec(
        "addOwnerToPetclinic",
        "Add a new pet owner to the pet clinic. The owner must include a first name and a last name "
        "as two separate words, plus an address, a city and a telephone number of up to 12 digits.",
        {"firstName": _TEXT, "lastName": _TEXT, "address": _TEXT, "city": _TEXT, "telephone": _TEXT},
        ["firstName", "lastName", "address", "city", "telephone"],
    ),
    _spec(
        "listVets",
        "List the veterinarians that the pet clinic has, most relevant first. 'query' describes the "
        "vets wanted (a name or a specialty such as radiology, surgery, dentistry); omit it for all.",
        {"query": _TEXT},
        [],
    ),
    _spec(
        "addPetToOwner",
        "Add a pet to an owner identified by ownerId. The allowed pet type ids are only: 1 cat, 2 dog, "
        "3 lizard, 4 snake, 5 bird, 6 hamster. birthDate is YYYY-MM-DD.",
        {
            "ownerId": {"type": "integer"},
            "pet": {
                "type": "object",
                "properties": {"name": _TEXT, "birthDate": _TEXT, "typeId": {"type": "integer"}},
                "required": ["name", "birthDate", "typeId"],
            },
        },
        ["ownerId", "pet"],
    ),
]
TOOL_NAMES = frozenset(spec["toolSpec"]["name"] for spec in TOOL_SPECS)


def vet_document(vet: dict[str, Any]) -> str:
    """The text embedded for a vet: name and specialties."""
    specialties = sorted(str(s.get("name", "")) for s in vet.get("specialties") or [])
    name = f"{vet.get('firstName', '')} {vet.get('lastName', '')}".strip()
    return f"{name}: {', '.join(specialties) if specialties else 'general practice, no specialty'}"


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass
class VetIndex:
    """Vectors of the vets' descriptions, cached for the container's life."""

    embedder: Embedder
    vectors: dict[str, list[float]] = field(default_factory=dict)
    relative_cutoff: float = 0.8  # keep the vets scoring at least this share of the best score
    top_k: int = 6

    def search(self, vets: list[dict[str, Any]], query: str | None) -> list[dict[str, Any]]:
        documents = [vet_document(vet) for vet in vets]
        missing = [doc for doc in dict.fromkeys(documents) if doc not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        if not query or not query.strip():
            return [_vet_result(vet, None) for vet in vets]
        [query_vector] = self.embedder.embed([query.strip()])
        scored = sorted(
            (
                (cosine(query_vector, self.vectors[doc]), vet)
                for doc, vet in zip(documents, vets, strict=True)
            ),
            key=lambda pair: -pair[0],
        )
        best = scored[0][0] if scored else 0.0
        kept = [(score, vet) for score, vet in scored if best > 0 and score >= best * self.relative_cutoff]
        return [_vet_result(vet, score) for score, vet in kept[: self.top_k]]


def _vet_result(vet: dict[str, Any], score: float | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": vet.get("id"),
        "firstName": vet.get("firstName"),
        "lastName": vet.get("lastName"),
        "specialties": sorted(str(s.get("name")) for s in vet.get("specialties") or []),
    }
    if score is not None:
        result["similarity"] = round(score, 3)
    return result


def _text(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"{key} is required (a non-empty string)")
    if len(value) > MAX_FIELD:
        raise ToolError(f"{key} is longer than {MAX_FIELD} characters")
    return value.strip()


def _owner_input(arguments: dict[str, Any]) -> dict[str, str]:
    owner = {key: _text(arguments, key) for key in ("firstName", "lastName", "address", "city", "telephone")}
    owner["telephone"] = re.sub(r"[\s().+-]", "", owner["telephone"])
    if not TELEPHONE.match(owner["telephone"]):
        raise ToolError("telephone must be up to 12 digits")
    return owner


def _pet_input(arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    owner_id = arguments.get("ownerId")
    if isinstance(owner_id, str) and owner_id.isdigit():
        owner_id = int(owner_id)
    if not isinstance(owner_id, int) or isinstance(owner_id, bool) or owner_id < 1:
        raise ToolError("ownerId is required (a positive integer)")
    pet = arguments.get("pet")
    if not isinstance(pet, dict):
        raise ToolError("pet is required: {name, birthDate, typeId}")
    name, birth = _text(pet, "name"), _text(pet, "birthDate")
    if not DATE.match(birth):
        raise ToolError("pet.birthDate must be YYYY-MM-DD")
    type_id = pet.get("typeId")
    if isinstance(type_id, str) and type_id.isdigit():
        type_id = int(type_id)
    if type_id not in PET_TYPES:
        raise ToolError("pet.typeId must be one of 1 cat, 2 dog, 3 lizard, 4 snake, 5 bird, 6 hamster")
    return owner_id, {"name": name, "birthDate": birth, "typeId": type_id}


class Toolbox:
    """Runs the model's tool calls against the PetClinic services."""

    def __init__(
        self, api: PetClinicApi, vets: VetIndex, *, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self.api = api
        self.vets = vets
        self.timer = timer

    def run(self, name: str, arguments: Any) -> tuple[dict[str, Any], ToolCall]:
        """A Converse ``toolResult`` content item (``{"json": ...}``) and the call's record."""
        started = self.timer()
        try:
            if name not in TOOL_NAMES:
                raise ToolError(f"there is no tool named {name!r}")
            if not isinstance(arguments, dict):
                raise ToolError("the tool input must be a JSON object")
            result = self._dispatch(name, arguments)
            ok = True
        except ToolError as exc:
            result, ok = {"error": str(exc)}, False
        except Exception as exc:
            result, ok = {"error": f"the PetClinic service call failed ({type(exc).__name__})"}, False
        return result, ToolCall(name, ok, (self.timer() - started) * 1000)

    def _dispatch(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name == "listOwners":
            return {"owners": self.api.list_owners()}
        if name == "addOwnerToPetclinic":
            return {"owner": self.api.add_owner(_owner_input(arguments))}
        if name == "listVets":
            query = arguments.get("query")
            if query is not None and not isinstance(query, str):
                raise ToolError("query must be a string")
            return {"vets": self.vets.search(self.api.list_vets(), query)}
        owner_id, pet = _pet_input(arguments)
        return {"pet": self.api.add_pet(owner_id, pet)}
