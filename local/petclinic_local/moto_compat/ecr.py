"""ECR: push times with millisecond precision, strictly increasing per registry, so pushes
within one second can be ordered (deployments pick the newest image)."""

from __future__ import annotations

import datetime as dt
import threading
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


GAPS = (
    Gap(
        "ecr-push-time",
        "ECR records imagePushedAt in whole seconds, so pushes within one second cannot be ordered "
        "(locally, pushes are also kept at least 1 ms apart, as real pushes are)",
        "moto/ecr/models.py Image.__init__",
        ("ecr",),
        _ecr_push_time,
    ),
)
