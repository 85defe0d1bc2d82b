"""What AWS does on its own, behind the API: moto stores what a request asks for, a simulator
makes it happen over (scaled) time and emits the events AWS emits.

    ecs.py   ECS's scheduler: drives each new deployment to COMPLETED or FAILED (faults
             injected per image or service), rolls back on the circuit breaker, emits
             "ECS Deployment State Change" events
    bedrock.py         STAND-IN for Bedrock's runtime (Converse, Titan embeddings): scripted
                       answers, tool calls, usage; injectable errors and latency per model
    petclinic_http.py  STAND-IN for the PetClinic services' REST APIs on 127.0.0.1 (upstream
                       sample data), called by the GenAI tools over real HTTP
    cloudwatch.py      Lambda's own metrics per version/alias, EMF lines -> metrics, and alarm
                       evaluation (run before DescribeAlarms answers)
    cloudformation/    CloudFormation by concern, as LocalStack lays it out (its docstring says
                       more): providers/<service>.py, the resource handlers for the types moto's
                       CloudFormation skips or gets wrong (through the services' APIs),
                       registered in registry.py (a new type is one file); events.py (stack and
                       resource events on EventBridge, resource faults); drift.py (what drift
                       detection reads back); template.py, schemas.py and changes.py (the
                       change-set engine: an update planned with its Details, Replacement from
                       the resource schemas' createOnlyProperties); policy.py (what a stack
                       policy allows); api.py (the providers' clients); the types it does not
                       reproduce (NOT_EMULATED, PARTIAL) go into every provisioning report

Adding a simulator for service X (CloudFormation resource provisioning and its stack events,
a Bedrock Converse stand-in, the PetClinic HTTP services on 127.0.0.1...): a module ``x.py``
here (a package ``x/`` when it has several concerns, as ``cloudformation/``) with a class
that LocalCloud creates in ``__init__`` and closes on exit. It learns of work from a moto
patch (a hook added to ``moto_compat.Hooks``, which LocalCloud forwards, as
``deployment_started`` is for ECS) or from LocalCloud itself; it acts on moto's backends
(``moto.x.models.x_backends[account][region]``) and emits events with EventBridge's backend.
It keeps its threads daemonic, counts work in flight (``idle()``, for
``LocalCloud.wait_until_quiet``), and scales its delays by the cloud's time scale. Patches to
moto itself stay in moto_compat; a simulator holds no workaround for a moto gap.
"""
