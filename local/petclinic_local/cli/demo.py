"""`petclinic-ops demo`: the control plane's jobs, narrated, on the embedded local cloud (the
deploy scenes, the rotation on MariaDB, the provisioning and scaling of the PetClinic stack, the
GenAI assistant and its releases, a canary judged against the running revision).

Every figure printed is read back from the local cloud (executions, ECS, the ledger): nothing
here is scripted output.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from petclinic_local.cli import registry, render

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from petclinic_local.cloud import LocalCloud

DEPLOY = "petclinic-ops-dev-deploy"


def current_state(cloud: LocalCloud, execution: dict[str, Any]) -> str:
    if execution["status"] != "RUNNING":
        return render.outcome(execution)[0]
    events = cloud.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], reverseOrder=True, maxResults=30
    )
    for event in events["events"]:
        if event["type"].endswith("StateEntered"):
            return f"[blue]{event['stateEnteredEventDetails']['name']}[/blue]"
    return "[blue]starting[/blue]"


def progress_table(cloud: LocalCloud, known: set[str]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Deploy executions of this scene", title_justify="left")
    for column in ("#", "request", "image", "state / result"):
        table.add_column(column)
    scene = [e for e in cloud.executions(DEPLOY) if e["executionArn"] not in known]
    for number, execution in enumerate(scene, 1):
        service, image = render.request_of(execution)
        table.add_row(str(number), service, image, current_state(cloud, execution))
    return table


def scene(
    out: Console, cloud: LocalCloud, title: str, story: str, act: Callable[[], object]
) -> list[dict[str, Any]]:
    from rich.live import Live  # noqa: PLC0415

    out.rule(f"[bold]{title}")
    out.print(story)
    known = {e["executionArn"] for e in cloud.executions(DEPLOY)}
    act()
    with Live(progress_table(cloud, known), console=out, refresh_per_second=8, transient=False) as live:
        while True:
            busy = cloud.busy()
            live.update(progress_table(cloud, known))
            if not busy:
                break
            time.sleep(0.25)
        cloud.wait_until_quiet()
        live.update(progress_table(cloud, known))
    out.print()
    return [e for e in cloud.executions(DEPLOY) if e["executionArn"] not in known]


def say_service(out: Console, cloud: LocalCloud, name: str) -> None:
    service = cloud.services()[name]
    image = render.short(service["image"])
    out.print(
        f"  {name} runs [bold]{image}[/bold] (task definition {render.short(service['taskDefinition'])})"
    )


def run(*, fast: bool = False) -> int:
    from rich.panel import Panel  # noqa: PLC0415

    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415

    out = render.console()
    out.print(
        Panel.fit(
            "petclinic-ops: image pushes redeploy the PetClinic ECS services, pinned by digest,\n"
            "one at a time, "
            "verified by ECS's rollout state, rolled back on failure, recorded and announced.\n"
            "Running the real template.yaml, ASL files and Lambda handlers on the embedded local cloud.",
            title="demo",
        )
    )
    rollout = 150.0 if fast else 300.0
    with out.status(
        "starting the local cloud: deploying template.yaml into moto, seeding PetClinic", spinner="dots"
    ):
        started = time.perf_counter()
        cloud = LocalCloud(time_scale=0.01, rollout_seconds=rollout).__enter__()
    out.print(
        f"local cloud ready in {time.perf_counter() - started:.1f} s; "
        f"an ECS rollout takes {rollout:.0f} simulated s ({rollout * 0.01:.1f} s here)"
    )
    try:
        _scenes(out, cloud)
    finally:
        cloud.close()
    _rotation_scene(out)
    _provisioning_scene(out)
    _stack_scenes(out, bake_seconds=10 if fast else 30)
    _progressive_scene(out)
    return 0


FIXED_ALARM_PERCENT = 10.0  # the fixed 5xx alarm a canary would be judged by without the comparison


def _progressive_scene(out: Console) -> None:
    """9. The services deployed by canary (their stack's DeploymentStrategy): a good image of
    customers-service promoted; an image of vets-service answering 5 % of its requests with errors
    rolled back by the lifecycle hook's comparison with the running revision, where a fixed 10 %
    alarm stays quiet."""
    from petclinic_local.cli import local_deploy  # noqa: PLC0415

    out.rule("[bold]9. A canary promotes a good image and rolls back one that fails 5 % of requests")
    with out.status("starting a local cloud whose services deploy by canary (10 % for 10 minutes)"):
        cloud = local_deploy.start_cloud("canary")
    try:
        # Two services, one deployment each: squeezed into seconds, a second deployment of one
        # service would share a CloudWatch minute with the first one's traffic (docs/progressive-
        # delivery.md, "On the local cloud").
        for service, tag in (("customers-service", "1.1.0"), ("vets-service", "1.1.0-errors")):
            out.print(f"  docker push .../{service}:{tag}")
            outcome = local_deploy.deploy_once(cloud, service, tag)
            local_deploy.print_outcome(out, tag, outcome)
        new = ((outcome["_record"] or {}).get("requests") or {}).get("new") or {}
        ratio = 100.0 * new.get("5xx", 0) / max(new.get("requests", 0), 1)
        verdict = "would have fired" if ratio >= FIXED_ALARM_PERCENT else "would not have fired"
        out.print(
            f"  the errors image failed {ratio:.1f}% of the {new.get('requests', 0)} requests it served: a "
            f"fixed {FIXED_ALARM_PERCENT:g}% 5xx alarm {verdict}; the comparison with the running "
            "revision rolled it back",
            soft_wrap=True,
        )
    finally:
        cloud.close()


def _stack_scenes(out: Console, *, bake_seconds: int) -> None:
    """7 and 8 on one cloud with the PetClinic stack (the GenAI function is in every cloud: one
    start less, ~15 s less). The release workflow watches each step's alarms ``bake_seconds``
    simulated seconds."""
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415

    with out.status("starting a local cloud with the PetClinic stack and the GenAI function"):
        cloud = LocalCloud(time_scale=0.01, parameters={"GenAiBakeSeconds": str(bake_seconds)}).__enter__()
    try:
        _scaling_scene(out, cloud)
        _assistant_scene(out, cloud)
    finally:
        cloud.close()


def _model(model: str) -> str:
    """A model id as printed: a prompt router's ARN from its resource type on."""
    return model.split(":", 5)[-1] if model.startswith("arn:") else model


def _answered(reply: dict[str, Any]) -> str:
    """Who answered and how: the models that did not (and why), the one that did, its tools."""
    if reply["status"] != 200:
        return f"answered {reply['status']}: {reply.get('message', '')}"
    missed = [
        f"{_model(step['model'])} {step['outcome']}" for step in reply["route"] if step["outcome"] != "ok"
    ]
    tools = ", ".join(f"{t['name']} ({'ok' if t['ok'] else 'error'})" for t in reply["toolCalls"]) or "none"
    before = f"{', '.join(missed)}, so " if missed else ""
    return f"{before}{_model(reply['model'])} answered; tools: {tools}"


def _asks_table(asks: list[tuple[str, dict[str, Any]]]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="The question, asked twice (POST /api/genai/chat)", title_justify="left")
    for column in ("asked of", "route: each Converse call, model by model", "answered by", "tools"):
        table.add_column(column, overflow="fold")
    for asked_of, reply in asks:
        route = " -> ".join(f"{_model(step['model'])} {step['outcome']}" for step in reply["route"])
        tools = ", ".join(f"{t['name']} ({'ok' if t['ok'] else 'error'})" for t in reply["toolCalls"])
        table.add_row(asked_of, route, _model(reply.get("model") or "-"), tools or "none")
    return table


def _assistant_scene(out: Console, cloud: LocalCloud) -> None:
    """8. The GenAI function: a question answered through a tool, a throttled model that falls
    back to the next one, a release promoted and one rolled back."""
    from rich.markdown import Markdown  # noqa: PLC0415

    from petclinic_local import genai  # noqa: PLC0415
    from petclinic_local.cli import genai as commands  # noqa: PLC0415

    out.rule("[bold]8. The assistant answers through tools, falls back, releases safely")
    question = genai.QUESTIONS[0]
    live = genai.live_alias(cloud)["version"]
    reply = genai.ask(cloud, question)
    asks = [(f"live (version {live})", reply)]
    out.print(f"  a user asks the chat box, through live (version {live}): {question}")
    out.print(Markdown(reply.get("answer") or ""))
    out.print(f"  {_answered(reply)}", soft_wrap=True)
    good, throttled = commands.release_scenarios(genai)[:2]
    version = commands.publish_scenario(cloud, good)
    out.print(f"  sam deploy publishes version {version} ({good['change']}); the release workflow runs it")
    rows = [commands.release_scenario(out, cloud, good, version)]
    version = commands.publish_scenario(cloud, throttled)
    out.print(f"  sam deploy publishes version {version}: {throttled['change']}")
    reply = genai.ask(cloud, question, qualifier=version)
    asks.append((f"version {version}", reply))
    out.print(f"  asked of version {version} directly, as the release's smoke test asks it:")
    out.print(f"  {_answered(reply)}", soft_wrap=True)
    render.print_table(out, _asks_table(asks))
    out.print(f"  the release workflow runs version {version}, with synthetic users on live meanwhile")
    rows.append(commands.release_scenario(out, cloud, throttled, version))
    commands.print_releases(out, rows, genai.stand_ins(cloud))
    out.print(f"  live: version {genai.live_alias(cloud)['version']}")


def _scaling_scene(out: Console, cloud: LocalCloud) -> None:
    """7. Scaling: a dry run of night, night applied, then peak on a latency alarm."""
    import json  # noqa: PLC0415

    from petclinic_local.cli.scale import render_report  # noqa: PLC0415
    from petclinic_local.scaling import execution_report, scale  # noqa: PLC0415

    out.rule("[bold]7. The stack scales: night as a dry run, night applied, peak on an alarm")
    out.print('  an operator asks what night would do: {"profile": "night", "dryRun": true}')
    render_report(out, scale(cloud, "night", dry_run=True))
    out.print(
        '  the night schedule fires ({"profile": "night", "trigger": "schedule"}): the same diff, applied'
    )
    render_report(out, scale(cloud, "night", trigger="schedule"))
    out.print("  the p99 latency alarm goes to ALARM; its rule starts the workflow with peak")
    known = {e["executionArn"] for e in cloud.executions("petclinic-ops-dev-scale")}
    detail = {
        "alarmName": "petclinic-p99-latency",
        "state": {"value": "ALARM"},
        "previousState": {"value": "OK"},
    }
    cloud.put_events(
        [{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": detail}]
    )
    cloud.wait_until_quiet()
    for execution in cloud.executions("petclinic-ops-dev-scale"):
        if execution["executionArn"] not in known:
            out.print(f"  input {json.dumps(execution['input'])}")
            render_report(out, execution_report(cloud, execution["executionArn"]))


def _provisioning_scene(out: Console) -> None:
    """6. The PetClinic stack from nothing: plan, apply, re-apply with no change (a cloud of its
    own that starts with the control plane only)."""
    from petclinic_local import provisioning  # noqa: PLC0415
    from petclinic_local.cli.provision import render_report  # noqa: PLC0415
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415

    out.rule("[bold]6. The PetClinic stack is provisioned: plan, apply, re-apply with no change")
    with out.status("starting a local cloud with the control plane only"):
        cloud = LocalCloud(time_scale=0.01, seed=PetClinicSeed(provisioned=False)).__enter__()
    try:
        steps = (
            (
                "plan: change sets made, read and deleted; nothing is created",
                {"environment": "dev", "plan": True},
            ),
            (
                "apply: network, data, services, edge in order, each waited for on its status event",
                {"environment": "dev"},
            ),
            ("re-apply: every change set is empty, so nothing changes", {"environment": "dev"}),
        )
        for story, request in steps:
            out.print(f"  {story}")
            with out.status("the provision workflow runs"):
                report = provisioning.provision(cloud, request)
            render_report(out, report)
        stacks = cloud.client("cloudformation").list_stacks()["StackSummaries"]
        live = sorted(
            s["StackName"]
            for s in stacks
            if s["StackStatus"].endswith("_COMPLETE") and "DELETE" not in s["StackStatus"]
        )
        out.print(f"  stacks: {', '.join(name for name in live if name.startswith('petclinic-dev-'))}")
    finally:
        cloud.close()


def _rotation_scene(out: Console) -> None:
    """5. Rotation on the real MariaDB (a cloud of its own: its managed secret is that database's)."""
    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.errors import UsageError  # noqa: PLC0415
    from petclinic_local.petclinic.database import DEFAULT_URL, PetClinicDatabase  # noqa: PLC0415
    from petclinic_local.rotations import ROLLOUT, credentials_report, rotation_cloud, start_rotation  # noqa: PLC0415

    out.rule("[bold]5. Credentials rotate, the services that use them roll, no login fails")
    try:
        database = PetClinicDatabase.create(DEFAULT_URL)
    except UsageError as exc:
        out.print(f"  skipped: {exc} (start MariaDB, or see `petclinic-ops local rotate --mysql URL`)")
        return
    try:
        with rotation_cloud(database, "alternating") as cloud:
            out.print(
                f"  database {database.name} on {database.host}:{database.port}; "
                f"the services log in as {database.app_user}"
            )
            arn = start_rotation(cloud)
            out.print(
                '  an operator starts the rotation workflow with {"secret": "petclinic/dev/aurora/app"}'
            )
            with out.status(
                "Secrets Manager runs createSecret, setSecret, testSecret, finishSecret; then the rollout"
            ):
                execution = runner.wait(cloud, arn, timeout=300)
            result, why = render.outcome(execution)
            out.print(f"  rotation and rollout: {render.styled(result)} {why}")
            report = credentials_report(cloud, database)
            for version in report["versions"]:
                stages = ", ".join(version["stages"])
                out.print(f"    version {version['versionId'][:8]}  {stages:12} user {version['username']}")
            logins = ", ".join(
                f"{stage} {'logs in' if ok else 'is refused'}" for stage, ok in report["logins"].items()
            )
            out.print(f"  {logins}: tasks started before the rotation keep working until they are replaced")
            redeployed = (execution.get("output") or {}).get("redeployed", [])
            out.print(
                f"  redeployed (their task definitions read the secret): {', '.join(redeployed) or 'none'}"
            )
            for other in (e for e in cloud.executions(ROLLOUT) if e["executionArn"] != arn):
                result = render.outcome(other)[0]
                out.print(f"  RotationSucceeded started the workflow too: {result} (the operator claimed it)")
            render.print_table(out, render.ledger_table(cloud.deployments(), title="Ledger of this scene"))
    finally:
        database.drop()


def _scenes(out: Console, cloud: LocalCloud) -> None:
    say_service(out, cloud, "customers-service")
    first: dict[str, Any] = {}

    def push_one() -> None:
        first.update(cloud.push_image("customers-service", "1.1.0"))

    customers, vets = (cloud.seed_spec.repository(name) for name in ("customers-service", "vets-service"))
    scene(out, cloud, "1. A push is deployed", f"docker push .../{customers}:1.1.0", push_one)
    say_service(out, cloud, "customers-service")

    say_service(out, cloud, "vets-service")
    executions = scene(
        out,
        cloud,
        "2. A broken image fails and is rolled back",
        f"docker push .../{vets}:1.1.0-broken   (its tasks crash at start)",
        lambda: cloud.push_image("vets-service", "1.1.0-broken"),
    )
    for execution in executions:
        out.print(f"  why: {render.outcome(execution)[1]}")
    say_service(out, cloud, "vets-service")

    pushes: list[dict[str, Any]] = []

    def burst() -> None:
        pushes.extend(cloud.push_image("visits-service", f"1.1.{n}", send=False) for n in range(10))
        cloud.put_events(pushes)

    executions = scene(
        out,
        cloud,
        "3. A burst of ten pushes coalesces",
        "ten pushes to visits-service within a second (1.1.0 ... 1.1.9)",
        burst,
    )
    deployed = [row for row in cloud.deployments() if row["service"] == "visits-service"]
    out.print(
        f"  {len(pushes)} pushes -> {len(deployed)} deployment(s): "
        + ", ".join(row.get("tag") or "-" for row in deployed)
        + f"; the newest push ({pushes[-1]['detail']['image-tag']}) is what runs; "
        + "no two rollouts overlapped: "
        + ("yes" if not cloud.simulator.overlaps else "NO")
    )
    say_service(out, cloud, "visits-service")

    scene(
        out,
        cloud,
        "4. A duplicate delivery is ignored",
        "ECR delivers scene 1's event a second time (EventBridge is at-least-once)",
        lambda: cloud.put_events([first]),
    )

    out.rule("[bold]Summary")
    render.print_table(out, render.ledger_table(cloud.deployments()))
    render.print_table(out, render.services_table(cloud.services()))
    invocations = len(cloud.runtime.invocations) if cloud.runtime else 0
    out.print(
        f"{len(cloud.executions(DEPLOY))} deploy executions, {len(cloud.deployments())} deployments, "
        f"{invocations} Lambda invocations in all"
    )


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fast", action="store_true", help="shorter simulated rollouts")


@registry.command(
    "demo",
    arguments=_arguments,
    help="narrated scenarios on the embedded local cloud",
    epilog="exit codes: 0 every scene ran, 2 bad input",
    fresh_cloud=True,
)
def _demo(args: argparse.Namespace) -> int:
    return run(fast=args.fast)
