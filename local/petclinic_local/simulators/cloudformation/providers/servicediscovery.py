"""Cloud Map: the private DNS namespace and its services (moto's CloudFormation skips both)."""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import Created, provider


@provider("AWS::ServiceDiscovery::PrivateDnsNamespace")
class PrivateDnsNamespace:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        client = aws("servicediscovery", region)
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
        aws("servicediscovery", region).delete_namespace(Id=created.physical_id)


@provider(
    "AWS::ServiceDiscovery::Service",
    partial=("created in Cloud Map's API; no task registers instances (none run)"),
)
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
        service = aws("servicediscovery", region).create_service(
            **{key: value for key, value in arguments.items() if value is not None}
        )["Service"]
        return Created(service["Id"], {"Id": service["Id"], "Arn": service["Arn"], "Name": service["Name"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("servicediscovery", region).delete_service(Id=created.physical_id)
