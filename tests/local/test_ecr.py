"""moto_compat.ecr: millisecond push times, kept in the backend, on moto's clock; a tag taken in an
IMMUTABLE repository; lifecycle policies evaluated as ECR evaluates them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import freezegun
import pytest
from moto_gaps import (
    client,
    local_aws,
)

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.moto_compat.ecr import LifecycleImage, lifecycle_expired


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


# ------------------------------------------------------------------ tags taken in IMMUTABLE repositories


def _manifest(n: int) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 1,
                "digest": f"sha256:{n:064x}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": 1,
                    "digest": f"sha256:{n:064x}",
                }
            ],
        }
    )


def _retag_errors(mutability: str) -> tuple[str, str]:
    """The error codes of PutImage: the image's own tag again, then that tag for another image."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName="repo", imageTagMutability=mutability)
    ecr.put_image(repositoryName="repo", imageManifest=_manifest(1), imageTag="deployed-1")
    codes = []
    for manifest in (_manifest(1), _manifest(2)):
        try:
            ecr.put_image(repositoryName="repo", imageManifest=manifest, imageTag="deployed-1")
            codes.append("accepted")
        except ecr.exceptions.ClientError as error:
            codes.append(error.response["Error"]["Code"])
    return codes[0], codes[1]


def test_needed_ecr_immutable_tag() -> None:
    """If this fails, moto fixed ecr-immutable-tag: delete the workaround (an IMMUTABLE
    repository refuses a tag another image has with ImageTagAlreadyExistsException)."""
    with local_aws(skip={"ecr-immutable-tag"}):
        assert _retag_errors("IMMUTABLE") == ("ImageAlreadyExistsException", "ImageAlreadyExistsException")


def test_closed_ecr_immutable_tag() -> None:
    """The deploy workflow's ProtectImage tells an image already protected (ImageAlreadyExists: a
    success) from a tag on another image (ImageTagAlreadyExists)."""
    with local_aws():
        assert _retag_errors("IMMUTABLE") == ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException")
    with local_aws():  # MUTABLE: the tag moves, as ECR moves it
        assert _retag_errors("MUTABLE") == ("ImageAlreadyExistsException", "accepted")


# ------------------------------------------------------------------ lifecycle policies

DAY = 86_400.0


def _rule(priority: int, count_type: str, number: int, **selection: object) -> dict[str, object]:
    chosen: dict[str, object] = {"countType": count_type, "countNumber": number, **selection}
    if count_type == "sinceImagePushed":
        chosen["countUnit"] = "days"
    return {"rulePriority": priority, "selection": chosen, "action": {"type": "expire"}}


def _image(name: str, day: float, *tags: str) -> LifecycleImage:
    return LifecycleImage(name, tuple(tags), day * DAY)


def test_lifecycle_count_keeps_the_newest_pushed_of_the_selection() -> None:
    images = [_image(f"u{n}", n) for n in range(5)] + [_image("t", 0, "1.0.0")]
    policy = {"rules": [_rule(1, "imageCountMoreThan", 2, tagStatus="untagged")]}
    assert lifecycle_expired(policy, images, now=10 * DAY) == {"u0", "u1", "u2"}
    # The order is the push time, not the order listed.
    assert lifecycle_expired(policy, list(reversed(images)), now=10 * DAY) == {"u0", "u1", "u2"}


def test_lifecycle_age_counts_whole_days_since_the_push() -> None:
    images = [_image("old", 0, "a"), _image("edge", 3, "b"), _image("new", 5, "c")]
    policy = {"rules": [_rule(1, "sinceImagePushed", 7, tagStatus="any")]}
    assert lifecycle_expired(policy, images, now=10 * DAY) == {"old"}  # edge: exactly 7 days, kept
    assert lifecycle_expired(json.dumps(policy), images, now=10.5 * DAY) == {"old", "edge"}


def test_lifecycle_prefix_and_pattern_lists_need_every_entry_matched_by_some_tag() -> None:
    images = [
        _image("both", 0, "prod-1", "beta-1"),
        _image("prod", 1, "prod-2"),
        _image("none", 2, "dev"),
        _image("untagged", 3),
    ]
    prefixes = {
        "rules": [_rule(1, "sinceImagePushed", 1, tagStatus="tagged", tagPrefixList=["prod", "beta"])]
    }
    assert lifecycle_expired(prefixes, images, now=10 * DAY) == {"both"}
    one = {"rules": [_rule(1, "sinceImagePushed", 1, tagStatus="tagged", tagPrefixList=["prod"])]}
    assert lifecycle_expired(one, images, now=10 * DAY) == {"both", "prod"}
    patterns = {"rules": [_rule(1, "sinceImagePushed", 1, tagStatus="tagged", tagPatternList=["p*-*"])]}
    assert lifecycle_expired(patterns, images, now=10 * DAY) == {"both", "prod"}
    exact = {"rules": [_rule(1, "sinceImagePushed", 1, tagStatus="tagged", tagPatternList=["prod"])]}
    assert lifecycle_expired(exact, images, now=10 * DAY) == set()  # a pattern without * is the whole tag
    untagged = {"rules": [_rule(1, "sinceImagePushed", 1, tagStatus="untagged")]}
    assert lifecycle_expired(untagged, images, now=10 * DAY) == {"untagged"}


def test_lifecycle_an_image_a_higher_rule_selects_is_never_expired_by_a_lower_one() -> None:
    """The keep rule of infra/data.yaml: deployed-* images are rule 1's, which keeps them for
    3650 days; rules 2 and 3 count them but may not expire them."""
    keep = _rule(1, "sinceImagePushed", 3650, tagStatus="tagged", tagPrefixList=["deployed-"])
    untagged = _rule(2, "imageCountMoreThan", 1, tagStatus="untagged")
    anything = _rule(3, "imageCountMoreThan", 1, tagStatus="any")
    images = [
        _image("deployed", 0, "deployed-abc"),
        _image("untagged-old", 1),
        _image("untagged-new", 2),
        _image("tagged-old", 3, "1.0.0"),
        _image("tagged-new", 4, "1.1.0"),
    ]
    expired = lifecycle_expired({"rules": [anything, untagged, keep]}, images, now=100 * DAY)  # any order
    assert expired == {"untagged-old", "tagged-old"}
    # Without the keep rule, the oldest image goes (the untagged rule's ones stay the untagged rule's).
    assert lifecycle_expired({"rules": [untagged, anything]}, images, now=100 * DAY) == {
        "untagged-old",
        "tagged-old",
        "deployed",
    }
    # The keep rule's own expiry still applies to its images.
    assert "deployed" in lifecycle_expired({"rules": [keep]}, images, now=3651 * DAY)


def test_lifecycle_images_a_higher_rule_selects_still_count_in_a_lower_one() -> None:
    """Rules identify images a higher rule selected "as if they had not been expired": here the
    newest image is rule 1's, so rule 2 (any, keep 1) keeps no other."""
    images = [_image("a", 0, "x"), _image("b", 1, "y"), _image("c", 2, "keep")]
    policy = {
        "rules": [
            _rule(1, "imageCountMoreThan", 5, tagStatus="tagged", tagPrefixList=["keep"]),
            _rule(2, "imageCountMoreThan", 1, tagStatus="any"),
        ]
    }
    assert lifecycle_expired(policy, images, now=10 * DAY) == {"a", "b"}


def test_lifecycle_refuses_what_it_does_not_evaluate() -> None:
    images = [_image("a", 0)]
    for rule, message in [
        (_rule(1, "sinceImagePulled", 1, tagStatus="any"), "sinceImagePulled"),
        (_rule(1, "imageCountMoreThan", 1, tagStatus="tagged"), "tagPrefixList or a tagPatternList"),
        ({**_rule(1, "imageCountMoreThan", 1, tagStatus="any"), "action": {"type": "transition"}}, "expire"),
    ]:
        with pytest.raises(ValueError, match=message):
            lifecycle_expired({"rules": [rule]}, images, now=0)


def _policy_repository(ecr: Any) -> None:
    ecr.create_repository(repositoryName="repo")
    policy = {"rules": [_rule(1, "imageCountMoreThan", 1, tagStatus="untagged")]}
    ecr.put_lifecycle_policy(repositoryName="repo", lifecyclePolicyText=json.dumps(policy))
    for n in range(3):  # the tag moves: two untagged images, one too many
        ecr.put_image(repositoryName="repo", imageManifest=_manifest(n), imageTag="latest")


def test_needed_ecr_lifecycle_policy() -> None:
    """If this fails, moto fixed ecr-lifecycle-policy: delete the workaround (moto expires what
    a repository's lifecycle policy selects)."""
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    with local_aws(skip={"ecr-lifecycle-policy"}):
        ecr = client("ecr")
        _policy_repository(ecr)
        with freezegun.freeze_time(
            dt.datetime.now(dt.UTC) + dt.timedelta(days=2), ignore=["aws_lambda_powertools"]
        ):
            assert len(ecr.describe_images(repositoryName="repo")["imageDetails"]) == 3
        assert not [name for name in dir(ECRBackend) if "lifecycle" in name and "preview" in name]


def test_closed_ecr_lifecycle_policy() -> None:
    from moto.ecr.models import ecr_backends  # noqa: PLC0415

    with local_aws():
        ecr = client("ecr")
        _policy_repository(ecr)
        listed = ecr.describe_images(repositoryName="repo")["imageDetails"]
        untagged = sorted((i for i in listed if not i.get("imageTags")), key=lambda i: i["imagePushedAt"])
        deleted = ecr_backends[ACCOUNT][REGION].expire_images()
        assert deleted == {"repo": [untagged[0]["imageDigest"]]}
        left = ecr.describe_images(repositoryName="repo")["imageDetails"]
        assert {i["imageDigest"] for i in left} == {i["imageDigest"] for i in listed} - {
            untagged[0]["imageDigest"]
        }
        assert ecr_backends[ACCOUNT][REGION].expire_images() == {}


def _move_tag() -> list[tuple[str, list[str]]]:
    """Push 1.0.0, then another image as 1.0.0: the images left, oldest first (digest, tags)."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName="repo")
    for n in range(2):
        ecr.put_image(repositoryName="repo", imageManifest=_manifest(n), imageTag="1.0.0")
    images = sorted(
        ecr.describe_images(repositoryName="repo")["imageDetails"], key=lambda i: i["imagePushedAt"]
    )
    return [(i["imageDigest"], i.get("imageTags", [])) for i in images]


def test_needed_ecr_moved_tag() -> None:
    """If this fails, moto fixed ecr-moved-tag: delete the workaround (the image a moved tag
    leaves stays, untagged)."""
    with local_aws(skip={"ecr-moved-tag"}):
        assert [tags for _, tags in _move_tag()] == [["1.0.0"]]


def test_closed_ecr_moved_tag() -> None:
    """A deployment pins the digest: the image it runs stays when its tag is pushed again."""
    with local_aws():
        assert [tags for _, tags in _move_tag()] == [[], ["1.0.0"]]
        ecr = client("ecr")
        # An image with another tag keeps that one.
        ecr.put_image(repositoryName="repo", imageManifest=_manifest(1), imageTag="keep")
        ecr.put_image(repositoryName="repo", imageManifest=_manifest(2), imageTag="1.0.0")
        tags = sorted(
            sorted(i.get("imageTags", [])) for i in ecr.describe_images(repositoryName="repo")["imageDetails"]
        )
        assert tags == [[], ["1.0.0"], ["keep"]]
