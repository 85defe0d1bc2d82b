"""The edge stack (infra/edge.yaml) as the provision workflow makes it on the local cloud, with the
GenAI function's live alias: POST /api/genai/chat needs an API key of the stage's usage plan,
POST /api/genai/chatclient takes none and the web ACL limits each client IP there. (The local
cloud serves no HTTP for this API: what is checked is what API Gateway and WAF hold.)"""

from __future__ import annotations

import json
from typing import Any

from petclinic_local import provisioning
from petclinic_local.cloud import ACCOUNT, LocalCloud


def _edge_api(cloud: LocalCloud) -> tuple[str, dict[str, Any]]:
    apigateway = cloud.client("apigateway")
    [api] = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == "petclinic-dev"]
    resources = apigateway.get_resources(restApiId=api["id"], limit=500)["items"]
    return api["id"], {r["path"]: r for r in resources}


def test_the_genai_routes_need_a_key_on_chat_and_a_per_client_limit_on_chatclient(cloud: LocalCloud) -> None:
    live = cloud.outputs["GenAiLiveAliasArn"]
    report = provisioning.provision(
        cloud, {"environment": "dev", "stacks": ["edge"], "parameters": {"edge": {"GenAiFunctionArn": live}}}
    )
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    apigateway = cloud.client("apigateway")
    api_id, by_path = _edge_api(cloud)
    assert "/api/genai/{proxy+}" not in by_path  # no greedy route reaches the function
    chat = apigateway.get_method(
        restApiId=api_id, resourceId=by_path["/api/genai/chat"]["id"], httpMethod="POST"
    )
    chatclient = apigateway.get_method(
        restApiId=api_id, resourceId=by_path["/api/genai/chatclient"]["id"], httpMethod="POST"
    )
    assert chat["apiKeyRequired"] is True
    assert chatclient["apiKeyRequired"] is False
    assert live in chat["methodIntegration"]["uri"]
    assert live in chatclient["methodIntegration"]["uri"]
    [plan] = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == "petclinic-dev-genai-chat"]
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "dev"}]
    assert (plan["throttle"], plan["quota"]) == (
        {"rateLimit": 5.0, "burstLimit": 10},
        {"limit": 5000, "period": "DAY"},
    )
    wafv2 = cloud.client("wafv2")
    [summary] = [a for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == "petclinic-dev"]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    [rule] = [r for r in acl["Rules"] if r["Name"] == "genai-chatclient-per-client"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"]) == (100, "IP")
    scope = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert (scope["FieldToMatch"], scope["SearchString"]) == ({"UriPath": {}}, b"/api/genai/chatclient")


def test_the_edge_stack_sets_the_accounts_cloudwatch_role_its_stage_logs_with(cloud: LocalCloud) -> None:
    """API Gateway writes a stage's access and execution logs with the account's CloudWatch role
    (AWS::ApiGateway::Account); the edge stack creates it (ApiGatewayAccountRole=create, the
    default) under the workload path, with the workload boundary, trusted by API Gateway only."""
    account = cloud.client("apigateway").get_account()
    role_arn = account["cloudwatchRoleArn"]
    assert role_arn == f"arn:aws:iam::{ACCOUNT}:role/petclinic-workload/petclinic-dev-apigateway-logs"
    role = cloud.client("iam").get_role(RoleName="petclinic-dev-apigateway-logs")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == cloud.outputs["WorkloadBoundaryArn"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}


def test_a_stage_that_logs_is_refused_while_the_account_has_no_cloudwatch_role(cloud: LocalCloud) -> None:
    """As API Gateway refuses it ("CloudWatch Logs role ARN must be set in account settings to
    enable logging"): the edge stack told the account has a role (existing) on an account without
    one fails and rolls back."""
    apigateway = cloud.client("apigateway")
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    refused = provisioning.provision(
        cloud,
        {
            "environment": "dev",
            "stacks": ["edge"],
            "parameters": {"edge": {"ApiGatewayAccountRole": "existing"}},
        },
    )
    assert refused["execution"]["status"] == "FAILED"
    assert "CloudWatch Logs role ARN must be set in account settings to enable logging" in json.dumps(
        refused["execution"]
    )
    assert not apigateway.get_account().get("cloudwatchRoleArn")
    edge = cloud.client("cloudformation").describe_stacks(StackName="petclinic-dev-edge")["Stacks"][0]
    assert edge["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"


def test_the_alb_forwards_only_what_carries_the_edges_origin_header_and_the_edge_never_routes_admin(
    cloud: LocalCloud,
) -> None:
    """The ALB is internet-facing: each forwarding rule needs the header API Gateway's proxy
    integration sends (the services stack's secret, resolved by CloudFormation into both),
    anything else gets 403; /admin has no route through the edge and needs an allowed address
    on the ALB (none by default); the ALB has its own web ACL, counting clients by the address
    API Gateway forwards."""
    secret = cloud.client("secretsmanager").get_secret_value(SecretId="petclinic/dev/services/origin-verify")
    value = json.loads(secret["SecretString"])["value"]
    assert len(value) == 64
    assert value.isalnum()
    elbv2 = cloud.client("elbv2")
    [balancer] = elbv2.describe_load_balancers(Names=["petclinic-dev"])["LoadBalancers"]
    [listener] = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    [default] = listener["DefaultActions"]
    assert (default["Type"], default["FixedResponseConfig"]["StatusCode"]) == ("fixed-response", "403")
    rules = [
        r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]
    ]
    assert len(rules) == 8  # each service's production rule and its test rule
    for rule in rules:
        assert [a["Type"] for a in rule["Actions"]] == ["forward"]
        headers = {
            c["HttpHeaderConfig"]["HttpHeaderName"]: c["HttpHeaderConfig"]["Values"]
            for c in rule["Conditions"]
            if c["Field"] == "http-header"
        }
        assert headers["X-Origin-Verify"] == [value]
        # A test rule also needs X-Test-Traffic, with the same secret value (nothing a client can guess).
        assert headers.get("X-Test-Traffic", [value]) == [value]
    assert len([r for r in rules if any("X-Test-Traffic" in str(c) for c in r["Conditions"])]) == 4
    [admin] = [r for r in rules if "/admin" in str(r["Conditions"]) and "X-Test-Traffic" not in str(r)]
    [source] = [c for c in admin["Conditions"] if c["Field"] == "source-ip"]
    assert source["SourceIpConfig"]["Values"] == ["127.0.0.1/32"]  # AdminAllowedCidr empty: nobody

    apigateway = cloud.client("apigateway")
    api_id, by_path = _edge_api(cloud)
    proxy = apigateway.get_integration(
        restApiId=api_id, resourceId=by_path["/{proxy+}"]["id"], httpMethod="ANY"
    )
    assert proxy["requestParameters"]["integration.request.header.X-Origin-Verify"] == f"'{value}'"
    for path in ("/admin", "/admin/{proxy+}"):
        integration = apigateway.get_integration(
            restApiId=api_id, resourceId=by_path[path]["id"], httpMethod="ANY"
        )
        assert integration["type"] == "MOCK"
        assert not integration.get("uri")

    wafv2 = cloud.client("wafv2")
    on_alb = wafv2.get_web_acl_for_resource(ResourceArn=balancer["LoadBalancerArn"])["WebACL"]
    stage_arn = f"arn:aws:apigateway:{cloud.region}::/restapis/{api_id}/stages/dev"
    on_stage = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]
    assert (on_alb["Name"], on_stage["Name"]) == ("petclinic-dev-alb", "petclinic-dev")
    [rate] = [
        r["Statement"]["RateBasedStatement"]
        for r in on_alb["Rules"]
        if "RateBasedStatement" in r["Statement"]
    ]
    assert (rate["AggregateKeyType"], rate["ForwardedIPConfig"]["HeaderName"]) == (
        "FORWARDED_IP",
        "X-Forwarded-For",
    )


def _stage(cloud: LocalCloud) -> dict[str, Any]:
    api_id, _ = _edge_api(cloud)
    return dict(cloud.client("apigateway").get_stage(restApiId=api_id, stageName="dev"))


def _proxy_uri(cloud: LocalCloud) -> str:
    api_id, by_path = _edge_api(cloud)
    method = cloud.client("apigateway").get_method(
        restApiId=api_id, resourceId=by_path["/{proxy+}"]["id"], httpMethod="ANY"
    )
    return str(method["methodIntegration"]["uri"])


def test_a_certificate_added_later_is_an_ordinary_update_of_services_and_edge(cloud: LocalCloud) -> None:
    """The stacks run without a certificate (HTTP to the ALB's DNS name); adding CertificateArn and
    OriginDomainName changes the services stack's OriginUrl, which the edge takes as a parameter
    the workflow passes (not an import: CloudFormation refuses to change an export in use), so one
    run updates both and the stage serves a new deployment calling the domain over HTTPS."""
    alb = cloud.client("elbv2").describe_load_balancers(Names=["petclinic-dev"])["LoadBalancers"][0]
    assert _proxy_uri(cloud) == f"http://{alb['DNSName']}/{{proxy}}"
    before = _stage(cloud)["deploymentId"]
    certificate = cloud.client("acm").request_certificate(DomainName="petclinic.example.com")[
        "CertificateArn"
    ]
    report = provisioning.provision(
        cloud,
        {
            "environment": "dev",
            "stacks": ["services", "edge"],
            "parameters": {
                "services": {"CertificateArn": certificate, "OriginDomainName": "petclinic.example.com"}
            },
        },
    )
    assert report["execution"]["status"] == "SUCCEEDED", report["execution"]
    assert [(s["name"], s["status"]) for s in report["stacks"]] == [
        ("services", "UPDATE_COMPLETE"),
        ("edge", "UPDATE_COMPLETE"),
    ]
    edge_changes = {c["name"]: c for c in report["stacks"][1]["parameterChanges"]}
    assert edge_changes["OriginUrl"]["after"] == "https://petclinic.example.com"
    assert edge_changes["OriginUrl"]["source"] == "wired"
    assert _proxy_uri(cloud) == "https://petclinic.example.com/{proxy}"
    listeners = cloud.client("elbv2").describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert sorted(listener["Port"] for listener in listeners) == [80, 443]
    assert _stage(cloud)["deploymentId"] != before


def test_a_certificate_without_its_origin_domain_name_is_refused_before_anything_changes(
    cloud: LocalCloud,
) -> None:
    """API Gateway would call the ALB's own DNS name, which the certificate does not cover: the
    services template's rule refuses the change set, the run fails naming both parameters."""
    certificate = cloud.client("acm").request_certificate(DomainName="petclinic.example.com")[
        "CertificateArn"
    ]
    report = provisioning.provision(
        cloud,
        {
            "environment": "dev",
            "stacks": ["services"],
            "parameters": {"services": {"CertificateArn": certificate}},
        },
    )
    assert report["execution"]["status"] == "FAILED"
    cause = json.dumps(report["execution"])
    assert "CertificateArn is set but OriginDomainName is empty" in cause
    services = cloud.client("cloudformation").describe_stacks(StackName="petclinic-dev-services")["Stacks"][0]
    given = {p["ParameterKey"]: p.get("ParameterValue") for p in services["Parameters"]}
    assert given["CertificateArn"] == ""  # nothing changed
    alb = cloud.client("elbv2").describe_load_balancers(Names=["petclinic-dev"])["LoadBalancers"][0]
    listeners = cloud.client("elbv2").describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert [listener["Port"] for listener in listeners] == [80]


def test_an_integration_that_changes_is_served_by_a_new_deployment(cloud: LocalCloud) -> None:
    """A deployment is a snapshot of the methods: an integration changed in place must come with a
    new deployment for the stage to serve it. The workflow switches the edge's deployment slot
    when the API's definition changes; a run that changes nothing keeps the deployment."""
    live = cloud.outputs["GenAiLiveAliasArn"]
    first = provisioning.provision(
        cloud, {"environment": "dev", "stacks": ["edge"], "parameters": {"edge": {"GenAiFunctionArn": live}}}
    )
    assert first["execution"]["status"] == "SUCCEEDED", first["execution"]
    deployed = _stage(cloud)["deploymentId"]
    unqualified = live.rsplit(":", 1)[0]  # the function itself rather than its live alias
    second = provisioning.provision(
        cloud,
        {"environment": "dev", "stacks": ["edge"], "parameters": {"edge": {"GenAiFunctionArn": unqualified}}},
    )
    assert second["execution"]["status"] == "SUCCEEDED", second["execution"]
    api_id, by_path = _edge_api(cloud)
    apigateway = cloud.client("apigateway")
    chat = apigateway.get_method(
        restApiId=api_id, resourceId=by_path["/api/genai/chat"]["id"], httpMethod="POST"
    )
    assert f"functions/{unqualified}/invocations" in chat["methodIntegration"]["uri"]
    redeployed = _stage(cloud)["deploymentId"]
    assert redeployed != deployed
    again = provisioning.provision(cloud, {"environment": "dev", "stacks": ["edge"]})
    assert [s["action"] for s in again["stacks"]] == ["NO_CHANGE"]
    assert _stage(cloud)["deploymentId"] == redeployed
