"""ECR: push times with millisecond precision, strictly increasing, so pushes within one second
can be ordered (deployments pick the newest image)."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _ecr_push_time(_: Hooks) -> Patches:
    from moto.ecr.models import Image  # noqa: PLC0415

    original = Image.__init__
    last = [0.0]
    lock = threading.Lock()

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # Millisecond precision, strictly increasing: a real push takes far longer than 1 ms.
        with lock:
            last[0] = max(round(time.time(), 3), round(last[0] + 0.001, 3))
            self.image_pushed_at = last[0]

    yield mock.patch.object(Image, "__init__", init)


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
