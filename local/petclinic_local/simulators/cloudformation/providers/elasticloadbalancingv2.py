"""Elastic Load Balancing v2: moto's own CloudFormation creates the load balancer, its
listeners, rules and target groups; what the local cloud does not reproduce of them.
"""

from __future__ import annotations

from petclinic_local.simulators.cloudformation.registry import known

known(
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    partial=("created in ELB's API; serves no HTTP, no health checks"),
)
