"""moto_compat.logs: a log group's CloudFormation Arn attribute is AWS's (it ends in ":*")."""

from __future__ import annotations

import json

from moto_gaps import client, local_aws

TEMPLATE = {
    "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/g"}}},
    "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}}},
}


def _group_arn() -> str:
    cloudformation = client("cloudformation")
    cloudformation.create_stack(StackName="logs", TemplateBody=json.dumps(TEMPLATE))
    [output] = cloudformation.describe_stacks(StackName="logs")["Stacks"][0]["Outputs"]
    return str(output["OutputValue"])


def test_needed_logs_group_arn_attribute() -> None:
    """If this fails, moto fixed logs-group-arn-attribute: delete the workaround (GetAtt Arn ends in ':*')."""
    with local_aws(skip={"logs-group-arn-attribute"}):
        assert _group_arn().endswith(":log-group:/g")


def test_closed_logs_group_arn_attribute() -> None:
    with local_aws():
        arn = _group_arn()
        described = client("logs").describe_log_groups(logGroupNamePrefix="/g")["logGroups"][0]["arn"]
    assert arn.endswith(":log-group:/g:*")
    assert arn == described  # DescribeLogGroups' arn, as on AWS
