"""S3: bucket policies that deny plain-HTTP requests (the usual "HttpsOnly" statement) deny every
request, because moto evaluates bucket policies without their conditions."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _is_https_only(statement: dict[str, Any]) -> bool:
    """Deny ... Condition: {Bool: {aws:SecureTransport: "false"}} and nothing else."""
    condition = statement.get("Condition")
    if statement.get("Effect") != "Deny" or not isinstance(condition, dict) or list(condition) != ["Bool"]:
        return False
    test = condition["Bool"]
    return (
        isinstance(test, dict)
        and list(test) == ["aws:SecureTransport"]
        and str(test["aws:SecureTransport"]).lower() in {"false", "['false']"}
    )


def _https_only_statements(_: Hooks) -> Patches:
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    original = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        try:
            policy = json.loads(self.policy)
        except ValueError:
            return original(self, action, resource)
        statements = policy.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        kept = [s for s in statements if not _is_https_only(s)]
        if len(kept) == len(statements):
            return original(self, action, resource)
        saved = self.policy
        # Every request to moto stands for one over HTTPS (boto3's default): such a Deny never applies.
        self.policy = json.dumps({**policy, "Statement": kept}).encode()
        try:
            return original(self, action, resource)
        finally:
            self.policy = saved

    yield mock.patch.object(FakeBucket, "get_permission", get_permission)


GAPS = (
    Gap(
        "s3-https-only-policies",
        "bucket policies are evaluated without their conditions: a Deny of requests whose "
        "aws:SecureTransport is false (HTTPS-only buckets) denies every request",
        "moto/s3/models.py FakeBucket.get_permission; put_bucket_policy: 'Conditions are not taken into "
        "account'",
        ("s3",),
        _https_only_statements,
    ),
)
