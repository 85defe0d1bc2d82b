"""petclinic_ops.domain.provision on fakes: the parameters of a stack, plans that change nothing,
no-change re-runs, what re-provisioning keeps, drift that is another workflow's own."""

from __future__ import annotations

import pytest
from fakes import FakeLive, FakeStacks

from petclinic_ops.domain import provision
from petclinic_ops.errors import ChangeSetFailed, InvalidProvisionRequest, StackBusy

URL = "https://bucket.s3.us-west-2.amazonaws.com/templates/services.yaml"
SERVICES_TEMPLATE = {"Cluster": "AWS::ECS::Cluster", "CustomersService": "AWS::ECS::Service"}
SERVICES_DEFAULTS: dict[str, str | None] = {
    "EnvironmentName": "dev",
    "InitialImageTag": "1.0.0",
    "CustomersImage": "",
    "CustomersDesiredCount": "2",
    "CustomersMinTasks": "2",
    "CustomersMaxTasks": "6",
    "TargetCpuUtilization": "60",
}


def fakes() -> tuple[FakeStacks, FakeLive]:
    return FakeStacks({URL: SERVICES_TEMPLATE}, {URL: SERVICES_DEFAULTS}), FakeLive()


def request(**changes: object) -> provision.PrepareRequest:
    values: dict[str, object] = {
        "environment": "dev",
        "stack": "services",
        "template_url": URL,
        "parameters": {},
        "plan": False,
        "change_set_name": "cs1",
    }
    values.update(changes)
    return provision.PrepareRequest(**values)  # type: ignore[arg-type]


def applied(stacks: FakeStacks, live: FakeLive, **changes: object) -> provision.StackPlan:
    plan = provision.prepare(request(**changes), stacks=stacks, live=live)
    if plan.action == "EXECUTE":
        assert plan.change_set_id is not None
        stacks.execute(plan.change_set_id)
    return plan


def test_stacks_go_in_dependency_order_and_teardown_in_reverse() -> None:
    assert provision.ordered(None) == ["network", "data", "services", "edge"]
    assert provision.ordered(["edge", "network"]) == ["network", "edge"]
    assert provision.ordered(["data", "edge"], reverse=True) == ["edge", "data"]
    with pytest.raises(InvalidProvisionRequest, match=r"unknown stacks \['cdn'\]"):
        provision.ordered(["cdn"])


def test_a_plan_of_a_new_stack_lists_every_resource_and_leaves_nothing_behind() -> None:
    stacks, live = fakes()
    plan = provision.prepare(request(plan=True), stacks=stacks, live=live)
    assert plan.action == "PLANNED"
    assert plan.to_output()["added"] == 2
    assert stacks.stacks == {}
    assert stacks.change_sets == {}
    assert stacks.deleted_review_stacks == ["petclinic-dev-services"]


def test_the_first_run_creates_then_the_same_run_changes_nothing() -> None:
    stacks, live = fakes()
    first = applied(stacks, live)
    assert (first.action, first.status) == ("EXECUTE", "NONE")
    assert first.parameters["EnvironmentName"] == "dev"
    assert first.parameters["CustomersDesiredCount"] == "2"
    stack_id = stacks.stacks["petclinic-dev-services"].stack_id
    initial = provision.initial_image(stack_id, "customers-service", "1.0.0")
    live.running["customers-service"] = {
        "image": initial,
        "desiredCount": 2,
        "minCapacity": 2,
        "maxCapacity": 6,
    }
    again = applied(stacks, live)
    assert again.action == "NO_CHANGE"
    assert stacks.change_sets == {}  # the empty change set was deleted
    assert again.parameters["CustomersImage"] == ""  # the initial image, in the stack's own form


def test_rerunning_passes_what_the_deploy_and_scale_workflows_set() -> None:
    stacks, live = fakes()
    applied(stacks, live)
    digest = "123456789012.dkr.ecr.us-west-2.amazonaws.com/petclinic/customers-service@sha256:" + "a" * 64
    live.running["customers-service"] = {
        "image": digest,
        "desiredCount": 5,
        "minCapacity": 3,
        "maxCapacity": 9,
    }
    plan = applied(stacks, live, parameters={"TargetCpuUtilization": "70"})
    assert plan.action == "EXECUTE"
    assert {
        k: plan.parameters[k]
        for k in ("CustomersImage", "CustomersDesiredCount", "CustomersMinTasks", "CustomersMaxTasks")
    } == {
        "CustomersImage": digest,
        "CustomersDesiredCount": "5",
        "CustomersMinTasks": "3",
        "CustomersMaxTasks": "9",
    }
    assert plan.parameters["TargetCpuUtilization"] == "70"


def test_the_operator_says_last() -> None:
    stacks, live = fakes()
    applied(stacks, live)
    live.running["customers-service"] = {"image": "x", "desiredCount": 5}
    plan = provision.prepare(
        request(parameters={"CustomersDesiredCount": "3"}, plan=True), stacks=stacks, live=live
    )
    assert plan.parameters["CustomersDesiredCount"] == "3"
    assert plan.action == "PLANNED"
    assert stacks.change_sets == {}


def test_aurora_capacity_is_the_scale_workflows() -> None:
    live = FakeLive(capacity=(1.0, 8.5, None))
    assert provision.owned_parameters("data", "dev", live) == {"MinCapacity": "1", "MaxCapacity": "8.5"}
    # dev's night: paused after 15 minutes; re-provisioning keeps it (not CloudFormation's 300 s).
    night = FakeLive(capacity=(0.0, 4.0, 900))
    assert provision.owned_parameters("data", "dev", night) == {
        "MinCapacity": "0",
        "MaxCapacity": "4",
        "SecondsUntilAutoPause": "900",
    }
    assert provision.owned_parameters("network", "dev", live) == {}


def test_unknown_parameters_are_refused_before_any_change_set() -> None:
    stacks, live = fakes()
    with pytest.raises(InvalidProvisionRequest, match=r"unknown parameters \['Nope'\]"):
        provision.prepare(request(parameters={"Nope": "1"}), stacks=stacks, live=live)
    assert stacks.stacks == {}
    assert stacks.change_sets == {}


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"])
def test_a_stack_no_change_set_can_fix_is_reported(status: str) -> None:
    stacks, live = fakes()
    applied(stacks, live)
    stacks.stacks["petclinic-dev-services"].status = status
    with pytest.raises(StackBusy, match=status):
        provision.prepare(request(), stacks=stacks, live=live)


def test_a_change_set_cloudformation_refuses_names_its_reason() -> None:
    stacks, live = fakes()
    stacks.fail_change_set = "Template format error: Unresolved resource dependencies [Nope]"
    with pytest.raises(ChangeSetFailed, match="Unresolved resource dependencies"):
        provision.prepare(request(), stacks=stacks, live=live)


def test_a_plan_whose_imports_do_not_exist_yet_lists_the_template() -> None:
    stacks, live = fakes()
    stacks.fail_change_set = "No export named petclinic-dev-network-VpcId found"
    plan = provision.prepare(request(plan=True), stacks=stacks, live=live)
    assert plan.action == "UNPLANNABLE"
    assert "not provisioned yet" in plan.reason
    assert {c.logical_id for c in plan.changes} == set(SERVICES_TEMPLATE)
    with pytest.raises(ChangeSetFailed):  # not a plan: a failure
        provision.prepare(request(), stacks=stacks, live=live)


def test_drift_in_what_other_workflows_own_is_theirs() -> None:
    stacks, live = fakes()
    applied(stacks, live)
    stacks.drifts["petclinic-dev-services"] = [
        {
            "LogicalResourceId": "CustomersService",
            "ResourceType": "AWS::ECS::Service",
            "StackResourceDriftStatus": "MODIFIED",
            "PropertyDifferences": [
                {
                    "PropertyPath": "/DesiredCount",
                    "ExpectedValue": "2",
                    "ActualValue": "5",
                    "DifferenceType": "NOT_EQUAL",
                },
            ],
        },
        {
            "LogicalResourceId": "Cluster",
            "ResourceType": "AWS::ECS::Cluster",
            "StackResourceDriftStatus": "DELETED",
            "PropertyDifferences": [],
        },
    ]
    checked = provision.check_drift("dev", "services", stacks=stacks)
    assert checked.drift is not None
    assert checked.drift["status"] == "DRIFTED"
    assert [d["logicalId"] for d in checked.drift["drifted"]] == ["Cluster"]
    assert checked.drift["owned"][0]["properties"][0]["ownedBy"] == "scale"
    assert provision.check_drift("dev", "edge", stacks=stacks).drift == {
        "status": "NOT_CHECKED",
        "drifted": [],
        "owned": [],
    }
