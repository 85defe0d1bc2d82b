"""Models (pydantic v2): what the functions take and return, and their configuration.

    common.py     kinds of value several models and settings take (lists of names, cluster
                  names, timeouts): one validator each
    deploy.py     the deploy workflow's inputs (ECR events, manual requests), configuration, plan
    rotation.py   the rotated secret's value, the superuser's, a rotation step's event and result
    provision.py  the provision function's input (one stack)
    scale.py      scaling profiles and the scale function's input (strict numbers)
    genai.py      the chat API's bodies, the model chain and its prices, the router's records
    canary.py     the canary judge's window sample per revision, its thresholds, its verdict
    deployment_hook.py  ECS's lifecycle hook payload, the service's two target groups

No boto3 here: the domain and the adapters share these models.
"""
