"""The control plane's artifact bucket, read for the template check (domain.template_location);
boto3 imported on first use."""

from __future__ import annotations

from functools import cached_property
from typing import Any


class S3Templates:
    def __init__(self, *, client: Any = None) -> None:
        self._injected = client

    @cached_property
    def client(self) -> Any:
        if self._injected is not None:
            return self._injected
        import boto3  # noqa: PLC0415 - lazy: only the invocations that check templates pay for it
        from botocore.config import Config  # noqa: PLC0415

        config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 5})
        return boto3.client("s3", config=config)

    def read(self, bucket: str, key: str, *, limit: int) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        body = response["Body"]
        try:
            return bytes(body.read(limit + 1))
        finally:
            body.close()
