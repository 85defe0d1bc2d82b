"""Elastic Load Balancing v2: moto's own CloudFormation creates the load balancer, its
listeners and target groups; the listener rules are created here, through ELB's API, with their
dynamic references to Secrets Manager resolved as CloudFormation resolves them (the origin
header's value); what the local cloud does not reproduce of them.
"""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, resolve_dynamic
from petclinic_local.simulators.cloudformation.registry import Created, known, provider

known(
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    partial=("created in ELB's API; serves no HTTP, no health checks"),
)


@provider(
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    partial=("created in ELB's API with its conditions and actions; no request is matched (no HTTP locally)"),
)
class ListenerRule:
    @staticmethod
    def _arguments(props: dict[str, Any], region: str) -> dict[str, Any]:
        props = resolve_dynamic(props, region)
        return {"Conditions": props.get("Conditions", []), "Actions": props["Actions"]}

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        [rule] = aws("elbv2", region).create_rule(
            ListenerArn=props["ListenerArn"],
            Priority=int(props["Priority"]),
            **ListenerRule._arguments(props, region),
        )["Rules"]
        return Created(rule["RuleArn"], {"RuleArn": rule["RuleArn"]})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        # ListenerArn is create-only: another listener is a replacement, planned as CloudFormation plans it.
        client = aws("elbv2", region)
        client.modify_rule(RuleArn=created.physical_id, **ListenerRule._arguments(props, region))
        if int(props["Priority"]) != int(previous.get("Priority", props["Priority"])):
            client.set_rule_priorities(
                RulePriorities=[{"RuleArn": created.physical_id, "Priority": int(props["Priority"])}]
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("elbv2", region).delete_rule(RuleArn=created.physical_id)
