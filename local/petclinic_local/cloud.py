"""The Docker-free local cloud: an embedded moto with the control plane deployed from the real
template.yaml (real ASL files, real handlers run in-process) and the PetClinic stack seeded.

    with LocalCloud() as cloud:
        cloud.push_image("customers-service", "1.1.0")      # an ECR push event on the bus
        cloud.wait_until_quiet()
        cloud.services()["customers-service"]["image"]        # ...@sha256:...

Never deployed: a development and test tool. Its moto workarounds live in moto_compat, what AWS
does on its own in simulators, the deploy of template.yaml in stack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from petclinic_local import moto_compat
from petclinic_local.errors import QuietTimeout
from petclinic_local.faults import StateFaults
from petclinic_local.petclinic import seed as petclinic_seed
from petclinic_local.simulators.bedrock import BedrockStandIn
from petclinic_local.simulators.cloudformation import StackEvents
from petclinic_local.simulators.cloudwatch import AlarmEvaluator, LambdaMetrics, ingest_emf
from petclinic_local.simulators.ecs import CircuitBreaker, Outcome, RolloutSimulator
from petclinic_local.simulators.petclinic_http import PetClinicHttpService
from petclinic_local.stack.deploy import DeployedStack, deploy_template
from petclinic_local.stack.lambda_runtime import Invocation, LambdaRuntime

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
ACCOUNT = petclinic_seed.ACCOUNT
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Nothing of the caller's AWS configuration: no config or credentials file, no metadata.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def sealed_environment() -> Iterator[None]:
    """While a local cloud runs, the process sees none of the caller's ``AWS_*`` variables
    (``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_PROFILE``, keys, region,
    config files): only the cloud's own (``FAKE_CREDENTIALS``). A caller's endpoint would send
    the cloud's calls past moto to that endpoint (a served cloud, say), and a caller's profile
    would be looked up; both are put back when the cloud closes."""
    with mock.patch.dict(os.environ):
        for key in [key for key in os.environ if key.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(FAKE_CREDENTIALS)
        yield


class LocalCloud:
    def __init__(
        self,
        *,
        root: Path = PROJECT_ROOT,
        time_scale: float = 0.01,
        rollout_seconds: float = 90.0,
        parameters: dict[str, str] | None = None,
        seed: petclinic_seed.PetClinicSeed | None = None,
        stack_name: str = "petclinic-ops-local",
        enforce_iam: bool | None = None,
    ) -> None:
        self.root = root
        # IAM decides every call a role makes (moto_compat.iam); PETCLINIC_LOCAL_IAM=off turns it
        # off for a whole run (benchmarks/iam_enforcement.py compares the two).
        self.enforce_iam = (
            enforce_iam if enforce_iam is not None else os.environ.get("PETCLINIC_LOCAL_IAM", "on") != "off"
        )
        self.region = REGION
        self.time_scale = time_scale
        self.parameters = {"EnvironmentName": "dev", **(parameters or {})}
        self.seed_spec = seed or petclinic_seed.PetClinicSeed()
        self.stack_name = stack_name
        self.simulator = RolloutSimulator(
            account=ACCOUNT, region=REGION, rollout_seconds=rollout_seconds, time_scale=time_scale
        )
        self.faults = StateFaults()
        # The GenAI function's surroundings: Bedrock, the PetClinic services and CloudWatch's
        # metrics and alarms (stand-ins, simulators/bedrock.py, petclinic_http.py, cloudwatch.py).
        self.bedrock = BedrockStandIn()
        self.petclinic_http = PetClinicHttpService(test_route_health=self.simulator.test_route_health)
        self.lambda_metrics = LambdaMetrics(ACCOUNT, REGION)
        self.alarm_evaluator = AlarmEvaluator()
        # CloudFormation's providers for the types moto skips, its stack events, resource faults.
        self.stack_events = StackEvents(account=ACCOUNT, region=REGION, time_scale=time_scale)
        self.runtime: LambdaRuntime | None = None
        self.stack: DeployedStack | None = None
        self.seeded: dict[str, Any] = {}
        self._exit = contextlib.ExitStack()
        self._push_count = 0
        self._background = 0
        self._background_lock = threading.Lock()
        self._background_released = threading.Event()
        self._background_released.set()

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> LocalCloud:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        import boto3  # noqa: PLC0415
        from moto import mock_aws  # noqa: PLC0415

        self._exit.enter_context(sealed_environment())
        self._exit.enter_context(_quiet_logger("moto", logging.CRITICAL))
        self._exit.enter_context(mock_aws(config=MOTO_CONFIG))
        self._exit.enter_context(moto_compat.install(self))
        self._exit.enter_context(self.faults.installed())
        self._exit.callback(self.simulator.close)
        self.petclinic_http.start()
        self._exit.callback(self.petclinic_http.close)
        self.session = boto3.Session(region_name=REGION)
        self._seed_service_urls()
        parameters = {
            # The data stack's secrets (found by name); the local MariaDB speaks no TLS.
            "DatabaseTls": "disabled",
            **self.parameters,
        }
        self.stack = deploy_template(
            self.root / "template.yaml",
            stack_name=self.stack_name,
            parameters=parameters,
            session=self.session,
            region=REGION,
        )
        self.runtime = LambdaRuntime(
            self.stack.functions,
            region=REGION,
            on_invocation=self._write_logs,
            version_environment=self._version_environment,
        )
        if self.seed_spec.provisioned:
            # The control plane first (its rotation function is the data stack's), then the stacks.
            with self.stack_events.muted():
                self.seeded = petclinic_seed.seed(
                    self.session,
                    REGION,
                    self.seed_spec,
                    root=self.root,
                    bucket=self.outputs["ArtifactBucketName"],
                    rotation_function_arn=self.outputs["RotateSecretFunctionArn"],
                    deployment_hook_function_arn=self.outputs["DeploymentHookFunctionArn"],
                    permissions_boundary_arn=self.outputs["WorkloadBoundaryArn"],
                )
            self.wait_until_quiet()

    def close(self, *, quiet_timeout: float = 30.0) -> None:
        """Let running work end (up to ``quiet_timeout`` seconds; 0: not at all), stop what still
        runs, then remove moto. Nothing of this cloud may outlive it: moto's backends are
        process-wide, and an execution or a background rotation left running would act on the
        next local cloud's resources."""
        try:
            with contextlib.suppress(QuietTimeout):
                if quiet_timeout > 0:
                    self.wait_until_quiet(timeout=quiet_timeout)
            if self.stack is not None:
                self._stop_everything()
        finally:
            # Whatever failed above, moto goes: a mock left installed keeps this cloud's resources
            # for the next local cloud in the process (which then fails: "bucket already owned").
            self._exit.close()

    def _stop_everything(self, timeout: float = 30.0) -> None:
        self._background_released.set()
        self.simulator.close()
        sfn = self.client("stepfunctions")
        for execution_arn in self._running():
            with contextlib.suppress(Exception):
                sfn.stop_execution(executionArn=execution_arn, cause="the local cloud is closing")
        deadline = time.monotonic() + timeout
        while (self._running() or self._background > 0) and time.monotonic() < deadline:
            time.sleep(0.05)

    # ----------------------------------------------------------------- moto_compat.Hooks

    def has_function(self, function_name: str) -> bool:
        return self.runtime is not None and self.runtime.has_function(function_name)

    def invoke_function(self, function_name: str, payload: Any) -> tuple[Any, bool, str]:
        assert self.runtime is not None
        return self.runtime.invoke(function_name, payload)

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        self.simulator.deployment_started(service, deployment, previous)

    def desired_count_changed(self, service: Any) -> None:
        self.simulator.desired_count_changed(service)

    def cloudformation_events(self) -> StackEvents:
        return self.stack_events

    def background(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                self._background_released.wait()
                work()
            finally:
                with self._background_lock:
                    self._background -= 1

        with self._background_lock:
            self._background += 1
        threading.Thread(target=run, daemon=True).start()

    def lambda_invoked(
        self, function: str, qualifier: str | None, version: str, *, errored: bool, duration_ms: float
    ) -> None:
        """A qualified invocation ran (moto_compat.awslambda_aliases): Lambda's metrics of it."""
        self.lambda_metrics.record(function, qualifier, version, errored=errored, duration_ms=duration_ms)

    def _version_environment(self, function: str, version: str) -> dict[str, str]:
        """A published version's environment, as Lambda keeps it."""
        config = self.client("lambda").get_function_configuration(FunctionName=function, Qualifier=version)
        return dict(config.get("Environment", {}).get("Variables", {}))

    def _seed_service_urls(self) -> None:
        """Parameter Store's PetClinic service URLs, all pointing at the local PetClinic HTTP stand-in."""
        ssm = self.client("ssm")
        env = self.parameters["EnvironmentName"]
        for service in ("customers-service", "vets-service", "visits-service"):
            ssm.put_parameter(
                Name=f"/petclinic/{env}/services/{service}/url",
                Value=self.petclinic_http.url,
                Type="String",
                Overwrite=True,
            )

    def _write_logs(self, invocation: Invocation) -> None:
        """Each invocation's output into the function's log group, as Lambda writes it, and (the
        GenAI function's) embedded metrics in it into CloudWatch, as CloudWatch Logs extracts them."""
        from moto.logs.models import logs_backends  # noqa: PLC0415

        logs = logs_backends[ACCOUNT][REGION]
        base = invocation.function.split(":", 1)[0]
        if self.stack and base == self.stack.outputs.get("GenAiFunctionName"):
            # Only the GenAI function's metrics are read back (its release alarms). Extracting every
            # function's EMF would double what tests read back through moto's GetMetricStatistics,
            # which matches a metric whatever its dimensions (AWS matches them exactly).
            ingest_emf(invocation.logs, ACCOUNT, REGION)
        spec = self.runtime.functions[base] if self.runtime else None
        group = spec.log_group if spec else f"/aws/lambda/{invocation.function}"
        logs.ensure_log_group(group)
        version = invocation.function.partition(":")[2] or "$LATEST"
        stream = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[{version}]{invocation.request_id}"
        logs.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        lines = [line for line in invocation.logs.splitlines() if line.strip()]
        if lines:
            logs.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])

    # ----------------------------------------------------------------- driving it

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)  # type: ignore[call-overload]

    @property
    def outputs(self) -> dict[str, str]:
        assert self.stack is not None
        return self.stack.outputs

    def inject_fault(self, digest_or_service: str, outcome: Outcome) -> None:
        self.simulator.inject(digest_or_service, outcome)

    def set_circuit_breaker(self, service: str, *, enable: bool = True, rollback: bool = False) -> None:
        self.simulator.set_breaker(service, CircuitBreaker(enable=enable, rollback=rollback))

    def push_image(
        self, service: str, tag: str | None, *, digest: str | None = None, send: bool = True
    ) -> dict[str, Any]:
        """A `docker push` to the service's repository: the image lands in ECR and ECR's
        "Image Action" event goes on the default bus (unless ``send`` is False)."""
        repository = self.seed_spec.repository(service)
        self._push_count += 1
        digest = digest or petclinic_seed.digest_for(repository, tag, salt=str(self._push_count))
        petclinic_seed.register_image(REGION, repository, tag, digest)
        event = ecr_push_event(repository, digest, tag)
        if send:
            self.put_events([event])
        return event

    def expire_images(self, now: float | None = None) -> dict[str, list[str]]:
        """What ECR's lifecycle policies do within a day: each repository with a policy loses the
        images it expires (the gap ecr-lifecycle-policy: ``moto_compat.ecr.expire_images``; ``now``
        in epoch seconds, default moto's clock). Returns the digests deleted, per repository."""
        from moto.ecr.models import ecr_backends  # noqa: PLC0415

        deleted: dict[str, list[str]] = ecr_backends[ACCOUNT][REGION].expire_images(now)
        return deleted

    def fire_schedule(self, rule_name: str) -> None:
        """A schedule rule's time has come (the local cloud runs no clock for them): EventBridge
        starts its Step Functions targets with the rule's input, each as its target's role."""
        from petclinic_local.moto_compat.events import fire_schedule  # noqa: PLC0415

        fire_schedule(ACCOUNT, REGION, rule_name)

    def put_events(self, events: list[dict[str, Any]]) -> None:
        """Put EventBridge envelopes (as `sam local invoke -e` takes them) on the default bus."""
        entries = [
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event.get("resources", []),
                **({"Time": event["time"]} if event.get("time") else {}),
            }
            for event in events
        ]
        client = self.client("events")
        for start in range(0, len(entries), 10):
            response = client.put_events(Entries=entries[start : start + 10])
            if response.get("FailedEntryCount"):
                raise ValueError(f"events rejected by EventBridge: {response['Entries']}")

    def start_deployment(self, service: str, image: str, **extra: Any) -> str:
        """A manual execution of the deploy workflow (runner.start)."""
        from petclinic_local import runner  # noqa: PLC0415

        payload = {"service": service, "image": image, **extra}
        return runner.start(self, "DeployStateMachine", payload, name=f"manual-{service}")

    def wait_until_quiet(self, timeout: float = 120.0, settle: float = 0.05) -> None:
        """Until no execution runs and no rollout is in flight (twice in a row)."""
        if self.stack is None:
            return
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 2:
            if time.monotonic() > deadline:
                raise QuietTimeout(f"still busy after {timeout} s: {self._running()}")
            calm = 0 if self.busy() else calm + 1
            time.sleep(settle)

    @contextlib.contextmanager
    def holding_background(self) -> Iterator[None]:
        """What AWS does in the background after answering (a rotation's four steps) waits until
        the block ends: a rotation that outlasts whatever the block does, however fast the CPU."""
        self._background_released.clear()
        try:
            yield
        finally:
            self._background_released.set()

    def busy(self) -> bool:
        """An execution runs, a rollout is in flight or a rotation works in the background."""
        return (
            bool(self._running())
            or not self.simulator.idle()
            or not self.stack_events.idle()
            or self._background > 0
        )

    def _running(self) -> list[str]:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

        backend = stepfunctions_parser_backends[ACCOUNT][REGION]
        # An execution being started has no status yet (moto sets it after adding it to the list):
        # it counts as running.
        return [
            e.execution_arn
            for sm in backend.state_machines
            for e in list(sm.executions)
            if getattr(e, "exec_status", None) is None or e.status == "RUNNING"
        ]

    # ----------------------------------------------------------------- reading it

    def executions(self, state_machine: str | None = None) -> list[dict[str, Any]]:
        """Every execution, oldest first, as ``runner.Execution`` records: state machine name,
        status, input, output or error and cause."""
        from petclinic_local import runner  # noqa: PLC0415

        sfn = self.client("stepfunctions")
        rows: list[dict[str, Any]] = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            if (
                state_machine
                and machine["name"] != state_machine
                and machine["stateMachineArn"] != state_machine
            ):
                continue
            for listed in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
                rows.append(runner.describe(self, listed["executionArn"]))
        return sorted(rows, key=lambda row: row["startDate"])

    def services(self) -> dict[str, dict[str, Any]]:
        """Each seeded service: its task definition, its service container's image, its PRIMARY deployment."""
        ecs = self.client("ecs")
        names = [service.name for service in self.seed_spec.services]
        described = ecs.describe_services(cluster=self.seed_spec.cluster, services=names)["services"]
        out = {}
        for service in described:
            definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
                "taskDefinition"
            ]
            container = next(
                c for c in definition["containerDefinitions"] if c["name"] == service["serviceName"]
            )
            primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
            out[service["serviceName"]] = {
                "taskDefinition": service["taskDefinition"],
                "image": container["image"],
                "deployment": {"id": primary["id"], "rolloutState": primary.get("rolloutState")},
            }
        return out

    def deployments(self) -> list[dict[str, Any]]:
        """The ledger, oldest first."""
        from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

        deserialize = TypeDeserializer().deserialize
        items = self.client("dynamodb").scan(TableName=self.outputs["LedgerTableName"])["Items"]
        rows = [{key: _plain(deserialize(value)) for key, value in item.items()} for item in items]
        return sorted(rows, key=lambda row: (row["startedAt"], row["service"]))

    def report(self) -> dict[str, Any]:
        return {
            "executions": self.executions(),
            "services": self.services(),
            "deployments": self.deployments(),
        }


@contextlib.contextmanager
def _quiet_logger(name: str, level: int) -> Iterator[None]:
    """moto logs every failed state at ERROR, including the ones a Catch handles on purpose
    (a lost conditional write is how the lease works); executions report real failures."""
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


def ecr_push_event(
    repository: str, digest: str, tag: str | None, *, account: str = ACCOUNT, region: str = REGION
) -> dict[str, Any]:
    """ECR's event for a successful push, in AWS's shape (detail-type "ECR Image Action": Amazon
    ECR User Guide, "Amazon ECR events and EventBridge")."""
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
        "artifact-media-type": "application/vnd.oci.image.config.v1+json",
        "manifest-media-type": "application/vnd.oci.image.manifest.v1+json",
    }
    if tag is not None:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": account,
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _plain(value: Any) -> Any:
    from decimal import Decimal  # noqa: PLC0415

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
