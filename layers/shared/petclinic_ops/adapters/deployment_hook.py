"""The lifecycle hook's reads (domain.deployment_hook.HookPorts) on AWS: boto3 and Powertools
Parameters, imported on first use (nothing at import: cold starts).

- ``targets``: ECS DescribeServices: the service's first load balancer, its ``targetGroupArn``
  (the live revision's: the baseline) and ``advancedConfiguration.alternateTargetGroupArn`` (where
  ECS registers the new revision during a blue/green, canary or linear deployment), the load
  balancer from ``advancedConfiguration.productionListenerRule``
  (``...:listener-rule/app/NAME/ID/...``).
- ``metrics``: adapters.canary_metrics.CloudWatchRevisionMetrics (GetMetricData).
- ``origin``: the service's base URL from Parameter Store (``<path><service>/url``, else the
  customers service's: one ALB is every service's origin) and the origin secret from Secrets
  Manager (``{"value": ...}``), both through Powertools Parameters providers cached
  ``max_age`` seconds.
- ``get``: one HTTP GET (urllib, a timeout, no redirects followed), the status whatever it is.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from petclinic_ops.adapters.canary_metrics import CloudWatchRevisionMetrics
from petclinic_ops.domain.deployment_hook import Origin
from petclinic_ops.models.deployment_hook import ServiceTargets

if TYPE_CHECKING:
    from petclinic_ops.settings import DeploymentHookSettings


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _ecs() -> Any:
    import boto3  # noqa: PLC0415 - lazy: no boto3 on the cold start

    return boto3.client("ecs")


class AwsHookPorts:
    """``HookPorts`` on AWS (see the module's docstring)."""

    def __init__(
        self,
        *,
        parameter_path: str,
        origin_secret: str,
        timeout_seconds: float = 5.0,
        max_age: int = 300,
    ) -> None:
        self.parameter_path = parameter_path
        self.origin_secret = origin_secret
        self.timeout_seconds = timeout_seconds
        self.max_age = max_age
        self._ssm: Any = None
        self._secrets: Any = None

    @classmethod
    def from_settings(cls, settings: DeploymentHookSettings) -> AwsHookPorts:
        return cls(
            parameter_path=settings.parameter_path,
            origin_secret=settings.origin_secret,
            timeout_seconds=settings.http_timeout_seconds,
        )

    @cached_property
    def metrics(self) -> CloudWatchRevisionMetrics:
        return CloudWatchRevisionMetrics()

    @cached_property
    def ecs(self) -> Any:
        return _ecs()

    def targets(self, cluster: str, service: str) -> ServiceTargets:
        found = self.ecs.describe_services(cluster=cluster, services=[service]).get("services") or []
        balancers = (found[0].get("loadBalancers") or []) if found else []
        if not balancers:
            raise LookupError(f"service {service} in {cluster} has no load balancer")
        balancer = balancers[0]
        advanced = balancer.get("advancedConfiguration") or {}
        rule = str(advanced.get("productionListenerRule") or "")
        alternate = str(advanced.get("alternateTargetGroupArn") or "")
        if ":listener-rule/app/" not in rule or not alternate:
            raise LookupError(
                f"service {service} has no alternate target group and production listener rule "
                "(advancedConfiguration): not deployed by blue/green, canary or linear"
            )
        name, balancer_id = rule.split(":listener-rule/app/", 1)[1].split("/")[:2]
        return ServiceTargets(
            load_balancer=f"app/{name}/{balancer_id}",
            baseline_target_group=str(balancer["targetGroupArn"]),
            new_target_group=alternate,
        )

    def origin(self, service: str) -> Origin:
        if self._ssm is None:
            from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415 - loads boto3
                SecretsProvider,
                SSMProvider,
            )

            self._ssm = SSMProvider()
            self._secrets = SecretsProvider()
        urls = self._ssm.get_multiple(self.parameter_path, max_age=self.max_age, recursive=True)
        url = urls.get(f"{service}/url") or urls.get("customers-service/url")
        if not url:
            raise LookupError(f"no origin URL in Parameter Store under {self.parameter_path}")
        raw = self._secrets.get(self.origin_secret, max_age=self.max_age)
        secret = json.loads(raw).get("value") if str(raw).lstrip().startswith("{") else raw
        if not secret:
            raise LookupError(f"the origin secret {self.origin_secret} has no value")
        return Origin(base_url=str(url), secret=str(secret))

    def get(self, url: str, headers: Mapping[str, str]) -> int:
        if not url.startswith(("http://", "https://")):
            raise OSError(f"not an HTTP URL: {url}")
        request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310 - checked above
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=self.timeout_seconds) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
