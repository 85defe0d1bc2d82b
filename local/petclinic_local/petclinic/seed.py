"""The PetClinic stack the control plane operates, as the local cloud seeds it: the VPC's private
app subnets, the ECS cluster with its four services on running task definitions, their ECR
repositories with a first image each, task roles, and the database secret the services read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class ServiceSeed:
    name: str
    port: int
    desired_count: int = 2
    uses_database: bool = True


@dataclass(frozen=True)
class PetClinicSeed:
    environment: str = "dev"
    cluster: str = "petclinic-dev"
    repository_prefix: str = "petclinic/"
    initial_tag: str = "1.0.0"
    services: tuple[ServiceSeed, ...] = (
        ServiceSeed("customers-service", 8080),
        ServiceSeed("vets-service", 8080),
        ServiceSeed("visits-service", 8080),
        ServiceSeed("admin-server", 9090, desired_count=1, uses_database=False),
    )
    database_secret: str = "petclinic/dev/aurora/app"  # noqa: S105 - the secret's name
    secret_value: dict[str, Any] = field(
        default_factory=lambda: {
            "engine": "mysql",
            "host": "petclinic-dev.cluster-abcdefghijkl.us-west-2.rds.amazonaws.com",
            "port": 3306,
            "username": "petclinic",
            "password": "not-a-real-password",
            "dbname": "petclinic",
        }
    )
    # The superuser secret the application secret's masterarn names (alternating-user rotation).
    master_secret: str = "petclinic/dev/aurora/master"  # noqa: S105 - the secret's name
    master_secret_value: dict[str, Any] | None = None


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


def seed(session: Any, region: str, spec: PetClinicSeed) -> dict[str, Any]:
    """Create the stack; returns the ids the seed made (subnets, secret ARN...)."""
    ec2, ecs, ecr, iam, secrets = (
        session.client(name, region_name=region) for name in ("ec2", "ecs", "ecr", "iam", "secretsmanager")
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
        for cidr, zone in (("10.0.3.0/24", "a"), ("10.0.4.0/24", "b"))
    ]
    group = ec2.create_security_group(
        GroupName="petclinic-services", Description="PetClinic ECS services", VpcId=vpc
    )["GroupId"]

    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    execution_role = iam.create_role(RoleName="petclinic-ecs-execution", AssumeRolePolicyDocument=trust)[
        "Role"
    ]["Arn"]
    created: dict[str, Any] = {}
    value = dict(spec.secret_value)
    if spec.master_secret_value is not None:
        master = secrets.create_secret(
            Name=spec.master_secret, SecretString=json.dumps(spec.master_secret_value)
        )
        created["masterSecretArn"] = value["masterarn"] = master["ARN"]
    secret_arn = secrets.create_secret(Name=spec.database_secret, SecretString=json.dumps(value))["ARN"]

    ecs.create_cluster(clusterName=spec.cluster)
    for service in spec.services:
        repository = f"{spec.repository_prefix}{service.name}"
        ecr.create_repository(repositoryName=repository, imageScanningConfiguration={"scanOnPush": True})
        register_image(region, repository, spec.initial_tag, digest_for(repository, spec.initial_tag))
        task_role = iam.create_role(
            RoleName=f"petclinic-{service.name}-task", AssumeRolePolicyDocument=trust
        )["Role"]["Arn"]
        definition = ecs.register_task_definition(
            **_task_definition(
                spec=spec,
                service=service,
                region=region,
                execution_role=execution_role,
                task_role=task_role,
                secret_arn=secret_arn,
            )
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=spec.cluster,
            serviceName=service.name,
            taskDefinition=definition,
            desiredCount=service.desired_count,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnets,
                    "securityGroups": [group],
                    "assignPublicIp": "DISABLED",
                }
            },
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
        )
    _settle(region, spec)
    return {
        "vpc": vpc,
        "subnets": subnets,
        "securityGroup": group,
        "databaseSecretArn": secret_arn,
        **created,
    }


def _task_definition(
    *,
    spec: PetClinicSeed,
    service: ServiceSeed,
    region: str,
    execution_role: str,
    task_role: str,
    secret_arn: str,
) -> dict[str, Any]:
    image = f"{registry(region)}/{spec.repository_prefix}{service.name}:{spec.initial_tag}"
    container: dict[str, Any] = {
        "name": service.name,
        "image": image,
        "essential": True,
        "portMappings": [
            {"containerPort": service.port, "protocol": "tcp", "name": f"{service.name}-{service.port}"}
        ],
        "environment": [
            {"name": "SPRING_PROFILES_ACTIVE", "value": "docker,mysql" if service.uses_database else "docker"}
        ],
        "healthCheck": {
            "command": ["CMD-SHELL", f"curl -fs http://localhost:{service.port}/actuator/health || exit 1"],
            "interval": 30,
            "retries": 3,
        },
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/ecs/petclinic-{spec.environment}",
                "awslogs-region": region,
                "awslogs-stream-prefix": service.name,
            },
        },
    }
    if service.uses_database:
        container["secrets"] = [
            {"name": "SPRING_DATASOURCE_USERNAME", "valueFrom": f"{secret_arn}:username::"},
            {"name": "SPRING_DATASOURCE_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
        ]
    xray = {
        "name": "xray-daemon",
        "image": "public.ecr.aws/xray/aws-xray-daemon:3.3.7",
        "essential": False,
        "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
    }
    return {
        "family": f"petclinic-{spec.environment}-{service.name}",
        "taskRoleArn": task_role,
        "executionRoleArn": execution_role,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [container, xray],
        "tags": [{"key": "app", "value": "petclinic"}, {"key": "service", "value": service.name}],
    }


def _settle(region: str, spec: PetClinicSeed, account: str = ACCOUNT) -> None:
    """The seeded stack is in steady state: each service's first deployment has COMPLETED."""
    from moto.ecs.models import ecs_backends  # noqa: PLC0415

    backend = ecs_backends[account][region]
    for service in spec.services:
        running = backend.services[f"{spec.cluster}:{service.name}"]
        running.running_count, running.pending_count = service.desired_count, 0
        for deployment in running.deployments:
            deployment.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
                runningCount=service.desired_count,
                pendingCount=0,
            )
