"""The local runner on the local cloud (local/petclinic_local/runner.py): a workflow started by
its key, waited for until quiet or until its end, followed as the CLI follows it on AWS (each
state once, a timeout that leaves the execution running), and execution names that never
collide; the CLI's `--timeout` of a release as one line on stderr."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from petclinic_local import genai, runner
from petclinic_local.cli import aws, deploy
from petclinic_local.cli.main import main
from petclinic_local.cloud import LocalCloud
from petclinic_local.errors import QuietTimeout
from petclinic_local.server import LocalEndpoint

pytestmark = pytest.mark.xdist_group("runner")  # one served cloud for the module


@pytest.fixture(scope="module")
def served() -> Iterator[LocalEndpoint]:
    """A local cloud, served, whose releases bake 30 s per traffic step (3,000 simulated seconds):
    a release runs throughout a test."""
    cloud = LocalCloud(parameters={"GenAiBakeSeconds": "3000"}, stack_name="petclinic-ops-dev")
    with LocalEndpoint(cloud, port=0) as endpoint:
        yield endpoint


def plane_of(cloud: LocalCloud) -> aws.ControlPlane:
    return aws.control_plane(aws.Target(stack=cloud.stack_name), session=cloud.session)


def test_run_starts_a_workflow_by_its_key_and_reports_it(cloud: LocalCloud) -> None:
    execution = runner.run(
        cloud, "ScaleStateMachine", {"profile": "night", "dryRun": True}, name="scale-night", timeout=120
    )
    assert (execution["stateMachine"], execution["status"]) == ("petclinic-ops-dev-scale", "SUCCEEDED")
    assert re.search(r":scale-night-\d{8}T\d{6}-[0-9a-f]{8}$", execution["executionArn"])
    assert execution["input"] == {"profile": "night", "dryRun": True}
    assert runner.result(execution) == "DRY_RUN"
    assert {change["target"] for change in runner.detail(execution)["changes"]} >= {"aurora/petclinic-dev"}
    events = runner.history(cloud, execution["executionArn"])
    assert (runner.transitions(events), runner.lambda_invocations(events)) == (10, 1)


def test_manual_deploys_started_in_one_second_are_each_an_execution(cloud: LocalCloud) -> None:
    """Before: `deploy` named its execution manual-SERVICE-<second>, so a second deploy of the
    service within that second failed (ExecutionAlreadyExists) or, with the same input, was
    answered with the first one's execution."""
    plane = plane_of(cloud)
    images = [
        cloud.push_image("admin-server", f"2.0.{n}", send=False)["detail"]["image-digest"] for n in range(5)
    ]
    started = [deploy.start(plane, {"service": "admin-server", "image": digest}) for digest in images]
    started.append(deploy.start(plane, {"service": "admin-server", "image": images[-1]}))  # the same again
    assert len(set(started)) == 6
    cloud.wait_until_quiet()
    listed = {
        e["executionArn"] for e in cloud.executions(runner.state_machine_arn(cloud, "DeployStateMachine"))
    }
    assert set(started) <= listed


def test_wait_until_the_end_or_until_quiet_and_follow_as_on_aws(served: LocalEndpoint) -> None:
    cloud = served.cloud
    plane = plane_of(cloud)
    version = genai.publish_version(cloud, {"MAX_TOKENS": "400"}, "shorter answers")
    release = genai.start_release(cloud, version)
    with pytest.raises(runner.StillRunning, match=f"^still running after 0 s: {re.escape(release)} "):
        runner.follow(plane, release, timeout=0, poll_seconds=0.01)

    dry = runner.run(
        cloud,
        "ScaleStateMachine",
        {"profile": "night", "dryRun": True},
        name="scale",
        until="end",
        timeout=120,
    )
    assert runner.result(dry) == "DRY_RUN"
    assert runner.describe(cloud, release)["status"] == "RUNNING"  # the end of one, not quiet
    with pytest.raises(QuietTimeout):
        runner.wait(cloud, dry["executionArn"], until="quiet", timeout=0.2)

    cloud.client("stepfunctions").stop_execution(executionArn=release, cause="the test has seen enough")
    seen: list[str] = []
    ended = runner.follow(
        plane, release, timeout=60, poll_seconds=0.05, on_state=lambda name, _: seen.append(name)
    )
    assert ended["status"] == "ABORTED"
    assert seen  # each state once, in order, from the first
    assert seen == runner.states_entered(runner.history(cloud, release))


def test_release_at_its_timeout_says_so_on_stderr_and_keeps_stdout_for_json(
    served: LocalEndpoint, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before: `genai release --json` printed "still running after ..." on stdout (not JSON)."""
    cloud = served.cloud
    cloud.wait_until_quiet()
    version = genai.publish_version(cloud, {"MAX_TOKENS": "300"}, "shorter still")
    capfd.readouterr()
    code = main(["genai", "release", version, "--json", "--timeout", "0", "--endpoint-url", served.url])
    out, err = capfd.readouterr()
    assert (code, out) == (1, "")
    first, *_, last = err.splitlines()  # progress, then why it stopped following
    assert re.fullmatch(rf"releasing version {version}: arn:\S+:release-v{version}-\S+", first)
    assert re.fullmatch(
        r"petclinic-ops: still running after 0 s: arn:\S+:release-v\d+-\S+ \(it goes on without us\)", last
    )
    releases = cloud.executions(runner.state_machine_arn(cloud, "GenAiReleaseStateMachine"))
    [running] = [e for e in releases if e["status"] == "RUNNING"]  # it goes on
    assert running["input"]["version"] == version
    cloud.client("stepfunctions").stop_execution(executionArn=running["executionArn"])


def test_release_says_each_step_and_what_live_serves_never_a_placeholder(
    served: LocalEndpoint, capfd: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: `genai release` showed a spinner only (nothing when piped) and printed
    `live: version ?` when the release ended before reading live."""
    cloud = served.cloud
    # What this test reads is a release of the version live serves whole, with no other release
    # holding the lease. The module's other tests stop releases part-way (live split, their lease
    # left to a dead holder), and a release takes such a lease over and finishes the job: put the
    # alias and the lease as a fresh cloud has them, whatever ran before.
    sfn = cloud.client("stepfunctions")
    for execution in cloud.executions(runner.state_machine_arn(cloud, "GenAiReleaseStateMachine")):
        if execution["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution["executionArn"])
    cloud.wait_until_quiet()
    live = genai.live_alias(cloud)["version"]
    cloud.client("lambda").update_alias(
        FunctionName=genai.function_name(cloud), Name="live", FunctionVersion=live, RoutingConfig={}
    )
    cloud.client("dynamodb").delete_item(
        TableName=cloud.outputs["LeasesTableName"], Key={"service": {"S": "genai-release"}}
    )
    capfd.readouterr()
    code = main(["genai", "release", live, "--poll-seconds", "0.05", "--endpoint-url", served.url])
    text = capfd.readouterr().out
    assert code == 0, text
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0].startswith(f"releasing version {live}: arn:aws:states:")
    steps = [line.split("  ", 1)[-1] for line in lines[1:-2]]
    assert steps == [
        f"checking that version {live} exists",
        "reading what live serves now",
        f"version {live} already serves all of live: nothing to do",
    ]
    assert lines[-2] == f"NOTHING_TO_DO: version {live} already takes all of live"
    assert lines[-1].startswith(f"live: version {live}; execution arn:")

    code = main(["genai", "release", "99", "--poll-seconds", "0.05", "--endpoint-url", served.url])
    text = " ".join(capfd.readouterr().out.split())
    assert code == 2
    assert "version 99 of petclinic-ops-dev-genai does not exist" in text
    assert "live: unchanged (the release ended before any traffic moved)" in text
    assert "?" not in text
