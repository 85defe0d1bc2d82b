"""The GenAI function on the local cloud: chat through its live alias, publish versions as
``sam deploy`` does, run the release workflow with synthetic traffic, and report.

    with LocalCloud() as cloud:
        reply = ask(cloud, "Which vets are radiologists?")        # through live, as API Gateway calls it
        version = publish_version(cloud, {"MODEL_CHAIN": "..."})  # a new version of the function
        outcome = release(cloud, version)                         # the genai-release workflow

Every report built here names the stand-ins it ran on (Bedrock and the PetClinic services are
local stand-ins: simulators/bedrock.py, simulators/petclinic_http.py).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

FUNCTION = "GenAiFunction"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
PROMPT_ROUTER = "arn:aws:bedrock:us-west-2:123456789012:default-prompt-router/anthropic.claude:1"
QUESTIONS = (
    "Which vets are radiologists?",
    "Which vets do surgery?",
    "List the owners of the clinic, please.",
    "Who does dentistry here?",
)


def stand_ins(cloud: Any) -> dict[str, str]:
    return {"bedrock": cloud.bedrock.label, "petclinic": cloud.petclinic_http.label}


def function_name(cloud: Any) -> str:
    return str(cloud.outputs["GenAiFunctionName"])


def api_event(
    path: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST"
) -> dict[str, Any]:
    """An API Gateway (REST, proxy integration) event, as API Gateway hands it to the function."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": all_headers.get("User-Agent", "local")},
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def invoke(cloud: Any, event: dict[str, Any], qualifier: str = "live") -> dict[str, Any]:
    """The function's answer to an API event, invoked through ``qualifier`` as API Gateway does."""
    response = cloud.client("lambda").invoke(
        FunctionName=function_name(cloud), Qualifier=qualifier, Payload=json.dumps(event)
    )
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(
            f"the GenAI function failed: {payload.get('errorType')}: {payload.get('errorMessage')}"
        )
    return payload


def ask(cloud: Any, message: str, conversation: str | None = None, qualifier: str = "live") -> dict[str, Any]:
    """POST /api/genai/chat through ``qualifier``: the status and the JSON answer."""
    body: dict[str, Any] = {"message": message}
    if conversation:
        body["conversationId"] = conversation
    response = invoke(cloud, api_event("/api/genai/chat", body), qualifier)
    answer = json.loads(response.get("body") or "{}")
    return {"status": response["statusCode"], **answer}


def publish_version(cloud: Any, environment: dict[str, str], description: str = "") -> str:
    """What ``sam deploy`` does for a changed function: update it and publish a version (its
    environment merged over the current one). Returns the version number."""
    lam = cloud.client("lambda")
    name = function_name(cloud)
    current = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**current, **environment}}, Description=description
    )
    version = str(lam.publish_version(FunctionName=name, Description=description)["Version"])
    lam.update_alias(FunctionName=name, Name="candidate", FunctionVersion=version)
    return version


def live_alias(cloud: Any) -> dict[str, Any]:
    alias = cloud.client("lambda").get_alias(FunctionName=function_name(cloud), Name="live")
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return {"version": alias["FunctionVersion"], "weights": dict(weights)}


@dataclass
class Traffic:
    """Synthetic users: chat requests through live, one after another, until stopped. Records
    which version answered (from the alias's routing) and the status of each answer."""

    cloud: Any
    pause: float = 0.01
    served: list[tuple[str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, name="genai-traffic", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set():
            question = QUESTIONS[count % len(QUESTIONS)]
            count += 1
            try:
                response = invoke(self.cloud, api_event("/api/genai/chat", {"message": question}))
                status = int(response.get("statusCode", 0))
            except Exception:
                status = 0
            self.served.append((question, status))
            self._stop.wait(self.pause)


def start_release(cloud: Any, version: str, requested_by: str = "local") -> str:
    started = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["GenAiReleaseStateMachineArn"],
        name=f"release-v{version}-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"version": version, "requestedBy": requested_by}),
    )
    return str(started["executionArn"])


def wait_for(cloud: Any, execution_arn: str, timeout: float = 180.0) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        if time.monotonic() > deadline:
            raise TimeoutError(f"release {execution_arn} still running after {timeout} s")
        time.sleep(0.05)


def outcome_of(described: dict[str, Any]) -> dict[str, Any]:
    """The release's summary: its output when it succeeded, its cause when it failed."""
    text = described.get("output") if described["status"] == "SUCCEEDED" else described.get("cause")
    try:
        summary = json.loads(text or "{}")
    except ValueError:
        summary = {"reason": text}
    if not isinstance(summary, dict):
        summary = {"reason": summary}
    return {"status": described["status"], "error": described.get("error"), **summary}


def release(cloud: Any, version: str, *, traffic: bool = True, timeout: float = 180.0) -> dict[str, Any]:
    """Run the release workflow for ``version`` (with synthetic traffic through live meanwhile)
    to its end; the outcome, the alias after it and what the traffic saw."""
    if traffic:
        with Traffic(cloud) as users:
            described = wait_for(cloud, start_release(cloud, version), timeout)
        served = users.served
    else:
        described = wait_for(cloud, start_release(cloud, version), timeout)
        served = []
    return {
        **outcome_of(described),
        "executionArn": described["executionArn"],
        "aliasAfter": live_alias(cloud),
        "traffic": {
            "requests": len(served),
            "non2xx": sum(1 for _, status in served if not 200 <= status < 300),
        },
    }


def ledger(cloud: Any) -> list[dict[str, Any]]:
    """The ledger's rows of GenAI releases (service genai), oldest first."""
    return [row for row in cloud.deployments() if row.get("service") == "genai"]
