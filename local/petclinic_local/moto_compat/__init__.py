"""Every workaround for a moto 5.2.5 gap: one module per AWS service (a package for
CloudFormation's), and the registry.

The local cloud runs the real template, ASL files and handlers on moto. Where moto falls short
of AWS, a ``Gap`` closes it with patches that ``install`` applies and the returned ExitStack
removes. Each gap names what is wrong and where upstream tracks it (or the code at fault), and
tests/local/ shows, service by service, that unpatched moto still needs it: when such a test
starts failing, upstream fixed the gap, so delete the workaround.

    stepfunctions     JSONata evaluator, generated execution names, the time scale; an execution's
                      status and final event seen together; AWS's JSONata failure causes (the
                      field), Assign's escapes, Wait timestamps, the context's RedriveCount; a stop
                      before the execution's thread has begun; the history's order and pages
    sdk_integrations  aws-sdk:* tasks: parameter and response names, error names, service names
    awslambda         the host's functions run in-process
    events            EventBridge rules deliver to Step Functions, ``time`` in ISO 8601
    dynamodb          atomic conditional writes
    ecr               millisecond push times; a moved tag leaves the image untagged; a tag taken in an
                      IMMUTABLE repository refused as ECR refuses it; lifecycle policies evaluated
                      (ECRBackend.expire_images, run by LocalCloud.expire_images)
    elbv2             listener rules within ELB's quotas (condition values, wildcards, rules per
                      load balancer)
    ecs               UpdateService starts a deployment (simulators.ecs rolls it out); a new
                      desired count alone is the PRIMARY deployment's (simulators.ecs runs it);
                      CreateService keeps deploymentConfiguration (strategies, hooks, alarms),
                      validated as ECS validates it
    applicationautoscaling  RegisterScalableTarget moves an ECS service's count into the bounds
    secretsmanager    RotateSecret rotates in the background, stops at a failed step, sends events
    awslambda_aliases  fn:alias / fn:version run the routed version with its own configuration
    cloudwatch        DescribeAlarms evaluates alarms from the datapoints (simulators.cloudwatch)
                      and GetMetricData computes percentile Stats (p99)
    bedrockruntime    Converse and InvokeModel answered by the host's Bedrock stand-in (simulators.bedrock)
    s3                HTTPS-only bucket policies (conditions are not evaluated)
    logs              a log group's CloudFormation Arn ends in ":*", as AWS's does
    iam               every call runs as its role (a Lambda handler's, a state machine's, an
                      EventBridge target's) and is authorised as IAM would (iam_policy.py evaluates
                      the policies, iam_requests.py says what a call asks for); CloudFormation's
                      role policies kept as JSON, without AWS::NoValue
    iam_policy.py     IAM's policy evaluation (iam's decision for one principal and request)
    iam_requests.py   what a call asks IAM for: action, resource ARN, condition keys
    cloudformation/   a package, its modules by concern: the deploy's steps around moto's
                      create_stack (deploy.py); for the PetClinic stacks: parameters, templates,
                      skipped types (simulators.cloudformation's providers) and resource events
                      (resources.py), change set outputs/exports/rollback and stack events
                      (stacks.py), planned updates with replacements (changes.py), stack policies
                      (policy.py), drift detection (drift.py)
    gap.py            what a gap is (``Gap``) and what its patches need of the host (``Hooks``)
    timestamps.py     timestamps as AWS writes them where moto keeps datetimes or unix numbers

The patches keep moto faithful outside the cases the local cloud needs: they wrap moto's code
rather than replace it, keep their state in moto's backends (so moto's reset clears it), and
leave moto's behaviour alone for what the host does not own (``Hooks.has_function``...).
``make moto-tests`` runs moto's own tests for every service patched here (``moto_services``),
with every gap installed, and fails on any test that passes on plain moto but not with them.

Adding a gap: write its patches in the service's module (a new module for a new service; a
module of the package for CloudFormation, whose ``__init__`` joins its modules' ``GAPS``) as a
function ``(hooks) -> patches``, declare it in that module's ``GAPS`` with the moto packages it
touches, add that tuple below, and add a ``test_needed_*``/``test_closed_*`` pair to the
service's test module in tests/local/.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from petclinic_local.moto_compat import (
    applicationautoscaling,
    awslambda,
    awslambda_aliases,
    bedrockruntime,
    cloudformation,
    cloudwatch,
    dynamodb,
    ecr,
    ecs,
    elbv2,
    events,
    iam,
    logs,
    s3,
    sdk_integrations,
    secretsmanager,
    stepfunctions,
)
from petclinic_local.moto_compat.gap import Gap, Hooks, InertHooks

__all__ = ["GAPS", "Gap", "Hooks", "InertHooks", "contradicted_moto_tests", "install", "moto_services"]

GAPS: tuple[Gap, ...] = (
    *stepfunctions.GAPS,
    *sdk_integrations.GAPS,
    *awslambda.GAPS,
    *events.GAPS,
    *dynamodb.GAPS,
    *ecr.GAPS,
    *secretsmanager.GAPS,
    *ecs.GAPS,
    *elbv2.GAPS,
    *applicationautoscaling.GAPS,
    *cloudformation.GAPS,
    *awslambda_aliases.GAPS,
    *bedrockruntime.GAPS,
    *cloudwatch.GAPS,
    *s3.GAPS,
    *logs.GAPS,
    *iam.GAPS,  # last: the Task states' modules are imported by then
)


def moto_services() -> list[str]:
    """The moto packages whose own tests must pass with every gap installed: those the patches
    touch, and CloudFormation, which creates those services' resources through the patched
    backends (and whose gaps ``moto_compat.cloudformation`` works around)."""
    return sorted({service for gap in GAPS for service in gap.moto_services} | {"cloudformation"})


def contradicted_moto_tests() -> dict[str, str]:
    """moto's own tests that assert what a gap corrects (test -> gap): they fail with the gaps
    installed, as they should."""
    return {test: gap.name for gap in GAPS for test in gap.contradicts}


def install(hooks: Hooks, *, skip: Iterable[str] = ()) -> contextlib.ExitStack:
    """Apply every gap's patches (except ``skip``); closing the stack removes them."""
    skipped = set(skip)
    unknown = skipped - {gap.name for gap in GAPS}
    if unknown:
        raise ValueError(f"unknown gaps: {', '.join(sorted(unknown))}")
    with contextlib.ExitStack() as stack:
        for gap in GAPS:
            if gap.name in skipped:
                continue
            for patcher in gap.install(hooks):
                stack.enter_context(patcher)
        return stack.pop_all()  # a patch that fails to apply removes those applied before it
