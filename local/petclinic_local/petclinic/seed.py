"""The PetClinic stack the control plane operates, as the local cloud starts with it: the stacks
the provision workflow makes (infra/*.yaml: VPC, NAT gateways, ALB, the ECS cluster with its four
services, ECR repositories, Aurora, the secrets...), provisioned through the same change sets
(``stacks``), with a first image pushed to each repository and the first deployments completed.
One local cloud: ``local run`` and ``local rotate`` act on what ``local provision`` makes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petclinic_ops.models.common import environment_repository_prefix

ACCOUNT = "123456789012"
# The services stack's parameters of each service (<prefix>DesiredCount, <prefix>MinTasks...).
SERVICE_PARAMETERS = {
    "customers-service": "Customers",
    "vets-service": "Vets",
    "visits-service": "Visits",
    "admin-server": "AdminServer",
}


@dataclass(frozen=True)
class ServiceSeed:
    name: str
    port: int
    desired_count: int = 2
    uses_database: bool = True


@dataclass(frozen=True)
class PetClinicSeed:
    """The PetClinic stack a local cloud starts with: the provisioned stacks (infra/*.yaml) with
    each repository's first image pushed and the services' first deployments completed.

    ``secret_value`` / ``master_secret_value``: a database of the local machine the secrets
    point at instead of the Aurora cluster's endpoint (local rotations against MariaDB); the
    provisioned secrets get these values as new versions (the application secret keeps the
    data stack's masterarn). None: the data stack's own values."""

    environment: str = "dev"
    cluster: str = "petclinic-dev"
    initial_tag: str = "1.0.0"
    services: tuple[ServiceSeed, ...] = (
        ServiceSeed("customers-service", 8080),
        ServiceSeed("vets-service", 8080),
        ServiceSeed("visits-service", 8080),
        ServiceSeed("admin-server", 9090, desired_count=1, uses_database=False),
    )
    database_secret: str = "petclinic/dev/aurora/app"  # noqa: S105 - the secret's name
    secret_value: dict[str, Any] | None = None
    master_secret: str = "petclinic/dev/aurora/master"  # noqa: S105 - the secret's name
    master_secret_value: dict[str, Any] | None = None
    # Provision parameters per stack (as the workflow's "parameters"); None: the templates' defaults.
    parameters: dict[str, dict[str, str]] | None = None
    # False: no PetClinic stack at all (`local provision` makes it with the workflow).
    provisioned: bool = True

    def repository(self, service: str) -> str:
        """The service's ECR repository, as the data stack names it (petclinic/{env}/<service>)."""
        return f"{environment_repository_prefix(self.environment)}{service}"


def digest_for(repository: str, tag: str | None, salt: str = "") -> str:
    """A stable, realistic-looking digest for a local push."""
    return "sha256:" + hashlib.sha256(f"{repository}:{tag}:{salt}".encode()).hexdigest()


def registry(region: str, account: str = ACCOUNT) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def register_image(
    region: str, repository: str, tag: str | None, digest: str, account: str = ACCOUNT
) -> None:
    """What a `docker push` leaves in ECR (moto's backend takes the digest as given)."""
    from moto.ecr.models import ecr_backends  # noqa: PLC0415

    backend = ecr_backends[account][region]
    repo = backend.repositories[repository]
    if any(image.image_digest == digest for image in repo.images):
        image = next(image for image in repo.images if image.image_digest == digest)
        if tag and tag not in image.image_tags:
            backend.put_image(repository, image.image_manifest, tag, image.image_manifest_media_type)
        return
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 7023,
                "digest": digest,
            },
            "layers": [],
        }
    )
    backend.put_image(repository, manifest, tag, "application/vnd.oci.image.manifest.v1+json", digest=digest)


def seed(
    session: Any,
    region: str,
    spec: PetClinicSeed,
    *,
    root: Path,
    bucket: str,
    rotation_function_arn: str,
    permissions_boundary_arn: str,
    deployment_hook_function_arn: str = "",
) -> dict[str, Any]:
    """Provision the stacks (``stacks.provision_directly``), push each repository's first image,
    complete the services' first deployments; returns what the stacks made (subnets, secrets...)."""
    from petclinic_local.petclinic import stacks  # noqa: PLC0415

    templates = stacks.upload_templates(
        s3=session.client("s3", region_name=region),
        ssm=session.client("ssm", region_name=region),
        bucket=bucket,
        environment=spec.environment,
        root=root,
        region=region,
    )
    plans = stacks.provision_directly(
        session,
        environment=spec.environment,
        templates=templates,
        rotation_function_arn=rotation_function_arn,
        deployment_hook_function_arn=deployment_hook_function_arn,
        permissions_boundary_arn=permissions_boundary_arn,
        bucket=bucket,
        parameters=_running_services(spec),
        region=region,
        after_stack=lambda stack: push_first_images(region, spec) if stack == "data" else None,
    )
    return settle(session, region, spec, {plan.stack: plan.outputs for plan in plans})


def _running_services(spec: PetClinicSeed) -> dict[str, dict[str, str]]:
    """The provision parameters of a stack whose services were brought up (the services stack
    creates them at 0 tasks): each one's desired count, and as many tasks as its minimum; the
    spec's own parameters over these."""
    services: dict[str, str] = {}
    for service in spec.services:
        prefix = SERVICE_PARAMETERS[service.name]
        services[f"{prefix}DesiredCount"] = str(service.desired_count)
        if service.uses_database:
            services[f"{prefix}MinTasks"] = str(service.desired_count)
    given = spec.parameters or {}
    return {**given, "services": {**services, **given.get("services", {})}}


def push_first_images(region: str, spec: PetClinicSeed) -> None:
    """What the build pushes once the repositories exist (the data stack): each service's first image."""
    for service in spec.services:
        repository = spec.repository(service.name)
        register_image(region, repository, spec.initial_tag, digest_for(repository, spec.initial_tag))


def settle(
    session: Any, region: str, spec: PetClinicSeed, outputs: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """After the stacks exist (each repository with its first image): the first deployments
    COMPLETED, the secrets pointed at a local database when the spec says so."""
    _settle(region, spec)
    secrets = session.client("secretsmanager", region_name=region)
    app_arn, master_arn = outputs["data"]["AppSecretArn"], outputs["data"]["MasterSecretArn"]
    if spec.master_secret_value is not None:
        secrets.put_secret_value(SecretId=master_arn, SecretString=json.dumps(spec.master_secret_value))
    if spec.secret_value is not None:
        value = dict(spec.secret_value)
        if spec.master_secret_value is not None:
            value["masterarn"] = master_arn
        secrets.put_secret_value(SecretId=app_arn, SecretString=json.dumps(value))
    network = outputs["network"]
    return {
        "vpc": network["VpcId"],
        "subnets": network["AppSubnetIds"].split(","),
        "securityGroup": network["ServicesSecurityGroupId"],
        "rotationSecurityGroup": network["RotationSecurityGroupId"],
        "databaseSecretArn": app_arn,
        "masterSecretArn": master_arn,
        "stacks": outputs,
    }


def _settle(region: str, spec: PetClinicSeed, account: str = ACCOUNT) -> None:
    """The seeded stack is in steady state: each service's first deployment has COMPLETED."""
    from moto.ecs.models import ecs_backends  # noqa: PLC0415

    backend = ecs_backends[account][region]
    for service in spec.services:
        running = backend.services[f"{spec.cluster}:{service.name}"]
        running.desired_count = service.desired_count
        running.running_count, running.pending_count = service.desired_count, 0
        for deployment in running.deployments:
            deployment.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
                desiredCount=service.desired_count,
                runningCount=service.desired_count,
                pendingCount=0,
            )
