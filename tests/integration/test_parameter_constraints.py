"""Counts, seconds and capacities given as template parameters are refused before anything is
created, naming the parameter: an operator's provision run with "2.5" tasks is rejected at plan
(the change set), not FAILED at the service; the control plane refuses a fractional timeout at
deploy, not in the middle of a scale run."""

from __future__ import annotations

import pytest

from petclinic_local import provisioning
from petclinic_local.cloud import LocalCloud
from petclinic_local.scaling import live_state


@pytest.mark.parametrize(
    ("stack", "parameter", "value"),
    [
        ("services", "CustomersDesiredCount", "2.5"),
        ("services", "VetsMaxTasks", "true"),
        ("data", "MinCapacity", "0.7"),
        ("data", "SecondsUntilAutoPause", "300.5"),
        ("edge", "RateLimitPer5Minutes", "150.5"),
    ],
)
def test_a_provision_run_with_a_bad_number_is_rejected_at_plan(
    cloud: LocalCloud, stack: str, parameter: str, value: str
) -> None:
    cfn = cloud.client("cloudformation")
    before = cfn.describe_stacks(StackName=f"petclinic-dev-{stack}")["Stacks"][0]
    services = live_state(cloud)
    report = provisioning.provision(
        cloud, {"environment": "dev", "stacks": [stack], "parameters": {stack: {parameter: value}}}
    )
    assert report["execution"]["status"] == "FAILED"
    cause = str(report["execution"]["cause"])
    assert f"Parameter '{parameter}' failed to satisfy constraint" in cause, report["execution"]
    after = cfn.describe_stacks(StackName=f"petclinic-dev-{stack}")["Stacks"][0]
    assert (after["StackStatus"], after["Parameters"]) == (before["StackStatus"], before["Parameters"])
    assert live_state(cloud) == services


def test_the_control_plane_refuses_a_fractional_scale_timeout_at_deploy() -> None:
    with (
        pytest.raises(Exception, match="Parameter 'ScaleTimeoutSeconds' failed to satisfy constraint"),
        LocalCloud(time_scale=0.01, parameters={"ScaleTimeoutSeconds": "60.5"}),
    ):
        pass
