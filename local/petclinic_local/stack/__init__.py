"""Deploying template.yaml into moto, as `sam package` + `sam deploy` would, and running its
functions in-process, as Lambda would.

    template.py        load template.yaml, transform it offline with the SAM translator
    deploy.py          package the code into (moto) S3, create the stack, read back what runs
    lambda_runtime.py  import each function's handler from its CodeUri with its layers, run it
"""
