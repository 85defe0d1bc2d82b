"""`petclinic-ops`, the operator's command line: on AWS (or any endpoint) and on the local cloud.

    registry.py       how a command registers itself: its path, help, exit codes, arguments, the
                      shared options it takes, its run; the parser built from all of them
    main.py           the dispatcher: the parser from the registry, the command's run, errors as
                      one line and an exit code
    aws.py            the shared AWS options, the session, the control plane stack, AWS errors
    render.py         terminal output (rich, imported when a command prints)
    completion.py     `completion bash|zsh`, generated from the parser

One module per command or family of commands, each registering its own (``registry.command``);
every module here is imported to find the commands: keep their top-level imports light.

    deploy.py         deploy SERVICE TAG: a deployment through the deploy workflow, followed
    rollback.py       rollback SERVICE: the image before the running one, through the deploy workflow
    restart.py        restart SERVICE: a new deployment of the running revision, followed
    status.py         status: each service's image, rollout, lease and last deployment
    history.py        history SERVICE: the ledger's deployments
    diff.py           diff SERVICE TAG: the task definition a deploy would register
    executions.py     executions: the workflows' recent executions, results, reasons
    scale.py          scale PROFILE and local scale: a scaling profile, planned and applied
    provision.py      provision, teardown, drift and their local forms: the PetClinic stacks
    genai.py          genai release, local ask, local api, local genai release
    rotation.py       rotation cancel: a half-done rotation removed safely
    rotation_workflow.py  rotation start and rotation status: the rotation rollout workflow
    local_rotate.py   local rotate: a rotation and its rollout on the local cloud
    local_run.py      local run: an event on a fresh local cloud, the workflow it starts followed
    local_deploy.py   local deploy SERVICE TAG: one deployment by a strategy on a fresh local cloud
    local_serve.py    local serve and local push: the local cloud as an endpoint
    invoke.py         local invoke: a function by its logical id, in-process
    demo.py           demo: the narrated scenes on the embedded local cloud
"""
