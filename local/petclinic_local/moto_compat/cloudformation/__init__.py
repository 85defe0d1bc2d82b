"""CloudFormation: what moto's CloudFormation gets wrong or skips (one package for the service,
its modules by concern).

    deploy.py      helpers (no patches), each docstring starting "Gap:": steps of the control
                   plane's deploy (``stack.deploy``) around ``create_stack`` of the transformed
                   template.yaml (the template and parameters it is handed; state machines,
                   Lambda aliases, API deployments and rotation schedules made as CloudFormation
                   would)
    parameters.py  constraints checked, CommaDelimitedList and UsePreviousValue as given, NoEcho masked
    templates.py   a missing TemplateURL refused, Fn::GetAZs of the stack's region, templates parsed once
    drift.py       DetectStackDrift and its two Describe actions (``simulators.cloudformation.drift``)
    events.py      shared: resource events, a resource's failure, events sent after the call answered
    resources.py   the types moto skips made by ``simulators.cloudformation``'s providers; resource
                   events and failures
    stacks.py      change sets executed with outputs, exports and parameters, rollback, stack
                   events on EventBridge, DELETE_FAILED; resources moto does not model
    changes.py     updates planned and applied as CloudFormation does
                   (``simulators.cloudformation.changes``: Details, Replacement, replacements as
                   new physical resources)
    policy.py      stack policies enforced (``simulators.cloudformation.policy``)

The patches for the PetClinic stacks (infra/*.yaml, created by change sets as the provision
workflow creates them) act only under a host that simulates CloudFormation
(``Hooks.cloudformation_events()`` is not None): moto's own tests (InertHooks) see plain moto.

``GAPS`` is installed in this order, and some gaps wrap what an earlier one patched: planned
updates wrap the resource events' ``parse_and_update_resource`` and the stack operations'
change-set calls, the stack policy wraps both; drift detection takes the ``clean_json`` the
Fn::GetAZs gap patched; NoEcho masks the list parameters' ``parameter_list``.

tests/local/test_cloudformation.py shows, helper by helper and gap by gap, that moto still needs it.
"""

from __future__ import annotations

from petclinic_local.moto_compat.cloudformation import (
    changes,
    drift,
    parameters,
    policy,
    resources,
    stacks,
    templates,
)
from petclinic_local.moto_compat.cloudformation.deploy import (
    apply_rotation_schedules,
    complete_parameters,
    create_alarms,
    create_lambda_aliases,
    drop_openapi_deployments,
    prepare_lambda_aliases,
    prepare_template_for_moto,
    recreate_state_machine,
)
from petclinic_local.moto_compat.cloudformation.parameters import parameter_problem
from petclinic_local.moto_compat.gap import Gap

GAPS: tuple[Gap, ...] = (
    *parameters.GAPS,
    *templates.GAPS,
    *drift.GAPS,
    *resources.GAPS,
    *stacks.GAPS,
    *changes.GAPS,
    *policy.GAPS,
)

__all__ = [
    "GAPS",
    "apply_rotation_schedules",
    "complete_parameters",
    "create_alarms",
    "create_lambda_aliases",
    "drop_openapi_deployments",
    "parameter_problem",
    "prepare_lambda_aliases",
    "prepare_template_for_moto",
    "recreate_state_machine",
]
