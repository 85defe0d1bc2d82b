"""What the assistant's tools may write to PetClinic, and the write that waits for the user.

Validation follows the upstream customers-service (spring-petclinic-microservices) and its
database: OwnerRequest's firstName, lastName, address and city not blank, telephone 1 to 12
digits (@Digits(integer = 12)); PetRequest's name not blank, birthDate a date, typeId an existing
pet type, the owner an existing one; the columns' lengths (first_name and last_name 30, address
255, city 80, pets.name 30). Beyond them, text the clinic's records have no use for is refused
before it reaches PetClinic's pages: control and formatting characters (bidirectional overrides,
zero-width characters), characters outside the Basic Multilingual Plane (MySQL's 3-byte utf8),
and punctuation outside a small set per field (``<``, ``$``, ``;``, ``{``... never appear in a name
or an address, and are what script, template and SQL injection need). Telephones take ASCII
digits only (``\\d`` also matches Arabic-Indic digits); a birth date must be a real day, not
in the future, not before 1900. Every refusal is a ``ToolError`` naming the field: the model gets
it as the tool's result.

A valid write is not made: it becomes a ``PendingWrite`` that the assistant states exactly
(``question``) and keeps in the conversation's memory; only the user's next message, if it
confirms (``is_confirmation``), makes it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from petclinic_ops.errors import ToolError

ADD_OWNER, ADD_PET = "addOwnerToPetclinic", "addPetToOwner"
WRITE_TOOLS = frozenset({ADD_OWNER, ADD_PET})
MAX_ID = 2**31 - 1  # a Java int (the services' ids)
EARLIEST_BIRTH = dt.date(1900, 1, 1)
PENDING_SECONDS = 15 * 60  # a write not confirmed within 15 minutes is dropped

_NAME = " '-.\u2019"  # letters and marks, and these
_ADDRESS = _NAME + ",#/()0123456789"
_PET_NAME = _NAME + "0123456789"
# field: (PetClinic's column length, the punctuation and digits it takes besides letters)
OWNER_FIELDS: dict[str, tuple[int, str]] = {
    "firstName": (30, _NAME),
    "lastName": (30, _NAME),
    "address": (255, _ADDRESS),
    "city": (80, _NAME),
}
PHONE_SEPARATORS = re.compile(r"[ ().+-]")
PHONE = re.compile(r"[0-9]{1,12}", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_CONFIRM = re.compile(
    r"(?:yes|y|yep|yeah|ok|okay|sure|confirm(?:ed)?|go ahead|do it|please do)"
    r"(?:[\s,.!]+(?:please|confirm(?:ed)?|go ahead|do it|add (?:it|him|her|them)|thanks?|thank you))*",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- text fields


_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible or formatting character (a bidirectional control, say)",
    "Cs": "an unpaired surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than the plain space",
    "Nd": "a digit that is not 0-9",
}


def _refusal(char: str, allowed: str) -> str | None:
    """Why a character has no place in a field, or None when it has one."""
    code = ord(char)
    category = unicodedata.category(char)
    if char in allowed or (category[0] in "LM" and code <= 0xFFFF):
        return None
    if code > 0xFFFF:
        return (
            f"U+{code:04X}, a character outside the Basic Multilingual Plane (PetClinic stores 3-byte UTF-8)"
        )
    if (category in _REFUSED_CATEGORIES and not char.isascii()) or category == "Cc":
        return f"U+{code:04X}, {_REFUSED_CATEGORIES[category]}"
    return f"{char!r}" if char.isprintable() else f"U+{code:04X}"


def text_field(arguments: dict[str, Any], key: str, limit: int, allowed: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"{key} is required (text, not blank)")
    value = value.strip()
    if len(value) > limit:
        raise ToolError(f"{key} is {len(value)} characters long; PetClinic takes at most {limit}")
    for char in value:
        problem = _refusal(char, allowed)
        if problem:
            raise ToolError(f"{key} holds {problem}, which PetClinic does not take there")
    return value


def telephone(arguments: dict[str, Any]) -> str:
    value = arguments.get("telephone")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ToolError("telephone is required (1 to 12 digits 0-9)")
    digits = PHONE_SEPARATORS.sub("", value.strip())
    if not PHONE.fullmatch(digits):
        odd = next((c for c in digits if c not in "0123456789"), None)
        why = f"; it holds {_refusal(odd, '') or repr(odd)}" if odd else f"; it has {len(digits)} digits"
        raise ToolError(f"telephone must be 1 to 12 digits 0-9{why}")
    return digits


def owner_payload(arguments: dict[str, Any]) -> dict[str, str]:
    """The OwnerRequest body customers-service accepts, or ``ToolError`` naming the field."""
    owner = {
        key: text_field(arguments, key, limit, allowed) for key, (limit, allowed) in OWNER_FIELDS.items()
    }
    owner["telephone"] = telephone(arguments)
    return owner


def whole_number(value: Any, key: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """An id: an integer (or its digits as text), not a boolean, within [low, high]."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ToolError(f"{key} must be a whole number")
    if not low <= value <= high:
        raise ToolError(f"{key} must be between {low} and {high}")
    return value


def birth_date(value: Any, today: dt.date) -> str:
    if not isinstance(value, str) or not DATE.fullmatch(value.strip()):
        raise ToolError("pet.birthDate must be a date written YYYY-MM-DD")
    try:
        born = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(f"pet.birthDate {value.strip()} is not a real date") from None
    if born > today:
        raise ToolError(f"pet.birthDate {born.isoformat()} is in the future")
    if born < EARLIEST_BIRTH:
        raise ToolError(f"pet.birthDate {born.isoformat()} is before {EARLIEST_BIRTH.year}")
    return born.isoformat()


# --------------------------------------------------------------------------- the pending write


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A validated write the user has not confirmed yet: ``arguments`` is exactly what goes to
    PetClinic; ``what`` and ``lines`` say it to the user."""

    tool: str
    arguments: dict[str, Any]
    what: str  # "the owner Jane Doe", "the pet Rex to George Franklin (owner 1)"
    lines: tuple[tuple[str, str], ...]
    id: str
    proposed_at: float

    @classmethod
    def of(
        cls, tool: str, arguments: dict[str, Any], what: str, lines: list[tuple[str, str]], now: float
    ) -> PendingWrite:
        return cls(tool, arguments, what, tuple(lines), uuid.uuid4().hex, now)

    def question(self) -> str:
        """What the assistant answers: exactly what it will write, and how to confirm it."""
        rows = "\n".join(f"- {label}: {value}" for label, value in self.lines)
        return (
            f"I will add {self.what} to PetClinic:\n\n{rows}\n\n"
            "Reply **yes** to add it; anything else cancels it."
        )

    def expired(self, now: float) -> bool:
        return now - self.proposed_at > PENDING_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "arguments": self.arguments,
            "what": self.what,
            "lines": [list(line) for line in self.lines],
            "id": self.id,
            "proposedAt": self.proposed_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingWrite:
        lines = tuple((str(label), str(value)) for label, value in data["lines"])
        return cls(
            str(data["tool"]), dict(data["arguments"]), str(data["what"]), lines, str(data["id"]),
            float(data["proposedAt"]),
        )  # fmt: skip


def is_confirmation(text: str) -> bool:
    """Whether the user's message confirms what the assistant proposed ("yes", "yes, add it",
    "ok", "confirm"...): the whole message, nothing else in it."""
    return _CONFIRM.fullmatch(text.strip().rstrip(".!").strip()) is not None


def owner_write(arguments: dict[str, Any], now: float) -> PendingWrite:
    owner = owner_payload(arguments)
    labels = {"firstName": "first name", "lastName": "last name", "address": "address", "city": "city",
              "telephone": "telephone"}  # fmt: skip
    lines = [(label, owner[key]) for key, label in labels.items()]
    what = f"the owner {owner['firstName']} {owner['lastName']}"
    return PendingWrite.of(ADD_OWNER, owner, what, lines, now)


def pet_write(
    arguments: dict[str, Any],
    *,
    owner_of: Callable[[int], dict[str, Any] | None],
    pet_types: Callable[[], dict[int, str]],
    now: float,
) -> PendingWrite:
    """A pet for an existing owner, of an existing type (both asked of customers-service)."""
    owner_id = whole_number(arguments.get("ownerId"), "ownerId")
    pet = arguments.get("pet")
    if not isinstance(pet, dict):
        raise ToolError("pet is required: {name, birthDate, typeId}")
    name = text_field(pet, "name", 30, _PET_NAME)
    born = birth_date(pet.get("birthDate"), dt.datetime.fromtimestamp(now, dt.UTC).date())
    types = pet_types()
    type_id = whole_number(pet.get("typeId"), "pet.typeId", high=MAX_ID)
    if type_id not in types:
        known = ", ".join(f"{tid} {type_name}" for tid, type_name in sorted(types.items()))
        raise ToolError(f"pet.typeId {type_id} is not a pet type of PetClinic: one of {known}")
    owner = owner_of(owner_id)
    if owner is None:
        raise ToolError(f"there is no owner with id {owner_id}")
    owner_name = f"{owner.get('firstName', '')} {owner.get('lastName', '')}".strip()
    payload = {"name": name, "birthDate": born, "typeId": type_id}
    lines = [
        ("name", name),
        ("birth date", born),
        ("type", types[type_id]),
        ("owner", f"{owner_name} (id {owner_id})"),
    ]
    return PendingWrite.of(
        ADD_PET, {"ownerId": owner_id, "pet": payload}, f"the pet {name} to {owner_name}", lines, now
    )
