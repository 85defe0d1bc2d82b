"""The petclinic-ops local cloud and operator CLI (never deployed).

The local cloud is an embedded moto with the control plane deployed from the real template.yaml
(real ASL files, real handlers run in-process) and the PetClinic stack seeded. Its parts, from
the outside in:

    cli/             the petclinic-ops command line (on AWS and on the local cloud)
    server.py        LocalEndpoint: a LocalCloud behind moto's server on 127.0.0.1 (`local serve`)
    server_guard.py  the 400s `local serve` answers for malformed requests, before moto
    genai_api.py     the GenAI API and its chat page on 127.0.0.1 (`local api`), as API Gateway
    static/          the chat page's files
    loopback.py      the threaded HTTP server on 127.0.0.1 the stand-ins and the API share
    provisioning.py  the provision workflow on the local cloud, and its report
    scaling.py       the scale workflow on the local cloud, and its report
    rotations.py     rotations on the local cloud against a real MySQL/MariaDB
    genai.py         the GenAI function on the local cloud: chat, versions, releases
    faults.py        faults injected into workflow states (fault-injection tests, the demo)
    runner.py        start a workflow by its key, wait for it, report it (local cloud and AWS alike)
    cloud.py         LocalCloud: the facade the CLI, the tests and the benchmarks use
    errors.py        errors the local cloud and the CLI report (UsageError...)
    stack/           deploying template.yaml into moto, and the in-process Lambda runtime
    simulators/      what AWS does on its own behind the API (ECS rollouts...)
    petclinic/       the operated PetClinic stack: the seeded resources, its MariaDB database
    moto_compat/     the moto workarounds, one module per AWS service, and their registry
    jsonata.py       Step Functions' JSONata (the evaluator, and AWS's added functions)
    recursion.py     the process's recursion limit: Lambda's 1,000 for handlers, more only for
                     deep JSONata

Dependencies point down that list: nothing below cli/ imports it, and moto_compat knows its
host only through ``moto_compat.Hooks``.
"""
