"""The IAM that template.yaml deploys, read from the SAM-transformed template with its intrinsics
evaluated for given parameters (tests/template_eval.py): the scale workflow's role may update the
listed services only and re-register only their scalable targets; the GenAI function's role may
invoke its chain's own models, inference profiles and prompt routers only, and apply only the
configured guardrail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from template_eval import ACCOUNT, REGION, as_list, evaluate, statements, transformed

from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["customers-service", "vets-service", "visits-service", "admin-server"]


def role(logical_id: str, **parameters: str) -> dict[str, dict[str, Any]]:
    return statements(evaluate(transformed(), dict(parameters))[logical_id])


def allowing(found: dict[str, dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [statement for statement in found.values() if action in as_list(statement["Action"])]


# --------------------------------------------------------------------------- the scale role


@pytest.mark.parametrize(
    ("parameters", "cluster", "services"),
    [
        ({}, "petclinic-dev", SERVICES),
        (
            {"ClusterName": "petclinic-prod", "ServiceNames": "vets-service,admin-server"},
            "petclinic-prod",
            ["vets-service", "admin-server"],
        ),
    ],
)
def test_the_scale_role_updates_the_listed_services_only(
    parameters: dict[str, str], cluster: str, services: list[str]
) -> None:
    [update] = allowing(role("ScaleStateMachineRole", **parameters), "ecs:UpdateService")
    assert as_list(update["Action"]) == ["ecs:UpdateService"]
    assert sorted(as_list(update["Resource"])) == sorted(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}" for name in services
    )
    assert "Condition" not in update


@pytest.mark.parametrize(
    ("parameters", "cluster", "services"),
    [
        ({}, "petclinic-dev", SERVICES),
        (
            {"ClusterName": "petclinic-prod", "ServiceNames": "vets-service"},
            "petclinic-prod",
            ["vets-service"],
        ),
    ],
)
def test_the_scale_role_re_registers_only_the_listed_services_scalable_targets(
    parameters: dict[str, str], cluster: str, services: list[str]
) -> None:
    """A scalable target's ARN ends in a generated id, so the services stack tags each target and
    the role's condition names the tags, the namespace and the dimension."""
    [register] = allowing(
        role("ScaleStateMachineRole", **parameters), "application-autoscaling:RegisterScalableTarget"
    )
    assert register["Resource"] == f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*"
    assert register["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "ecs",
            "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
            "aws:ResourceTag/petclinic:cluster": cluster,
            "aws:ResourceTag/petclinic:service": services,
        }
    }


def test_the_services_stack_tags_every_scalable_target_as_the_scale_role_expects() -> None:
    [register] = allowing(role("ScaleStateMachineRole"), "application-autoscaling:RegisterScalableTarget")
    keys = {
        key.removeprefix("aws:ResourceTag/") for key in register["Condition"]["StringEquals"] if "Tag/" in key
    }
    services = load_template(ROOT / "infra" / "services.yaml")["Resources"]
    targets = {
        k: r for k, r in services.items() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    assert targets
    for logical_id, target in targets.items():
        tags = {tag["Key"]: tag["Value"] for tag in target["Properties"].get("Tags", [])}
        assert set(tags) == keys, logical_id
        assert tags["petclinic:cluster"] == {"Ref": "Cluster"}
        # The tag is the service the target scales (its ResourceId's last part).
        service = tags["petclinic:service"]["Fn::GetAtt"][0]
        assert target["Properties"]["ResourceId"]["Fn::Sub"].endswith(f"${{{service}.Name}}"), logical_id


def test_no_scale_write_is_on_a_wildcard_without_a_condition() -> None:
    writes = {"ecs:UpdateService", "application-autoscaling:RegisterScalableTarget", "rds:ModifyDBCluster"}
    for sid, statement in role("ScaleStateMachineRole").items():
        if writes & set(as_list(statement["Action"])):
            wildcards = [r for r in as_list(statement["Resource"]) if r.endswith("*")]
            assert not wildcards or "Condition" in statement, sid


# --------------------------------------------------------------------------- the GenAI role

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
EMBEDDINGS = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"
ROUTER = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:default-prompt-router/anthropic.claude:1"
PROFILE = f"us.{HAIKU}"
PROFILE_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE}"


def model(model_id: str, region: str = REGION) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def bedrock(**parameters: str) -> dict[str, dict[str, Any]]:
    found = role("GenAiRole", **parameters)
    return {
        sid: statement
        for sid, statement in found.items()
        if any(action.startswith("bedrock:") for action in as_list(statement["Action"]))
    }


def test_the_genai_role_may_read_write_and_claim_its_conversations_only() -> None:
    """Confirming an owner's addition claims the conversation's pending write with UpdateItem
    (ConversationMemory.claim): without it, every confirmation failed on AWS with AccessDenied
    (found by the local cloud's IAM enforcement, which the static check, action-level for
    functions, did not see: UpdateItem is allowed on the router's table)."""
    found = role("GenAiRole")
    conversations = [s for s in found.values() if s["Resource"] == "<GenAiConversationsTable.Arn>"]
    assert [sorted(as_list(s["Action"])) for s in conversations] == [
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    ]


def test_the_default_chain_may_invoke_its_two_models_and_the_embeddings_only() -> None:
    assert bedrock() == {
        "InvokeTheChainsOwnModelsProfilesAndRoutersOnly": {
            "Sid": "InvokeTheChainsOwnModelsProfilesAndRoutersOnly",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": [EMBEDDINGS, model(HAIKU), model(TITAN)],
        }
    }


def test_a_router_a_profile_and_a_model_each_get_their_own_arn_and_nothing_else() -> None:
    found = bedrock(
        GenAiModelChain=f"{ROUTER},{PROFILE},{TITAN}", GenAiGuardrailId="gr7x2", GenAiGuardrailVersion="3"
    )
    assert set(found) == {
        "InvokeTheChainsOwnModelsProfilesAndRoutersOnly",
        "TheChainsInferenceProfilesReachTheirModelOnlyThroughTheProfile",
        "ThePromptRoutersModelsOnlyThroughTheChainsRouters",
        "ApplyTheConfiguredGuardrailOnly",
    }
    assert found["InvokeTheChainsOwnModelsProfilesAndRoutersOnly"]["Resource"] == [
        EMBEDDINGS,
        ROUTER,
        PROFILE_ARN,
        model(TITAN),
    ]
    # The profile's model in any region the profile routes to, only through this profile.
    through_profile = found["TheChainsInferenceProfilesReachTheirModelOnlyThroughTheProfile"]
    assert (through_profile["Action"], through_profile["Resource"]) == (
        "bedrock:InvokeModel",
        [model(HAIKU, "*")],
    )
    assert through_profile["Condition"] == {"ArnEquals": {"bedrock:InferenceProfileArn": [PROFILE_ARN]}}
    # What the router routes to, only through this router.
    through_router = found["ThePromptRoutersModelsOnlyThroughTheChainsRouters"]
    assert through_router["Condition"] == {"ArnEquals": {"bedrock:PromptRouterArn": [ROUTER]}}
    assert found["ApplyTheConfiguredGuardrailOnly"] == {
        "Sid": "ApplyTheConfiguredGuardrailOnly",
        "Effect": "Allow",
        "Action": "bedrock:ApplyGuardrail",
        "Resource": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr7x2",
    }


def test_a_guardrail_given_by_arn_is_that_guardrail() -> None:
    arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr7x2"
    found = bedrock(GenAiGuardrailId=arn, GenAiGuardrailVersion="DRAFT")
    assert found["ApplyTheConfiguredGuardrailOnly"]["Resource"] == arn


@pytest.mark.parametrize(
    "chain",
    [
        f"{HAIKU}",
        f"eu.{HAIKU},{TITAN}",
        f"{HAIKU},anthropic.claude-3-5-sonnet-20240620-v1:0,apac.{HAIKU},global.{HAIKU},{TITAN},amazon.titan-text-lite-v1",
    ],
)
def test_every_entry_of_the_chain_is_invokable_and_nothing_else(chain: str) -> None:
    own = bedrock(GenAiModelChain=chain)["InvokeTheChainsOwnModelsProfilesAndRoutersOnly"]["Resource"]
    expected = [EMBEDDINGS]
    for entry in chain.split(","):
        geo = entry.split(".", 1)[0]
        if geo in ("us", "eu", "apac", "global"):
            expected.append(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{entry}")
        else:
            expected.append(model(entry))
    assert own == expected
    # No wildcard anywhere in the role's own models.
    assert not [arn for arn in own if "*" in arn]
