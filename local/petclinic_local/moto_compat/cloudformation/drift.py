"""Drift detection (moto has none): DetectStackDrift, DescribeStackDriftDetectionStatus and
DescribeStackResourceDrifts, reading the live values through ``simulators.cloudformation.drift``.
"""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _drift_detection(hooks: Hooks) -> Patches:
    """DetectStackDrift, DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts (moto
    has none of them): each resource's template properties against the live values, for the
    types ``simulators.cloudformation.DRIFT_READERS`` can read (others NOT_CHECKED)."""
    import uuid  # noqa: PLC0415

    from moto.cloudformation.parsing import clean_json  # noqa: PLC0415
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.core.utils import utcnow  # noqa: PLC0415

    from petclinic_local.simulators.cloudformation.drift import resource_drift  # noqa: PLC0415

    detections: dict[str, dict[str, Any]] = {}

    def detect_stack_drift(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        drifts = []
        resource_map = stack.resource_map
        for logical_id, resource_json in resource_map._resource_json_map.items():
            model = resource_map._parsed_resources.get(logical_id)
            if model is None or not hasattr(model, "physical_resource_id"):
                continue
            expected = clean_json(copy.deepcopy(resource_json.get("Properties", {})), resource_map)
            kind = resource_json["Type"]
            status, differences = resource_drift(
                kind, str(model.physical_resource_id), expected, stack.region_name
            )
            drifts.append(
                {
                    "StackId": stack.stack_id,
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": str(model.physical_resource_id),
                    "ResourceType": kind,
                    "StackResourceDriftStatus": status,
                    "PropertyDifferences": differences,
                    "Timestamp": utcnow(),
                }
            )
        detection = str(uuid.uuid4())
        drifted = sum(1 for d in drifts if d["StackResourceDriftStatus"] in {"MODIFIED", "DELETED"})
        detections[detection] = {"stack": stack.stack_id, "drifts": drifts, "drifted": drifted}
        stack.drifts = drifts
        return ActionResult({"StackDriftDetectionId": detection})

    def describe_stack_drift_detection_status(self: Any) -> Any:
        detection = detections[self._get_param("StackDriftDetectionId")]
        return ActionResult(
            {
                "StackId": detection["stack"],
                "StackDriftDetectionId": self._get_param("StackDriftDetectionId"),
                "StackDriftStatus": "DRIFTED" if detection["drifted"] else "IN_SYNC",
                "DetectionStatus": "DETECTION_COMPLETE",
                "DriftedStackResourceCount": detection["drifted"],
                "Timestamp": utcnow(),
            }
        )

    def describe_stack_resource_drifts(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        wanted = set(self._get_param("StackResourceDriftStatusFilters", []) or [])
        drifts = [
            d for d in getattr(stack, "drifts", []) if not wanted or d["StackResourceDriftStatus"] in wanted
        ]
        return ActionResult({"StackResourceDrifts": drifts})

    for name, method in (
        ("detect_stack_drift", detect_stack_drift),
        ("describe_stack_drift_detection_status", describe_stack_drift_detection_status),
        ("describe_stack_resource_drifts", describe_stack_resource_drifts),
    ):
        yield mock.patch.object(CloudFormationResponse, name, method, create=True)


GAPS = (
    Gap(
        "cloudformation-drift-detection",
        "no drift detection: DetectStackDrift, DescribeStackDriftDetectionStatus and "
        "DescribeStackResourceDrifts are not implemented",
        "moto/cloudformation/responses.py (no such actions)",
        ("cloudformation",),
        _drift_detection,
    ),
)
