"""The provision function accepts only the control plane's own templates (domain.template_location):
the artifact bucket, the content-addressed key, the content hashing to its key."""

from __future__ import annotations

import hashlib

import pytest

from petclinic_ops.domain import template_location
from petclinic_ops.errors import InvalidTemplateLocation

BUCKET = "petclinic-ops-dev-123456789012-us-west-2-artifacts"
REGION = "us-west-2"
BODY = b"AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"
DIGEST = hashlib.sha256(BODY).hexdigest()
GOOD = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml"


class Store:
    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects
        self.reads: list[tuple[str, str]] = []

    def read(self, bucket: str, key: str, *, limit: int) -> bytes | None:
        self.reads.append((bucket, key))
        body = self.objects.get((bucket, key))
        return None if body is None else body[: limit + 1]


def _verify(templates: dict[str, str], store: Store | None = None) -> None:
    store = store or Store({(BUCKET, f"templates/{DIGEST}.yaml"): BODY})
    template_location.verify_templates(templates, bucket=BUCKET, region=REGION, store=store)


def test_the_uploaded_form_is_accepted() -> None:
    store = Store({(BUCKET, f"templates/{DIGEST}.yaml"): BODY})
    verified = template_location.verify_templates(
        {"network": GOOD}, bucket=BUCKET, region=REGION, store=store
    )
    assert verified["network"].digest == DIGEST
    assert store.reads == [(BUCKET, f"templates/{DIGEST}.yaml")]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            f"https://evil-bucket.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml",
            "not in the control plane's",
        ),
        (
            f"https://{BUCKET}.s3.{REGION}.amazonaws.com.evil.example/templates/{DIGEST}.yaml",
            "not in the control plane's",
        ),
        (
            f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/templates/{DIGEST}.yaml",
            "not in the control plane's",
        ),
        (f"https://s3.{REGION}.amazonaws.com/{BUCKET}/templates/{DIGEST}.yaml", "not in the control plane's"),
        (f"http://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml", "not in the control plane's"),
        (
            f"https://user@{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml",
            "not in the control plane's",
        ),
        (
            f"https://{BUCKET}.s3.{REGION}.amazonaws.com:8443/templates/{DIGEST}.yaml",
            "not in the control plane's",
        ),
        (
            f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml?versionId=1",
            "is not templates/",
        ),
        (f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST}.yaml#x", "is not templates/"),
        (f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST.upper()}.yaml", "is not templates/"),
        (f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{DIGEST[:63]}.yaml", "is not templates/"),
        (f"https://{BUCKET}.s3.{REGION}.amazonaws.com/other/{DIGEST}.yaml", "is not templates/"),
        (
            f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/../templates/{DIGEST}.yaml",
            "is not templates/",
        ),
        (f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/network.yaml", "is not templates/"),
        ("", "not in the control plane's"),
        ("ssm-doc://petclinic", "not in the control plane's"),
    ],
)
def test_anything_else_is_refused_naming_the_url_before_reading_it(url: str, says: str) -> None:
    store = Store({(BUCKET, f"templates/{DIGEST}.yaml"): BODY})
    with pytest.raises(InvalidTemplateLocation) as refused:
        _verify({"data": url}, store)
    assert str(refused.value).startswith(f"stack data: template {url!r}")
    assert says in str(refused.value)
    assert store.reads == []


def test_an_object_whose_content_is_not_its_key_is_refused() -> None:
    store = Store({(BUCKET, f"templates/{DIGEST}.yaml"): BODY + b"# changed after upload\n"})
    with pytest.raises(
        InvalidTemplateLocation, match=f"its content's SHA-256 is [0-9a-f]{{64}}, not the key's {DIGEST}"
    ):
        _verify({"services": GOOD}, store)


def test_a_missing_object_or_an_oversized_one_is_refused() -> None:
    with pytest.raises(InvalidTemplateLocation, match="no such object"):
        _verify({"edge": GOOD}, Store({}))
    big = b"#" * (template_location.MAX_TEMPLATE_BYTES + 1)
    digest = hashlib.sha256(big).hexdigest()
    url = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/{digest}.yaml"
    with pytest.raises(InvalidTemplateLocation, match="over CloudFormation's 1048576 bytes"):
        _verify({"edge": url}, Store({(BUCKET, f"templates/{digest}.yaml"): big}))


def test_every_template_of_the_run_is_checked_and_the_bad_one_named() -> None:
    bad = GOOD.replace(BUCKET, "someone-elses-bucket")
    with pytest.raises(
        InvalidTemplateLocation, match=r"^stack services: template 'https://someone-elses-bucket"
    ):
        _verify({"network": GOOD, "data": GOOD, "services": bad, "edge": GOOD})


def test_no_bucket_configured_accepts_nothing() -> None:
    with pytest.raises(InvalidTemplateLocation, match="no artifact bucket"):
        template_location.verify_templates({"network": GOOD}, bucket="", region=REGION, store=Store({}))
