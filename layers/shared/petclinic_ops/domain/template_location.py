"""Which templates the provision workflow hands to CloudFormation: only the control plane's own.

``petclinic-ops provision`` uploads infra/*.yaml to the control plane's artifact bucket under
content-addressed keys, ``templates/<sha256 of the content>.yaml``, and CloudFormation provisions
with a role that can create workload roles. So a template URL is accepted only when it is exactly
that: ``https://<artifact bucket>.s3.<region>.amazonaws.com/templates/<64 lowercase hex>.yaml``
(what ``upload_templates`` writes), nothing before or after it (no other host or bucket, no port,
user, query or fragment, no http), and the object there hashes to its key. Anything else is
``InvalidTemplateLocation`` naming the URL and what is wrong with it, before any change set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from petclinic_ops.errors import InvalidTemplateLocation

KEY = re.compile(r"templates/(?P<digest>[0-9a-f]{64})\.yaml")
MAX_TEMPLATE_BYTES = 1024 * 1024  # CloudFormation reads at most 1 MB from a TemplateURL
_FORM = "https://<bucket>.s3.<region>.amazonaws.com/templates/<sha256>.yaml"


@dataclass(frozen=True)
class TemplateLocation:
    url: str
    bucket: str
    key: str
    digest: str


class TemplateStore(Protocol):
    """The artifact bucket, as the check needs it (adapters.templates.S3Templates)."""

    def read(self, bucket: str, key: str, *, limit: int) -> bytes | None:
        """The object's bytes, at most ``limit`` + 1 of them; None when there is no such object."""
        ...


def locate(url: str, *, bucket: str, region: str) -> TemplateLocation:
    """The bucket, key and digest of a template URL, or InvalidTemplateLocation saying why not."""
    prefix = f"https://{bucket}.s3.{region}.amazonaws.com/"
    if not isinstance(url, str) or not url.startswith(prefix):
        raise InvalidTemplateLocation(
            f"template {url!r} is not in the control plane's artifact bucket: expected "
            f"{prefix}templates/<sha256>.yaml ({_FORM}, what petclinic-ops provision uploads)"
        )
    key = url[len(prefix) :]
    match = KEY.fullmatch(key)
    if match is None:
        raise InvalidTemplateLocation(
            f"template {url!r}: the key {key!r} is not templates/<sha256>.yaml (64 lowercase hex "
            "digits of the content, nothing after it)"
        )
    return TemplateLocation(url=url, bucket=bucket, key=key, digest=match["digest"])


def verify(location: TemplateLocation, body: bytes | None) -> None:
    """The object is there and its SHA-256 is its key."""
    if body is None:
        raise InvalidTemplateLocation(f"template {location.url!r}: no such object in {location.bucket}")
    if len(body) > MAX_TEMPLATE_BYTES:
        raise InvalidTemplateLocation(
            f"template {location.url!r}: over CloudFormation's {MAX_TEMPLATE_BYTES} bytes for a template URL"
        )
    actual = hashlib.sha256(body).hexdigest()
    if actual != location.digest:
        raise InvalidTemplateLocation(
            f"template {location.url!r}: its content's SHA-256 is {actual}, not the key's {location.digest} "
            "(the object was changed after upload): upload the templates again (petclinic-ops provision)"
        )


def verify_templates(
    templates: Mapping[str, str], *, bucket: str, region: str, store: TemplateStore
) -> dict[str, TemplateLocation]:
    """Every template of the run (stack -> URL), each located and hashed; the first that is not
    the control plane's own raises InvalidTemplateLocation naming its stack and URL."""
    if not bucket:
        raise InvalidTemplateLocation("no artifact bucket is configured: no template can be accepted")
    verified = {}
    for stack, url in sorted(templates.items()):
        try:
            location = locate(url, bucket=bucket, region=region)
            verify(location, store.read(location.bucket, location.key, limit=MAX_TEMPLATE_BYTES))
        except InvalidTemplateLocation as rejected:
            raise InvalidTemplateLocation(f"stack {stack}: {rejected}") from None
        verified[stack] = location
    return verified
