"""CloudFormation's resource provisioning for the types moto's CloudFormation skips, and the
stack events CloudFormation sends to EventBridge.

Stand-in, not the real thing: moto's CloudFormation creates most of the PetClinic templates'
resources itself (VPC, subnets, NAT gateways, ALB, ECS, ECR, IAM, KMS, logs, SSM...); for the
types it skips (``SIMULATED_TYPES``) this module creates the resource through that service's
API-level moto backend (by boto3 calls to the embedded moto, exactly as a resource handler calls
the service API), so the local cloud really holds the Aurora cluster, the secrets, the Cloud Map
namespace and services, the Application Auto Scaling targets and policies, the WAF web ACL and
the API stage. ``moto_compat.cloudformation`` routes those types here and reports each resource
event; ``StackEvents`` puts them on the default bus, after the API call that caused them has
answered, as "CloudFormation Stack Status Change" and "CloudFormation Resource Status Change".

What the handlers do not reproduce: the real providers' validation of every property, and an
UPDATE rollback restores the previous template and status only (resources already modified in
place stay modified). Replacements are planned and applied by ``cloudformation_changes`` (a
replaced resource is created anew through its handler, the old one deleted after the update).
Types neither moto nor this module can create are listed in ``NOT_EMULATED`` with the reason; a
template that uses one fails to provision locally, naming it (nothing is faked).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# Types no local handler can create, with the reason (reported as `notEmulated`, created false).
# The PetClinic templates use none of them today; a new type lands here or gets a handler.
NOT_EMULATED: dict[str, str] = {
    "AWS::CloudWatch::Alarm": "moto's CloudFormation skips alarms and no local handler makes them",
}

# Types the local cloud creates at the API level (moto or a handler below) whose behaviour it
# does not reproduce: reported as `notEmulated` with created true and what is missing.
PARTIAL: dict[str, str] = {
    "AWS::EC2::NatGateway": "created in EC2's API; no packets flow locally (no NAT, no internet path)",
    "AWS::EC2::VPCEndpoint": "created in EC2's API; no private DNS or traffic (local calls reach moto)",
    "AWS::EC2::FlowLog": "created in EC2's API; no flow records are delivered",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "created in ELB's API; serves no HTTP, no health checks",
    "AWS::RDS::DBCluster": (
        "created in RDS's API (engine, endpoints, Serverless v2 capacity); no MySQL server behind it: "
        "local rotations use a MariaDB on 127.0.0.1"
    ),
    "AWS::RDS::DBInstance": "created in RDS's API (writer/reader placement); no database engine runs",
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "created in Application Auto Scaling's API with its bounds; its Tags are not kept (moto's "
        "Application Auto Scaling has no tagging), and nothing checks IAM against them locally"
    ),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (
        "created in Application Auto Scaling's API; no CloudWatch metric drives it: it never scales itself"
    ),
    "AWS::ECS::Service": (
        "created in ECS's API; moto keeps no deploymentConfiguration (the circuit breaker): the local "
        "rollout simulator's breaker setting stands in for it; no task runs"
    ),
    "AWS::ServiceDiscovery::Service": "created in Cloud Map's API; no task registers instances (none run)",
    "AWS::WAFv2::WebACL": "created in WAFv2's API with its rules; no request is filtered (no HTTP locally)",
    "AWS::ApiGateway::Stage": "created in API Gateway's API; no HTTP endpoint serves it locally",
    "AWS::ApiGateway::UsagePlan": "created in API Gateway's API; no request is counted against it locally",
}

_DYNAMIC_SECRET = re.compile(
    r"\{\{resolve:secretsmanager:(?P<id>[^:]+(?::[^:]+){0,6}?):SecretString:(?P<key>[^:}]+)\}\}"
)


@cache
def _client(service: str, region: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.session.Session(region_name=region).client(service, region_name=region)  # type: ignore[call-overload]


def _resolve_dynamic(value: Any, region: str) -> Any:
    """{{resolve:secretsmanager:<arn>:SecretString:<key>}} as CloudFormation resolves it."""
    if isinstance(value, dict):
        return {k: _resolve_dynamic(v, region) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_dynamic(v, region) for v in value]
    if isinstance(value, str) and "{{resolve:secretsmanager:" in value:

        def secret(match: re.Match[str]) -> str:
            raw = _client("secretsmanager", region).get_secret_value(SecretId=match["id"])["SecretString"]
            return str(json.loads(raw)[match["key"]])

        return _DYNAMIC_SECRET.sub(secret, value)
    return value


def plain(value: Any) -> Any:
    """Props as the API takes them: moto resolves Ref of some of its own models (a DB subnet
    group) to the model object rather than its name."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    for attribute in ("physical_resource_id", "subnet_name", "name", "id"):
        if isinstance(getattr(value, attribute, None), str):
            return getattr(value, attribute)
    raise TypeError(f"cannot pass {type(value).__name__} to an API call")


@dataclass
class Created:
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[dict[str, Any], str, str], Created]


# --------------------------------------------------------------------------- handlers by type
# Each: create(props, logical_id, region) -> Created; update(created, props, region) -> Created;
# delete(created, props, region, deletion_policy).


def _sg_egress_permission(props: dict[str, Any]) -> dict[str, Any]:
    permission: dict[str, Any] = {"IpProtocol": str(props["IpProtocol"])}
    if "FromPort" in props:
        permission.update(FromPort=int(props["FromPort"]), ToPort=int(props["ToPort"]))
    if props.get("DestinationSecurityGroupId"):
        permission["UserIdGroupPairs"] = [
            {"GroupId": props["DestinationSecurityGroupId"], "Description": props.get("Description", "")}
        ]
    else:
        permission["IpRanges"] = [{"CidrIp": props["CidrIp"], "Description": props.get("Description", "")}]
    return permission


class SecurityGroupEgress:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("ec2", region).authorize_security_group_egress(
            GroupId=props["GroupId"], IpPermissions=[_sg_egress_permission(props)]
        )
        return Created(f"{props['GroupId']}|egress|{logical_id}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).revoke_security_group_egress(
            GroupId=props["GroupId"], IpPermissions=[_sg_egress_permission(props)]
        )


def _tags(props: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


class ElasticIp:
    """Released on delete (moto's own handler keeps it, so the NAT's address outlives the stack)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        address = _client("ec2", region).allocate_address(
            Domain=props.get("Domain", "vpc"), TagSpecifications=_tags(props, "elastic-ip")
        )
        return Created(
            address["PublicIp"], {"AllocationId": address["AllocationId"], "PublicIp": address["PublicIp"]}
        )

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).release_address(AllocationId=created.attributes["AllocationId"])


class NatGateway:
    """Deleted with its network interface, as AWS deletes it (moto's handler deletes nothing, and
    its DeleteNatGateway leaves the interface, so the subnet and the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        gateway = _client("ec2", region).create_nat_gateway(
            AllocationId=props["AllocationId"],
            SubnetId=props["SubnetId"],
            TagSpecifications=_tags(props, "natgateway"),
        )["NatGateway"]
        return Created(gateway["NatGatewayId"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        ec2 = _client("ec2", region)
        [gateway] = ec2.describe_nat_gateways(NatGatewayIds=[created.physical_id])["NatGateways"]
        ec2.delete_nat_gateway(NatGatewayId=created.physical_id)
        for address in gateway.get("NatGatewayAddresses", []):
            if address.get("NetworkInterfaceId"):
                ec2.delete_network_interface(NetworkInterfaceId=address["NetworkInterfaceId"])


class VpcEndpoint:
    """Deleted with the stack (moto's own handler deletes nothing: its interfaces keep the subnets)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "VpcId": props["VpcId"],
            "ServiceName": props["ServiceName"],
            "VpcEndpointType": props.get("VpcEndpointType", "Gateway"),
            "SubnetIds": props.get("SubnetIds"),
            "SecurityGroupIds": props.get("SecurityGroupIds"),
            "RouteTableIds": props.get("RouteTableIds"),
            "PrivateDnsEnabled": _flag(props["PrivateDnsEnabled"]) if "PrivateDnsEnabled" in props else None,
        }
        endpoint = _client("ec2", region).create_vpc_endpoint(
            **{key: value for key, value in arguments.items() if value is not None}
        )["VpcEndpoint"]
        return Created(endpoint["VpcEndpointId"], {"Id": endpoint["VpcEndpointId"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).delete_vpc_endpoints(VpcEndpointIds=[created.physical_id])


class GatewayAttachment:
    """Detached on delete (moto's own handler leaves the gateway attached: the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("ec2", region).attach_internet_gateway(
            InternetGatewayId=props["InternetGatewayId"], VpcId=props["VpcId"]
        )
        return Created(f"IGW|{props['VpcId']}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).detach_internet_gateway(
            InternetGatewayId=props["InternetGatewayId"], VpcId=props["VpcId"]
        )


class RouteTable:
    """Deleted with the stack (moto's own handler has no delete: the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        table = _client("ec2", region).create_route_table(
            VpcId=props["VpcId"], TagSpecifications=_tags(props, "route-table")
        )["RouteTable"]
        return Created(table["RouteTableId"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).delete_route_table(RouteTableId=created.physical_id)


class Route:
    """Deleted with the stack (moto's own handler has no delete)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        target = {key: props[key] for key in ("GatewayId", "NatGatewayId") if props.get(key)}
        _client("ec2", region).create_route(
            RouteTableId=props["RouteTableId"], DestinationCidrBlock=props["DestinationCidrBlock"], **target
        )
        return Created(f"{props['RouteTableId']}|{props['DestinationCidrBlock']}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).delete_route(
            RouteTableId=props["RouteTableId"], DestinationCidrBlock=props["DestinationCidrBlock"]
        )


class RouteTableAssociation:
    """Disassociated on delete (moto's own handler leaves it: the route table, then the VPC, cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        association = _client("ec2", region).associate_route_table(
            RouteTableId=props["RouteTableId"], SubnetId=props["SubnetId"]
        )["AssociationId"]
        return Created(association)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ec2", region).disassociate_route_table(AssociationId=created.physical_id)


class BucketPolicy:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("s3", region).put_bucket_policy(
            Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"])
        )
        return Created(props["Bucket"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("s3", region).delete_bucket_policy(Bucket=props["Bucket"])


_BOOL = {"true": True, "false": False}


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else _BOOL[str(value).lower()]


class DBCluster:
    _SCALING = "ServerlessV2ScalingConfiguration"

    @staticmethod
    def _scaling(props: dict[str, Any]) -> dict[str, float | int]:
        scaling = props.get(DBCluster._SCALING) or {}
        # Capacities are ACUs in half steps; SecondsUntilAutoPause is whole seconds (an int to RDS).
        return {
            key: int(value) if key == "SecondsUntilAutoPause" else float(value)
            for key, value in scaling.items()
        }

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        props = _resolve_dynamic(props, region)
        arguments: dict[str, Any] = {
            "DBClusterIdentifier": props["DBClusterIdentifier"],
            "Engine": props["Engine"],
            "EngineVersion": props.get("EngineVersion"),
            "DatabaseName": props.get("DatabaseName"),
            "Port": int(props.get("Port", 3306)),
            "MasterUsername": props["MasterUsername"],
            "MasterUserPassword": props["MasterUserPassword"],
            "DBSubnetGroupName": props.get("DBSubnetGroupName"),
            "VpcSecurityGroupIds": props.get("VpcSecurityGroupIds", []),
            "StorageEncrypted": _flag(props.get("StorageEncrypted", False)),
            "KmsKeyId": props.get("KmsKeyId"),
            "BackupRetentionPeriod": int(props.get("BackupRetentionPeriod", 1)),
            "PreferredBackupWindow": props.get("PreferredBackupWindow"),
            "CopyTagsToSnapshot": _flag(props.get("CopyTagsToSnapshot", False)),
            "DeletionProtection": _flag(props.get("DeletionProtection", False)),
            "EnableIAMDatabaseAuthentication": _flag(props.get("EnableIAMDatabaseAuthentication", False)),
            "EnableCloudwatchLogsExports": props.get("EnableCloudwatchLogsExports", []),
            "ServerlessV2ScalingConfiguration": DBCluster._scaling(props),
            "Tags": props.get("Tags", []),
        }
        cluster = _client("rds", region).create_db_cluster(
            **{key: value for key, value in arguments.items() if value not in (None, {})}
        )["DBCluster"]
        return Created(cluster["DBClusterIdentifier"], DBCluster._attributes(cluster))

    @staticmethod
    def _attributes(cluster: dict[str, Any]) -> dict[str, Any]:
        return {
            "Endpoint.Address": cluster["Endpoint"],
            "Endpoint.Port": str(cluster["Port"]),
            "ReadEndpoint.Address": cluster["ReaderEndpoint"],
            "DBClusterArn": cluster["DBClusterArn"],
            "DBClusterResourceId": cluster["DbClusterResourceId"],
        }

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        cluster = _client("rds", region).modify_db_cluster(
            DBClusterIdentifier=created.physical_id,
            ServerlessV2ScalingConfiguration=DBCluster._scaling(props),
            BackupRetentionPeriod=int(props.get("BackupRetentionPeriod", 1)),
            DeletionProtection=_flag(props.get("DeletionProtection", False)),
            ApplyImmediately=True,
        )["DBCluster"]
        return Created(created.physical_id, DBCluster._attributes(cluster))

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        final: dict[str, Any] = {"SkipFinalSnapshot": True}
        if policy == "Snapshot":
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
            final = {
                "SkipFinalSnapshot": False,
                "FinalDBSnapshotIdentifier": f"{created.physical_id}-final-{stamp}",
            }
        _client("rds", region).delete_db_cluster(DBClusterIdentifier=created.physical_id, **final)


class DBInstance:
    """Aurora instances (moto's own DBInstance handler breaks on db.serverless aurora-mysql)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "DBInstanceIdentifier": props["DBInstanceIdentifier"],
            "DBClusterIdentifier": props.get("DBClusterIdentifier"),
            "DBInstanceClass": props["DBInstanceClass"],
            "Engine": props["Engine"],
            "AvailabilityZone": props.get("AvailabilityZone"),
            "PromotionTier": int(props.get("PromotionTier", 1)),
            "PubliclyAccessible": _flag(props.get("PubliclyAccessible", False)),
            "AutoMinorVersionUpgrade": _flag(props.get("AutoMinorVersionUpgrade", True)),
            "EnablePerformanceInsights": _flag(props.get("EnablePerformanceInsights", False)),
            "MonitoringInterval": int(props.get("MonitoringInterval", 0)),
            "MonitoringRoleArn": props.get("MonitoringRoleArn"),
        }
        instance = _client("rds", region).create_db_instance(
            **{key: value for key, value in arguments.items() if value is not None}
        )["DBInstance"]
        endpoint = instance.get("Endpoint", {})
        return Created(
            instance["DBInstanceIdentifier"],
            {
                "Endpoint.Address": endpoint.get("Address", ""),
                "Endpoint.Port": str(endpoint.get("Port", 3306)),
                "DBInstanceArn": instance["DBInstanceArn"],
            },
        )

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("rds", region).delete_db_instance(
            DBInstanceIdentifier=created.physical_id, SkipFinalSnapshot=True
        )


class Secret:
    @staticmethod
    def _value(props: dict[str, Any], region: str) -> str:
        if "SecretString" in props:
            return str(props["SecretString"])
        generate = props.get("GenerateSecretString") or {}
        password = _client("secretsmanager", region).get_random_password(
            PasswordLength=int(generate.get("PasswordLength", 32)),
            ExcludeCharacters=generate.get("ExcludeCharacters", ""),
            ExcludePunctuation=_flag(generate.get("ExcludePunctuation", False)),
        )["RandomPassword"]
        if "SecretStringTemplate" not in generate:
            return str(password)
        value = json.loads(generate["SecretStringTemplate"])
        value[generate["GenerateStringKey"]] = password
        return json.dumps(value)

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "Name": props.get("Name") or logical_id,
            "Description": props.get("Description"),
            "KmsKeyId": props.get("KmsKeyId"),
            "SecretString": Secret._value(props, region),
            "Tags": props.get("Tags"),
        }
        created = _client("secretsmanager", region).create_secret(
            **{key: value for key, value in arguments.items() if value is not None}
        )
        return Created(created["ARN"], {"Id": created["ARN"]})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        # Never the value: the rotation owns it once created (CloudFormation regenerates only
        # when GenerateSecretString itself changes, which the templates never do in place).
        if props.get("Description") is not None:
            _client("secretsmanager", region).update_secret(
                SecretId=created.physical_id, Description=props["Description"]
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("secretsmanager", region).delete_secret(
            SecretId=created.physical_id, ForceDeleteWithoutRecovery=True
        )


class SecretTargetAttachment:
    """Adds the cluster's connection details to the secret's current value (a new version), as
    Secrets Manager does for an RDS target; the password stays whatever is current."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        secrets = _client("secretsmanager", region)
        cluster = _client("rds", region).describe_db_clusters(DBClusterIdentifier=props["TargetId"])[
            "DBClusters"
        ][0]
        value = json.loads(secrets.get_secret_value(SecretId=props["SecretId"])["SecretString"])
        wanted = {
            "engine": "mysql" if cluster["Engine"].endswith("mysql") else cluster["Engine"],
            "host": cluster["Endpoint"],
            "port": cluster["Port"],
            "dbClusterIdentifier": cluster["DBClusterIdentifier"],
        }
        if {key: value.get(key) for key in wanted} != wanted:
            secrets.put_secret_value(SecretId=props["SecretId"], SecretString=json.dumps({**value, **wanted}))
        return Created(props["SecretId"])

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return SecretTargetAttachment.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        return None  # the secret keeps its connection details, as it does on AWS


class RotationSchedule:
    """Rotation configured without rotating now (RotateImmediatelyOnUpdate false): RotateSecret
    would rotate at once, so the schedule is set on the secret as the resource sets it."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        arn = _client("secretsmanager", region).describe_secret(SecretId=props["SecretId"])["ARN"]
        account = arn.split(":")[4]
        if _flag(props.get("RotateImmediatelyOnUpdate", True)):
            _client("secretsmanager", region).rotate_secret(
                SecretId=arn,
                RotationLambdaARN=props["RotationLambdaARN"],
                RotationRules=props.get("RotationRules", {}),
            )
            return Created(arn)
        secret = secretsmanager_backends[account][region].secrets[arn]
        secret.rotation_requested = secret.rotation_enabled = True
        secret.rotation_lambda_arn = props["RotationLambdaARN"]
        rules = props.get("RotationRules", {})
        days = re.fullmatch(r"rate\((\d+) days?\)", rules.get("ScheduleExpression", ""))
        secret.auto_rotate_after_days = int(
            rules.get("AutomaticallyAfterDays") or (days.group(1) if days else 0)
        )
        return Created(arn)

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return RotationSchedule.create({**props, "RotateImmediatelyOnUpdate": False}, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        account = created.physical_id.split(":")[4]
        secret = secretsmanager_backends[account][region].secrets.get(created.physical_id)
        if secret is not None:
            secret.rotation_enabled = False


class PrivateDnsNamespace:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        client = _client("servicediscovery", region)
        client.create_private_dns_namespace(
            Name=props["Name"], Vpc=props["Vpc"], Description=props.get("Description", "")
        )
        namespaces = client.list_namespaces()["Namespaces"]
        namespace = next(n for n in reversed(namespaces) if n["Name"] == props["Name"])
        return Created(
            namespace["Id"], {"Id": namespace["Id"], "Arn": namespace["Arn"], "HostedZoneId": namespace["Id"]}
        )

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("servicediscovery", region).delete_namespace(Id=created.physical_id)


class DiscoveryService:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "Name": props["Name"],
            "NamespaceId": props.get("NamespaceId"),
            "DnsConfig": props.get("DnsConfig"),
            "HealthCheckCustomConfig": props.get("HealthCheckCustomConfig"),
        }
        dns = arguments.get("DnsConfig")
        if dns:
            dns["DnsRecords"] = [{**r, "TTL": int(r["TTL"])} for r in dns.get("DnsRecords", [])]
        if arguments.get("HealthCheckCustomConfig"):
            arguments["HealthCheckCustomConfig"] = {
                "FailureThreshold": int(arguments["HealthCheckCustomConfig"]["FailureThreshold"])
            }
        service = _client("servicediscovery", region).create_service(
            **{key: value for key, value in arguments.items() if value is not None}
        )["Service"]
        return Created(service["Id"], {"Id": service["Id"], "Arn": service["Arn"], "Name": service["Name"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("servicediscovery", region).delete_service(Id=created.physical_id)


class ScalableTarget:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("application-autoscaling", region).register_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=props["ResourceId"],
            ScalableDimension=props["ScalableDimension"],
            MinCapacity=int(props["MinCapacity"]),
            MaxCapacity=int(props["MaxCapacity"]),
        )
        return Created(f"{props['ResourceId']}|{props['ScalableDimension']}|{props['ServiceNamespace']}")

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return ScalableTarget.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("application-autoscaling", region).deregister_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=props["ResourceId"],
            ScalableDimension=props["ScalableDimension"],
        )


def _numbers(value: Any) -> Any:
    """CloudFormation passes template numbers as strings; the API wants numbers."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    return value


class ScalingPolicy:
    @staticmethod
    def _target(props: dict[str, Any]) -> tuple[str, str, str]:
        resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
        return resource_id, dimension, namespace

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        resource_id, dimension, namespace = ScalingPolicy._target(props)
        configuration = _numbers(props["TargetTrackingScalingPolicyConfiguration"])
        configuration["TargetValue"] = float(configuration["TargetValue"])
        arn = _client("application-autoscaling", region).put_scaling_policy(
            PolicyName=props["PolicyName"],
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
            PolicyType=props["PolicyType"],
            TargetTrackingScalingPolicyConfiguration=configuration,
        )["PolicyARN"]
        return Created(arn, {"Arn": arn})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return ScalingPolicy.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        resource_id, dimension, namespace = ScalingPolicy._target(props)
        _client("application-autoscaling", region).delete_scaling_policy(
            PolicyName=props["PolicyName"],
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
        )


class WebACL:
    @staticmethod
    def _rules(props: dict[str, Any]) -> list[dict[str, Any]]:
        rules = []
        for given in props.get("Rules", []):
            rule = {**given, "Priority": int(given["Priority"])}
            rate = rule.get("Statement", {}).get("RateBasedStatement")
            if rate:
                rule["Statement"] = {"RateBasedStatement": {**rate, "Limit": int(rate["Limit"])}}
            rules.append(rule)
        return rules

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        summary = _client("wafv2", region).create_web_acl(
            Name=props["Name"],
            Scope=props["Scope"],
            DefaultAction=props["DefaultAction"],
            Description=props.get("Description", ""),
            Rules=WebACL._rules(props),
            VisibilityConfig=props["VisibilityConfig"],
        )["Summary"]
        return Created(
            f"{summary['Name']}|{summary['Id']}|{props['Scope']}",
            {"Arn": summary["ARN"], "Id": summary["Id"]},
        )

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        client = _client("wafv2", region)
        name, acl_id, scope = created.physical_id.split("|")
        token = client.get_web_acl(Name=name, Scope=scope, Id=acl_id)["LockToken"]
        client.update_web_acl(
            Name=name,
            Scope=scope,
            Id=acl_id,
            DefaultAction=props["DefaultAction"],
            Description=props.get("Description", ""),
            Rules=WebACL._rules(props),
            VisibilityConfig=props["VisibilityConfig"],
            LockToken=token,
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        client = _client("wafv2", region)
        name, acl_id, scope = created.physical_id.split("|")
        token = client.get_web_acl(Name=name, Scope=scope, Id=acl_id)["LockToken"]
        client.delete_web_acl(Name=name, Scope=scope, Id=acl_id, LockToken=token)


class WebACLAssociation:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("wafv2", region).associate_web_acl(
            WebACLArn=props["WebACLArn"], ResourceArn=props["ResourceArn"]
        )
        return Created(f"{props['WebACLArn']}|{props['ResourceArn']}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("wafv2", region).disassociate_web_acl(ResourceArn=props["ResourceArn"])


class WafLoggingConfiguration:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("wafv2", region).put_logging_configuration(
            LoggingConfiguration={
                "ResourceArn": props["ResourceArn"],
                "LogDestinationConfigs": props["LogDestinationConfigs"],
            }
        )
        return Created(props["ResourceArn"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("wafv2", region).delete_logging_configuration(ResourceArn=props["ResourceArn"])


class ApiStage:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _client("apigateway", region).create_stage(
            restApiId=props["RestApiId"],
            stageName=props["StageName"],
            deploymentId=props["DeploymentId"],
            tracingEnabled=_flag(props.get("TracingEnabled", False)),
        )
        return Created(props["StageName"])

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        _client("apigateway", region).update_stage(
            restApiId=props["RestApiId"],
            stageName=props["StageName"],
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": props["DeploymentId"]}],
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("apigateway", region).delete_stage(restApiId=props["RestApiId"], stageName=props["StageName"])


class ApiMethod:
    """Methods of every integration type (moto's own handler needs an HTTP method and a URI even
    for a MOCK integration)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        client = _client("apigateway", region)
        api, resource, verb = props["RestApiId"], props["ResourceId"], props["HttpMethod"]
        client.put_method(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            authorizationType=props.get("AuthorizationType", "NONE"),
            apiKeyRequired=_flag(props.get("ApiKeyRequired", False)),
            requestParameters={k: _flag(v) for k, v in (props.get("RequestParameters") or {}).items()},
        )
        for response in props.get("MethodResponses", []):
            client.put_method_response(
                restApiId=api, resourceId=resource, httpMethod=verb, statusCode=str(response["StatusCode"])
            )
        integration = props.get("Integration") or {}
        arguments = {
            "type": integration["Type"],
            "integrationHttpMethod": integration.get("IntegrationHttpMethod"),
            "uri": integration.get("Uri"),
            "requestParameters": integration.get("RequestParameters"),
            "requestTemplates": integration.get("RequestTemplates"),
            "timeoutInMillis": int(integration["TimeoutInMillis"])
            if "TimeoutInMillis" in integration
            else None,
        }
        client.put_integration(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            **{key: value for key, value in arguments.items() if value is not None},
        )
        for response in integration.get("IntegrationResponses", []):
            client.put_integration_response(
                restApiId=api,
                resourceId=resource,
                httpMethod=verb,
                statusCode=str(response["StatusCode"]),
                responseTemplates=response.get("ResponseTemplates", {}),
            )
        return Created(f"{api}|{resource}|{verb}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("apigateway", region).delete_method(
            restApiId=props["RestApiId"], resourceId=props["ResourceId"], httpMethod=props["HttpMethod"]
        )


class UsagePlan:
    """API Gateway usage plans (moto's CloudFormation has no model for them): the plan, its
    stages, throttle and quota, in API Gateway's API."""

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "name": props.get("UsagePlanName", ""),
            "description": props.get("Description", ""),
            "apiStages": [{"apiId": s["ApiId"], "stage": s["Stage"]} for s in props.get("ApiStages", [])],
        }
        if "Throttle" in props:
            throttle = props["Throttle"]
            arguments["throttle"] = {
                "rateLimit": float(throttle["RateLimit"]),
                "burstLimit": int(throttle["BurstLimit"]),
            }
        if "Quota" in props:
            quota = props["Quota"]
            arguments["quota"] = {"limit": int(quota["Limit"]), "period": quota["Period"]}
        return arguments

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        plan = _client("apigateway", region).create_usage_plan(**UsagePlan._arguments(props))
        return Created(plan["id"], {"Id": plan["id"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("apigateway", region).delete_usage_plan(usagePlanId=created.physical_id)


def _camel(value: Any, *, keep: frozenset[str] = frozenset({"Options", "DockerLabels"})) -> Any:
    """CloudFormation's PascalCase properties as ECS's API names them (maps of user keys kept)."""
    if isinstance(value, list):
        return [_camel(item, keep=keep) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key[:1].lower() + key[1:]: (item if key in keep else _camel(item, keep=keep))
        for key, item in value.items()
    }


def _integers(mapping: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in mapping:
            mapping[key] = int(mapping[key])


def _ecs_numbers(definition: dict[str, Any]) -> dict[str, Any]:
    """Template numbers arrive as strings; ECS's API wants integers (and booleans) where its model says so."""
    for container in definition.get("containerDefinitions", []):
        for mapping in container.get("portMappings", []):
            _integers(mapping, ("containerPort", "hostPort"))
        _integers(container.get("healthCheck") or {}, ("interval", "retries", "startPeriod", "timeout"))
        _integers(container, ("cpu", "memory", "memoryReservation"))
        for key in ("essential", "readonlyRootFilesystem"):
            if key in container:
                container[key] = _flag(container[key])
    return definition


class EcrRepository:
    """With its encryption, tag mutability, lifecycle policy and EmptyOnDelete (moto's own
    handler keeps the name and the scan setting only, and cannot delete a repository with images)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        client = _client("ecr", region)
        arguments: dict[str, Any] = {
            "repositoryName": props.get("RepositoryName") or logical_id.lower(),
            "imageTagMutability": props.get("ImageTagMutability", "MUTABLE"),
            "imageScanningConfiguration": {
                "scanOnPush": _flag((props.get("ImageScanningConfiguration") or {}).get("ScanOnPush", False))
            },
        }
        if props.get("EncryptionConfiguration"):
            arguments["encryptionConfiguration"] = _camel(props["EncryptionConfiguration"])
        if props.get("Tags"):
            arguments["tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in props["Tags"]]
        repository = client.create_repository(**arguments)["repository"]
        policy = (props.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if policy:
            client.put_lifecycle_policy(
                repositoryName=repository["repositoryName"], lifecyclePolicyText=policy
            )
        return Created(
            repository["repositoryName"],
            {"Arn": repository["repositoryArn"], "RepositoryUri": repository["repositoryUri"]},
        )

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        client = _client("ecr", region)
        scan = _flag((props.get("ImageScanningConfiguration") or {}).get("ScanOnPush", False))
        scanning: dict[str, bool] = {"scanOnPush": scan}
        client.put_image_scanning_configuration(
            repositoryName=created.physical_id, imageScanningConfiguration=scanning
        )
        client.put_image_tag_mutability(
            repositoryName=created.physical_id, imageTagMutability=props.get("ImageTagMutability", "MUTABLE")
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ecr", region).delete_repository(
            repositoryName=created.physical_id, force=_flag(props.get("EmptyOnDelete", False))
        )


class EcsCluster:
    """With its settings (moto's own handler drops ClusterSettings: Container Insights)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "settings": _camel(props.get("ClusterSettings", [])),
            "tags": _camel(props.get("Tags", [])),
        }
        cluster = _client("ecs", region).create_cluster(
            clusterName=props.get("ClusterName") or logical_id, **arguments
        )["cluster"]
        return Created(cluster["clusterName"], {"Arn": cluster["clusterArn"]})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        if props.get("ClusterSettings"):
            _client("ecs", region).update_cluster_settings(
                cluster=created.physical_id, settings=_camel(props["ClusterSettings"])
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ecs", region).delete_cluster(cluster=created.physical_id)


class TaskDefinition:
    """Every property (moto's own handler keeps only family, containers, volumes and memory)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = _ecs_numbers(_camel(props))
        arguments["family"] = props.get("Family") or logical_id
        arn = _client("ecs", region).register_task_definition(**arguments)["taskDefinition"][
            "taskDefinitionArn"
        ]
        return Created(arn, {"TaskDefinitionArn": arn})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        _client("ecs", region).deregister_task_definition(taskDefinition=created.physical_id)


class EcsService:
    """Every property (moto's own handler ignores the network, load balancer, registry and
    deployment settings), and an update that sends only what changed, as CloudFormation does: a
    service whose TaskDefinition property is unchanged keeps the revision the deploy workflow put."""

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = _camel(props)
        arguments["serviceName"] = props["ServiceName"]
        if "desiredCount" in arguments:
            arguments["desiredCount"] = int(arguments["desiredCount"])
        if "healthCheckGracePeriodSeconds" in arguments:
            arguments["healthCheckGracePeriodSeconds"] = int(arguments["healthCheckGracePeriodSeconds"])
        for balancer in arguments.get("loadBalancers", []):
            balancer["containerPort"] = int(balancer["containerPort"])
        deployment = arguments.get("deploymentConfiguration", {})
        for key in ("maximumPercent", "minimumHealthyPercent"):
            if key in deployment:
                deployment[key] = int(deployment[key])
        breaker = deployment.get("deploymentCircuitBreaker")
        if breaker:
            deployment["deploymentCircuitBreaker"] = {k: _flag(v) for k, v in breaker.items()}
        return arguments

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        service = _client("ecs", region).create_service(**EcsService._arguments(props))["service"]
        return Created(
            service["serviceArn"], {"Name": service["serviceName"], "ServiceArn": service["serviceArn"]}
        )

    @staticmethod
    def update(
        created: Created, props: dict[str, Any], region: str, previous: dict[str, Any] | None = None
    ) -> Created:
        new, old = (
            EcsService._arguments(props),
            EcsService._arguments(previous or {"ServiceName": props["ServiceName"]}),
        )
        changed = {
            key: new[key]
            for key in (
                "taskDefinition",
                "desiredCount",
                "deploymentConfiguration",
                "networkConfiguration",
                "healthCheckGracePeriodSeconds",
                "loadBalancers",
                "serviceRegistries",
                "propagateTags",
            )
            if key in new and new.get(key) != old.get(key)
        }
        if changed:
            _client("ecs", region).update_service(
                cluster=new["cluster"], service=new["serviceName"], **changed
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        client = _client("ecs", region)
        client.update_service(cluster=props["Cluster"], service=props["ServiceName"], desiredCount=0)
        client.delete_service(cluster=props["Cluster"], service=props["ServiceName"], force=True)


SIMULATED_TYPES: dict[str, Any] = {
    "AWS::EC2::EIP": ElasticIp,
    "AWS::EC2::NatGateway": NatGateway,
    "AWS::EC2::VPCEndpoint": VpcEndpoint,
    "AWS::EC2::VPCGatewayAttachment": GatewayAttachment,
    "AWS::EC2::SubnetRouteTableAssociation": RouteTableAssociation,
    "AWS::EC2::RouteTable": RouteTable,
    "AWS::EC2::Route": Route,
    "AWS::ECR::Repository": EcrRepository,
    "AWS::ECS::Cluster": EcsCluster,
    "AWS::ECS::TaskDefinition": TaskDefinition,
    "AWS::ECS::Service": EcsService,
    "AWS::ApiGateway::Method": ApiMethod,
    "AWS::EC2::SecurityGroupEgress": SecurityGroupEgress,
    "AWS::S3::BucketPolicy": BucketPolicy,
    "AWS::RDS::DBCluster": DBCluster,
    "AWS::RDS::DBInstance": DBInstance,
    "AWS::SecretsManager::Secret": Secret,
    "AWS::SecretsManager::SecretTargetAttachment": SecretTargetAttachment,
    "AWS::SecretsManager::RotationSchedule": RotationSchedule,
    "AWS::ServiceDiscovery::PrivateDnsNamespace": PrivateDnsNamespace,
    "AWS::ServiceDiscovery::Service": DiscoveryService,
    "AWS::ApplicationAutoScaling::ScalableTarget": ScalableTarget,
    "AWS::ApplicationAutoScaling::ScalingPolicy": ScalingPolicy,
    "AWS::WAFv2::WebACL": WebACL,
    "AWS::WAFv2::WebACLAssociation": WebACLAssociation,
    "AWS::WAFv2::LoggingConfiguration": WafLoggingConfiguration,
    "AWS::ApiGateway::Stage": ApiStage,
    "AWS::ApiGateway::UsagePlan": UsagePlan,
}


# --------------------------------------------------------------------------- stack events


@dataclass
class StackFault:
    stack: str
    logical_id: str
    reason: str


class StackEvents:
    """Puts CloudFormation's events on the default bus after the call that caused them answered
    (``delay`` seconds of simulated time later, times the time scale), in order; and holds the
    injected resource faults (``fail``): the named resource of the named stack fails with the
    reason on its next create or update, as a provider error would."""

    def __init__(self, *, account: str, region: str, time_scale: float, delay: float = 20.0) -> None:
        self.account = account
        self.region = region
        self.time_scale = time_scale
        self.delay = delay
        self.faults: list[StackFault] = []
        self.sent: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._active = 0
        self._muted = False

    def fail(self, stack: str, logical_id: str, reason: str) -> None:
        self.faults.append(StackFault(stack, logical_id, reason))

    def fault_for(self, stack: str, logical_id: str) -> StackFault | None:
        return next((f for f in self.faults if f.stack == stack and f.logical_id == logical_id), None)

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """No events while the local cloud lays down the stacks it starts with: they stand for
        stacks provisioned before its story begins, whose events are long gone."""
        self._muted = True
        try:
            yield
        finally:
            self._muted = False

    def record(self, detail_type: str, stack_id: str, detail: dict[str, Any]) -> None:
        """An event of the operation in progress (sent by ``flush``)."""
        if self._muted:
            return
        event = {
            "Source": "aws.cloudformation",
            "DetailType": detail_type,
            "Resources": [stack_id],
            "Detail": json.dumps({"stack-id": stack_id, **detail}),
        }
        with self._lock:
            self._pending.append(event)

    def flush(self, background: Callable[[Callable[[], None]], None]) -> None:
        """Send what the operation recorded, after the delay, from a background thread."""
        with self._lock:
            events, self._pending = self._pending, []
            if not events:
                return
            self._active += 1

        def send() -> None:
            try:
                time.sleep(self.delay * self.time_scale)
                client = _client("events", self.region)
                for start in range(0, len(events), 10):
                    client.put_events(Entries=events[start : start + 10])
                self.sent.extend(events)
            finally:
                with self._lock:
                    self._active -= 1

        background(send)

    def idle(self) -> bool:
        with self._lock:
            return self._active == 0


# --------------------------------------------------------------------------- drift detection
# What DetectStackDrift compares, for the types the local cloud can read back: the template's
# property (resolved) against the live value. Other types are NOT_CHECKED, as AWS reports the
# types its drift detection does not support.


def _live_ssm_parameter(physical: str, region: str) -> dict[str, Any]:
    parameter = _client("ssm", region).get_parameter(Name=physical)["Parameter"]
    return {"Value": parameter["Value"]}


def _live_log_group(physical: str, region: str) -> dict[str, Any]:
    groups = _client("logs", region).describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
    group = next(g for g in groups if g["logGroupName"] == physical)
    return {"RetentionInDays": group.get("retentionInDays")}


def _live_ecr_repository(physical: str, region: str) -> dict[str, Any]:
    repository = _client("ecr", region).describe_repositories(repositoryNames=[physical])["repositories"][0]
    return {
        "ImageScanningConfiguration": {"ScanOnPush": repository["imageScanningConfiguration"]["scanOnPush"]}
    }


def _live_ecs_service(physical: str, region: str) -> dict[str, Any]:
    cluster, name = physical.split("/")[-2:]
    service = _client("ecs", region).describe_services(cluster=cluster, services=[name])["services"][0]
    if service.get("status") != "ACTIVE":
        raise LookupError(physical)
    return {"DesiredCount": service["desiredCount"], "TaskDefinition": service["taskDefinition"]}


def _live_scalable_target(physical: str, region: str) -> dict[str, Any]:
    resource_id, dimension, namespace = physical.split("|")
    targets = _client("application-autoscaling", region).describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    if not targets:
        raise LookupError(physical)
    return {"MinCapacity": targets[0]["MinCapacity"], "MaxCapacity": targets[0]["MaxCapacity"]}


def _live_db_cluster(physical: str, region: str) -> dict[str, Any]:
    cluster = _client("rds", region).describe_db_clusters(DBClusterIdentifier=physical)["DBClusters"][0]
    return {
        "ServerlessV2ScalingConfiguration": cluster.get("ServerlessV2ScalingConfiguration", {}),
        "DeletionProtection": cluster.get("DeletionProtection"),
        "BackupRetentionPeriod": cluster.get("BackupRetentionPeriod"),
    }


DRIFT_READERS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "AWS::SSM::Parameter": _live_ssm_parameter,
    "AWS::Logs::LogGroup": _live_log_group,
    "AWS::ECR::Repository": _live_ecr_repository,
    "AWS::ECS::Service": _live_ecs_service,
    "AWS::ApplicationAutoScaling::ScalableTarget": _live_scalable_target,
    "AWS::RDS::DBCluster": _live_db_cluster,
}


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(_same(value, actual.get(key)) for key, value in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    try:
        return float(expected) == float(actual)
    except (TypeError, ValueError):
        return str(expected) == str(actual)


def _differences(expected: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    found = []
    for key, actual_value in actual.items():
        if key not in expected:
            continue
        expected_value = expected[key]
        if isinstance(expected_value, dict) and isinstance(actual_value, dict):
            found += _differences(expected_value, actual_value, f"{prefix}/{key}")
        elif not _same(expected_value, actual_value):
            found.append(
                {
                    "PropertyPath": f"{prefix}/{key}",
                    "ExpectedValue": json.dumps(expected_value)
                    if not isinstance(expected_value, str)
                    else expected_value,
                    "ActualValue": json.dumps(actual_value)
                    if not isinstance(actual_value, str)
                    else actual_value,
                    "DifferenceType": "NOT_EQUAL",
                }
            )
    return found


def resource_drift(
    kind: str, physical: str, expected: dict[str, Any], region: str
) -> tuple[str, list[dict[str, Any]]]:
    """(StackResourceDriftStatus, PropertyDifferences) of one resource."""
    reader = DRIFT_READERS.get(kind)
    if reader is None:
        return "NOT_CHECKED", []
    try:
        actual = reader(physical, region)
    except Exception:
        return "DELETED", []
    differences = _differences(expected, actual)
    return ("MODIFIED" if differences else "IN_SYNC"), differences
