"""S3: bucket policies (moto's CloudFormation skips the type)."""

from __future__ import annotations

import json
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import Created, provider


@provider("AWS::S3::BucketPolicy")
class BucketPolicy:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("s3", region).put_bucket_policy(
            Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"])
        )
        return Created(props["Bucket"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("s3", region).delete_bucket_policy(Bucket=props["Bucket"])
