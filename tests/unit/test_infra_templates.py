"""The architecture's facts, read from the templates in infra/ (what the provision workflow deploys):
CIDRs, AZ spread, ports, a NAT per AZ, writer/reader placement, the endpoint list, the parameter
prefix, the flows the security groups allow; and the provision workflow's list of the parameters
an operator may pass, kept in step with the templates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.moto_compat.ecr import LifecycleImage, lifecycle_expired
from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("network", "data", "services", "edge")


@cache
def template(stack: str) -> dict[str, Any]:
    return load_template(ROOT / "infra" / f"{stack}.yaml")


def resources(stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template(stack)["Resources"].items() if r["Type"] == kind}


def az_index(value: Any) -> int:
    """{"Fn::Select": [N, {"Fn::GetAZs": ""}]} -> N."""
    index, azs = value["Fn::Select"]
    assert azs == {"Fn::GetAZs": ""}
    return int(index)


def test_subnets_cidrs_and_az_spread() -> None:
    subnets = resources("network", "AWS::EC2::Subnet")
    layout = {
        name: (r["Properties"]["CidrBlock"], az_index(r["Properties"]["AvailabilityZone"]))
        for name, r in subnets.items()
    }
    assert layout == {
        "PublicSubnetA": ("10.0.1.0/24", 0),
        "PublicSubnetB": ("10.0.2.0/24", 1),
        "AppSubnetA": ("10.0.3.0/24", 0),
        "AppSubnetB": ("10.0.4.0/24", 1),
        "DbSubnetA": ("10.0.5.0/24", 0),
        "DbSubnetB": ("10.0.6.0/24", 1),
    }
    [vpc] = resources("network", "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.0.0.0/16"


def test_a_nat_gateway_with_its_own_elastic_ip_in_each_az_and_app_routes_through_its_own() -> None:
    """Highly available (prod's default): a NAT per AZ, each app subnet through its own. The
    single-nat profile (dev's default) keeps NAT A only and routes both app subnets through it."""
    nats = resources("network", "AWS::EC2::NatGateway")
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == {"PublicSubnetA", "PublicSubnetB"}
    assert len({n["Properties"]["AllocationId"]["Fn::GetAtt"][0] for n in nats.values()}) == 2
    assert (nats["NatGatewayA"].get("Condition"), nats["NatGatewayB"].get("Condition")) == (
        None,
        "HighlyAvailable",
    )
    assert resources("network", "AWS::EC2::EIP")["NatEipB"]["Condition"] == "HighlyAvailable"
    routes = resources("network", "AWS::EC2::Route")
    by_table = {r["Properties"]["RouteTableId"]["Ref"]: r["Properties"] for r in routes.values()}
    assert by_table["PublicRouteTable"]["GatewayId"] == {"Ref": "InternetGateway"}
    assert by_table["AppRouteTableA"]["NatGatewayId"] == {"Ref": "NatGatewayA"}
    assert by_table["AppRouteTableB"]["NatGatewayId"] == {
        "Fn::If": ["HighlyAvailable", {"Ref": "NatGatewayB"}, {"Ref": "NatGatewayA"}]
    }
    assert "DbRouteTable" not in by_table  # the DB subnets have no way out


def test_the_network_profile_is_single_nat_in_dev_and_highly_available_in_prod_by_default() -> None:
    network = template("network")
    profile = network["Parameters"]["NetworkProfile"]
    assert profile["Default"] == "by-environment"
    assert set(profile["AllowedValues"]) == {"by-environment", "single-nat", "highly-available"}
    assert network["Conditions"]["HighlyAvailable"] == {
        "Fn::Or": [
            {"Fn::Equals": [{"Ref": "NetworkProfile"}, "highly-available"]},
            {
                "Fn::And": [
                    {"Fn::Equals": [{"Ref": "NetworkProfile"}, "by-environment"]},
                    {"Fn::Equals": [{"Ref": "EnvironmentName"}, "prod"]},
                ]
            },
        ]
    }


def _endpoint_service(endpoint: dict[str, Any]) -> str:
    return str(endpoint["Properties"]["ServiceName"]["Fn::Sub"]).removeprefix("com.amazonaws.${AWS::Region}.")


def test_the_vpc_endpoints() -> None:
    """Every one highly available; with the single-nat profile only Secrets Manager's (in AZ A:
    the rotation function, whose security group allows HTTPS inside the VPC only, has no other
    way to it), the rest through the NAT gateway."""
    endpoints = resources("network", "AWS::EC2::VPCEndpoint")
    services = {}
    both_azs = [{"Ref": "AppSubnetA"}, {"Ref": "AppSubnetB"}]
    for endpoint in endpoints.values():
        name = _endpoint_service(endpoint)
        services[name] = endpoint["Properties"]["VpcEndpointType"]
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
            if name == "secretsmanager":
                assert "Condition" not in endpoint
                assert endpoint["Properties"]["SubnetIds"] == {
                    "Fn::If": ["HighlyAvailable", both_azs, [{"Ref": "AppSubnetA"}]]
                }
            else:
                assert endpoint["Condition"] == "HighlyAvailable", name
                assert endpoint["Properties"]["SubnetIds"] == both_azs
    assert services == {
        "s3": "Gateway",
        "ecr.api": "Interface",
        "ecr.dkr": "Interface",
        "logs": "Interface",
        "monitoring": "Interface",
        "ssm": "Interface",
        "secretsmanager": "Interface",
        "kms": "Interface",
        "xray": "Interface",
        "bedrock-runtime": "Interface",
    }


def _rules(kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources("network", kind).values()]


def test_security_groups_allow_only_the_architectures_flows() -> None:
    groups = resources("network", "AWS::EC2::SecurityGroup")
    alb = groups["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert sorted(r["FromPort"] for r in alb) == [80, 443]
    endpoints = groups["EndpointsSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert sorted((r["FromPort"], r["CidrIp"]) for r in endpoints) == [
        (443, "10.0.3.0/24"),
        (443, "10.0.4.0/24"),
    ]
    ingress = {
        (r["GroupId"]["Ref"], r["SourceSecurityGroupId"]["Ref"], r["FromPort"], r["ToPort"])
        for r in _rules("AWS::EC2::SecurityGroupIngress")
    }
    assert ingress == {
        ("ServicesSecurityGroup", "LoadBalancerSecurityGroup", 8080, 8080),
        ("ServicesSecurityGroup", "LoadBalancerSecurityGroup", 9090, 9090),
        ("ServicesSecurityGroup", "ServicesSecurityGroup", 8080, 8080),
        ("ServicesSecurityGroup", "ServicesSecurityGroup", 9090, 9090),
        ("ServicesSecurityGroup", "GenAiSecurityGroup", 8080, 8080),
        ("DatabaseSecurityGroup", "ServicesSecurityGroup", 3306, 3306),
        ("DatabaseSecurityGroup", "RotationSecurityGroup", 3306, 3306),
    }
    assert not groups["DatabaseSecurityGroup"]["Properties"].get("SecurityGroupIngress")


def test_the_load_balancer_reaches_only_the_services_ports_and_no_rule_opens_a_range() -> None:
    """The ALB's group had AWS's default allow-all egress, and 8080-9090 opened 1,011 ports for 2."""
    groups = resources("network", "AWS::EC2::SecurityGroup")
    # An inline egress rule replaces the default allow-all; loopback is no destination.
    assert groups["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupEgress"] == [
        {
            "IpProtocol": "-1",
            "CidrIp": "127.0.0.1/32",
            "Description": "no other egress: the ALB calls only the services",
        }
    ]
    egress = {
        (r["DestinationSecurityGroupId"]["Ref"], r["FromPort"], r["ToPort"])
        for r in _rules("AWS::EC2::SecurityGroupEgress")
        if r["GroupId"] == {"Ref": "LoadBalancerSecurityGroup"}
    }
    assert egress == {("ServicesSecurityGroup", 8080, 8080), ("ServicesSecurityGroup", 9090, 9090)}
    standalone = _rules("AWS::EC2::SecurityGroupIngress") + _rules("AWS::EC2::SecurityGroupEgress")
    inline = [
        rule
        for group in groups.values()
        for key in ("SecurityGroupIngress", "SecurityGroupEgress")
        for rule in group["Properties"].get(key, [])
        if rule["IpProtocol"] != "-1"
    ]
    assert all(rule["FromPort"] == rule["ToPort"] for rule in standalone + inline)


def _statements_of(endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = endpoint["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_each_vpc_endpoint_admits_the_accounts_callers_and_where_it_can_the_accounts_resources() -> None:
    account = {"Ref": "AWS::AccountId"}
    by_service = {_endpoint_service(e): e for e in resources("network", "AWS::EC2::VPCEndpoint").values()}
    own_resources = {"s3", "logs", "ssm", "secretsmanager", "kms"}
    for service, endpoint in by_service.items():
        statements = _statements_of(endpoint)
        assert all(s["Effect"] == "Allow" for s in statements)
        [everything] = [s for s in statements if s["Action"] == "*"]
        condition = everything["Condition"]["StringEquals"]
        assert condition["aws:PrincipalAccount"] == account, service
        assert (condition.get("aws:ResourceAccount") == account) == (service in own_resources), service
    # The one exception: ECR's layer bucket, read with the URLs ECR signs (an image pull).
    [layers] = [s for s in _statements_of(by_service["s3"]) if s["Action"] != "*"]
    assert layers["Action"] == "s3:GetObject"
    assert layers["Resource"]["Fn::Sub"].endswith(":s3:::prod-${AWS::Region}-starport-layer-bucket/*")


def test_aurora_serverless_v2_writer_in_a_reader_in_b_in_the_db_subnets() -> None:
    [cluster] = resources("data", "AWS::RDS::DBCluster").values()
    props = cluster["Properties"]
    assert (props["Engine"], props["Port"], props["StorageEncrypted"]) == ("aurora-mysql", 3306, True)
    assert props["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": {"Ref": "MinCapacity"},
        "MaxCapacity": {"Ref": "MaxCapacity"},
        "SecondsUntilAutoPause": {"Ref": "SecondsUntilAutoPause"},
    }
    assert cluster["DeletionPolicy"] == "Snapshot"
    assert set(props["EnableCloudwatchLogsExports"]) >= {"audit", "error", "slowquery"}
    instances = resources("data", "AWS::RDS::DBInstance")
    placement = {
        name: (
            i["Properties"]["DBInstanceClass"],
            az_index(i["Properties"]["AvailabilityZone"]),
            i["Properties"]["PromotionTier"],
        )
        for name, i in instances.items()
    }
    assert placement == {"WriterInstance": ("db.serverless", 0, 0), "ReaderInstance": ("db.serverless", 1, 1)}
    [group] = resources("data", "AWS::RDS::DBSubnetGroup").values()
    assert "DbSubnetIds" in str(group["Properties"]["SubnetIds"])


def test_the_secrets_are_in_the_shape_the_rotation_function_rotates_and_wired_to_it() -> None:
    secrets = resources("data", "AWS::SecretsManager::Secret")
    assert {s["Properties"]["Name"]["Fn::Sub"] for s in secrets.values()} == {
        "petclinic/${EnvironmentName}/aurora/app",
        "petclinic/${EnvironmentName}/aurora/master",
    }
    assert all(s["DeletionPolicy"] == "Retain" for s in secrets.values())
    app_template = secrets["AppSecret"]["Properties"]["GenerateSecretString"]["SecretStringTemplate"][
        "Fn::Sub"
    ]
    assert '"masterarn": "${MasterSecret}"' in app_template
    assert '"username": "petclinic"' in app_template
    attachments = resources("data", "AWS::SecretsManager::SecretTargetAttachment")
    assert {a["Properties"]["SecretId"]["Ref"] for a in attachments.values()} == {"AppSecret", "MasterSecret"}
    [rotation] = resources("data", "AWS::SecretsManager::RotationSchedule").values()
    assert rotation["Properties"]["RotationLambdaARN"] == {"Ref": "RotationFunctionArn"}
    assert rotation["Properties"]["SecretId"] == {"Ref": "AppSecret"}


def test_services_ports_health_checks_circuit_breaker_and_discovery() -> None:
    services = resources("services", "AWS::ECS::Service")
    assert {s["Properties"]["ServiceName"] for s in services.values()} == {
        "customers-service",
        "vets-service",
        "visits-service",
        "admin-server",
    }
    for service in services.values():
        props = service["Properties"]
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
            "Enable": True,
            "Rollback": True,
        }
        assert props["LaunchType"] == "FARGATE"
        assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
        assert "AppSubnetIds" in str(props["NetworkConfiguration"])
    groups = resources("services", "AWS::ElasticLoadBalancingV2::TargetGroup")
    ports = {g["Properties"]["Name"]["Fn::Sub"]: g["Properties"]["Port"] for g in groups.values()}
    assert ports == {
        f"petclinic-${{EnvironmentName}}-{name}{alternate}": port
        for name, port in {"customers": 8080, "vets": 8080, "visits": 8080, "admin-server": 9090}.items()
        for alternate in ("", "-alt")
    }
    assert {g["Properties"]["HealthCheckPath"] for g in groups.values()} == {"/actuator/health"}
    [balancer] = resources("services", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert balancer["Properties"]["Scheme"] == "internet-facing"
    assert "PublicSubnetIds" in str(balancer["Properties"]["Subnets"])
    listeners = resources("services", "AWS::ElasticLoadBalancingV2::Listener")
    assert sorted(listener["Properties"]["Port"] for listener in listeners.values()) == [80, 443]
    [namespace] = resources("services", "AWS::ServiceDiscovery::PrivateDnsNamespace").values()
    assert namespace["Properties"]["Name"] == "petclinic.local"
    assert len(resources("services", "AWS::ServiceDiscovery::Service")) == 4
    repositories = resources("data", "AWS::ECR::Repository")
    assert len(repositories) == 4
    for repository in repositories.values():
        assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert "LifecyclePolicyText" in repository["Properties"]["LifecyclePolicy"]
    [cluster] = resources("services", "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]


def test_each_service_can_shift_traffic_between_two_target_groups() -> None:
    """CANARY, LINEAR and BLUE_GREEN: each service's load balancer names an alternate target group
    like its own, its one production rule and a test rule that matches the same requests only
    with the test header (and before any production rule), and the role ECS shifts them with,
    which may weigh exactly those rules and register tasks in exactly those target groups."""
    found = template("services")["Resources"]
    role = found["DeploymentRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "Sid" in s}
    weighed = {ref["Ref"] for ref in statements["WeighTheServicesRules"]["Resource"]}
    registered = {ref["Ref"] for ref in statements["RegisterTheRevisionsTasks"]["Resource"]}
    production_priorities = [
        r["Properties"]["Priority"]
        for logical_id, r in found.items()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule" and "Test" not in logical_id
    ]
    rules, groups = set(), set()
    for service in resources("services", "AWS::ECS::Service").values():
        [balancer] = service["Properties"]["LoadBalancers"]
        advanced = balancer["AdvancedConfiguration"]
        assert advanced["RoleArn"] == {"Fn::GetAtt": ["DeploymentRole", "Arn"]}
        blue, green = balancer["TargetGroupArn"]["Ref"], advanced["AlternateTargetGroupArn"]["Ref"]
        production, test = advanced["ProductionListenerRule"]["Ref"], advanced["TestListenerRule"]["Ref"]
        blue_props = dict(found[blue]["Properties"])
        green_props = dict(found[green]["Properties"])
        assert green_props.pop("Name")["Fn::Sub"] == blue_props.pop("Name")["Fn::Sub"] + "-alt"
        assert green_props == blue_props
        production_rule, test_rule = found[production]["Properties"], found[test]["Properties"]
        assert production_rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": blue}}]
        assert test_rule["Actions"] == production_rule["Actions"]
        [header] = [c for c in test_rule["Conditions"] if c not in production_rule["Conditions"]]
        assert header["HttpHeaderConfig"]["HttpHeaderName"] == "X-Test-Traffic"
        assert "OriginVerifySecret" in str(header["HttpHeaderConfig"]["Values"])  # not guessable
        assert all(c in test_rule["Conditions"] for c in production_rule["Conditions"])
        assert test_rule["Priority"] < min(production_priorities)
        # ECS weighs one production rule: no other rule forwards to the service's target groups.
        forwarding = {
            logical_id
            for logical_id, r in found.items()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
            and str(r["Properties"]["Actions"])
            in (str([{"Type": "forward", "TargetGroupArn": {"Ref": blue}}]),)
        }
        assert forwarding == {production, test}
        rules |= {production, test}
        groups |= {blue, green}
    assert (weighed, registered) == (rules, groups)


def test_the_deployment_strategy_is_the_environments_unless_set() -> None:
    assert template("services")["Mappings"]["EnvironmentDeployments"] == {
        "dev": {"Strategy": "ROLLING", "BakeMinutes": 0},
        "prod": {"Strategy": "CANARY", "BakeMinutes": 10},
    }
    for service in resources("services", "AWS::ECS::Service").values():
        deployment = service["Properties"]["DeploymentConfiguration"]
        assert deployment["Strategy"] == {
            "Fn::If": [
                "HasDeploymentStrategy",
                {"Ref": "DeploymentStrategy"},
                {"Fn::FindInMap": ["EnvironmentDeployments", {"Ref": "EnvironmentName"}, "Strategy"]},
            ]
        }
        canary = deployment["CanaryConfiguration"]["Fn::If"]
        linear = deployment["LinearConfiguration"]["Fn::If"]
        assert (canary[0], canary[1]["CanaryPercent"], canary[2]) == (
            "IsCanary",
            {"Ref": "CanaryPercent"},
            {"Ref": "AWS::NoValue"},
        )
        assert (linear[0], linear[1]["StepPercent"], linear[2]) == (
            "IsLinear",
            {"Ref": "LinearStepPercent"},
            {"Ref": "AWS::NoValue"},
        )


def test_the_lifecycle_hook_is_called_after_test_traffic_and_at_each_production_step() -> None:
    for service in resources("services", "AWS::ECS::Service").values():
        condition, [hook], absent = service["Properties"]["DeploymentConfiguration"]["LifecycleHooks"][
            "Fn::If"
        ]
        assert (condition, absent) == ("HasLifecycleHook", {"Ref": "AWS::NoValue"})
        assert hook == {
            "HookTargetArn": {"Ref": "LifecycleHookFunctionArn"},
            "RoleArn": {"Fn::GetAtt": ["LifecycleHookRole", "Arn"]},
            "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"],
        }
    role = template("services")["Resources"]["LifecycleHookRole"]
    assert role["Condition"] == "HasLifecycleHook"


@pytest.mark.parametrize(
    ("parameters", "strategy", "configurations"),
    [
        ({}, "ROLLING", set()),
        ({"EnvironmentName": "prod"}, "CANARY", {"CanaryConfiguration"}),
        ({"EnvironmentName": "prod", "DeploymentStrategy": "LINEAR"}, "LINEAR", {"LinearConfiguration"}),
        ({"DeploymentStrategy": "BLUE_GREEN"}, "BLUE_GREEN", set()),
        ({"DeploymentStrategy": "CANARY"}, "CANARY", {"CanaryConfiguration"}),
    ],
)
def test_each_strategy_gets_only_its_own_configuration(
    parameters: dict[str, str], strategy: str, configurations: set[str]
) -> None:
    """ECS takes canaryConfiguration only with CANARY and linearConfiguration only with LINEAR."""
    from template_eval import Evaluator  # noqa: PLC0415

    services = template("services")
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    values = Evaluator(services, {"PermissionsBoundaryArn": boundary, **parameters})
    for name, service in resources("services", "AWS::ECS::Service").items():
        deployment = values.value(service["Properties"]["DeploymentConfiguration"])
        assert deployment["Strategy"] == strategy, name
        assert {k for k in deployment if k.endswith("Configuration")} == configurations, name
        assert deployment["BakeTimeInMinutes"] == (10 if parameters.get("EnvironmentName") == "prod" else 0)


def test_the_first_create_starts_no_task_and_keeps_the_repositories_apart() -> None:
    """On an empty account the services stack creates its services at 0 tasks (no image, no
    database user yet: tasks would fail and the circuit breaker would roll the stack back), and
    the repositories are in the data stack, before it: the first images can be pushed before any
    service starts, and a failed services stack never deletes them."""
    parameters = template("services")["Parameters"]
    counts = {
        name: p["Default"] for name, p in parameters.items() if name.endswith(("DesiredCount", "MinTasks"))
    }
    assert len(counts) == 7
    assert set(counts.values()) == {"0"}
    assert resources("services", "AWS::ECR::Repository") == {}
    images = [
        container["Image"]
        for definition in resources("services", "AWS::ECS::TaskDefinition").values()
        for container in definition["Properties"]["ContainerDefinitions"]
        if container["Name"] != "xray-daemon"
    ]
    assert len(images) == 4
    assert all("-data-" in str(image) and "RepositoryUri" in str(image) for image in images)


def test_scalable_targets_and_target_tracking_for_the_api_services() -> None:
    targets = resources("services", "AWS::ApplicationAutoScaling::ScalableTarget")
    assert set(targets) == {"CustomersScalableTarget", "VetsScalableTarget", "VisitsScalableTarget"}
    policies = resources("services", "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert {p["Properties"]["PolicyType"] for p in policies.values()} == {"TargetTrackingScaling"}


def test_waf_and_api_gateway_in_front_and_the_genai_routes() -> None:
    acl = resources("edge", "AWS::WAFv2::WebACL")["WebAcl"]
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert "RateBasedStatement" in rules["rate-limit-per-ip"]["Statement"]
    assert len({r["Priority"] for r in rules.values()}) == len(rules)
    assert {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules.values()
        if "ManagedRuleGroupStatement" in r["Statement"]
    } >= {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    }
    associations = resources("edge", "AWS::WAFv2::WebACLAssociation")
    assert len(associations) == 2  # the API stage and the ALB (each its own ACL: below)
    methods = resources("edge", "AWS::ApiGateway::Method")
    assert methods["ProxyMethod"]["Properties"]["Integration"]["Type"] == "HTTP_PROXY"
    for name in ("GenAiChatMethod", "GenAiChatClientMethod"):
        assert methods[name]["Condition"] == "HasGenAi"
        assert methods[name]["Properties"]["Integration"]["Type"] == "AWS_PROXY"
        assert methods[name]["Properties"]["HttpMethod"] == "POST"
    for name in ("GenAiChatNotDeployedMethod", "GenAiChatClientNotDeployedMethod"):
        assert methods[name]["Condition"] == "NoGenAi"
        integration = methods[name]["Properties"]["Integration"]
        assert integration["IntegrationResponses"][0]["StatusCode"] == "503"
    paths = [r["Properties"]["PathPart"] for r in resources("edge", "AWS::ApiGateway::Resource").values()]
    assert sorted(paths) == ["admin", "api", "chat", "chatclient", "genai", "{proxy+}", "{proxy+}"]


def _genai_methods() -> dict[str, dict[str, Any]]:
    """The edge's methods that reach the GenAI function, by the path they serve."""
    api = resources("edge", "AWS::ApiGateway::Resource")
    paths = {name: r["Properties"]["PathPart"] for name, r in api.items()}
    found = {}
    for name, method in resources("edge", "AWS::ApiGateway::Method").items():
        props = method["Properties"]
        if "GenAiFunctionArn" in str(props["Integration"].get("Uri", "")):
            found[paths[props["ResourceId"]["Ref"]]] = {"name": name, **props}
    return found


def test_the_programmatic_genai_route_requires_an_api_key_of_a_usage_plan_on_the_stage() -> None:
    """The audit: /api/genai/{proxy+} ANY took no key, so /api/genai/chat skipped the key and the
    quota the control plane's own GenAI API sets."""
    methods = _genai_methods()
    assert set(methods) == {"chat", "chatclient"}  # no greedy GenAI route: nothing else reaches it
    assert methods["chat"]["ApiKeyRequired"] is True
    assert methods["chatclient"].get("ApiKeyRequired", False) is False
    [plan] = resources("edge", "AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "Stage"}}]
    assert plan["Properties"]["Throttle"] == {"RateLimit": 5, "BurstLimit": 10}
    assert plan["Properties"]["Quota"] == {"Limit": 5000, "Period": "DAY"}
    assert template("edge")["Outputs"]["UsagePlanId"]["Value"] == {"Ref": "UsagePlan"}
    # Only the function's POST routes may invoke it.
    [permission] = resources("edge", "AWS::Lambda::Permission").values()
    assert permission["Properties"]["SourceArn"]["Fn::Sub"].endswith("/*/POST/api/genai/*")


CHATCLIENT_SCOPE = {
    "ByteMatchStatement": {
        "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "CONTAINS",
        "SearchString": "/api/genai/chatclient",
        "TextTransformations": [
            {"Priority": 0, "Type": "URL_DECODE"},
            {"Priority": 1, "Type": "NORMALIZE_PATH"},
            {"Priority": 2, "Type": "LOWERCASE"},
        ],
    }
}


def _chatclient_rule(acl: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = acl["Properties"]["Rules"]
    [rule] = [r for r in rules if r["Name"] == "genai-chatclient-per-client"]
    return rule


def test_the_keyless_chat_route_is_rate_limited_per_client_by_the_waf() -> None:
    """Per client IP (on a REST API stage the WAF sees the caller's address), on that path only,
    blocking, with its own operator-set limit."""
    acl = resources("edge", "AWS::WAFv2::WebACL")["WebAcl"]
    rule = _chatclient_rule(acl)
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate == {
        "Limit": {"Ref": "ChatClientRateLimitPer5Minutes"},
        "EvaluationWindowSec": 300,
        "AggregateKeyType": "IP",
        "ScopeDownStatement": CHATCLIENT_SCOPE,
    }
    parameters = template("edge")["Parameters"]
    # Tighter than the per-IP limit of the whole API (test_template_parameters: whole numbers, 10+).
    assert int(parameters["ChatClientRateLimitPer5Minutes"]["Default"]) < int(
        parameters["RateLimitPer5Minutes"]["Default"]
    )


def test_the_control_planes_genai_api_has_the_same_rules_as_the_edge() -> None:
    """Two public entries to the same function: the key and its limits on /chat, no key and the
    same per-client WAF rule on /chatclient."""
    control = load_template(ROOT / "template.yaml")
    api = control["Resources"]["GenAiApi"]["Properties"]
    paths = api["DefinitionBody"]["paths"]
    assert paths["/api/genai/chat"]["post"]["security"] == [{"api_key": []}]
    assert "security" not in paths["/api/genai/chatclient"]["post"]
    [edge_plan] = resources("edge", "AWS::ApiGateway::UsagePlan").values()
    usage = api["Auth"]["UsagePlan"]
    assert usage["Throttle"] == edge_plan["Properties"]["Throttle"]
    assert usage["Quota"] == edge_plan["Properties"]["Quota"]
    acl = control["Resources"]["GenAiApiWebAcl"]
    rule = _chatclient_rule(acl)
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"] == {
        "Limit": {"Ref": "GenAiChatClientRateLimitPer5Minutes"},
        "EvaluationWindowSec": 300,
        "AggregateKeyType": "IP",
        "ScopeDownStatement": CHATCLIENT_SCOPE,
    }
    defaults = (
        control["Parameters"]["GenAiChatClientRateLimitPer5Minutes"]["Default"],
        template("edge")["Parameters"]["ChatClientRateLimitPer5Minutes"]["Default"],
    )
    assert defaults[0] == defaults[1]
    association = control["Resources"]["GenAiApiProtection"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["GenAiApiWebAcl", "Arn"]}
    assert association["ResourceArn"]["Fn::Sub"].endswith("/restapis/${GenAiApi}/stages/${GenAiApi.Stage}")


@dataclass(frozen=True)
class Image:
    digest: str
    pushed_day: int
    tags: tuple[str, ...] = ()


def expired_by(policy: dict[str, Any], images: list[Image], today: int) -> set[str]:
    """The digests an ECR lifecycle policy expires, by the evaluation rules ECR documents (the
    local cloud's evaluator, petclinic_local/moto_compat/ecr.py, which the local cloud runs)."""
    day = 86_400
    listed = [LifecycleImage(i.digest, i.tags, i.pushed_day * day) for i in images]
    return lifecycle_expired(policy, listed, now=today * day)


@pytest.mark.parametrize("repository", sorted(resources("data", "AWS::ECR::Repository")))
def test_the_lifecycle_policy_keeps_the_digests_the_task_definitions_pin(repository: str) -> None:
    """dev moves tags (a rebuilt 1.0.0): the deploy workflow pins digests, so the image a service
    runs (and the one before it, the rollback's) is untagged as soon as its tag moves. The
    workflow tags both deployed-<hex> before any task runs the new one: rule 1 keeps those for
    3650 days whatever else is pushed (docs/provisioning.md)."""
    text = resources("data", "AWS::ECR::Repository")[repository]["Properties"]["LifecyclePolicy"]
    policy = json.loads(text["LifecyclePolicyText"])
    pinned = [Image("previous", 0, ("deployed-0",)), Image("current", 1, ("deployed-1",))]
    rebuilds = [Image(f"rebuild-{day}", day) for day in range(3, 200)]
    tagged = [Image(f"release-{n}", 200 + n, (f"1.{n}.0",)) for n in range(60)]
    expired = expired_by(policy, [*pinned, *rebuilds, *tagged], today=3000)
    assert not {"previous", "current"} & expired
    # The others as before: untagged beyond the 100 newest, tagged beyond the 50 newest images.
    assert {f"rebuild-{day}" for day in range(3, 100)} <= expired
    assert not {f"rebuild-{day}" for day in range(100, 200)} & expired
    assert {f"release-{n}" for n in range(10)} <= expired
    assert not {f"release-{n}" for n in range(10, 60)} & expired
    # Rule 1's own bound: ten years after their push.
    assert expired_by(policy, pinned, today=3651) == {"previous"}
    # Without the deployed- tag (before this rule), 100 newer untagged images expired a running one.
    unprotected = [Image("current", 1), *(Image(f"rebuild-{day}", day) for day in range(2, 102))]
    assert expired_by(policy, unprotected, today=400) == {"current"}


@pytest.mark.parametrize("stack", STACKS)
def test_parameter_store_names_are_under_the_environments_prefix(stack: str) -> None:
    for parameter in resources(stack, "AWS::SSM::Parameter").values():
        assert parameter["Properties"]["Name"]["Fn::Sub"].startswith("/petclinic/${EnvironmentName}/")


def test_the_workflows_list_of_operator_parameters_matches_the_templates() -> None:
    control_plane = load_template(ROOT / "template.yaml")
    listed = control_plane["Resources"]["ProvisionStateMachine"]["Properties"]["DefinitionSubstitutions"][
        "InfraParameterNames"
    ]
    names = dict(part.split(":", 1) for part in listed.strip().split(";"))
    from petclinic_ops.domain import provision  # noqa: PLC0415

    wired = {
        "EnvironmentName",
        "RotationFunctionArn",
        "LifecycleHookFunctionArn",
        "PermissionsBoundaryArn",
        provision.API_DEFINITION,
        provision.API_SLOT,
        *(name for names in provision.FROM_UPSTREAM.values() for name in names),
    }
    for stack in STACKS:
        expected = [name for name in template(stack).get("Parameters", {}) if name not in wired]
        assert names[stack].split(",") == expected, stack


def test_every_stack_exports_under_its_own_prefix() -> None:
    for stack in STACKS:
        for name, output in template(stack).get("Outputs", {}).items():
            export = output.get("Export")
            if export:
                assert re.fullmatch(
                    rf"petclinic-\$\{{EnvironmentName\}}-{stack}-{name}", export["Name"]["Fn::Sub"]
                )


def _statements(logical_id: str) -> list[dict[str, Any]]:
    control_plane = load_template(ROOT / "template.yaml")
    policies = control_plane["Resources"][logical_id]["Properties"]["Policies"]
    return [s for policy in policies if "Statement" in policy for s in policy["Statement"]]


def test_the_data_stacks_policy_covers_its_stateful_resources_and_the_roles_may_manage_it() -> None:
    from petclinic_ops.domain import provision_changes  # noqa: PLC0415

    protected = set(provision_changes.PROTECTED_TYPES)
    for stack in provision_changes.POLICY_STACKS:
        kinds = {r["Type"] for r in template(stack)["Resources"].values()}
        assert kinds & protected, f"{stack}: a stack policy for a stack without stateful resources"
    # Aurora, its secrets, its key and its log groups are all in the data stack, protected.
    data = {r["Type"] for r in template("data")["Resources"].values()}
    assert {"AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::SecretsManager::Secret"} <= data & protected
    # The workflow sets the policy on exactly those stacks; the function reads it.
    [setter] = [
        s for s in _statements("ProvisionStateMachine") if "cloudformation:SetStackPolicy" in str(s["Action"])
    ]
    [stack] = provision_changes.POLICY_STACKS
    assert setter["Resource"]["Fn::Sub"].endswith(f":stack/petclinic-${{EnvironmentName}}-{stack}/*")
    readers = [
        s for s in _statements("ProvisionStackFunction") if "cloudformation:GetStackPolicy" in s["Action"]
    ]
    assert readers, "the provision function reads each stack's policy"


ORIGIN_VALUE = "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString:value}}"


def _conditions(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["Field"]: c for c in rule["Properties"]["Conditions"]}


def test_the_alb_forwards_only_requests_carrying_the_edges_origin_header() -> None:
    """The ALB is internet-facing: without the header API Gateway's integration sends (a value
    from Secrets Manager, through dynamic references CloudFormation neither logs nor keeps) a
    request gets the listener's fixed 403."""
    secret = resources("services", "AWS::SecretsManager::Secret")["OriginVerifySecret"]
    generate = secret["Properties"]["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "value"
    assert generate["ExcludePunctuation"] is True  # no ELB wildcard (* ?) in a rule's value
    assert int(generate["PasswordLength"]) <= 128  # ELB's limit on an http-header value
    rules = resources("services", "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert len(rules) == 8  # a production rule and a test rule per service
    for name, rule in rules.items():
        assert [a["Type"] for a in rule["Properties"]["Actions"]] == ["forward"], name
        headers = [
            c["HttpHeaderConfig"] for c in rule["Properties"]["Conditions"] if c["Field"] == "http-header"
        ]
        assert {"HttpHeaderName": "X-Origin-Verify", "Values": [{"Fn::Sub": ORIGIN_VALUE}]} in headers, name
    listeners = resources("services", "AWS::ElasticLoadBalancingV2::Listener")
    forbidden = {
        "Type": "fixed-response",
        "FixedResponseConfig": {
            "StatusCode": "403",
            "ContentType": "application/json",
            "MessageBody": '{"message": "forbidden"}',
        },
    }
    assert listeners["HttpsListener"]["Properties"]["DefaultActions"] == [forbidden]
    http_default = listeners["HttpListener"]["Properties"]["DefaultActions"][0]["Fn::If"]
    assert http_default[0] == "HasCertificate"
    assert http_default[1]["Type"] == "redirect"
    assert http_default[2] == forbidden
    outputs = template("services")["Outputs"]
    assert outputs["OriginVerifySecretArn"]["Value"] == {"Ref": "OriginVerifySecret"}
    # The edge's proxy integration sends it, read from the export (HTTPS when there is a certificate).
    proxy = resources("edge", "AWS::ApiGateway::Method")["ProxyMethod"]["Properties"]["Integration"]
    template_string, variables = proxy["RequestParameters"]["integration.request.header.X-Origin-Verify"][
        "Fn::Sub"
    ]
    assert template_string == "'{{resolve:secretsmanager:${Secret}:SecretString:value}}'"
    assert variables["Secret"] == {
        "Fn::ImportValue": {"Fn::Sub": "petclinic-${EnvironmentName}-services-OriginVerifySecretArn"}
    }
    assert outputs["OriginUrl"]["Value"]["Fn::If"][0] == "HasCertificate"
    # HTTPS to the certificate's own domain (a certificate without one is refused by the stack's Rules).
    assert outputs["OriginUrl"]["Value"]["Fn::If"][1] == {"Fn::Sub": "https://${OriginDomainName}"}


def test_admin_is_not_routed_by_the_edge_and_the_alb_forwards_it_only_from_the_allowed_cidr() -> None:
    edge = resources("edge", "AWS::ApiGateway::Resource")
    assert edge["AdminResource"]["Properties"] == {
        "RestApiId": {"Ref": "Api"},
        "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
        "PathPart": "admin",
    }
    assert edge["AdminProxyResource"]["Properties"]["ParentId"] == {"Ref": "AdminResource"}
    methods = resources("edge", "AWS::ApiGateway::Method")
    on_admin = [m for m in methods.values() if m["Properties"]["ResourceId"]["Ref"].startswith("Admin")]
    assert len(on_admin) == 2
    for method in on_admin:
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "MOCK"
        assert "Uri" not in integration
        assert integration["IntegrationResponses"][0]["StatusCode"] == "404"
    for name in ("DeploymentWithGenAi", "DeploymentWithoutGenAi"):
        deployment = template("edge")["Resources"][name]
        assert {"AdminNotRoutedMethod", "AdminProxyNotRoutedMethod"} <= set(deployment["DependsOn"])
    rule = resources("services", "AWS::ElasticLoadBalancingV2::ListenerRule")["AdminServerListenerRule"]
    conditions = _conditions(rule)
    assert set(conditions) == {"path-pattern", "http-header", "source-ip"}
    assert conditions["source-ip"]["SourceIpConfig"]["Values"] == [
        {"Fn::If": ["HasAdminAllowedCidr", {"Ref": "AdminAllowedCidr"}, "127.0.0.1/32"]}
    ]
    parameter = template("services")["Parameters"]["AdminAllowedCidr"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("203.0.113.0/24")
    assert pattern.fullmatch("")
    assert not pattern.fullmatch("0.0.0.0")
    assert not pattern.fullmatch("10.0.0.0/33")


def test_aurora_requires_tls_and_writes_the_logs_it_exports() -> None:
    [group] = resources("data", "AWS::RDS::DBClusterParameterGroup").values()
    props = group["Properties"]
    assert props["Family"] == "aurora-mysql8.0"
    parameters = props["Parameters"]
    assert parameters["require_secure_transport"] == "ON"
    assert (parameters["server_audit_logging"], parameters["slow_query_log"]) == ("1", "1")
    assert {"CONNECT", "QUERY_DCL", "QUERY_DDL"} <= set(parameters["server_audit_events"].split(","))
    assert float(parameters["long_query_time"]) > 0
    assert parameters["log_output"] == "FILE"  # RDS publishes the log files to CloudWatch Logs
    [cluster] = resources("data", "AWS::RDS::DBCluster").values()
    assert cluster["Properties"]["DBClusterParameterGroupName"] == {"Ref": "ClusterParameterGroup"}
    assert {"audit", "slowquery"} <= set(cluster["Properties"]["EnableCloudwatchLogsExports"])


def test_containers_have_a_read_only_root_and_a_writable_tmp() -> None:
    """Security Hub ECS.5; Spring Boot (Tomcat, the JVM) writes to /tmp only."""
    for name, definition in resources("services", "AWS::ECS::TaskDefinition").items():
        props = definition["Properties"]
        assert props["Volumes"] == [{"Name": "tmp"}], name
        for container in props["ContainerDefinitions"]:
            assert container["ReadonlyRootFilesystem"] is True, (name, container["Name"])
            if container["Name"] != "xray-daemon":
                assert container["MountPoints"] == [
                    {"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}
                ]


def test_the_services_tag_their_tasks_with_the_environment() -> None:
    for name, service in resources("services", "AWS::ECS::Service").items():
        props = service["Properties"]
        assert props["PropagateTags"] == "SERVICE", name
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        assert tags == {
            "app": "petclinic",
            "service": props["ServiceName"],
            "environment": {"Ref": "EnvironmentName"},
        }


def test_the_alb_has_its_own_web_acl_counting_clients_by_their_forwarded_address() -> None:
    """On the ALB every request comes from API Gateway's addresses: the stage's per-IP rule
    there would count all clients together and block ordinary traffic at the limit."""
    acls = resources("edge", "AWS::WAFv2::WebACL")
    associations = {
        a["Properties"]["ResourceArn"].get("Fn::ImportValue", {}).get("Fn::Sub", "stage"): a["Properties"][
            "WebACLArn"
        ]["Fn::GetAtt"][0]
        for a in resources("edge", "AWS::WAFv2::WebACLAssociation").values()
    }
    assert associations == {
        "stage": "WebAcl",
        "petclinic-${EnvironmentName}-services-LoadBalancerArn": "LoadBalancerWebAcl",
    }
    rules = {r["Name"]: r for r in acls["LoadBalancerWebAcl"]["Properties"]["Rules"]}
    rate = rules["rate-limit-per-forwarded-ip"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "FORWARDED_IP"
    assert rate["ForwardedIPConfig"] == {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}
    assert not any(
        r["Statement"].get("RateBasedStatement", {}).get("AggregateKeyType") == "IP" for r in rules.values()
    )
    assert "AWSManagedRulesKnownBadInputsRuleSet" in str(rules)
    logged = {
        c["Properties"]["ResourceArn"]["Fn::GetAtt"][0]
        for c in resources("edge", "AWS::WAFv2::LoggingConfiguration").values()
    }
    assert logged == {"WebAcl", "LoadBalancerWebAcl"}
