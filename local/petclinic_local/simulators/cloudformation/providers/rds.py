"""RDS: the Aurora cluster, its cluster parameter group and its instances (moto's CloudFormation
skips the cluster and the group and breaks on a db.serverless aurora-mysql instance), through
RDS's API; the cluster's drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, flag, resolve_dynamic
from petclinic_local.simulators.cloudformation.registry import Created, provider


def _live_db_cluster(physical: str, region: str) -> dict[str, Any]:
    cluster = aws("rds", region).describe_db_clusters(DBClusterIdentifier=physical)["DBClusters"][0]
    return {
        "ServerlessV2ScalingConfiguration": cluster.get("ServerlessV2ScalingConfiguration", {}),
        "DeletionProtection": cluster.get("DeletionProtection"),
        "BackupRetentionPeriod": cluster.get("BackupRetentionPeriod"),
    }


@provider(
    "AWS::RDS::DBCluster",
    partial=(
        "created in RDS's API (engine, endpoints, Serverless v2 capacity); no MySQL server behind it: "
        "local rotations use a MariaDB on 127.0.0.1"
    ),
    read=_live_db_cluster,
)
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
        props = resolve_dynamic(props, region)
        arguments: dict[str, Any] = {
            "DBClusterIdentifier": props["DBClusterIdentifier"],
            "Engine": props["Engine"],
            "EngineVersion": props.get("EngineVersion"),
            "DatabaseName": props.get("DatabaseName"),
            "Port": int(props.get("Port", 3306)),
            "MasterUsername": props["MasterUsername"],
            "MasterUserPassword": props["MasterUserPassword"],
            "DBSubnetGroupName": props.get("DBSubnetGroupName"),
            "DBClusterParameterGroupName": props.get("DBClusterParameterGroupName"),
            "VpcSecurityGroupIds": props.get("VpcSecurityGroupIds", []),
            "StorageEncrypted": flag(props.get("StorageEncrypted", False)),
            "KmsKeyId": props.get("KmsKeyId"),
            "BackupRetentionPeriod": int(props.get("BackupRetentionPeriod", 1)),
            "PreferredBackupWindow": props.get("PreferredBackupWindow"),
            "CopyTagsToSnapshot": flag(props.get("CopyTagsToSnapshot", False)),
            "DeletionProtection": flag(props.get("DeletionProtection", False)),
            "EnableIAMDatabaseAuthentication": flag(props.get("EnableIAMDatabaseAuthentication", False)),
            "EnableCloudwatchLogsExports": props.get("EnableCloudwatchLogsExports", []),
            "ServerlessV2ScalingConfiguration": DBCluster._scaling(props),
            "Tags": props.get("Tags", []),
        }
        cluster = aws("rds", region).create_db_cluster(
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
        group = {"DBClusterParameterGroupName": props["DBClusterParameterGroupName"]}
        cluster = aws("rds", region).modify_db_cluster(
            DBClusterIdentifier=created.physical_id,
            ServerlessV2ScalingConfiguration=DBCluster._scaling(props),
            BackupRetentionPeriod=int(props.get("BackupRetentionPeriod", 1)),
            DeletionProtection=flag(props.get("DeletionProtection", False)),
            ApplyImmediately=True,
            **(group if props.get("DBClusterParameterGroupName") else {}),
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
        aws("rds", region).delete_db_cluster(DBClusterIdentifier=created.physical_id, **final)


@provider(
    "AWS::RDS::DBClusterParameterGroup",
    partial=("created in RDS's API with its parameters; no MySQL server applies them"),
)
class DBClusterParameterGroup:
    @staticmethod
    def _parameters(props: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"ParameterName": name, "ParameterValue": str(value), "ApplyMethod": "immediate"}
            for name, value in (props.get("Parameters") or {}).items()
        ]

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        rds = aws("rds", region)
        name = props.get("DBClusterParameterGroupName") or logical_id.lower()
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name,
            DBParameterGroupFamily=props["Family"],
            Description=props["Description"],
            Tags=props.get("Tags", []),
        )
        parameters = DBClusterParameterGroup._parameters(props)
        if parameters:
            rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=name, Parameters=parameters)
        return Created(name)

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        parameters = DBClusterParameterGroup._parameters(props)
        if parameters:
            aws("rds", region).modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=created.physical_id, Parameters=parameters
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("rds", region).delete_db_cluster_parameter_group(DBClusterParameterGroupName=created.physical_id)


@provider(
    "AWS::RDS::DBInstance",
    partial=("created in RDS's API (writer/reader placement); no database engine runs"),
)
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
            "PubliclyAccessible": flag(props.get("PubliclyAccessible", False)),
            "AutoMinorVersionUpgrade": flag(props.get("AutoMinorVersionUpgrade", True)),
            "EnablePerformanceInsights": flag(props.get("EnablePerformanceInsights", False)),
            "MonitoringInterval": int(props.get("MonitoringInterval", 0)),
            "MonitoringRoleArn": props.get("MonitoringRoleArn"),
        }
        instance = aws("rds", region).create_db_instance(
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
        aws("rds", region).delete_db_instance(
            DBInstanceIdentifier=created.physical_id, SkipFinalSnapshot=True
        )
