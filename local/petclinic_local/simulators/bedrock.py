"""A STAND-IN for Amazon Bedrock's runtime: Converse and Titan Text Embeddings. Not a model.

It is a test double behind the real boto3 client (``moto_compat.bedrockruntime`` routes
bedrock-runtime's Converse and InvokeModel calls here; moto 5.2.5 answers InvokeModel with an
empty body and has no Converse), so the function's real adapter, router and tool loop run
unchanged. What it answers is scripted and deterministic, not generated:

* Converse, a model offered tools (Claude, a prompt router): a question about vets, owners,
  adding an owner or adding a pet becomes the matching ``toolUse`` turn (listVets with the
  specialty or name asked for, listOwners, addOwnerToPetclinic, addPetToOwner); once the tool
  results are in the conversation it writes the answer from them (vets whose specialties match
  the question, owners, what was added, or the tool's error). Anything else gets a fixed reply.
* Converse, a model without tools (Titan Text): a fixed reply, or the answer written from the
  looked-up data a fallback put into the conversation as text.
* ``usage``: input tokens = characters sent / 4 (messages, system prompt, tool specs), output
  tokens = characters answered / 4; a prompt router reports the model it "chose" in
  ``trace.promptRouter.invokedModelId``.
* InvokeModel on ``amazon.titan-embed-text-*``: a deterministic 256-dimension hashing embedding
  of words and character trigrams (``StandInEmbedding``), unit length. Also a stand-in: similar
  spellings ("radiologists", "radiology") land close together, meaning does not.

Faults are injected per model (exact id or prefix): an error code (ThrottlingException,
ServiceUnavailableException, ModelTimeoutException, ModelNotReadyException, ValidationException,
AccessDeniedException..., or "ReadTimeout" for a client-side timeout), on every call, the next N
calls or every Nth call, and a latency per call. ``calls`` records every call (model, outcome,
tokens) for tests and reports. Every report that uses it says: "Bedrock: local stand-in".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

LABEL = "Bedrock: local stand-in (local/petclinic_local/simulators/bedrock.py), scripted answers, not a model"

ERROR_STATUS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelNotReadyException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelTimeoutException": 408,
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
}
CLIENT_TIMEOUT = "ReadTimeout"
SPECIALTIES = {"radiolog": "radiology", "surg": "surgery", "dent": "dentistry"}
EMBEDDING_DIMENSIONS = 256


class StandInError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = ERROR_STATUS.get(code, 400)


@dataclass
class Fault:
    model: str  # exact model id, or a prefix ending in "*"
    error: str | None = None
    remaining: int | None = None  # None: every call (unless ``every``)
    every: int | None = None  # every Nth call of this model fails
    latency: float = 0.0  # real seconds added to every call
    seen: int = 0

    def matches(self, model_id: str) -> bool:
        if self.model.endswith("*"):
            return model_id.startswith(self.model[:-1])
        return model_id == self.model


@dataclass(frozen=True)
class Call:
    model: str
    operation: str  # converse | embed
    outcome: str  # ok, or the error code
    input_tokens: int = 0
    output_tokens: int = 0
    tool_use: str | None = None


@dataclass
class BedrockStandIn:
    """See the module docstring. Thread-safe; one per local cloud."""

    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    label = LABEL

    # ----------------------------------------------------------------- scripting

    def inject(
        self,
        model: str,
        error: str | None = None,
        *,
        times: int | None = None,
        every: int | None = None,
        latency: float = 0.0,
    ) -> Fault:
        if error is not None and error != CLIENT_TIMEOUT and error not in ERROR_STATUS:
            raise ValueError(
                f"unknown Bedrock error {error!r}: one of {', '.join(ERROR_STATUS)}, {CLIENT_TIMEOUT}"
            )
        fault = Fault(model, error, times, every, latency)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _fault_for(self, model_id: str) -> tuple[str | None, float]:
        with self._lock:
            latency = 0.0
            for fault in self.faults:
                if not fault.matches(model_id):
                    continue
                latency = max(latency, fault.latency)
                if fault.error is None:
                    continue
                fault.seen += 1
                if fault.every is not None:
                    if fault.seen % fault.every == 0:
                        return fault.error, latency
                    continue
                if fault.remaining is None:
                    return fault.error, latency
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault.error, latency
            return None, latency

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _maybe_fail(self, model_id: str, operation: str) -> None:
        error, latency = self._fault_for(model_id)
        if latency:
            time.sleep(latency)
        if error is None:
            return
        self._record(Call(model_id, operation, error))
        if error == CLIENT_TIMEOUT:
            from botocore.exceptions import ReadTimeoutError  # noqa: PLC0415

            raise ReadTimeoutError(endpoint_url=f"https://bedrock-runtime.local/model/{model_id}/{operation}")
        raise StandInError(error, f"{error} (injected by the local Bedrock stand-in for {model_id})")

    # ----------------------------------------------------------------- Converse

    def converse(self, model_id: str, request: dict[str, Any]) -> dict[str, Any]:
        self._maybe_fail(model_id, "converse")
        messages = request.get("messages") or []
        if not messages or messages[0].get("role") != "user":
            self._record(Call(model_id, "converse", "ValidationException"))
            raise StandInError("ValidationException", "A conversation must start with a user message.")
        tools = bool((request.get("toolConfig") or {}).get("tools"))
        if tools and "titan-text" in model_id:
            self._record(Call(model_id, "converse", "ValidationException"))
            raise StandInError("ValidationException", "This model doesn't support tool use.")
        content, stop = self._turn(messages, tools)
        input_tokens = max(1, len(json.dumps(request, separators=(",", ":"))) // 4)
        output_tokens = max(1, len(json.dumps(content, separators=(",", ":"))) // 4)
        tool_use = next((block["toolUse"]["name"] for block in content if "toolUse" in block), None)
        self._record(Call(model_id, "converse", "ok", input_tokens, output_tokens, tool_use))
        response: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": 1},
        }
        if "prompt-router/" in model_id:
            chosen = "anthropic.claude-3-haiku-20240307-v1:0"
            region = model_id.split(":")[3] if model_id.startswith("arn:") else "us-west-2"
            response["trace"] = {
                "promptRouter": {"invokedModelId": f"arn:aws:bedrock:{region}::foundation-model/{chosen}"}
            }
        return response

    def _turn(self, messages: list[dict[str, Any]], tools: bool) -> tuple[list[dict[str, Any]], str]:
        last = messages[-1]
        results = [b["toolResult"] for b in last.get("content", []) if "toolResult" in b]
        if results:
            question = _question(messages)
            then = follow_up(question, results) if tools else None
            if then is None:
                return [{"text": answer_from_tools(results, question)}], "end_turn"
            return self._tool_use(messages, question, *then)
        text = " ".join(str(b.get("text", "")) for b in last.get("content", []))
        if not tools:
            looked_up = _looked_up_data(text)
            if looked_up is not None:
                return [{"text": answer_from_tools([looked_up], text)}], "end_turn"
            return [{"text": NO_TOOLS_REPLY}], "end_turn"
        tool = choose_tool(text)
        if tool is None:
            return [{"text": SMALL_TALK}], "end_turn"
        return self._tool_use(messages, text, *tool)

    @staticmethod
    def _tool_use(
        messages: list[dict[str, Any]], text: str, name: str, arguments: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str]:
        use_id = "tooluse_" + hashlib.sha256(f"{len(messages)}:{text}".encode()).hexdigest()[:20]
        return [
            {"text": f"Let me do that with {name}."},
            {"toolUse": {"toolUseId": use_id, "name": name, "input": arguments}},
        ], "tool_use"

    # ----------------------------------------------------------------- InvokeModel (embeddings)

    def invoke_model(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._maybe_fail(model_id, "embed")
        if not model_id.startswith("amazon.titan-embed-text"):
            self._record(Call(model_id, "invoke", "ValidationException"))
            raise StandInError("ValidationException", f"the local stand-in only embeds text, not {model_id}")
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise StandInError("ValidationException", "inputText is required")
        dimensions = int(body.get("dimensions", EMBEDDING_DIMENSIONS))
        vector = StandInEmbedding(dimensions).embed(text)
        tokens = max(1, len(text) // 4)
        self._record(Call(model_id, "embed", "ok", tokens, 0))
        return {"embedding": vector, "inputTextTokenCount": tokens}

    # ----------------------------------------------------------------- reading it

    def summary(self) -> dict[str, Any]:
        with self._lock:
            calls = list(self.calls)
        by_model: dict[str, dict[str, int]] = {}
        for call in calls:
            row = by_model.setdefault(call.model, {})
            row[call.outcome] = row.get(call.outcome, 0) + 1
        return {"standIn": LABEL, "calls": by_model}


# --------------------------------------------------------------------------- the script

NO_TOOLS_REPLY = (
    "I can't look up the clinic's records at the moment. Please ask again in a minute, "
    "or use the Owners and Veterinarians pages."
)
SMALL_TALK = (
    "I'm the Spring PetClinic assistant. I can list vets (by specialty too), list owners and their "
    "pets, add an owner, or add a pet to an owner."
)
PET_TYPE_IDS = {"cat": 1, "dog": 2, "lizard": 3, "snake": 4, "bird": 5, "hamster": 6}
_TYPES = "|".join(PET_TYPE_IDS)
# How people ask for an owner to be added: "Add an owner named Jane Doe at 1 Main St, Springfield,
# phone 5551234567", "Please add owner Grace Hopper, 1 Navy Way, Arlington, 7035550100", "Register a
# new owner: Jane Doe, address 1 Main St, city Springfield, telephone 555 123 4567". The captures
# are permissive on purpose: a model passes on what the user wrote, and the tool validates it.
ADD_OWNER = re.compile(
    r"\b(?:add|register|create|enter)\b[^.?!]*?\bowners?\b[:,]?\s*(?:(?:named|called|is)\s+)?"
    r"(?P<first>[^\s,]+)\s+(?P<last>[^\s,]+)\s*,?\s*(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_ADDRESS_WORDS = re.compile(
    r"^(?:who\s+)?(?:(?:lives|living|located|residing)\s+)?(?:at|address:?|in)\s+", re.IGNORECASE
)
_CITY_WORDS = re.compile(r"^(?:in|city:?|town:?)\s+", re.IGNORECASE)
_PHONE = re.compile(
    r"(?:phone|telephone|tel\.?|number|mobile)(?:\s+number)?[:\s]*(?P<phone>\S.*)$", re.IGNORECASE
)
# "Add a dog named Rex, born 2020-01-01, to owner 3", "add a cat called Tom to George Franklin",
# "add a new pet: a hamster named Bo born 2023-05-01 for owner #7".
ADD_PET = re.compile(
    rf"\badd\b[^.?!]*?\b(?P<type>{_TYPES})\b[^.?!]*?\b(?:named|called)\s+(?P<name>[^\s,]+)",
    re.IGNORECASE,
)
_BORN = re.compile(r"\bborn\s+(?:on\s+)?(?P<born>\S+?)[,.]?(?:\s|$)", re.IGNORECASE)
_OWNER_ID = re.compile(r"\bowner\s+(?:#|id\s*|number\s*)?(?P<owner>\d+)", re.IGNORECASE)
_OWNER_NAME = re.compile(r"\b(?:to|for)\s+(?:owner\s+)?(?P<first>[A-Z][\w'-]*)\s+(?P<last>[A-Z][\w'-]*)")


def _owner_arguments(match: re.Match[str]) -> dict[str, Any]:
    """The owner's fields from the words after the name: the part that names a phone (or is
    mostly digits) is the telephone; of the others, the first is the address, the next the city."""
    parts = [part.strip(" .!") for part in match["rest"].split(",") if part.strip(" .!")]
    phone = ""
    places = []
    for part in parts:
        found = _PHONE.search(part)
        if found or (not phone and sum(c.isdigit() for c in part) >= 7 and not part[:1].isalpha()):
            phone = (found["phone"] if found else part).strip()
            continue
        places.append(part)
    address = _ADDRESS_WORDS.sub("", places[0]) if places else ""
    city = _CITY_WORDS.sub("", places[1]) if len(places) > 1 else ""
    return {"firstName": match["first"], "lastName": match["last"], "address": address, "city": city,
            "telephone": re.sub(r"[\s().-]", "", phone)}  # fmt: skip


def _pet_arguments(match: re.Match[str], text: str) -> dict[str, Any]:
    born = _BORN.search(text)
    pet = {"name": match["name"], "birthDate": born["born"] if born else "2024-01-01",
           "typeId": PET_TYPE_IDS[match["type"].lower()]}  # fmt: skip
    owner = _OWNER_ID.search(text)
    return {"ownerId": int(owner["owner"]) if owner else None, "pet": pet}


def choose_tool(text: str) -> tuple[str, dict[str, Any]] | None:
    """The tool a question calls for, with its input, as a capable model would pick it (an
    add-pet naming the owner by name first lists the owners, to find the owner's id)."""
    lowered = text.lower()
    if match := ADD_PET.search(text):
        arguments = _pet_arguments(match, text)
        if arguments["ownerId"] is None:  # the owner by name (or not at all): find it first
            return "listOwners", {}
        return "addPetToOwner", arguments
    if match := ADD_OWNER.search(text):
        return "addOwnerToPetclinic", _owner_arguments(match)
    if re.search(r"\bvets?\b|veterinar|radiolog|surg|dentist|specialt", lowered):
        specialty = next((name for stem, name in SPECIALTIES.items() if stem in lowered), None)
        return "listVets", ({"query": specialty} if specialty else {})
    if re.search(r"\bowners?\b|\bpets?\b|customers?", lowered):
        return "listOwners", {}
    return None


def follow_up(question: str, results: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """A second tool call once the first one's results are in: an add-pet that named its owner
    by name, now that the owners are listed."""
    match = ADD_PET.search(question)
    named = _OWNER_NAME.search(question)
    if match is None or named is None or _OWNER_ID.search(question):
        return None
    for result in results:
        data: dict[str, Any] = next(
            (item["json"] for item in result.get("content", []) if "json" in item), {}
        )
        for owner in data.get("owners") or []:
            if (owner.get("firstName"), owner.get("lastName")) == (named["first"], named["last"]):
                return "addPetToOwner", {**_pet_arguments(match, question), "ownerId": owner.get("id")}
    return None


def _question(messages: list[dict[str, Any]]) -> str:
    """The last user text before the tool round (what the answer must address)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        texts = [str(b["text"]) for b in message.get("content", []) if "text" in b]
        if texts:
            return " ".join(texts)
    return ""


def _looked_up_data(text: str) -> dict[str, Any] | None:
    marker = "Looked-up data: "
    if marker not in text:
        return None
    raw = text.rsplit(marker, 1)[1]
    try:
        data, _ = json.JSONDecoder().raw_decode(raw)
    except ValueError:
        return None
    return {"content": [{"json": data}], "status": "success"} if isinstance(data, dict) else None


def answer_from_tools(results: list[dict[str, Any]], question: str) -> str:
    parts = []
    for result in results:
        items = result.get("content", [])
        data: dict[str, Any] = next((item["json"] for item in items if "json" in item), {})
        if result.get("status") == "error" or "error" in data:
            parts.append(f"I couldn't complete that: {data.get('error', 'the lookup failed')}.")
        elif "vets" in data:
            parts.append(_vets_answer(data["vets"], question))
        elif "owners" in data:
            owners = data["owners"]
            names = ", ".join(f"{o['firstName']} {o['lastName']}" for o in owners[:12])
            parts.append(f"The clinic has {len(owners)} owners: {names}.")
        elif "owner" in data:
            owner = data["owner"]
            parts.append(f"Added owner **{owner['firstName']} {owner['lastName']}** (id {owner.get('id')}).")
        elif "pet" in data:
            pet = data["pet"]
            parts.append(f"Added **{pet.get('name')}** (born {pet.get('birthDate')}) to the owner.")
    return "\n\n".join(parts) or NO_TOOLS_REPLY


def _vets_answer(vets: list[dict[str, Any]], question: str) -> str:
    lowered = question.lower()
    wanted = {name for stem, name in SPECIALTIES.items() if stem in lowered}
    chosen = [v for v in vets if not wanted or wanted & set(v.get("specialties") or [])]
    if not chosen:
        return "None of the clinic's vets has that specialty."
    lines = [
        f"- **{v['firstName']} {v['lastName']}**"
        + (f" ({', '.join(v['specialties'])})" if v.get("specialties") else " (no specialty)")
        for v in chosen
    ]
    head = (
        f"The clinic's {' and '.join(sorted(wanted))} specialists:"
        if wanted
        else "The clinic's veterinarians:"
    )
    return "\n".join([head, *lines])


class StandInEmbedding:
    """A STAND-IN embedding: signed feature hashing of words and character trigrams, unit length.
    Deterministic and dependency-free; not a language model."""

    def __init__(self, dimensions: int = EMBEDDING_DIMENSIONS) -> None:
        self.dimensions = dimensions

    def embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for feature, weight in _features(text):
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimensions
            vector[index] += weight if digest[4] & 1 else -weight
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "is",
        "the",
        "of",
        "to",
        "which",
        "who",
        "what",
        "with",
        "for",
        "in",
        "on",
        "our",
        "your",
        "me",
        "any",
        "all",
        "do",
        "does",
        "vet",
        "vets",
    ]
)


def _features(text: str) -> list[tuple[str, float]]:
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP_WORDS]
    features: list[tuple[str, float]] = []
    for word in words:
        features.append((f"w:{word}", 1.0))
        padded = f"^{word}$"
        features.extend((f"t:{padded[i : i + 3]}", 0.5) for i in range(len(padded) - 2))
    return features
