"""EC2: what moto's own CloudFormation handlers leave behind or skip (elastic IPs, NAT gateways,
VPC endpoints, route tables, routes and their associations, gateway attachments, security group
egress): each deleted with its stack, so the subnets and the VPC can go.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, flag
from petclinic_local.simulators.cloudformation.registry import Created, known, provider


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


def _sg_permission(rule: dict[str, Any], peer: str) -> dict[str, Any]:
    """An inline rule of AWS::EC2::SecurityGroup as EC2's API takes it (``peer``: the
    property naming another group, SourceSecurityGroupId or DestinationSecurityGroupId)."""
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    if "FromPort" in rule:
        permission.update(FromPort=int(rule["FromPort"]), ToPort=int(rule["ToPort"]))
    description = {"Description": rule["Description"]} if rule.get("Description") else {}
    if rule.get(peer):
        permission["UserIdGroupPairs"] = [{"GroupId": rule[peer], **description}]
    else:
        permission["IpRanges"] = [{"CidrIp": rule["CidrIp"], **description}]
    return permission


_ALLOW_ALL_EGRESS = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
# The inline rules: property, the property naming another group, EC2's revoke and authorize calls.
_INLINE = (
    ("SecurityGroupIngress", "SourceSecurityGroupId", "ingress"),
    ("SecurityGroupEgress", "DestinationSecurityGroupId", "egress"),
)


@provider("AWS::EC2::SecurityGroup")
class SecurityGroup:
    """With its inline egress rules in place of EC2's default allow-all, as CloudFormation
    creates it (moto's own handler ignores SecurityGroupEgress, so the default stayed)."""

    @staticmethod
    def _permissions(props: dict[str, Any], key: str, peer: str) -> list[dict[str, Any]]:
        rules = props.get(key)
        if rules is None:  # no inline rules: none in, EC2's default allow-all out
            return [_ALLOW_ALL_EGRESS] if key == "SecurityGroupEgress" else []
        return [_sg_permission(rule, peer) for rule in rules]

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        ec2 = aws("ec2", region)
        arguments = {
            "GroupName": props.get("GroupName") or f"{logical_id}-{uuid.uuid4().hex[:12]}",
            "Description": props["GroupDescription"],
            "VpcId": props.get("VpcId"),
            "TagSpecifications": _tags(props, "security-group"),
        }
        group_id = ec2.create_security_group(
            **{key: value for key, value in arguments.items() if value is not None}
        )["GroupId"]
        created = Created(group_id, {"GroupId": group_id, "VpcId": props.get("VpcId", "")})
        SecurityGroup.update(created, props, region, {})
        return created

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        """The inline rules that changed (a new group starts from none in and allow-all out);
        the stack's separate ingress and egress resources are left as they are."""
        ec2 = aws("ec2", region)
        for key, peer, direction in _INLINE:
            if previous and previous.get(key) == props.get(key):
                continue
            before = SecurityGroup._permissions(previous, key, peer)
            after = SecurityGroup._permissions(props, key, peer)
            if before:
                getattr(ec2, f"revoke_security_group_{direction}")(
                    GroupId=created.physical_id, IpPermissions=before
                )
            if after:
                getattr(ec2, f"authorize_security_group_{direction}")(
                    GroupId=created.physical_id, IpPermissions=after
                )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).delete_security_group(GroupId=created.physical_id)


@provider("AWS::EC2::SecurityGroupEgress")
class SecurityGroupEgress:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("ec2", region).authorize_security_group_egress(
            GroupId=props["GroupId"], IpPermissions=[_sg_egress_permission(props)]
        )
        return Created(f"{props['GroupId']}|egress|{logical_id}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).revoke_security_group_egress(
            GroupId=props["GroupId"], IpPermissions=[_sg_egress_permission(props)]
        )


def _tags(props: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


@provider("AWS::EC2::EIP")
class ElasticIp:
    """Released on delete (moto's own handler keeps it, so the NAT's address outlives the stack)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        address = aws("ec2", region).allocate_address(
            Domain=props.get("Domain", "vpc"), TagSpecifications=_tags(props, "elastic-ip")
        )
        return Created(
            address["PublicIp"], {"AllocationId": address["AllocationId"], "PublicIp": address["PublicIp"]}
        )

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).release_address(AllocationId=created.attributes["AllocationId"])


@provider(
    "AWS::EC2::NatGateway",
    partial=("created in EC2's API; no packets flow locally (no NAT, no internet path)"),
)
class NatGateway:
    """Deleted with its network interface, as AWS deletes it (moto's handler deletes nothing, and
    its DeleteNatGateway leaves the interface, so the subnet and the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        gateway = aws("ec2", region).create_nat_gateway(
            AllocationId=props["AllocationId"],
            SubnetId=props["SubnetId"],
            TagSpecifications=_tags(props, "natgateway"),
        )["NatGateway"]
        return Created(gateway["NatGatewayId"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        ec2 = aws("ec2", region)
        [gateway] = ec2.describe_nat_gateways(NatGatewayIds=[created.physical_id])["NatGateways"]
        ec2.delete_nat_gateway(NatGatewayId=created.physical_id)
        for address in gateway.get("NatGatewayAddresses", []):
            if address.get("NetworkInterfaceId"):
                ec2.delete_network_interface(NetworkInterfaceId=address["NetworkInterfaceId"])


@provider(
    "AWS::EC2::VPCEndpoint",
    partial=("created in EC2's API; no private DNS or traffic (local calls reach moto)"),
)
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
            "PrivateDnsEnabled": flag(props["PrivateDnsEnabled"]) if "PrivateDnsEnabled" in props else None,
            "PolicyDocument": json.dumps(props["PolicyDocument"]) if "PolicyDocument" in props else None,
        }
        endpoint = aws("ec2", region).create_vpc_endpoint(
            **{key: value for key, value in arguments.items() if value is not None}
        )["VpcEndpoint"]
        return Created(endpoint["VpcEndpointId"], {"Id": endpoint["VpcEndpointId"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).delete_vpc_endpoints(VpcEndpointIds=[created.physical_id])


@provider("AWS::EC2::VPCGatewayAttachment")
class GatewayAttachment:
    """Detached on delete (moto's own handler leaves the gateway attached: the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("ec2", region).attach_internet_gateway(
            InternetGatewayId=props["InternetGatewayId"], VpcId=props["VpcId"]
        )
        return Created(f"IGW|{props['VpcId']}")

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).detach_internet_gateway(
            InternetGatewayId=props["InternetGatewayId"], VpcId=props["VpcId"]
        )


@provider("AWS::EC2::RouteTable")
class RouteTable:
    """Deleted with the stack (moto's own handler has no delete: the VPC cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        table = aws("ec2", region).create_route_table(
            VpcId=props["VpcId"], TagSpecifications=_tags(props, "route-table")
        )["RouteTable"]
        return Created(table["RouteTableId"])

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).delete_route_table(RouteTableId=created.physical_id)


@provider("AWS::EC2::Route")
class Route:
    """Deleted with the stack (moto's own handler has no delete)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        target = {key: props[key] for key in ("GatewayId", "NatGatewayId") if props.get(key)}
        aws("ec2", region).create_route(
            RouteTableId=props["RouteTableId"], DestinationCidrBlock=props["DestinationCidrBlock"], **target
        )
        return Created(f"{props['RouteTableId']}|{props['DestinationCidrBlock']}")

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        """Another target, as CloudFormation updates it (ReplaceRoute; the table and the
        destination are create-only)."""
        target = {key: props[key] for key in ("GatewayId", "NatGatewayId") if props.get(key)}
        aws("ec2", region).replace_route(
            RouteTableId=props["RouteTableId"], DestinationCidrBlock=props["DestinationCidrBlock"], **target
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).delete_route(
            RouteTableId=props["RouteTableId"], DestinationCidrBlock=props["DestinationCidrBlock"]
        )


@provider("AWS::EC2::SubnetRouteTableAssociation")
class RouteTableAssociation:
    """Disassociated on delete (moto's own handler leaves it: the route table, then the VPC, cannot go)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        association = aws("ec2", region).associate_route_table(
            RouteTableId=props["RouteTableId"], SubnetId=props["SubnetId"]
        )["AssociationId"]
        return Created(association)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ec2", region).disassociate_route_table(AssociationId=created.physical_id)


known("AWS::EC2::FlowLog", partial=("created in EC2's API; no flow records are delivered"))
