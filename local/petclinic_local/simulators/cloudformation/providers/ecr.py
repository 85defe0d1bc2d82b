"""ECR: repositories with every property (moto's own handler keeps the name and the scan
setting only); their drift.
"""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, camel, flag
from petclinic_local.simulators.cloudformation.registry import Created, provider


def _live_ecr_repository(physical: str, region: str) -> dict[str, Any]:
    repository = aws("ecr", region).describe_repositories(repositoryNames=[physical])["repositories"][0]
    return {
        "ImageScanningConfiguration": {"ScanOnPush": repository["imageScanningConfiguration"]["scanOnPush"]}
    }


@provider("AWS::ECR::Repository", read=_live_ecr_repository)
class EcrRepository:
    """With its encryption, tag mutability, lifecycle policy and EmptyOnDelete (moto's own
    handler keeps the name and the scan setting only, and cannot delete a repository with images)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        client = aws("ecr", region)
        arguments: dict[str, Any] = {
            "repositoryName": props.get("RepositoryName") or logical_id.lower(),
            "imageTagMutability": props.get("ImageTagMutability", "MUTABLE"),
            "imageScanningConfiguration": {
                "scanOnPush": flag((props.get("ImageScanningConfiguration") or {}).get("ScanOnPush", False))
            },
        }
        if props.get("EncryptionConfiguration"):
            arguments["encryptionConfiguration"] = camel(props["EncryptionConfiguration"])
        if props.get("Tags"):
            arguments["tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in props["Tags"]]
        repository = client.create_repository(**arguments)["repository"]
        policy = (props.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if policy:
            client.put_lifecycle_policy(
                repositoryName=repository["repositoryName"], lifecyclePolicyText=policy
            )
        return Created(
            repository["repositoryName"],
            {"Arn": repository["repositoryArn"], "RepositoryUri": repository["repositoryUri"]},
        )

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        client = aws("ecr", region)
        scan = flag((props.get("ImageScanningConfiguration") or {}).get("ScanOnPush", False))
        scanning: dict[str, bool] = {"scanOnPush": scan}
        client.put_image_scanning_configuration(
            repositoryName=created.physical_id, imageScanningConfiguration=scanning
        )
        client.put_image_tag_mutability(
            repositoryName=created.physical_id, imageTagMutability=props.get("ImageTagMutability", "MUTABLE")
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ecr", region).delete_repository(
            repositoryName=created.physical_id, force=flag(props.get("EmptyOnDelete", False))
        )
