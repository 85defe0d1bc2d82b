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
    assert len(rules) == 5
    for rule in rules:
        assert [a["Type"] for a in rule["Actions"]] == ["forward"]
        conditions = {c["Field"]: c for c in rule["Conditions"]}
        header = conditions["http-header"]["HttpHeaderConfig"]
        assert (header["HttpHeaderName"], header["Values"]) == ("X-Origin-Verify", [value])
    [admin] = [r for r in rules if "/admin" in str(r["Conditions"])]
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
