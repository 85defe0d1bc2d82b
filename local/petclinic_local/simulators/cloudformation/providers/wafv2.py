"""WAFv2: the web ACL, its association and its logging configuration (moto's CloudFormation
skips all three).
"""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import Created, provider


@provider(
    "AWS::WAFv2::WebACL",
    partial=("created in WAFv2's API with its rules; no request is filtered (no HTTP locally)"),
)
class WebACL:
    @staticmethod
    def _rules(props: dict[str, Any]) -> list[dict[str, Any]]:
        rules = []
        for given in props.get("Rules", []):
            rule = {**given, "Priority": int(given["Priority"])}
            rate = rule.get("Statement", {}).get("RateBasedStatement")
            if rate:
                rule["Statement"] = {"RateBasedStatement": {**rate, "Limit": int(rate["Limit"])}}
            rules.append(rule)
        return rules

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        summary = aws("wafv2", region).create_web_acl(
            Name=props["Name"],
            Scope=props["Scope"],
            DefaultAction=props["DefaultAction"],
            Description=props.get("Description", ""),
            Rules=WebACL._rules(props),
            VisibilityConfig=props["VisibilityConfig"],
        )["Summary"]
        return Created(
            f"{summary['Name']}|{summary['Id']}|{props['Scope']}",
            {"Arn": summary["ARN"], "Id": summary["Id"]},
        )

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        client = aws("wafv2", region)
        name, acl_id, scope = created.physical_id.split("|")
        token = client.get_web_acl(Name=name, Scope=scope, Id=acl_id)["LockToken"]
        client.update_web_acl(
            Name=name,
            Scope=scope,
            Id=acl_id,
            DefaultAction=props["DefaultAction"],
            Description=props.get("Description", ""),
            Rules=WebACL._rules(props),
            VisibilityConfig=props["VisibilityConfig"],
            LockToken=token,
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        client = aws("wafv2", region)
        name, acl_id, scope = created.physical_id.split("|")
        token = client.get_web_acl(Name=name, Scope=scope, Id=acl_id)["LockToken"]
        client.delete_web_acl(Name=name, Scope=scope, Id=acl_id, LockToken=token)


@provider("AWS::WAFv2::WebACLAssociation")
class WebACLAssociation:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("wafv2", region).associate_web_acl(WebACLArn=props["WebACLArn"], ResourceArn=props["ResourceArn"])
        return Created(f"{props['WebACLArn']}|{props['ResourceArn']}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("wafv2", region).disassociate_web_acl(ResourceArn=props["ResourceArn"])


@provider("AWS::WAFv2::LoggingConfiguration")
class WafLoggingConfiguration:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("wafv2", region).put_logging_configuration(
            LoggingConfiguration={
                "ResourceArn": props["ResourceArn"],
                "LogDestinationConfigs": props["LogDestinationConfigs"],
            }
        )
        return Created(props["ResourceArn"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("wafv2", region).delete_logging_configuration(ResourceArn=props["ResourceArn"])
