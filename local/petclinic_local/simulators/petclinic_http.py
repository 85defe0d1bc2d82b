"""A local STAND-IN of the PetClinic microservices' REST APIs, served over real HTTP on 127.0.0.1.

The GenAI function's tools call the PetClinic services over HTTP; locally they call this server
(its base URL goes into Parameter Store as each service's URL). Paths and JSON shapes are the
services' own (spring-petclinic-microservices), with the upstream sample data: six vets (James
Carter; Helen Leary, radiology; Linda Douglas, dentistry and surgery; Rafael Ortega, surgery;
Henry Stevens, radiology; Sharon Jenkins), ten owners with thirteen pets, four visits.

    customers-service  GET /owners, GET /owners/{id}, POST /owners, PUT /owners/{id},
                       GET /petTypes, POST /owners/{id}/pets, GET /owners/{id}/pets/{petId}
    vets-service       GET /vets
    visits-service     GET /owners/*/pets/{petId}/visits, POST same, GET /pets/visits?petId=1,2
    admin-server       GET /admin/actuator/health (UP: the lifecycle hook's scripted request)
    every service      GET /actuator/health (production: UP), GET /test/{ecs service}/actuator/health
                       (the test route: DOWN, 503, while the ECS simulator has a service's test
                       traffic on a revision whose image is tagged *unhealthy*; ``test_route_health``)

Validation follows the services (an owner needs first and last name, address, city and a
telephone of up to 12 digits: 400 otherwise; an unknown owner: 404). ``fail_next(n, status,
body)`` makes the next n requests answer with that status (and body); ``requests`` records
(method, path, status).
In memory, one data set per server; not the real services.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from petclinic_local.loopback import LoopbackServer

PET_TYPES = [
    {"id": 1, "name": "cat"},
    {"id": 2, "name": "dog"},
    {"id": 3, "name": "lizard"},
    {"id": 4, "name": "snake"},
    {"id": 5, "name": "bird"},
    {"id": 6, "name": "hamster"},
]
SPECIALTIES = {1: "radiology", 2: "surgery", 3: "dentistry"}
VETS = [
    (1, "James", "Carter", []),
    (2, "Helen", "Leary", [1]),
    (3, "Linda", "Douglas", [2, 3]),
    (4, "Rafael", "Ortega", [2]),
    (5, "Henry", "Stevens", [1]),
    (6, "Sharon", "Jenkins", []),
]
OWNERS = [
    (1, "George", "Franklin", "110 W. Liberty St.", "Madison", "6085551023"),
    (2, "Betty", "Davis", "638 Cardinal Ave.", "Sun Prairie", "6085551749"),
    (3, "Eduardo", "Rodriquez", "2693 Commerce St.", "McFarland", "6085558763"),
    (4, "Harold", "Davis", "563 Friendly St.", "Windsor", "6085553198"),
    (5, "Peter", "McTavish", "2387 S. Fair Way", "Madison", "6085552765"),
    (6, "Jean", "Coleman", "105 N. Lake St.", "Monona", "6085552654"),
    (7, "Jeff", "Black", "1450 Oak Blvd.", "Monona", "6085555387"),
    (8, "Maria", "Escobito", "345 Maple St.", "Madison", "6085557683"),
    (9, "David", "Schroeder", "2749 Blackhawk Trail", "Madison", "6085559435"),
    (10, "Carlos", "Estaban", "2335 Independence La.", "Waunakee", "6085555487"),
]
PETS = [  # id, name, birth date, type id, owner id
    (1, "Leo", "2010-09-07", 1, 1),
    (2, "Basil", "2012-08-06", 6, 2),
    (3, "Rosy", "2011-04-17", 2, 3),
    (4, "Jewel", "2010-03-07", 2, 3),
    (5, "Iggy", "2010-11-30", 3, 4),
    (6, "George", "2010-01-20", 4, 5),
    (7, "Samantha", "2012-09-04", 1, 6),
    (8, "Max", "2012-09-04", 1, 6),
    (9, "Lucky", "2011-08-06", 5, 7),
    (10, "Mulligan", "2007-02-24", 2, 8),
    (11, "Freddy", "2010-03-09", 5, 9),
    (12, "Lucky", "2010-06-24", 2, 10),
    (13, "Sly", "2012-06-08", 1, 10),
]
VISITS = [(1, 7, "2013-01-01", "rabies shot"), (2, 8, "2013-01-02", "rabies shot"),
          (3, 8, "2013-01-03", "neutered"), (4, 7, "2013-01-04", "spayed")]  # fmt: skip
TELEPHONE = re.compile(r"\A\d{1,12}\Z")
DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class PetClinicData:
    owners: dict[int, dict[str, Any]] = field(default_factory=dict)
    vets: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    next_owner: int = 11
    next_pet: int = 14
    next_visit: int = 5

    @classmethod
    def sample(cls) -> PetClinicData:
        data = cls()
        types = {t["id"]: t for t in PET_TYPES}
        for oid, first, last, address, city, phone in OWNERS:
            data.owners[oid] = {"id": oid, "firstName": first, "lastName": last, "address": address,
                                "city": city, "telephone": phone, "pets": []}  # fmt: skip
        for pid, name, born, type_id, owner in PETS:
            data.owners[owner]["pets"].append(
                {"id": pid, "name": name, "birthDate": born, "type": copy.deepcopy(types[type_id])}
            )
        for vid, first, last, specialties in VETS:
            data.vets.append({
                "id": vid, "firstName": first, "lastName": last,
                "specialties": [{"id": s, "name": SPECIALTIES[s]} for s in specialties],
                "nrOfSpecialties": len(specialties),
            })  # fmt: skip
        for vid, pet, date, description in VISITS:
            data.visits.append({"id": vid, "petId": pet, "date": date, "description": description})
        return data


@dataclass
class PetClinicHttpService(LoopbackServer):
    """The server; ``url`` once started. Use as a context manager or start()/close()."""

    host: str = "127.0.0.1"
    port: int = 0
    data: PetClinicData = field(default_factory=PetClinicData.sample)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _failures: list[tuple[int, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    # The health of the revision taking a service's test traffic (simulators.ecs
    # RolloutSimulator.test_route_health: "UP", "DOWN" or None when none has it).
    test_route_health: Callable[[str], str | None] | None = None

    label = "PetClinic services: local stand-in (simulators/petclinic_http.py) on 127.0.0.1"

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: requests are recorded in ``service.requests``."""

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = service.handle(self.command, self.path, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

        self._serve(Handler, "petclinic-http")

    def fail_next(self, count: int, status: int = 500, body: Any = None) -> None:
        """The next ``count`` requests answer ``status`` with ``body`` (default: a short error)."""
        with self._lock:
            self._failures.extend([(status, body)] * count)

    # ----------------------------------------------------------------- the API

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        payload: Any
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                status, payload = failure
                payload = payload or {"error": "injected failure of the local PetClinic service"}
            else:
                try:
                    status, payload = self._route(method, parts.path.rstrip("/"), parts.query, body)
                except HttpError as exc:
                    status, payload = exc.status, {"error": str(exc), "status": exc.status}
            self.requests.append((method, parts.path, status))
        return status, payload

    def _route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any]:
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/vets", lambda: (200, copy.deepcopy(self.data.vets))),
            ("GET", r"/petTypes", lambda: (200, copy.deepcopy(PET_TYPES))),
            ("GET", r"/owners", lambda: (200, copy.deepcopy(list(self.data.owners.values())))),
            ("POST", r"/owners", lambda: self._add_owner(body)),
            ("GET", r"/owners/(\d+)", lambda owner: (200, copy.deepcopy(self._owner(int(owner))))),
            ("PUT", r"/owners/(\d+)", lambda owner: self._update_owner(int(owner), body)),
            ("POST", r"/owners/(\d+)/pets", lambda owner: self._add_pet(int(owner), body)),
            ("GET", r"/owners/(\d+)/pets/(\d+)", lambda owner, pet: self._pet(int(owner), int(pet))),
            ("GET", r"/owners/[^/]+/pets/(\d+)/visits", lambda pet: self._visits("GET", int(pet), body)),
            ("POST", r"/owners/[^/]+/pets/(\d+)/visits", lambda pet: self._visits("POST", int(pet), body)),
            ("GET", r"/pets/visits", lambda: self._visits_of(query)),
            ("GET", r"/actuator/health", lambda: (200, {"status": "UP"})),
            ("GET", r"/admin/actuator/health", lambda: (200, {"status": "UP"})),
            ("GET", r"/test/([^/]+)/actuator/health", self._test_health),
        ]
        for verb, pattern, action in routes:
            if verb == method and (match := re.fullmatch(pattern, path)):
                result: tuple[int, Any] = action(*match.groups())
                return result
        raise HttpError(404, f"No endpoint {method} {path}")

    def _test_health(self, service: str) -> tuple[int, Any]:
        """Spring Boot's health answer through the test route: 503 DOWN for an unhealthy revision."""
        health = self.test_route_health(service) if self.test_route_health else None
        return (503, {"status": "DOWN"}) if health == "DOWN" else (200, {"status": "UP"})

    def _add_owner(self, body: bytes) -> tuple[int, Any]:
        owner = _owner_fields(_json(body))
        owner.update(id=self.data.next_owner, pets=[])
        self.data.owners[self.data.next_owner] = owner
        self.data.next_owner += 1
        return 201, copy.deepcopy(owner)

    def _update_owner(self, owner_id: int, body: bytes) -> tuple[int, Any]:
        self._owner(owner_id).update(_owner_fields(_json(body)))
        return 204, None

    def _add_pet(self, owner_id: int, body: bytes) -> tuple[int, Any]:
        owner = self._owner(owner_id)
        pet = _pet_fields(_json(body))
        pet["id"] = self.data.next_pet
        self.data.next_pet += 1
        owner["pets"].append(pet)
        return 201, copy.deepcopy(pet)

    def _pet(self, owner_id: int, pet_id: int) -> tuple[int, Any]:
        owner = self._owner(owner_id)
        pet = next((p for p in owner["pets"] if p["id"] == pet_id), None)
        if pet is None:
            raise HttpError(404, f"Pet {pet_id} not found")
        return 200, {**copy.deepcopy(pet), "owner": f"{owner['firstName']} {owner['lastName']}"}

    def _visits_of(self, query: str) -> tuple[int, Any]:
        ids = {int(i) for i in ",".join(parse_qs(query).get("petId", [])).split(",") if i.isdigit()}
        return 200, {"items": [v for v in self.data.visits if v["petId"] in ids]}

    def _owner(self, owner_id: int) -> dict[str, Any]:
        owner = self.data.owners.get(owner_id)
        if owner is None:
            raise HttpError(404, f"Owner {owner_id} not found")
        return owner

    def _visits(self, method: str, pet_id: int, body: bytes) -> tuple[int, Any]:
        if method == "GET":
            return 200, [v for v in self.data.visits if v["petId"] == pet_id]
        if method != "POST":
            raise HttpError(405, "method not allowed")
        visit = _json(body)
        description = visit.get("description")
        if not isinstance(description, str) or not description.strip():
            raise HttpError(400, "description is required")
        created = {"id": self.data.next_visit, "petId": pet_id,
                   "date": visit.get("date") or "2026-01-01", "description": description}  # fmt: skip
        self.data.next_visit += 1
        self.data.visits.append(created)
        return 201, created


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise HttpError(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise HttpError(400, "the body must be a JSON object")
    return value


def _owner_fields(body: dict[str, Any]) -> dict[str, Any]:
    owner = {}
    for key in ("firstName", "lastName", "address", "city", "telephone"):
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            raise HttpError(400, f"{key} must not be blank")
        owner[key] = value.strip()
    if not TELEPHONE.match(owner["telephone"]):
        raise HttpError(400, "telephone must be numeric, up to 12 digits")
    return owner


def _pet_fields(body: dict[str, Any]) -> dict[str, Any]:
    name, born, type_id = body.get("name"), body.get("birthDate"), body.get("typeId")
    if not isinstance(name, str) or not name.strip():
        raise HttpError(400, "name must not be blank")
    if not isinstance(born, str) or not DATE.match(born):
        raise HttpError(400, "birthDate must be yyyy-MM-dd")
    pet_type = next((t for t in PET_TYPES if t["id"] == type_id), None)
    if pet_type is None:
        raise HttpError(404, f"Pet type {type_id} not found")
    return {"name": name.strip(), "birthDate": born, "type": copy.deepcopy(pet_type)}
