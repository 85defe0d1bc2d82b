"""petclinic-ops shared layer: domain models, domain logic and AWS adapters.

Import direction: handlers (functions/*/app.py) -> petclinic_ops.domain -> petclinic_ops.adapters.
Domain modules never import boto3; adapters are created lazily so cold starts stay short.

    handler.py   the handler kit: Powertools wiring, parsing, settings and adapters once, the
                 domain's Telemetry port (a function's app.py is its parse-call-return)
    settings.py  each function's settings, read from its environment once; to_domain() on each
    models/      pydantic models of the events, requests, configuration and results
    domain/      the logic (no boto3): deploy, rotation, provisioning, scaling, GenAI
    adapters/    the only code that calls AWS, MySQL or HTTP: the domain's ports
    errors.py    the OpsError tree: every error a function raises on purpose (its class name is
                 the error name a workflow catches)
"""
