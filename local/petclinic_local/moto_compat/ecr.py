"""ECR: push times with millisecond precision, strictly increasing per registry, so pushes
within one second can be ordered (deployments pick the newest image); a tag taken in an
IMMUTABLE repository refused as ECR refuses it; lifecycle policies evaluated as ECR evaluates
them (``lifecycle_expired``; the local cloud runs them with ``LocalCloud.expire_images``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches

# The last push time, kept on the backend so that moto's reset forgets it with everything else.
_LAST_PUSH = "_petclinic_last_push"
_lock = threading.Lock()


def _push_time(last: float) -> float:
    """Now on moto's clock (datetime.now, which freezegun and moto's time controls freeze), to
    the millisecond; a push in the same millisecond as the last one is 1 ms later, as real
    pushes, which take far longer than 1 ms, always are. A clock set back by more than a second
    (a test travelling in time) is followed as it is."""
    now = round(dt.datetime.now(dt.UTC).timestamp(), 3)
    if now < last - 1.0:
        return now
    return max(now, round(last + 0.001, 3))


def _ecr_push_time(_: Hooks) -> Patches:
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    original = ECRBackend.put_image

    def put_image(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        repository = self.repositories.get(repository_name)
        known = {id(image) for image in repository.images} if repository is not None else set()
        image = original(self, repository_name, *args, **kwargs)
        if id(image) in known:  # a new tag on an image already pushed: not a push
            return image
        with _lock:
            pushed_at = _push_time(getattr(self, _LAST_PUSH, 0.0))
            setattr(self, _LAST_PUSH, pushed_at)
        image.image_pushed_at = pushed_at
        return image

    yield mock.patch.object(ECRBackend, "put_image", put_image)


# ------------------------------------------------------------------ tags taken in IMMUTABLE repositories


def _immutable_tag_error(repository_name: str, registry_id: str, image_tag: str) -> Exception:
    """ECR's answer when an IMMUTABLE repository already has the tag on another image."""
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    error: Exception = JsonRESTError(
        "ImageTagAlreadyExistsException",
        f"The image tag '{image_tag}' already exists in the '{repository_name}' repository with registry "
        f"id '{registry_id}' and cannot be overwritten because the repository is immutable.",
    )
    return error


def _ecr_immutable_tag(_: Hooks) -> Patches:
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    original = ECRBackend.put_image

    def put_image(
        self: Any, repository_name: str, image_manifest: str, image_tag: str, *args: Any, **kwargs: Any
    ) -> Any:
        repository = self.repositories.get(repository_name)
        if (
            repository is not None
            and repository.is_tag_immutable()
            and not repository.image_tag_mutability_exclusion_filters
            and any(
                image_tag in image.image_tags and image.image_manifest != image_manifest
                for image in repository.images
            )
        ):
            raise _immutable_tag_error(repository_name, repository.registry_id, image_tag)
        return original(self, repository_name, image_manifest, image_tag, *args, **kwargs)

    yield mock.patch.object(ECRBackend, "put_image", put_image)


# ------------------------------------------------------------------ a tag moved in a MUTABLE repository


def _ecr_moved_tag(_: Hooks) -> Patches:
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    original = ECRBackend.put_image

    def put_image(
        self: Any, repository_name: str, image_manifest: str, image_tag: str, *args: Any, **kwargs: Any
    ) -> Any:
        repository = self.repositories.get(repository_name)
        if (
            repository is not None
            and image_tag is not None
            and not repository.is_tag_immutable()
            and not repository.image_tag_mutability_exclusion_filters
        ):
            for image in repository.images:
                if image_tag in image.image_tags and image.image_manifest != image_manifest:
                    image.remove_tag(image_tag)  # it stays, untagged if that was its last tag
                    if not image.image_tags:
                        image.image_tag = None
        return original(self, repository_name, image_manifest, image_tag, *args, **kwargs)

    yield mock.patch.object(ECRBackend, "put_image", put_image)


# ------------------------------------------------------------------ lifecycle policies

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class LifecycleImage:
    """What a lifecycle rule looks at: an image's digest, tags and push time (epoch seconds)."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float


def _pattern(pattern: str) -> re.Pattern[str]:
    """A tagPatternList entry: ``*`` matches any run of characters, everything else itself."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _matches_tags(selection: dict[str, Any], tags: tuple[str, ...]) -> bool:
    """Every prefix (pattern) of the list matches at least one of the image's tags."""
    if "tagPrefixList" in selection:
        return all(any(tag.startswith(prefix) for tag in tags) for prefix in selection["tagPrefixList"])
    if "tagPatternList" in selection:
        patterns = [_pattern(p) for p in selection["tagPatternList"]]
        return all(any(pattern.fullmatch(tag) for tag in tags) for pattern in patterns)
    raise ValueError("a rule with tagStatus tagged needs a tagPrefixList or a tagPatternList")


def _selects(selection: dict[str, Any], image: LifecycleImage) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "tagged":
        return bool(image.tags) and _matches_tags(selection, image.tags)
    if status == "any":
        return True
    raise ValueError(f"unknown tagStatus {status!r} (tagged, untagged or any)")


def _marked(selection: dict[str, Any], selected: list[LifecycleImage], now: float) -> list[LifecycleImage]:
    count_type, number = selection["countType"], int(selection["countNumber"])
    if count_type == "imageCountMoreThan":
        newest_first = sorted(selected, key=lambda image: image.pushed_at, reverse=True)
        return newest_first[number:]
    if count_type == "sinceImagePushed":
        if selection.get("countUnit") != "days":
            raise ValueError("sinceImagePushed counts in days (countUnit days)")
        return [image for image in selected if now - image.pushed_at > number * DAY_SECONDS]
    raise ValueError(
        f"countType {count_type!r} is not evaluated locally (imageCountMoreThan, sinceImagePushed)"
    )


def _check(rule: dict[str, Any]) -> None:
    """What ECR would refuse in PutLifecyclePolicy, or what is not evaluated here, as a ValueError."""
    selection = rule["selection"]
    where = f"rule {rule['rulePriority']}"
    if rule.get("action", {}).get("type") != "expire":
        raise ValueError(f"{where}: only the expire action is evaluated locally")
    if selection["tagStatus"] == "tagged" and not (
        "tagPrefixList" in selection or "tagPatternList" in selection
    ):
        raise ValueError(f"{where}: a rule with tagStatus tagged needs a tagPrefixList or a tagPatternList")
    if selection["countType"] not in ("imageCountMoreThan", "sinceImagePushed"):
        raise ValueError(
            f"{where}: countType {selection['countType']} is not evaluated locally "
            "(imageCountMoreThan, sinceImagePushed)"
        )


def lifecycle_expired(policy: dict[str, Any] | str, images: Sequence[LifecycleImage], now: float) -> set[str]:
    """Gap: the digests an ECR lifecycle policy expires at ``now`` (epoch seconds), by the
    evaluation rules of the Amazon ECR User Guide (lifecycle policies): rules in rulePriority
    order, lowest first; a rule selects images by tagStatus (untagged: no tag; tagged: every
    entry of its tagPrefixList, or tagPatternList with ``*`` wildcards, matches one of the
    image's tags; any: all images); imageCountMoreThan marks the selected images beyond the N
    most recently pushed (imagePushedAt), sinceImagePushed those pushed more than N days ago. An
    image that a rule's tag selection matches is never expired by a rule of lower priority (it
    still counts there, as ECR's rules identify it "as if it had not been expired"); an image is
    expired by one rule at most. Only the expire action is evaluated."""
    rules = json.loads(policy)["rules"] if isinstance(policy, str) else policy["rules"]
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in sorted(rules, key=lambda r: int(r["rulePriority"])):
        _check(rule)
        selection = rule["selection"]
        selected = [image for image in images if _selects(selection, image)]
        expired |= {
            image.digest for image in _marked(selection, selected, now) if image.digest not in claimed
        }
        claimed |= {image.digest for image in selected}
    return expired


def _pushed_at(image: Any) -> float:
    pushed = image.image_pushed_at
    return pushed.timestamp() if isinstance(pushed, dt.datetime) else float(pushed)


def expire_images(backend: Any, now: float | None = None) -> dict[str, list[str]]:
    """What ECR does within 24 hours of an image meeting a rule: every repository of this (moto)
    ECR backend that has a lifecycle policy loses the images the policy expires (the image, with
    all its tags). ``now`` defaults to moto's clock. Returns the digests deleted, per repository."""
    now = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    deleted: dict[str, list[str]] = {}
    for name, repository in backend.repositories.items():
        if not repository.lifecycle_policy:
            continue
        images = [
            LifecycleImage(image.image_digest, tuple(image.image_tags or ()), _pushed_at(image))
            for image in repository.images
        ]
        expired = lifecycle_expired(repository.lifecycle_policy, images, now)
        if expired:
            repository.images = [image for image in repository.images if image.image_digest not in expired]
            deleted[name] = sorted(expired)
    return deleted


def _ecr_lifecycle_policy(_: Hooks) -> Patches:
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    yield mock.patch.object(ECRBackend, "expire_images", expire_images, create=True)


GAPS = (
    Gap(
        "ecr-push-time",
        "ECR records imagePushedAt in whole seconds, so pushes within one second cannot be ordered "
        "(locally, pushes are also kept at least 1 ms apart, as real pushes are)",
        "moto/ecr/models.py Image.__init__",
        ("ecr",),
        _ecr_push_time,
    ),
    Gap(
        "ecr-moved-tag",
        "PutImage of a tag another image has, in a MUTABLE repository, deletes that image when "
        "the tag was its only one (ECR moves the tag and keeps the image, untagged): a digest a "
        "task definition pins vanished locally as soon as its tag was pushed again",
        "moto/ecr/models.py ECRBackend.put_image (batch_delete_image of the tag)",
        ("ecr",),
        _ecr_moved_tag,
        contradicts=("tests.test_ecr.test_ecr::test_put_multiple_images_with_same_tag",),
    ),
    Gap(
        "ecr-immutable-tag",
        "PutImage of a tag that an IMMUTABLE repository has on another image fails with "
        "ImageAlreadyExistsException (ECR: ImageTagAlreadyExistsException), so a caller cannot tell "
        "an image already tagged so (a success to an idempotent retag) from a tag taken by another",
        "moto/ecr/models.py ECRBackend._resolve_image_tag_mutability",
        ("ecr",),
        _ecr_immutable_tag,
        contradicts=("tests.test_ecr.test_ecr::test_ecr_image_tag_immutability",),
    ),
    Gap(
        "ecr-lifecycle-policy",
        "lifecycle policies are stored but never evaluated: no image ever expires, so a policy "
        "that would delete an image a task definition still runs goes unnoticed (locally, "
        "ECRBackend.expire_images evaluates them as ECR does; LocalCloud.expire_images runs it)",
        "moto/ecr/models.py ECRBackend.put_lifecycle_policy (stored only)",
        ("ecr",),
        _ecr_lifecycle_policy,
    ),
)
