"""Properties over anything that can arrive: the deploy request parser and resolver, and the local
CLI's event reader. No exception but the named ones escapes, and no DEPLOY plan ever carries an
invalid digest or a registry other than this stack's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petclinic_local.cli.local_run import pushed_images, read_event
from petclinic_local.errors import UsageError
from petclinic_ops.domain.deploy import registry_host, resolve
from petclinic_ops.errors import InvalidDeployRequest, UnknownService
from petclinic_ops.models.deploy import DIGEST_PATTERN, DeployConfig

ACCOUNT, REGION = "123456789012", "us-west-2"
CONFIG = DeployConfig(
    cluster="petclinic-dev", environment="dev", services=("customers-service", "vets-service")
)
EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:e1"
PUSH = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "ecr-push-customers-service.json").read_text()
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Plausible values for the fields that matter, mixed with anything at all.
FIELD_VALUES = st.one_of(
    JSON,
    st.sampled_from(
        ["aws.ecr", "ECR Image Action", "PUSH", "SUCCESS", "FAILURE", "petclinic/dev/customers-service"]
    ),
    st.from_regex(r"\Asha256:[0-9a-fA-F]{0,70}\Z"),
    st.sampled_from([ACCOUNT, "999999999999", REGION, "eu-west-1", "2026-11-26T09:15:00Z", "not a time"]),
)


@st.composite
def mutated_pushes(draw: st.DrawFn) -> Any:
    """A real ECR push event with some of its fields (top level or detail) replaced or removed."""
    event = json.loads(json.dumps(PUSH))
    for _ in range(draw(st.integers(0, 4))):
        target = event["detail"] if draw(st.booleans()) and isinstance(event.get("detail"), dict) else event
        key = draw(st.sampled_from([*target.keys(), "image-digest", "repository-name", "account", "time"]))
        if draw(st.booleans()):
            target[key] = draw(FIELD_VALUES)
        else:
            target.pop(key, None)
    return event


REQUESTS = st.one_of(
    JSON,
    mutated_pushes(),
    st.fixed_dictionaries(
        {"service": FIELD_VALUES, "image": FIELD_VALUES},
        optional={"reason": FIELD_VALUES, "restart": FIELD_VALUES},
    ),
)


@given(raw=REQUESTS)
@settings(max_examples=400)
def test_resolving_anything_either_plans_or_says_why(raw: Any) -> None:
    try:
        plan = resolve(raw, config=CONFIG, execution_id=EXECUTION, account=ACCOUNT, region=REGION)
    except (InvalidDeployRequest, UnknownService) as exc:
        message = str(exc)
        assert message
        return
    assert plan.reason
    if plan.action == "DEPLOY":
        assert plan.registry == registry_host(ACCOUNT, REGION)
        assert plan.digest is None or DIGEST_PATTERN.match(plan.digest)
        assert plan.digest is not None or plan.tag is not None
        if plan.source == "ecr":
            assert plan.digest is not None


@given(content=st.one_of(st.text(max_size=200), JSON.map(json.dumps), mutated_pushes().map(json.dumps)))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_cli_reads_any_event_file_or_names_the_problem(tmp_path: Path, content: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    try:
        event = read_event(str(path))
    except UsageError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ")
        return
    assert isinstance(event["detail"], dict)
    # What would land in the local ECR: only pushes ECR could have reported.
    for repository, _tag, digest in pushed_images([event], {"petclinic/dev/customers-service"}):
        assert repository == "petclinic/dev/customers-service"
        assert DIGEST_PATTERN.match(digest)
