"""petclinic_ops.domain.provision on fakes: the parameters of a stack, plans that change nothing,
no-change re-runs, what re-provisioning keeps, drift that is another workflow's own."""

from __future__ import annotations

import json

import pytest
from fakes import FakeLive, FakeStacks

from petclinic_ops.domain import provision
from petclinic_ops.errors import ChangeSetFailed, InvalidProvisionRequest, ProtectedChangeRefused, StackBusy

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
    "LifecycleHookFunctionArn": "",
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


def test_every_stack_is_tagged_with_its_environment() -> None:
    """Stack tags reach every resource that takes tags; the environment is the run's."""
    stacks, live = fakes()
    applied(stacks, live)
    applied(stacks, live, environment="prod", change_set_name="cs2")
    assert [g["tags"] for g in stacks.given] == [{"environment": "dev"}, {"environment": "prod"}]


def test_the_first_run_creates_then_the_same_run_changes_nothing() -> None:
    stacks, live = fakes()
    first = applied(stacks, live)
    assert (first.action, first.status) == ("EXECUTE", "NONE")
    assert first.parameters["EnvironmentName"] == "dev"
    assert first.parameters["CustomersDesiredCount"] == "2"
    stack_id = stacks.stacks["petclinic-dev-services"].stack_id
    initial = provision.initial_image(stack_id, "dev", "customers-service", "1.0.0")
    assert initial == "123456789012.dkr.ecr.us-west-2.amazonaws.com/petclinic/dev/customers-service:1.0.0"
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
    digest = "123456789012.dkr.ecr.us-west-2.amazonaws.com/petclinic/dev/customers-service@sha256:" + "a" * 64
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


def test_the_services_call_the_control_planes_lifecycle_hook() -> None:
    """The provision function's hook function is the services stack's LifecycleHookFunctionArn,
    wired like the rotation function: the operator cannot name another."""
    stacks, live = fakes()
    hook = "arn:aws:lambda:us-west-2:123456789012:function:petclinic-ops-dev-deployment-hook"
    plan = applied(stacks, live, deployment_hook_function_arn=hook)
    assert plan.parameters["LifecycleHookFunctionArn"] == hook
    unwired_stacks, unwired_live = fakes()
    assert applied(unwired_stacks, unwired_live).parameters["LifecycleHookFunctionArn"] == ""  # no hook


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


# --------------------------------------------------------------------------- what a re-run keeps

EDGE_URL = "https://bucket.s3.us-west-2.amazonaws.com/templates/edge-1.yaml"
EDGE_V2_URL = "https://bucket.s3.us-west-2.amazonaws.com/templates/edge-2.yaml"
EDGE_TEMPLATE = {"WebAcl": "AWS::WAFv2::WebACL", "GenAiMethod": "AWS::ApiGateway::Method"}
EDGE_DEFAULTS: dict[str, str | None] = {
    "EnvironmentName": "dev",
    "GenAiFunctionArn": "",
    "RateLimitPer5Minutes": "2000",
    "ApiToken": "",
}
LIVE_ALIAS = "arn:aws:lambda:us-west-2:123456789012:function:petclinic-genai-dev:live"


def edge_fakes() -> FakeStacks:
    v2_defaults = {**EDGE_DEFAULTS, "RateLimitPer5Minutes": "5000", "ThrottlingRateLimit": "200"}
    return FakeStacks(
        {EDGE_URL: EDGE_TEMPLATE, EDGE_V2_URL: EDGE_TEMPLATE},
        {EDGE_URL: EDGE_DEFAULTS, EDGE_V2_URL: v2_defaults},
        uses={
            "WebAcl": ("RateLimitPer5Minutes", "ThrottlingRateLimit"),
            "GenAiMethod": ("GenAiFunctionArn",),
        },
        no_echo=frozenset({"ApiToken"}),
    )


def edge(**changes: object) -> provision.PrepareRequest:
    return request(stack="edge", template_url=EDGE_URL, **changes)


def test_a_plain_rerun_keeps_every_value_an_operator_set_before() -> None:
    """The audit's case: an operator's earlier --parameter values survive a plain re-provision."""
    stacks, live = edge_fakes(), FakeLive()
    applied(stacks, live, stack="edge", template_url=EDGE_URL)
    set_by_operator = {"GenAiFunctionArn": LIVE_ALIAS, "RateLimitPer5Minutes": "3000", "ApiToken": "s3cret"}
    changed = applied(stacks, live, stack="edge", template_url=EDGE_URL, parameters=set_by_operator)
    assert changed.action == "EXECUTE"

    again = applied(stacks, live, stack="edge", template_url=EDGE_URL)
    assert again.action == "NO_CHANGE"
    assert again.parameter_changes == []
    kept = stacks.stacks["petclinic-dev-edge"].parameters
    assert {k: kept[k] for k in set_by_operator} == set_by_operator
    # Passed as UsePreviousValue, not as values read back: DescribeStacks shows ApiToken as ****.
    assert stacks.given[-1]["previous"] == ["ApiToken", "GenAiFunctionArn", "RateLimitPer5Minutes"]
    assert "ApiToken" not in stacks.given[-1]["parameters"]


def test_a_template_default_applies_only_to_a_parameter_the_stack_does_not_have_yet() -> None:
    stacks, live = edge_fakes(), FakeLive()
    applied(stacks, live, stack="edge", template_url=EDGE_URL)
    # The new template raises RateLimitPer5Minutes' default and adds ThrottlingRateLimit.
    plan = applied(stacks, live, stack="edge", template_url=EDGE_V2_URL)
    kept = stacks.stacks["petclinic-dev-edge"].parameters
    assert kept["RateLimitPer5Minutes"] == "2000"  # the stack's, not the new default
    assert kept["ThrottlingRateLimit"] == "200"  # new: the template's default
    assert [c.to_output() for c in plan.parameter_changes] == [
        {"name": "ThrottlingRateLimit", "before": None, "after": "200", "source": "template default"}
    ]


def test_the_plan_shows_each_parameter_change_and_masks_no_echo_values() -> None:
    stacks, live = edge_fakes(), FakeLive()
    applied(stacks, live, stack="edge", template_url=EDGE_URL)
    plan = provision.prepare(
        edge(parameters={"RateLimitPer5Minutes": "3000", "ApiToken": "s3cret"}, plan=True),
        stacks=stacks,
        live=live,
    )
    output = plan.to_output()
    assert output["parameterChanges"] == [
        {"name": "ApiToken", "before": "****", "after": "****", "source": "operator", "noEcho": True},
        {"name": "RateLimitPer5Minutes", "before": "2000", "after": "3000", "source": "operator"},
    ]
    assert output["parameters"]["ApiToken"] == "****"
    assert "s3cret" not in json.dumps(output)
    assert [(c["logicalId"], c["causes"]) for c in output["changes"]] == [
        ("WebAcl", ["parameter RateLimitPer5Minutes"])
    ]


def test_a_change_set_of_parameter_changes_only_says_so() -> None:
    stacks, live = edge_fakes(), FakeLive()
    applied(stacks, live, stack="edge", template_url=EDGE_URL)
    plan = applied(
        stacks, live, stack="edge", template_url=EDGE_URL, parameters={"RateLimitPer5Minutes": "3000"}
    )
    assert (plan.action, plan.parameters_only) == ("EXECUTE", True)
    assert plan.reason == "only parameters change: RateLimitPer5Minutes '2000' -> '3000' (operator)"
    # A new template is not "parameters only", even with parameter changes in it.
    stacks.templates[EDGE_V2_URL] = {**EDGE_TEMPLATE, "Extra": "AWS::SSM::Parameter"}
    mixed = applied(stacks, live, stack="edge", template_url=EDGE_V2_URL)
    assert mixed.parameter_changes
    assert not mixed.parameters_only


def test_a_parameter_no_resource_uses_changes_nothing_and_the_plan_says_why() -> None:
    stacks, live = edge_fakes(), FakeLive()
    applied(stacks, live, stack="edge", template_url=EDGE_URL)
    plan = applied(stacks, live, stack="edge", template_url=EDGE_URL, parameters={"ApiToken": "x"})
    assert plan.action == "NO_CHANGE"
    assert "(ApiToken) change no resource" in plan.reason


def test_an_owned_value_the_live_state_cannot_give_keeps_the_stacks() -> None:
    stacks, live = fakes()
    applied(stacks, live, parameters={"CustomersDesiredCount": "4"})
    # The service is not running (no live state): the stack's 4 stays, not the default 2.
    plan = applied(stacks, live)
    assert plan.action == "NO_CHANGE"
    assert stacks.stacks["petclinic-dev-services"].parameters["CustomersDesiredCount"] == "4"
    live.running["customers-service"] = {"image": "", "desiredCount": 6}
    owned = applied(stacks, live)
    assert [c.to_output() for c in owned.parameter_changes] == [
        {"name": "CustomersDesiredCount", "before": "4", "after": "6", "source": "owned by scale"}
    ]


# --------------------------------------------------------------------------- protected resources

DATA_URL = "https://bucket.s3.us-west-2.amazonaws.com/templates/data-1.yaml"
DATA_TEMPLATE = {
    "DataKey": "AWS::KMS::Key",
    "AuroraCluster": "AWS::RDS::DBCluster",
    "AuditLogGroup": "AWS::Logs::LogGroup",
    "Endpoint": "AWS::SSM::Parameter",
}
DATA_DEFAULTS: dict[str, str | None] = {
    "EnvironmentName": "dev",
    "DeletionProtection": "false",
    "AuditLogName": "audit",
    "BackupRetentionDays": "7",
}


def data_fakes(environment: str = "prod") -> tuple[FakeStacks, FakeLive]:
    stacks = FakeStacks(
        {DATA_URL: DATA_TEMPLATE},
        {DATA_URL: DATA_DEFAULTS},
        uses={
            "AuroraCluster": ("DeletionProtection", "BackupRetentionDays", "EnvironmentName"),
            "AuditLogGroup": ("AuditLogName",),
            "Endpoint": ("EnvironmentName",),
            "DataKey": (),
        },
        replaces={"AuditLogGroup": ("AuditLogName",)},
    )
    live = FakeLive()
    applied(stacks, live, environment=environment, stack="data", template_url=DATA_URL)
    return stacks, live


def data(**changes: object) -> provision.PrepareRequest:
    values: dict[str, object] = {"environment": "prod", "stack": "data", "template_url": DATA_URL}
    return request(**{**values, **changes})


def test_prod_refuses_to_replace_a_protected_resource_unless_forced_and_changes_nothing() -> None:
    stacks, live = data_fakes()
    before = dict(stacks.stacks["petclinic-prod-data"].parameters)
    with pytest.raises(ProtectedChangeRefused) as refused:
        provision.prepare(data(parameters={"AuditLogName": "audit-v2"}), stacks=stacks, live=live)
    assert "replace AuditLogGroup (a log group, AWS::Logs::LogGroup)" in str(refused.value)
    assert "force" in str(refused.value)
    assert stacks.change_sets == {}  # the change set is gone: nothing can execute it
    assert stacks.stacks["petclinic-prod-data"].parameters == before

    planned = provision.prepare(
        data(parameters={"AuditLogName": "audit-v2"}, plan=True), stacks=stacks, live=live
    )
    assert planned.action == "PLANNED"
    assert [p.to_output() for p in planned.protected] == [
        {"logicalId": "AuditLogGroup", "type": "AWS::Logs::LogGroup", "change": "replace"}
    ]
    assert "would be refused in prod without force" in planned.reason

    forced = provision.prepare(
        data(parameters={"AuditLogName": "audit-v2"}, force=True), stacks=stacks, live=live
    )
    assert forced.action == "EXECUTE"
    assert "protected changes forced" in forced.reason


def test_dev_flags_a_protected_change_and_goes_on() -> None:
    stacks, live = data_fakes("dev")
    plan = provision.prepare(
        data(environment="dev", parameters={"AuditLogName": "audit-v2"}), stacks=stacks, live=live
    )
    assert plan.action == "EXECUTE"
    assert [p.logical_id for p in plan.protected] == ["AuditLogGroup"]
    assert "flagged (dev: allowed)" in plan.reason


def test_prod_refuses_to_turn_deletion_protection_off_or_to_delete_aurora() -> None:
    stacks, live = data_fakes()
    on = applied(stacks, live, **vars(data(parameters={"DeletionProtection": "true"})))
    assert (on.action, on.protected) == ("EXECUTE", [])  # turning it on is fine
    with pytest.raises(ProtectedChangeRefused, match="turn DeletionProtection off"):
        provision.prepare(data(parameters={"DeletionProtection": "false"}), stacks=stacks, live=live)
    without_aurora = DATA_URL.replace("data-1", "data-2")
    stacks.templates[without_aurora] = {k: v for k, v in DATA_TEMPLATE.items() if k != "AuroraCluster"}
    stacks.defaults[without_aurora] = DATA_DEFAULTS
    with pytest.raises(ProtectedChangeRefused, match=r"delete AuroraCluster \(the Aurora cluster"):
        provision.prepare(data(template_url=without_aurora), stacks=stacks, live=live)


def test_the_data_stack_carries_a_policy_and_a_forced_run_overrides_it_for_the_shown_resources() -> None:
    stacks, live = data_fakes()
    plan = provision.prepare(data(parameters={"BackupRetentionDays": "10"}), stacks=stacks, live=live)
    protecting = plan.stack_policy
    assert protecting is not None
    statements = json.loads(protecting)["Statement"]
    assert statements[1]["Action"] == ["Update:Replace", "Update:Delete"]
    assert "AWS::RDS::DBCluster" in statements[1]["Condition"]["StringEquals"]["ResourceType"]
    assert (plan.set_policy, plan.override_policy) == (True, None)  # not in place yet: set it
    stacks.execute(str(plan.change_set_id))
    stacks.policies["petclinic-prod-data"] = protecting

    forced = provision.prepare(data(parameters={"AuditLogName": "v2"}, force=True), stacks=stacks, live=live)
    assert forced.set_policy is False
    assert forced.override_policy is not None
    deny = json.loads(forced.override_policy)["Statement"][1]
    assert deny["NotResource"] == ["LogicalResourceId/AuditLogGroup"]  # only what the plan showed
    assert (
        provision.prepare(
            request(plan=True),
            stacks=FakeStacks({URL: SERVICES_TEMPLATE}, {URL: SERVICES_DEFAULTS}),
            live=live,
        ).stack_policy
        is None
    )
