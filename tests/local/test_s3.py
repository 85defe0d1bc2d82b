"""moto_compat.s3: HTTPS-only bucket policies do not deny every request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto_gaps import client, local_aws

HTTPS_ONLY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "HttpsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def _bucket(policy: dict[str, Any]) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_policy(Bucket="bkt", Policy=json.dumps(policy))


def test_needed_s3_https_only_policies() -> None:
    """If this fails, moto fixed s3-https-only-policies: delete the workaround (a Deny for
    aws:SecureTransport false no longer denies requests made over HTTPS)."""
    with local_aws(skip={"s3-https-only-policies"}):
        _bucket(HTTPS_ONLY)
        with pytest.raises(client("s3").exceptions.ClientError, match="403"):
            client("s3").put_object(Bucket="bkt", Key="k", Body=b"x")


def test_closed_s3_https_only_policies() -> None:
    with local_aws():
        _bucket(HTTPS_ONLY)
        client("s3").put_object(Bucket="bkt", Key="k", Body=b"x")
        assert client("s3").get_object(Bucket="bkt", Key="k")["Body"].read() == b"x"


def test_closed_s3_other_denials_still_apply() -> None:
    statement = {key: value for key, value in HTTPS_ONLY["Statement"][0].items() if key != "Condition"}
    unconditional = {"Version": "2012-10-17", "Statement": [statement]}
    with local_aws():
        _bucket(unconditional)
        with pytest.raises(client("s3").exceptions.ClientError, match="403"):
            client("s3").put_object(Bucket="bkt", Key="k", Body=b"x")
