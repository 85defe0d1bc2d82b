"""Adapters: the only modules that call AWS (boto3), MySQL (PyMySQL) or HTTP, each implementing
a domain port; each imports its client library on first use (cold starts stay short).

    secrets_manager.py  Secrets Manager, the rotation's SecretStore
    mysql.py            MySQL/MariaDB, the rotation's Database (TLS verified by default)
    provision.py        CloudFormation and the live resources, the provision domain's ports
    templates.py        the artifact bucket, read for the template check
    scale.py            Parameter Store, ECS, Application Auto Scaling and RDS, the scale ports
    canary_metrics.py   CloudWatch: the ALB's per-target-group metrics, the canary judge's
                        RevisionMetrics
    deployment_hook.py  ECS, Parameter Store, Secrets Manager and HTTP: the lifecycle hook's
                        HookPorts (target groups, origin and secret, the smoke test's GETs)
    genai_bedrock.py    Bedrock: the router's ConverseClient, the vet search's Embedder
    genai_state.py      DynamoDB: the router's shared state, the conversations' memory
    genai_petclinic.py  the PetClinic services over HTTP, the tools' PetClinicApi
    genai_api.py        API Gateway in: the chat routes, the assistant assembled from the
                        adapters above
    api_gateway.py      API Gateway's REST proxy events in and out: routes, CORS, cookies (the
                        answers of Powertools' resolver, without its 190 ms import)
"""
