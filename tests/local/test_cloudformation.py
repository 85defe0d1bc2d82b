"""moto_compat.cloudformation: the deploy's steps around moto's CloudFormation, helper by helper."""

from __future__ import annotations

import json
import uuid
import warnings
from typing import Any
from unittest import mock

import pytest
from moto_gaps import (
    ROLE_ARN,
    client,
    local_aws,
    output_of,
    wait_for_executions,
)

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.moto_compat import cloudformation
from petclinic_local.simulators.cloudformation import StackEvents


def _create_stack(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, str]:
    cfn = client("cloudformation")
    name = f"stack-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value} for key, value in (parameters or {}).items()
        ],
    )
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


KEY_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}

KEY_TEMPLATE: dict[str, Any] = {
    "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}}},
    "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}},
}


def test_needed_prepare_template_for_moto() -> None:
    """If this fails, moto fixed prepare_template_for_moto: delete the workaround (a KMS key
    whose KeyPolicy is an object can be described)."""
    plain_policy = {**KEY_POLICY, "Statement": [{**KEY_POLICY["Statement"][0], "Principal": {"AWS": "*"}}]}
    template = {
        **KEY_TEMPLATE,
        "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": plain_policy}}},
    }
    with local_aws():
        key_id = _create_stack(template)["KeyId"]
        with pytest.raises(TypeError, match="must be str, bytes or bytearray, not dict"):
            client("kms").describe_key(KeyId=key_id)


def test_closed_prepare_template_for_moto() -> None:
    with local_aws():
        key_id = _create_stack(cloudformation.prepare_template_for_moto(KEY_TEMPLATE))["KeyId"]
        kms = client("kms")
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert metadata["KeyState"] == "Enabled"
    assert json.loads(policy)["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert KEY_TEMPLATE["Resources"]["Key"]["Properties"]["KeyPolicy"] is KEY_POLICY  # not mutated


LIST_TEMPLATE = {
    "Parameters": {
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Environment": {"Type": "String", "Default": "dev"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Environment"}}}},
    "Outputs": {
        "Joined": {"Value": {"Fn::Join": ["+", {"Ref": "Names"}]}},
        "Second": {"Value": {"Fn::Select": [1, {"Ref": "Names"}]}},
    },
}


def test_needed_complete_parameters() -> None:
    """If this fails, moto fixed complete_parameters: delete the workaround (a CommaDelimitedList
    parameter's Default is split into a list)."""
    with local_aws():
        outputs = _create_stack(LIST_TEMPLATE)
    assert outputs == {"Joined": "a+,+b", "Second": ","}


def test_closed_complete_parameters() -> None:
    assert cloudformation.complete_parameters(LIST_TEMPLATE, {"Environment": "prod"}) == {
        "Names": "a,b",
        "Environment": "prod",
    }
    with local_aws():
        defaults = _create_stack(LIST_TEMPLATE, cloudformation.complete_parameters(LIST_TEMPLATE, {}))
        given = _create_stack(
            LIST_TEMPLATE, cloudformation.complete_parameters(LIST_TEMPLATE, {"Names": "x,y,z"})
        )
    assert defaults == {"Joined": "a+b", "Second": "b"}
    assert given == {"Joined": "x+y+z", "Second": "y"}


GREETING_DEFINITION = json.dumps(
    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}}}
)

STATE_MACHINE_TEMPLATE = {
    "Resources": {
        "Inline": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "inline",
                "RoleArn": ROLE_ARN,
                "DefinitionString": GREETING_DEFINITION,
                "DefinitionSubstitutions": {"Greeting": "hello"},
            },
        },
        "FromS3": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "from-s3",
                "RoleArn": ROLE_ARN,
                "DefinitionS3Location": {"Bucket": "artifacts", "Key": "machine.asl.json"},
            },
        },
    },
    "Outputs": {"Inline": {"Value": {"Ref": "Inline"}}, "FromS3": {"Value": {"Ref": "FromS3"}}},
}


def test_needed_recreate_state_machine() -> None:
    """If this fails, moto fixed recreate_state_machine: delete the workaround (state machines
    created by CloudFormation can be executed, with their definition)."""
    from moto.stepfunctions.models import stepfunctions_backends  # noqa: PLC0415

    with local_aws():
        outputs = _create_stack(STATE_MACHINE_TEMPLATE)
        sfn = client("stepfunctions")
        with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
            sfn.start_execution(stateMachineArn=outputs["Inline"])
        landed = {m.arn: m.definition for m in stepfunctions_backends[ACCOUNT][REGION].state_machines}
    assert landed[outputs["Inline"]] == GREETING_DEFINITION  # DefinitionSubstitutions ignored
    assert landed[outputs["FromS3"]] == ""  # DefinitionS3Location ignored


def test_closed_recreate_state_machine() -> None:
    with local_aws():
        expected_arn = _create_stack(STATE_MACHINE_TEMPLATE)["Inline"]
        sfn = client("stepfunctions")
        arn = cloudformation.recreate_state_machine(
            sfn,
            expected_arn=expected_arn,
            definition=GREETING_DEFINITION,
            substitutions={"Greeting": "hello"},
            role_arn=ROLE_ARN,
            kind="STANDARD",
        )
        sfn.start_execution(stateMachineArn=arn, name="run")
        (execution_arn,) = wait_for_executions(arn)
        described = sfn.describe_execution(executionArn=execution_arn)
    assert arn == expected_arn
    assert output_of(dict(described)) == {"greeting": "hello"}


ROTATION_SCHEDULE: dict[str, Any] = {
    "Type": "AWS::SecretsManager::RotationSchedule",
    "Properties": {
        "SecretId": "db",
        "RotationLambdaARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate",
        "RotateImmediatelyOnUpdate": False,
        "RotationRules": {"AutomaticallyAfterDays": 30},
    },
}

SCHEDULE_TEMPLATE = {
    "Resources": {"Rotation": ROTATION_SCHEDULE, "Topic": {"Type": "AWS::SNS::Topic"}},
}


def _rotation_settings() -> dict[str, Any]:
    described = client("secretsmanager").describe_secret(SecretId="db")
    return {key: described.get(key) for key in ("RotationEnabled", "RotationLambdaARN", "RotationRules")}


def test_needed_apply_rotation_schedules() -> None:
    """If this fails, moto fixed apply_rotation_schedules: delete the workaround (CloudFormation
    creates AWS::SecretsManager::RotationSchedule)."""
    with local_aws():
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        with pytest.warns(UserWarning, match="RotationSchedule"):
            _create_stack(SCHEDULE_TEMPLATE)
        settings = _rotation_settings()
    assert not settings["RotationEnabled"]
    assert not settings["RotationLambdaARN"]


def test_closed_apply_rotation_schedules() -> None:
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        client("secretsmanager").create_secret(Name="db", SecretString="old")
        _create_stack(SCHEDULE_TEMPLATE)
        cloudformation.apply_rotation_schedules(
            SCHEDULE_TEMPLATE["Resources"], lambda value: value, ACCOUNT, REGION
        )
        settings = _rotation_settings()
        steps = client("secretsmanager").describe_secret(SecretId="db")["VersionIdsToStages"]
    assert settings == {
        "RotationEnabled": True,
        "RotationLambdaARN": ROTATION_SCHEDULE["Properties"]["RotationLambdaARN"],
        "RotationRules": {"AutomaticallyAfterDays": 30},
    }
    assert [labels for labels in steps.values()] == [["AWSCURRENT"]]  # no rotation now


PAGING_ALARMS_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Period": {"Type": "Number", "Default": "300"}},
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Failed": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "ops-failed",
                "Namespace": "Ops/dev",
                "MetricName": "Failed",
                "Statistic": "Sum",
                "Period": "300",
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": ["arn:aws:sns:us-west-2:123456789012:topic"],
            },
        },
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "ops-errors",
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Metrics": [
                    {"Id": "e", "Expression": "FILL(m, 0)"},
                    {
                        "Id": "m",
                        "ReturnData": False,
                        "MetricStat": {
                            "Stat": "Sum",
                            "Period": "60",
                            "Metric": {"Namespace": "AWS/States", "MetricName": "ExecutionsFailed"},
                        },
                    },
                ],
            },
        },
    },
}


def _alarms() -> dict[str, dict[str, Any]]:
    return {alarm["AlarmName"]: alarm for alarm in client("cloudwatch").describe_alarms()["MetricAlarms"]}


def test_needed_create_alarms() -> None:
    """If this fails, moto fixed create_alarms: delete the workaround (CloudFormation creates
    AWS::CloudWatch::Alarm)."""
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _create_stack(PAGING_ALARMS_TEMPLATE)
        assert _alarms() == {}


def test_closed_create_alarms() -> None:
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _create_stack(PAGING_ALARMS_TEMPLATE)
        names = cloudformation.create_alarms(
            PAGING_ALARMS_TEMPLATE["Resources"], lambda value: value, client("cloudwatch")
        )
        alarms = _alarms()
    assert names == ["ops-failed", "ops-errors"]
    failed = alarms["ops-failed"]
    assert (failed["Namespace"], failed["MetricName"], failed["Period"], failed["Threshold"]) == (
        "Ops/dev",
        "Failed",
        300,
        1.0,
    )
    assert failed["AlarmActions"] == ["arn:aws:sns:us-west-2:123456789012:topic"]
    [expression, metric] = alarms["ops-errors"]["Metrics"]
    assert expression["Expression"] == "FILL(m, 0)"
    assert metric["MetricStat"]["Period"] == 60


LIST_PARAMETER_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Plain": {"Type": "String", "Default": "x"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def _described_parameters(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    cfn = client("cloudformation")
    name = f"stack-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in given.items()],
    )
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}


CONSTRAINED_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Tasks": {"Type": "String", "Default": "2", "AllowedPattern": "^(0|[1-9][0-9]{0,2}|1000)$"},
        "Acus": {"Type": "Number", "Default": 1, "MinValue": 0.5, "MaxValue": 256},
        "Days": {"Type": "Number", "Default": 7, "AllowedValues": [7, 14]},
        "Names": {"Type": "CommaDelimitedList", "Default": "a", "AllowedValues": ["a", "b"]},
        "Enabled": {"Type": "String", "Default": "true", "AllowedValues": [True, False]},  # YAML's true
        "Label": {
            "Type": "String",
            "Default": "x",
            "MaxLength": 3,
            "ConstraintDescription": "at most three characters",
        },
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def _create_constrained(parameters: dict[str, str]) -> str:
    cfn = client("cloudformation")
    name = f"stack-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(CONSTRAINED_TEMPLATE),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def test_needed_cfn_parameter_constraints() -> None:
    """If this fails, moto fixed cfn-parameter-constraints: delete the workaround (a value its
    parameter's AllowedPattern refuses is a ValidationError)."""
    with local_aws(skip={"cfn-parameter-constraints"}):
        assert _create_constrained({"Tasks": "2.5", "Acus": "300", "Names": "a,z"}) == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Tasks": "2.5"}, "Parameter 'Tasks' must match pattern ^(0|[1-9][0-9]{0,2}|1000)$"),
        ({"Tasks": "true"}, "Parameter 'Tasks' must match pattern"),
        ({"Acus": "0.25"}, "Parameter 'Acus' must be a number not less than 0.5"),
        ({"Acus": "257"}, "Parameter 'Acus' must be a number not greater than 256"),
        ({"Acus": "many"}, "Parameter 'Acus' must be a number"),
        ({"Days": "8"}, "Parameter 'Days' must be one of AllowedValues"),
        ({"Names": "a,z"}, "Parameter 'Names' must be one of AllowedValues"),
        ({"Label": "long"}, "Parameter 'Label' failed to satisfy constraint: at most three characters"),
    ],
)
def test_closed_cfn_parameter_constraints(given: dict[str, str], message: str) -> None:
    with local_aws():
        cfn = client("cloudformation")
        with pytest.raises(cfn.exceptions.ClientError, match="ValidationError") as raised:
            _create_constrained(given)
        assert message in str(raised.value)
        accepted = {"Tasks": "1000", "Acus": "0.5", "Days": "14", "Names": "a,b", "Enabled": "false"}
        assert _create_constrained(accepted) == ("CREATE_COMPLETE")


RULED_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "CertificateArn": {"Type": "String", "Default": ""},
        "DomainName": {"Type": "String", "Default": ""},
    },
    "Rules": {
        "CertificateNeedsDomainName": {
            "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
                    "AssertDescription": "CertificateArn needs DomainName",
                }
            ],
        }
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def _create_ruled(parameters: dict[str, str]) -> str:
    cfn = client("cloudformation")
    name = f"stack-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(RULED_TEMPLATE),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def test_needed_cfn_template_rules() -> None:
    """If this fails, moto fixed cfn-template-rules: delete the workaround (a parameter combination
    a rule's assertion refuses is a ValidationError)."""
    with local_aws(skip={"cfn-template-rules"}):
        assert _create_ruled({"CertificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/x"}) == (
            "CREATE_COMPLETE"
        )


def test_closed_cfn_template_rules() -> None:
    with local_aws():
        cfn = client("cloudformation")
        with pytest.raises(cfn.exceptions.ClientError, match="CertificateArn needs DomainName") as raised:
            _create_ruled({"CertificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/x"})
        assert "ValidationError" in str(raised.value)
        assert _create_ruled({}) == "CREATE_COMPLETE"  # the rule's condition does not hold
        both = {
            "CertificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/x",
            "DomainName": "a.example",
        }
        assert _create_ruled(both) == "CREATE_COMPLETE"


MISSING_TEMPLATE_URL = "https://bkt.s3.us-west-2.amazonaws.com/templates/missing.yaml"


def test_needed_cfn_template_url_missing() -> None:
    """If this fails, moto fixed cfn-template-url-missing: delete the workaround (a TemplateURL to
    a missing S3 object is a ValidationError)."""
    with local_aws(skip={"cfn-template-url-missing"}):
        client("s3").create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": REGION})
        with pytest.raises(AttributeError):
            client("cloudformation").get_template_summary(TemplateURL=MISSING_TEMPLATE_URL)


def test_closed_cfn_template_url_missing() -> None:
    with local_aws():
        client("s3").create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": REGION})
        cfn = client("cloudformation")
        with pytest.raises(cfn.exceptions.ClientError, match="TemplateURL must reference a valid S3 object"):
            cfn.get_template_summary(TemplateURL=MISSING_TEMPLATE_URL)


def test_needed_cfn_list_parameters() -> None:
    """If this fails, moto fixed cfn-list-parameters: delete the workaround (DescribeStacks
    returns a CommaDelimitedList parameter as given, "a,b")."""
    with local_aws(skip={"cfn-list-parameters"}):
        described = _described_parameters(LIST_PARAMETER_TEMPLATE, {"Names": "c,d,e"})
    assert described["Names"] == "['c', 'd', 'e']"


def test_closed_cfn_list_parameters() -> None:
    with local_aws():
        described = _described_parameters(LIST_PARAMETER_TEMPLATE, {"Names": "c,d,e", "Plain": "y"})
    assert described == {"Names": "c,d,e", "Plain": "y"}


ALARM_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic"},
    }
}


def _stack_with_an_alarm() -> str:
    name = f"stack-{uuid.uuid4().hex[:8]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(ALARM_TEMPLATE))
    return name


def test_needed_cfn_unmodelled_resources() -> None:
    """If this fails, moto fixed cfn-unmodelled-resources: delete the workaround (a stack with a
    resource type moto does not model can be asked for its resources)."""
    with local_aws(skip={"cfn-unmodelled-resources"}):
        name = _stack_with_an_alarm()
        with pytest.raises(AttributeError):
            client("cloudformation").describe_stack_resource(StackName=name, LogicalResourceId="Topic")


def test_closed_cfn_unmodelled_resources() -> None:
    with local_aws():
        name = _stack_with_an_alarm()
        cfn = client("cloudformation")
        detail = cfn.describe_stack_resource(StackName=name, LogicalResourceId="Topic")["StackResourceDetail"]
        listed = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        described = cfn.describe_stack_resources(StackName=name)["StackResources"]
    assert detail["ResourceType"] == "AWS::SNS::Topic"
    assert [r["LogicalResourceId"] for r in listed] == ["Topic"]
    assert [r["LogicalResourceId"] for r in described] == ["Topic"]


# --------------------------------------------------------------------------- Lambda aliases, OpenAPI APIs

ROLE_RESOURCE: dict[str, Any] = {
    "Type": "AWS::IAM::Role",
    "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
}
FUNCTION_RESOURCE: dict[str, Any] = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "FunctionName": "aliased",
        "Runtime": "python3.11",
        "Handler": "index.handler",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
    },
}
ALIAS_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": ROLE_RESOURCE,
        "Fn": FUNCTION_RESOURCE,
        "Version": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Live": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]},
                "Name": "live",
            },
        },
        "ApiInvokesLive": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "Live"},
                "Principal": "apigateway.amazonaws.com",
            },
        },
    },
    "Outputs": {"LiveArn": {"Value": {"Ref": "Live"}}},
}


def test_needed_prepare_lambda_aliases() -> None:
    """If this fails, moto fixed prepare_lambda_aliases: delete it and create_lambda_aliases (moto's
    CloudFormation creates AWS::Lambda::Alias, so a permission on an alias can be created)."""
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfn = client("cloudformation")
        # the alias is skipped, its Ref is empty, the permission on it has no FunctionName
        with pytest.raises(KeyError, match="FunctionName"):
            cfn.create_stack(StackName="aliases", TemplateBody=json.dumps(ALIAS_TEMPLATE))


def test_closed_prepare_lambda_aliases() -> None:
    with local_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared, deferred = cloudformation.prepare_lambda_aliases(ALIAS_TEMPLATE)
        assert sorted(deferred) == ["ApiInvokesLive", "Live"]
        assert "ApiInvokesLive" not in prepared["Resources"]
        outputs = _create_stack(prepared)
        from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415
        from moto.cloudformation.parsing import clean_json  # noqa: PLC0415

        [stack] = cloudformation_backends[ACCOUNT][REGION].stacks.values()
        lam = client("lambda")
        cloudformation.create_lambda_aliases(
            deferred,
            lambda value: clean_json(value, stack.resource_map),
            lam,
            lambda logical_id: str(stack.resource_map[logical_id].version),
        )
        [alias] = lam.list_aliases(FunctionName="aliased")["Aliases"]
        policy = json.loads(lam.get_policy(FunctionName="aliased", Qualifier="live")["Policy"])
    assert outputs["LiveArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:aliased:live"
    assert (alias["Name"], alias["FunctionVersion"]) == ("live", "1")
    assert [s["Sid"] for s in policy["Statement"]] == ["ApiInvokesLive"]


OPENAPI_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": "openapi",
                "Body": {
                    "openapi": "3.0.1",
                    "info": {"title": "t", "version": "1"},
                    "paths": {"/x": {"post": {}}},
                },
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev"},
        },
    },
    "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
}


def test_needed_drop_openapi_deployments() -> None:
    """If this fails, moto fixed drop_openapi_deployments: delete it (moto's CloudFormation imports a
    RestApi's OpenAPI Body, so its Deployment finds methods)."""
    with local_aws(), pytest.raises(Exception, match="contain any methods"):
        _create_stack(OPENAPI_TEMPLATE)


def test_closed_drop_openapi_deployments() -> None:
    with local_aws():
        prepared = cloudformation.drop_openapi_deployments(OPENAPI_TEMPLATE)
        outputs = _create_stack(prepared)
    assert sorted(prepared["Resources"]) == ["Api"]
    assert outputs["ApiId"]


# --------------------------------------------------------------------------- the PetClinic stacks' gaps
# (change sets, types moto skips, resource events, drift, template parsing)

NAMESPACE_YAML = """
Resources:
  Namespace:
    Type: AWS::ServiceDiscovery::PrivateDnsNamespace
    Properties:
      Name: petclinic.local
      Vpc: !Ref Vpc
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
Outputs:
  NamespaceId:
    Value: !GetAtt Namespace.Id
    Export: {Name: ns-id}
"""

PARAMETER_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Value": {"Type": "String", "Default": "v1"}},
    "Resources": {
        "Param": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/p", "Type": "String", "Value": {"Ref": "Value"}},
        },
        "Group": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/t/g", "RetentionInDays": 30},
        },
    },
    "Outputs": {"Name": {"Value": {"Ref": "Param"}, "Export": {"Name": "param-name"}}},
}

IMPORTER_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Copy": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/copy", "Type": "String", "Value": {"Fn::ImportValue": "param-name"}},
        }
    }
}


def _simulating(hooks: Any) -> StackEvents:
    hooks.stack_events = StackEvents(account=ACCOUNT, region=REGION, time_scale=0.0)
    return hooks.stack_events  # type: ignore[no-any-return]


def _change_set(name: str, body: str | dict[str, Any], kind: str = "CREATE", **parameters: str) -> str:
    cfn = client("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName="c1",
        TemplateBody=body if isinstance(body, str) else json.dumps(body),
        ChangeSetType=kind,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cfn.execute_change_set(ChangeSetName=created["Id"])
    return str(created["StackId"])


def test_needed_cloudformation_change_sets() -> None:
    """If this fails, moto fixed cloudformation-change-sets: delete the workaround (an executed
    change set gives the stack its outputs and exports, and another stack can import them)."""
    with local_aws(skip={"cloudformation-change-sets"}) as hooks:
        _simulating(hooks)
        _change_set("exporter", PARAMETER_TEMPLATE)
        cfn = client("cloudformation")
        outputs = cfn.describe_stacks(StackName="exporter")["Stacks"][0].get("Outputs")
        exports = cfn.list_exports()["Exports"]
        with pytest.raises(Exception, match="No export named param-name"):
            _change_set("importer", IMPORTER_TEMPLATE)
    assert outputs is None
    assert exports == []


def test_closed_cloudformation_change_sets() -> None:
    with local_aws() as hooks:
        events = _simulating(hooks)
        _change_set("exporter", PARAMETER_TEMPLATE)
        cfn = client("cloudformation")
        stack = cfn.describe_stacks(StackName="exporter")["Stacks"][0]
        _change_set("importer", IMPORTER_TEMPLATE)
        copied = client("ssm").get_parameter(Name="/t/copy")["Parameter"]["Value"]
        # The same parameters again: no changes; new ones: the stack takes them.
        again = cfn.create_change_set(
            StackName="exporter",
            ChangeSetName="c2",
            TemplateBody=json.dumps(PARAMETER_TEMPLATE),
            ChangeSetType="UPDATE",
            Parameters=[],
        )
        unchanged = cfn.describe_change_set(ChangeSetName=again["Id"])
        _change_set("exporter", PARAMETER_TEMPLATE, "UPDATE", Value="v2")
        updated = cfn.describe_stacks(StackName="exporter")["Stacks"][0]
        hooks.run_background()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "/t/p"
    assert copied == "/t/p"
    assert unchanged["Status"] == "FAILED"
    assert "didn't contain changes" in unchanged["StatusReason"]
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert updated["Parameters"] == [{"ParameterKey": "Value", "ParameterValue": "v2"}]
    statuses = [
        json.loads(event["Detail"])["status-details"]["status"]
        for event in events.sent
        if event["DetailType"] == "CloudFormation Stack Status Change"
    ]
    assert "CREATE_COMPLETE" in statuses
    assert "UPDATE_COMPLETE" in statuses


def test_closed_cloudformation_change_sets_failure_rolls_back() -> None:
    with local_aws() as hooks:
        events = _simulating(hooks)
        events.fail("broken", "Group", "injected: the log group quota is reached")
        stack_id = _change_set("broken", PARAMETER_TEMPLATE)  # the call succeeds, as on AWS
        cfn = client("cloudformation")
        described = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        failed = [
            e
            for e in cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            if e["ResourceStatus"] == "CREATE_FAILED"
        ]
        parameters = client("ssm").describe_parameters()["Parameters"]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert [(e["LogicalResourceId"], e["ResourceStatusReason"]) for e in failed] == [
        ("Group", "injected: the log group quota is reached")
    ]
    assert parameters == []  # what it had created is gone


VALUE_EXPORTER: dict[str, Any] = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "Value": {"Type": "String", "Default": "v1"}},
    "Resources": {
        "Param": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/exp", "Type": "String", "Value": "x"},
        }
    },
    "Outputs": {
        "Value": {"Value": {"Ref": "Value"}, "Export": {"Name": {"Fn::Sub": "app-${Env}-Value"}}},
        "Kept": {"Value": "k", "Export": {"Name": {"Fn::Sub": "app-${Env}-Kept"}}},
    },
}
VALUE_IMPORTER: dict[str, Any] = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
    "Resources": {
        "Copy": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "/t/imp",
                "Type": "String",
                "Value": {"Fn::ImportValue": {"Fn::Sub": "app-${Env}-Value"}},
            },
        }
    },
}


def test_closed_cloudformation_change_sets_refuse_changing_an_export_in_use() -> None:
    """As CloudFormation: an update that changes an export another stack imports fails ("Cannot
    update export ... as it is in use by ...") and rolls back; the export keeps its value. An
    export nobody imports changes freely."""
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("exporter", VALUE_EXPORTER)
        _change_set("importer", VALUE_IMPORTER)
        cfn = client("cloudformation")
        _change_set("exporter", VALUE_EXPORTER, "UPDATE", Value="v2")
        refused = cfn.describe_stacks(StackName="exporter")["Stacks"][0]
        reasons = [
            e.get("ResourceStatusReason", "")
            for e in cfn.describe_stack_events(StackName="exporter")["StackEvents"]
        ]
        exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
        cfn.delete_stack(StackName="importer")
        _change_set("exporter", VALUE_EXPORTER, "UPDATE", Value="v3")
        freed = cfn.describe_stacks(StackName="exporter")["Stacks"][0]
        exports_after = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert refused["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert any("Cannot update export app-dev-Value as it is in use by importer" in r for r in reasons)
    assert exports == {"app-dev-Value": "v1", "app-dev-Kept": "k"}
    assert freed["StackStatus"] == "UPDATE_COMPLETE"
    assert exports_after["app-dev-Value"] == "v3"


def test_needed_cloudformation_skipped_types() -> None:
    """If this fails, moto fixed cloudformation-skipped-types: delete the workaround (a Cloud Map
    namespace in a template is created)."""
    with local_aws(skip={"cloudformation-skipped-types"}) as hooks:
        _simulating(hooks)
        cfn = client("cloudformation")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfn.create_stack(
                StackName="s", TemplateBody=NAMESPACE_YAML.replace("!GetAtt Namespace.Id", "!Ref Vpc")
            )
        namespaces = client("servicediscovery").list_namespaces()["Namespaces"]
    assert namespaces == []


def test_closed_cloudformation_skipped_types() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        client("cloudformation").create_stack(StackName="s", TemplateBody=NAMESPACE_YAML)
        outputs = client("cloudformation").describe_stacks(StackName="s")["Stacks"][0]["Outputs"]
        [namespace] = client("servicediscovery").list_namespaces()["Namespaces"]
    assert namespace["Name"] == "petclinic.local"
    assert outputs[0]["OutputValue"] == namespace["Id"]


def test_closed_cloudformation_skipped_types_left_to_moto_without_a_simulator() -> None:
    with local_aws(), warnings.catch_warnings():  # hooks without stack_events: moto's own tests
        warnings.simplefilter("ignore")
        client("cloudformation").create_stack(
            StackName="s", TemplateBody=NAMESPACE_YAML.replace("!GetAtt Namespace.Id", "!Ref Vpc")
        )
        assert client("servicediscovery").list_namespaces()["Namespaces"] == []


def test_needed_cloudformation_resource_events() -> None:
    """If this fails, moto fixed cloudformation-resource-events: delete the workaround (a stack's
    events include its resources')."""
    with local_aws(skip={"cloudformation-resource-events"}) as hooks:
        _simulating(hooks)
        _change_set("s", PARAMETER_TEMPLATE)
        events = client("cloudformation").describe_stack_events(StackName="s")["StackEvents"]
    assert {e["LogicalResourceId"] for e in events} == {"s"}


def test_closed_cloudformation_resource_events() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", PARAMETER_TEMPLATE)
        events = client("cloudformation").describe_stack_events(StackName="s")["StackEvents"]
    completed = {e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_COMPLETE"}
    assert completed == {"s", "Param", "Group"}


def test_needed_cloudformation_drift_detection() -> None:
    """If this fails, moto fixed cloudformation-drift-detection: delete the workaround
    (DetectStackDrift is implemented)."""
    with local_aws(skip={"cloudformation-drift-detection"}) as hooks:
        _simulating(hooks)
        _change_set("s", PARAMETER_TEMPLATE)
        cfn = client("cloudformation")
        with pytest.raises(Exception, match="detect_stack_drift action has not been implemented"):
            cfn.detect_stack_drift(StackName="s")


def test_closed_cloudformation_drift_detection() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", PARAMETER_TEMPLATE)
        cfn = client("cloudformation")
        client("ssm").put_parameter(Name="/t/p", Value="changed by hand", Type="String", Overwrite=True)
        detection = cfn.detect_stack_drift(StackName="s")["StackDriftDetectionId"]
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        drifts = cfn.describe_stack_resource_drifts(StackName="s")["StackResourceDrifts"]
    assert (status["DetectionStatus"], status["StackDriftStatus"]) == ("DETECTION_COMPLETE", "DRIFTED")
    by_id = {d["LogicalResourceId"]: d for d in drifts}
    assert by_id["Group"]["StackResourceDriftStatus"] == "IN_SYNC"
    assert by_id["Param"]["StackResourceDriftStatus"] == "MODIFIED"
    [difference] = by_id["Param"]["PropertyDifferences"]
    assert (difference["PropertyPath"], difference["ExpectedValue"], difference["ActualValue"]) == (
        "/Value",
        "v1",
        "changed by hand",
    )


def _count_yaml_loads() -> Any:
    import yaml  # noqa: PLC0415

    return mock.patch.object(yaml, "load", side_effect=yaml.load)


def test_needed_cloudformation_template_parsing() -> None:
    """If this fails, moto fixed cloudformation-template-parsing: delete the workaround (a change
    set no longer parses its template with pure-Python YAML several times)."""
    with local_aws(skip={"cloudformation-template-parsing"}) as hooks, _count_yaml_loads() as load:
        _simulating(hooks)
        _change_set("s", NAMESPACE_YAML)
    loaders = [call.kwargs.get("Loader") for call in load.call_args_list]
    import yaml  # noqa: PLC0415

    assert len(loaders) >= 2  # the same text, more than once
    assert all(loader is yaml.Loader for loader in loaders)  # the pure-Python one


def test_closed_cloudformation_template_parsing() -> None:
    import yaml  # noqa: PLC0415

    with local_aws() as hooks, _count_yaml_loads() as load:
        _simulating(hooks)
        _change_set("s", NAMESPACE_YAML)
        outputs = client("cloudformation").describe_stacks(StackName="s")["Stacks"][0]["Outputs"]
    texts = [call.args[0] for call in load.call_args_list]
    assert texts.count(NAMESPACE_YAML) == 1  # parsed once, by LibYAML
    assert all(issubclass(call.kwargs["Loader"], yaml.CLoader) for call in load.call_args_list)
    assert outputs[0]["OutputKey"] == "NamespaceId"


AZ_TEMPLATE: dict[str, Any] = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"Zone": {"Value": {"Fn::Select": [1, {"Fn::GetAZs": ""}]}}},
}


def test_needed_cloudformation_getazs_region() -> None:
    """If this fails, moto fixed cloudformation-getazs-region: delete the workaround (Fn::GetAZs ""
    gives the stack's region's zones)."""
    with local_aws(skip={"cloudformation-getazs-region"}):
        assert _create_stack(AZ_TEMPLATE)["Zone"] == "us-east-1b"


def test_closed_cloudformation_getazs_region() -> None:
    with local_aws():
        assert _create_stack(AZ_TEMPLATE)["Zone"] == f"{REGION}b"


CONDITIONAL_TEMPLATE: dict[str, Any] = {
    "Parameters": {"CertificateArn": {"Type": "String", "Default": ""}},
    "Conditions": {"HasCertificate": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}},
    "Resources": {
        "Always": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}},
        "WithCertificate": {
            "Type": "AWS::SSM::Parameter",
            "Condition": "HasCertificate",
            "Properties": {"Type": "String", "Value": {"Ref": "CertificateArn"}},
        },
    },
}


def _planned_additions(name: str, **parameters: str) -> list[str]:
    cfn = client("cloudformation")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName="c1",
        TemplateBody=json.dumps(CONDITIONAL_TEMPLATE),
        ChangeSetType="CREATE",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    changes = cfn.describe_change_set(ChangeSetName=created["Id"])["Changes"]
    return sorted(
        c["ResourceChange"]["LogicalResourceId"] for c in changes if c["ResourceChange"]["Action"] == "Add"
    )


def test_needed_cloudformation_change_sets_conditions() -> None:
    """If this fails, moto fixed cloudformation-change-sets' conditions: a CREATE change set no
    longer lists a resource whose Condition is false."""
    with local_aws(skip={"cloudformation-change-sets"}) as hooks:
        _simulating(hooks)
        assert _planned_additions("plain") == ["Always", "WithCertificate"]


def test_closed_cloudformation_change_sets_conditions() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        without = _planned_additions("without")
        with_certificate = _planned_additions(
            "with", CertificateArn="arn:aws:acm:us-west-2:123456789012:certificate/x"
        )
    assert without == ["Always"]
    assert with_certificate == ["Always", "WithCertificate"]


# --------------------------------------------------------------------------- planned updates

REPLACEABLE_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "GroupName": {"Type": "String", "Default": "/t/one"},
        "Days": {"Type": "Number", "Default": 30},
        "Capacity": {"Type": "Number", "Default": 0.5},
        "Unused": {"Type": "String", "Default": "x"},
    },
    "Resources": {
        "Group": {
            "Type": "AWS::Logs::LogGroup",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": {"Ref": "GroupName"}, "RetentionInDays": {"Ref": "Days"}},
        },
        "GroupArn": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/arn", "Type": "String", "Value": {"Fn::GetAtt": ["Group", "Arn"]}},
        },
        "CapacityValue": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/capacity", "Type": "String", "Value": {"Ref": "Capacity"}},
        },
    },
    "Outputs": {"Group": {"Value": {"Ref": "Group"}}},
}


def _update(name: str, previous: tuple[str, ...] = (), **parameters: str) -> dict[str, Any]:
    """An UPDATE change set of REPLACEABLE_TEMPLATE (``previous`` as UsePreviousValue), described."""
    cfn = client("cloudformation")
    given: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    given += [{"ParameterKey": k, "UsePreviousValue": True} for k in previous]
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"c{uuid.uuid4().hex[:8]}",
        TemplateBody=json.dumps(REPLACEABLE_TEMPLATE),
        ChangeSetType="UPDATE",
        Parameters=given,
    )
    return cfn.describe_change_set(ChangeSetName=created["Id"])  # type: ignore[no-any-return]


def _parameter(stack: str, name: str) -> str:
    described = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return next(str(p["ParameterValue"]) for p in described["Parameters"] if p["ParameterKey"] == name)


def _log_groups() -> list[str]:
    return sorted(g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"])


def test_needed_cloudformation_use_previous_value() -> None:
    """If this fails, moto fixed cloudformation-use-previous-value: delete the workaround (a Number
    parameter of 0.5 kept with UsePreviousValue stays 0.5)."""
    with local_aws(skip={"cloudformation-use-previous-value"}) as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        changed = _update("s", previous=("Capacity", "GroupName"), Days="60")
        client("cloudformation").execute_change_set(ChangeSetName=changed["ChangeSetId"])
        capacity = _parameter("s", "Capacity")
    assert capacity == "0"  # int(0.5): the stack's value is now 0


def test_closed_cloudformation_use_previous_value() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        changed = _update("s", previous=("Capacity", "GroupName"), Days="60")
        client("cloudformation").execute_change_set(ChangeSetName=changed["ChangeSetId"])
        capacity = _parameter("s", "Capacity")
        again = _update("s", previous=("Capacity", "GroupName", "Days"))
    assert capacity == "0.5"
    assert again["Status"] == "FAILED"  # every value kept: nothing to change
    assert "didn't contain changes" in again["StatusReason"]


def test_needed_cloudformation_planned_updates() -> None:
    """If this fails, moto fixed cloudformation-planned-updates: delete the workaround (a change
    set lists what a changed parameter modifies, with Replacement from createOnlyProperties)."""
    with local_aws(skip={"cloudformation-planned-updates"}) as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        renamed = _update("s", GroupName="/t/two")
    assert renamed["Status"] == "CREATE_COMPLETE"
    assert renamed["Changes"] == []  # the log group's new name is not listed at all


def test_closed_cloudformation_planned_updates() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        cfn = client("cloudformation")
        retention = _update("s", previous=("GroupName",), Days="60")
        unused = _update("s", Unused="y")
        renamed = _update("s", GroupName="/t/two")
        cfn.execute_change_set(ChangeSetName=renamed["ChangeSetId"])
        stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
        groups = _log_groups()
        arn = client("ssm").get_parameter(Name="/t/arn")["Parameter"]["Value"]
        events = [
            (e["LogicalResourceId"], e["ResourceStatus"])
            for e in cfn.describe_stack_events(StackName="s")["StackEvents"]
            if e["LogicalResourceId"] == "Group"
        ]
    [in_place] = retention["Changes"]
    assert in_place["ResourceChange"]["Replacement"] == "False"
    assert in_place["ResourceChange"]["Details"] == [
        {
            "Target": {"Attribute": "Properties", "Name": "RetentionInDays", "RequiresRecreation": "Never"},
            "Evaluation": "Static",
            "ChangeSource": "ParameterReference",
            "CausingEntity": "Days",
        }
    ]
    # A parameter no resource refers to changes nothing: CloudFormation says so.
    assert (unused["Status"], unused["Changes"]) == ("FAILED", [])
    by_id = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in renamed["Changes"]}
    assert (by_id["Group"]["Replacement"], by_id["Group"]["PhysicalResourceId"]) == ("True", "/t/one")
    assert by_id["Group"]["Details"][0]["Target"]["RequiresRecreation"] == "Always"
    # What refers to the new log group changes with it (Dynamic: its new ARN).
    assert by_id["GroupArn"]["Replacement"] == "False"
    assert by_id["GroupArn"]["Details"][0]["ChangeSource"] == "ResourceAttribute"
    assert by_id["GroupArn"]["Details"][0]["CausingEntity"] == "Group.Arn"
    # Executed as a replacement: a new log group, the old one deleted.
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "/t/two"
    assert groups == ["/t/two"]
    assert arn.endswith(":log-group:/t/two:*")  # a log group's Arn attribute, as on AWS
    assert events[:4] == [
        ("Group", "DELETE_COMPLETE"),
        ("Group", "DELETE_IN_PROGRESS"),
        ("Group", "UPDATE_COMPLETE"),
        ("Group", "UPDATE_IN_PROGRESS"),
    ]


REPOSITORY_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Encryption": {"Type": "String", "Default": "AES256"}},
    "Resources": {
        "Repository": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "RepositoryName": "petclinic/fixed",
                "EncryptionConfiguration": {"EncryptionType": {"Ref": "Encryption"}},
            },
        }
    },
}


def test_closed_cloudformation_planned_updates_a_custom_named_replacement_fails() -> None:
    """As on CloudFormation: a replacement that would keep the resource's name cannot happen."""
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("repo", REPOSITORY_TEMPLATE)
        cfn = client("cloudformation")
        _change_set("repo", REPOSITORY_TEMPLATE, "UPDATE", Encryption="KMS")
        stack = cfn.describe_stacks(StackName="repo")["Stacks"][0]
        failed = [
            e["ResourceStatusReason"]
            for e in cfn.describe_stack_events(StackName="repo")["StackEvents"]
            if e["ResourceStatus"] == "UPDATE_FAILED"
        ]
        repositories = client("ecr").describe_repositories()["repositories"]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert failed == [
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
        "Rename petclinic/fixed and update the stack again."
    ]
    assert [r["encryptionConfiguration"]["encryptionType"] for r in repositories] == ["AES256"]


PROTECT_LOG_GROUPS = json.dumps(
    {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["Update:Replace", "Update:Delete"],
                "Resource": "*",
                "Condition": {"StringEquals": {"ResourceType": ["AWS::Logs::LogGroup"]}},
            },
        ]
    }
)


def test_needed_cloudformation_stack_policy() -> None:
    """If this fails, moto fixed cloudformation-stack-policy: delete the workaround (a stack
    policy that denies Update:Replace stops a replacement)."""
    with local_aws(skip={"cloudformation-stack-policy"}) as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        cfn = client("cloudformation")
        cfn.set_stack_policy(StackName="s", StackPolicyBody=PROTECT_LOG_GROUPS)
        renamed = _update("s", GroupName="/t/two")
        cfn.execute_change_set(ChangeSetName=renamed["ChangeSetId"])
        assert _log_groups() == ["/t/two"]


def test_closed_cloudformation_stack_policy() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", REPLACEABLE_TEMPLATE)
        cfn = client("cloudformation")
        cfn.set_stack_policy(StackName="s", StackPolicyBody=PROTECT_LOG_GROUPS)
        denied = _update("s", GroupName="/t/two")
        cfn.execute_change_set(ChangeSetName=denied["ChangeSetId"])
        stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
        reasons = [
            (e["LogicalResourceId"], e["ResourceStatusReason"])
            for e in cfn.describe_stack_events(StackName="s")["StackEvents"]
            if e["ResourceStatus"] == "UPDATE_FAILED"
        ]
        kept = _log_groups()
        # In place is allowed; and a policy that spares the log group lets the replacement through.
        in_place = _update("s", previous=("GroupName",), Days="60")
        cfn.execute_change_set(ChangeSetName=in_place["ChangeSetId"])
        spared = json.loads(PROTECT_LOG_GROUPS)
        del spared["Statement"][1]["Resource"]
        spared["Statement"][1]["NotResource"] = ["LogicalResourceId/Group"]
        cfn.set_stack_policy(StackName="s", StackPolicyBody=json.dumps(spared))
        allowed = _update("s", GroupName="/t/two", Days="60")
        cfn.execute_change_set(ChangeSetName=allowed["ChangeSetId"])
        final = cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"]
        renamed = _log_groups()
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert reasons == [("Group", "Action denied by stack policy: Statement [#2] has a Deny effect")]
    assert kept == ["/t/one"]
    assert final == "UPDATE_COMPLETE"
    assert renamed == ["/t/two"]


SECRET_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Token": {"Type": "String", "NoEcho": True},
        "Label": {"Type": "String", "Default": "one"},
    },
    "Resources": {
        "Copy": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/token", "Type": "String", "Value": {"Ref": "Token"}},
        },
        "Labelled": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/t/label", "Type": "String", "Value": {"Ref": "Label"}},
        },
    },
}


def test_needed_cloudformation_no_echo_parameters() -> None:
    """If this fails, moto fixed cloudformation-no-echo-parameters: delete the workaround
    (DescribeStacks masks a NoEcho parameter)."""
    with local_aws(skip={"cloudformation-no-echo-parameters"}) as hooks:
        _simulating(hooks)
        _change_set("s", SECRET_TEMPLATE, Token="s3cret")
        assert _parameter("s", "Token") == "s3cret"


def test_closed_cloudformation_no_echo_parameters() -> None:
    with local_aws() as hooks:
        _simulating(hooks)
        _change_set("s", SECRET_TEMPLATE, Token="s3cret")
        shown = _parameter("s", "Token")
        # UsePreviousValue keeps the value itself, not the mask.
        cfn = client("cloudformation")
        changed = cfn.create_change_set(
            StackName="s",
            ChangeSetName="c2",
            TemplateBody=json.dumps(SECRET_TEMPLATE),
            ChangeSetType="UPDATE",
            Parameters=[
                {"ParameterKey": "Token", "UsePreviousValue": True},
                {"ParameterKey": "Label", "ParameterValue": "two"},
            ],
        )
        cfn.execute_change_set(ChangeSetName=changed["Id"])
        kept = client("ssm").get_parameter(Name="/t/token")["Parameter"]["Value"]
        still = _parameter("s", "Token")
    assert (shown, still) == ("****", "****")
    assert kept == "s3cret"
