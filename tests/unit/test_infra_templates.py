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
    nats = resources("network", "AWS::EC2::NatGateway")
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == {"PublicSubnetA", "PublicSubnetB"}
    assert len({n["Properties"]["AllocationId"]["Fn::GetAtt"][0] for n in nats.values()}) == 2
    routes = resources("network", "AWS::EC2::Route")
    by_table = {r["Properties"]["RouteTableId"]["Ref"]: r["Properties"] for r in routes.values()}
    assert by_table["PublicRouteTable"]["GatewayId"] == {"Ref": "InternetGateway"}
    assert by_table["AppRouteTableA"]["NatGatewayId"] == {"Ref": "NatGatewayA"}
    assert by_table["AppRouteTableB"]["NatGatewayId"] == {"Ref": "NatGatewayB"}
    assert "DbRouteTable" not in by_table  # the DB subnets have no way out


def test_the_vpc_endpoints() -> None:
    endpoints = resources("network", "AWS::EC2::VPCEndpoint")
    services = {}
    for endpoint in endpoints.values():
        name = endpoint["Properties"]["ServiceName"]["Fn::Sub"].removeprefix("com.amazonaws.${AWS::Region}.")
        services[name] = endpoint["Properties"]["VpcEndpointType"]
        if endpoint["Properties"]["VpcEndpointType"] == "Interface":
            assert endpoint["Properties"]["SubnetIds"] == [{"Ref": "AppSubnetA"}, {"Ref": "AppSubnetB"}]
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True
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
        ("ServicesSecurityGroup", "LoadBalancerSecurityGroup", 8080, 9090),
        ("ServicesSecurityGroup", "ServicesSecurityGroup", 8080, 9090),
        ("ServicesSecurityGroup", "GenAiSecurityGroup", 8080, 8080),
        ("DatabaseSecurityGroup", "ServicesSecurityGroup", 3306, 3306),
        ("DatabaseSecurityGroup", "RotationSecurityGroup", 3306, 3306),
    }
    assert not groups["DatabaseSecurityGroup"]["Properties"].get("SecurityGroupIngress")


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
    ports = {
        g["Properties"]["Name"]["Fn::Sub"].rsplit("-", 1)[-1]: g["Properties"]["Port"]
        for g in groups.values()
    }
    assert ports == {"customers": 8080, "vets": 8080, "visits": 8080, "server": 9090}
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
    [acl] = resources("edge", "AWS::WAFv2::WebACL").values()
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
    assert len(associations) == 2  # the API stage and the ALB
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
    assert sorted(paths) == ["api", "chat", "chatclient", "genai", "{proxy+}"]


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
    [acl] = resources("edge", "AWS::WAFv2::WebACL").values()
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


def _selected(selection: dict[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "tagged":
        prefixes = selection.get("tagPrefixList", [])
        return bool(image.tags) and any(t.startswith(p) for t in image.tags for p in prefixes)
    return True  # any


def expired_by(policy: dict[str, Any], images: list[Image], today: int) -> set[str]:
    """The digests an ECR lifecycle policy expires, by the evaluation rules ECR documents: rules in
    rulePriority order; imageCountMoreThan expires the selected images beyond the N most recently
    pushed, sinceImagePushed those pushed more than N days ago; an image that a rule's tag
    selection matches cannot be expired by a rule of lower priority (it still counts there)."""
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        matching = [image for image in images if _selected(selection, image)]
        if selection["countType"] == "imageCountMoreThan":
            newest_first = sorted(matching, key=lambda image: -image.pushed_day)
            chosen = newest_first[selection["countNumber"] :]
        else:
            chosen = [image for image in matching if today - image.pushed_day > selection["countNumber"]]
        expired |= {image.digest for image in chosen if image.digest not in claimed}
        claimed |= {image.digest for image in matching}
    return expired


@pytest.mark.parametrize("repository", sorted(resources("data", "AWS::ECR::Repository")))
def test_the_lifecycle_policy_keeps_the_digests_the_task_definitions_pin(repository: str) -> None:
    """dev moves tags (a rebuilt 1.0.0): the deploy workflow pins digests, so the image a service
    runs (and the one before it, the rollback's) is untagged as soon as its tag moves. Day 0:
    previous pushed as 1.0.0 and deployed; day 1: current, the same tag, deployed; day 2: a rebuild
    whose deployment was rolled back: current still runs, untagged. A month later both stay; only
    once 100 newer untagged images exist does the oldest go (docs/provisioning.md)."""
    text = resources("data", "AWS::ECR::Repository")[repository]["Properties"]["LifecyclePolicy"]
    policy = json.loads(text["LifecyclePolicyText"])
    pinned = [Image("previous", 0), Image("current", 1)]
    assert expired_by(policy, [*pinned, Image("rebuilt", 2, ("1.0.0",))], today=30) == set()
    # The bound: 99 newer untagged images keep both, the 100th newer one expires the oldest.
    rebuilds = [Image(f"rebuild-{day}", day) for day in range(3, 101)]
    assert expired_by(policy, [*pinned, *rebuilds], today=400) == set()
    assert expired_by(policy, [*pinned, *rebuilds, Image("rebuild-101", 101)], today=400) == {"previous"}
    # Tagged images beyond the 50 newest go; the untagged pinned ones are not theirs to expire.
    tagged = [Image(f"release-{n}", 200 + n, (f"1.{n}.0",)) for n in range(60)]
    assert expired_by(policy, [*pinned, *tagged], today=400) == {f"release-{n}" for n in range(10)}


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
