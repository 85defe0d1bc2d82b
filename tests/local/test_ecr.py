"""moto_compat.ecr: millisecond push times, kept in the backend, on moto's clock."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import freezegun
from moto_gaps import (
    client,
    local_aws,
)


def _push_images(count: int) -> list[dt.datetime]:
    ecr = client("ecr")
    ecr.create_repository(repositoryName="repo")
    for n in range(count):
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": f"sha256:{n:064d}",
            },
            "layers": [],
        }
        ecr.put_image(repositoryName="repo", imageManifest=json.dumps(manifest), imageTag=f"v{n}")
    images = ecr.describe_images(repositoryName="repo")["imageDetails"]
    by_tag = {image["imageTags"][0]: image["imagePushedAt"] for image in images}
    return [by_tag[f"v{n}"] for n in range(count)]


def test_needed_ecr_push_time() -> None:
    """If this fails, moto fixed ecr-push-time: delete the workaround (imagePushedAt has
    sub-second precision)."""
    with local_aws(skip={"ecr-push-time"}):
        pushed = _push_images(4)
    assert all(at.microsecond == 0 for at in pushed)


def test_closed_ecr_push_time() -> None:
    with local_aws():
        pushed = _push_images(4)
    assert all(at.microsecond % 1000 == 0 for at in pushed)  # milliseconds
    assert all(earlier < later for earlier, later in itertools.pairwise(pushed))


def test_closed_ecr_push_time_follows_moto_clock_and_reset() -> None:
    """The last push time lives in the backend: after moto's reset, a clock frozen in the past
    (freezegun, as moto's own tests freeze it) gives that time, to the millisecond; two pushes
    in the same frozen millisecond are still 1 ms apart."""
    with local_aws():
        _push_images(1)  # a push now, before the reset
    frozen = dt.datetime(2018, 8, 28, 1, 2, 3, 456000, tzinfo=dt.UTC)
    # Powertools' parser models import lazily on attribute access, which freezegun's scan of the
    # loaded modules would do with its fake datetime in place (pydantic then fails).
    with local_aws(), freezegun.freeze_time(frozen, ignore=["aws_lambda_powertools"]):
        first, second = _push_images(2)
    assert first == frozen
    assert second == frozen + dt.timedelta(milliseconds=1)
