"""The domain: what each function decides, in pure Python (no boto3, no HTTP); what it reads
or changes outside comes through ports (Protocols) that petclinic_ops.adapters implement.

    deploy.py              a deploy request: parsed, mapped to a service, the tag policy applied
    rotation.py            Secrets Manager's rotation contract for Aurora MySQL (alternating users)
    provision.py           one PetClinic stack through a change set: the plan and its report
    provision_changes.py   what a provision run changes on a stack that exists, and must not
    template_location.py   which templates CloudFormation may be handed (content-addressed keys)
    scale.py               a scale profile checked against the live stack: diff, cost, actions
    canary.py              a canary or linear step judged: the new revision against the running one
    deployment_hook.py     ECS's lifecycle hook: smoke test on test traffic, the canary judge per step
    validation.py          pydantic errors as one message naming each bad field
    telemetry.py           the port a use case logs and counts through (the handler kit's)
    genai/                 the GenAI function: router, tools, chat turn, API input and output
"""
