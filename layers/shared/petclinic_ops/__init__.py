"""petclinic-ops shared layer: domain models, domain logic and AWS adapters.

Import direction: handlers (functions/*/app.py) -> petclinic_ops.domain -> petclinic_ops.adapters.
Domain modules never import boto3; adapters are created lazily so cold starts stay short.
"""
