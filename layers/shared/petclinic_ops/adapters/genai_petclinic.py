"""The PetClinic services over HTTP, as the tools' ``PetClinicApi`` port.

Base URLs: Parameter Store first, ``{path}customers-service/url`` and ``{path}vets-service/url``
under the configured path (``/petclinic/{env}/services/``; read with Powertools Parameters,
cached for ``max_age`` seconds); a service without a parameter is reached by its Cloud Map name,
``http://<service>.<namespace>:8080``. The paths are the services' own (customers-service:
/owners, /owners/{id}, /petTypes, /owners/{id}/pets; vets-service: /vets), as the upstream
assistant calls them.

Every call has a connect and a read timeout and no retries (a tool that fails tells the model
so); a non-2xx answer raises ``ToolError`` with the status and its standard reason phrase only:
the service's error body (a Spring Boot error page, a stack trace, an echo of what was sent)
never goes back to the model, so it never reaches the user's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

from petclinic_ops.errors import ToolError

SERVICES = ("customers-service", "vets-service", "visits-service")


class ParameterStoreUrls:
    """``{service: url}`` from the parameters ``<path><service>/url``, through a Powertools SSM
    provider of its own (its cache lives as long as this object: one container)."""

    def __init__(self, max_age: int = 300) -> None:
        self.max_age = max_age
        self._provider: Any = None

    def __call__(self, path: str) -> dict[str, str]:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415 - loads boto3

            self._provider = SSMProvider()
        return urls_of(self._provider.get_multiple(path, max_age=self.max_age, recursive=True))


def parameter_store_urls(path: str, max_age: int = 0) -> dict[str, str]:
    """``{service: url}`` read now (no cache)."""
    return ParameterStoreUrls(max_age)(path)


def status_text(status: int) -> str:
    """``404 Not Found``: the status and its standard phrase (nothing the service wrote)."""
    from http import HTTPStatus  # noqa: PLC0415

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


# What an operator reads for the exceptions urllib3 raises when a service does not answer.
_WHY = {
    "NewConnectionError": "connection refused",
    "ConnectTimeoutError": "no connection within the timeout",
    "ReadTimeoutError": "no answer within the timeout",
    "NameResolutionError": "its name does not resolve",
    "ProtocolError": "the connection broke",
}


def _why(exc: Exception) -> str:
    """``connection refused, NewConnectionError``: what happened and the exception's name (no
    message: it holds the URL)."""
    name = type(exc).__name__
    return f"{_WHY[name]}, {name}" if name in _WHY else name


def urls_of(found: dict[str, Any]) -> dict[str, str]:
    urls = {}
    for name, value in found.items():
        service, _, leaf = str(name).strip("/").partition("/")
        if leaf == "url" and service in SERVICES and isinstance(value, str) and value:
            urls[service] = value.rstrip("/")
    return urls


class PetClinicHttp:
    def __init__(
        self,
        *,
        parameter_path: str,
        namespace: str = "petclinic.local",
        timeout: float = 5.0,
        url_source: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self.parameter_path = parameter_path
        self.namespace = namespace
        self.timeout = timeout
        self.url_source = url_source or ParameterStoreUrls()

    @cached_property
    def pool(self) -> Any:
        import urllib3  # noqa: PLC0415 - lazy

        return urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=self.timeout), retries=False, maxsize=4
        )

    def base_url(self, service: str) -> str:
        try:
            urls = self.url_source(self.parameter_path)
        except Exception:
            urls = {}
        return urls.get(service) or f"http://{service}.{self.namespace}:8080"

    def _call(
        self, service: str, method: str, path: str, body: Any = None, *, none_if_missing: bool = False
    ) -> Any:
        url = f"{self.base_url(service)}{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.pool.request(method, url, body=data, headers=headers)
        except Exception as exc:
            raise ToolError(f"{service} did not answer ({_why(exc)})") from None
        if none_if_missing and response.status == 404:
            return None
        if not 200 <= response.status < 300:
            raise ToolError(f"{service} answered {status_text(response.status)}")
        try:
            return json.loads(response.data) if response.data else None
        except ValueError:
            raise ToolError(f"{service} answered something that is not JSON") from None

    def list_owners(self) -> list[dict[str, Any]]:
        owners = self._call("customers-service", "GET", "/owners")
        return [_owner(o) for o in owners or []]

    def get_owner(self, owner_id: int) -> dict[str, Any] | None:
        found = self._call("customers-service", "GET", f"/owners/{int(owner_id)}", none_if_missing=True)
        return _owner(found) if isinstance(found, dict) else None

    def pet_types(self) -> list[dict[str, Any]]:
        found = self._call("customers-service", "GET", "/petTypes")
        return [t for t in found or [] if isinstance(t, dict)]

    def add_owner(self, owner: dict[str, str]) -> dict[str, Any]:
        return _owner(self._call("customers-service", "POST", "/owners", owner))

    def list_vets(self) -> list[dict[str, Any]]:
        return list(self._call("vets-service", "GET", "/vets") or [])

    def add_pet(self, owner_id: int, pet: dict[str, Any]) -> dict[str, Any]:
        created = self._call("customers-service", "POST", f"/owners/{owner_id}/pets", {"id": 0, **pet})
        return created if isinstance(created, dict) else {"ownerId": owner_id, **pet}


def _owner(owner: dict[str, Any]) -> dict[str, Any]:
    """An owner as the assistant needs it (the service's own shape, pets reduced to the essentials)."""
    pets = [
        {"id": p.get("id"), "name": p.get("name"), "birthDate": p.get("birthDate"),
         "type": (p.get("type") or {}).get("name")}
        for p in owner.get("pets") or []
    ]  # fmt: skip
    return {
        "id": owner.get("id"),
        "firstName": owner.get("firstName"),
        "lastName": owner.get("lastName"),
        "address": owner.get("address"),
        "city": owner.get("city"),
        "telephone": owner.get("telephone"),
        "pets": pets,
    }
