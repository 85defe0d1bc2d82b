"""The PetClinic assistant's tools, as the upstream assistant has them: listOwners,
addOwnerToPetclinic, listVets (similarity search over the vets), addPetToOwner.

Each tool validates the model's input, calls the PetClinic services through the
``PetClinicApi`` port (HTTP in AWS and locally), and returns a JSON result. A failing tool (bad
input, a service error, a timeout) returns ``{"error": ...}`` with status "error": the model
reads it and answers accordingly; nothing raises past the Toolbox.

The two writes (addOwnerToPetclinic, addPetToOwner) are never made when the model asks:
``Toolbox.propose`` validates them to what customers-service accepts (``writes``) and returns a
``PendingWrite``; ``Toolbox.execute`` makes one once the user has confirmed it (``chat``).

listVets embeds each vet's description once (``Embedder`` port; vectors cached for the
container's life, keyed by the description, so a changed vet is re-embedded) and the query on
each call, and returns the vets ranked by cosine similarity.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from petclinic_ops.domain.genai.writes import (
    ADD_OWNER,
    ADD_PET,
    WRITE_TOOLS,
    PendingWrite,
    owner_write,
    pet_write,
)
from petclinic_ops.errors import ToolError
from petclinic_ops.models.genai import ToolCall

__all__ = ["TOOL_NAMES", "TOOL_SPECS", "WRITE_TOOLS", "PetClinicApi", "ToolError", "Toolbox", "VetIndex"]
PET_TYPES_SECONDS = 300.0  # how long the pet types read from customers-service are reused


class PetClinicApi(Protocol):
    def list_owners(self) -> list[dict[str, Any]]: ...

    def get_owner(self, owner_id: int) -> dict[str, Any] | None:
        """The owner, or None when customers-service has none with that id."""
        ...

    def pet_types(self) -> list[dict[str, Any]]: ...

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
        "as two separate words, plus an address, a city and a telephone number of up to 12 digits. "
        "Nothing is written until the user confirms what the assistant shows them.",
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
        "3 lizard, 4 snake, 5 bird, 6 hamster. birthDate is YYYY-MM-DD. Nothing is written until the "
        "user confirms what the assistant shows them.",
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


class Toolbox:
    """Runs the model's tool calls against the PetClinic services: reads at once, writes only
    as a ``PendingWrite`` the user confirms."""

    def __init__(
        self,
        api: PetClinicApi,
        vets: VetIndex,
        *,
        timer: Callable[[], float] = time.perf_counter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.vets = vets
        self.timer = timer
        self.clock = clock
        self._pet_types: tuple[float, dict[int, str]] | None = None

    def run(self, name: str, arguments: Any) -> tuple[dict[str, Any], ToolCall]:
        """A read tool's Converse ``toolResult`` content item (``{"json": ...}``) and its record.
        A write tool is refused here: it goes through ``propose``."""
        return self._timed(name, lambda: self._read(name, _object(arguments)))

    def propose(self, name: str, arguments: Any) -> tuple[PendingWrite | None, dict[str, Any], ToolCall]:
        """A write the model asked for, validated and not made: the pending write, or None and
        the refusal (the tool result the model gets)."""
        proposed: list[PendingWrite] = []

        def validate() -> dict[str, Any]:
            proposed.append(self._proposal(name, _object(arguments)))
            return {"confirmationRequired": True}

        result, call = self._timed(name, validate)
        return (proposed[0] if proposed else None), result, call

    def execute(self, pending: PendingWrite) -> tuple[dict[str, Any], ToolCall]:
        """The confirmed write, validated again against PetClinic as it is now, then made."""

        def write() -> dict[str, Any]:
            fresh = self._proposal(pending.tool, pending.arguments)
            if fresh.tool == ADD_OWNER:
                return {"owner": self.api.add_owner(fresh.arguments)}
            return {"pet": self.api.add_pet(fresh.arguments["ownerId"], fresh.arguments["pet"])}

        return self._timed(pending.tool, write)

    def _timed(self, name: str, action: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], ToolCall]:
        started = self.timer()
        try:
            if name not in TOOL_NAMES:
                raise ToolError(f"there is no tool named {name[:40]!r}")
            result, ok = action(), True
        except ToolError as exc:
            result, ok = {"error": str(exc)}, False
        except Exception as exc:
            result, ok = {"error": f"the PetClinic service call failed ({type(exc).__name__})"}, False
        error = None if ok else str(result["error"])
        return result, ToolCall(name, ok, (self.timer() - started) * 1000, error)

    def _read(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name in WRITE_TOOLS:
            raise ToolError(f"{name} changes PetClinic: it needs the user's confirmation")
        if name == "listOwners":
            return {"owners": self.api.list_owners()}
        query = arguments.get("query")
        if query is not None and not isinstance(query, str):
            raise ToolError("query must be a string")
        return {"vets": self.vets.search(self.api.list_vets(), query)}

    def _proposal(self, name: str, arguments: dict[str, Any]) -> PendingWrite:
        if name == ADD_OWNER:
            return owner_write(arguments, self.clock())
        if name == ADD_PET:
            return pet_write(
                arguments, owner_of=self.api.get_owner, pet_types=self.pet_types, now=self.clock()
            )
        raise ToolError(f"{name} does not change PetClinic: call it as a tool")

    def pet_types(self) -> dict[int, str]:
        """PetClinic's pet types, ``{id: name}`` (read from customers-service, reused 5 minutes)."""
        now = self.clock()
        if self._pet_types is None or now - self._pet_types[0] > PET_TYPES_SECONDS:
            types = {
                int(t["id"]): str(t.get("name", ""))
                for t in self.api.pet_types()
                if isinstance(t, dict) and isinstance(t.get("id"), int)
            }
            self._pet_types = (now, types)
        return self._pet_types[1]


def _object(arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise ToolError("the tool input must be a JSON object")
    return arguments
