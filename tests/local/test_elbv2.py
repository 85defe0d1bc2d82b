"""moto_compat.elbv2: listener rules within ELB's quotas (5 condition values, 5 wildcards per rule,
100 rules per load balancer), so a rule AWS refuses is refused locally too; and every rule of
infra/services.yaml within them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto_gaps import client, local_aws

from petclinic_local.stack.template import load_template

SERVICES = Path(__file__).resolve().parents[2] / "infra" / "services.yaml"
SIX_VALUES = ["/a", "/b", "/c", "/d", "/e", "/f"]
TOO_MANY_VALUES = "A rule can only have '5' condition values (this one has 6)"
SIX_WILDCARDS = ["/owners/*/pets/*/visits", "/owners/*/pets/*/visits/*", "/pets/visits/*"]


def _listener() -> str:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"us-west-2{az}")["Subnet"][
            "SubnetId"
        ]
        for n, az in ((1, "a"), (2, "b"))
    ]
    elb = client("elbv2")
    balancer = elb.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    return str(
        elb.create_listener(
            LoadBalancerArn=balancer,
            Port=80,
            Protocol="HTTP",
            DefaultActions=[
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}},
            ],
        )["Listeners"][0]["ListenerArn"]
    )


def _rule(listener: str, priority: int, conditions: list[dict[str, Any]]) -> None:
    client("elbv2").create_rule(
        ListenerArn=listener,
        Priority=priority,
        Conditions=conditions,
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )


def _hosts(values: list[str]) -> dict[str, Any]:
    return {"Field": "host-header", "HostHeaderConfig": {"Values": values}}


def _paths(values: list[str]) -> list[dict[str, Any]]:
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": values}}]


def test_needed_elbv2_rule_quotas() -> None:
    """If this fails, moto fixed elbv2-rule-quotas: delete the workaround (a rule with 6
    wildcards or 6 condition values is refused)."""
    with local_aws(skip={"elbv2-rule-quotas"}):
        listener = _listener()
        _rule(listener, 1, _paths(SIX_WILDCARDS))
        _rule(listener, 2, _paths(SIX_VALUES))


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (_paths(SIX_WILDCARDS), "A rule can only have '5' wildcards (this one has 6)"),
        (_paths(SIX_VALUES), TOO_MANY_VALUES),
        (
            [*_paths(["/a", "/b", "/c"]), _hosts(["x", "y"])],
            None,
        ),
        (
            [*_paths(["/a", "/b", "/c"]), _hosts(["x", "y", "z"])],
            TOO_MANY_VALUES,
        ),
    ],
)
def test_closed_elbv2_rule_quotas_refuses_a_rule_over_them(
    conditions: list[dict[str, Any]], message: str | None
) -> None:
    with local_aws():
        listener = _listener()
        if message is None:  # 5 values over two conditions: within the quota
            _rule(listener, 1, conditions)
            return
        with pytest.raises(ClientError) as refused:
            _rule(listener, 1, conditions)
        rules = client("elbv2").describe_rules(ListenerArn=listener)["Rules"]
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == message
    assert [rule["Priority"] for rule in rules] == ["default"]  # nothing created


def test_closed_elbv2_rule_quotas_on_modify_and_at_the_limits() -> None:
    with local_aws():
        listener = _listener()
        _rule(listener, 1, _paths(["/owners/*/pets/*/visits", "/owners/*/pets/*/visits/*"]))  # 5: allowed
        rule = client("elbv2").describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
        with pytest.raises(ClientError, match="'5' wildcards"):
            client("elbv2").modify_rule(RuleArn=rule, Conditions=_paths(SIX_WILDCARDS))
        kept = client("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Conditions"]
    assert kept[0]["PathPatternConfig"]["Values"] == ["/owners/*/pets/*/visits", "/owners/*/pets/*/visits/*"]


def test_closed_elbv2_rule_quotas_rules_per_load_balancer() -> None:
    with local_aws():
        listener = _listener()
        for priority in range(1, 101):
            _rule(listener, priority, _paths([f"/p{priority}"]))
        with pytest.raises(ClientError) as refused:
            _rule(listener, 101, _paths(["/p101"]))
    assert refused.value.response["Error"]["Code"] == "TooManyRules"


def _as_resolved(value: Any) -> Any:
    """A rule's conditions as CloudFormation hands them to ELB: the origin header's dynamic
    reference as a value of the secret's shape (64 letters and digits), an Fn::If as its
    no-parameter branch (AdminAllowedCidr empty)."""
    if isinstance(value, list):
        return [_as_resolved(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and "{{resolve:secretsmanager:" in str(value):
            return "A1" * 32
        if set(value) == {"Fn::If"}:
            return _as_resolved(value["Fn::If"][2])
        return {key: _as_resolved(item) for key, item in value.items()}
    return value


def test_every_listener_rule_of_the_services_stack_is_within_the_quotas() -> None:
    """Each rule of infra/services.yaml, as the template writes it, is accepted by the local ELB
    (the visits-service rule once had 6 wildcards: AWS refused it, the local ELB now does too;
    the origin header's condition counts as one value more)."""
    rules = {
        name: resource["Properties"]
        for name, resource in load_template(SERVICES)["Resources"].items()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    }
    assert rules
    with local_aws():
        listener = _listener()
        for name, props in rules.items():
            try:
                _rule(listener, int(props["Priority"]), _as_resolved(props["Conditions"]))
            except ClientError as error:
                pytest.fail(f"{name}: {error.response['Error']['Message']}")
